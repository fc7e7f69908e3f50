/**
 * chsk mounted in a real Express 5 app with `expressAdapter`, driven by the
 * real chsk Node client over both transports: at the root and under a
 * mount prefix, behind every global body parser Express ships, behind
 * middlewares that swallow the body (a clear 500, never a hang), with a
 * cookie session read in the hooks, a mis-set path, and shutdown.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import express, { type RequestHandler } from "express";
import { isChskError, type ChskError } from "../../src/core/protocol/errors.js";
import { createServer, expressAdapter, type ChskServer, type Packer, type ServerOptions } from "../../src/server/index.js";
import { closeClients, connect, ednBytesPacker, nextPush, roundTrip } from "./framework-helpers.js";
import { until, withTimeout } from "./server-helpers.js";

interface ExpressHarness {
  chsk: ChskServer;
  server: HttpServer;
  /** The public chsk URL, `http://127.0.0.1:port/rt/chsk`. */
  url: string;
  origin: string;
  errors: ChskError[];
  stop(): Promise<void>;
}

/**
 * The README recipe, plus test knobs: `before` middlewares go in front of
 * chsk (body parsers, …), `prefix` is the mount prefix.
 */
async function startExpress(
  opts: { prefix?: string; before?: RequestHandler[]; chsk?: Partial<ServerOptions>; setup?: (app: express.Express) => void } = {},
): Promise<ExpressHarness> {
  const prefix = opts.prefix ?? "";
  // --- recipe: Express ---
  const chsk = createServer({
    path: `${prefix}/chsk`, // the public path: mount prefix included
    csrfToken: null,
    userId: (req) => req.cookies["uid"] ?? null,
    ...opts.chsk,
  });
  chsk.startRouter((msg) => {
    if (msg.id === "test/echo") msg.reply?.(msg.data);
    if (msg.id === "test/where") msg.reply?.({ path: msg.req.path, transport: msg.transport, uid: msg.uid });
  });

  const app = express();
  for (const mw of opts.before ?? []) app.use(mw); // e.g. express.urlencoded({ extended: true })
  opts.setup?.(app);
  if (prefix === "") app.use(expressAdapter(chsk));
  else app.use(prefix, expressAdapter(chsk));
  const server = app.listen(0, "127.0.0.1");
  chsk.attach(server, { requests: false }); // WebSocket upgrades: Express doesn't route them
  // --- end recipe ---
  await once(server, "listening");
  const errors: ChskError[] = [];
  chsk.on("error", (e) => errors.push(e));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    chsk,
    server,
    origin,
    url: `${origin}${prefix}/chsk`,
    errors,
    async stop() {
      await chsk.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}


/** A raw Ajax POST to chsk (what the client sends: form + `X-Requested-With`), bounded. */
async function post(url: string, ppstr: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
    body: new URLSearchParams({ udt: "1", "client-id": "raw-post", ppstr }).toString(),
    signal: AbortSignal.timeout(3000),
  });
  return { status: res.status, body: await res.text() };
}

for (const prefix of ["", "/rt"]) {
  describe(`Express, chsk mounted at ${prefix || "the root"}`, () => {
    for (const type of ["ws", "ajax"] as const) {
      test(`${type}: echo with a reply, and a push arrives`, async () => {
        const h = await startExpress({ prefix });
        try {
          await roundTrip(h, type, `u-${type}`);
        } finally {
          await closeClients();
          await h.stop();
        }
      });
    }
  });
}

describe("Express: global body parsers in front of chsk", () => {
  const parsers: [string, RequestHandler, Packer?][] = [
    ["express.json()", express.json()],
    ["express.urlencoded({ extended: true })", express.urlencoded({ extended: true })],
    ["express.urlencoded({ extended: false })", express.urlencoded({ extended: false })],
    ["express.raw()", express.raw()],
    ["express.text()", express.text()],
    // Parsers told to read every body do read chsk's: the parsed copy is used.
    ['express.raw({ type: "*/*" })', express.raw({ type: "*/*" })],
    ['express.text({ type: "*/*" })', express.text({ type: "*/*" })],
    // Binary packers POST application/octet-stream, which express.raw() reads by default.
    ["express.raw(), binary packer", express.raw(), ednBytesPacker()],
    ['express.raw({ type: "*/*" }), binary packer', express.raw({ type: "*/*" }), ednBytesPacker()],
  ];
  for (const [name, parser, packer] of parsers) {
    for (const prefix of ["", "/rt"]) {
      test(`${name}${prefix ? " under /rt" : ""}: Ajax still works`, async () => {
        const h = await startExpress({ prefix, before: [parser] });
        try {
          await roundTrip(h, "ajax", "parsed", packer);
          assert.deepEqual(h.errors, []);
        } finally {
          await closeClients();
          await h.stop();
        }
      });
    }
  }

  test('express.text({ type: "*/*" }) with a binary packer: the bytes are lost to text decoding, so a clear 500 CHSK_ERR_BODY_CONSUMED', async () => {
    const h = await startExpress({ before: [express.text({ type: "*/*" })] });
    try {
      const c = connect(h.url, "ajax", { uid: "bin", packer: ednBytesPacker() });
      await withTimeout(c.whenOpen(), 3000, "open");
      await assert.rejects(c.send(["test/echo", 1], 3000), (e: ChskError) => {
        assert.equal(e.code, "CHSK_ERR_TRANSPORT");
        assert.equal(e.status, 500);
        assert.match(e.message, /CHSK_ERR_BODY_CONSUMED/);
        return true;
      });
      assert.ok(h.errors.some((e) => isChskError(e, "CHSK_ERR_BODY_CONSUMED")));
    } finally {
      await closeClients();
      await h.stop();
    }
  });
});

describe("Express: a middleware that took the body", () => {
  const swallowers: [string, RequestHandler][] = [
    // Read it all, kept nothing.
    ["drained to the end, no req.body", (req, _res, next) => void req.on("data", () => {}).on("end", () => next())],
    // Neither ended nor parsed: it took the first chunk, paused, and moved on.
    ["read halfway, paused, no req.body", (req, _res, next) => void req.once("data", () => (req.pause(), next()))],
    // Read, but left something chsk can't read a form from.
    ["parsed into an array", (req, _res, next) => void req.on("data", () => {}).on("end", () => ((req.body = ["x"]), next()))],
  ];
  for (const [name, mw] of swallowers) {
    test(`${name}: POST answered 500 CHSK_ERR_BODY_CONSUMED, not left hanging`, async () => {
      const h = await startExpress({ prefix: "/rt", before: [mw] });
      try {
        const r = await post(h.url, "[[:test/echo 1] :ajax]");
        assert.equal(r.status, 500);
        assert.match(r.body, /^CHSK_ERR_BODY_CONSUMED: /);
        assert.ok(h.errors.some((e) => isChskError(e, "CHSK_ERR_BODY_CONSUMED") && e.status === 500));
      } finally {
        await h.stop();
      }
    });
  }

  test("a middleware that only paused the stream: chsk resumes it and reads the body", async () => {
    const h = await startExpress({ before: [(req, _res, next) => (req.pause(), next())] });
    try {
      const r = await post(h.url, "[[:test/echo 1] :ajax]");
      assert.deepEqual(r, { status: 200, body: "[1 nil]" });
    } finally {
      await h.stop();
    }
  });

  test("a passive data listener (a logger counting bytes) that read nothing yet: chsk reads alongside it", async () => {
    let seen = 0;
    const h = await startExpress({ before: [(req, _res, next) => (req.on("data", (c: Buffer) => (seen += c.length)), next())] });
    try {
      assert.deepEqual(await post(h.url, "[[:test/echo 3] :ajax]"), { status: 200, body: "[3 nil]" });
      assert.ok(seen > 0);
    } finally {
      await h.stop();
    }
  });

  test("a stray req.body on an untouched stream is ignored: chsk reads the stream", async () => {
    const h = await startExpress({ before: [(req, _res, next) => ((req.body = {}), next())] });
    try {
      assert.deepEqual(await post(h.url, "[[:test/echo 2] :ajax]"), { status: 200, body: "[2 nil]" });
    } finally {
      await h.stop();
    }
  });
});

test("Express: a path that leaves out the mount prefix is a loud 500 CHSK_ERR_PATH_MISMATCH, not a 404", async () => {
  const h = await startExpress({ prefix: "/rt", chsk: { path: "/chsk" } });
  try {
    const r = await fetch(`${h.origin}/rt/chsk?client-id=c1&handshake%3F=1`, { signal: AbortSignal.timeout(3000) });
    assert.equal(r.status, 500);
    const body = await r.text();
    assert.match(body, /^CHSK_ERR_PATH_MISMATCH: /);
    assert.match(body, /path: "\/rt\/chsk"/);
    const e = h.errors.find((x) => isChskError(x, "CHSK_ERR_PATH_MISMATCH"));
    assert.deepEqual(e?.detail, { path: "/chsk", prefix: "/rt", publicPath: "/rt/chsk" });
    // Other paths under the prefix still reach the app.
    assert.equal((await fetch(`${h.origin}/rt/other`, { signal: AbortSignal.timeout(3000) })).status, 404);
  } finally {
    await h.stop();
  }
});

test("Express: chsk mounted at its own path (app.use('/chsk', …))", async () => {
  const chsk = createServer({ csrfToken: null, userId: (req) => req.cookies["uid"] ?? null });
  chsk.startRouter((msg) => void (msg.id === "test/echo" && msg.reply?.(msg.data)));
  const app = express();
  app.use(express.urlencoded({ extended: true }));
  app.use("/chsk", expressAdapter(chsk));
  const server = app.listen(0, "127.0.0.1");
  chsk.attach(server, { requests: false });
  await once(server, "listening");
  try {
    for (const type of ["ws", "ajax"] as const) {
      const c = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chsk`, type, { uid: "self" });
      await withTimeout(c.whenOpen(), 3000, "open");
      assert.equal(await c.send(["test/echo", type], 3000), type);
    }
  } finally {
    await closeClients();
    await chsk.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe("Express: session and CSRF through the app", () => {
  const sessions = new Map<string, { uid: string; csrf: string }>();
  const sessionOf = (sid: string | undefined) => (sid === undefined ? undefined : sessions.get(sid));
  const start = () =>
    startExpress({
      prefix: "/rt",
      before: [express.urlencoded({ extended: false })],
      chsk: {
        // The hooks read the session cookie themselves: WebSocket upgrades never pass through Express middleware.
        userId: (req) => sessionOf(req.cookies["sid"])?.uid ?? null,
        csrfToken: (req) => sessionOf(req.cookies["sid"])?.csrf ?? null,
      },
      setup: (app) => {
        app.post("/login", (req, res) => {
          const sid = randomUUID();
          const csrf = randomUUID();
          sessions.set(sid, { uid: String(req.query["user"]), csrf });
          res.cookie("sid", sid, { httpOnly: true, path: "/" }).json({ csrf });
        });
      },
    });
  async function login(h: ExpressHarness, user: string): Promise<{ cookie: string; csrf: string }> {
    const r = await fetch(`${h.origin}/login?user=${user}`, { method: "POST", signal: AbortSignal.timeout(3000) });
    const cookie = r.headers.getSetCookie()[0]!.split(";")[0]!;
    return { cookie, csrf: ((await r.json()) as { csrf: string }).csrf };
  }

  for (const type of ["ws", "ajax"] as const) {
    test(`${type}: the session's user and token are accepted; a wrong token is refused 403`, async () => {
      const h = await start();
      try {
        const s = await login(h, `alice-${type}`);
        const c = connect(h.url, type, { headers: { cookie: s.cookie }, csrfToken: s.csrf });
        assert.equal((await withTimeout(c.whenOpen(), 3000, "open"))?.uid, `alice-${type}`);
        assert.deepEqual(await c.send(["test/where"], 3000), { path: "/rt/chsk", transport: type, uid: `alice-${type}` });

        const bad = connect(h.url, type, { headers: { cookie: s.cookie }, csrfToken: "not-the-token" });
        await until(() => bad.state.lastError?.status === 403, 3000, "a 403");
        assert.equal(bad.state.open, false);
      } finally {
        await closeClients();
        await h.stop();
      }
    });
  }
});

test("Express: closing chsk, then the HTTP server, ends both transports' clients and the server closes", async () => {
  const h = await startExpress({ prefix: "/rt", before: [express.urlencoded({ extended: true })] });
  try {
    const ws = connect(h.url, "ws", { uid: "w" });
    const ajax = connect(h.url, "ajax", { uid: "a" });
    await Promise.all([ws.whenOpen(), ajax.whenOpen()]);
    await until(() => h.chsk.connectedUids.ajax.has("a"), 3000, "ajax poll held");
    const wsClosed = new Promise<number | undefined>((resolve) => {
      const off = ws.on("state", (ch) => void (ch.closed && (off(), resolve(ch.new.lastWsClose?.code))));
    });
    await withTimeout(h.chsk.close(), 3000, "chsk.close()");
    await withTimeout(new Promise<void>((resolve) => h.server.close(() => resolve())), 3000, "server.close()");
    assert.equal(await withTimeout(wsClosed, 3000, "ws close"), 1001);
    assert.equal(h.chsk.clients().length, 0);
  } finally {
    await closeClients();
    h.server.closeAllConnections();
  }
});
