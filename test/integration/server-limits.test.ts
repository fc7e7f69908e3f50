/**
 * The server's limits on slow peers, with real slow peers on loopback:
 * a WebSocket whose reader stopped (`socket.pause()`), an Ajax client that
 * stopped polling, and a POST body trickled a byte at a time.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { encodePush } from "../../src/core/protocol/codec.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { CloseCode } from "../../src/core/protocol/errors.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import type { ServerTapEvent } from "../../src/server/types.js";
import { ajaxGet, ajaxPost, openPeer, RawHttp, startServer, until, withTimeout } from "./server-helpers.js";

const PAD = "x".repeat(64 * 1024);
const big = (i: number): ChskEvent => ["my/big", { i, pad: PAD }];
const frameBytes = (ev: ChskEvent): number => Buffer.byteLength(encodePush(ednPacker(), [ev]) as string);
const closeOf = (taps: ServerTapEvent[], clientId: string) =>
  taps.find((t): t is Extract<ServerTapEvent, { type: "conn:close" }> => t.type === "conn:close" && t.clientId === clientId);

describe("slow consumers over WebSocket", () => {
  it("a peer that stops reading is cut once its unsent bytes pass the limit; others keep their pushes", async () => {
    const limit = 256 * 1024;
    const srv = await startServer({ maxBufferedBytesPerClient: limit, sendBufMsWs: 0 });
    try {
      const slow = await openPeer(srv.port, "client-id=slow&uid=uslow");
      const fast = await openPeer(srv.port, "client-id=fast&uid=ufast");
      const rawSocket = (slow.peer.ws as unknown as { _socket: Socket })._socket;
      rawSocket.pause();

      // Push until it trips; bounded (2,000 × 64 KiB would be 128 MiB without a limit).
      let sent = 0;
      const tripped = () => srv.errors.some((e) => e.code === "CHSK_ERR_SLOW_CONSUMER");
      for (; sent < 2000 && !tripped(); sent++) {
        srv.chsk.send("uslow", big(sent));
        if (sent % 20 === 0) srv.chsk.send("ufast", ["my/small", { i: sent }]);
      }
      assert.ok(tripped(), `not dropped after ${sent} pushes of 64 KiB`);
      // Kernel buffers take a few MiB first; past them, the limit holds.
      const e = srv.errors.find((x) => x.code === "CHSK_ERR_SLOW_CONSUMER")!;
      assert.equal(e.closeCode, CloseCode.SLOW_CONSUMER);
      assert.equal(e.detail?.["transport"], "ws");
      const buffered = e.detail?.["bufferedBytes"] as number;
      // The server's own accounting: over the limit by at most the one frame sent after the last check.
      assert.ok(buffered > limit, `${buffered}`);
      assert.ok(buffered <= limit + frameBytes(big(sent)) + 14, `${buffered} > limit + one frame`);

      // Later pushes find no connection for the user: no second report, nothing buffered.
      for (let i = 0; i < 50; i++) srv.chsk.send("uslow", big(i));
      assert.equal(srv.errors.filter((x) => x.code === "CHSK_ERR_SLOW_CONSUMER").length, 1);
      assert.deepEqual(
        srv.errors.map((x) => x.code),
        ["CHSK_ERR_SLOW_CONSUMER"],
      );
      await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.uid === "uslow");
      assert.ok(!srv.chsk.clients().some((c) => c.clientId === "slow"));

      // Tap: one conn:close with the server's code and reason; the peer, unable to get a close frame, sees 1006.
      await until(() => closeOf(srv.taps, "slow") !== undefined, 3000, "conn:close of the slow peer");
      const close = closeOf(srv.taps, "slow")!;
      assert.equal(close.code, CloseCode.SLOW_CONSUMER);
      assert.equal(close.reason, "slow-consumer");
      assert.equal(srv.taps.filter((t) => t.type === "error").length, 1);
      rawSocket.resume();
      assert.equal((await withTimeout(slow.peer.closed, 5000, "the slow peer's close")).code, 1006);

      // The fast peer got every push sent to it, and still gets them.
      const smalls = Math.floor((sent - 1) / 20) + 1;
      for (let i = 0; i < smalls; i++) assert.match(await fast.peer.next(), /:my\/small/);
      srv.chsk.send("ufast", ["my/after", 1]);
      assert.equal(await fast.peer.next(), "[[[:my/after 1]] nil]");
      fast.peer.close();
    } finally {
      await srv.stop();
    }
  });

  it("replies count too: a peer that sends requests but never reads the replies is cut", async () => {
    const limit = 128 * 1024;
    const srv = await startServer({ maxBufferedBytesPerClient: limit }, (msg) => {
      if (msg.id === "my/echo") msg.reply?.(msg.data);
    });
    try {
      const { peer } = await openPeer(srv.port, "client-id=r1&uid=ur1");
      (peer.ws as unknown as { _socket: Socket })._socket.pause();
      const req = `[[:my/echo "${"y".repeat(32 * 1024)}"] "cb"]`;
      for (let i = 0; i < 1000 && srv.errors.length === 0; i++) {
        peer.send(req);
        // Let the server read it (its socket is not paused) and reply.
        await new Promise((r) => setImmediate(r));
      }
      await until(() => srv.errors.length > 0, 5000, "the slow-consumer error");
      assert.deepEqual(
        srv.errors.map((x) => x.code),
        ["CHSK_ERR_SLOW_CONSUMER"],
      );
      await until(() => closeOf(srv.taps, "r1") !== undefined, 3000, "conn:close");
      assert.equal(closeOf(srv.taps, "r1")!.reason, "slow-consumer");
    } finally {
      await srv.stop();
    }
  });

  it("a fast peer is never cut, whatever it receives (the limit is on what waits, not on what passes)", async () => {
    const srv = await startServer({ maxBufferedBytesPerClient: 64 * 1024, sendBufMsWs: 0 });
    try {
      const { peer } = await openPeer(srv.port, "client-id=f1&uid=uf1");
      // 4 MiB in 64 pushes of 64 KiB, each after the previous one arrived.
      for (let i = 0; i < 64; i++) {
        srv.chsk.send("uf1", big(i));
        assert.match(await peer.next(), /^\[\[\[:my\/big/);
      }
      assert.deepEqual(srv.errors, []);
      peer.close();
    } finally {
      await srv.stop();
    }
  });
});

describe("slow consumers over Ajax", () => {
  it("a client that stops polling while pushes pile up is dropped once its kept frames pass the limit", async () => {
    const limit = 64 * 1024;
    const srv = await startServer({ maxBufferedBytesPerClient: limit, sendBufMsAjax: 0, lpTimeoutMs: 5000 });
    try {
      for (const c of ["a1", "b1"]) await ajaxGet(srv.base, `client-id=${c}&uid=u${c}&handshake%3F=1`);
      // a1 polls once (so it is connected), gets one push, and never polls again.
      const first = ajaxGet(srv.base, "client-id=a1&uid=ua1");
      await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.uid === "ua1");
      srv.chsk.send("ua1", ["my/first", 1]);
      assert.equal((await first).body, "[[[:my/first 1]] nil]");

      const ev = (i: number): ChskEvent => ["my/big", { i, pad: "z".repeat(16 * 1024) }];
      const one = frameBytes(ev(0));
      let sent = 0;
      for (; sent < 100 && srv.errors.length === 0; sent++) srv.chsk.send("ua1", ev(sent % 10));
      // Kept: ⌈limit / frame⌉ frames fit (the last one may pass the limit); the next one trips.
      const fit = Math.floor(limit / one) + 1;
      assert.equal(sent, fit + 1);
      assert.deepEqual(
        srv.errors.map((x) => x.code),
        ["CHSK_ERR_SLOW_CONSUMER"],
      );
      const e = srv.errors[0]!;
      assert.equal(e.detail?.["transport"], "ajax");
      assert.equal(e.detail?.["bufferedBytes"], fit * one);
      assert.equal(e.closeCode, CloseCode.SLOW_CONSUMER);

      // Dropped: out of the table, uidport-close, one conn:close with the reason; later pushes keep nothing.
      assert.ok(!srv.chsk.clients().some((c) => c.clientId === "a1"));
      await srv.nextEvent((m) => m.id === "chsk/uidport-close" && m.uid === "ua1");
      const close = closeOf(srv.taps, "a1");
      assert.equal(close?.reason, "slow-consumer");
      assert.equal(close?.transport, "ajax");
      for (let i = 0; i < 20; i++) srv.chsk.send("ua1", ev(i));
      assert.equal(srv.errors.length, 1);

      // Another Ajax client is unaffected.
      const poll = ajaxGet(srv.base, "client-id=b1&uid=ub1");
      await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.uid === "ub1");
      srv.chsk.send("ub1", ["my/hi", 2]);
      assert.equal((await poll).body, "[[[:my/hi 2]] nil]");

      // If a1 ever polls again, it starts over with a handshake.
      const again = await ajaxGet(srv.base, "client-id=a1&uid=ua1");
      assert.match(again.body, /:chsk\/handshake \["ua1"/);
      // Its dropped frames were not reported again as missed pushes.
      assert.deepEqual(
        srv.errors.map((x) => x.code),
        ["CHSK_ERR_SLOW_CONSUMER"],
      );
    } finally {
      await srv.stop();
    }
  });
});

describe("POST body timeout", () => {
  const head = (len: number) =>
    `POST /chsk?client-id=t1&uid=ut1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${len}\r\n\r\n`;

  it("a body trickled in is cut at bodyTimeoutMs: 408 CHSK_ERR_BODY_TIMEOUT, connection closed", async () => {
    const srv = await startServer({ bodyTimeoutMs: 300 });
    try {
      const body = "ppstr=" + encodeURIComponent("[[:my/ev 1]]") + "&client-id=t1";
      const c = new RawHttp(srv.port);
      c.write(head(body.length));
      c.trickle(body, 50);
      await withTimeout(c.closed, 10_000, "the server to close the trickling connection");
      assert.equal(c.status, 408);
      assert.match(c.received, /\r\nconnection: close\r\n/i);
      assert.match(c.received, /\r\n\r\nCHSK_ERR_BODY_TIMEOUT: /);
      assert.deepEqual(
        srv.errors.map((e) => [e.code, e.status]),
        [["CHSK_ERR_BODY_TIMEOUT", 408]],
      );
      // Never routed.
      assert.ok(!srv.events.some((m) => m.id === "my/ev"));
      // A body sent at once is untouched.
      const ok = await ajaxPost(srv.base, { ppstr: "[[:my/ev 2]]", "client-id": "t2" }, { query: "uid=ut2" });
      assert.equal(ok.body, "[:chsk/dummy-cb-200 nil]");
    } finally {
      await srv.stop();
    }
  });

  it("does not touch a held long-poll longer than it (the poll's request is complete)", async () => {
    const srv = await startServer({ bodyTimeoutMs: 100, lpTimeoutMs: 600 });
    try {
      await ajaxGet(srv.base, "client-id=h1&uid=uh1&handshake%3F=1");
      assert.equal((await ajaxGet(srv.base, "client-id=h1&uid=uh1")).body, "[:chsk/timeout nil]");
      assert.deepEqual(srv.errors, []);
    } finally {
      await srv.stop();
    }
  });

  it("close() answers a body still arriving with 503 and closes its connection", async () => {
    const srv = await startServer({ bodyTimeoutMs: 60_000 });
    try {
      // chsk's request listener runs first: once this one fires, chsk is reading the body.
      const reading = new Promise((resolve) => srv.http.once("request", resolve));
      const c = new RawHttp(srv.port);
      c.write(head(100));
      c.write("ppstr=");
      await withTimeout(reading, 5000, "the request");
      await srv.chsk.close();
      await withTimeout(c.closed, 5000, "the connection to close");
      assert.equal(c.status, 503);
    } finally {
      await srv.stop();
    }
  });
});
