/**
 * Ajax transport with fetch as a raw peer (protocol.md §11.1 vectors
 * 17-24, plus bad POSTs, body caps, poll caps and re-handshakes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Keyword } from "../../src/core/edn/values.js";
import { ajaxGet, ajaxPost, sleep, startServer, type TestServer } from "./server-helpers.js";

const LP = 400;

describe("server Ajax transport", () => {
  let srv: TestServer;
  const replies: { late?: (v: unknown) => boolean } = {};
  before(async () => {
    srv = await startServer(
      { lpTimeoutMs: LP, msAllowReconnectBeforeCloseAjax: 300, maxFrameBytes: 4096 },
      (msg) => {
        if (msg.id === "my/ev") msg.reply?.({ echo: msg.data });
        if (msg.id === "my/silent") replies.late = msg.reply;
      },
    );
  });
  after(() => srv.stop());

  const handshake = (clientId: string, uid: string) => ajaxGet(srv.base, `udt=1&client-id=${clientId}&uid=${uid}&handshake%3F=1`);
  const poll = (clientId: string, uid: string, timeoutMs?: number) => ajaxGet(srv.base, `udt=2&client-id=${clientId}&uid=${uid}`, {}, timeoutMs);

  it("vector 17: handshake GET → handshake body; no uidport-open yet", async () => {
    const r = await handshake("h17", "alice17");
    assert.equal(r.status, 200);
    assert.equal(r.body, '[[:chsk/handshake ["alice17" nil nil]] nil]');
    assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(r.headers.get("cache-control"), "no-store");
    await sleep(30);
    assert.ok(!srv.events.some((m) => m.id === "chsk/uidport-open" && m.data === "alice17"));
    assert.ok(!srv.chsk.connectedUids.any.has("alice17"));
  });

  it("any handshake? value counts (even false); an unknown client gets a handshake without it", async () => {
    const r1 = await ajaxGet(srv.base, "client-id=hv&uid=hv&handshake%3F=false");
    assert.equal(r1.body, '[[:chsk/handshake ["hv" nil nil]] nil]');
    const r2 = await poll("never-seen", "nobody");
    assert.equal(r2.body, '[[:chsk/handshake ["nobody" nil nil]] nil]');
  });

  it("vector 18: a poll with nothing to send → [:chsk/timeout nil] after lp-timeout; the poll opens the uid port", async () => {
    await handshake("h18", "u18");
    const t0 = Date.now();
    const p = poll("h18", "u18");
    const open = await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "u18");
    assert.equal(open.transport, "ajax");
    assert.equal(open.clientId, "h18");
    assert.ok(srv.chsk.connectedUids.ajax.has("u18"));
    const r = await p;
    assert.equal(r.body, "[:chsk/timeout nil]");
    assert.ok(Date.now() - t0 >= LP - 20, `answered after ${Date.now() - t0} ms`);
  });

  it("vector 19: a push to a held poll answers it ~100 ms later", async () => {
    await handshake("h19", "u19");
    const p = poll("h19", "u19");
    await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "u19");
    const t0 = Date.now();
    srv.chsk.send("u19", ["my/push", { n: 1 }]);
    srv.chsk.send("u19", ["my/push", { n: 2 }]);
    const r = await p;
    assert.equal(r.body, "[[[:my/push {:n 1}] [:my/push {:n 2}]] nil]");
    assert.ok(Date.now() - t0 >= 80);
  });

  it("vector 20 (delivery): a push between polls goes to the next poll at once", async () => {
    await handshake("h20", "u20");
    srv.chsk.send("u20", ["my/push", { n: 20 }], { flush: true });
    await sleep(200);
    // Held until the timeout instead, the poll would answer :chsk/timeout.
    const r = await poll("h20", "u20");
    assert.equal(r.body, "[[[:my/push {:n 20}]] nil]");
  });

  it("vector 21: POST wanting a reply (:ajax or 0) → [reply nil]", async () => {
    const r = await ajaxPost(srv.base, { udt: "1", "client-id": "p21", ppstr: "[[:my/ev {:a 1}] :ajax]" });
    assert.equal(r.status, 200);
    assert.equal(r.body, "[{:echo {:a 1}} nil]");
    const r0 = await ajaxPost(srv.base, { "client-id": "p21", ppstr: "[[:my/ev {:a 2}] 0]" });
    assert.equal(r0.body, "[{:echo {:a 2}} nil]");
    const m = await srv.nextEvent((m) => m.id === "my/ev" && m.clientId === "p21");
    assert.equal(m.transport, "ajax");
    assert.equal(m.req.method, "POST");
    assert.equal(m.req.form["ppstr"], "[[:my/ev {:a 1}] :ajax]");
  });

  it("vector 22: POST without a reply → [:chsk/dummy-cb-200 nil] at once; 1-element envelope too", async () => {
    const r = await ajaxPost(srv.base, { "client-id": "p22", ppstr: "[[:my/other {:a 1}] nil]" });
    assert.equal(r.body, "[:chsk/dummy-cb-200 nil]");
    const r1 = await ajaxPost(srv.base, { "client-id": "p22", ppstr: "[[:my/other {:a 2}]]" });
    assert.equal(r1.body, "[:chsk/dummy-cb-200 nil]");
    const m = await srv.nextEvent((m) => m.id === "my/other" && m.clientId === "p22");
    assert.equal(m.reply, undefined);
  });

  it("vector 23: a reply that never comes → [:chsk/timeout nil] after lp-timeout; a late reply is refused", async () => {
    const t0 = Date.now();
    const r = await ajaxPost(srv.base, { "client-id": "p23", ppstr: "[[:my/silent] :ajax]" });
    assert.equal(r.body, "[:chsk/timeout nil]");
    assert.ok(Date.now() - t0 >= LP - 20);
    assert.equal(replies.late?.("too late"), false);
  });

  it("vector 24: an invalid event is routed as chsk/bad-event, with the reply fn", async () => {
    const p = ajaxPost(srv.base, { "client-id": "p24", ppstr: "[[:nonamespace 1] :ajax]" });
    const m = await srv.nextEvent((m) => m.id === "chsk/bad-event" && m.clientId === "p24");
    const data = m.data as unknown[];
    assert.ok(data[0] instanceof Keyword && data[0].fqn === "nonamespace");
    assert.equal(data[1], 1);
    assert.equal(typeof m.reply, "function");
    assert.equal(m.reply!({ bad: true }), true);
    assert.equal((await p).body, "[{:bad true} nil]");
  });

  it("a bad ppstr → 400 naming the code; a missing one → 400 CHSK_ERR_BAD_ENVELOPE", async () => {
    const r = await ajaxPost(srv.base, { "client-id": "bad1", ppstr: "[[:my/ev {:a 1] nil]" });
    assert.equal(r.status, 400);
    assert.match(r.body, /^CHSK_ERR_EDN_SYNTAX: /);
    assert.ok(srv.errors.some((e) => e.code === "CHSK_ERR_EDN_SYNTAX"));
    const r2 = await ajaxPost(srv.base, { "client-id": "bad2" });
    assert.equal(r2.status, 400);
    assert.match(r2.body, /^CHSK_ERR_BAD_ENVELOPE: /);
    const r3 = await ajaxPost(srv.base, { "client-id": "bad3", ppstr: `${"[".repeat(100)}${"]".repeat(100)}` });
    assert.equal(r3.status, 400);
    assert.match(r3.body, /^CHSK_ERR_EDN_DEPTH: /);
  });

  it("an oversize body → 413 CHSK_ERR_FRAME_TOO_LARGE", async () => {
    const r = await ajaxPost(srv.base, { "client-id": "big", ppstr: `[[:my/ev "${"x".repeat(20_000)}"] nil]` });
    assert.equal(r.status, 413);
    assert.match(r.body, /^CHSK_ERR_FRAME_TOO_LARGE: /);
    // Under the body cap but over maxFrameBytes once decoded: the packer's limit.
    const r2 = await ajaxPost(srv.base, { "client-id": "big", ppstr: `[[:my/ev "${"x".repeat(5000)}"] nil]` });
    assert.equal(r2.status, 413);
  });

  it("binary? POST: the raw body is the frame", async () => {
    const res = await fetch(`${srv.base}/chsk?client-id=bin1&binary%3F=true`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: "[[:my/ev {:b 1}] :ajax]",
    });
    assert.equal(await res.text(), "[{:echo {:b 1}} nil]");
  });

  it("a newer poll supersedes the older; more than maxPendingPollsPerClient held → 429", async () => {
    await handshake("cap", "ucap");
    const p1 = poll("cap", "ucap");
    await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "ucap");
    const p2 = poll("cap", "ucap");
    await sleep(50);
    const r3 = await poll("cap", "ucap");
    assert.equal(r3.status, 429);
    assert.match(r3.body, /^CHSK_ERR_TOO_MANY_POLLS: /);
    srv.chsk.send("ucap", ["my/push", 1], { flush: true });
    assert.equal((await p2).body, "[[[:my/push 1]] nil]");
    assert.equal((await p1).body, "[:chsk/timeout nil]");
  });

  it("a client whose entry expired gets a fresh handshake on its next poll", async () => {
    await handshake("exp", "uexp");
    const p = poll("exp", "uexp");
    await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "uexp");
    assert.equal((await p).body, "[:chsk/timeout nil]");
    // Stop polling for longer than the 300 ms grace period.
    await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.data === "uexp", 2000);
    const again = await poll("exp", "uexp");
    assert.equal(again.body, '[[:chsk/handshake ["uexp" nil nil]] nil]');
  });

  it("taps: POST reply latency, ajax conn:open", async () => {
    await ajaxPost(srv.base, { "client-id": "tapA", ppstr: "[[:my/ev 1] :ajax]" });
    const reply = srv.taps.find((t) => t.type === "reply" && t.clientId === "tapA");
    assert.ok(reply && reply.type === "reply" && reply.transport === "ajax" && reply.eventId === "my/ev");
    await handshake("tapB", "utapB");
    assert.ok(srv.taps.some((t) => t.type === "conn:open" && t.transport === "ajax" && t.clientId === "tapB"));
  });

  it("other methods on the path → 405", async () => {
    const res = await fetch(`${srv.base}/chsk?client-id=x`, { method: "PUT", body: "x" });
    assert.equal(res.status, 405);
    await res.text();
  });
});

describe("server Ajax undelivered pushes", () => {
  it("vector 20 (drop): with no poll for ~4 s the buffered batch is dropped and reported", async () => {
    const srv = await startServer({ lpTimeoutMs: 300 });
    try {
      await ajaxGet(srv.base, "client-id=d20&uid=ud20&handshake%3F=1");
      srv.chsk.send("ud20", ["my/push", { n: 1 }], { flush: true });
      await sleep(4300);
      const r = await ajaxGet(srv.base, "client-id=d20&uid=ud20");
      assert.equal(r.body, "[:chsk/timeout nil]");
      assert.ok(srv.taps.some((t) => t.type === "error" && t.error.code === "CHSK_ERR_CLOSED" && t.clientId === "d20"));
    } finally {
      await srv.stop();
    }
  });
});
