/**
 * The inspector's `attach` source against a real `mountInspector` stream
 * (in-process server, real sockets on 127.0.0.1): the hello's packer as
 * the hint, snapshot opens, frames of WS and Ajax clients with their
 * uids, closes; the refusals a user can meet (no token, another token,
 * no stream there, nothing listening, something else answering) as
 * stable codes; a stream that breaks or a server that restarts is
 * reattached (a refused reattach ends it); what ended meanwhile is
 * closed; over-long lines skipped with bounded memory; close() idempotent.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { type Client, createClient, type ClientType, packerByName } from "../../src/core/client/index.node.js";
import { createFrameDecoder, type FrameRecord, isChskError, type WireEvent } from "../../src/core/index.js";
import { type AttachSource, type AttachSourceOptions, createAttachSource } from "../../src/inspector/sources/attach.js";
import type { SourceEnd, SourceNotice } from "../../src/inspector/sources/types.js";
import { type ChskServer, createServer, type Inspector, mountInspector, msgpackPacker } from "../../src/server/index.js";
import { openPeer, until, withTimeout } from "./server-helpers.js";

const TOKEN = "attach-token-0123456789";

interface App {
  chsk: ChskServer;
  /** The one the HTTP handler answers with; replace it to mount a new one. */
  inspector: Inspector | null;
  http: HttpServer;
  port: number;
  base: string;
  close(): Promise<void>;
}

async function startApp(o: { port?: number; token?: string; msgpack?: boolean } = {}): Promise<App> {
  const chsk = createServer({
    csrfToken: null,
    // A cookie, as a session would be: Ajax POSTs carry no query params.
    userId: (req) => req.cookies["uid"] ?? req.query["uid"] ?? null,
    logger: null,
    msAllowReconnectBeforeCloseWs: 300,
    msAllowReconnectBeforeCloseAjax: 300,
    ...(o.msgpack ? { packer: msgpackPacker() } : {}),
  });
  chsk.startRouter((msg) => {
    if (msg.id === "my/echo") msg.reply?.(msg.data);
  });
  const app = { chsk, inspector: null } as App;
  app.inspector = mountInspector(chsk, { token: o.token ?? TOKEN });
  const http = createHttpServer((req, res) => {
    if (chsk.handleRequest(req, res) || app.inspector?.handleRequest(req, res)) return;
    res.writeHead(404).end("app: not found");
  });
  chsk.attach(http, { requests: false });
  http.listen(o.port ?? 0, "127.0.0.1");
  await once(http, "listening");
  app.http = http;
  app.port = (http.address() as AddressInfo).port;
  app.base = `http://127.0.0.1:${app.port}`;
  app.close = async () => {
    await chsk.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  };
  return app;
}

/** A source's events and notices, with bounded waits on them. */
function watch(source: AttachSource) {
  const events: WireEvent[] = [];
  const notices: SourceNotice[] = [];
  source.onEvent((e) => void events.push(e));
  source.onNotice((n) => void notices.push(n));
  const waitEvent = async <T extends WireEvent>(pred: (e: WireEvent) => boolean, what: string, ms = 5000): Promise<T> => {
    await until(() => events.some(pred), ms, what);
    return events.find(pred) as T;
  };
  const waitNotice = async (pred: (n: SourceNotice) => boolean, what: string, ms = 5000): Promise<SourceNotice> => {
    await until(() => notices.some(pred), ms, what);
    return notices.find(pred)!;
  };
  return { events, notices, waitEvent, waitNotice };
}

type Frame = Extract<WireEvent, { type: "frame" }>;
const isFrame = (e: WireEvent): e is Frame => e.type === "frame";

async function client(app: App, clientId: string, uid: string, type: ClientType, packer = "edn"): Promise<Client> {
  const c = createClient({ url: `${app.base}/chsk`, type, clientId, headers: { cookie: `uid=${uid}` }, packer: packerByName(packer as "edn"), wsKaliveMs: 60_000 });
  await withTimeout(c.whenOpen(), 5000, `${clientId} to open`);
  return c;
}

/** `start()`'s rejection, and what `done` said. */
async function refusal(options: AttachSourceOptions): Promise<{ error: unknown; end: SourceEnd }> {
  const source = createAttachSource(options);
  const error = await source.start().then(
    () => assert.fail("start() resolved"),
    (e: unknown) => e,
  );
  const end = await withTimeout(source.done, 5000, "done");
  await source.close();
  return { error, end };
}

describe("attach source: a live server", () => {
  it("hello's packer, a snapshot open, frames of a WS and an Ajax client with uids, closes", async () => {
    const app = await startApp();
    const alice = await client(app, "alice-ws", "alice", "ws");
    const source = createAttachSource({ url: app.base, token: TOKEN });
    const w = watch(source);
    let bob: Client | undefined;
    let carol: Client | undefined;
    try {
      assert.equal(source.kind, "attach");
      assert.equal(source.packer, undefined, "no packer before the hello");
      assert.equal(source.url, `${app.base}/chsk-inspect`);
      assert.equal(source.label, `attach ${app.base}/chsk-inspect`);
      await source.start();
      assert.equal(source.packer, "edn");
      assert.equal(source.channelPath, "/chsk");
      assert.equal(source.label, `attach ${app.base}/chsk-inspect (edn)`);

      // The snapshot: alice, who was there first.
      await until(() => w.events.length >= 1, 3000, "the snapshot");
      const snap = w.events[0]!;
      assert.ok(snap.type === "open");
      assert.deepEqual([snap.clientId, snap.uid, snap.transport, snap.url], ["alice-ws", '"alice"', "ws", "/chsk"]);
      assert.equal("snapshot" in snap, false, "a plain open event");

      bob = await client(app, "bob-ws", "bob", "ws");
      carol = await client(app, "carol-ajax", "carol", "ajax");
      assert.equal(await bob.send(["my/echo", 1], 5000), 1);
      assert.equal(await carol.send(["my/echo", 2], 5000), 2);
      assert.equal(await alice.send(["my/echo", 3], 5000), 3);

      const bobOpen = await w.waitEvent((e) => e.type === "open" && e.clientId === "bob-ws", "bob's open");
      assert.deepEqual(bobOpen.type === "open" && [bobOpen.uid, bobOpen.transport], ['"bob"', "ws"]);
      await w.waitEvent((e) => isFrame(e) && e.clientId === "bob-ws" && e.dir === "s2c" && String(e.data).startsWith("[1 "), "bob's reply");
      await w.waitEvent((e) => isFrame(e) && e.clientId === "carol-ajax" && e.channel === "post-reply", "carol's POST reply");
      await w.waitEvent((e) => isFrame(e) && e.clientId === "alice-ws" && e.dir === "s2c" && String(e.data).startsWith("[3 "), "alice's reply");

      // Every frame names its client and user; the decoder pairs each call with its reply.
      const frames = w.events.filter(isFrame);
      for (const f of frames) assert.equal(f.uid, `"${String(f.clientId).split("-")[0]}"`, `${f.clientId}'s frame carries its uid`);
      const carolPost = frames.find((f) => f.clientId === "carol-ajax" && f.channel === "post")!;
      assert.equal(carolPost.dir, "c2s");
      const decoder = createFrameDecoder({ packer: packerByName("edn") });
      const records: FrameRecord[] = w.events.map((e) => decoder.push(e));
      const calls = records.filter((r) => r.kind === "event" && r.eventId === "my/echo");
      assert.deepEqual(calls.map((r) => r.clientId).sort(), ["alice-ws", "bob-ws", "carol-ajax"]);
      for (const call of calls) {
        const reply = records.find((r) => r.kind === "reply" && r.pair === call.seq);
        assert.ok(reply, `${call.clientId}'s call has its reply`);
        assert.equal(reply.uid, call.uid);
      }

      // Leaving: bob's socket closes; carol's Ajax client expires after the grace period.
      await bob.close();
      const bobClose = await w.waitEvent((e) => e.type === "close" && e.clientId === "bob-ws", "bob's close");
      assert.deepEqual(bobClose.type === "close" && [bobClose.connId, bobClose.uid], [bobOpen.connId, '"bob"']);
      await carol.close();
      const carolClose = await w.waitEvent((e) => e.type === "close" && e.clientId === "carol-ajax", "carol's close");
      assert.deepEqual(carolClose.type === "close" && [carolClose.transport, carolClose.uid], ["ajax", '"carol"']);
      assert.ok(w.notices.some((n) => n.level === "info" && /^attached to /.test(n.message)));
    } finally {
      await source.close();
      await Promise.all([alice.close(), bob?.close(), carol?.close()]);
      await app.close();
    }
  });

  it("a binary packer: the hint says so, frames come as bytes", async () => {
    const app = await startApp({ msgpack: true });
    const source = createAttachSource({ url: `${app.base}/`, token: TOKEN });
    const w = watch(source);
    const c = await client(app, "bin-ws", "b", "ws", "msgpack");
    try {
      await source.start();
      assert.equal(source.packer, "msgpack");
      assert.equal(await c.send(["my/echo", "x"], 5000), "x");
      const reply = await w.waitEvent<Frame>((e) => isFrame(e) && e.dir === "s2c" && e.clientId === "bin-ws", "the reply");
      assert.ok(reply.data instanceof Uint8Array);
      const rec = createFrameDecoder({ packer: msgpackPacker() }).push(reply);
      assert.deepEqual([rec.kind, rec.data], ["reply", '"x"']);
    } finally {
      await source.close();
      await c.close();
      await app.close();
    }
  });

  it("a server's peer errors are warn notices with their code; heartbeats are nothing", async () => {
    const app = await startApp();
    app.inspector = mountInspector(app.chsk, { token: TOKEN, path: "/ops/inspect", heartbeatMs: 20 });
    const source = createAttachSource({ url: `${app.base}/ops/inspect`, token: TOKEN });
    const w = watch(source);
    try {
      await source.start();
      const { peer } = await openPeer(app.port, "client-id=rude-1&uid=rude");
      peer.send("[[:my/echo {:a 1] 1]");
      const n = await w.waitNotice((x) => x.message.startsWith("server: "), "the error notice");
      assert.equal(n.level, "warn");
      assert.match(String(n.code), /^CHSK_ERR_/);
      assert.match(n.message, /client rude-1, user "rude"/);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(w.events.every((e) => ["open", "frame", "close", "refused"].includes(e.type)));
      peer.close();
    } finally {
      await source.close();
      await app.close();
    }
  });
});

describe("attach source: what stops it from starting", () => {
  it("no token (401) and another token (403): CHSK_ERR_UNAUTHORIZED, telling about --token / $CHSK_INSPECT_TOKEN", async () => {
    const app = await startApp();
    try {
      for (const token of [undefined, "another-token-0123456789"]) {
        const { error, end } = await refusal({ url: app.base, token });
        assert.ok(isChskError(error, "CHSK_ERR_UNAUTHORIZED"), String(error));
        assert.equal(error.status, token === undefined ? 401 : 403);
        assert.match(error.message, /--token/);
        assert.match(error.message, /\$CHSK_INSPECT_TOKEN/);
        assert.deepEqual(end, { reason: "failed", error });
      }
    } finally {
      await app.close();
    }
  });

  it("no stream at the path (404), nothing listening, something else answering, no hello", async () => {
    const app = await startApp();
    const other = createHttpServer((req, res: ServerResponse) => {
      if (req.url === "/html") res.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>");
      else if (req.url === "/json") res.writeHead(200, { "content-type": "application/json" }).end('{"hello":"world"}\n');
      else if (req.url === "/silent") res.writeHead(200, { "content-type": "application/x-ndjson" }).write("\n");
      else res.writeHead(302, { location: "/elsewhere" }).end();
    });
    other.listen(0, "127.0.0.1");
    await once(other, "listening");
    const otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const notFound = await refusal({ url: `${app.base}/nope`, token: TOKEN });
      assert.ok(isChskError(notFound.error, "CHSK_ERR_HTTP_STATUS"));
      assert.equal(notFound.error.status, 404);
      assert.match(notFound.error.message, /no inspector stream at .*\/nope.*--allow-inspect or --inspect-token/);

      const closedPort = (() => {
        const s = createHttpServer();
        return new Promise<number>((r) => s.listen(0, "127.0.0.1", () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => r(p));
        }));
      })();
      const refused = await refusal({ url: `http://127.0.0.1:${await closedPort}`, token: TOKEN });
      assert.ok(isChskError(refused.error, "CHSK_ERR_TRANSPORT"));
      assert.match(refused.error.message, /ECONNREFUSED/);

      for (const path of ["/html", "/json", "/silent"]) {
        const r = await refusal({ url: `${otherBase}${path}`, token: TOKEN, timeoutMs: 300 });
        assert.ok(isChskError(r.error, "CHSK_ERR_NOT_SENTE"), `${path}: ${String(r.error)}`);
        assert.equal(r.end.reason, "failed");
      }
      const redirect = await refusal({ url: `${otherBase}/redirect`, token: TOKEN });
      assert.ok(isChskError(redirect.error, "CHSK_ERR_HTTP_STATUS"));
      assert.match(redirect.error.message, /redirects \(HTTP 302 to \/elsewhere\)/);
    } finally {
      other.closeAllConnections();
      other.close();
      await app.close();
    }
  });

  it("options are checked when created", () => {
    assert.throws(() => createAttachSource({ url: "nope" }), TypeError);
    assert.throws(() => createAttachSource({ url: "ftp://h/x" }), TypeError);
    assert.throws(() => createAttachSource({ url: "http://h", path: "x" }), TypeError);
    assert.throws(() => createAttachSource({ url: "http://h", token: "a b" }), TypeError);
    assert.throws(() => createAttachSource({ url: "http://h", maxLineBytes: 0 }), RangeError);
    assert.throws(() => createAttachSource({ url: "http://h", reconnect: { maxDelayMs: -1 } }), RangeError);
    assert.equal(createAttachSource({ url: "ws://h:1" }).url, "http://h:1/chsk-inspect");
    assert.equal(createAttachSource({ url: "http://h:1/", path: "/x" }).url, "http://h:1/x");
    assert.equal(createAttachSource({ url: "https://h/ops/inspect?a=1" }).url, "https://h/ops/inspect?a=1");
  });
});

describe("attach source: reattaching", () => {
  it("the stream cut while the server lives: warn, retries (503), reattached; what ended meanwhile is closed", async () => {
    const app = await startApp();
    const alice = await client(app, "alice-ws", "alice", "ws");
    const bob = await client(app, "bob-ws", "bob", "ws");
    const source = createAttachSource({ url: app.base, token: TOKEN, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const w = watch(source);
    try {
      await source.start();
      await until(() => w.events.length >= 2, 3000, "the snapshot");
      const bobOpen = w.events.find((e) => e.type === "open" && e.clientId === "bob-ws")!;
      // Cut: this inspector closes (its streams end); until another is mounted, the path answers 503.
      const first = app.inspector!;
      await first.close();
      await w.waitNotice((n) => n.level === "warn" && /ended the inspector stream; reconnecting/.test(n.message), "the warning");
      await w.waitNotice((n) => n.level === "info" && /^reconnect attempt \d+ failed: .*HTTP 503/.test(n.message), "a failed retry");
      // Bob leaves while nobody watches.
      await bob.close();
      await until(() => app.chsk.clients().length === 1, 3000, "bob to be gone");
      const before = w.events.length;
      app.inspector = mountInspector(app.chsk, { token: TOKEN });
      await w.waitNotice((n) => n.level === "info" && /^reattached to /.test(n.message), "reattached");
      await until(() => w.events.length >= before + 2, 3000, "the new snapshot");
      const again = w.events.slice(before, before + 2);
      // Alice's open again (the snapshot), and bob's close, which the server streamed to nobody.
      assert.ok(again.some((e) => e.type === "open" && e.clientId === "alice-ws"));
      const gone = again.find((e) => e.type === "close")!;
      assert.ok(gone.type === "close");
      assert.deepEqual([gone.clientId, gone.connId, gone.uid, gone.reason], ["bob-ws", bobOpen.connId, '"bob"', "ended while the inspector was detached"]);
      // And it goes on.
      assert.equal(await alice.send(["my/echo", 7], 5000), 7);
      await w.waitEvent((e) => isFrame(e) && e.clientId === "alice-ws" && String(e.data).startsWith("[7 "), "alice's reply after");
    } finally {
      await source.close();
      await Promise.all([alice.close(), bob.close()]);
      await app.close();
    }
  });

  it("the server restarts: reattached, events after it; a restart with another token ends it as failed", async () => {
    let app = await startApp();
    const port = app.port;
    const source = createAttachSource({ url: app.base, token: TOKEN, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const w = watch(source);
    let dave: Client | undefined;
    try {
      await source.start();
      await app.close();
      await w.waitNotice((n) => n.level === "warn" && /reconnecting$/.test(n.message), "the warning");
      await w.waitNotice((n) => /^reconnect attempt \d+ failed: .*ECONNREFUSED/.test(n.message), "a refused retry");
      app = await startApp({ port });
      await w.waitNotice((n) => /^reattached to /.test(n.message), "reattached", 5000);
      dave = await client(app, "dave-ajax", "dave", "ajax");
      assert.equal(await dave.send(["my/echo", "after"], 5000), "after");
      await w.waitEvent((e) => isFrame(e) && e.clientId === "dave-ajax" && e.channel === "post-reply", "dave's reply");
      assert.equal(source.packer, "edn");

      // Restarted with a token this inspector does not have: it cannot go on.
      await dave.close();
      await app.close();
      app = await startApp({ port, token: "a-new-token-0123456789" });
      const end = await withTimeout(source.done, 5000, "the source to end");
      assert.equal(end.reason, "failed");
      assert.ok(end.reason === "failed" && end.error.code === "CHSK_ERR_UNAUTHORIZED" && end.error.status === 403);
      assert.ok(w.notices.some((n) => n.level === "error" && n.code === "CHSK_ERR_UNAUTHORIZED"));
    } finally {
      await source.close();
      await dave?.close();
      await app.close();
    }
  });

  it("reconnect: false — a stream the server ends ends the source (eof)", async () => {
    const app = await startApp();
    const source = createAttachSource({ url: app.base, token: TOKEN, reconnect: false });
    try {
      await source.start();
      await app.inspector!.close();
      assert.deepEqual(await withTimeout(source.done, 5000, "done"), { reason: "eof" });
    } finally {
      await source.close();
      await app.close();
    }
  });
});

describe("attach source: lines and lifecycle (a hand-written stream)", () => {
  /** A server that writes `script` (strings, or pauses in ms) as the stream, then leaves it open. */
  async function fakeStream(script: (string | number)[]): Promise<{ base: string; close(): Promise<void> }> {
    const http = createHttpServer(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      for (const step of script) {
        if (typeof step === "number") await new Promise((r) => setTimeout(r, step));
        else res.write(step);
      }
    });
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    return {
      base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      close: async () => {
        http.closeAllConnections();
        await new Promise<void>((r) => http.close(() => r()));
      },
    };
  }

  const hello = `${JSON.stringify({ type: "hello", version: 1, at: 1, packer: "edn", path: "/chsk", clients: 0 })}\n`;
  const frame = (data: string, extra: Record<string, unknown> = {}) =>
    `${JSON.stringify({ type: "frame", at: 2, dir: "s2c", transport: "ajax", channel: "poll", connId: "get-4", clientId: "c-1", uid: '"u"', data, ...extra })}\n`;

  it("a line over maxLineBytes: a frame without its data (CHSK_ERR_FRAME_TOO_LARGE) and a notice; the next lines read whole, across chunks", async () => {
    const big = frame(`[[:my/big "${"x".repeat(10_000)}"]]`, { handshake: true, status: 200 });
    const next = frame("[[:my/small 1]]");
    const s = await fakeStream([
      hello,
      `${JSON.stringify({ type: "heartbeat", at: 3 })}\n`,
      `${JSON.stringify({ type: "later-kind", at: 3 })}\n`,
      ...Array.from({ length: 11 }, (_, i) => big.slice(i * 1000, (i + 1) * 1000)),
      5,
      big.slice(11_000),
      next.slice(0, 30),
      5,
      next.slice(30),
      `${JSON.stringify({ type: "error", at: 4, code: "CHSK_ERR_UNPACK", message: "bad POST", clientId: "c-1" })}\n`,
    ]);
    const source = createAttachSource({ url: `${s.base}/x`, maxLineBytes: 4096 });
    const w = watch(source);
    try {
      await source.start();
      await w.waitNotice((n) => n.code === "CHSK_ERR_UNPACK", "the error line's notice");
      const frames = w.events.filter(isFrame);
      assert.equal(w.events.length, 2, "heartbeats and unknown kinds are no events");
      const [skipped, small] = frames;
      assert.deepEqual(
        [skipped!.connId, skipped!.clientId, skipped!.uid, skipped!.dir, skipped!.channel, skipped!.handshake, skipped!.status, skipped!.data, skipped!.error?.code],
        ["get-4", "c-1", '"u"', "s2c", "poll", true, 200, "", "CHSK_ERR_FRAME_TOO_LARGE"],
      );
      assert.ok(Math.abs(skipped!.bytes! - JSON.stringify(`[[:my/big "${"x".repeat(10_000)}"]]`).length + 2) <= 2, String(skipped!.bytes));
      assert.equal(small!.data, "[[:my/small 1]]");
      const warn = w.notices.find((n) => n.code === "CHSK_ERR_FRAME_TOO_LARGE")!;
      assert.equal(warn.level, "warn");
      assert.match(warn.message, new RegExp(`${big.length - 1} bytes`));
      // The decoder shows it as a bad frame, not a crash.
      const rec = createFrameDecoder().push(skipped!);
      assert.deepEqual([rec.kind, rec.error?.code], ["bad", "CHSK_ERR_FRAME_TOO_LARGE"]);
    } finally {
      await source.close();
      await s.close();
    }
  });

  it("a silent stream (no heartbeat within idleTimeoutMs) is taken as broken and reattached", async () => {
    const s = await fakeStream([hello]);
    const source = createAttachSource({ url: s.base, idleTimeoutMs: 200, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
    const w = watch(source);
    try {
      await source.start();
      const n = await w.waitNotice((x) => x.level === "warn", "the warning");
      assert.equal(n.code, "CHSK_ERR_TIMEOUT");
      assert.match(n.message, /nothing came for 200 ms/);
      await w.waitNotice((x) => /^reattached/.test(x.message), "reattached");
    } finally {
      await source.close();
      await s.close();
    }
  });

  it("close(): idempotent, done says closed, nothing after it; close while starting rejects start() with CHSK_ERR_CLOSED", async () => {
    const s = await fakeStream([hello, 50, frame("[1]"), 50, frame("[2]")]);
    const source = createAttachSource({ url: s.base });
    const w = watch(source);
    await source.start();
    await Promise.all([source.close(), source.close()]);
    await source.close();
    assert.deepEqual(await source.done, { reason: "closed" });
    const seen = w.events.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(w.events.length, seen, "no events after close()");

    // A stream that never says hello: close() while start() waits.
    const mute = await fakeStream([]);
    const waiting = createAttachSource({ url: mute.base, timeoutMs: 10_000 });
    const started = waiting.start();
    await new Promise((r) => setTimeout(r, 100));
    await waiting.close();
    await assert.rejects(started, (e: unknown) => isChskError(e, "CHSK_ERR_CLOSED"));
    assert.deepEqual(await waiting.done, { reason: "closed" });

    // Closed before start: start() rejects at once.
    const never = createAttachSource({ url: mute.base });
    await never.close();
    await assert.rejects(never.start(), (e: unknown) => isChskError(e, "CHSK_ERR_CLOSED"));
    await Promise.all([s.close(), mute.close()]);
  });
});
