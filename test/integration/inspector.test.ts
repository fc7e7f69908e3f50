/**
 * `mountInspector`: the server's view streamed to an admin as JSON lines.
 * Token required (401 without, 403 with another); a snapshot naming every
 * client and user the server already has, then live frames, lifecycle and
 * refusals; binary frames as base64; a subscriber that stops reading is
 * dropped with its buffer bounded, the others go on; the subscriber cap;
 * the same under node:http, Express and Fastify; `chsk.close()` ends it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import Fastify from "fastify";
import type { LogFields, Logger } from "../../src/core/logger.js";
import {
  type ChskServer,
  createServer,
  type Inspector,
  type InspectorHello,
  type InspectorLine,
  type InspectorOpen,
  type InspectorOptions,
  mountInspector,
  msgpackPacker,
  type ServerOptions,
} from "../../src/server/index.js";
import { type InspectorStream, openInspectorStream } from "./inspector-stream.js";
import { ajaxGet, openPeer, Peer, until, withTimeout } from "./server-helpers.js";

const TOKEN = "inspect-token-0123456789";
type Frame = Extract<InspectorLine, { type: "frame" }>;

interface App {
  chsk: ChskServer;
  inspector: Inspector;
  base: string;
  port: number;
  close(): Promise<void>;
}

/** chsk + the inspector in a node:http, Express or Fastify app, the way the module comment shows. */
async function startApp(kind: "node:http" | "express" | "fastify", options: Partial<InspectorOptions> = {}, server: Partial<ServerOptions> = {}): Promise<App> {
  const chsk = createServer({ csrfToken: null, userId: (req) => req.query["uid"] ?? null, logger: null, ...server });
  chsk.startRouter((msg) => {
    if (msg.id === "my/echo") msg.reply?.(msg.data);
  });
  const inspector = mountInspector(chsk, { token: TOKEN, ...options });
  let http: HttpServer;
  let stop = async () => {};
  if (kind === "node:http") {
    http = createHttpServer((req, res) => {
      if (chsk.handleRequest(req, res) || inspector.handleRequest(req, res)) return;
      res.writeHead(404).end("app: not found");
    });
    chsk.attach(http, { requests: false });
    http.listen(0, "127.0.0.1");
  } else if (kind === "express") {
    const app = express();
    app.use(inspector.middleware);
    app.use((_req, res) => void res.status(404).send("app: not found"));
    http = createHttpServer(app);
    chsk.attach(http);
    http.listen(0, "127.0.0.1");
  } else {
    const fastify = Fastify();
    fastify.addHook("onRequest", (req, reply, done) => { if (inspector.handleRequest(req.raw, reply.raw)) reply.hijack(); else done(); });
    fastify.get("/*", async (_req, reply) => reply.code(404).send("app: not found"));
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    http = fastify.server;
    chsk.attach(http, { requests: false });
    stop = () => fastify.close();
  }
  if (!http.listening) await once(http, "listening");
  const port = (http.address() as AddressInfo).port;
  return {
    chsk,
    inspector,
    port,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await chsk.close();
      http.closeAllConnections();
      if (kind === "fastify") await stop();
      else await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function recordingLogger(): Logger & { lines: { level: string; msg: string; fields?: LogFields }[] } {
  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void lines.push(fields === undefined ? { level, msg } : { level, msg, fields });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

describe("mountInspector (node:http)", () => {
  let app: App;
  const log = recordingLogger();
  before(async () => {
    app = await startApp("node:http", { maxSubscribers: 2, maxBufferedBytes: 256 * 1024, logger: log });
  });
  after(() => app.close());

  it("refuses without the token (401, WWW-Authenticate), with another (403), other methods (405); other paths stay the app's", async () => {
    const none = await fetch(`${app.base}/chsk-inspect`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer /);
    await none.text();
    for (const auth of [`Bearer ${TOKEN}x`, "Bearer short", `Basic ${TOKEN}`, TOKEN]) {
      const r = await fetch(`${app.base}/chsk-inspect`, { headers: { authorization: auth } });
      assert.equal(r.status, auth.startsWith("Bearer") ? 403 : 401, auth);
      await r.text();
    }
    // The token travels only in the header: a query token is no token.
    const q = await fetch(`${app.base}/chsk-inspect?token=${TOKEN}`);
    assert.equal(q.status, 401);
    await q.text();
    const post = await fetch(`${app.base}/chsk-inspect`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(post.status, 405);
    await post.text();
    const other = await fetch(`${app.base}/chsk-inspect/x`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual([other.status, await other.text()], [404, "app: not found"]);
    assert.equal(app.inspector.subscribers, 0);
  });

  it("a snapshot names every client and user already there, then live frames, lifecycle and refusals", async () => {
    // Before anyone watches: a WS client of alice's, an Ajax client of bob's, an anonymous one.
    const alice = await openPeer(app.port, "client-id=alice-1&uid=alice");
    assert.equal((await ajaxGet(app.base, "client-id=bob-1&uid=bob&handshake%3F=1")).status, 200);
    const anon = await openPeer(app.port, "client-id=anon-1");
    const s = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    try {
      assert.equal(s.status, 200);
      assert.match(String(s.headers["content-type"]), /^application\/x-ndjson/);
      const hello = await s.waitFor<InspectorHello>((l) => l.type === "hello", "hello");
      assert.deepEqual([hello.version, hello.packer, hello.path, hello.clients], [1, "edn", "/chsk", 3]);
      await until(() => s.lines.length >= 4, 3000, "the snapshot");
      assert.equal(s.lines[0]!.type, "hello", "hello comes first");
      const snapshot = s.lines.slice(1, 4) as InspectorOpen[];
      assert.ok(snapshot.every((l) => l.type === "open" && l.snapshot === true));
      assert.deepEqual(
        snapshot.map((l) => [l.clientId, l.uid, l.transport]).sort(),
        [
          ["alice-1", '"alice"', "ws"],
          ["anon-1", ":sente/nil-uid", "ws"],
          ["bob-1", '"bob"', "ajax"],
        ],
      );

      // Live: alice calls; the frames carry the snapshot's connId for her socket.
      const aliceConn = snapshot.find((l) => l.clientId === "alice-1")!.connId;
      alice.peer.send('[[:my/echo {:x 1}] "cb1"]');
      assert.equal(await alice.peer.next(), '[{:x 1} "cb1"]');
      const call = await s.waitFor<Frame>((l) => l.type === "frame" && l.dir === "c2s" && l.clientId === "alice-1", "alice's call");
      const reply = await s.waitFor<Frame>((l) => l.type === "frame" && l.dir === "s2c" && l.clientId === "alice-1", "the reply");
      assert.deepEqual([call.data, call.connId, call.channel, call.uid], ['[[:my/echo {:x 1}] "cb1"]', aliceConn, "ws", '"alice"']);
      assert.deepEqual([reply.data, reply.connId], ['[{:x 1} "cb1"]', aliceConn]);

      // A newcomer: open, then its handshake frame.
      const carol = await openPeer(app.port, "client-id=carol-1&uid=carol");
      const open = await s.waitFor<InspectorOpen>((l) => l.type === "open" && l.clientId === "carol-1", "carol's open");
      assert.equal(open.snapshot, undefined);
      const hs = await s.waitFor<Frame>((l) => l.type === "frame" && l.clientId === "carol-1", "carol's handshake");
      assert.deepEqual([hs.data, hs.connId], [carol.handshake, open.connId]);
      // A refusal, and an Ajax poll answered with a handshake.
      await ajaxGet(app.base, "handshake%3F=1");
      const refused = await s.waitFor((l) => l.type === "refused", "the refusal");
      assert.deepEqual(refused.type === "refused" && [refused.status, refused.code, refused.transport], [400, "CHSK_ERR_NO_CLIENT_ID", "ajax"]);
      await ajaxGet(app.base, "client-id=bob-1&uid=bob&handshake%3F=1");
      const bobHs = await s.waitFor<Frame>((l) => l.type === "frame" && l.clientId === "bob-1", "bob's handshake answer");
      assert.deepEqual([bobHs.channel, bobHs.handshake, bobHs.status, bobHs.transport], ["poll", true, 200, "ajax"]);
      // Carol leaves: close.
      carol.peer.close();
      const closed = await s.waitFor((l) => l.type === "close" && l.clientId === "carol-1", "carol's close");
      assert.ok(closed.type === "close" && closed.connId === open.connId && closed.code === 1005);
    } finally {
      s.close();
      alice.peer.close();
      anon.peer.close();
    }
    await until(() => app.inspector.subscribers === 0, 3000, "the subscriber to leave");
  });

  it("at most maxSubscribers watch; a place frees when one leaves; the tap goes with the last", async () => {
    const a = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    const b = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    const c = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    try {
      assert.deepEqual([a.status, b.status, c.status], [200, 200, 503]);
      await c.ended;
      a.close();
      await until(() => app.inspector.subscribers === 1, 3000, "a place to free");
      const d = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
      assert.equal(d.status, 200);
      d.close();
    } finally {
      a.close();
      b.close();
      c.close();
    }
    await until(() => app.inspector.subscribers === 0, 3000, "everyone to leave");
    // No subscriber, no tap: the server's frames cost nothing more.
    const taps: unknown[] = [];
    const probe = app.chsk.tap((e) => void taps.push(e));
    probe();
    assert.equal(taps.length, 0);
  });

  it("a subscriber that stops reading is dropped, its buffer bounded; the others keep everything", async () => {
    const fast = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    // The slow one: a raw socket that sends the request and never reads a byte.
    const slow = connect(app.port, "127.0.0.1");
    slow.on("error", () => {});
    await once(slow, "connect");
    slow.write(`GET /chsk-inspect HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    slow.pause();
    const slowClosed = new Promise<void>((r) => slow.once("close", () => r()));
    await until(() => app.inspector.subscribers === 2, 3000, "both subscribers");
    const sink = await openPeer(app.port, "client-id=sink-1&uid=sink");
    // The peer drains its socket itself (frames queue in `peer.frames`).
    const pad = "p".repeat(32 * 1024);
    let sent = 0;
    try {
      for (; sent < 4000 && app.inspector.subscribers === 2; sent++) {
        app.chsk.send("sink", ["my/big", `${sent}-${pad}`], { flush: true });
        // A turn per push: the reader in this same process keeps up, only the paused socket falls behind.
        await new Promise((r) => setImmediate(r));
      }
      await until(() => log.lines.some((l) => l.msg.startsWith("inspector: dropped")), 5000, "the drop to be logged");
      const drop = log.lines.find((l) => l.msg.startsWith("inspector: dropped"))!;
      assert.equal(drop.level, "warn");
      const buffered = drop.fields?.["bufferedBytes"] as number;
      assert.ok(buffered <= 256 * 1024, `at most maxBufferedBytes held for it (${buffered})`);
      assert.equal(app.inspector.subscribers, 1);
      slow.resume();
      await withTimeout(slowClosed, 5000, "the slow subscriber's connection to be cut");
      // The fast one got every push, in order, and still gets what follows.
      app.chsk.send("sink", ["my/last", 1], { flush: true });
      await fast.waitFor((l) => l.type === "frame" && String(l.data).includes("my/last"), "the push after the drop", 10_000);
      const pushes = fast.lines.filter((l): l is Frame => l.type === "frame" && l.clientId === "sink-1" && String(l.data).includes("my/big"));
      assert.equal(pushes.length, sent);
      assert.ok(pushes.every((p, i) => String(p.data).includes(`"${i}-p`)));
    } finally {
      fast.close();
      slow.destroy();
      sink.peer.close();
    }
  });
});

describe("mountInspector: binary packers, options, close", () => {
  it("binary frames come base64 with binary: true, and read back as the bytes sent", async () => {
    const app = await startApp("node:http", {}, { packer: msgpackPacker() });
    try {
      const s = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
      const p = new Peer(app.port, "client-id=bin-1&uid=b");
      const got: Buffer[] = [];
      p.ws.on("message", (d: Buffer) => void got.push(d));
      await withTimeout(p.opened, 3000, "ws open");
      const hs = await s.waitFor<Frame>((l) => l.type === "frame" && l.clientId === "bin-1", "the handshake");
      assert.ok(hs.data instanceof Uint8Array, "bytes, not text");
      await until(() => got.length > 0, 3000, "the handshake at the peer");
      assert.deepEqual(Buffer.from(hs.data), got[0]);
      s.close();
      p.close();
    } finally {
      await app.close();
    }
  });

  it("options are checked: a token is required and long enough; path, limits", () => {
    const chsk = createServer({ csrfToken: null, logger: null });
    assert.throws(() => mountInspector(chsk, {} as InspectorOptions), TypeError);
    assert.throws(() => mountInspector(chsk, { token: "short" }), TypeError);
    assert.throws(() => mountInspector(chsk, { token: `${TOKEN} x` }), TypeError);
    assert.throws(() => mountInspector(chsk, { token: TOKEN, path: "/" }), TypeError);
    assert.throws(() => mountInspector(chsk, { token: TOKEN, path: "no-slash" }), TypeError);
    assert.throws(() => mountInspector(chsk, { token: TOKEN, maxSubscribers: 0 }), RangeError);
    assert.throws(() => mountInspector(chsk, { token: TOKEN, maxBufferedBytes: 1.5 }), RangeError);
    assert.equal(mountInspector(chsk, { token: TOKEN, path: "/ops/inspect/" }).path, "/ops/inspect");
    return chsk.close();
  });

  it("chsk.close() ends every stream (after the last closes went out)", async () => {
    const app = await startApp("node:http");
    const peer = await openPeer(app.port, "client-id=last-1");
    const s = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
    await s.waitFor((l) => l.type === "hello", "hello");
    const closing = app.close();
    await withTimeout(s.ended, 5000, "the stream to end");
    await closing;
    assert.ok(s.lines.some((l) => l.type === "close" && l.clientId === "last-1"), "the server's own closes are streamed");
    peer.peer.close();
  });
});

for (const kind of ["express", "fastify"] as const) {
  describe(`mountInspector in ${kind}`, () => {
    let app: App;
    before(async () => {
      app = await startApp(kind);
    });
    after(() => app.close());

    it("token required; the stream works; the app keeps its other paths", async () => {
      const none = await fetch(`${app.base}/chsk-inspect`);
      assert.equal(none.status, 401);
      await none.text();
      const wrong = await fetch(`${app.base}/chsk-inspect`, { headers: { authorization: "Bearer nope-nope-nope-nope" } });
      assert.equal(wrong.status, 403);
      await wrong.text();
      const other = await fetch(`${app.base}/elsewhere`);
      assert.deepEqual([other.status, await other.text()], [404, "app: not found"]);
      const s: InspectorStream = await openInspectorStream(`${app.base}/chsk-inspect`, TOKEN);
      try {
        assert.equal(s.status, 200);
        await s.waitFor((l) => l.type === "hello", "hello");
        const peer = await openPeer(app.port, `client-id=${kind}-1&uid=u`);
        peer.peer.send('[[:my/echo 1] "c"]');
        await s.waitFor((l) => l.type === "frame" && l.dir === "s2c" && l.data === '[1 "c"]', "the reply");
        peer.peer.close();
      } finally {
        s.close();
      }
    });
  });
}
