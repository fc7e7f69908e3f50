/**
 * `bootstrapSession` (the Node client's login / CSRF / cookie bootstrap)
 * against real HTTP servers on loopback that behave like the deployments
 * it meets: `chsk serve` (`/csrf`, `POST /login`), a stock Sente app (the
 * token in the page), Sente's example project (login guarded by
 * ring-anti-forgery), servers that refuse, hang or are not there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import { after, describe, test } from "node:test";
import { bootstrapSession, CookieJar, isChskError, scrapeCsrfToken } from "../../src/core/client/index.node.js";
import type { ChskError } from "../../src/core/protocol/errors.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A server answering with `handler`; `seen` lists its requests. */
async function server(handler: (req: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const http: Server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  return {
    url,
    seen,
    async close() {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

const cookieOf = (header: string | undefined, name: string) =>
  header
    ?.split(";")
    .map((p) => p.trim().split("="))
    .find(([k]) => k === name)?.[1];

async function rejection(p: Promise<unknown>): Promise<ChskError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isChskError(e), `a ChskError, not ${String(e)}`);
    return e;
  }
  assert.fail("expected a rejection");
}

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function track<T extends { close(): Promise<void> }>(s: Promise<T>): Promise<T> {
  const x = await s;
  servers.push(x);
  return x;
}

describe("CookieJar and scrapeCsrfToken", () => {
  test("CookieJar: initial cookies, Set-Cookie updates and expiry", () => {
    const jar = new CookieJar("a=1; b=2");
    jar.update(["b=3; Path=/; HttpOnly", "c=4", "a=; Max-Age=0", "d=5; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
    assert.equal(jar.header(), "b=3; c=4");
    assert.equal(jar.get("c"), "4");
    assert.equal(new CookieJar().header(), undefined);
  });

  test("scrapeCsrfToken: Sente's data attribute, meta tags, anti-forgery fields", () => {
    assert.equal(scrapeCsrfToken('<div id="sente-csrf-token" data-csrf-token="abc+/=="></div>'), "abc+/==");
    assert.equal(scrapeCsrfToken('<meta name="csrf-token" content="t&amp;1">'), "t&1");
    assert.equal(scrapeCsrfToken("<meta content='m2' name='csrf-token'>"), "m2");
    assert.equal(scrapeCsrfToken('<input type="hidden" name="__anti-forgery-token" value="f&#x2B;3">'), "f+3");
    assert.equal(scrapeCsrfToken("<p>nothing</p>"), undefined);
  });
});

describe("bootstrapSession", () => {
  test("the /csrf probe: its JSON token, its cookie in the client headers, the given headers on every request", async () => {
    const s = await track(
      server((req, res) => {
        if (req.url === "/csrf") {
          res.writeHead(200, { "content-type": "application/json", "set-cookie": "chsk-session=s1; Path=/; HttpOnly" });
          res.end(JSON.stringify({ csrfToken: "tok-1" }));
        } else res.writeHead(404).end();
      }),
    );
    const debug: string[] = [];
    const session = await bootstrapSession({
      url: `${s.url.replace("http:", "ws:")}/chsk`,
      cookie: "pre=1",
      headers: { "x-app": "a" },
      logger: { debug: (m) => debug.push(m), warn() {}, error() {} },
    });
    assert.equal(session.csrfToken, "tok-1");
    assert.deepEqual(session.headers, { "x-app": "a", cookie: "pre=1; chsk-session=s1" });
    assert.equal(session.jar.get("chsk-session"), "s1");
    assert.deepEqual(
      s.seen.map((r) => [r.method, r.url, r.headers["x-app"], r.headers.cookie]),
      [["GET", "/csrf", "a", "pre=1"]],
    );
    assert.deepEqual(debug, [`GET ${s.url}/csrf → 200`]);
  });

  test("a stock Sente app (no /csrf): the page's anti-forgery token and its session cookie", async () => {
    const s = await track(
      server((req, res) => {
        if (req.url === "/") {
          res.writeHead(200, { "content-type": "text/html", "set-cookie": "ring-session=r1; Path=/" });
          res.end('<html><div id="sente-csrf-token" data-csrf-token="page-tok"></div></html>');
        } else res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      }),
    );
    const session = await bootstrapSession({ url: `${s.url}/chsk` });
    assert.equal(session.csrfToken, "page-tok");
    assert.equal(session.headers["cookie"], "ring-session=r1");
    assert.deepEqual(
      s.seen.map((r) => r.url),
      ["/csrf", "/"],
    );
  });

  test("no token anywhere: null, said at debug; probe: false or a given token make no request", async () => {
    const s = await track(server((_req, res) => res.writeHead(404).end()));
    const debug: string[] = [];
    const none = await bootstrapSession({ url: s.url, logger: { debug: (m) => debug.push(m), warn() {}, error() {} } });
    assert.equal(none.csrfToken, null);
    assert.deepEqual(none.headers, {});
    assert.equal(debug.at(-1), "no CSRF token from /csrf or the page; connecting without one");
    const before = s.seen.length;
    assert.equal((await bootstrapSession({ url: s.url, probe: false })).csrfToken, null);
    assert.equal((await bootstrapSession({ url: s.url, csrfToken: "given" })).csrfToken, "given");
    assert.equal(s.seen.length, before);
  });

  test("login (chsk serve's convention): the form, the answer's token and uid", async () => {
    const s = await track(
      server((req, res) => {
        if (req.method === "POST" && req.url === "/login") {
          const uid = new URLSearchParams(req.body).get("uid");
          res.writeHead(200, { "content-type": "application/json", "set-cookie": "chsk-session=logged; Path=/" });
          res.end(JSON.stringify({ uid, csrfToken: "after-login" }));
        } else res.writeHead(404).end();
      }),
    );
    const session = await bootstrapSession({ url: s.url, login: "alice" });
    assert.deepEqual([session.csrfToken, session.uid, session.headers["cookie"]], ["after-login", "alice", "chsk-session=logged"]);
    assert.equal(s.seen.length, 1);
    assert.equal(s.seen[0]!.body, "uid=alice&user-id=alice");
    assert.equal(s.seen[0]!.headers["content-type"], "application/x-www-form-urlencoded;charset=UTF-8");
  });

  test("login guarded by ring-anti-forgery: 403, the page's token and session, the retry with both", async () => {
    const sessions = new Map<string, { token: string; uid?: string }>();
    const s = await track(
      server((req, res) => {
        const sid = cookieOf(req.headers.cookie, "ring-session");
        const session = sid === undefined ? undefined : sessions.get(sid);
        if (req.method === "GET" && req.url === "/") {
          const id = session ? sid! : randomBytes(8).toString("hex");
          if (!sessions.has(id)) sessions.set(id, { token: randomBytes(12).toString("base64") });
          res.writeHead(200, { "content-type": "text/html", "set-cookie": `ring-session=${id}; Path=/; HttpOnly` });
          res.end(`<html><input type="hidden" name="__anti-forgery-token" value="${sessions.get(id)!.token}"></html>`);
        } else if (req.method === "POST" && req.url === "/login") {
          if (!session || req.headers["x-csrf-token"] !== session.token) return void res.writeHead(403, { "content-type": "text/plain" }).end("Invalid anti-forgery token");
          session.uid = new URLSearchParams(req.body).get("user-id") ?? undefined;
          res.writeHead(302, { location: "/" }).end();
        } else res.writeHead(404).end();
      }),
    );
    const session = await bootstrapSession({ url: s.url, login: "bob" });
    assert.deepEqual(
      s.seen.map((r) => `${r.method} ${r.url}`),
      ["POST /login", "GET /", "POST /login"],
    );
    const sid = cookieOf(session.headers["cookie"], "ring-session")!;
    assert.equal(sessions.get(sid)?.uid, "bob");
    assert.equal(session.csrfToken, sessions.get(sid)!.token, "the scraped token, for the socket");
    assert.equal(new URLSearchParams(s.seen[2]!.body).get("__anti-forgery-token"), session.csrfToken);
  });

  test("a refused login: CHSK_ERR_LOGIN_REFUSED with the status, body and content type", async () => {
    const s = await track(server((_req, res) => res.writeHead(403, { "content-type": "text/plain" }).end("Invalid anti-forgery token")));
    const e = await rejection(bootstrapSession({ url: s.url, login: "eve" }));
    assert.equal(e.code, "CHSK_ERR_LOGIN_REFUSED");
    assert.equal(e.status, 403);
    assert.equal(e.message, "login refused: HTTP 403 Invalid anti-forgery token");
    assert.deepEqual(e.detail, { status: 403, body: "Invalid anti-forgery token", contentType: "text/plain", method: "POST", url: `${s.url}/login` });
    // The 403 made it look for a token on the page; there was none, so no retry.
    assert.deepEqual(
      s.seen.map((r) => `${r.method} ${r.url}`),
      ["POST /login", "GET /"],
    );
  });

  test("nothing listening: CHSK_ERR_TRANSPORT, the network error as its cause", async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const e = await rejection(bootstrapSession({ url: `http://127.0.0.1:${port}/chsk` }));
    assert.equal(e.code, "CHSK_ERR_TRANSPORT");
    assert.deepEqual(e.detail, { method: "GET", url: `http://127.0.0.1:${port}/csrf` });
    assert.match(String((e.cause as { code?: unknown }).code), /ECONNREFUSED/);
  });

  test("a server that never answers: CHSK_ERR_TIMEOUT after timeoutMs; an abort: CHSK_ERR_CLOSED at once", async () => {
    let arrived: () => void = () => {};
    const s = await track(server(() => arrived()));
    const t = await rejection(bootstrapSession({ url: s.url, timeoutMs: 100 }));
    assert.equal(t.code, "CHSK_ERR_TIMEOUT");
    assert.equal(t.message, `GET ${s.url}/csrf: no answer within 100 ms`);
    const ac = new AbortController();
    const inFlight = new Promise<void>((r) => (arrived = r));
    const p = bootstrapSession({ url: s.url, timeoutMs: 60_000, signal: ac.signal, login: "x" });
    await inFlight; // the login request is in: abort it there
    ac.abort();
    const a = await rejection(p);
    assert.equal(a.code, "CHSK_ERR_CLOSED");
    assert.equal(a.detail?.["aborted"], true);
  });

  test("bad options throw synchronously-shaped errors (TypeError / RangeError)", async () => {
    await assert.rejects(bootstrapSession({ url: "ftp://x" }), TypeError);
    await assert.rejects(bootstrapSession({ url: "not a url" }), TypeError);
    await assert.rejects(bootstrapSession({ url: "http://x", login: " " }), TypeError);
    await assert.rejects(bootstrapSession({ url: "http://x", timeoutMs: 0 }), RangeError);
  });
});
