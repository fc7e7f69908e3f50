/**
 * The reference application in-process: sessions, CSRF, the demo router,
 * stats and the web hook, driven by real chsk clients over loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientType } from "../../src/core/client/types.js";
import { kw } from "../../src/core/edn/values.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { type ReferenceServer, startReferenceServer, type WebContext } from "../../src/server/demo/app.js";

interface Login {
  cookie: string;
  csrfToken: string;
}

async function login(base: string, uid: string): Promise<Login> {
  const res = await fetch(`${base}/login`, { method: "POST", body: new URLSearchParams({ uid }) });
  assert.equal(res.status, 200);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.getSetCookie()[0]!.split(";")[0]!, csrfToken };
}

async function connect(base: string, who: Login | null, type: ClientType = "ws"): Promise<Client> {
  const client = createClient({
    url: `${base}/chsk`,
    type,
    csrfToken: who?.csrfToken ?? null,
    headers: who ? { cookie: who.cookie } : {},
  });
  await client.whenOpen();
  return client;
}

function nextPush(client: Client, timeoutMs = 5000): Promise<ChskEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no push")), timeoutMs);
    const off = client.on("recv", (ev) => {
      clearTimeout(timer);
      off();
      resolve(ev);
    });
  });
}

describe("reference app", () => {
  let app: ReferenceServer;
  const clients: Client[] = [];
  const track = (c: Client) => (clients.push(c), c);

  before(async () => {
    app = await startReferenceServer({ port: 0 });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
  });

  test("url and port reflect the bound socket", () => {
    assert.ok(app.port > 0);
    assert.equal(app.url, `http://127.0.0.1:${app.port}`);
  });

  for (const type of ["ws", "ajax"] as const) {
    test(`whoami over ${type} sees the session's uid`, async () => {
      const alice = track(await connect(app.url, await login(app.url, "alice"), type));
      const me = (await alice.send(["demo/whoami"], 5000)) as Record<string, unknown>;
      assert.equal(me["uid"], "alice");
      assert.equal(me["client-id"], alice.clientId);
      assert.equal(me["transport"], kw(type));
    });
  }

  test("an anonymous session's uid is nil", async () => {
    const res = await fetch(`${app.url}/csrf`);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    const anon = track(await connect(app.url, { cookie: res.headers.getSetCookie()[0]!.split(";")[0]!, csrfToken }));
    const me = (await anon.send(["demo/whoami"], 5000)) as Record<string, unknown>;
    assert.equal(me["uid"], null);
  });

  test("echo returns the data as sent", async () => {
    const c = track(await connect(app.url, await login(app.url, "echoer")));
    const data = { a: 1, b: [kw("x"), "y"], c: null };
    assert.deepEqual(await c.send(["demo/echo", data], 5000), data);
  });

  test("push reaches every client of the user; broadcast reaches everyone", async () => {
    const bobLogin = await login(app.url, "bob");
    const bob1 = track(await connect(app.url, bobLogin, "ws"));
    const bob2 = track(await connect(app.url, bobLogin, "ajax"));
    const carol = track(await connect(app.url, await login(app.url, "carol")));
    const before = app.stats().events.out;

    const got = Promise.all([nextPush(bob1), nextPush(bob2)]);
    const reply = await carol.send(["demo/push", { uid: "bob", event: [kw("demo/hello"), { n: 1 }] }], 5000);
    assert.equal(reply, kw("ok"));
    assert.deepEqual(await got, [
      ["demo/hello", { n: 1 }],
      ["demo/hello", { n: 1 }],
    ]);

    const all = Promise.all([nextPush(bob1), nextPush(carol)]);
    assert.equal(await bob2.send(["demo/broadcast", [kw("demo/news"), "hi"]], 5000), kw("ok"));
    assert.deepEqual(await all, [
      ["demo/news", "hi"],
      ["demo/news", "hi"],
    ]);
    assert.equal(app.stats().events.out, before + 2);
  });

  test("malformed demo/push and demo/broadcast are answered with {:error …}", async () => {
    const c = track(await connect(app.url, await login(app.url, "mallory")));
    const noUid = (await c.send(["demo/push", { event: [kw("demo/x")] }], 5000)) as { error: string };
    assert.match(noUid.error, /:uid/);
    const badEv = (await c.send(["demo/push", { uid: "bob", event: "nope" }], 5000)) as { error: string };
    assert.match(badEv.error, /not an event/);
    const reserved = (await c.send(["demo/broadcast", [kw("chsk/handshake"), 1]], 5000)) as { error: string };
    assert.match(reserved.error, /reserved/);
  });

  test("no session → no reference token → the handshake is refused with 403", async () => {
    const c = track(createClient({ url: `${app.url}/chsk`, type: "ajax", csrfToken: "whatever" }));
    const refused = await new Promise<{ status?: number; message: string }>((resolve) => {
      c.tap((ev) => ev.type === "error" && resolve(ev.error));
    });
    assert.equal(refused.status, 403);
    assert.match(refused.message, /Bad CSRF token/);
    await c.close();
  });

  test("stats: connected uids by transport (nil uid as null), counters", async () => {
    const s = app.stats();
    assert.ok(s.connectedUids.ws.includes("alice"));
    assert.ok(s.connectedUids.any.includes("bob"));
    assert.ok(s.connectedUids.any.includes(null));
    assert.ok(s.connections.total >= s.connections.ws + s.connections.ajax - 0);
    assert.ok(s.events.in > 0 && s.events.replies > 0);
    assert.ok(s.frames.in > 0 && s.bytes.out > 0);
    assert.ok(s.sessions >= 5);
    const viaHttp = (await (await fetch(`${app.url}/api/stats`)).json()) as typeof s;
    assert.deepEqual(Object.keys(viaHttp).sort(), Object.keys(s).sort());
  });
});

test("the web hook gets unrouted requests before the 404, with the context", async () => {
  let ctx: WebContext | undefined;
  let closed = 0;
  const app = await startReferenceServer({
    port: 0,
    dashboardAdmin: true,
    web: (c) => {
      ctx = c;
      return {
        handleRequest(req, res) {
          if (req.url === "/dashboard") {
            res.end("dash");
            return true;
          }
          if (req.url === "/api/stats") {
            res.end("hook must not see this");
            return true;
          }
          return false;
        },
        async close() {
          closed++;
        },
      };
    },
  });
  try {
    assert.equal(ctx?.options.dashboardAdmin, true);
    assert.equal(ctx?.options.path, "/chsk");
    assert.equal(await (await fetch(`${app.url}/dashboard`)).text(), "dash");
    assert.equal((await fetch(`${app.url}/api/stats`)).headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal((await fetch(`${app.url}/elsewhere`)).status, 404);
  } finally {
    await app.close();
    await app.close();
  }
  assert.equal(closed, 1);
});

test("/login refuses an oversized body with 413 and closes the connection", async () => {
  const app = await startReferenceServer({ port: 0 });
  try {
    const res = await fetch(`${app.url}/login`, { method: "POST", body: `uid=${"x".repeat(64 * 1024)}` });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(app.sessions.size, 0);
  } finally {
    await app.close();
  }
});

test("sessions are signed cookies: they survive a restart with the same secret, not a forged one", async () => {
  const secret = "test-secret-0123456789abcdef";
  const first = await startReferenceServer({ port: 0, sessionSecret: secret });
  let alice: Awaited<ReturnType<typeof login>>;
  try {
    alice = await login(first.url, "alice");
  } finally {
    await first.close();
  }
  const second = await startReferenceServer({ port: 0, sessionSecret: secret });
  try {
    const again = (await (await fetch(`${second.url}/csrf`, { headers: { cookie: alice.cookie } })).json()) as { uid: unknown; csrfToken: unknown };
    assert.equal(again.uid, "alice", "the restarted server still knows alice's session");
    assert.equal(again.csrfToken, alice.csrfToken);
    const forged = alice.cookie.replace(/\.([^.;]+)(;|$)/, ".AAAA$2");
    const anon = (await (await fetch(`${second.url}/csrf`, { headers: { cookie: forged } })).json()) as { uid: unknown };
    assert.equal(anon.uid, null, "a bad signature is no session");
  } finally {
    await second.close();
  }
});

test("csrf: false turns the /chsk check off; an aborted signal closes the app", async () => {
  const ac = new AbortController();
  const app = await startReferenceServer({ port: 0, csrf: false, packer: "json", signal: ac.signal });
  const c = createClient({ url: `${app.url}/chsk`, type: "ajax", packer: (await import("../../src/core/packers/index.js")).packerByName("json") });
  try {
    await c.whenOpen();
    assert.deepEqual(await c.send(["demo/echo", [1, "two"]], 5000), [1, "two"]);
  } finally {
    await c.close();
    ac.abort();
  }
  await app.close();
  await assert.rejects(fetch(`${app.url}/api/stats`));
});
