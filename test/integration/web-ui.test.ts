/**
 * `chsk serve`'s web UI over real HTTP (no browser): routes, headers,
 * caching, the SSE feed fed by real chsk traffic, the admin-action guards,
 * and who may see whom on a loopback vs a non-loopback listen address
 * (always reached through 127.0.0.1: the listen address decides).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import { type ReferenceServer, startReferenceServer } from "../../src/server/demo/app.js";
import { webUi } from "../../src/server/demo/web/index.js";
import type { Client } from "../../src/core/client/types.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { runCli, serve, waitFor } from "../e2e/cli.js";
import { rawRequest, readFeed } from "./dashboard-apps.js";
import { withTimeout } from "./server-helpers.js";

async function login(base: string, uid: string): Promise<{ cookie: string; csrfToken: string }> {
  const res = await fetch(`${base}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uid }) });
  assert.equal(res.status, 200);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrfToken };
}

describe("web UI over HTTP", () => {
  let server: ReferenceServer;
  let admin: ReferenceServer;

  before(async () => {
    [server, admin] = await Promise.all([
      startReferenceServer({ port: 0, web: webUi() }),
      startReferenceServer({ port: 0, web: webUi(), dashboardAdmin: true }),
    ]);
  });
  after(async () => {
    await Promise.all([server?.close(), admin?.close()]);
  });

  it("serves the pages with a CSP that keeps them on their own origin", async () => {
    for (const path of ["/", "/dashboard"]) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", /text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/, "no inline or remote scripts");
      const html = await res.text();
      assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, `${path} references no other origin`);
    }
    const demo = await (await fetch(`${server.url}/`)).text();
    assert.match(demo, /<script type="module" src="\/assets\/demo\.js\?v=/);
    const dash = await (await fetch(`${server.url}/dashboard`)).text();
    assert.match(dash, /<script type="module" src="\/dashboard\/assets\/dashboard\.js\?v=/, "the dashboard's files live under its mount path");
    assert.match(dash, /read-only/);
    assert.doesNotMatch(dash, /actionToken/, "no action token in read-only mode");
  });

  it("serves assets with ETags, gzip and immutable caching for versioned URLs", async () => {
    const js = await fetch(`${server.url}/chsk-client.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-encoding"), "gzip");
    assert.equal(js.headers.get("cache-control"), "no-cache");
    const etag = js.headers.get("etag") as string;
    assert.equal((await fetch(`${server.url}/chsk-client.js`, { headers: { "if-none-match": etag } })).status, 304);
    const html = await (await fetch(`${server.url}/`)).text();
    const v = /demo\.js\?v=([\w-]+)/.exec(html)?.[1];
    const versioned = await fetch(`${server.url}/assets/demo.js?v=${v}`);
    assert.match(versioned.headers.get("cache-control") ?? "", /immutable/);
    assert.equal((await fetch(`${server.url}/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${server.url}/chsk-client.js`, { method: "POST" })).status, 405);
    assert.equal((await fetch(`${server.url}/favicon.svg`)).status, 200);
    assert.equal((await fetch(`${server.url}/dashboard/assets/dashboard-style.css`)).status, 200);
    assert.equal((await fetch(`${server.url}/assets/dashboard.js`)).status, 404, "not twice");
    // Routes that aren't the UI's still reach the app.
    assert.equal((await fetch(`${server.url}/api/stats`)).status, 200);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  });

  it("feeds the dashboard: hello, users with their transports, per-second ticks with decoded frames", async () => {
    const { cookie, csrfToken } = await login(server.url, "alice");
    const client = createClient({ url: `${server.url}/chsk`, type: "ws", csrfToken, headers: { cookie } });
    try {
      await client.whenOpen();
      assert.equal(await client.send(["demo/echo", "x"], 5000), "x");
      const events = await readFeed(`${server.url}/dashboard/events`, (evs) => evs.some((e) => e.type === "users"));
      assert.equal(events[0]?.type, "hello");
      const users = events.find((e) => e.type === "users")?.data as { users: { uid: string; transports: string[]; clients: { clientId: string }[] }[] };
      assert.deepEqual(
        users.users.map((u) => [u.uid, u.transports, u.clients.map((c) => c.clientId)]),
        [["alice", ["ws"], [client.clientId]]],
      );
      // Traffic after subscribing shows up in the next tick, decoded.
      const feed = readFeed(`${server.url}/dashboard/events`, (evs) =>
        evs.some((e) => e.type === "tick" && (e.data as { frames: { dir: string }[] }).frames.some((f) => f.dir === "out")),
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await client.send(["demo/echo", { n: 1 }], 5000), { n: 1 });
      const ticks = (await feed).filter((e) => e.type === "tick").map((e) => e.data as { frames: { dir: string; eventId: string; kind: string }[]; latency: { count: number } | null });
      const frames = ticks.flatMap((t) => t.frames);
      assert.ok(frames.some((f) => f.dir === "in" && f.eventId === "demo/echo"));
      assert.ok(frames.some((f) => f.dir === "out" && f.eventId === "demo/echo" && f.kind === "reply"));
      assert.ok(ticks.at(-1)?.latency && ticks.at(-1)!.latency!.count >= 1);
    } finally {
      await client.close();
    }
  });

  it("answers admin actions with 403 in read-only mode", async () => {
    const res = await fetch(`${server.url}/dashboard/api/push`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.url },
      body: JSON.stringify({ uid: "alice", event: "[:demo/msg 1]" }),
    });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: string }).error, /--dashboard-admin/);
    assert.equal((await fetch(`${server.url}/dashboard/api/disconnect`)).status, 405);
  });

  it("with --dashboard-admin, allows same-origin JSON actions that carry the page's token, and nothing else; the push is EDN", async () => {
    const html = await (await fetch(`${admin.url}/dashboard`)).text();
    const token = /"actionToken":"([\w-]+)"/.exec(html)?.[1] as string;
    assert.ok(token, "the admin page carries the action token");
    const { cookie, csrfToken } = await login(admin.url, "bob");
    const client = createClient({ url: `${admin.url}/chsk`, type: "ws", csrfToken, headers: { cookie } });
    try {
      await client.whenOpen();
      const pushed = new Promise((resolve) => client.on("recv", resolve));
      const post = (path: string, body: unknown, headers: Record<string, string>) =>
        fetch(`${admin.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
      const good = { origin: admin.url, "x-chsk-dashboard": token };

      const msg = "[:demo/msg 1]";
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: msg }, { origin: admin.url })).status, 403, "no token");
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: msg }, { ...good, "x-chsk-dashboard": "x" })).status, 403, "wrong token");
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: msg }, { ...good, origin: "http://evil.example" })).status, 403, "other origin");
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: msg }, { "x-chsk-dashboard": token })).status, 403, "no origin");
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: msg }, { ...good, "sec-fetch-site": "cross-site" })).status, 403, "cross-site fetch");
      const form = await fetch(`${admin.url}/dashboard/api/push`, { method: "POST", headers: { ...good, "content-type": "application/x-www-form-urlencoded" }, body: "uid=bob" });
      assert.equal(form.status, 403, "not JSON");
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: "[:nonamespace 1]" }, good)).status, 400);
      assert.equal((await post("/dashboard/api/push", { uid: "bob", event: "[:chsk/close]" }, good)).status, 400, "reserved namespace");

      const ok = await post("/dashboard/api/push", { uid: "bob", event: '[:demo/msg {:text "hi"}]' }, good);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { ok: true, clients: 1 });
      const ev = (await pushed) as [string, { text: string }];
      assert.equal(ev[0], "demo/msg");
      assert.equal(ev[1].text, "hi");

      assert.equal((await post("/dashboard/api/disconnect", { clientId: "nobody" }, good)).status, 404);
      const closed = new Promise<void>((resolve) => client.on("state", (ch) => ch.closed && resolve()));
      assert.equal((await post("/dashboard/api/disconnect", { clientId: client.clientId }, good)).status, 200);
      await closed;
    } finally {
      await client.close();
    }
  });
});

describe("chsk serve: who may see whom (listen address, not peer)", () => {
  let local: ReferenceServer;
  let wide: ReferenceServer;
  let cookie: string;
  let csrfToken: string;
  const alice = { close: async () => {} } as { close(): Promise<void> };

  before(async () => {
    [local, wide] = await Promise.all([
      startReferenceServer({ port: 0, host: "127.0.0.1", web: webUi() }),
      // Beyond loopback, but every request below goes to 127.0.0.1.
      startReferenceServer({ port: 0, host: "0.0.0.0", web: webUi(), dashboardAdmin: true }),
    ]);
    ({ cookie, csrfToken } = await login(viaLoopback(wide), "alice"));
    const client = createClient({ url: `${viaLoopback(wide)}/chsk`, type: "ws", csrfToken, headers: { cookie } });
    await client.whenOpen();
    alice.close = () => client.close();
  });
  after(async () => {
    await alice.close();
    await Promise.all([local?.close(), wide?.close()]);
  });

  /** The same server, reached through 127.0.0.1. */
  const viaLoopback = (s: ReferenceServer) => `http://127.0.0.1:${s.port}`;
  type Stats = { connectedUids?: { any: unknown[] }; users?: { any: number }; identities?: string };

  it("on 127.0.0.1: no token, /api/stats and the dashboard show identities", async () => {
    assert.equal(local.dashboardToken, undefined);
    const stats = (await (await fetch(`${local.url}/api/stats`)).json()) as Stats;
    assert.ok(Array.isArray(stats.connectedUids?.any));
    assert.equal((await fetch(`${local.url}/dashboard`)).status, 200);
  });

  it("on 0.0.0.0: /api/stats gives counts only, the dashboard is refused, even from 127.0.0.1", async () => {
    const token = wide.dashboardToken as string;
    assert.match(token, /^[\w-]{32}$/, "a generated token");
    const base = viaLoopback(wide);
    const open = (await (await fetch(`${base}/api/stats`)).json()) as Stats;
    assert.equal(open.connectedUids, undefined);
    assert.equal(open.identities, "hidden");
    assert.equal(open.users?.any, 1, "alice is counted");
    assert.doesNotMatch(JSON.stringify(open), /alice/);

    const page = await fetch(`${base}/dashboard`);
    assert.equal(page.status, 403);
    assert.match(await page.text(), /needs the token/);
    assert.equal((await fetch(`${base}/dashboard/events`)).status, 403);
    assert.equal((await fetch(`${base}/dashboard/api/users`)).status, 403);
    assert.equal((await fetch(`${base}/dashboard/api/push`, { method: "POST", headers: { "content-type": "application/json", origin: base }, body: "{}" })).status, 403);
    // The demo itself stays open.
    assert.equal((await fetch(`${base}/`)).status, 200);
  });

  it("on 0.0.0.0, with the token: identities in /api/stats, and the printed link opens the dashboard through a cookie", async () => {
    const token = wide.dashboardToken as string;
    const base = viaLoopback(wide);
    const withBearer = (await (await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${token}` } })).json()) as Stats;
    assert.deepEqual(withBearer.connectedUids?.any, ["alice"]);

    const link = await fetch(`${base}/dashboard?token=${token}`, { redirect: "manual" });
    assert.equal(link.status, 303);
    assert.equal(link.headers.get("location"), "/dashboard", "the token leaves the address bar");
    const tokenCookie = (link.headers.get("set-cookie") ?? "").split(";")[0] as string;
    assert.match(link.headers.get("set-cookie") ?? "", /HttpOnly; SameSite=Strict/);
    const page = await fetch(`${base}/dashboard`, { headers: { cookie: tokenCookie } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /data-access="admin"/);
    const feed = await readFeed(`${base}/dashboard/events`, (evs) => evs.some((e) => e.type === "users"), { headers: { cookie: tokenCookie } });
    assert.deepEqual((feed.find((e) => e.type === "users")?.data as { users: { uid: string }[] }).users.map((u) => u.uid), ["alice"]);
    assert.equal((await fetch(`${base}/dashboard/events`, { headers: { cookie: "chsk-dashboard-token=wrong-token-wrong-token" } })).status, 403);
  });

  it("chsk serve --host 0.0.0.0 prints the dashboard link with its token; --public-dashboard opens everything", async () => {
    const wideCli = await serve(["--host", "0.0.0.0", "--quiet"]);
    const open = await serve(["--host", "0.0.0.0", "--public-dashboard"]);
    try {
      // The link a browser can open: 0.0.0.0 is where it listens (the first line says so), not an address to browse.
      assert.match(wideCli.stdout, new RegExp(`^chsk serve listening on http://0\\.0\\.0\\.0:${wideCli.port}$`, "m"));
      const link = new RegExp(`^dashboard: http://127\\.0\\.0\\.1:${wideCli.port}/dashboard\\?token=([\\w-]{32})$`, "m");
      for (let i = 0; i < 100 && !link.test(wideCli.stdout); i++) await new Promise((r) => setTimeout(r, 20));
      const token = link.exec(wideCli.stdout)?.[1];
      assert.ok(token, `the link is printed, even with --quiet:\n${wideCli.stdout}`);
      const base = `http://127.0.0.1:${wideCli.port}`;
      assert.equal(((await (await fetch(`${base}/api/stats`)).json()) as Stats).identities, "hidden");
      assert.ok(((await (await fetch(`${base}/api/stats?token=${token}`)).json()) as Stats).connectedUids);
      assert.doesNotMatch(open.stdout, /token/);
      const browse = `http://127.0.0.1:${open.port}`;
      await waitFor(() => (open.stdout.includes("\ntry:") ? true : undefined), 5000, "the start hints");
      for (const line of [`demo:      ${browse}/`, `dashboard: ${browse}/dashboard`, `try:       npx chsk call ${browse}/chsk '[:demo/echo {:a 1}]'`]) {
        assert.ok(open.stdout.split("\n").includes(line), `prints ${JSON.stringify(line)}:\n${open.stdout}`);
      }
      const publicStats = (await (await fetch(`http://127.0.0.1:${open.port}/api/stats`)).json()) as Stats;
      assert.ok(publicStats.connectedUids, "--public-dashboard: identities for everyone");
      assert.equal((await fetch(`http://127.0.0.1:${open.port}/dashboard`)).status, 200);
    } finally {
      await Promise.all([wideCli.stop(), open.stop()]);
    }
  });
});

/**
 * DNS rebinding: a page on evil.example:PORT whose name now resolves to
 * 127.0.0.1 reaches a loopback chsk serve as "same-origin", and its
 * requests carry `Host: evil.example:PORT`. Forged here over real sockets,
 * to 127.0.0.1 only.
 */
describe("chsk serve on loopback: a Host that names another machine gets what a stranger gets (DNS rebinding)", () => {
  let srv: ReferenceServer;
  let named: ReferenceServer;
  let alice: Client;
  const evil = () => ({ host: `evil.example:${srv.port}` });

  before(async () => {
    [srv, named] = await Promise.all([
      startReferenceServer({ port: 0, web: webUi(), dashboardAdmin: true }),
      startReferenceServer({ port: 0, web: webUi(), allowedHosts: ["dev.test", ".box.test"] }),
    ]);
    const { cookie, csrfToken } = await login(srv.url, "alice");
    alice = createClient({ url: `${srv.url}/chsk`, type: "ws", csrfToken, headers: { cookie } });
    await withTimeout(alice.whenOpen(), 5000, "alice to connect");
  });
  after(async () => {
    await alice?.close();
    await Promise.all([srv?.close(), named?.close()]);
  });

  it("refuses the dashboard page (no action token), its feed and users API; /api/stats gives counts only", async () => {
    const page = await rawRequest(srv.port, "/dashboard", { headers: evil() });
    assert.equal(page.status, 403);
    assert.doesNotMatch(page.text, /actionToken/);
    assert.match(page.text, /--allowed-hosts/, "says how to allow a name of one's own");
    for (const path of ["/dashboard/events", "/dashboard/api/users"]) {
      assert.equal((await rawRequest(srv.port, path, { headers: evil() })).status, 403, path);
    }
    const stats = await rawRequest(srv.port, "/api/stats", { headers: evil() });
    assert.equal(stats.status, 200);
    const counts = JSON.parse(stats.text) as { identities?: string; users?: { any: number } };
    assert.equal(counts.identities, "hidden");
    assert.equal(counts.users?.any, 1, "alice is counted");
    assert.doesNotMatch(stats.text, /alice/);
    // The demo page is no secret.
    assert.equal((await rawRequest(srv.port, "/", { headers: evil() })).status, 200);
  });

  it("refuses an admin push that has the real action token and Origin = Host = the attacker's name; nothing reaches alice", async () => {
    const html = (await rawRequest(srv.port, "/dashboard", { headers: { host: `127.0.0.1:${srv.port}` } })).text;
    const token = /"actionToken":"([\w-]+)"/.exec(html)?.[1];
    assert.ok(token, "the page addressed to 127.0.0.1 carries the token");
    const push = (host: string, event: string) =>
      rawRequest(srv.port, "/dashboard/api/push", {
        method: "POST",
        headers: { host, origin: `http://${host}`, "x-chsk-dashboard": token, "content-type": "application/json" },
        body: JSON.stringify({ uid: "alice", event }),
      });
    const received: ChskEvent[] = [];
    alice.on("recv", (ev) => void received.push(ev));
    const forged = await push(`evil.example:${srv.port}`, '[:demo/pwned {:by "rebinding"}]');
    assert.equal(forged.status, 403, forged.text);
    // The same push addressed to this machine goes through, and is the first thing alice gets.
    const ok = await push(`localhost:${srv.port}`, "[:demo/marker 1]");
    assert.equal(ok.status, 200, ok.text);
    await waitFor(() => (received.length > 0 ? true : undefined), 5000, "the push");
    assert.deepEqual(received[0], ["demo/marker", 1]);
  });

  it("opens to localhost and loopback addresses on any port, and to the allowedHosts names; nothing else", async () => {
    const status = async (s: ReferenceServer, host: string) => (await rawRequest(s.port, "/dashboard", { headers: { host } })).status;
    const port = srv.port;
    for (const host of [`localhost:${port}`, "localhost", "LOCALHOST:1", "localhost.:80", "app.localhost:3000", `127.0.0.1:${port}`, "127.1.2.3", `[::1]:${port}`, "[::1]"]) {
      assert.equal(await status(srv, host), 200, host);
    }
    for (const host of ["evil.example", `127.0.0.1.evil.example:${port}`, "localhost.evil.example", "[::2]:1", "dev.test", "::1:80", "192.168.1.10"]) {
      assert.equal(await status(srv, host), 403, host);
    }
    for (const host of ["dev.test:8090", "DEV.TEST", "box.test", "a.b.box.test:1", "localhost"]) assert.equal(await status(named, host), 200, host);
    for (const host of ["evil.test", "notbox.test", "dev.test.evil.example", "a.dev.test"]) assert.equal(await status(named, host), 403, host);
    await assert.rejects(startReferenceServer({ port: 0, allowedHosts: ["http://x.test"] }), TypeError);
  });

  it("chsk serve --allowed-hosts: the names given are this machine too; a URL instead of a name is a usage error", async () => {
    const cli = await serve(["--allowed-hosts", "dev.test, .box.test", "--quiet"]);
    try {
      const status = async (host: string) => (await rawRequest(cli.port, "/dashboard", { headers: { host } })).status;
      assert.equal(await status(`dev.test:${cli.port}`), 200);
      assert.equal(await status("a.box.test"), 200);
      assert.equal(await status("evil.example"), 403);
    } finally {
      await cli.stop();
    }
    const bad = await runCli(["serve", "--port", "0", "--allowed-hosts", "http://dev.test:80"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /allowed host is a host name/);
  });
});

describe("odd paths: the app, the web UI and the dashboard read a path as chsk does", () => {
  let srv: ReferenceServer;
  let bare: ReferenceServer;
  before(async () => {
    [srv, bare] = await Promise.all([startReferenceServer({ port: 0, web: webUi() }), startReferenceServer({ port: 0 })]);
  });
  after(async () => Promise.all([srv?.close(), bare?.close()]));

  it("//chsk, /chsk/, /%63hsk are not /chsk and not the demo page either: 404, as chsk answers them", async () => {
    for (const s of [srv, bare]) {
      for (const path of ["//chsk?client-id=a", "/chsk/?client-id=a", "/%63hsk?client-id=a", "//dashboard", "//api/stats", "/\\chsk?client-id=a", "/x/../chsk?client-id=a", "//?x=1"]) {
        const res = await rawRequest(s.port, path);
        assert.equal(res.status, 404, `${path} (${s === bare ? "no web UI" : "web UI"}): ${res.text.slice(0, 60)}`);
      }
      // The real ones still answer.
      assert.equal((await rawRequest(s.port, "/chsk?client-id=a&handshake%3F=1", { headers: { "x-csrf-token": "x" } })).status, 403, "chsk itself: Bad CSRF token");
      assert.equal((await rawRequest(s.port, "/?x=1")).status, 200);
    }
  });

  it("under the dashboard: /dashboard//events and /dashboard/assets//dashboard.js are 404; /dashboard/ is the page", async () => {
    for (const path of ["/dashboard//events", "/dashboard//api/users", "/dashboard/assets//dashboard.js", "/dashboard/%65vents"]) {
      assert.equal((await rawRequest(srv.port, path)).status, 404, path);
    }
    assert.equal((await rawRequest(srv.port, "/dashboard/")).status, 200);
    assert.equal((await rawRequest(srv.port, "/dashboard?x=1")).status, 200);
  });
});
