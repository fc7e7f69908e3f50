/**
 * The dashboard embedded in an app with `mountDashboard` (plain node:http
 * and Express 5) at a custom path, in real Chromium: the app's own auth
 * decides. Refused without it; `"counts"` shows numbers and no identity;
 * `"admin"` lists the connected user and pushes an EDN event to them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createClient, type Client } from "../../src/core/client/index.node.js";
import { type EmbedApp, roleAuth, startEmbedApp } from "../integration/dashboard-apps.js";
import { withTimeout } from "../integration/server-helpers.js";
import { launchBrowser, newProfile, recordForeignRequests, requireChromium, screenshot } from "./helpers.js";
import { layoutProblems, timeFormatProblems } from "./dashboard-checks.js";

const PATH = "/internal/chsk-live";

describe("mountDashboard in an app (Chromium)", () => {
  let browser: Browser;
  const apps: EmbedApp[] = [];
  const clients: Client[] = [];
  const contexts: BrowserContext[] = [];

  before(async () => {
    requireChromium();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(apps.map((a) => a.close()));
  });

  /** A browser profile whose app session has `role`. */
  async function as(app: EmbedApp, role: string | null): Promise<Page> {
    const context = await newProfile(browser);
    contexts.push(context);
    if (role !== null) await context.addCookies([{ name: "role", value: role, url: app.url }]);
    return context.newPage();
  }

  for (const kind of ["node:http", "express"] as const) {
    it(`${kind}: an admin sees the connected user at ${PATH} and pushes EDN to them`, async () => {
      const app = await startEmbedApp(kind, { path: PATH, auth: roleAuth, links: [{ href: "/", label: "My app" }] });
      apps.push(app);
      const carol = createClient({ url: `${app.url}/chsk`, type: "ws", params: { uid: "carol" } });
      clients.push(carol);
      await withTimeout(carol.whenOpen(), 5000, "carol to connect");

      const page = await as(app, "admin");
      const foreign = recordForeignRequests(page, app.url);
      await page.goto(`${app.url}${PATH}`);
      await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: 10_000 });
      assert.equal(await page.textContent("#mode-pill"), "admin");
      await page.waitForSelector(`#users tr[data-uid="carol"][data-client-id="${carol.clientId}"]`, { timeout: 5000 });
      assert.equal(await page.getAttribute(".tabs a:first-child", "href"), "/", "the app's link back");

      const got = new Promise<unknown>((resolve) => carol.on("recv", resolve));
      await page.fill("#admin-push-uid", "carol");
      await page.fill("#admin-push-event", '[:app/note {:text "from the embedded dashboard"}]');
      await page.click("#admin-push-form button[type=submit]");
      assert.deepEqual(await withTimeout(got, 5000, "the push"), ["app/note", { text: "from the embedded dashboard" }]);
      await page.waitForSelector('#admin-result:has-text("Pushed to 1 client")', { timeout: 5000 });
      assert.deepEqual(await timeFormatProblems(page), []);
      assert.deepEqual(await layoutProblems(page), []);
      assert.deepEqual(foreign, [], "nothing loads from another origin");
      if (kind === "express") await screenshot(page, "dashboard-embedded.png");
    });
  }

  it("node:http: refused without the app's say-so; counts only shows no identity anywhere", async () => {
    const app = apps[0] as EmbedApp;
    const nobody = await as(app, null);
    const refused = await nobody.goto(`${app.url}${PATH}`);
    assert.equal(refused?.status(), 403);

    const page = await as(app, "counts");
    await page.goto(`${app.url}${PATH}`);
    await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById("s-users")?.textContent === "1", null, { timeout: 5000 });
    assert.equal(await page.textContent("#mode-pill"), "counts only");
    assert.equal(await page.isVisible("#counts-note"), true);
    assert.equal(await page.isVisible("#users"), false);
    assert.equal(await page.$("#admin-push-form"), null);
    const carol = clients[0] as Client;
    await carol.send(["app/echo", 1], 5000);
    await page.waitForSelector("#frames-body tr", { timeout: 5000 });
    const html = await page.content();
    assert.doesNotMatch(html, /carol/, "no uid in the page");
    assert.ok(!html.includes(carol.clientId), "no client id in the page");
    await screenshot(page, "dashboard-counts-only.png", { fullPage: false });
  });
});
