/**
 * Tried as a new user would: the README's first command (`npx chsk serve`,
 * which runs the built `dist/` that `npm ci` produced), a browser on the
 * printed URL, two people in two tabs, a push. No other step.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { launchBrowser, newProfile, openDemo, requireChromium, ROOT, type Serve, screenshot, startServe } from "./helpers.js";

describe("new user (README first command, built dist)", () => {
  let serve: Serve;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    requireChromium();
    for (const f of ["dist/cli/main.js", "dist/web/chsk-client.js", "dist/web/assets/dashboard.js"]) {
      assert.ok(existsSync(join(ROOT, f)), `${f} is missing: \`npm ci\` builds it (prepare), or run \`npm run build\``);
    }
    // `npx chsk serve` runs this package's `bin`; run that file directly (npx
    // does not pass SIGTERM on to it, which would leave the server running).
    const bin = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: { chsk: string } }).bin.chsk;
    [serve, browser] = await Promise.all([startServe([], 0, [process.execPath, join(ROOT, bin)]), launchBrowser()]);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await serve?.stop();
  });

  it("a browser on the printed URL: two people, two tabs, a push", async () => {
    const alice = await newProfile(browser);
    const bob = await newProfile(browser);
    contexts.push(alice, bob);
    const a = await openDemo(alice, serve.url, { uid: "alice" });
    const b = await openDemo(bob, serve.url, { uid: "bob" });
    await b.fill("#push-uid", "alice");
    await b.fill("#push-text", "hi from bob, first try");
    await b.click("#push-form button[type=submit]");
    await a.waitForSelector('#log li[data-kind="push"]:has-text("hi from bob, first try")', { timeout: 5000 });
    await screenshot(a, "new-user-alice.png");

    // The page ran the shipped bundle, not a dev build.
    const served = Buffer.from(await (await fetch(`${serve.url}/chsk-client.js`)).arrayBuffer());
    assert.ok(served.equals(readFileSync(join(ROOT, "dist/web/chsk-client.js"))), "/chsk-client.js is dist/web/chsk-client.js");
  });
});
