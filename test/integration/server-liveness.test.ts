/**
 * Keep-alive and connection tracking with small timings (protocol.md
 * §5.2, §6; vectors 15 and 25).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloseCode } from "../../src/core/protocol/errors.js";
import { ajaxGet, openPeer, sleep, startServer, until, withTimeout } from "./server-helpers.js";

const KALIVE = 150;
const PING_TIMEOUT = 150;

describe("server WS keep-alive (vector 15)", () => {
  it("an idle socket gets [:chsk/ws-ping nil]; no answer → closed with 4000", async () => {
    const srv = await startServer({ wsKaliveMs: KALIVE, wsPingTimeoutMs: PING_TIMEOUT });
    try {
      const t0 = Date.now();
      const { peer } = await openPeer(srv.port, "client-id=idle&uid=idle");
      assert.equal(await peer.next(1000), "[:chsk/ws-ping nil]");
      const pingedAfter = Date.now() - t0;
      assert.ok(pingedAfter >= KALIVE - 10 && pingedAfter < KALIVE * 3, `pinged after ${pingedAfter} ms`);
      const t1 = Date.now();
      const { code } = await withTimeout(peer.closed, 2000, "close");
      assert.equal(code, CloseCode.PING_TIMEOUT);
      const closedAfter = Date.now() - t1;
      assert.ok(closedAfter >= PING_TIMEOUT - 20 && closedAfter < PING_TIMEOUT * 3, `closed ${closedAfter} ms after the ping`);
      await until(() => srv.taps.some((t) => t.type === "conn:close" && t.clientId === "idle" && t.reason === "ping-timeout"));
    } finally {
      await srv.stop();
    }
  });

  it("a socket that answers pings (or keeps talking) stays open", async () => {
    const srv = await startServer({ wsKaliveMs: KALIVE, wsPingTimeoutMs: PING_TIMEOUT });
    try {
      const ponger = await openPeer(srv.port, "client-id=ponger&uid=p");
      const talker = await openPeer(srv.port, "client-id=talker&uid=t");
      ponger.peer.ws.on("message", (d) => {
        if (d.toString() === "[:chsk/ws-ping nil]") ponger.peer.send("[[:chsk/ws-pong] nil]");
      });
      const chatter = setInterval(() => talker.peer.send("[[:my/hi] nil]"), KALIVE / 3);
      try {
        await sleep(KALIVE * 5);
      } finally {
        clearInterval(chatter);
      }
      assert.equal(ponger.peer.ws.readyState, ponger.peer.ws.OPEN);
      assert.equal(talker.peer.ws.readyState, talker.peer.ws.OPEN);
      assert.ok(srv.events.some((m) => m.id === "chsk/ws-pong" && m.clientId === "ponger"));
      // The talker was never idle long enough to be pinged.
      assert.ok(!srv.taps.some((t) => t.type === "frame:out" && t.clientId === "talker" && t.data === "[:chsk/ws-ping nil]"));
      ponger.peer.close();
      talker.peer.close();
    } finally {
      await srv.stop();
    }
  });

  it("a peer that never completes the close handshake is cut after closeTimeoutMs", async () => {
    const srv = await startServer({ wsKaliveMs: KALIVE, wsPingTimeoutMs: PING_TIMEOUT, closeTimeoutMs: 200 });
    try {
      const { peer } = await openPeer(srv.port, "client-id=deaf&uid=deaf");
      // Stop reading: the ping and the close frame are never seen, so never answered.
      (peer.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const closed = srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.data === "deaf", 5000);
      await until(() => srv.taps.some((t) => t.type === "conn:close" && t.clientId === "deaf"), 3000, "server-side close");
      await closed;
      peer.ws.terminate();
    } finally {
      await srv.stop();
    }
  });
});

describe("server connection tracking (vector 25)", () => {
  const GRACE = 200;

  it("the last WS closing → uidport-close after the grace period; connectedUids drops the uid", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseWs: GRACE });
    try {
      const { peer } = await openPeer(srv.port, "client-id=a1&uid=alice");
      await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "alice");
      peer.close();
      await peer.closed;
      const t0 = Date.now();
      await sleep(GRACE / 2);
      assert.ok(srv.chsk.connectedUids.any.has("alice"), "still counted during the grace period");
      const m = await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.data === "alice", 2000);
      assert.ok(Date.now() - t0 >= GRACE - 20);
      assert.equal(m.clientId, "a1");
      assert.equal(m.transport, "ws");
      assert.ok(!srv.chsk.connectedUids.ws.has("alice"));
      assert.ok(!srv.chsk.connectedUids.any.has("alice"));
      assert.deepEqual(srv.chsk.clients().filter((c) => c.uid === "alice"), []);
    } finally {
      await srv.stop();
    }
  });

  it("a reconnect with the same client-id within the grace period: no close, no second open; pushes meanwhile are delivered", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseWs: GRACE });
    try {
      const first = await openPeer(srv.port, "client-id=tab&uid=bob");
      first.peer.close();
      await first.peer.closed;
      srv.chsk.send("bob", ["my/while-away", 1], { flush: true });
      const second = await openPeer(srv.port, "client-id=tab&uid=bob");
      assert.equal(await second.peer.next(), "[[[:my/while-away 1]] nil]");
      await sleep(GRACE * 2);
      assert.equal(srv.events.filter((m) => m.id === "chsk/uidport-open" && m.data === "bob").length, 1);
      assert.ok(!srv.events.some((m) => m.id === "chsk/uidport-close" && m.data === "bob"));
      second.peer.close();
      await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.data === "bob", 2000);
    } finally {
      await srv.stop();
    }
  });

  it("one of two tabs closing keeps the uid connected", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseWs: GRACE });
    try {
      const a = await openPeer(srv.port, "client-id=t1&uid=carol");
      const b = await openPeer(srv.port, "client-id=t2&uid=carol");
      a.peer.close();
      await sleep(GRACE * 2);
      assert.ok(!srv.events.some((m) => m.id === "chsk/uidport-close"));
      assert.ok(srv.chsk.connectedUids.any.has("carol"));
      assert.equal(srv.chsk.clients().length, 1);
      b.peer.close();
    } finally {
      await srv.stop();
    }
  });

  it("Ajax: a client that stops polling → uidport-close after its grace period", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseAjax: 300, lpTimeoutMs: 200 });
    try {
      await ajaxGet(srv.base, "client-id=aj&uid=dave&handshake%3F=1");
      const r = await ajaxGet(srv.base, "client-id=aj&uid=dave");
      assert.equal(r.body, "[:chsk/timeout nil]");
      assert.ok(srv.chsk.connectedUids.ajax.has("dave"));
      const t0 = Date.now();
      const m = await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.data === "dave", 2000);
      assert.ok(Date.now() - t0 >= 250);
      assert.equal(m.transport, "ajax");
      assert.ok(!srv.chsk.connectedUids.any.has("dave"));
      assert.ok(srv.taps.some((t) => t.type === "conn:close" && t.transport === "ajax" && t.clientId === "aj"));
    } finally {
      await srv.stop();
    }
  });

  it("Ajax: a client that keeps polling stays connected", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseAjax: 300, lpTimeoutMs: 100 });
    try {
      await ajaxGet(srv.base, "client-id=aj2&uid=erin&handshake%3F=1");
      const until = Date.now() + 700;
      while (Date.now() < until) await ajaxGet(srv.base, "client-id=aj2&uid=erin");
      assert.ok(!srv.events.some((m) => m.id === "chsk/uidport-close"));
      assert.equal(srv.events.filter((m) => m.id === "chsk/uidport-open").length, 1);
    } finally {
      await srv.stop();
    }
  });
});
