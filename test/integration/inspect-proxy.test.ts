/**
 * The inspector's proxy source in front of a real reference server
 * (`startReferenceServer`, the app `chsk serve` runs, with its web UI and a
 * few test routes): real chsk Node clients on WS and forced Ajax go
 * through it, several at once. The app's own tap is the oracle: every frame
 * the server saw or sent must be reported by the proxy, with the same
 * bytes, direction, channel and client id. Everything else (pages, assets,
 * the dashboard's SSE stream, redirects, cookies, refusals, uploads,
 * downloads, other upgrades) must pass through unchanged.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { type Duplex, Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createGunzip } from "node:zlib";
import { request } from "undici";
import WebSocket, { WebSocketServer } from "ws";
import { bootstrapSession, type Client, createClient } from "../../src/core/client/index.node.js";
import { kw, type WireEvent } from "../../src/core/index.js";
import { createProxySource, type ProxySource } from "../../src/inspector/sources/proxy.js";
import { type ReferenceServer, startReferenceServer, type WebHook } from "../../src/server/demo/app.js";
import { webUi } from "../../src/server/demo/web/index.js";
import type { ServerTapEvent } from "../../src/server/types.js";
import { until, withTimeout } from "./server-helpers.js";

const SECRET = "inspect-proxy-test-secret-0123456789";
const DASHBOARD_TOKEN = "proxy-test-dashboard-token";

/** A promise with its resolver, for handshakes between a test and a route. */
interface Signal {
  promise: Promise<void>;
  resolve(): void;
}
function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Routes the reference app doesn't have, added through its `web` hook:
 * redirects, a header echo, a download and an upload that each wait for the
 * other side (so a proxy that buffered would deadlock), and a WS echo on a
 * path other than the channel's.
 */
function testRoutes(state: { appUrl: string; downloadSeen: Signal; uploadFirstChunk: Signal }) {
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
  const handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/test/abs-redirect") {
      res.writeHead(302, { location: `${state.appUrl}/test/landing?x=1#top`, "content-length": 0 });
      res.end();
    } else if (path === "/test/foreign-redirect") {
      res.writeHead(302, { location: "http://example.invalid/elsewhere", "content-length": 0 });
      res.end();
    } else if (path === "/test/headers") {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    } else if (path === "/test/download") {
      // 4 MiB: the first 64 KiB, then (once the client says it has them) the rest, in pieces.
      const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 64 * 64 * 1024 });
      res.write(chunks[0]);
      void state.downloadSeen.promise.then(async () => {
        for (const c of chunks.slice(1)) {
          if (!res.write(c)) await new Promise((r) => res.once("drain", r));
          await new Promise((r) => setTimeout(r, 1));
        }
        res.end();
      });
    } else if (path === "/test/upload") {
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        if (bytes === 0) state.uploadFirstChunk.resolve();
        bytes += c.length;
        hash.update(c);
      });
      req.on("end", () => {
        const body = JSON.stringify({ bytes, sha256: hash.digest("hex") });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    } else return false;
    return true;
  };
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    if ((req.url ?? "").split("?")[0] !== "/test/ws") return false;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    return true;
  };
  return { handleRequest, handleUpgrade, close: () => new Promise<void>((r) => wss.close(() => r())) };
}

/** The reference app with its web UI plus {@link testRoutes}. */
async function startApp(state: Parameters<typeof testRoutes>[0]): Promise<ReferenceServer> {
  const routes = testRoutes(state);
  const app = await startReferenceServer({
    port: 0,
    sessionSecret: SECRET,
    dashboardToken: DASHBOARD_TOKEN,
    web: async (ctx) => {
      const ui = await webUi()(ctx);
      const hook: WebHook = {
        handleRequest: (req, res) => routes.handleRequest(req, res) || ui.handleRequest(req, res),
        handleUpgrade: (req, socket, head) => routes.handleUpgrade(req, socket, head) || (ui.handleUpgrade?.(req, socket, head) ?? false),
        close: async () => {
          await routes.close();
          await ui.close?.();
        },
      };
      return hook;
    },
  });
  state.appUrl = app.url;
  return app;
}

/** A logged-in chsk client through `base` (the proxy), open. */
async function openClient(base: string, uid: string, type: "ws" | "ajax"): Promise<Client> {
  const session = await bootstrapSession({ url: `${base}/chsk`, login: uid });
  const client = createClient({ url: `${base}/chsk`, type, csrfToken: session.csrfToken, headers: session.headers, wsKaliveMs: 60_000 });
  await withTimeout(client.whenOpen(), 5000, `${uid}'s ${type} client to open`);
  return client;
}

const text = (d: string | Uint8Array) => (typeof d === "string" ? d : `bytes:${Buffer.from(d).toString("base64")}`);

/** A frame as both the server's tap and the proxy report it. */
function serverKey(e: ServerTapEvent): string | undefined {
  if (e.type === "frame:in") return `${e.transport} ${e.channel} c2s ${e.clientId} ${text(e.data)}`;
  if (e.type === "frame:out") return `${e.transport} ${e.channel} s2c ${e.clientId} ${text(e.data)}`;
  return undefined;
}
function proxyKey(e: WireEvent): string | undefined {
  return e.type === "frame" ? `${e.transport} ${e.channel} ${e.dir} ${e.clientId} ${text(e.data)}` : undefined;
}
const sorted = (keys: (string | undefined)[]) => keys.filter((k): k is string => k !== undefined).sort();

describe("inspect proxy in front of the reference server", () => {
  const state = { appUrl: "", downloadSeen: signal(), uploadFirstChunk: signal() };
  let app: ReferenceServer;
  let proxy: ProxySource;
  let base: string;
  const events: WireEvent[] = [];
  const serverTaps: ServerTapEvent[] = [];

  before(async () => {
    app = await startApp(state);
    app.chsk.tap((e) => serverTaps.push(e));
    proxy = createProxySource({ target: app.url, listen: "127.0.0.1:0" });
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    base = proxy.url!;
  });
  after(async () => {
    await proxy.close();
    await app.close();
  });

  test("listening on port 0 reports the bound address", () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(proxy.address?.port, 0);
    assert.equal(proxy.kind, "proxy");
    assert.match(proxy.label, new RegExp(`:${proxy.address!.port} → ${app.url}$`));
  });

  test("WS and Ajax clients, several at once: replies and pushes unchanged, every frame reported as the server saw it", async () => {
    const from = events.length;
    const tapFrom = serverTaps.length;
    const clients = await Promise.all([
      openClient(base, "alice", "ws"),
      openClient(base, "alice", "ws"),
      openClient(base, "alice", "ajax"),
      openClient(base, "bob", "ws"),
      openClient(base, "bob", "ajax"),
    ]);
    try {
      const pushes = clients.map(() => [] as unknown[]);
      clients.forEach((c, i) => c.on("recv", (ev) => pushes[i]!.push(ev)));
      // Echoes from every client at once, several each.
      const replies = await Promise.all(
        clients.flatMap((c, i) => [1, 2, 3].map((n) => c.send(["demo/echo", { client: i, n, s: "é✓" }], { timeoutMs: 5000 }))),
      );
      assert.deepEqual(
        replies,
        clients.flatMap((_, i) => [1, 2, 3].map((n) => ({ client: i, n, s: "é✓" }))),
      );
      // A push to alice reaches her three clients (WS and Ajax), none of bob's.
      assert.deepEqual(await clients[3]!.send(["demo/push", { uid: "alice", event: ["demo/hello", { to: "alice" }] }], { timeoutMs: 5000 }), kw("ok"));
      await until(() => [0, 1, 2].every((i) => pushes[i]!.length === 1), 5000, "alice's clients to get the push");
      for (const i of [0, 1, 2]) assert.deepEqual(pushes[i], [["demo/hello", { to: "alice" }]]);
      assert.deepEqual([pushes[3], pushes[4]], [[], []]);

      // Every frame the server saw or sent, the proxy reported: same bytes, direction, channel, client.
      const want = () => sorted(serverTaps.slice(tapFrom).map(serverKey));
      const got = () => sorted(events.slice(from).map(proxyKey));
      await until(() => JSON.stringify(got()) === JSON.stringify(want()), 5000, "the proxy's frames to match the server's").catch((e: Error) => {
        assert.deepEqual(got(), want(), e.message);
      });
      const mine = events.slice(from);
      const ids = new Set(clients.map((c) => c.clientId));
      // One `open` per WS socket, with its client id and its own connId.
      const wsOpens = mine.filter((e) => e.type === "open" && e.transport === "ws");
      assert.deepEqual(wsOpens.map((e) => e.clientId).sort(), [0, 1, 3].map((i) => clients[i]!.clientId).sort());
      assert.equal(new Set(wsOpens.map((e) => e.connId)).size, 3);
      // One `open` per Ajax client id, at its first request.
      const ajaxOpens = mine.filter((e) => e.type === "open" && e.transport === "ajax");
      assert.deepEqual(ajaxOpens.map((e) => e.clientId).sort(), [2, 4].map((i) => clients[i]!.clientId).sort());
      // Each WS frame carries its socket's connId.
      const wsConn = new Map(wsOpens.map((e) => [e.clientId, e.connId]));
      for (const e of mine) if (e.type === "frame" && e.transport === "ws") assert.equal(e.connId, wsConn.get(e.clientId));
      for (const e of mine) if (e.type !== "refused") assert.ok(ids.has(e.clientId!), `an event of a client of this test: ${JSON.stringify(e)}`);
      // Each Ajax POST and its answer share a connId; polls carry their status and timing.
      const posts = mine.filter((e) => e.type === "frame" && e.channel === "post");
      assert.equal(posts.length, 6, "3 echoes from each Ajax client (bob's push went over WS)");
      for (const p of posts) {
        const answers = mine.filter((e) => e.type === "frame" && e.channel === "post-reply" && e.connId === p.connId);
        assert.equal(answers.length, 1, `one answer for POST ${p.connId}`);
        const a = answers[0] as Extract<WireEvent, { type: "frame" }>;
        assert.equal(a.status, 200);
        assert.ok(a.requestAt! <= a.at && a.at >= (p as { at: number }).at);
      }
      const polls = mine.filter((e): e is Extract<WireEvent, { type: "frame" }> => e.type === "frame" && e.channel === "poll");
      assert.ok(polls.some((p) => p.handshake === true && /chsk\/handshake/.test(String(p.data))));
      assert.ok(polls.some((p) => p.handshake !== true && /demo\/hello/.test(String(p.data))), "alice's Ajax client got the push on a poll");
      for (const p of polls) assert.ok(p.status === 200 && typeof p.requestAt === "number" && p.requestAt <= p.at);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    // Closing: a close frame each way per WS socket, with its code.
    await until(() => events.slice(from).filter((e) => e.type === "close").length >= 6, 5000, "the close frames");
    const closes = events.slice(from).filter((e): e is Extract<WireEvent, { type: "close" }> => e.type === "close");
    assert.deepEqual(closes.map((c) => c.dir).sort(), ["c2s", "c2s", "c2s", "s2c", "s2c", "s2c"]);
    for (const c of closes) assert.equal(c.code, 1000);
  });

  test("pages and assets pass through byte for byte, gzip included", async () => {
    for (const path of ["/", "/chsk-client.js", "/favicon.svg", "/api/stats", "/nope"]) {
      const direct = await request(`${app.url}${path}`, { headers: { "accept-encoding": "gzip" } });
      const proxied = await request(`${base}${path}`, { headers: { "accept-encoding": "gzip" } });
      const [d, p] = [Buffer.from(await direct.body.arrayBuffer()), Buffer.from(await proxied.body.arrayBuffer())];
      assert.equal(proxied.statusCode, direct.statusCode, path);
      assert.equal(proxied.headers["content-type"], direct.headers["content-type"], path);
      assert.equal(proxied.headers["content-encoding"], direct.headers["content-encoding"], path);
      if (path !== "/api/stats") assert.ok(p.equals(d), `${path}: same bytes`);
    }
  });

  test("the dashboard's SSE feed streams through (gzip, never buffered)", async () => {
    const res = await request(`${base}/dashboard/events`, {
      headers: { "accept-encoding": "gzip", authorization: `Bearer ${DASHBOARD_TOKEN}` },
    });
    try {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      assert.equal(res.headers["content-encoding"], "gzip");
      // The stream never ends: whatever arrives did so while it was open.
      const gunzip = createGunzip();
      res.body.pipe(gunzip);
      let got = "";
      gunzip.on("data", (c: Buffer) => (got += c.toString()));
      await until(() => /retry: 2000/.test(got) && /event: hello/.test(got), 5000, "the feed's first events");
    } finally {
      res.body.destroy();
    }
  });

  test("redirects: relative and foreign Locations kept, the app's own origin pointed at the proxy", async () => {
    const link = await request(`${base}/dashboard?token=${DASHBOARD_TOKEN}`);
    await link.body.dump();
    assert.equal(link.statusCode, 303);
    assert.equal(link.headers["location"], "/dashboard");
    assert.match(String(link.headers["set-cookie"]), /^chsk-dashboard-token=.+; Path=\/; HttpOnly; SameSite=Strict$/);

    const abs = await request(`${base}/test/abs-redirect`);
    await abs.body.dump();
    assert.equal(abs.statusCode, 302);
    assert.equal(abs.headers["location"], `${base}/test/landing?x=1#top`);

    const foreign = await request(`${base}/test/foreign-redirect`);
    await foreign.body.dump();
    assert.equal(foreign.headers["location"], "http://example.invalid/elsewhere");
  });

  test("cookies from /login pass unchanged and work through the proxy", async () => {
    const login = await request(`${base}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "uid=carol",
    });
    const body = (await login.body.json()) as { uid: string; csrfToken: string };
    assert.equal(login.statusCode, 200);
    assert.equal(body.uid, "carol");
    const cookie = String(login.headers["set-cookie"]);
    assert.match(cookie, /^chsk-session=v1\.[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const csrf = await request(`${base}/csrf`, { headers: { cookie: cookie.split(";")[0]! } });
    assert.deepEqual(await csrf.body.json(), { uid: "carol", csrfToken: body.csrfToken });
  });

  test("a CSRF refusal reaches the client unchanged and is reported as refused (Ajax and WS)", async () => {
    const from = events.length;
    const session = await bootstrapSession({ url: `${base}/chsk`, login: "dave" });
    const clientId = "11111111-2222-3333-4444-555555555555";
    const poll = await request(`${base}/chsk?client-id=${clientId}&handshake%3F=1`, {
      headers: { ...session.headers, "x-csrf-token": "wrong" },
    });
    assert.equal(poll.statusCode, 403);
    assert.equal(await poll.body.text(), "Bad CSRF token");

    const ws = new WebSocket(`${base.replace("http", "ws")}/chsk?client-id=${clientId}&csrf-token=wrong`, { headers: session.headers });
    ws.on("error", () => {});
    const refusal = await withTimeout(
      new Promise<{ status: number; body: string }>((resolve) =>
        ws.once("unexpected-response", (_req, res) => {
          let b = "";
          res.on("data", (c: Buffer) => (b += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
        }),
      ),
      5000,
      "the refused upgrade",
    );
    assert.deepEqual(refusal, { status: 403, body: "Bad CSRF token" });

    await until(() => events.slice(from).filter((e) => e.type === "refused").length === 2, 3000, "two refusals");
    const refused = events.slice(from).filter((e) => e.type === "refused");
    assert.deepEqual(
      refused.map((e) => ({ ...e, at: 0, connId: "" })),
      [
        { type: "refused", at: 0, transport: "ajax", connId: "", clientId, status: 403, body: "Bad CSRF token", code: "CHSK_ERR_BAD_CSRF" },
        { type: "refused", at: 0, transport: "ws", connId: "", clientId, status: 403, body: "Bad CSRF token", code: "CHSK_ERR_BAD_CSRF" },
      ],
    );
    assert.equal(events.slice(from).filter((e) => e.type === "frame").length, 0);
  });

  test("a WebSocket on another path is relayed raw (text and binary) and not reported", async () => {
    const from = events.length;
    const ws = new WebSocket(`${base.replace("http", "ws")}/test/ws`);
    await withTimeout(new Promise((r, j) => ws.once("open", r).once("error", j)), 5000, "ws open");
    const got: { data: Buffer; binary: boolean }[] = [];
    ws.on("message", (data: Buffer, binary) => got.push({ data, binary }));
    const bin = randomBytes(70_000);
    ws.send("hello ✓");
    ws.send(bin);
    await until(() => got.length === 2, 5000, "two echoes");
    assert.deepEqual(got[0], { data: Buffer.from("hello ✓"), binary: false });
    assert.ok(got[1]!.binary && got[1]!.data.equals(bin));
    ws.close(4000, "bye");
    const closed = await new Promise<number>((r) => ws.once("close", (code) => r(code)));
    assert.equal(closed, 4000);
    assert.deepEqual(events.slice(from), []);
  });

  test("a large download streams through as it is produced", async () => {
    const res = await request(`${base}/test/download`);
    assert.equal(res.statusCode, 200);
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of res.body) {
      // The route sends the rest only once the first 64 KiB got here: a buffering proxy would stall it.
      if (bytes === 0) state.downloadSeen.resolve();
      bytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    const want = createHash("sha256");
    for (let i = 0; i < 64; i++) want.update(Buffer.alloc(64 * 1024, i));
    assert.equal(bytes, 64 * 64 * 1024);
    assert.equal(hash.digest("hex"), want.digest("hex"));
  });

  test("a request body streams through as it is sent", async () => {
    const first = randomBytes(1000);
    const rest = randomBytes(3 * 1024 * 1024);
    async function* body() {
      yield first;
      // The rest goes only once the app has the first chunk: a proxy that read the whole body first would stall.
      await withTimeout(state.uploadFirstChunk.promise, 5000, "the app to see the first chunk");
      yield rest;
    }
    const res = await request(`${base}/test/upload`, { method: "POST", body: Readable.from(body()) });
    assert.deepEqual(await res.body.json(), {
      bytes: first.length + rest.length,
      sha256: createHash("sha256").update(first).update(rest).digest("hex"),
    });
  });

  test("headers: the app sees its own Host and Origin, X-Forwarded-* say where the request came from", async () => {
    const proxyHost = new URL(base).host;
    const res = await request(`${base}/test/headers`, {
      headers: { origin: base, referer: `${base}/page?q=1`, cookie: "a=b", "x-csrf-token": "tok" },
    });
    const h = (await res.body.json()) as Record<string, string>;
    assert.equal(h["host"], new URL(app.url).host);
    assert.equal(h["origin"], app.url);
    assert.equal(h["referer"], `${app.url}/page?q=1`);
    assert.equal(h["cookie"], "a=b");
    assert.equal(h["x-csrf-token"], "tok");
    assert.equal(h["x-forwarded-host"], proxyHost);
    assert.equal(h["x-forwarded-proto"], "http");
    assert.equal(h["x-forwarded-for"], "127.0.0.1");
    // A foreign Origin goes as it came: a cross-site request stays cross-site.
    const foreign = await request(`${base}/test/headers`, { headers: { origin: "http://evil.example" } });
    assert.equal(((await foreign.body.json()) as Record<string, string>)["origin"], "http://evil.example");
  });
});

describe("inspect proxy: options and edges", () => {
  test("preserveHost forwards Host, Origin and Referer as the browser sent them", async () => {
    const state = { appUrl: "", downloadSeen: signal(), uploadFirstChunk: signal() };
    const app = await startApp(state);
    const proxy = createProxySource({ target: app.url, listen: { host: "127.0.0.1", port: 0 }, preserveHost: true });
    await proxy.start();
    try {
      const res = await request(`${proxy.url}/test/headers`, { headers: { origin: proxy.url!, referer: `${proxy.url}/x` } });
      const h = (await res.body.json()) as Record<string, string>;
      assert.equal(h["host"], new URL(proxy.url!).host);
      assert.equal(h["origin"], proxy.url);
      assert.equal(h["referer"], `${proxy.url}/x`);
    } finally {
      await proxy.close();
      await app.close();
    }
  });

  test("an origin allow-list written for the app passes through the proxy; a foreign origin is refused and reported", async () => {
    // The allow-list names the app's own origin, so it needs the app's port first.
    const probe = createHttpServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const guarded = await startReferenceServer({ port, sessionSecret: SECRET, csrf: false, allowedOrigins: [`http://127.0.0.1:${port}`] });
    const proxy = createProxySource({ target: guarded.url, listen: "127.0.0.1:0" });
    const events: WireEvent[] = [];
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    try {
      // A page served by the proxy sends the proxy's origin, as a browser would.
      const client = createClient({ url: `${proxy.url}/chsk`, type: "ws", headers: { origin: proxy.url! }, wsKaliveMs: 60_000 });
      await withTimeout(client.whenOpen(), 5000, "the client behind the allow-list to open");
      assert.deepEqual(await client.send(["demo/echo", 1], { timeoutMs: 5000 }), 1);
      await client.close();
      const evil = await request(`${proxy.url}/chsk?client-id=c-evil&handshake%3F=1`, { headers: { origin: "http://evil.example" } });
      assert.equal(evil.statusCode, 403);
      assert.equal(await evil.body.text(), "Unauthorized origin");
      await until(() => events.some((e) => e.type === "refused"), 3000, "the refusal");
      const r = events.find((e) => e.type === "refused") as Extract<WireEvent, { type: "refused" }>;
      assert.deepEqual([r.transport, r.status, r.code, r.clientId], ["ajax", 403, "CHSK_ERR_BAD_ORIGIN", "c-evil"]);
    } finally {
      await proxy.close();
      await guarded.close();
    }
  });

  test("payloads over maxDecodeBytes pass through and are reported as too large; later frames still decode", async () => {
    const app = await startReferenceServer({ port: 0, sessionSecret: SECRET });
    const taps: ServerTapEvent[] = [];
    app.chsk.tap((e) => taps.push(e));
    const proxy = createProxySource({ target: app.url, listen: "127.0.0.1:0", maxDecodeBytes: 4096 });
    const events: WireEvent[] = [];
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    const clients = [await openClient(proxy.url!, "erin", "ws"), await openClient(proxy.url!, "erin", "ajax")];
    try {
      for (const c of clients) {
        const big = "x".repeat(20_000);
        assert.equal(await c.send(["demo/echo", big], { timeoutMs: 5000 }), big);
        assert.equal(await c.send(["demo/echo", "small"], { timeoutMs: 5000 }), "small");
      }
      const frames = () =>
        events.filter((e): e is Extract<WireEvent, { type: "frame" }> => e.type === "frame" && e.channel !== "poll" && !String(e.data).includes("chsk/handshake"));
      await until(() => frames().length === 8, 5000, "8 frames (2 calls and 2 replies per client)");
      const tooLarge = frames().filter((f) => f.error !== undefined);
      assert.equal(tooLarge.length, 4);
      for (const f of tooLarge) {
        assert.equal(f.error!.code, "CHSK_ERR_FRAME_TOO_LARGE");
        assert.equal(f.data, "");
        assert.ok(f.bytes! > 20_000);
      }
      assert.deepEqual(
        frames().filter((f) => f.error === undefined).map((f) => `${f.channel} ${f.dir} ${String(f.data).replace(/"[0-9a-f]{6}"/, "CB")}`),
        ['ws c2s [[:demo/echo "small"] CB]', 'ws s2c ["small" CB]', 'post c2s [[:demo/echo "small"] :ajax]', 'post-reply s2c ["small" nil]'],
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await proxy.close();
      await app.close();
    }
  });

  test("binary frames (msgpack) are reported as bytes, as the server saw them", async () => {
    const app = await startReferenceServer({ port: 0, sessionSecret: SECRET, packer: "msgpack" });
    const taps: ServerTapEvent[] = [];
    app.chsk.tap((e) => taps.push(e));
    const proxy = createProxySource({ target: app.url, listen: "127.0.0.1:0" });
    const events: WireEvent[] = [];
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    const { packerByName } = await import("../../src/core/packers/index.js");
    const clients: Client[] = [];
    try {
      for (const type of ["ws", "ajax"] as const) {
        const session = await bootstrapSession({ url: `${proxy.url}/chsk`, login: "frank" });
        const c = createClient({ url: `${proxy.url}/chsk`, type, packer: packerByName("msgpack"), csrfToken: session.csrfToken, headers: session.headers, wsKaliveMs: 60_000 });
        clients.push(c);
        await withTimeout(c.whenOpen(), 5000, `msgpack ${type} client`);
        assert.deepEqual(await c.send(["demo/echo", { n: 1 }], { timeoutMs: 5000 }), { n: 1 });
      }
      const want = () => sorted(taps.map(serverKey));
      const got = () => sorted(events.map(proxyKey));
      await until(() => JSON.stringify(got()) === JSON.stringify(want()), 5000, "msgpack frames to match").catch((e: Error) => assert.deepEqual(got(), want(), e.message));
      const frames = events.filter((e): e is Extract<WireEvent, { type: "frame" }> => e.type === "frame");
      assert.ok(frames.length >= 6);
      for (const f of frames) assert.ok(f.data instanceof Uint8Array, `${f.channel} ${f.dir} is bytes`);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await proxy.close();
      await app.close();
    }
  });

  test("permessage-deflate WebSockets are read inflated, both ways, with context takeover", async () => {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http, path: "/chsk", perMessageDeflate: { threshold: 0 } });
    wss.on("connection", (ws) => ws.on("message", (d, binary) => ws.send(d, { binary })));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const target = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const proxy = createProxySource({ target, listen: "127.0.0.1:0" });
    const events: WireEvent[] = [];
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    try {
      const ws = new WebSocket(`${proxy.url!.replace("http", "ws")}/chsk?client-id=z1`, { perMessageDeflate: { threshold: 0 } });
      await withTimeout(new Promise((r, j) => ws.once("open", r).once("error", j)), 5000, "ws open");
      assert.match(String(ws.extensions), /permessage-deflate/);
      const got: string[] = [];
      ws.on("message", (d) => got.push(d.toString()));
      const msgs = ["[[:demo/echo {:a 1}] \"aaaaaa\"]", "[[:demo/echo {:a 1}] \"aaaaaa\"]", "é✓".repeat(500), "x"];
      for (const m of msgs) ws.send(m);
      ws.send(Buffer.from([1, 2, 3]));
      await until(() => got.length === 5, 5000, "echoes");
      ws.close(1000);
      await until(() => events.filter((e) => e.type === "close").length === 2, 5000, "closes");
      const frames = events.filter((e): e is Extract<WireEvent, { type: "frame" }> => e.type === "frame");
      assert.deepEqual(
        frames.filter((f) => f.dir === "c2s").map((f) => text(f.data)),
        [...msgs, text(new Uint8Array([1, 2, 3]))],
      );
      assert.deepEqual(
        frames.filter((f) => f.dir === "s2c").map((f) => text(f.data)),
        [...msgs, text(new Uint8Array([1, 2, 3]))],
      );
      for (const f of frames) assert.equal(f.clientId, "z1");
    } finally {
      await proxy.close();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  test("a target that is down: 502 to the browser, refused on the channel path", async () => {
    const dead = createHttpServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const proxy = createProxySource({ target: `http://127.0.0.1:${port}`, listen: "127.0.0.1:0" });
    const events: WireEvent[] = [];
    proxy.onEvent((e) => events.push(e));
    await proxy.start();
    try {
      const page = await request(`${proxy.url}/`);
      assert.equal(page.statusCode, 502);
      assert.match(await page.body.text(), /did not answer: .*ECONNREFUSED/);
      const poll = await request(`${proxy.url}/chsk?client-id=c9`);
      await poll.body.dump();
      assert.equal(poll.statusCode, 502);
      const ws = new WebSocket(`${proxy.url!.replace("http", "ws")}/chsk?client-id=c9`);
      ws.on("error", () => {});
      const status = await new Promise<number>((r) => ws.once("unexpected-response", (_q, res) => (res.resume(), r(res.statusCode ?? 0))));
      assert.equal(status, 502);
      await until(() => events.filter((e) => e.type === "refused").length === 2, 3000, "two refusals");
      for (const e of events.filter((x) => x.type === "refused")) {
        assert.equal((e as { status: number }).status, 502);
        assert.equal((e as { code?: string }).code, "CHSK_ERR_TRANSPORT");
      }
    } finally {
      await proxy.close();
    }
  });

  test("a listen address in use: start() rejects with CHSK_ERR_LISTEN and done says failed", async () => {
    const busy = createHttpServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    try {
      const proxy = createProxySource({ target: "http://127.0.0.1:1", listen: `127.0.0.1:${port}` });
      await assert.rejects(proxy.start(), (e: Error & { code?: string }) => e.code === "CHSK_ERR_LISTEN" && /in use/.test(e.message));
      const end = await proxy.done;
      assert.equal(end.reason, "failed");
      await proxy.close();
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  test("bad options throw at once", () => {
    assert.throws(() => createProxySource({ target: "ftp://x" }), TypeError);
    assert.throws(() => createProxySource({ target: "http://x", listen: "nope" }), TypeError);
    assert.throws(() => createProxySource({ target: "http://x", listen: "127.0.0.1:70000" }), RangeError);
    assert.throws(() => createProxySource({ target: "http://x", path: "chsk" }), TypeError);
    assert.throws(() => createProxySource({ target: "http://x", maxDecodeBytes: 0 }), RangeError);
  });

  test("close() ends every connection through it and frees its sockets to the app", async () => {
    const app = await startReferenceServer({ port: 0, sessionSecret: SECRET });
    const appSockets = new Set<Socket>();
    app.http.on("connection", (s: Socket) => {
      appSockets.add(s);
      s.once("close", () => appSockets.delete(s));
    });
    const proxy = createProxySource({ target: app.url, listen: "127.0.0.1:0" });
    await proxy.start();
    const url = proxy.url!;
    const ws = await openClient(url, "gina", "ws");
    const ajax = await openClient(url, "gina", "ajax");
    try {
      // The WS upgrade's, and the pool's (the held poll's at least).
      await until(() => appSockets.size >= 2, 3000, "the proxy's connections to the app");
      await proxy.close();
      assert.deepEqual(await proxy.done, { reason: "closed" });
      await until(() => appSockets.size === 0, 5000, "the app's sockets from the proxy to close");
      // Nothing listens any more.
      const refused = await new Promise<string>((r) => {
        const s = connect(Number(new URL(url).port), "127.0.0.1");
        s.once("connect", () => (s.destroy(), r("connected")));
        s.once("error", (e: Error & { code?: string }) => r(e.code ?? "error"));
      });
      assert.equal(refused, "ECONNREFUSED");
      // A second close is a no-op.
      await proxy.close();
    } finally {
      await ws.close();
      await ajax.close();
      await app.close();
    }
  });
});
