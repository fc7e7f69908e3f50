/**
 * `chsk call`'s library function (`runCall`) in-process, against the
 * reference app and against small servers that behave like other Sente
 * deployments (anti-forgery login, no `/csrf` route).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { type CallOptions, runCall } from "../../src/cli/call.js";
import { startReferenceServer, type ReferenceServer } from "../../src/server/demo/app.js";
import { createServer as createChskServer } from "../../src/server/index.js";
import type { ChskServer, ServerOptions } from "../../src/server/types.js";

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
    assert.match(refused.err, /^chsk call: login refused: HTTP 403 Invalid anti-forgery token$/m);
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
