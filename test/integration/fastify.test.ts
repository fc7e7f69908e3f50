/**
 * chsk registered in a real Fastify 5 app with `fastifyAdapter`, driven by
 * the real chsk Node client over both transports: at the root and under a
 * register prefix, with Fastify's own body parsing (none for chsk's types,
 * or an app-wide parser), next to another WebSocket user on the same
 * server, with a cookie session, a mis-set path, and `app.close()`.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import WebSocket, { WebSocketServer } from "ws";
import { isChskError, type ChskError } from "../../src/core/protocol/errors.js";
import { createServer, fastifyAdapter, type ChskServer, type ServerOptions } from "../../src/server/index.js";
import { closeClients, connect, ednBytesPacker, nextPush, roundTrip } from "./framework-helpers.js";
import { until, withTimeout } from "./server-helpers.js";

interface FastifyHarness {
  chsk: ChskServer;
  app: FastifyInstance;
  url: string;
  origin: string;
  errors: ChskError[];
  stop(): Promise<void>;
}

/** The README recipe, plus test knobs: `setup` runs on the app before chsk is registered. */
async function startFastify(
  opts: { prefix?: string; chsk?: Partial<ServerOptions>; setup?: (app: FastifyInstance) => void } = {},
): Promise<FastifyHarness> {
  const prefix = opts.prefix ?? "";
  // --- recipe: Fastify ---
  const chsk = createServer({
    path: `${prefix}/chsk`, // the public path: register prefix included
    csrfToken: null,
    userId: (req) => req.cookies["uid"] ?? null,
    ...opts.chsk,
  });
  chsk.startRouter((msg) => {
    if (msg.id === "test/echo") msg.reply?.(msg.data);
    if (msg.id === "test/where") msg.reply?.({ path: msg.req.path, transport: msg.transport, uid: msg.uid });
  });

  const app = Fastify();
  opts.setup?.(app);
  await app.register(fastifyAdapter(chsk), { prefix }); // Ajax routes + WebSocket upgrades; app.close() closes chsk
  await app.listen({ port: 0, host: "127.0.0.1" });
  // --- end recipe ---
  const errors: ChskError[] = [];
  chsk.on("error", (e) => errors.push(e));
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { chsk, app, origin, url: `${origin}${prefix}/chsk`, errors, stop: () => app.close() };
}


for (const prefix of ["", "/rt"]) {
  describe(`Fastify, chsk registered ${prefix ? `under ${prefix}` : "at the root"}`, () => {
    for (const type of ["ws", "ajax"] as const) {
      test(`${type}: echo with a reply, and a push arrives`, async () => {
        const h = await startFastify({ prefix });
        try {
          await roundTrip(h, type, `u-${type}`);
        } finally {
          await closeClients();
          await h.stop();
        }
      });
    }

    test("ajax with a binary packer: application/octet-stream POSTs get through (Fastify alone answers 415)", async () => {
      const h = await startFastify({ prefix });
      try {
        await roundTrip(h, "ajax", "bytes", ednBytesPacker());
      } finally {
        await closeClients();
        await h.stop();
      }
    });
  });
}

test("Fastify: chsk's body parsers stay inside its plugin; the app's other routes keep answering 415", async () => {
  const h = await startFastify({
    prefix: "/rt",
    setup: (app) => void app.post("/form", async () => "ok"),
  });
  try {
    const r = await fetch(`${h.origin}/form`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
      signal: AbortSignal.timeout(3000),
    });
    assert.equal(r.status, 415);
  } finally {
    await h.stop();
  }
});

describe("Fastify: an app-wide body parser read chsk's body first", () => {
  const formParser = (app: FastifyInstance) =>
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
  const bytesParser = (app: FastifyInstance) =>
    app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  test("a form parser (like @fastify/formbody): the parsed fields are used", async () => {
    const h = await startFastify({ prefix: "/rt", setup: formParser });
    try {
      await roundTrip(h, "ajax", "form");
      assert.deepEqual(h.errors, []);
    } finally {
      await closeClients();
      await h.stop();
    }
  });

  test("an octet-stream parser with a binary packer: the parsed Buffer is used", async () => {
    const h = await startFastify({ setup: bytesParser });
    try {
      await roundTrip(h, "ajax", "bytes", ednBytesPacker());
      assert.deepEqual(h.errors, []);
    } finally {
      await closeClients();
      await h.stop();
    }
  });

  test("a parser that left nothing usable: a clear 500 CHSK_ERR_BODY_CONSUMED", async () => {
    const h = await startFastify({
      setup: (app) =>
        app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
          done(null, new Map([["raw", body]])),
        ),
    });
    try {
      const c = connect(h.url, "ajax", { uid: "x" });
      await withTimeout(c.whenOpen(), 3000, "open");
      await assert.rejects(c.send(["test/echo", 1], 3000), (e: ChskError) => {
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

describe("Fastify: another WebSocket user on the same server", () => {
  /** A `ws` server on /other that authenticates asynchronously before taking the socket. */
  function otherUpgradeUser(app: FastifyInstance): WebSocketServer {
    const wss = new WebSocketServer({ noServer: true });
    wss.on("connection", (ws) => ws.on("message", (d) => ws.send(`other:${d.toString()}`)));
    app.server.on("upgrade", (req, socket, head) => {
      if (!req.url?.startsWith("/other")) return;
      setImmediate(() => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
    });
    return wss;
  }
  async function otherEcho(origin: string): Promise<string> {
    const ws = new WebSocket(`${origin.replace("http", "ws")}/other`);
    try {
      await withTimeout(new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), 3000, "/other open");
      const reply = withTimeout(new Promise<string>((resolve) => ws.once("message", (d) => resolve(d.toString()))), 3000, "/other reply");
      ws.send("ping");
      return await reply;
    } finally {
      ws.close();
    }
  }

  for (const order of ["before", "after"] as const) {
    test(`its upgrades (listener registered ${order} chsk's) are left alone, and chsk's work`, async () => {
      let wss: WebSocketServer | undefined;
      const h = await startFastify({ prefix: "/rt", setup: (app) => void (order === "before" && (wss = otherUpgradeUser(app))) });
      if (order === "after") wss = otherUpgradeUser(h.app);
      try {
        const c = connect(h.url, "ws", { uid: "both" });
        await withTimeout(c.whenOpen(), 3000, "chsk open");
        assert.equal(await otherEcho(h.origin), "other:ping");
        assert.equal(await c.send(["test/echo", "chsk"], 3000), "chsk");
        assert.equal(await otherEcho(h.origin), "other:ping");
      } finally {
        await closeClients();
        wss?.close();
        for (const ws of wss?.clients ?? []) ws.terminate();
        await h.stop();
      }
    });
  }
});

test("Fastify: attaching chsk to app.server again is refused at once (the plugin already did)", async () => {
  const h = await startFastify();
  try {
    assert.throws(() => h.chsk.attach(h.app.server, { requests: false }), TypeError);
    const c = connect(h.url, "ws", { uid: "once" });
    await withTimeout(c.whenOpen(), 3000, "open");
    assert.equal(await c.send(["test/echo", 1], 3000), 1);
  } finally {
    await closeClients();
    await h.stop();
  }
});

test("Fastify: a chsk path outside the register prefix fails app.ready() with CHSK_ERR_PATH_MISMATCH", async () => {
  const chsk = createServer({ path: "/chsk", csrfToken: null });
  const app = Fastify();
  try {
    void app.register(fastifyAdapter(chsk), { prefix: "/rt" });
    await assert.rejects(async () => void (await app.ready()), (e: ChskError) => {
      assert.equal(e.code, "CHSK_ERR_PATH_MISMATCH");
      assert.deepEqual(e.detail, { path: "/chsk", prefix: "/rt", publicPath: "/rt/chsk" });
      return true;
    });
  } finally {
    await app.close().catch(() => {});
    await chsk.close();
  }
});

test("Fastify: nested prefixes add up (register in a plugin under /api, chsk under /rt → /api/rt/chsk)", async () => {
  const chsk = createServer({ path: "/api/rt/chsk", csrfToken: null });
  chsk.startRouter((msg) => void (msg.id === "test/echo" && msg.reply?.(msg.data)));
  const app = Fastify();
  await app.register(async (api) => void (await api.register(fastifyAdapter(chsk), { prefix: "/rt" })), { prefix: "/api" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/rt/chsk`;
    for (const type of ["ws", "ajax"] as const) {
      const c = connect(url, type);
      await withTimeout(c.whenOpen(), 3000, "open");
      assert.equal(await c.send(["test/echo", type], 3000), type);
    }
  } finally {
    await app.close();
    await closeClients();
  }
});

describe("Fastify: session and CSRF through the app", () => {
  const sessions = new Map<string, { uid: string; csrf: string }>();
  const sessionOf = (sid: string | undefined) => (sid === undefined ? undefined : sessions.get(sid));
  const start = () =>
    startFastify({
      prefix: "/rt",
      chsk: {
        userId: (req) => sessionOf(req.cookies["sid"])?.uid ?? null,
        csrfToken: (req) => sessionOf(req.cookies["sid"])?.csrf ?? null,
      },
      setup: (app) => {
        app.post<{ Querystring: { user: string } }>("/login", async (req, reply) => {
          const sid = randomUUID();
          const csrf = randomUUID();
          sessions.set(sid, { uid: req.query.user, csrf });
          void reply.header("set-cookie", `sid=${sid}; Path=/; HttpOnly`);
          return { csrf };
        });
      },
    });

  for (const type of ["ws", "ajax"] as const) {
    test(`${type}: the session's user and token are accepted; a wrong token is refused 403`, async () => {
      const h = await start();
      try {
        const r = await fetch(`${h.origin}/login?user=bob-${type}`, { method: "POST", signal: AbortSignal.timeout(3000) });
        const cookie = r.headers.getSetCookie()[0]!.split(";")[0]!;
        const { csrf } = (await r.json()) as { csrf: string };
        const c = connect(h.url, type, { headers: { cookie }, csrfToken: csrf });
        assert.equal((await withTimeout(c.whenOpen(), 3000, "open"))?.uid, `bob-${type}`);
        assert.deepEqual(await c.send(["test/where"], 3000), { path: "/rt/chsk", transport: type, uid: `bob-${type}` });

        const bad = connect(h.url, type, { headers: { cookie }, csrfToken: "not-the-token" });
        await until(() => bad.state.lastError?.status === 403, 3000, "a 403");
        assert.equal(bad.state.open, false);
      } finally {
        await closeClients();
        await h.stop();
      }
    });
  }
});

test("Fastify: app.close() closes chsk: WebSockets get 1001, held polls are answered, and close() resolves", async () => {
  const h = await startFastify({ prefix: "/rt" });
  try {
    const ws = connect(h.url, "ws", { uid: "w" });
    const ajax = connect(h.url, "ajax", { uid: "a" });
    await Promise.all([ws.whenOpen(), ajax.whenOpen()]);
    await until(() => h.chsk.connectedUids.ajax.has("a") && h.chsk.connectedUids.ws.has("w"), 3000, "both connected");
    const wsClosed = new Promise<number | undefined>((resolve) => {
      const off = ws.on("state", (ch) => void (ch.closed && (off(), resolve(ch.new.lastWsClose?.code))));
    });
    await withTimeout(h.app.close(), 5000, "app.close()");
    assert.equal(await withTimeout(wsClosed, 3000, "ws close"), 1001);
    assert.equal(h.chsk.clients().length, 0);
    // chsk is closed, not just detached.
    assert.equal(h.app.server.listenerCount("upgrade"), 0);
    assert.throws(() => h.chsk.attach(h.app.server), (e) => isChskError(e, "CHSK_ERR_SERVER_CLOSED"));
  } finally {
    await closeClients();
  }
});
