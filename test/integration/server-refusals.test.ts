/**
 * Every refusal and every failing hook reaches `tap()` as a `refused`
 * event naming why (`code`) and what the client got (`status`, `body`),
 * over WS upgrades, Ajax GETs and POSTs; refusals a peer's error caused
 * come after that `error`. And the server's `logger`: refusals at `info`,
 * hook failures at `error` once; with a logger given (or `null`), library
 * code writes nothing to the console.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { Logger, LogFields } from "../../src/core/logger.js";
import { createServer } from "../../src/server/index.js";
import type { ServerOptions, ServerTapEvent } from "../../src/server/types.js";
import { ajaxGet, ajaxPost, Peer, RawHttp, startServer, type TestServer, until, withTimeout } from "./server-helpers.js";

const TOKEN = "s3cret-token";
const ORIGIN = "http://site.com";
const ok = { origin: ORIGIN, "x-csrf-token": TOKEN };
type Refused = Extract<ServerTapEvent, { type: "refused" }>;

/** Records `level msg` and the fields of every call. */
function recordingLogger(): Logger & { lines: { level: string; msg: string; fields: LogFields | undefined }[] } {
  const lines: { level: string; msg: string; fields: LogFields | undefined }[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void lines.push({ level, msg, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Replaces every console method with a recorder; `restore()` puts them back. */
function stubConsole(): { written: string[]; restore: () => void } {
  const written: string[] = [];
  const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void written.push(`${m}: ${args.map(String).join(" ")}`);
  return { written, restore: () => methods.forEach((m, i) => (console[m] = saved[i]!)) };
}

async function wsRefusal(port: number, query: string, headers: Record<string, string> = ok): Promise<{ status: number; body: string }> {
  const p = new Peer(port, query, headers);
  await assert.rejects(withTimeout(p.opened, 3000, "upgrade"));
  assert.ok(p.rejected, "refused with an HTTP answer, no 101");
  return p.rejected;
}

describe("refusals reach the tap with their code, and the logger", () => {
  let srv: TestServer;
  let log: ReturnType<typeof recordingLogger>;
  let consoleStub: ReturnType<typeof stubConsole>;
  before(async () => {
    consoleStub = stubConsole();
    log = recordingLogger();
    srv = await startServer(
      {
        logger: log,
        csrfToken: (req) => (req.query["asyncboom"] ? Promise.reject(new Error("csrf store down")) : TOKEN),
        allowedOrigins: [ORIGIN],
        authorized: (req) => req.query["deny"] === undefined,
        reject: (req) => (req.query["slow"] ? { status: 429, body: "slow down" } : null),
        userId: (req) => {
          if (req.query["boom"]) throw new Error("session store down");
          return req.query["uid"] ?? null;
        },
        handshakeData: (req) => {
          if (req.query["hsboom"]) throw new Error("no data");
          return null;
        },
        maxFrameBytes: 64,
        maxPendingPollsPerClient: 1,
        maxPendingPostsPerClient: 1,
        bodyTimeoutMs: 300,
      },
      // my/ask is never answered: its POSTs stay pending.
      () => {},
    );
  });
  after(async () => {
    await srv.stop();
    consoleStub.restore();
  });

  const refusalOf = async (pred: (r: Refused) => boolean, what: string): Promise<Refused> => {
    let found: Refused | undefined;
    await until(() => (found = srv.taps.find((t): t is Refused => t.type === "refused" && pred(t))) !== undefined, 3000, what);
    return found!;
  };
  const byClient = (id: string) => refusalOf((r) => r.clientId === id, `the refusal of ${id}`);

  it("WS upgrades: every check's refusal, with its code and the exact answer", async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ["client-id=w-csrf&csrf-token=wrong", { origin: ORIGIN }, 403, "CHSK_ERR_BAD_CSRF"],
      ["client-id=w-origin", { origin: "http://evil.com", "x-csrf-token": TOKEN }, 403, "CHSK_ERR_BAD_ORIGIN"],
      ["client-id=w-deny&deny=1", ok, 401, "CHSK_ERR_UNAUTHORIZED"],
      ["client-id=w-slow&slow=1", ok, 429, "CHSK_ERR_REJECTED"],
      ["client-id=w-boom&boom=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
      ["client-id=w-hsboom&hsboom=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
      ["client-id=w-asyncboom&asyncboom=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
    ];
    for (const [query, headers, status, code] of cases) {
      const answer = await wsRefusal(srv.port, query, headers);
      const id = /client-id=([\w-]+)/.exec(query)![1]!;
      const r = await byClient(id);
      assert.deepEqual([r.transport, r.status, r.code, r.body], ["ws", status, code, answer.body], query);
      assert.equal(answer.status, status, query);
      assert.match(r.connId, /^ws-\d+$/);
      if (code === "CHSK_ERR_HOOK_FAILED") assert.ok(r.cause instanceof Error, `${query}: the thrown error`);
    }
    // No client id: refused before any check, and an error the peer caused.
    const before = srv.taps.length;
    await wsRefusal(srv.port, "x=1");
    const r = await refusalOf((t) => srv.taps.indexOf(t) >= before && t.code === "CHSK_ERR_NO_CLIENT_ID", "the missing client-id");
    assert.deepEqual([r.transport, r.status, r.body, r.clientId], ["ws", 400, "Missing client-id", undefined]);
    const errorAt = srv.taps.findIndex((t, i) => i >= before && t.type === "error" && t.error.code === "CHSK_ERR_NO_CLIENT_ID");
    assert.ok(errorAt !== -1 && errorAt < srv.taps.indexOf(r), "the error comes first");
  });

  it("Ajax GETs: every check, a failing hook, too many polls", async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ["client-id=g-csrf&handshake%3F=1", { origin: ORIGIN, "x-csrf-token": "wrong" }, 403, "CHSK_ERR_BAD_CSRF"],
      ["client-id=g-origin&handshake%3F=1", { ...ok, origin: "http://evil.com" }, 403, "CHSK_ERR_BAD_ORIGIN"],
      ["client-id=g-deny&deny=1", ok, 401, "CHSK_ERR_UNAUTHORIZED"],
      ["client-id=g-slow&slow=1", ok, 429, "CHSK_ERR_REJECTED"],
      ["client-id=g-boom&boom=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
      ["client-id=g-hsboom&hsboom=1&handshake%3F=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
      ["client-id=g-asyncboom&asyncboom=1", ok, 500, "CHSK_ERR_HOOK_FAILED"],
    ];
    for (const [query, headers, status, code] of cases) {
      const answer = await ajaxGet(srv.base, query, headers);
      const r = await byClient(/client-id=([\w-]+)/.exec(query)![1]!);
      assert.deepEqual([r.transport, r.status, r.code, r.body], ["ajax", status, code, answer.body], query);
      assert.equal(answer.status, status);
      assert.match(r.connId, /^get-\d+$/);
    }
    // One poll held (the limit is 1), the next refused 429: an error of this client's, then the refusal.
    assert.equal((await ajaxGet(srv.base, "client-id=g-polls&handshake%3F=1", ok)).status, 200);
    const held = fetch(`${srv.base}/chsk?client-id=g-polls`, { headers: ok, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    await until(() => srv.chsk.clients().some((c) => c.clientId === "g-polls" && c.connected), 3000, "the held poll");
    const second = await ajaxGet(srv.base, "client-id=g-polls", ok);
    assert.equal(second.status, 429);
    const r = await byClient("g-polls");
    assert.deepEqual([r.status, r.code, r.uid], [429, "CHSK_ERR_TOO_MANY_POLLS", null]);
    assert.ok(srv.taps.findIndex((t) => t.type === "error" && t.clientId === "g-polls") < srv.taps.indexOf(r));
    void held;
  });

  it("Ajax POSTs: CSRF, a frame too large, a bad frame, no ppstr, too many POSTs, a body too slow; 405 for other methods", async () => {
    const post = (id: string, form: Record<string, string>, headers = ok) => ajaxPost(srv.base, { "client-id": id, ...form }, { headers });
    const csrf = await post("p-csrf", { ppstr: "[[:my/ev 1] nil]" }, { origin: ORIGIN, "x-csrf-token": "wrong" });
    assert.equal(csrf.status, 403);
    assert.deepEqual([(await byClient("p-csrf")).code, (await byClient("p-csrf")).connId.slice(0, 5)], ["CHSK_ERR_BAD_CSRF", "post-"]);

    const big = await post("p-big", { ppstr: `[[:my/ev "${"x".repeat(200)}"] nil]` });
    assert.equal(big.status, 413);
    assert.deepEqual([(await byClient("p-big")).status, (await byClient("p-big")).code], [413, "CHSK_ERR_FRAME_TOO_LARGE"]);

    const bad = await post("p-bad", { ppstr: "[[:my/ev" });
    const badR = await byClient("p-bad");
    assert.deepEqual([bad.status, badR.status, badR.code, badR.body], [400, 400, "CHSK_ERR_EDN_SYNTAX", bad.body]);
    // The frame itself was tapped (it came over the wire), on the same exchange as the refusal.
    const badIn = srv.taps.find((t) => t.type === "frame:in" && t.clientId === "p-bad");
    assert.ok(badIn && badIn.type === "frame:in" && badIn.connId === badR.connId && badIn.channel === "post");

    const none = await post("p-none", { other: "1" });
    assert.deepEqual([none.status, (await byClient("p-none")).code], [400, "CHSK_ERR_BAD_ENVELOPE"]);

    // The limit is one POST awaiting a reply: a second is refused while the first waits.
    const first = post("p-many", { ppstr: '[[:my/ask 1] "cb1"]' }).catch(() => undefined);
    await until(() => srv.taps.some((t) => t.type === "frame:in" && t.clientId === "p-many"), 3000, "the first POST");
    const second = await post("p-many", { ppstr: '[[:my/ask 2] "cb2"]' });
    assert.equal(second.status, 429);
    assert.deepEqual([(await byClient("p-many")).code, (await byClient("p-many")).uid], ["CHSK_ERR_TOO_MANY_POLLS", null]);
    void first;

    // A body that trickles: 408 after bodyTimeoutMs.
    const raw = new RawHttp(srv.port);
    try {
      const body = "client-id=p-slow&ppstr=%5B%5B%3Amy%2Fev%201%5D%20nil%5D";
      raw.write(`POST /chsk?client-id=p-slow HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nX-CSRF-Token: ${TOKEN}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`);
      raw.trickle(body, 200);
      const r = await byClient("p-slow");
      assert.deepEqual([r.status, r.code], [408, "CHSK_ERR_BODY_TIMEOUT"]);
      await withTimeout(raw.closed, 3000, "the connection to close");
      assert.equal(raw.status, 408);
    } finally {
      raw.destroy();
    }

    const put = await fetch(`${srv.base}/chsk?client-id=p-put`, { method: "PUT", body: "x" });
    assert.equal(put.status, 405);
    await put.text();
    const putR = await byClient("p-put");
    assert.deepEqual([putR.status, putR.code, putR.transport], [405, "CHSK_ERR_METHOD_NOT_ALLOWED", "ajax"]);
  });

  it("the logger: policy refusals at info with their code; hook failures at error, once; nothing on the console", async () => {
    const infos = log.lines.filter((l) => l.level === "info");
    const codes = new Set(infos.map((l) => l.fields?.["code"]));
    for (const code of ["CHSK_ERR_BAD_CSRF", "CHSK_ERR_BAD_ORIGIN", "CHSK_ERR_UNAUTHORIZED", "CHSK_ERR_REJECTED", "CHSK_ERR_METHOD_NOT_ALLOWED"]) {
      assert.ok(codes.has(code), `an info line for ${code}`);
    }
    // Refusals that are errors are logged as errors (here: to the "error" listener), not twice.
    assert.ok(!codes.has("CHSK_ERR_TOO_MANY_POLLS") && !codes.has("CHSK_ERR_HOOK_FAILED"));
    const info = infos.find((l) => l.fields?.["clientId"] === "w-csrf");
    assert.deepEqual(info?.fields, { transport: "ws", status: 403, code: "CHSK_ERR_BAD_CSRF", clientId: "w-csrf" });
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, "one hook failure line, however many hooks failed");
    assert.ok(errors[0]!.fields?.["error"] instanceof Error);
    assert.deepEqual(consoleStub.written, []);
  });
});

describe("the default logger and logger: null", () => {
  let stub: ReturnType<typeof stubConsole>;
  beforeEach(() => (stub = stubConsole()));
  afterEach(() => stub.restore());

  /** Two failing hooks and two failing handler calls; returns the codes of the refusals tapped. */
  async function failHooksAndHandlers(options: Partial<ServerOptions>): Promise<string[]> {
    const srv = await startServer(
      { userId: (req) => (req.query["boom"] ? Promise.reject(new Error("down")) : null), ...options },
      () => {
        throw new Error("handler bug");
      },
    );
    try {
      for (const id of ["a", "b"]) assert.equal((await ajaxGet(srv.base, `client-id=${id}&boom=1`)).status, 500);
      for (let i = 0; i < 2; i++) assert.equal((await ajaxPost(srv.base, { "client-id": "c", ppstr: "[[:my/ev 1] nil]" })).status, 200);
      await until(() => srv.events.length >= 2, 3000, "both events routed");
      return srv.taps.flatMap((t) => (t.type === "refused" ? [t.code] : []));
    } finally {
      await srv.stop();
    }
  }

  it("default: one console.error line per kind of failure (as before the logger option)", async () => {
    const codes = await failHooksAndHandlers({});
    assert.deepEqual(codes, ["CHSK_ERR_HOOK_FAILED", "CHSK_ERR_HOOK_FAILED"]);
    assert.equal(stub.written.length, 2, stub.written.join("\n"));
    assert.match(stub.written[0]!, /^error: chsk: a server hook threw \(further failures are not logged\): Error: down/);
    assert.match(stub.written[1]!, /^error: chsk: event handler failed for \[my\/ev\] \(further identical failures are not logged\): Error: handler bug/);
  });

  it("null: nothing anywhere, the taps still see every refusal", async () => {
    const codes = await failHooksAndHandlers({ logger: null });
    assert.deepEqual(codes, ["CHSK_ERR_HOOK_FAILED", "CHSK_ERR_HOOK_FAILED"]);
    assert.deepEqual(stub.written, []);
  });

  it("a router handler that throws goes to the logger given, not the console", async () => {
    const log = recordingLogger();
    await failHooksAndHandlers({ logger: log });
    const handler = log.lines.find((l) => l.msg.startsWith("event handler failed"));
    assert.ok(handler, "the handler failure");
    assert.deepEqual([handler.level, handler.fields?.["eventId"], handler.fields?.["clientId"]], ["error", "my/ev", "c"]);
    assert.deepEqual(stub.written, []);
  });

  it("a closing server refuses with 503 CHSK_ERR_SERVER_CLOSED on the tap (WS and Ajax)", async () => {
    // Routed by hand: attach() lets go of the HTTP server as soon as close() starts.
    const chsk = createServer({ csrfToken: null, logger: null, closeTimeoutMs: 2000 });
    const refusals: Refused[] = [];
    chsk.tap((e) => void (e.type === "refused" && refusals.push(e)));
    const http = createHttpServer((req, res) => void (chsk.handleRequest(req, res) || res.writeHead(404).end()));
    http.on("upgrade", (req, socket, head) => void (chsk.handleUpgrade(req, socket, head) || socket.destroy()));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as AddressInfo).port;
    try {
      // A WS peer that never answers the close frame keeps close() pending while requests arrive.
      const lingering = new Peer(port, "client-id=stay");
      await withTimeout(lingering.opened, 3000, "ws open");
      (lingering.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const closing = chsk.close();
      const get = await ajaxGet(`http://127.0.0.1:${port}`, "client-id=late-get");
      const ws = await wsRefusal(port, "client-id=late-ws", {});
      assert.deepEqual([get.status, ws.status], [503, 503]);
      assert.deepEqual(
        refusals.map((r) => [r.clientId, r.transport, r.status, r.code]),
        [
          ["late-get", "ajax", 503, "CHSK_ERR_SERVER_CLOSED"],
          ["late-ws", "ws", 503, "CHSK_ERR_SERVER_CLOSED"],
        ],
      );
      lingering.ws.terminate();
      await closing;
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    assert.deepEqual(stub.written, []);
  });

  it("a logger that throws breaks nothing", async () => {
    const boom = () => {
      throw new Error("logger down");
    };
    const srv = await startServer({ logger: { info: boom, warn: boom, error: boom }, csrfToken: () => TOKEN });
    try {
      assert.equal((await ajaxGet(srv.base, "client-id=t1")).status, 403);
      assert.equal((await ajaxGet(srv.base, "client-id=t2", { "x-csrf-token": TOKEN })).status, 200);
    } finally {
      await srv.stop();
    }
  });
});
