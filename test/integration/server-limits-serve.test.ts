/**
 * `chsk serve`'s side of the limits: `/api/stats` counters against known
 * traffic (exact numbers), and the HTTP server's header / request / keep-
 * alive / idle timeouts with real trickling clients over raw TCP, both
 * in-process (`startReferenceServer`) and through the real CLI flags.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { type ReferenceServer, startReferenceServer } from "../../src/server/demo/app.js";
import type { StatsSnapshot } from "../../src/server/demo/stats.js";
import { runCli, serve } from "../e2e/cli.js";
import { ajaxGet, ajaxPost, Peer, RawHttp, until, withTimeout } from "./server-helpers.js";

const bytes = (s: string) => Buffer.byteLength(s);
const sum = (xs: string[]) => xs.reduce((n, s) => n + bytes(s), 0);

async function loginCookie(app: ReferenceServer, uid: string): Promise<string> {
  const res = await fetch(`${app.url}/login`, { method: "POST", body: new URLSearchParams({ uid }) });
  assert.equal(res.status, 200);
  await res.text();
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}

async function open(app: ReferenceServer, clientId: string, cookie?: string): Promise<Peer> {
  const p = new Peer(app.port, `client-id=${clientId}`, cookie ? { cookie } : {});
  await withTimeout(p.opened, 3000, "ws open");
  return p;
}

const delta = (a: StatsSnapshot, b: StatsSnapshot) => ({
  framesIn: b.frames.in - a.frames.in,
  framesOut: b.frames.out - a.frames.out,
  bytesIn: b.bytes.in - a.bytes.in,
  bytesOut: b.bytes.out - a.bytes.out,
  eventsIn: b.events.in - a.events.in,
  replies: b.events.replies - a.events.replies,
  errors: b.errors - a.errors,
  slowConsumers: b.slowConsumers - a.slowConsumers,
  refused: b.refused - a.refused,
});

describe("/api/stats counts known traffic exactly", () => {
  it("N good frames, M bad frames from K clients, missed pushes, a slow consumer", async () => {
    const app = await startReferenceServer({
      port: 0,
      csrf: false,
      // Nothing timed may fire while counting: no server pings, no grace expiry.
      serverOptions: { wsKaliveMs: 600_000, msAllowReconnectBeforeCloseWs: 600_000, maxBufferedBytesPerClient: 64 * 1024, sendBufMsWs: 0 },
    });
    try {
      // --- Phase 1: K WS clients, each 2 requests (replied) + 2 plain events, then 1 bad frame.
      const K = 3;
      const s0 = app.stats();
      const sentIn: string[] = [];
      const gotOut: string[] = [];
      for (let k = 0; k < K; k++) {
        const p = await open(app, `k${k}`);
        gotOut.push(await p.next()); // handshake
        for (let i = 0; i < 2; i++) {
          const req = `[[:demo/echo {:k ${k} :i ${i}}] "cb${i}"]`;
          p.send(req);
          sentIn.push(req);
          gotOut.push(await p.next());
          const ev = `[[:demo/nothing ${k}${i}]]`;
          p.send(ev);
          sentIn.push(ev);
        }
        const bad = "[[:demo/echo {:unclosed";
        p.send(bad);
        sentIn.push(bad);
        assert.equal((await withTimeout(p.closed, 3000, "close")).code, 1002);
      }
      // Ajax: a handshake, a good POST wanting a reply, a good POST without, a bad POST.
      const hs = await ajaxGet(app.url, "client-id=aj&handshake%3F=1");
      gotOut.push(hs.body);
      const posts = ["[[:demo/echo 7] \"cb\"]", "[[:demo/nothing 8]]"];
      for (const ppstr of posts) {
        gotOut.push((await ajaxPost(app.url, { ppstr, "client-id": "aj" })).body);
        sentIn.push(ppstr);
      }
      const badPost = await ajaxPost(app.url, { ppstr: "[[:demo/echo", "client-id": "aj" });
      assert.equal(badPost.status, 400);
      sentIn.push("[[:demo/echo");
      const d1 = delta(s0, app.stats());
      const good = K * 4 + posts.length;
      const bad = K + 1;
      assert.deepEqual(d1, {
        framesIn: good + bad,
        framesOut: gotOut.length,
        bytesIn: sum(sentIn),
        bytesOut: sum(gotOut),
        // Every good frame is routed, plus the anonymous user's one uidport-open.
        eventsIn: good + 1,
        replies: K * 2 + 1,
        errors: bad,
        slowConsumers: 0,
        // The bad POST was answered 400: a refusal (and an error, counted there once).
        refused: 1,
      });

      // --- Phase 2: 20 pushes to a user whose only tab left: one missed-push error, not 20.
      const goneCookie = await loginCookie(app, "gone");
      const gone = await open(app, "gone1", goneCookie);
      await gone.next();
      gone.close();
      await gone.closed;
      await until(() => app.chsk.clients().some((c) => c.clientId === "gone1" && !c.connected), 3000, "the tab to close");
      const s1 = app.stats();
      for (let i = 0; i < 20; i++) app.chsk.send("gone", ["demo/missed", i], { flush: true });
      // The kept frames expire after Sente's retry window (2-4 s).
      await until(() => app.stats().errors > s1.errors, 8000, "the missed-push report");
      await until(() => app.chsk.clients().some((c) => c.clientId === "gone1"), 100, "still in its grace period");
      assert.deepEqual(delta(s1, app.stats()), { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, eventsIn: 0, replies: 0, errors: 1, slowConsumers: 0, refused: 0 });

      // --- Phase 3: a slow consumer: counted once in slowConsumers and once in errors.
      const slowCookie = await loginCookie(app, "slowpoke");
      const slow = await open(app, "slow1", slowCookie);
      await slow.next();
      (slow.ws as unknown as { _socket: Socket })._socket.pause();
      const s2 = app.stats();
      const pad = "p".repeat(64 * 1024);
      for (let i = 0; i < 2000 && app.stats().slowConsumers === s2.slowConsumers; i++) app.chsk.send("slowpoke", ["demo/big", pad]);
      const d3 = delta(s2, app.stats());
      assert.equal(d3.slowConsumers, 1);
      assert.equal(d3.errors, 1);
      for (let i = 0; i < 20; i++) app.chsk.send("slowpoke", ["demo/big", pad]);
      const viaHttp = (await (await fetch(`${app.url}/api/stats`)).json()) as StatsSnapshot;
      assert.equal(viaHttp.slowConsumers, s2.slowConsumers + 1);
      assert.equal(viaHttp.errors, s2.errors + 1);
      assert.equal(d3.refused, 0);
      slow.ws.terminate();

      // --- Phase 4: refusals: each counted once in refused; in errors only when a peer's error caused it.
      const s3 = app.stats();
      const noId = new Peer(app.port, "");
      await assert.rejects(noId.opened, { status: 400 });
      const put = await fetch(`${app.url}/chsk?client-id=p1`, { method: "PUT" });
      assert.equal(put.status, 405);
      await put.text();
      await until(() => app.stats().refused === s3.refused + 2, 3000, "two refusals counted");
      assert.deepEqual(delta(s3, app.stats()), { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, eventsIn: 0, replies: 0, errors: 1, slowConsumers: 0, refused: 2 });
    } finally {
      await app.close();
    }
  });
});

describe("chsk serve HTTP timeouts", () => {
  it("headers, request body, keep-alive: each cut with its timeout; a poll held longer than requestTimeoutMs is not", async () => {
    const app = await startReferenceServer({
      port: 0,
      csrf: false,
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      keepAliveTimeoutMs: 100,
      idleTimeoutMs: 2500,
      serverOptions: { lpTimeoutMs: 1200 },
    });
    const clients: RawHttp[] = [];
    const raw = () => {
      const c = new RawHttp(app.port);
      clients.push(c);
      return c;
    };
    try {
      // Headers trickled a byte at a time: Node's headersTimeout answers 408 and closes.
      const slowHeaders = raw();
      slowHeaders.trickle("GET /csrf HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(200) + "\r\n\r\n", 20);
      // A body trickled to /login: the requestTimeout.
      const slowBody = raw();
      slowBody.write("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n");
      slowBody.trickle("uid=" + "b".repeat(196), 20);
      // Dozens of them: all released.
      const many = Array.from({ length: 30 }, () => {
        const c = raw();
        c.trickle("GET /api/stats HTTP/1.1\r\nHost: x\r\n" + "c".repeat(500), 50);
        return c;
      });
      // Meanwhile a long-poll held for lpTimeoutMs (> requestTimeoutMs) is answered normally.
      await ajaxGet(app.url, "client-id=lp&handshake%3F=1");
      const poll = await ajaxGet(app.url, "client-id=lp");
      assert.equal(poll.status, 200);
      assert.equal(poll.body, "[:chsk/timeout nil]");

      await withTimeout(Promise.all([slowHeaders.closed, slowBody.closed, ...many.map((c) => c.closed)]), 10_000, "the slow requests to be cut");
      for (const c of [slowHeaders, slowBody, ...many]) assert.equal(c.status, 408, c.received);

      // Keep-alive: an idle connection is closed after its answer (Node adds 1 s).
      const ka = raw();
      ka.write("GET /csrf HTTP/1.1\r\nHost: x\r\n\r\n");
      await withTimeout(ka.closed, 5000, "the idle keep-alive connection to close");
      assert.equal(ka.status, 200);
    } finally {
      for (const c of clients) c.destroy();
      await app.close();
    }
  });

  it("the idle timeout cuts a silent connection; WebSockets are exempt", async () => {
    const app = await startReferenceServer({
      port: 0,
      csrf: false,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 1200,
      serverOptions: { lpTimeoutMs: 200, wsKaliveMs: 2000 },
    });
    const silent = new RawHttp(app.port);
    try {
      // Sends nothing: not the headers timeout (60 s, and it would answer 408), the idle one (no answer).
      await withTimeout(silent.closed, 5000, "the silent connection to be cut");
      assert.equal(silent.received, "");
      // A WebSocket idle past idleTimeoutMs still gets the server's keep-alive ping at wsKaliveMs.
      const p = new Peer(app.port, "client-id=w1");
      await withTimeout(p.opened, 3000, "ws open");
      await p.next();
      assert.equal(await p.next(5000), "[:chsk/ws-ping nil]");
      p.close();
    } finally {
      silent.destroy();
      await app.close();
    }
  });

  it("timeouts that contradict each other are refused", async () => {
    await assert.rejects(startReferenceServer({ port: 0, headersTimeoutMs: 5000, requestTimeoutMs: 1000 }), RangeError);
    await assert.rejects(startReferenceServer({ port: 0, idleTimeoutMs: 20_500 }), /lpTimeoutMs/);
    await assert.rejects(startReferenceServer({ port: 0, keepAliveTimeoutMs: 0 }), RangeError);
  });
});

describe("chsk serve timeout flags", () => {
  it("--headers-timeout-ms reaches the HTTP server; contradicting flags are a usage error", async () => {
    const srv = await serve(["--quiet", "--headers-timeout-ms", "300", "--request-timeout-ms", "600", "--body-timeout-ms", "500", "--max-buffered-bytes", "65536"]);
    const c = new RawHttp(srv.port);
    try {
      c.write("GET /csrf HTTP/1.1\r\nHost: x\r\n");
      await withTimeout(c.closed, 10_000, "the server to cut the unfinished headers");
      assert.equal(c.status, 408);
    } finally {
      c.destroy();
      assert.equal((await srv.stop()).code, 0);
    }
    const bad = await runCli(["serve", "--port", "0", "--headers-timeout-ms", "5000", "--request-timeout-ms", "1000"], 30_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /headersTimeoutMs \(5000\) must not exceed requestTimeoutMs \(1000\)/);
  });
});
