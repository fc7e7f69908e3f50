import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "../../src/core/client/create-client.js";
import type { ClientOptions, ClientTapEvent } from "../../src/core/client/types.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { encodeDummyCb200, encodeHandshake, encodeLpTimeout, encodePush, encodeReply } from "../../src/core/protocol/codec.js";
import { isChskError } from "../../src/core/protocol/errors.js";
import { fakeFetch, flush, ManualClock } from "./client-fakes.js";

const packer = ednPacker();
const URL_ = "http://example.test/chsk";

function setup(opts: Partial<ClientOptions> = {}) {
  const clock = new ManualClock();
  const ff = fakeFetch();
  const client = createClient({ url: URL_, type: "ajax", clock, fetch: ff.fetch, csrfToken: "tok", clientId: "cid", ...opts });
  return { client, clock, ff };
}

async function opened(opts: Partial<ClientOptions> = {}) {
  const t = setup(opts);
  const hs = await t.ff.next();
  hs.respond(200, encodeHandshake(packer, "alice") as string);
  const poll = await t.ff.next();
  assert.equal(t.client.state.open, true);
  return { ...t, poll };
}

describe("client over Ajax (scripted fetch, manual clock)", () => {
  it("handshake GET: user params, udt, client-id, handshake%3F=1; Sente headers", async () => {
    const { ff, clock } = setup({ params: { room: "a b", udt: "no" }, headers: { "X-App": "1" } });
    const req = await ff.next();
    assert.equal(req.method, "GET");
    assert.equal(req.url, `http://example.test/chsk?room=a%20b&udt=${clock.now()}&client-id=cid&handshake%3F=1`);
    assert.deepEqual(req.headers, { "X-App": "1", "X-CSRF-Token": "tok", "X-Requested-With": "XMLHTTPRequest" });
  });

  it("opens on the handshake, then long-polls without handshake?; timeout and pushes re-poll", async () => {
    const { client, ff, poll } = await opened();
    assert.equal(client.state.type, "ajax");
    assert.doesNotMatch(poll.url, /handshake/);
    assert.match(poll.url, /\?udt=\d+&client-id=cid$/);
    poll.respond(200, encodeLpTimeout(packer) as string);
    const p2 = await ff.next();
    const recv: unknown[] = [];
    client.on("recv", (e) => recv.push(e));
    p2.respond(200, encodePush(packer, [["my/push", { n: 1 }], ["my/push", { n: 2 }]]) as string);
    const p3 = await ff.next();
    assert.deepEqual(recv, [
      ["my/push", { n: 1 }],
      ["my/push", { n: 2 }],
    ]);
    // A handshake in the middle (server restart) is handled and re-polled.
    p3.respond(200, encodeHandshake(packer, "bob") as string);
    await ff.next();
    assert.equal(client.state.uid, "bob");
    await client.close();
  });

  it("a client-side poll timeout re-polls immediately, without backoff or state change", async () => {
    const { client, ff, clock, poll } = await opened({ ajaxTimeoutMs: 60_000 });
    let states = 0;
    client.on("state", () => states++);
    clock.advance(60_000);
    const next = await ff.next();
    assert.ok(poll.settled);
    assert.doesNotMatch(next.url, /handshake/);
    assert.equal(states, 0);
    await client.close();
  });

  it("HTTP 403: tap error CHSK_ERR_HTTP_STATUS, state.lastError.status, retry 1 now, retry 2 with backoff", async () => {
    const { client, ff, clock } = setup({ backoffMs: () => 3000 });
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    (await ff.next()).respond(403, "Bad CSRF token");
    const retry1 = await ff.next();
    assert.match(retry1.url, /handshake%3F=1/);
    assert.equal(client.state.lastError?.status, 403);
    assert.equal(client.state.lastError?.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(client.state.lastError?.message, "HTTP 403 Bad CSRF token");
    const err = taps.find((t) => t.type === "error");
    assert.ok(err?.type === "error" && err.error.code === "CHSK_ERR_HTTP_STATUS");
    // The answer's content type comes along (chsk call tells a page from a refusal by it).
    assert.deepEqual(err.error.detail, { status: 403, body: "Bad CSRF token", transport: "ajax", contentType: "text/plain;charset=UTF-8" });
    retry1.respond(403, "Bad CSRF token");
    await flush();
    assert.equal(ff.requests.length, 2);
    assert.equal(client.state.udtNextReconnect, clock.now() + 3000);
    clock.advance(3000);
    await ff.next();
    assert.equal(ff.requests.length, 3);
    await client.close();
  });

  it("a network error on an open poll closes with reason unexpected and retries", async () => {
    const { client, ff, poll } = await opened();
    poll.fail();
    const retry = await ff.next();
    assert.equal(client.state.lastClose?.reason, "unexpected");
    assert.match(retry.url, /handshake%3F=1/);
    await client.close();
  });

  it("POST with reply: form body udt/client-id/ppstr with cb :ajax; reply value resolves", async () => {
    const { client, ff, clock } = await opened();
    const p = client.send(["my/ev", { a: 1 }], 5000);
    const post = await ff.next();
    assert.equal(post.method, "POST");
    assert.equal(post.url, URL_);
    assert.equal(post.headers["Content-Type"], "application/x-www-form-urlencoded;charset=UTF-8");
    assert.equal(post.headers["X-CSRF-Token"], "tok");
    assert.equal(post.body, `udt=${clock.now()}&client-id=cid&ppstr=%5B%5B%3Amy%2Fev%20%7B%3Aa%201%7D%5D%20%3Aajax%5D`);
    post.respond(200, encodeReply(packer, { echo: { a: 1 } }, null) as string);
    assert.deepEqual(await p, { echo: { a: 1 } });
    await client.close();
  });

  it("POST without reply: ppstr [[ev data] nil]; :chsk/dummy-cb-200 is fine", async () => {
    const { client, ff } = await opened();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    assert.equal(client.send(["my/ev", { a: 1 }]), true);
    const post = await ff.next();
    assert.match(String(post.body), /&ppstr=%5B%5B%3Amy%2Fev%20%7B%3Aa%201%7D%5D%20nil%5D$/);
    post.respond(200, encodeDummyCb200(packer) as string);
    await flush();
    assert.equal(taps.filter((t) => t.type === "error").length, 0);
    await client.close();
  });

  it("POST outcomes: server :chsk/timeout, client timeout → CHSK_ERR_TIMEOUT; 500 / network → CHSK_ERR_TRANSPORT", async () => {
    const { client, ff, clock } = await opened();
    const errs: unknown[] = [];
    client.send(["my/ev"], 5000, (e) => (errs[0] = e));
    (await ff.next()).respond(200, encodeLpTimeout(packer) as string);
    client.send(["my/ev"], 5000, (e) => (errs[1] = e));
    await ff.next();
    clock.advance(5000);
    client.send(["my/ev"], 5000, (e) => (errs[2] = e));
    (await ff.next()).respond(500, "Internal error");
    client.send(["my/ev"], 5000, (e) => (errs[3] = e));
    (await ff.next()).fail();
    await flush();
    assert.deepEqual(
      errs.map((e) => (e as { code: string }).code),
      ["CHSK_ERR_TIMEOUT", "CHSK_ERR_TIMEOUT", "CHSK_ERR_TRANSPORT", "CHSK_ERR_TRANSPORT"],
    );
    assert.equal((errs[2] as { status: number }).status, 500);
    assert.equal(client.state.open, true, "a failed POST does not close the client");
    assert.ok(["CHSK_ERR_TRANSPORT", "CHSK_ERR_HTTP_STATUS"].includes(client.state.lastError!.code));
    await client.close();
  });

  it("taps every answer and POST once: channel, exchange connId, handshake, status, kind, cbId, latency", async () => {
    const { client, ff, clock } = setup();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    (await ff.next()).respond(200, encodeHandshake(packer, "alice") as string);
    const poll1 = await ff.next();
    poll1.respond(200, encodeLpTimeout(packer) as string);
    const poll2 = await ff.next();
    const reply = client.send(["my/call", 1], 5000);
    const post1 = await ff.next();
    clock.advance(25);
    post1.respond(200, encodeReply(packer, "ok", null) as string);
    assert.equal(await reply, "ok");
    client.send(["my/note", 2]);
    (await ff.next()).respond(200, encodeDummyCb200(packer) as string);
    await flush();
    client.send(["my/slow"], 5000, () => {});
    (await ff.next()).respond(200, encodeLpTimeout(packer) as string);
    await flush();
    poll2.respond(200, encodePush(packer, [["my/push", 1], ["my/push", 2]]) as string);
    const poll3 = await ff.next();
    poll3.respond(403, "Bad CSRF token");
    await flush();
    const rows = taps.map((t) => {
      if (t.type === "frame:in" || t.type === "frame:out") {
        assert.equal(t.transport, "ajax");
        assert.equal(t.clientId, "cid");
        assert.match(t.connId, t.channel === "poll" ? /^get-\d+$/ : /^post-\d+$/);
        const extra = t.type === "frame:in" ? { handshake: t.handshake, status: t.status, latencyMs: t.latencyMs } : {};
        return { type: t.type, channel: t.channel, connId: t.connId, kind: t.kind, eventId: t.eventId, cbId: t.cbId, ...extra };
      }
      return { type: t.type, connId: t.connId };
    });
    const ids = rows.map((r) => r.connId);
    const [hs, , p1, post1Out, post1In, noteOut, noteIn, slowOut, slowIn, p2, refusal] = ids;
    const u = undefined;
    assert.deepEqual(rows, [
      { type: "frame:in", channel: "poll", connId: hs, kind: "handshake", eventId: "chsk/handshake", cbId: u, handshake: true, status: 200, latencyMs: u },
      { type: "conn:open", connId: hs },
      { type: "frame:in", channel: "poll", connId: p1, kind: "timeout", eventId: "chsk/timeout", cbId: u, handshake: u, status: 200, latencyMs: u },
      { type: "frame:out", channel: "post", connId: post1Out, kind: "event", eventId: "my/call", cbId: "ajax" },
      { type: "frame:in", channel: "post-reply", connId: post1Out, kind: "reply", eventId: u, cbId: "ajax", handshake: u, status: 200, latencyMs: 25 },
      { type: "frame:out", channel: "post", connId: noteOut, kind: "event", eventId: "my/note", cbId: null },
      { type: "frame:in", channel: "post-reply", connId: noteOut, kind: "dummy", eventId: "chsk/dummy-cb-200", cbId: u, handshake: u, status: 200, latencyMs: u },
      { type: "frame:out", channel: "post", connId: slowOut, kind: "event", eventId: "my/slow", cbId: "ajax" },
      { type: "frame:in", channel: "post-reply", connId: slowOut, kind: "timeout", eventId: "chsk/timeout", cbId: "ajax", handshake: u, status: 200, latencyMs: u },
      { type: "frame:in", channel: "poll", connId: p2, kind: "push", eventId: "my/push", cbId: u, handshake: u, status: 200, latencyMs: u },
      // A refusal is no frame: the error, on its exchange, then the attempt ends.
      { type: "error", connId: refusal },
      { type: "conn:close", connId: refusal },
    ]);
    assert.equal(post1In, post1Out);
    assert.equal(noteIn, noteOut);
    assert.equal(slowIn, slowOut);
    assert.equal(new Set([hs, p1, post1Out, noteOut, slowOut, p2, refusal]).size, 7, "one id per exchange");
    await client.close();
  });

  it("csrf token function is re-read per request; nil token sends an empty header", async () => {
    let n = 0;
    const { ff, client } = setup({ csrfToken: () => `t${++n}` });
    const a = await ff.next();
    a.respond(500, "");
    const b = await ff.next();
    assert.equal(a.headers["X-CSRF-Token"], "t1");
    assert.equal(b.headers["X-CSRF-Token"], "t2");
    await client.close();
    const c = setup({ csrfToken: null });
    assert.equal((await c.ff.next()).headers["X-CSRF-Token"], "");
    await c.client.close();
  });

  it("binary packers POST bytes with binary%3F=true and client-id in the query", async () => {
    const enc = new TextEncoder();
    const bin = {
      name: "bin-edn",
      binary: true,
      keywordsAsStrings: false,
      pack: (v: unknown) => enc.encode(packer.pack(v) as string),
      unpack: (d: string | Uint8Array, l?: object) => packer.unpack(typeof d === "string" ? d : new TextDecoder().decode(d), l),
    };
    const { client, ff, clock } = setup({ packer: bin });
    (await ff.next()).respond(200, encodeHandshake(packer, "alice") as string);
    await ff.next();
    const p = client.send(["my/ev", 1], 1000);
    const post = await ff.next();
    assert.equal(post.url, `${URL_}?udt=${clock.now()}&client-id=cid&binary%3F=true`);
    assert.equal(post.headers["Content-Type"], "application/octet-stream");
    assert.equal(new TextDecoder().decode(post.body as Uint8Array), "[[:my/ev 1] :ajax]");
    post.respond(200, "[42 nil]");
    assert.equal(await p, 42);
    await client.close();
  });

  it("breakConnection aborts the poll and re-handshakes; disconnect stops polling; close aborts POSTs", async () => {
    const { client, ff, poll } = await opened();
    client.breakConnection();
    assert.ok(poll.settled);
    const again = await ff.next();
    assert.match(again.url, /handshake%3F=1/);
    again.respond(200, encodeHandshake(packer, "alice") as string);
    const p2 = await ff.next();
    client.disconnect();
    assert.ok(p2.settled);
    await flush();
    assert.equal(ff.requests.length, 4);
    client.connect();
    (await ff.next()).respond(200, encodeHandshake(packer, "alice") as string);
    await ff.next();
    const pending = client.send(["my/ev"], 5000);
    const post = await ff.next();
    await client.close();
    assert.ok(post.settled);
    await assert.rejects(pending, (e) => isChskError(e, "CHSK_ERR_CLOSED"));
  });
});
