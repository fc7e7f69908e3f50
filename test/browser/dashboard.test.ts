/**
 * The live dashboard in real Chromium: users and their clients appear
 * within a second of connecting and leave after the grace period, the feed
 * is aggregated, read-only mode refuses actions, and `--dashboard-admin`
 * allows them (same-origin, with the page's token; the push typed as EDN,
 * a bad one answered next to the field). What a newcomer checks by eye is
 * asserted too: one time format, ids readable at 375 and 1280 px, the
 * error and slow-consumer counters.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  demoState,
  launchBrowser,
  newProfile,
  openDemo,
  recordForeignRequests,
  requireChromium,
  type Serve,
  SCREENSHOTS,
  screenshot,
  sleep,
  startServe,
  waitOpen,
} from "./helpers.js";
import { bidiProblems, layoutProblems, timeFormatProblems } from "./dashboard-checks.js";

/**
 * Records, in the dashboard page, when each (user, client id) row first
 * appears and when it disappears. (A string, so tsx's helpers stay out of it.)
 */
async function watchRows(dash: Page): Promise<void> {
  await dash.evaluate(`(() => {
    window.__seen = {};
    window.__gone = {};
    const scan = function () {
      const now = Date.now();
      const present = new Set();
      for (const tr of document.querySelectorAll("#users tr[data-client-id]")) {
        const id = tr.dataset.uid + "|" + tr.dataset.clientId;
        present.add(id);
        if (!(id in window.__seen)) window.__seen[id] = now;
        delete window.__gone[id];
      }
      for (const id of Object.keys(window.__seen)) if (!present.has(id) && !(id in window.__gone)) window.__gone[id] = now;
    };
    new MutationObserver(scan).observe(document.getElementById("users"), { childList: true, subtree: true });
    scan();
  })()`);
}

const seenAt = (dash: Page, uid: string, clientId: string) =>
  dash.evaluate((id) => (window as unknown as { __seen: Record<string, number> }).__seen[id] ?? null, `${uid}|${clientId}`);

async function openDashboard(context: BrowserContext, url: string): Promise<Page> {
  const dash = await context.newPage();
  await dash.goto(`${url}/dashboard`);
  await dash.waitForSelector('#feed-pill[data-state="live"]', { timeout: 10_000 });
  return dash;
}

describe("dashboard (Chromium)", () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const profile = async () => {
    const c = await newProfile(browser);
    contexts.push(c);
    return c;
  };

  before(async () => {
    requireChromium();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
  });

  describe("read-only (default)", () => {
    let serve: Serve;
    before(async () => {
      serve = await startServe();
    });
    after(async () => serve?.stop());

    it("shows alice's clients and transports within a second of connecting, and drops her after the grace period", async () => {
      const ops = await profile();
      const dash = await openDashboard(ops, serve.url);
      const foreign = recordForeignRequests(dash, serve.url);
      assert.equal(await dash.textContent("#mode-pill"), "read-only");
      await watchRows(dash);

      // alice: one WS tab, one Ajax tab.
      const alice = await profile();
      const ws = await openDemo(alice, serve.url, { uid: "alice" });
      const ajax = await openDemo(alice, serve.url, { uid: "alice", query: "?transport=ajax" });
      const [sw, sa] = await Promise.all([demoState(ws), demoState(ajax)]);
      assert.equal(sw.type, "ws");
      assert.equal(sa.type, "ajax");

      for (const s of [sw, sa]) {
        await dash.waitForSelector(`#users tr[data-uid="alice"][data-client-id="${s.clientId}"]`, { timeout: 2000 });
        const seen = await seenAt(dash, "alice", s.clientId);
        assert.ok(seen !== null && s.lastOpenedAt !== null);
        assert.ok(seen - s.lastOpenedAt < 1000, `${s.type} client listed ${seen - s.lastOpenedAt} ms after it opened (limit 1000)`);
      }
      assert.equal(await dash.getAttribute(`tr[data-uid="alice"][data-client-id="${sw.clientId}"]`, "data-transport"), "ws");
      assert.equal(await dash.getAttribute(`tr[data-uid="alice"][data-client-id="${sa.clientId}"]`, "data-transport"), "ajax");
      const userCell = await dash.textContent(`tr[data-uid="alice"] .user-cell`);
      assert.match(userCell ?? "", /alice/);
      assert.match(userCell ?? "", /ws/);
      assert.match(userCell ?? "", /ajax/);

      // Some traffic, for the chart, the frame log and the latency percentiles.
      const bob = await profile();
      const b = await openDemo(bob, serve.url, { uid: "bob" });
      // A few seconds of requests from each tab (a string: tsx's helpers stay out of the page).
      const chatter = `(async () => {
        const end = Date.now() + 4000;
        for (let n = 0; Date.now() < end; n++) {
          await window.chsk.send(["demo/echo", { n }], 5000);
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
        }
      })()`;
      await Promise.all([ws.evaluate(chatter), ajax.evaluate(chatter), b.evaluate(chatter)]);
      await b.evaluate(() => window.chsk.send(["demo/push", { uid: "alice", event: ["demo/msg", { text: "hi alice" }] }], 5000));
      await dash.waitForFunction(() => /ms/.test(document.getElementById("s-latency")?.textContent ?? ""), null, { timeout: 5000 });
      await dash.waitForSelector('#frames-body tr:has-text("demo/echo")', { timeout: 5000 });
      await dash.waitForSelector('#life-body tr[data-kind="uidport:open"][data-uid="alice"]', { timeout: 5000 });
      // alice and bob (the anonymous group of their pre-login connections leaves after its grace period).
      await dash.waitForFunction(() => document.getElementById("s-users")?.textContent === "2", null, { timeout: 10_000 });
      const users = (await (await fetch(`${serve.url}/dashboard/api/users?filter=bo`)).json()) as { users: { uid: string }[] };
      assert.deepEqual(
        users.users.map((u) => u.uid),
        ["bob"],
        "the users view filters on the server",
      );
      await dash.waitForFunction(() => ((document.querySelector("#chart canvas") as HTMLCanvasElement | null)?.width ?? 0) > 0);
      await screenshot(dash, "dashboard.png");

      // One time format everywhere: logs, users table, "since", chart legend.
      assert.deepEqual(await timeFormatProblems(dash), []);
      assert.match((await dash.textContent("#s-errors-sub")) ?? "", /^slow consumers dropped \d+$/);
      // Readable at a desktop and a phone width: no clipped ids, no sideways scrolling.
      const long = await profile();
      const l = await openDemo(long, serve.url, { uid: "alexandra.konstantinopoulou@example-university.edu" });
      await l.evaluate(() => window.chsk.send(["demo/push", { uid: "bob", event: ["some-long-namespace.events/something-happened-here", 1] }], 5000));
      await dash.waitForSelector('#users tr[data-uid^="alexandra"]', { timeout: 5000 });
      await dash.waitForSelector('#frames-body td.event:has-text("something-happened-here")', { timeout: 5000 });
      for (const width of [1280, 375]) {
        await dash.setViewportSize({ width, height: 860 });
        await dash.waitForFunction((w) => document.documentElement.clientWidth === w, width);
        assert.deepEqual(await layoutProblems(dash), [], `at ${width} px`);
      }
      await screenshot(dash, "dashboard-375.png");
      await dash.setViewportSize({ width: 1280, height: 860 });
      await l.close();

      // A right-to-left override in a user id reverses nothing around it, on the dashboard or the demo page.
      const rtlUid = "\u202eålice 😀";
      const r = await openDemo(await profile(), serve.url, { uid: rtlUid });
      await r.evaluate(() => window.chsk.send(["demo/echo", 1], 5000));
      await dash.waitForFunction((u) => [...document.querySelectorAll("#frames-body td.uid")].some((td) => td.textContent === u), rtlUid, { timeout: 5000 });
      await dash.waitForSelector(`#users tr[data-uid="${rtlUid}"]`, { timeout: 5000 });
      assert.deepEqual(await bidiProblems(dash), [], "dashboard");
      assert.deepEqual(await bidiProblems(r), [], "demo page");
      await r.close();

      // When alice closes both tabs, she stays listed through the grace period, then goes.
      const closedAt = Date.now();
      await ws.close();
      await ajax.close();
      await sleep(800);
      assert.ok(await dash.$(`#users tr[data-uid="alice"]`), "alice is still listed during the grace period");
      await dash.waitForSelector(`#users tr[data-uid="alice"]`, { state: "detached", timeout: 15_000 });
      const goneAfter = Date.now() - closedAt;
      assert.ok(goneAfter >= 2000, `alice dropped after ${goneAfter} ms, before the grace period`);
      await dash.waitForSelector('#life-body tr[data-kind="uidport:close"][data-uid="alice"]', { timeout: 3000 });
      assert.ok(await dash.$(`#users tr[data-uid="bob"]`), "bob is still there");
      await screenshot(dash, "dashboard-after-alice-left.png");
      assert.deepEqual(foreign, [], "the dashboard loads nothing from other origins");
    });

    it("refuses actions with 403 in read-only mode and offers no action buttons", async () => {
      const ops = await profile();
      const dash = await openDashboard(ops, serve.url);
      assert.equal(await dash.$("#admin-push-form"), null);
      assert.equal(await dash.$("button[data-disconnect]"), null);
      const status = await dash.evaluate(async () => {
        const r = await fetch("/dashboard/api/push", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ uid: "bob", event: "[:demo/msg 1]" }),
        });
        return r.status;
      });
      assert.equal(status, 403);
    });

    it("serves the client bundle as an ES module with a source map", async () => {
      const js = await fetch(`${serve.url}/chsk-client.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      const text = await js.text();
      assert.match(text, /\/\/# sourceMappingURL=chsk-client\.js\.map\s*$/);
      assert.match(text, /export\s*\{/, "an ES module");
      const map = (await (await fetch(`${serve.url}/chsk-client.js.map`)).json()) as { sources: string[]; sourcesContent?: string[] };
      assert.ok(map.sources.some((s) => s.endsWith("src/core/client/index.ts")), "maps back to the TypeScript sources");
      assert.ok(map.sourcesContent?.length === map.sources.length);
      const etag = js.headers.get("etag");
      assert.ok(etag);
      assert.equal((await fetch(`${serve.url}/chsk-client.js`, { headers: { "if-none-match": etag } })).status, 304);
    });
  });

  describe("--dashboard-admin", () => {
    let serve: Serve;
    before(async () => {
      serve = await startServe(["--dashboard-admin"]);
    });
    after(async () => serve?.stop());

    it("pushes to a user and disconnects a client from the dashboard; refuses cross-origin or tokenless requests", async () => {
      const gina = await profile();
      const tab = await openDemo(gina, serve.url, { uid: "gina" });
      const { clientId } = await demoState(tab);

      const ops = await profile();
      const dash = await openDashboard(ops, serve.url);
      assert.equal(await dash.textContent("#mode-pill"), "admin");
      await dash.waitForSelector(`#users tr[data-uid="gina"][data-client-id="${clientId}"]`, { timeout: 5000 });

      // Push through the admin form, in EDN like everything else; bad EDN is answered next to the field.
      await dash.click(`#users tr[data-uid="gina"] button[data-push-uid="gina"]`);
      assert.equal(await dash.inputValue("#admin-push-uid"), "gina");
      await dash.fill("#admin-push-event", '{:text "a map, not an event"}');
      await dash.click("#admin-push-form button[type=submit]");
      await dash.waitForSelector("#admin-push-error:not([hidden])", { timeout: 5000 });
      assert.match((await dash.textContent("#admin-push-error")) ?? "", /an event is a vector: \[:ns\/name data\]/);
      assert.equal(await dash.getAttribute("#admin-push-event", "aria-invalid"), "");
      await dash.fill("#admin-push-event", '[:demo/msg {:text "from the dashboard"');
      await dash.click("#admin-push-form button[type=submit]");
      await dash.waitForFunction(() => /EDN syntax error at offset \d+: unexpected end of input/.test(document.getElementById("admin-push-error")?.textContent ?? ""), null, { timeout: 5000 });
      mkdirSync(SCREENSHOTS, { recursive: true });
      await dash.locator(".admin-card").screenshot({ path: join(SCREENSHOTS, "dashboard-admin-bad-edn.png") });
      await dash.fill("#admin-push-event", '[:demo/msg {:text "from the dashboard"}]');
      assert.equal(await dash.isHidden("#admin-push-error"), true, "editing clears the error");
      await dash.click("#admin-push-form button[type=submit]");
      await tab.waitForSelector('#log li[data-kind="push"]:has-text("from the dashboard")', { timeout: 5000 });
      assert.match((await dash.textContent("#admin-result")) ?? "", /Pushed to 1 client/);

      // Disconnect her client: the tab sees the close and reconnects by itself.
      const openedBefore = (await demoState(tab)).lastOpenedAt ?? 0;
      await dash.click(`button[data-disconnect="${clientId}"]`);
      await tab.waitForFunction((t) => (window.chsk.state.lastOpenedAt ?? 0) > t, openedBefore, { timeout: 15_000 });
      await waitOpen(tab, "gina");

      // No token, or another origin: refused even in admin mode.
      const noToken = await dash.evaluate(async () => {
        const r = await fetch("/dashboard/api/disconnect", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ clientId: "x" }),
        });
        return r.status;
      });
      assert.equal(noToken, 403);
      const token = await dash.evaluate(() => (JSON.parse(document.getElementById("chsk-config")?.textContent ?? "{}") as { actionToken?: string }).actionToken);
      assert.ok(token);
      const crossSite = await fetch(`${serve.url}/dashboard/api/disconnect`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-chsk-dashboard": token, origin: "http://evil.example" },
        body: JSON.stringify({ clientId }),
      });
      assert.equal(crossSite.status, 403);
      const sameOrigin = await fetch(`${serve.url}/dashboard/api/push`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-chsk-dashboard": token, origin: serve.url },
        body: JSON.stringify({ uid: "gina", event: '[:demo/msg {:text "scripted"}]' }),
      });
      assert.equal(sameOrigin.status, 200);
      await tab.waitForSelector('#log li[data-kind="push"]:has-text("scripted")', { timeout: 5000 });
      await screenshot(dash, "dashboard-admin.png");
    });
  });
});
