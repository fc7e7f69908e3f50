import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "../../src/core/client/create-client.js";
import type { ClientEventMsg, ClientOptions, ClientTapEvent, StateChange } from "../../src/core/client/types.js";
import { kw } from "../../src/core/edn/values.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import type { Packer } from "../../src/core/packers/types.js";
import { encodeHandshake, encodePong, encodePush, encodeReply, encodeServerPing } from "../../src/core/protocol/codec.js";
import { isChskError } from "../../src/core/protocol/errors.js";
import { fakeFetch, fakeWsFactory, ManualClock } from "./client-fakes.js";

const packer = ednPacker();
const URL_ = "http://example.test/chsk";

function setup(opts: Partial<ClientOptions> = {}) {
  const clock = new ManualClock();
  const ws = fakeWsFactory();
  const ff = fakeFetch();
  const client = createClient({ url: URL_, type: "ws", clock, webSocket: ws.factory, fetch: ff.fetch, csrfToken: "tok", clientId: "cid", ...opts });
  return { client, clock, ws, ff };
}

/** Connected and handshaken over WS. */
function opened(opts: Partial<ClientOptions> = {}) {
  const t = setup(opts);
  t.ws.last().open();
  t.ws.last().receive(encodeHandshake(packer, "alice"));
  assert.equal(t.client.state.open, true);
  return t;
}

/** The cb id of a sent `[[ev data] "id"]` frame. */
const cbIdOf = (frame: unknown) => /"([0-9a-f]{6})"\]$/.exec(String(frame))?.[1];

describe("client over WS (fake socket, manual clock)", () => {
  it("connects to ws://host/path?<params>&client-id=…&csrf-token=… (encore encoding)", () => {
    const { ws } = setup({ params: { a: 1, b: "x*y z", "client-id": "ignored" } });
    assert.equal(ws.sockets.length, 1);
    assert.equal(ws.last().url, "ws://example.test/chsk?a=1&b=x%2Ay%20z&client-id=cid&csrf-token=tok");
    assert.equal(ws.last().binaryType, "arraybuffer");
  });

  it("keeps a query in the URL, uses wss for https, omits a blank token, re-reads a token function", () => {
    assert.equal(setup({ url: "https://h:8443/chsk?x=1", csrfToken: "  " }).ws.last().url, "wss://h:8443/chsk?x=1&client-id=cid");
    let n = 0;
    const { client, ws } = setup({ csrfToken: () => `t${++n}` });
    assert.equal(ws.last().url, "ws://example.test/chsk?client-id=cid&csrf-token=t1");
    client.reconnect();
    assert.equal(ws.last().url, "ws://example.test/chsk?client-id=cid&csrf-token=t2");
  });

  it("passes headers to the factory (Node)", () => {
    const { ws } = setup({ headers: { Cookie: "ring-session=abc" } });
    assert.deepEqual(ws.last().headers, { Cookie: "ring-session=abc" });
  });

  it("is open only after the handshake, not on onopen; emits state, handshake and router events", async () => {
    const { client, ws } = setup();
    const states: StateChange[] = [];
    const routed: ClientEventMsg[] = [];
    const handshakes: unknown[] = [];
    client.on("state", (c) => states.push(c));
    client.on("handshake", (h) => handshakes.push(h));
    client.startRouter((m) => void routed.push(m));
    const whenOpen = client.whenOpen();
    ws.last().open();
    assert.equal(client.state.open, false);
    ws.last().receive(encodeHandshake(packer, "bob", { hello: "world" }));
    assert.equal(client.state.open, true);
    assert.equal(client.state.type, "ws");
    assert.equal(client.state.uid, "bob");
    assert.deepEqual(client.state.handshakeData, { hello: "world" });
    assert.deepEqual(await whenOpen, { uid: "bob", handshakeData: { hello: "world" }, firstHandshake: true });
    assert.deepEqual(handshakes, [{ uid: "bob", handshakeData: { hello: "world" }, firstHandshake: true }]);
    assert.equal(states.length, 1);
    assert.equal(states[0]!.openChanged, true);
    assert.equal(states[0]!.opened, true);
    assert.equal(states[0]!.firstOpen, true);
    assert.deepEqual(
      routed.map((m) => m.id),
      ["chsk/state", "chsk/handshake"],
    );
    assert.deepEqual(routed[1]!.data, ["bob", null, { hello: "world" }, true]);
    const [, routedNew, openChanged] = routed[0]!.data as [unknown, Record<string, unknown>, boolean];
    assert.equal(openChanged, true);
    assert.equal(routedNew.firstOpen, true);
    assert.equal(routed[0]!.client, client);
    // A second handshake (new socket) is not the first.
    client.reconnect();
    ws.last().receive(encodeHandshake(packer, "bob"));
    assert.equal((handshakes[1] as { firstHandshake: boolean }).firstHandshake, false);
  });

  it("tolerates ≤1.20 handshakes (1-element envelope, 2-element payload, + prefix) and nil-uid", () => {
    for (const frame of ['[[:chsk/handshake ["alice" nil]]]', '+[[:chsk/handshake ["alice" nil]]]', '-[:chsk/handshake ["alice" nil]]']) {
      const { client, ws } = setup();
      ws.last().receive(frame);
      assert.equal(client.state.open, true, frame);
      assert.equal(client.state.uid, "alice");
      assert.equal(client.state.handshakeData, null);
    }
    const { client, ws } = setup();
    ws.last().receive(encodeHandshake(packer, null));
    assert.equal(client.state.uid, null);
  });

  it("request/reply: frame [[ev data] \"<6 chars>\"], reply resolves the callback", () => {
    const { client, ws } = opened();
    const got: unknown[] = [];
    assert.equal(client.send(["my/ev", { a: 1 }], 5000, (e, v) => got.push(e ?? v)), true);
    const frame = ws.last().lastSent as string;
    assert.match(frame, /^\[\[:my\/ev \{:a 1\}\] "[0-9a-f]{6}"\]$/);
    ws.last().receive(encodeReply(packer, { echo: { a: 1 } }, cbIdOf(frame)!));
    assert.deepEqual(got, [{ echo: { a: 1 } }]);
  });

  it("fire-and-forget frame is [[ev data] nil]; promise overloads resolve", async () => {
    const { client, ws } = opened();
    assert.equal(client.send(["my/ev", { a: 1 }]), true);
    assert.equal(ws.last().lastSent, "[[:my/ev {:a 1}] nil]");
    assert.equal(client.send(["my/ev"], { flush: true }), true);
    assert.equal(ws.last().lastSent, "[[:my/ev] nil]");
    const p1 = client.send(["my/ev", 1], 1000);
    ws.last().receive(encodeReply(packer, "r1", cbIdOf(ws.last().lastSent)!));
    const p2 = client.send(["my/ev", 2], { timeoutMs: 1000 });
    ws.last().receive(encodeReply(packer, kw("r2"), cbIdOf(ws.last().lastSent)!));
    assert.equal(await p1, "r1");
    assert.equal(await p2, kw("r2"));
  });

  it("a reply timeout gives CHSK_ERR_TIMEOUT; the late reply is reported on the tap, once", () => {
    const { client, ws, clock } = opened();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    const got: unknown[] = [];
    client.send(["my/ev"], 5000, (e, v) => got.push(e ?? v));
    const id = cbIdOf(ws.last().lastSent)!;
    clock.advance(4999);
    assert.equal(got.length, 0);
    clock.advance(1);
    assert.ok(isChskError(got[0], "CHSK_ERR_TIMEOUT"));
    ws.last().receive(encodeReply(packer, "late", id));
    assert.equal(got.length, 1);
    const errs = taps.filter((t) => t.type === "error");
    assert.equal(errs.length, 1);
    assert.equal((errs[0] as unknown as { error: { detail: { late: boolean } } }).error.detail.late, true);
  });

  it("send while not open: false, callback called synchronously with CHSK_ERR_CLOSED, promise rejects", async () => {
    const { client } = setup();
    let called: unknown;
    assert.equal(client.send(["my/ev"], 1000, (e) => (called = e)), false);
    assert.ok(isChskError(called, "CHSK_ERR_CLOSED"));
    assert.equal(client.send(["my/ev"]), false);
    await assert.rejects(client.send(["my/ev"], 1000), (e) => isChskError(e, "CHSK_ERR_CLOSED"));
  });

  it("invalid events and arguments throw synchronously", () => {
    const { client } = setup();
    assert.throws(() => client.send(["nonamespace"] as never), (e) => isChskError(e, "CHSK_ERR_BAD_EVENT"));
    assert.throws(() => client.send("x" as never), (e) => isChskError(e, "CHSK_ERR_BAD_EVENT"));
    assert.throws(() => client.send(["my/ev"], -1), RangeError);
    assert.throws(() => client.send(["my/ev"], undefined as never, () => {}), TypeError);
  });

  it("answers a server ping with [[:chsk/ws-pong] nil] at once; emits ping and routes chsk/ws-ping", () => {
    const { client, ws } = opened();
    const pings: number[] = [];
    const routed: string[] = [];
    client.on("ping", () => pings.push(1));
    client.startRouter((m) => void routed.push(m.id));
    ws.last().receive(encodeServerPing(packer));
    assert.equal(ws.last().lastSent, "[[:chsk/ws-pong] nil]");
    assert.equal(pings.length, 1);
    assert.deepEqual(routed, ["chsk/ws-ping"]);
  });

  it("delivers a push batch in order to recv and the router; drops invalid/chsk events with a tap error", () => {
    const { client, ws } = opened();
    const recv: unknown[] = [];
    const routed: unknown[] = [];
    const taps: ClientTapEvent[] = [];
    client.on("recv", (ev) => recv.push(ev));
    client.startRouter((m) => void routed.push(m.event));
    client.tap((e) => taps.push(e));
    ws.last().receive(encodePush(packer, [["my/push", { n: 1 }], ["my/push", { n: 2 }]]));
    assert.deepEqual(recv, [
      ["my/push", { n: 1 }],
      ["my/push", { n: 2 }],
    ]);
    assert.deepEqual(routed, recv);
    ws.last().receive("[[[:my/push 3] [:chsk/handshake 1] [:bad 1]] nil]");
    assert.deepEqual(recv.at(-1), ["my/push", 3]);
    assert.equal(recv.length, 3);
    assert.equal(taps.filter((t) => t.type === "error" && t.error.code === "CHSK_ERR_BAD_EVENT").length, 2);
  });

  it("undecodable frames are reported, not thrown", () => {
    const { client, ws } = opened();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    ws.last().receive("[[:unclosed");
    ws.last().receive("{:not :an-envelope}");
    assert.equal(taps.filter((t) => t.type === "error").length, 2);
    assert.equal(client.state.open, true);
  });

  it("keep-alive: pings after wsKaliveMs of silence; activity postpones it; pong keeps the connection", () => {
    const { client, ws, clock } = opened();
    const s = ws.last();
    const before = s.sent.length;
    clock.advance(5000);
    client.send(["my/ev"]);
    clock.advance(5000); // first check: there was activity → no ping
    assert.equal(s.sent.length, before + 1);
    clock.advance(10_000); // second check: silent window → ping
    const ping = s.lastSent as string;
    assert.match(ping, /^\[\[:chsk\/ws-ping\] "[0-9a-f]{6}"\]$/);
    s.receive(encodePong(packer, cbIdOf(ping)!));
    clock.advance(5000);
    assert.equal(ws.sockets.length, 1, "no reconnect after a pong");
    assert.equal(client.state.open, true);
  });

  it("keep-alive: no pong within wsPingTimeoutMs → reconnect, lastClose.reason ws-ping-timeout", () => {
    const { client, ws, clock } = opened();
    const old = ws.last();
    clock.advance(10_000);
    assert.match(String(old.lastSent), /ws-ping/);
    clock.advance(4999);
    assert.equal(ws.sockets.length, 1);
    clock.advance(1);
    assert.equal(ws.sockets.length, 2);
    assert.deepEqual(old.closeCalls, [{ code: 1000, reason: "CLOSE_NORMAL" }]);
    assert.equal(client.state.open, false);
    assert.equal(client.state.lastClose?.reason, "ws-ping-timeout");
    // The old socket's close event is stale.
    old.serverClose(1000, true);
    assert.equal(ws.sockets.length, 2);
    ws.last().receive(encodeHandshake(packer, "alice"));
    assert.equal(client.state.open, true);
  });

  it("a non-pong ping reply also reconnects", () => {
    const { client, ws, clock } = opened({ wsKaliveMs: 1000, wsPingTimeoutMs: 500 });
    clock.advance(1000);
    ws.last().receive(encodeReply(packer, "nope", cbIdOf(ws.last().lastSent)!));
    assert.equal(ws.sockets.length, 2);
    assert.equal(client.state.lastClose?.reason, "ws-ping-timeout");
  });

  it("reconnect timing: retry 1 immediate, retry 2 after 2000–4000 ms, retry 3 after 4000–8000 ms", () => {
    const { client, ws, clock } = opened();
    ws.last().serverClose(1006, false);
    assert.equal(client.state.lastClose?.reason, "unexpected");
    assert.deepEqual(client.state.lastWsClose && { code: client.state.lastWsClose.code, clean: client.state.lastWsClose.clean }, { code: 1006, clean: false });
    assert.equal(ws.sockets.length, 2, "retry 1 is immediate");
    ws.last().serverClose(1006, false);
    assert.equal(ws.sockets.length, 2);
    const wait2 = client.state.udtNextReconnect! - clock.now();
    assert.ok(wait2 >= 2000 && wait2 < 4000, String(wait2));
    clock.advance(wait2 - 1);
    assert.equal(ws.sockets.length, 2);
    clock.advance(1);
    assert.equal(ws.sockets.length, 3);
    ws.last().serverClose(1006, false);
    const wait3 = client.state.udtNextReconnect! - clock.now();
    assert.ok(wait3 >= 4000 && wait3 < 8000, String(wait3));
    clock.advance(wait3);
    assert.equal(ws.sockets.length, 4);
    ws.last().receive(encodeHandshake(packer, "alice"));
    assert.equal(client.state.udtNextReconnect, undefined);
    ws.last().serverClose(1000, true);
    assert.equal(client.state.lastClose?.reason, "clean");
    assert.equal(ws.sockets.length, 5, "count reset by the handshake: immediate again");
  });

  it("uses backoffMs for attempts ≥ 2", () => {
    const seen: number[] = [];
    const { ws, clock } = opened({ backoffMs: (n) => (seen.push(n), 100 * n) });
    ws.last().serverClose();
    ws.last().serverClose();
    assert.deepEqual(seen, [2]);
    assert.deepEqual(clock.delays().at(-1), 200);
  });

  it("auto: a WS error before the first open downgrades to Ajax (and closes the socket 1000)", async () => {
    const { client, ws, ff } = setup({ type: "auto" });
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    ws.last().fail("refused");
    assert.deepEqual(ws.last().closeCalls, [{ code: 1000, reason: "CLOSE_NORMAL" }]);
    assert.equal(client.state.lastWsError?.message, "refused");
    const req = await ff.next();
    assert.match(req.url, /^http:\/\/example\.test\/chsk\?udt=\d+&client-id=cid&handshake%3F=1$/);
    assert.ok(taps.some((t) => t.type === "conn:close" && t.reason === "downgrading-ws-to-ajax"));
    ws.last().serverClose();
    assert.equal(ws.sockets.length, 1, "no more WS attempts");
    await client.close();
  });

  it("auto: after a WS open, errors never downgrade", () => {
    const { client, ws, ff } = setup({ type: "auto" });
    assert.equal(client.state.type, "auto");
    ws.last().receive(encodeHandshake(packer, "alice"));
    assert.equal(client.state.type, "ws");
    ws.last().fail("x");
    ws.last().serverClose();
    assert.equal(ws.sockets.length, 2);
    ws.last().fail("y");
    ws.last().serverClose();
    assert.equal(ff.requests.length, 0);
  });

  it("auto without a WebSocket implementation goes straight to Ajax", async () => {
    const clock = new ManualClock();
    const ff = fakeFetch();
    const client = createClient({ url: URL_, clock, webSocket: null, fetch: ff.fetch, clientId: "cid" });
    const req = await ff.next();
    assert.match(req.url, /handshake%3F=1/);
    await client.close();
  });

  it("a WS refusal with an HTTP status lands in lastError and on the tap", () => {
    const { client, ws } = setup();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    ws.last().fail("Unexpected server response: 403", { status: 403, body: "Bad CSRF token" });
    ws.last().serverClose(1006, false);
    assert.equal(client.state.lastError?.status, 403);
    assert.equal(client.state.lastError?.code, "CHSK_ERR_HTTP_STATUS");
    const err = taps.find((t) => t.type === "error");
    assert.equal(err?.type === "error" && err.error.message, "HTTP 403 Bad CSRF token");
  });

  it("disconnect(): close(1000, CLOSE_NORMAL), reason requested-disconnect, no retry; connect() resumes", () => {
    const { client, ws, clock } = opened();
    const s = ws.last();
    client.disconnect();
    assert.deepEqual(s.closeCalls, [{ code: 1000, reason: "CLOSE_NORMAL" }]);
    assert.equal(client.state.lastClose?.reason, "requested-disconnect");
    s.serverClose(1000, true);
    clock.advance(120_000);
    assert.equal(ws.sockets.length, 1);
    assert.equal(clock.pending, 0);
    client.connect();
    assert.equal(ws.sockets.length, 2);
  });

  it("breakConnection(): close(3000, CLOSE_ABNORMAL), then the close event retries", () => {
    const { client, ws } = opened();
    const s = ws.last();
    client.breakConnection();
    assert.deepEqual(s.closeCalls, [{ code: 3000, reason: "CLOSE_ABNORMAL" }]);
    assert.equal(ws.sockets.length, 1);
    s.serverClose(3000, true, "CLOSE_ABNORMAL");
    assert.equal(ws.sockets.length, 2);
    assert.equal(client.state.lastClose?.reason, "clean");
  });

  it("a send error: cb CHSK_ERR_TRANSPORT and reconnect with reason ws-error", () => {
    const { client, ws } = opened();
    const old = ws.last();
    old.throwOnSend = true;
    let got: unknown;
    assert.equal(client.send(["my/ev"], 1000, (e) => (got = e)), false);
    assert.ok(isChskError(got, "CHSK_ERR_TRANSPORT"));
    assert.equal(client.state.lastClose?.reason, "ws-error");
    assert.deepEqual(old.closeCalls, [{ code: 1000, reason: "CLOSE_NORMAL" }]);
    assert.equal(ws.sockets.length, 2);
  });

  it("frames from a replaced socket are ignored", () => {
    const { client, ws } = opened();
    const old = ws.last();
    client.reconnect();
    const recv: unknown[] = [];
    client.on("recv", (e) => recv.push(e));
    old.receive(encodePush(packer, [["my/push", 1]]));
    old.receive(encodeHandshake(packer, "mallory"));
    assert.deepEqual(recv, []);
    assert.equal(client.state.open, false);
  });

  it("close(): idempotent, cancels every timer, rejects pending replies and whenOpen, never reconnects", async () => {
    const { client, ws, clock } = opened();
    const p = client.send(["my/ev"], 5000);
    clock.advance(4000); // kalive armed, ack pending
    assert.ok(clock.pending > 0);
    await client.close();
    await client.close();
    await assert.rejects(p, (e) => isChskError(e, "CHSK_ERR_CLOSED"));
    await assert.rejects(client.whenOpen(), (e) => isChskError(e, "CHSK_ERR_CLOSED"));
    assert.equal(clock.pending, 0);
    assert.deepEqual(ws.last().closeCalls, [{ code: 1000, reason: "CLOSE_NORMAL" }]);
    ws.last().serverClose();
    client.connect();
    client.reconnect();
    clock.advance(600_000);
    assert.equal(ws.sockets.length, 1);
    assert.equal(client.send(["my/ev"]), false);
  });

  it("whenOpen() pending at close() rejects", async () => {
    const { client } = setup();
    const w = client.whenOpen();
    await client.close();
    await assert.rejects(w, (e) => isChskError(e, "CHSK_ERR_CLOSED"));
  });

  it("an AbortSignal disconnects for good; a pre-aborted one never connects", async () => {
    const ac = new AbortController();
    const { client, ws, clock } = opened({ signal: ac.signal });
    ac.abort();
    ws.last().serverClose();
    clock.advance(60_000);
    assert.equal(ws.sockets.length, 1);
    assert.equal(client.state.open, false);
    const pre = setup({ signal: AbortSignal.abort() });
    assert.equal(pre.ws.sockets.length, 0);
  });

  it("autoConnect: false waits for connect()", () => {
    const { client, ws } = setup({ autoConnect: false });
    assert.equal(ws.sockets.length, 0);
    client.connect();
    client.connect();
    assert.equal(ws.sockets.length, 1);
  });

  it("router: a throwing or rejecting handler goes to onError and the router keeps going", async () => {
    const { client, ws } = opened();
    const errors: unknown[] = [];
    const seen: unknown[] = [];
    const stop = client.startRouter(
      async (m) => {
        seen.push(m.data);
        if (m.data === 1) throw new Error("async boom");
      },
      { onError: (e) => errors.push(e) },
    );
    client.startRouter(
      (m) => {
        if (m.data === 2) throw new Error("sync boom");
      },
      { onError: (e) => errors.push(e) },
    );
    ws.last().receive(encodePush(packer, [["my/push", 1], ["my/push", 2], ["my/push", 3]]));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(errors.length, 2);
    stop();
    ws.last().receive(encodePush(packer, [["my/push", 4]]));
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it("taps: every frame once, described (channel, connId, kind, eventId, cbId, reply latency), conn:open/conn:close", async () => {
    const { client, ws, clock } = setup({ wsKaliveMs: 1000, wsPingTimeoutMs: 500 });
    const taps: ClientTapEvent[] = [];
    const off = client.tap((e) => taps.push(e));
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    client.send(["my/ev", 1]);
    const reply = client.send(["my/call", 2], 5000);
    const cb = cbIdOf(ws.last().lastSent)!;
    clock.advance(40);
    ws.last().receive(encodeReply(packer, "ok", cb));
    assert.equal(await reply, "ok");
    ws.last().receive(encodeServerPing(packer));
    clock.advance(1000); // activity in the window: no ping
    clock.advance(1000); // idle window: the keep-alive ping
    const pingCb = cbIdOf(ws.last().lastSent)!;
    ws.last().receive(encodePong(packer, pingCb));
    const socket = ws.last();
    socket.serverClose(1006);
    const frames = taps.filter((t) => t.type === "frame:in" || t.type === "frame:out");
    assert.equal(frames.length, socket.sent.length + 4, "every frame sent and received, once");
    const connId = (taps[0] as { connId: string }).connId;
    assert.match(connId, /^ws-\d+$/);
    const brief = taps.map((t) => {
      if (t.type === "frame:in" || t.type === "frame:out") {
        assert.equal(t.connId, connId);
        assert.equal(t.clientId, "cid");
        assert.equal(t.channel, "ws");
        assert.equal(t.transport, "ws");
        return [t.type, t.kind, t.eventId ?? "-", t.cbId === undefined ? "-" : t.cbId, t.type === "frame:in" ? (t.latencyMs ?? "-") : "-"];
      }
      if (t.type === "conn:open" || t.type === "conn:close") {
        assert.equal(t.connId, connId);
        assert.equal(t.clientId, "cid");
      }
      return [t.type];
    });
    assert.deepEqual(brief, [
      ["frame:in", "handshake", "chsk/handshake", "-", "-"],
      ["conn:open"],
      ["frame:out", "event", "my/ev", null, "-"],
      ["frame:out", "event", "my/call", cb, "-"],
      ["frame:in", "reply", "-", cb, 40],
      ["frame:in", "ping", "chsk/ws-ping", "-", "-"],
      ["frame:out", "pong", "chsk/ws-pong", null, "-"],
      ["frame:out", "ping", "chsk/ws-ping", pingCb, "-"],
      // Sent when the kalive timer fired (t+2000), answered at t+2040.
      ["frame:in", "reply", "-", pingCb, 40],
      ["conn:close"],
    ]);
    assert.deepEqual(
      frames.map((t) => t.data),
      [
        '[[:chsk/handshake ["alice" nil nil]] nil]',
        "[[:my/ev 1] nil]",
        `[[:my/call 2] "${cb}"]`,
        `["ok" "${cb}"]`,
        "[:chsk/ws-ping nil]",
        "[[:chsk/ws-pong] nil]",
        `[[:chsk/ws-ping] "${pingCb}"]`,
        `["pong" "${pingCb}"]`,
      ],
    );
    assert.deepEqual({ ...taps.at(-1)!, at: 0 }, { type: "conn:close", transport: "ws", connId, clientId: "cid", reason: "unexpected", code: 1006, at: 0 });
    off();
    client.reconnect();
    ws.last().receive(encodeHandshake(packer, "alice"));
    assert.equal(taps.length, brief.length);
    // A new attempt, a new connId.
    const again: ClientTapEvent[] = [];
    client.tap((e) => again.push(e));
    client.send(["my/ev", 3]);
    assert.notEqual((again[0] as { connId: string }).connId, connId);
  });

  it("taps: an unreadable frame is a `bad` frame:in, then its error with the connId", () => {
    const { client, ws } = opened();
    const taps: ClientTapEvent[] = [];
    client.tap((e) => taps.push(e));
    ws.last().receive("[[:my/push");
    assert.deepEqual(
      taps.map((t) => (t.type === "frame:in" ? `${t.type}:${t.kind}` : t.type)),
      ["frame:in:bad", "error"],
    );
    assert.equal((taps[1] as { connId?: string }).connId, (taps[0] as { connId: string }).connId);
  });

  it("binary packers: bytes out, ArrayBuffer in", () => {
    const enc = new TextEncoder();
    const bin: Packer = {
      name: "bin-edn",
      binary: true,
      keywordsAsStrings: false,
      pack: (v) => enc.encode(packer.pack(v) as string),
      unpack: (d, l) => packer.unpack(typeof d === "string" ? d : new TextDecoder().decode(d), l),
    };
    const { client, ws } = setup({ packer: bin });
    const bytes = enc.encode(encodeHandshake(packer, "alice") as string);
    ws.last().receive(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    assert.equal(client.state.open, true);
    client.send(["my/ev", 1]);
    assert.ok(ws.last().lastSent instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(ws.last().lastSent as Uint8Array), "[[:my/ev 1] nil]");
  });

  it("a throwing factory counts as a WS error + close", () => {
    const clock = new ManualClock();
    const ff = fakeFetch();
    let calls = 0;
    const client = createClient({
      url: URL_,
      type: "ws",
      clock,
      fetch: ff.fetch,
      webSocket: () => {
        calls++;
        throw new Error("no sockets here");
      },
    });
    assert.equal(calls, 2, "attempt + immediate retry");
    assert.equal(client.state.lastWsError?.message, "no sockets here");
    assert.ok(client.state.udtNextReconnect! > clock.now());
    void client.close();
  });

  it("validates options", () => {
    assert.throws(() => createClient({ url: "" }), TypeError);
    assert.throws(() => createClient({ url: URL_, type: "ws", webSocket: null }), TypeError);
    assert.throws(() => createClient({ url: URL_, type: "nope" as never }), TypeError);
    assert.throws(() => createClient({ url: "/chsk", type: "ajax", fetch: fakeFetch().fetch }), TypeError, "relative URL without location");
    assert.throws(() => createClient({ url: "ftp://x/chsk", type: "ajax", fetch: fakeFetch().fetch }), TypeError);
    assert.throws(() => createClient({ url: URL_, type: "ajax", fetch: fakeFetch().fetch, wsKaliveMs: -1 }), RangeError);
    assert.throws(() => createClient({ url: URL_, type: "ajax", fetch: fakeFetch().fetch, logger: { warn() {} } as never }), TypeError);
  });

  it("a router handler failing without onError: the tap (CHSK_ERR_HANDLER) and logger.error, never the console", async () => {
    const logged: string[] = [];
    const consoleCalls: unknown[][] = [];
    const saved = console.error;
    console.error = (...a: unknown[]) => void consoleCalls.push(a);
    try {
      for (const logger of [undefined, { info: (m: string) => logged.push(`info ${m}`), warn: (m: string) => logged.push(`warn ${m}`), error: (m: string, f?: Record<string, unknown>) => logged.push(`error ${m} ${String(f?.["code"])}`) }]) {
        const { client, ws } = opened(logger === undefined ? {} : { logger });
        const taps: ClientTapEvent[] = [];
        client.tap((e) => taps.push(e));
        client.startRouter((m) => {
          if (m.id === "my/sync") throw new Error("sync boom");
          if (m.id === "my/async") return Promise.reject(new Error("async boom"));
        });
        ws.last().receive(encodePush(packer, [["my/sync"], ["my/async"]]));
        await new Promise((r) => setImmediate(r));
        const errors = taps.flatMap((t) => (t.type === "error" ? [t.error] : []));
        assert.deepEqual(
          errors.map((e) => [e.code, e.detail?.["eventId"], (e.cause as Error).message]),
          [
            ["CHSK_ERR_HANDLER", "my/sync", "sync boom"],
            ["CHSK_ERR_HANDLER", "my/async", "async boom"],
          ],
        );
        await client.close();
      }
    } finally {
      console.error = saved;
    }
    assert.deepEqual(consoleCalls, []);
    // With a logger: the open and the close at info, the failures at error.
    assert.deepEqual(logged, [
      "info chsk client: open (ws)",
      "error chsk client: Router handler failed on my/sync: sync boom CHSK_ERR_HANDLER",
      "error chsk client: Router handler failed on my/async: async boom CHSK_ERR_HANDLER",
      "info chsk client: closed (ws, requested-disconnect 1000)",
    ]);
  });

  it("logger: reported problems at warn, with their code", () => {
    const warned: [string, unknown][] = [];
    const { client, ws } = opened({ logger: { warn: (m, f) => warned.push([m, f?.["code"]]), error() {} } });
    ws.last().receive("[[:my/push");
    assert.equal(warned.length, 1);
    assert.equal(warned[0]![1], "CHSK_ERR_EDN_SYNTAX");
    assert.match(warned[0]![0], /^chsk client: CHSK_ERR_EDN_SYNTAX: /);
    void client.close();
  });
});
