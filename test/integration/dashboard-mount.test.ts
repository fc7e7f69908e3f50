/**
 * `mountDashboard` embedded in apps (node:http, Express 5, Fastify 5) at a
 * custom path, over real HTTP: it answers only under its path, refuses
 * everyone until the app's `auth` says otherwise, shows identities only to
 * `"read"`/`"admin"`, takes admin actions (EDN push) only from `"admin"`
 * with the page's token; and it works from the built package installed
 * under someone else's `node_modules`.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, type Client } from "../../src/core/client/index.node.js";
import type { HelloMessage, TickMessage, UsersMessage } from "../../src/server/dashboard/feed-types.js";
import { type EmbedApp, readFeed, roleAuth, startEmbedApp } from "./dashboard-apps.js";
import { until, withTimeout } from "./server-helpers.js";

const PATH = "/ops/live";
const as = (role: string) => ({ "x-role": role });

async function connect(app: EmbedApp, uid: string): Promise<Client> {
  const client = createClient({ url: `${app.url}/chsk`, type: "ws", params: { uid } });
  await withTimeout(client.whenOpen(), 5000, `${uid} to connect`);
  return client;
}

const post = (app: EmbedApp, path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${app.url}${PATH}${path}`, { method: "POST", headers: { "content-type": "application/json", origin: app.url, ...headers }, body: JSON.stringify(body) });

async function tokenOf(app: EmbedApp, role: string): Promise<string | undefined> {
  const html = await (await fetch(`${app.url}${PATH}`, { headers: as(role) })).text();
  return /"actionToken":"([\w-]+)"/.exec(html)?.[1];
}

describe("mountDashboard in a node:http app", () => {
  let app: EmbedApp;
  let bare: EmbedApp;
  let alice: Client;
  before(async () => {
    [app, bare] = await Promise.all([startEmbedApp("node:http", { path: PATH, auth: roleAuth }), startEmbedApp("node:http", { path: PATH })]);
    alice = await connect(app, "alice@example.com");
  });
  after(async () => {
    await alice?.close();
    await Promise.all([app?.close(), bare?.close()]);
  });

  it("answers only under its path; everything else stays the app's", async () => {
    for (const path of ["/", "/ops", "/ops/livestock", "/dashboard"]) {
      const res = await fetch(`${app.url}${path}`, { headers: as("admin") });
      assert.equal(await res.text(), `app: ${path}`, path);
    }
    const page = await fetch(`${app.url}${PATH}/`, { headers: as("read") });
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /src="([^"]+\/assets\/dashboard\.js\?v=[^"]+)"/.exec(html)?.[1];
    assert.ok(script?.startsWith(`${PATH}/assets/`), `the page loads its script from under ${PATH}: ${script}`);
    assert.equal((await fetch(`${app.url}${script}`)).status, 200, "static files need no auth");
    assert.equal((await fetch(`${app.url}${PATH}/assets/demo.js`)).status, 404, "only the dashboard's own files");
    assert.equal((await fetch(`${app.url}${PATH}/chsk-client.js`)).status, 404);
    assert.equal((await fetch(`${app.url}${PATH}/nope`, { headers: as("read") })).status, 404);
  });

  it("without an auth hook refuses everyone and says how to allow access", async () => {
    const res = await fetch(`${bare.url}${PATH}`, { headers: as("admin") });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /no auth hook.*mountDashboard\(chsk, \{ auth:/s);
    assert.equal((await fetch(`${bare.url}${PATH}/events`)).status, 403);
    assert.equal((await fetch(`${bare.url}${PATH}/api/users`)).status, 403);
  });

  it("refuses what auth refuses: page, feed and API", async () => {
    assert.equal((await fetch(`${app.url}${PATH}`)).status, 403);
    assert.equal((await fetch(`${app.url}${PATH}/events`)).status, 403);
    assert.equal((await fetch(`${app.url}${PATH}/api/users`)).status, 403);
  });

  it('"read" sees who is connected; "counts" gets the numbers and no identity at all', async () => {
    const full = await readFeed(`${app.url}${PATH}/events`, (evs) => evs.some((e) => e.type === "users"), { headers: as("read") });
    const users = full.find((e) => e.type === "users")?.data as UsersMessage;
    assert.deepEqual(users.users.map((u) => [u.uid, u.clients.map((c) => c.clientId)]), [["alice@example.com", [alice.clientId]]]);
    assert.equal((full[0]?.data as HelloMessage).access, "read");
    assert.equal((full[0]?.data as HelloMessage).actionToken, undefined);

    await alice.send(["app/echo", 1], 5000);
    const counts = await readFeed(`${app.url}${PATH}/events`, (evs) => evs.some((e) => e.type === "tick" && (e.data as TickMessage).frames.length > 0), {
      headers: as("counts"),
    });
    assert.equal((counts[0]?.data as HelloMessage).access, "counts");
    const text = JSON.stringify(counts);
    assert.doesNotMatch(text, /alice|example\.com/, "no uid in any message");
    assert.ok(!text.includes(alice.clientId), "no client id in any message");
    const countsUsers = counts.find((e) => e.type === "users")?.data as UsersMessage;
    assert.equal(countsUsers.counts.users.any, 1);
    assert.deepEqual(countsUsers.users, []);
    const json = (await (await fetch(`${app.url}${PATH}/api/users`, { headers: as("counts") })).json()) as UsersMessage;
    assert.equal(json.identities, false);
    assert.doesNotMatch(JSON.stringify(json), /alice/);
    const page = await (await fetch(`${app.url}${PATH}`, { headers: as("counts") })).text();
    assert.match(page, /data-access="counts"/);
    assert.doesNotMatch(page, /actionToken/);
  });

  it('admin actions: only "admin", same-origin, with the token; the push is EDN, read with the core reader', async () => {
    const token = await tokenOf(app, "admin");
    assert.ok(token, "an admin page carries the action token");
    assert.equal(await tokenOf(app, "read"), undefined, "a read-only page does not");
    const good = { ...as("admin"), "x-chsk-dashboard": token };
    const event = '[:app/note {:text "hi" :n 1}]';

    const readOnly = await post(app, "/api/push", { uid: "alice@example.com", event }, { ...as("read"), "x-chsk-dashboard": token });
    assert.equal(readOnly.status, 403, "a token from an admin page does not make a reader an admin");
    assert.equal((await post(app, "/api/push", { uid: "alice@example.com", event }, as("admin"))).status, 403, "no token");
    assert.equal((await post(app, "/api/push", { uid: "alice@example.com", event }, { ...good, origin: "http://evil.example" })).status, 403, "cross-origin");

    const bad = await post(app, "/api/push", { uid: "alice@example.com", event: "[:app/note {:text" }, good);
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "EDN syntax error at offset 11: unexpected end of input in map", field: "event" });
    const json = await post(app, "/api/push", { uid: "alice@example.com", event: ["app/note", 1] }, good);
    assert.equal(json.status, 400, "a JSON array is not EDN");
    assert.equal(((await json.json()) as { field: string }).field, "event");
    const noUid = await post(app, "/api/push", { uid: "", event }, good);
    assert.equal(((await noUid.json()) as { field: string }).field, "uid");

    const got = new Promise<unknown>((resolve) => alice.on("recv", resolve));
    const ok = await post(app, "/api/push", { uid: "alice@example.com", event }, good);
    assert.deepEqual(await ok.json(), { ok: true, clients: 1 });
    assert.deepEqual(await withTimeout(got, 5000, "the push"), ["app/note", { text: "hi", n: 1 }]);

    assert.equal((await post(app, "/api/disconnect", { clientId: alice.clientId }, { ...as("read"), "x-chsk-dashboard": token })).status, 403);
  });
});

for (const kind of ["express", "fastify"] as const) {
  describe(`mountDashboard in a ${kind === "express" ? "Express 5" : "Fastify 5"} app`, () => {
    let app: EmbedApp;
    before(async () => {
      app = await startEmbedApp(kind, { path: PATH, auth: roleAuth });
    });
    after(async () => app?.close());

    it("serves the page, the feed and admin actions under its path, and leaves the rest to the app", async () => {
      const bob = await connect(app, "bob");
      try {
        assert.equal(await (await fetch(`${app.url}/hello`)).text(), "app: /hello");
        assert.equal((await fetch(`${app.url}${PATH}`)).status, 403);
        assert.equal((await fetch(`${app.url}${PATH}`, { headers: as("read") })).status, 200);
        const feed = await readFeed(`${app.url}${PATH}/events`, (evs) => evs.some((e) => e.type === "users"), { headers: as("read") });
        assert.deepEqual((feed.find((e) => e.type === "users")?.data as UsersMessage).users.map((u) => u.uid), ["bob"]);
        const token = (await tokenOf(app, "admin")) as string;
        const got = new Promise<unknown>((resolve) => bob.on("recv", resolve));
        const res = await post(app, "/api/push", { uid: "bob", event: "[:app/note 7]" }, { ...as("admin"), "x-chsk-dashboard": token });
        assert.equal(res.status, 200, await res.clone().text());
        assert.deepEqual(await withTimeout(got, 5000, "the push"), ["app/note", 7]);
        const closed = new Promise<void>((resolve) => bob.on("state", (ch) => ch.closed && resolve()));
        assert.equal((await post(app, "/api/disconnect", { clientId: bob.clientId }, { ...as("admin"), "x-chsk-dashboard": token })).status, 200);
        await withTimeout(closed, 5000, "the disconnect");
      } finally {
        await bob.close();
      }
    });
  });
}

describe("mountDashboard from the built package, installed under node_modules", () => {
  const ROOT = fileURLToPath(new URL("../..", import.meta.url));
  const run = promisify(execFile);
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "chsk-installed-"));
    const pkg = join(dir, "node_modules", "chsk");
    await mkdir(pkg, { recursive: true });
    // What `npm run build` puts in the package: tsc's output, then the browser files.
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.json"), "--outDir", join(pkg, "dist")], { cwd: ROOT }).catch(
      // Type errors elsewhere still emit; a missing entry point below fails the test.
      () => {},
    );
    await run(process.execPath, [join(ROOT, "scripts/build-web.mjs"), "--outdir", join(pkg, "dist/web"), "--quiet"], { cwd: ROOT });
    const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    await cp(join(ROOT, "package.json"), join(pkg, "package.json"));
    // The runtime dependencies, as npm would install them beside chsk (esbuild, a dev dependency, is absent).
    for (const dep of Object.keys(manifest.dependencies)) await symlink(join(ROOT, "node_modules", dep), join(dir, "node_modules", dep), "dir");
    await writeFile(
      join(dir, "app.mjs"),
      `import { createServer as createHttpServer } from "node:http";
import { createServer, mountDashboard } from "chsk/server";
const chsk = createServer({ csrfToken: null });
const dashboard = mountDashboard(chsk, { path: "/admin/live", auth: () => "read" });
await dashboard.ready;
const server = createHttpServer((req, res) => {
  if (chsk.handleRequest(req, res) || dashboard.handleRequest(req, res)) return;
  res.writeHead(404).end();
});
server.listen(0, "127.0.0.1", () => console.log("listening " + server.address().port));
`,
    );
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child?.once("exit", resolve));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("finds its browser files in its own dist/web, wherever it is installed", async () => {
    child = spawn(process.execPath, ["app.mjs"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await until(() => /listening \d+/.test(out) || child?.exitCode !== null, 15_000, "the app to listen");
    const port = /listening (\d+)/.exec(out)?.[1];
    assert.ok(port, `the app did not start:\n${out}`);
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/admin/live`);
    assert.equal(page.status, 200, await page.clone().text());
    const script = /src="([^"]+\/assets\/dashboard\.js\?v=[^"]+)"/.exec(await page.text())?.[1] as string;
    const served = Buffer.from(await (await fetch(`${base}${script}`)).arrayBuffer());
    const shipped = await readFile(join(dir, "node_modules/chsk/dist/web/assets/dashboard.js"));
    assert.ok(served.equals(shipped), "the page script is the installed package's dist/web/assets/dashboard.js");
    child.kill("SIGTERM");
  });
});

describe("mountDashboard options", () => {
  it("refuses a path it can't own, a non-function auth, a bad cap", async () => {
    const { createServer, mountDashboard } = await import("../../src/server/index.js");
    const chsk = createServer({ csrfToken: null });
    try {
      for (const path of ["", "/", "dashboard", "/a b", "/x?y"]) assert.throws(() => mountDashboard(chsk, { path }), TypeError, path);
      assert.throws(() => mountDashboard(chsk, { auth: "read" as never }), TypeError);
      assert.throws(() => mountDashboard(chsk, { maxDashboards: 0 }), RangeError);
      const d = mountDashboard(chsk, { path: "/ops/" });
      assert.equal(d.path, "/ops", "a trailing slash is dropped");
      await d.close();
    } finally {
      await chsk.close();
    }
  });
});

describe("mountDashboard and the chsk server's close", () => {
  /** A node:http app with chsk and a dashboard, and one SSE client on the feed (a dashboard tab). */
  async function appWithWatcher() {
    const { createServer, mountDashboard } = await import("../../src/server/index.js");
    const chsk = createServer({ csrfToken: null });
    const dashboard = mountDashboard(chsk, { auth: () => "read" });
    const http = createHttpServer((req, res) => {
      if (!dashboard.handleRequest(req, res)) res.writeHead(404).end();
    });
    chsk.attach(http);
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const port = (http.address() as AddressInfo).port;
    const feed = get({ host: "127.0.0.1", port, path: "/dashboard/events", agent: false });
    const [res] = (await withTimeout(once(feed, "response"), 5000, "the feed to answer")) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    await withTimeout(once(res, "data"), 5000, "the feed's first bytes");
    const ended = new Promise<void>((resolve) => res.once("close", () => resolve()));
    res.resume();
    const closeHttp = () => new Promise<void>((resolve) => http.close(() => resolve()));
    return { chsk, dashboard, http, ended, closeHttp, cleanup: () => http.closeAllConnections() };
  }

  it("chsk.close() ends the feeds, so `await chsk.close(); http.close()` completes with a dashboard tab open", async () => {
    const app = await appWithWatcher();
    try {
      // The usual shutdown order; before the fix http.close() waited for the SSE client to leave.
      await withTimeout(
        (async () => {
          await app.chsk.close();
          await app.closeHttp();
        })(),
        10_000,
        "chsk.close() then http.close()",
      );
      await withTimeout(app.ended, 5000, "the feed to end");
      await app.dashboard.close(); // still fine afterwards (idempotent)
    } finally {
      app.cleanup();
    }
  });

  it("dashboard.close() on its own still ends its feeds, and the chsk server keeps serving", async () => {
    const app = await appWithWatcher();
    try {
      await app.dashboard.close();
      await withTimeout(app.ended, 5000, "the feed to end");
      const port = (app.http.address() as AddressInfo).port;
      const poll = await fetch(`http://127.0.0.1:${port}/chsk?client-id=c1&handshake%3F=1`);
      assert.equal(poll.status, 200, "chsk still answers");
      await poll.text();
      await withTimeout(app.chsk.close(), 10_000, "chsk.close()");
      await withTimeout(app.closeHttp(), 10_000, "http.close()");
    } finally {
      app.cleanup();
    }
  });
});

describe("the README's dashboard embedding lines are the ones the tests run", () => {
  it("Fastify: the onRequest hook in the README is, verbatim, the one in dashboard-apps.ts", async () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const readme = await readFile(join(root, "README.md"), "utf8");
    const apps = await readFile(join(root, "test/integration/dashboard-apps.ts"), "utf8");
    const hooks = readme.match(/fastify\.addHook\("onRequest", [^\n]*dashboard\.handleRequest[^\n]*/g) ?? [];
    assert.ok(hooks.length > 0, "the README shows the Fastify hook");
    for (const hook of hooks) assert.ok(apps.includes(hook.trim()), `not what the Fastify test app runs:\n${hook}`);
  });
});
