/**
 * Request checks over real HTTP (protocol.md §1.4, §7; vectors 2-5):
 * missing client-id, reject hook, CSRF, origin, authorization, on WS
 * upgrades, Ajax GETs and POSTs alike.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SKIP_CSRF } from "../../src/server/index.js";
import { ajaxGet, ajaxPost, Peer, startServer, type TestServer, withTimeout } from "./server-helpers.js";

const TOKEN = "s3cret-token";

async function wsStatus(port: number, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const p = new Peer(port, query, headers);
  try {
    await withTimeout(p.opened, 3000, "upgrade");
    const hs = await p.next();
    p.close();
    return { status: 101, body: hs };
  } catch {
    assert.ok(p.rejected, "upgrade refused with an HTTP answer");
    return p.rejected;
  }
}

describe("server request checks", () => {
  let srv: TestServer;
  const rejectCalls: string[] = [];
  before(async () => {
    srv = await startServer({
      csrfToken: (req) => (req.query["skip"] ? SKIP_CSRF : req.query["noref"] ? null : TOKEN),
      allowedOrigins: ["http://site.com"],
      authorized: (req) => req.query["deny"] === undefined,
      reject: (req) => {
        rejectCalls.push(req.clientId);
        return req.query["slow"] ? { status: 429, body: "slow down", headers: { "retry-after": "1" } } : null;
      },
    });
  });
  after(() => srv.stop());

  const ok = { origin: "http://site.com", "x-csrf-token": TOKEN };

  it("vector 2: Ajax GET without client-id → 400, no handshake", async () => {
    const r = await ajaxGet(srv.base, "handshake%3F=1", ok);
    assert.equal(r.status, 400);
    assert.equal(r.body, "Missing client-id");
    // Before any other check: even a request that would fail CSRF gets 400.
    assert.equal((await ajaxGet(srv.base, "x=1")).status, 400);
  });

  it("vector 3: wrong or missing CSRF token → 403 Bad CSRF token (WS, GET, POST)", async () => {
    const bad = { origin: "http://site.com", "x-csrf-token": "wrong" };
    for (const headers of [bad, { origin: "http://site.com" }]) {
      const g = await ajaxGet(srv.base, "client-id=c3&handshake%3F=1", headers);
      assert.deepEqual([g.status, g.body], [403, "Bad CSRF token"]);
      const p = await ajaxPost(srv.base, { "client-id": "c3", ppstr: "[[:my/ev 1] nil]" }, { headers });
      assert.deepEqual([p.status, p.body], [403, "Bad CSRF token"]);
    }
    assert.deepEqual(await wsStatus(srv.port, "client-id=c3&csrf-token=wrong", { origin: "http://site.com" }), {
      status: 403,
      body: "Bad CSRF token",
    });
    assert.deepEqual(await wsStatus(srv.port, "client-id=c3", { origin: "http://site.com" }), { status: 403, body: "Bad CSRF token" });
  });

  it("the token may come as param csrf-token, header X-CSRF-Token or X-XSRF-Token", async () => {
    const origin = { origin: "http://site.com" };
    assert.equal((await ajaxGet(srv.base, `client-id=t1&handshake%3F=1&csrf-token=${TOKEN}`, origin)).status, 200);
    assert.equal((await ajaxGet(srv.base, "client-id=t2&handshake%3F=1", { ...origin, "x-csrf-token": TOKEN })).status, 200);
    assert.equal((await ajaxGet(srv.base, "client-id=t3&handshake%3F=1", { ...origin, "x-xsrf-token": TOKEN })).status, 200);
    const post = await ajaxPost(srv.base, { "client-id": "t4", "csrf-token": TOKEN, ppstr: "[[:my/ev 1] nil]" }, { headers: origin });
    assert.equal(post.status, 200);
    assert.equal((await wsStatus(srv.port, `client-id=t5&csrf-token=${TOKEN}`, origin)).status, 101);
  });

  it("no reference token rejects; SKIP_CSRF skips", async () => {
    const origin = { origin: "http://site.com" };
    assert.equal((await ajaxGet(srv.base, `client-id=n1&handshake%3F=1&noref=1&csrf-token=${TOKEN}`, origin)).status, 403);
    assert.equal((await ajaxGet(srv.base, "client-id=n2&handshake%3F=1&skip=1", origin)).status, 200);
  });

  it("vector 4: a foreign Origin → 403 Unauthorized origin; Referer fallback accepted, prefix spoof refused", async () => {
    const evil = await ajaxGet(srv.base, "client-id=o1&handshake%3F=1", { origin: "http://evil.com", "x-csrf-token": TOKEN });
    assert.deepEqual([evil.status, evil.body], [403, "Unauthorized origin"]);
    assert.deepEqual(await wsStatus(srv.port, `client-id=o1&csrf-token=${TOKEN}`, { origin: "http://evil.com" }), {
      status: 403,
      body: "Unauthorized origin",
    });
    const referer = await ajaxGet(srv.base, "client-id=o2&handshake%3F=1", { referer: "http://site.com/page", "x-csrf-token": TOKEN });
    assert.equal(referer.status, 200);
    const spoof = await ajaxGet(srv.base, "client-id=o3&handshake%3F=1", { referer: "http://site.com.evil.com/", "x-csrf-token": TOKEN });
    assert.equal(spoof.status, 403);
    const none = await ajaxGet(srv.base, "client-id=o4&handshake%3F=1", { "x-csrf-token": TOKEN });
    assert.equal(none.status, 403);
  });

  it("vector 5: authorized → false gives 401 Unauthorized request", async () => {
    const g = await ajaxGet(srv.base, "client-id=a1&handshake%3F=1&deny=1", ok);
    assert.deepEqual([g.status, g.body], [401, "Unauthorized request"]);
    assert.deepEqual(await wsStatus(srv.port, `client-id=a1&deny=1&csrf-token=${TOKEN}`, { origin: "http://site.com" }), {
      status: 401,
      body: "Unauthorized request",
    });
  });

  it("reject hook: its answer is sent verbatim, before the built-in checks", async () => {
    rejectCalls.length = 0;
    // No CSRF token at all, but the reject hook answers first.
    const g = await ajaxGet(srv.base, "client-id=r1&handshake%3F=1&slow=1");
    assert.deepEqual([g.status, g.body, g.headers.get("retry-after")], [429, "slow down", "1"]);
    assert.deepEqual(await wsStatus(srv.port, "client-id=r2&slow=1"), { status: 429, body: "slow down" });
    const p = await ajaxPost(srv.base, { "client-id": "r3", ppstr: "[[:my/ev 1] nil]" }, { query: "slow=1" });
    assert.equal(p.status, 429);
    // null falls through to the built-ins: still 403 without a token.
    assert.equal((await ajaxGet(srv.base, "client-id=r4&handshake%3F=1", { origin: "http://site.com" })).status, 403);
    assert.deepEqual(rejectCalls, ["r1", "r2", "r3", "r4"]);
  });

  it("async hooks work the same", async () => {
    const s2 = await startServer({
      csrfToken: async () => TOKEN,
      authorized: async (req) => req.query["deny"] === undefined,
      userId: async (req) => req.query["uid"] ?? null,
      handshakeData: async () => ({ async: true }),
    });
    try {
      assert.equal((await ajaxGet(s2.base, "client-id=x1&handshake%3F=1")).status, 403);
      const hs = await ajaxGet(s2.base, "client-id=x1&handshake%3F=1&uid=amy", { "x-csrf-token": TOKEN });
      assert.equal(hs.body, '[[:chsk/handshake ["amy" nil {:async true}]] nil]');
      assert.equal((await ajaxGet(s2.base, "client-id=x1&deny=1", { "x-csrf-token": TOKEN })).status, 401);
      const ws = await wsStatus(s2.port, `client-id=x2&uid=ann&csrf-token=${TOKEN}`);
      assert.deepEqual(ws, { status: 101, body: '[[:chsk/handshake ["ann" nil {:async true}]] nil]' });
    } finally {
      await s2.stop();
    }
  });

  it("a throwing hook answers 500 and the server goes on", async () => {
    const origError = console.error;
    console.error = () => {};
    const s3 = await startServer({
      userId: (req) => {
        if (req.query["boom"]) throw new Error("hook bug");
        return null;
      },
    });
    try {
      assert.equal((await ajaxGet(s3.base, "client-id=h1&handshake%3F=1&boom=1")).status, 500);
      assert.equal((await wsStatus(s3.port, "client-id=h2&boom=1")).status, 500);
      assert.equal((await ajaxGet(s3.base, "client-id=h3&handshake%3F=1")).status, 200);
    } finally {
      console.error = origError;
      await s3.stop();
    }
  });
});

describe("userId results", () => {
  it("a string or number uid is used; an object uid fails the request (500) instead of a connection no push can reach", async () => {
    const uids: Record<string, unknown> = { s: "alice", n: 42, o: { id: 1 }, a: ["x"], b: true };
    const srv = await startServer({ userId: (req) => uids[req.query["u"] ?? ""] as string });
    const error = console.error;
    console.error = () => {}; // the hook failure is logged once; keep the test output clean
    try {
      assert.deepEqual(await wsStatus(srv.port, "client-id=u1&u=s"), { status: 101, body: '[[:chsk/handshake ["alice" nil nil]] nil]' });
      assert.deepEqual(await wsStatus(srv.port, "client-id=u2&u=n"), { status: 101, body: "[[:chsk/handshake [42 nil nil]] nil]" });
      for (const u of ["o", "a", "b"]) {
        assert.equal((await wsStatus(srv.port, `client-id=u3&u=${u}`)).status, 500, `ws ${u}`);
        assert.equal((await ajaxGet(srv.base, `client-id=u4&handshake%3F=1&u=${u}`)).status, 500, `ajax ${u}`);
      }
    } finally {
      console.error = error;
      await srv.stop();
    }
  });
});
