/**
 * `chsk call`'s library function (`runCall`) in-process, against the
 * reference app and against small servers that behave like other Sente
 * deployments (anti-forgery login, no `/csrf` route).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { type CallOptions, runCall } from "../../src/cli/call.js";
import { startReferenceServer, type ReferenceServer } from "../../src/server/demo/app.js";
import { createServer as createChskServer } from "../../src/server/index.js";
import type { ChskServer, ServerOptions } from "../../src/server/types.js";
import type { PackerName } from "../../src/core/packers/index.js";
import { until, withTimeout } from "./server-helpers.js";

function capture() {
  const io = { out: "", err: "" };
  return {
    io,
    deps: { stdout: { write: (s: string) => (io.out += s) }, stderr: { write: (s: string) => (io.err += s) } },
  };
}

async function call(options: CallOptions, signal?: AbortSignal) {
  const { io, deps } = capture();
  const code = await runCall(options, { ...deps, ...(signal ? { signal } : {}) });
  return { code, ...io };
}

/** A call in the background: its output so far, and its end. */
function start(options: CallOptions) {
  const { io, deps } = capture();
  const done = runCall(options, deps).then((code) => ({ code, ...io }));
  return { io, done };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A plain HTTP server (not Sente) answering every request, upgrades included, with `answer`. */
async function plainServer(answer: { status: number; type: string; body: string }): Promise<{ url: string; close(): Promise<void> }> {
  const raw = `HTTP/1.1 ${answer.status} X\r\ncontent-type: ${answer.type}\r\ncontent-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n${answer.body}`;
  const http = createHttpServer((_req, res) => {
    res.writeHead(answer.status, { "content-type": answer.type });
    res.end(answer.body);
  });
  http.on("upgrade", (_req, socket: Socket) => socket.end(raw));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}`,
    async close() {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

interface Fake {
  url: string;
  chsk: ChskServer;
  close(): Promise<void>;
}

/** A chsk server plus `extra` routes on a plain Node HTTP server. */
async function fakeServer(opts: ServerOptions, extra: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void): Promise<Fake> {
  const chsk = createChskServer(opts);
  chsk.startRouter((msg) => {
    if (msg.id === "example/whoami") msg.reply?.(msg.uid);
  });
  const http: Server = createHttpServer((req, res) => {
    if (!chsk.handleRequest(req, res)) extra(req, res);
  });
  http.on("upgrade", (req, socket, head) => {
    if (!chsk.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    chsk,
    async close() {
      await chsk.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

const cookieOf = (header: string | undefined, name: string) =>
  header?.split(";").map((s) => s.trim().split("=")).find(([k]) => k === name)?.[1];

describe("runCall against the reference app", () => {
  let app: ReferenceServer;
  before(async () => {
    app = await startReferenceServer({ port: 0 });
  });
  after(() => app.close());

  test("echo; the URL may omit /chsk and may be ws://", async () => {
    const r = await call({ url: app.url.replace("http:", "ws:"), event: "[:demo/echo #{1}]" });
    assert.deepEqual(r, { code: 0, out: "#{1}\n", err: "" });
  });

  test("--cookie: an existing session (its token comes from the /csrf probe)", async () => {
    const res = await fetch(`${app.url}/login`, { method: "POST", body: new URLSearchParams({ uid: "cookie-monster" }) });
    const cookie = res.headers.getSetCookie()[0]!.split(";")[0]!;
    const r = await call({ url: `${app.url}/chsk`, cookie: `other=1; ${cookie}`, event: "[:demo/whoami]", transport: "ajax" });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\{:uid "cookie-monster", /);
  });

  test("--wait-push with --push-timeout-ms and no push → exit 3", async () => {
    const r = await call({ url: `${app.url}/chsk`, waitPush: 2, pushTimeoutMs: 300 });
    assert.equal(r.code, 3);
    assert.match(r.err, /received 0 of 2 pushes within 300 ms \(CHSK_ERR_TIMEOUT\)/);
  });

  test("an abort signal (SIGINT in the CLI) ends a wait with 130", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await call({ url: `${app.url}/chsk`, waitPush: 1 }, ac.signal);
    assert.equal(r.code, 130);
    assert.match(r.err, /interrupted/);
  });

  test("usage errors: bad URL, unknown packer", async () => {
    assert.equal((await call({ url: "ftp://x", event: "[:a/b]" })).code, 2);
    assert.equal((await call({ url: app.url, event: "[:a/b]", packer: "yaml" as never })).code, 2);
  });
});

test("--login against a Sente-example-like server: anti-forgery token scraped from /", async () => {
  const sessions = new Map<string, { token: string; uid?: string }>();
  const sessionOf = (cookies: Record<string, string>) => sessions.get(cookies["ring-session"] ?? "");
  const seen: string[] = [];
  const fake = await fakeServer(
    {
      userId: (req) => sessionOf(req.cookies)?.uid ?? null,
      csrfToken: (req) => sessionOf(req.cookies)?.token ?? null,
    },
    (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const sid = cookieOf(req.headers.cookie, "ring-session");
      const session = sid === undefined ? undefined : sessions.get(sid);
      if (req.method === "GET" && req.url === "/") {
        const id = sid && session ? sid : randomBytes(8).toString("hex");
        if (!sessions.has(id)) sessions.set(id, { token: randomBytes(12).toString("base64") });
        res.setHeader("set-cookie", `ring-session=${id}; Path=/; HttpOnly`);
        res.setHeader("content-type", "text/html");
        res.end(`<html><body><div id="sente-csrf-token" data-csrf-token="${sessions.get(id)!.token}"></div></body></html>`);
        return;
      }
      if (req.method === "POST" && req.url === "/login") {
        if (!session || req.headers["x-csrf-token"] !== session.token) {
          res.statusCode = 403;
          res.end("Invalid anti-forgery token");
          return;
        }
        let body = "";
        req.on("data", (c: Buffer) => (body += c));
        req.on("end", () => {
          session.uid = new URLSearchParams(body).get("user-id") ?? undefined;
          res.end();
        });
        return;
      }
      res.statusCode = 404;
      res.end();
    },
  );
  try {
    for (const transport of ["ws", "ajax"] as const) {
      seen.length = 0;
      const r = await call({ url: `${fake.url}/chsk`, login: "alice", transport, event: "[:example/whoami]" });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '"alice"\n');
      assert.deepEqual(seen, ["POST /login", "GET /", "POST /login"]);
    }
    const refused = await call({ url: `${fake.url}/chsk`, login: "alice", csrfToken: "wrong", event: "[:example/whoami]" });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^chsk call: login refused: HTTP 403 Invalid anti-forgery token \(CHSK_ERR_HTTP_STATUS\)$/m);
  } finally {
    await fake.close();
  }
});

test("no flags against a stock Sente app: the page's anti-forgery token and session are used", async () => {
  const tokens = new Map<string, string>();
  const fake = await fakeServer(
    { userId: () => null, csrfToken: (req) => tokens.get(req.cookies["ring-session"] ?? "") ?? null },
    (req, res) => {
      if (req.method === "GET" && req.url === "/") {
        const id = randomBytes(8).toString("hex");
        tokens.set(id, randomBytes(12).toString("base64"));
        res.setHeader("set-cookie", `ring-session=${id}; Path=/; HttpOnly`);
        res.setHeader("content-type", "text/html");
        res.end(`<div id="sente-csrf-token" data-csrf-token="${tokens.get(id)}"></div>`);
        return;
      }
      res.statusCode = 404;
      res.end();
    },
  );
  try {
    for (const transport of ["ws", "ajax"] as const) {
      const r = await call({ url: `${fake.url}/chsk`, transport, event: "[:example/whoami]" });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, "nil\n");
    }
  } finally {
    await fake.close();
  }
});

test("no /csrf route: the probe gives up quietly; --param reaches the server", async () => {
  const fake = await fakeServer({ csrfToken: null, userId: (req) => req.query["as"] ?? null }, (_req, res) => {
    res.statusCode = 404;
    res.end("nope");
  });
  try {
    const r = await call({ url: `${fake.url}/chsk`, transport: "ws", params: { as: "zed" }, verbose: true, event: "[:example/whoami]" });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '"zed"\n');
    assert.match(r.err, /\/csrf → 404/);
    assert.match(r.err, /\/ → 404/);
    assert.match(r.err, /no CSRF token from \/csrf or the page/);
  } finally {
    await fake.close();
  }
});

describe("--no-reply: fire and forget, yet sure it went", () => {
  let fake: Fake;
  const seen: Array<{ id: string; data: unknown; wantsReply: boolean; transport: string }> = [];
  before(async () => {
    // The uid comes from a header: Sente's Ajax POSTs carry no user params.
    const userId = (req: { headers: Record<string, string | string[] | undefined> }) => (req.headers["x-as"] as string | undefined) ?? null;
    fake = await fakeServer({ csrfToken: null, maxFrameBytes: 512, userId }, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    fake.chsk.startRouter((msg) => {
      if (msg.id !== "example/note") return;
      seen.push({ id: msg.id, data: msg.data, wantsReply: msg.reply !== undefined, transport: msg.transport });
      fake.chsk.send(msg.uid, ["example/noted", msg.data]);
    });
  });
  after(() => fake.close());

  for (const transport of ["ws", "ajax"] as const) {
    test(`over ${transport}: the server gets the event without a reply-fn; nothing is printed; pushes still are`, async () => {
      const before = seen.length;
      const r = await call({ url: `${fake.url}/chsk`, transport, session: false, noReply: true, headers: { "x-as": `a-${transport}` }, event: `[:example/note {:via "${transport}"}]` });
      assert.deepEqual(r, { code: 0, out: "", err: "" });
      const w = await call({ url: `${fake.url}/chsk`, transport, session: false, noReply: true, headers: { "x-as": `b-${transport}` }, waitPush: 1, pushTimeoutMs: 5000, event: "[:example/note 2]" });
      assert.deepEqual(w, { code: 0, out: "[:example/noted 2]\n", err: "" });
      // A WS frame can still be on its way when the call exits; the Ajax POST was answered.
      const deadline = Date.now() + 5000;
      while (seen.length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen.slice(before), [
        { id: "example/note", data: { via: transport }, wantsReply: false, transport },
        { id: "example/note", data: 2, wantsReply: false, transport },
      ]);
    });
  }

  test("over ajax a refused POST fails the call (exit 1) with the status", async () => {
    const big = "x".repeat(2000);
    const r = await call({ url: `${fake.url}/chsk`, transport: "ajax", session: false, noReply: true, event: `[:example/note "${big}"]` });
    assert.equal(r.code, 1, r.err);
    assert.equal(r.out, "");
    assert.match(r.err, /413/);
  });
});

describe("--wait-push: the connection ending first fails the call, saying how many arrived and why", () => {
  let app: ReferenceServer;
  before(async () => {
    app = await startReferenceServer({ port: 0 });
  });
  after(() => app.close());

  for (const transport of ["ws", "ajax"] as const) {
    test(`over ${transport}: the server closes the user's connections after 1 of 2 pushes → exit 1`, { timeout: 20_000 }, async () => {
      const uid = `closed-${transport}`;
      const c = start({ url: `${app.url}/chsk`, login: uid, transport, waitPush: 2 });
      await until(() => c.io.err.includes("waiting for 2 pushes"), 10_000, "the call to connect");
      app.chsk.send(uid, ["demo/n", 1]);
      await until(() => c.io.out === "[:demo/n 1]\n", 10_000, "the first push");
      // Closing an Ajax client drops its held poll: wait until it has re-polled.
      await until(() => app.chsk.clients().some((x) => x.uid === uid && x.connected), 10_000, "the client's next poll");
      app.chsk.closeUser(uid);
      // Before: the client reconnected and the call waited on forever.
      const r = await withTimeout(c.done, 10_000, "the call to end");
      assert.equal(r.code, 1, r.err);
      assert.equal(r.out, "[:demo/n 1]\n");
      const last = r.err.trim().split("\n").at(-1)!;
      assert.match(last, /^chsk call: the connection closed after 1 of 2 pushes: .+ \(CHSK_ERR_CLOSED\)$/);
      assert.match(last, transport === "ws" ? /the server closed it \(1000 closed by server\)/ : /the Ajax poll failed: /);
    });
  }
});

describe("a packer mismatch fails at once (exit 1), naming the server's packer", () => {
  const cases: Array<[server: PackerName, client: PackerName]> = [
    ["edn", "transit"],
    ["edn", "json"],
    ["edn", "msgpack"],
    ["edn", "gzip+edn"],
    ["transit", "edn"],
    ["json", "transit"],
    ["msgpack", "edn"],
    ["gzip+edn", "edn"],
    ["gzip+msgpack", "msgpack"],
  ];
  for (const [serverPacker, clientPacker] of cases) {
    test(`server ${serverPacker}, --packer ${clientPacker}`, { timeout: 20_000 }, async () => {
      const app = await startReferenceServer({ port: 0, packer: serverPacker });
      try {
        for (const transport of ["ws", "ajax"] as const) {
          // A long timeout: before, the mismatch showed only as a timeout (or a parser error).
          const r = await call({ url: `${app.url}/chsk`, packer: clientPacker, transport, timeoutMs: 60_000, event: "[:demo/echo 1]" });
          assert.equal(r.code, 1, `${transport}: ${r.err}`);
          assert.equal(r.out, "");
          assert.equal(r.err, `chsk call: the server speaks ${serverPacker}, not ${clientPacker}: try --packer ${serverPacker} (CHSK_ERR_PACKER_MISMATCH)\n`, transport);
        }
      } finally {
        await app.close();
      }
    });
  }
});

describe("a URL that is not a Sente endpoint: one line saying what answered", () => {
  const bigPage = (title: string) => `<!DOCTYPE html><html><head><title>${title}</title><style>body{}</style></head><body>${"<p>lorem ipsum</p>".repeat(400)}</body></html>`;

  test("another server's 404 page (the /csrf probe, WS and Ajax, and --login)", { timeout: 20_000 }, async () => {
    const srv = await plainServer({ status: 404, type: "text/html; charset=utf-8", body: bigPage("Not Found") });
    try {
      for (const transport of ["ws", "ajax", "auto"] as const) {
        const r = await call({ url: `${srv.url}/chsk`, transport, event: "[:demo/echo 1]" });
        assert.equal(r.code, 1, r.err);
        const where = transport === "ws" ? srv.url.replace("http:", "ws:") : srv.url;
        assert.equal(
          r.err,
          `chsk call: ${where}/chsk answered 404 text/html ("Not Found") — not a Sente endpoint; is the path right? (chsk serve uses /chsk) (CHSK_ERR_NOT_SENTE)\n`,
          transport,
        );
      }
      const login = await call({ url: `${srv.url}/chsk`, login: "alice", event: "[:demo/echo 1]" });
      assert.equal(login.code, 1);
      assert.equal(
        login.err,
        `chsk call: login refused: HTTP 404 text/html ("Not Found"); this server has no POST /login (chsk serve's convention): log in your own way and pass --cookie (CHSK_ERR_HTTP_STATUS)\n`,
      );
    } finally {
      await srv.close();
    }
  });

  test("a single-page app answering 200 with its page everywhere", { timeout: 20_000 }, async () => {
    const srv = await plainServer({ status: 200, type: "text/html", body: bigPage("My Shop") });
    try {
      const ws = await call({ url: `${srv.url}/chsk`, transport: "ws", event: "[:demo/echo 1]" });
      assert.equal(ws.code, 1, ws.err);
      assert.match(ws.err, /^chsk call: ws:\/\/\S+ answered 200 text\/html \("My Shop"\) — not a Sente endpoint; .* \(CHSK_ERR_NOT_SENTE\)\n$/);
      const ajax = await call({ url: `${srv.url}/chsk`, transport: "ajax", timeoutMs: 60_000, event: "[:demo/echo 1]" });
      assert.equal(ajax.code, 1, ajax.err);
      assert.match(ajax.err, /^chsk call: http:\/\/\S+ answered 200 with an HTML page \("My Shop"\) — not a Sente endpoint; .* \(CHSK_ERR_NOT_SENTE\)\n$/);
    } finally {
      await srv.close();
    }
  });

  test("a JSON API", { timeout: 20_000 }, async () => {
    const srv = await plainServer({ status: 200, type: "application/json", body: '{"status":"ok","items":[]}' });
    try {
      const r = await call({ url: `${srv.url}/api`, transport: "ajax", timeoutMs: 60_000, event: "[:demo/echo 1]" });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /answered 200 with JSON that is not a Sente message \("\{"status":"ok","items":\[\]\}"\) — not a Sente endpoint; .*\(CHSK_ERR_NOT_SENTE\)\n$/);
    } finally {
      await srv.close();
    }
  });
});

describe("the server down: the error names what was tried", () => {
  test("a ws:// URL means the WebSocket transport (no downgrade to Ajax)", async () => {
    const port = await closedPort();
    const ws = await call({ url: `ws://127.0.0.1:${port}/chsk`, session: false, event: "[:demo/echo 1]" });
    assert.equal(ws.code, 1);
    assert.equal(ws.err, `chsk call: connection failed: WebSocket ws://127.0.0.1:${port}/chsk: connection refused (ECONNREFUSED); is the server running? (CHSK_ERR_TRANSPORT)\n`);
    // --transport still wins.
    const ajax = await call({ url: `ws://127.0.0.1:${port}/chsk`, transport: "ajax", session: false, event: "[:demo/echo 1]" });
    assert.equal(ajax.err, `chsk call: connection failed: Ajax http://127.0.0.1:${port}/chsk: connection refused (ECONNREFUSED); is the server running? (CHSK_ERR_TRANSPORT)\n`);
    const auto = await call({ url: `http://127.0.0.1:${port}/chsk`, session: false, event: "[:demo/echo 1]" });
    assert.equal(
      auto.err,
      `chsk call: connection failed: WebSocket ws://127.0.0.1:${port}/chsk, then Ajax http://127.0.0.1:${port}/chsk: connection refused (ECONNREFUSED); is the server running? (CHSK_ERR_TRANSPORT)\n`,
    );
    const probe = await call({ url: `ws://127.0.0.1:${port}/chsk`, event: "[:demo/echo 1]" });
    assert.equal(probe.err, `chsk call: connection failed: GET http://127.0.0.1:${port}/csrf: connection refused (ECONNREFUSED); is the server running? (CHSK_ERR_TRANSPORT)\n`);
  });

  test("an out-of-range port is a usage error about the port", async () => {
    const r = await call({ url: "http://127.0.0.1:99999/chsk", event: "[:demo/echo 1]" });
    assert.deepEqual(r, { code: 2, out: "", err: 'chsk call: invalid URL "http://127.0.0.1:99999/chsk": port 99999 is out of range (1-65535)\n' });
  });

  test("an abort (SIGINT) during the session probe ends the call at once with 130", { timeout: 20_000 }, async () => {
    const sockets: Socket[] = [];
    const blackhole = createNetServer((s) => sockets.push(s));
    await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", r));
    const port = (blackhole.address() as { port: number }).port;
    try {
      const ac = new AbortController();
      const { io, deps } = capture();
      // Before: the probe ran to its 60 s timeout (exit 3).
      const done = runCall({ url: `http://127.0.0.1:${port}/chsk`, timeoutMs: 60_000, event: "[:demo/echo 1]" }, { ...deps, signal: ac.signal });
      await until(() => sockets.length > 0, 10_000, "the probe to connect");
      ac.abort();
      assert.equal(await withTimeout(done, 10_000, "the call to end"), 130);
      assert.equal(io.err, "chsk call: interrupted\n");
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => blackhole.close(r));
    }
  });
});

test("a port the Fetch standard bans (6665, 10080, …) works like any other", { timeout: 20_000 }, async () => {
  // Node's fetch refuses these ("bad port"); the session probe must not use it.
  let app: ReferenceServer | undefined;
  for (const port of [6665, 6666, 6667, 6668, 6669, 6697, 10080, 4190, 6000, 5061]) {
    try {
      app = await startReferenceServer({ port });
      break;
    } catch {
      // In use: try the next.
    }
  }
  assert.ok(app, "no banned port free to listen on");
  try {
    const r = await call({ url: `${app.url}/chsk`, login: "bp", event: "[:demo/whoami]" });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\{:uid "bp", /);
  } finally {
    await app.close();
  }
});

describe("--json: JSON lines on stdout", () => {
  let app: ReferenceServer;
  before(async () => {
    app = await startReferenceServer({ port: 0 });
  });
  after(() => app.close());

  test("open, reply and pushes, EDN mapped to JSON", async () => {
    const r = await call({
      url: `${app.url}/chsk`,
      json: true,
      login: "jay",
      transport: "ajax",
      waitPush: 1,
      event: '[:demo/push {:uid "jay" :event [:demo/hi {:s #{:a} :n 9007199254740993 :t #inst "2020-01-01T00:00:00.000Z"}]}]',
    });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split("\n"), [
      '{"type":"open","transport":"ajax","uid":"jay"}',
      '{"type":"reply","value":"ok"}',
      '{"type":"push","id":"demo/hi","data":{"s":["a"],"n":9007199254740993,"t":"2020-01-01T00:00:00.000Z"}}',
    ]);
  });

  test("--no-reply prints a sent line; a failure an error line (and the usual stderr line)", async () => {
    const sent = await call({ url: `${app.url}/chsk`, json: true, noReply: true, event: "[:demo/echo 1]" });
    assert.deepEqual(sent.out.trim().split("\n").map((l) => JSON.parse(l).type), ["open", "sent"]);
    const r = await call({ url: `${app.url}/chsk`, json: true, timeoutMs: 300, event: "[:demo/nobody-home 1]" });
    assert.equal(r.code, 3);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.at(-1), { type: "error", code: "CHSK_ERR_TIMEOUT", message: "no reply within 300 ms", exit: 3 });
    assert.equal(r.err, "chsk call: no reply within 300 ms (CHSK_ERR_TIMEOUT)\n");
  });

  test("--push-timeout-ms without --wait-push is a usage error", async () => {
    const r = await call({ url: `${app.url}/chsk`, pushTimeoutMs: 100, event: "[:demo/echo 1]" });
    assert.deepEqual(r, { code: 2, out: "", err: "chsk call: --push-timeout-ms needs --wait-push N\n" });
  });
});

describe("an EVENT the packer can't write: a usage error (exit 2) before connecting", () => {
  const cases: [string, RegExp][] = [
    ["[:demo/echo 12345678901234567890]", /cannot write the bigint 12345678901234567890 .*as JSON/],
    ["[:demo/echo {1 :one}]", /cannot write a Map with a number key as JSON/],
  ];
  for (const [event, why] of cases) {
    test(`--packer json ${event}`, async () => {
      // Nothing listens: only a check before connecting can answer with exit 2.
      const port = await closedPort();
      const url = `http://127.0.0.1:${port}/chsk`;
      const r = await call({ url, packer: "json", event });
      assert.equal(r.code, 2, r.err);
      assert.equal(r.out, "");
      assert.match(r.err, /^chsk call: the EVENT can't be written in json: .* \(CHSK_ERR_UNSUPPORTED_VALUE\)\n$/);
      assert.match(r.err, why);
      const j = await call({ url, packer: "json", json: true, noReply: true, event });
      assert.equal(j.code, 2);
      const line = JSON.parse(j.out) as Record<string, unknown>;
      assert.deepEqual({ ...line, message: undefined }, { type: "error", code: "CHSK_ERR_UNSUPPORTED_VALUE", message: undefined, exit: 2 });
    });
  }

  test("the same EVENT in a packer that can write it goes through", async () => {
    const app = await startReferenceServer({ port: 0, packer: "transit" });
    try {
      const r = await call({ url: `${app.url}/chsk`, packer: "transit", event: "[:demo/echo 12345678901234567890]" });
      assert.deepEqual(r, { code: 0, out: "12345678901234567890\n", err: "" });
    } finally {
      await app.close();
    }
  });
});

describe("--login and --csrf-token", () => {
  test("--login with an empty or blank uid is a usage error (exit 2), before any request", async () => {
    const port = await closedPort();
    for (const login of ["", "  "]) {
      const r = await call({ url: `http://127.0.0.1:${port}/chsk`, login, event: "[:demo/whoami]" });
      assert.deepEqual(r, { code: 2, out: "", err: "chsk call: --login needs a uid, not an empty or blank one\n" });
    }
  });

  test("both: the token goes with the login; the socket uses the login's own token if it answers one, else the given one", async () => {
    // A Sente-example-like login: guarded by the session's anti-forgery token, keeps the session (no token in the answer).
    const sessions = new Map<string, { token: string; uid?: string }>();
    const sessionOf = (cookies: Record<string, string>) => sessions.get(cookies["ring-session"] ?? "");
    const seen: string[] = [];
    const fake = await fakeServer(
      { userId: (req) => sessionOf(req.cookies)?.uid ?? null, csrfToken: (req) => sessionOf(req.cookies)?.token ?? null },
      (req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers["x-csrf-token"] ?? "-"}`);
        const session = sessions.get(cookieOf(req.headers.cookie, "ring-session") ?? "");
        if (req.method === "POST" && req.url === "/login" && session && req.headers["x-csrf-token"] === session.token) {
          let body = "";
          req.on("data", (c: Buffer) => (body += c));
          req.on("end", () => {
            session.uid = new URLSearchParams(body).get("uid") ?? undefined;
            res.end();
          });
          return;
        }
        res.statusCode = 403;
        res.end("Invalid anti-forgery token");
      },
    );
    const app = await startReferenceServer({ port: 0 });
    try {
      sessions.set("s1", { token: "tok-1" });
      const kept = await call({ url: `${fake.url}/chsk`, cookie: "ring-session=s1", csrfToken: "tok-1", login: "ann", event: "[:example/whoami]" });
      assert.deepEqual(kept, { code: 0, out: '"ann"\n', err: "" });
      assert.deepEqual(seen, ["POST /login tok-1"], "the given token went with the login; no probe, no scraping");

      // chsk serve's login starts a new session and answers its token: that one is used (and --verbose says so).
      const fresh = await call({ url: `${app.url}/chsk`, csrfToken: "not-the-new-sessions", login: "bo", verbose: true, event: "[:demo/whoami]" });
      assert.equal(fresh.code, 0, fresh.err);
      assert.match(fresh.out, /^\{:uid "bo", /);
      assert.match(fresh.err, /--csrf-token went with the login; the socket uses the token the login answered with/);
    } finally {
      await fake.close();
      await app.close();
    }
  });
});

describe("--json: an interruption", () => {
  test('SIGINT is {"code":null,…,"exit":130}, not a transport error', async () => {
    const app = await startReferenceServer({ port: 0 });
    try {
      const ac = new AbortController();
      const { io, deps } = capture();
      const done = runCall({ url: `${app.url}/chsk`, json: true, waitPush: 1 }, { ...deps, signal: ac.signal });
      await until(() => io.out.includes('"type":"open"'), 10_000, "the open line");
      ac.abort();
      assert.equal(await withTimeout(done, 10_000, "the call to end"), 130);
      const lines = io.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.at(-1), { type: "error", code: null, message: "interrupted", exit: 130 });
    } finally {
      await app.close();
    }
  });

  test('a usage error without a code is {"code":null,…,"exit":2}', async () => {
    const r = await call({ url: "ftp://x", json: true, event: "[:a/b]" });
    assert.equal(r.code, 2);
    assert.equal((JSON.parse(r.out) as { code: unknown }).code, null);
  });
});

describe("limits", () => {
  test("a handshake too large to read fails the call at once (auto mode: no wait for a downgrade), naming the code", { timeout: 20_000 }, async () => {
    const fake = await fakeServer({ csrfToken: null, handshakeData: () => "h".repeat(2_000_000) }, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    try {
      for (const transport of ["auto", "ws", "ajax"] as const) {
        // A timeout far beyond the test's own: waiting for it would fail the test.
        const r = await call({ url: `${fake.url}/chsk`, transport, session: false, timeoutMs: 600_000, event: "[:demo/echo 1]" });
        assert.equal(r.code, 1, `${transport}: ${r.err}`);
        const tried = transport === "ajax" ? `Ajax ${fake.url}/chsk` : `WebSocket ${fake.url.replace("http:", "ws:")}/chsk`;
        assert.equal(r.err, `chsk call: connection failed: ${tried}: its handshake is beyond this client's limits: EDN input larger than maxBytes 1048576 (CHSK_ERR_FRAME_TOO_LARGE)\n`);
      }
    } finally {
      await fake.close();
    }
  });

  test("a handshake nested too deep to read: the same, with CHSK_ERR_EDN_DEPTH (not taken for a non-Sente answer)", { timeout: 20_000 }, async () => {
    const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
    const fake = await fakeServer({ csrfToken: null, handshakeData: () => nested(80) }, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    try {
      const r = await call({ url: `${fake.url}/chsk`, session: false, timeoutMs: 600_000, event: "[:demo/echo 1]" });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /: its handshake is beyond this client's limits: .* \(CHSK_ERR_EDN_DEPTH\)\n$/);
    } finally {
      await fake.close();
    }
  });

  test("ws: an EVENT over the server's maxFrameBytes: the 1009 close is named, with CHSK_ERR_FRAME_TOO_LARGE", { timeout: 20_000 }, async () => {
    const fake = await fakeServer({ csrfToken: null, maxFrameBytes: 256 }, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    try {
      const r = await call({ url: `${fake.url}/chsk`, transport: "ws", session: false, timeoutMs: 600_000, event: `[:example/whoami "${"x".repeat(300)}"]` });
      assert.equal(r.code, 1, r.err);
      assert.equal(r.err, "chsk call: the connection closed before the reply (1009 message too big): the server refused the EVENT as too large (CHSK_ERR_FRAME_TOO_LARGE)\n");
    } finally {
      await fake.close();
    }
  });
});
