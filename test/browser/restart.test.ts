/**
 * Restarting `chsk serve` on the same port: every tab (WS and Ajax)
 * reconnects by itself, still as its user; the dashboard lists them again;
 * each tab says why it closed in words (a WS tab: "server went away (1001)",
 * not Sente's bare `:clean`) and logs the reconnect backoff.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { demoState, launchBrowser, logTexts, newProfile, openDemo, requireChromium, type Serve, screenshot, startServe, waitOpen } from "./helpers.js";

describe("server restart (Chromium)", () => {
  let serve: Serve | undefined;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    requireChromium();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await serve?.stop();
  });

  it("every tab reconnects by itself and the dashboard shows them again", async () => {
    const first = await startServe();
    serve = first;
    const port = first.port;

    const alice = await newProfile(browser);
    const bob = await newProfile(browser);
    const ops = await newProfile(browser);
    contexts.push(alice, bob, ops);
    const tabs = [
      { name: "alice ws", page: await openDemo(alice, first.url, { uid: "alice" }), uid: "alice" },
      { name: "alice ajax", page: await openDemo(alice, first.url, { uid: "alice", query: "?transport=ajax" }), uid: "alice" },
      { name: "bob auto", page: await openDemo(bob, first.url, { uid: "bob" }), uid: "bob" },
    ];
    const ids = await Promise.all(tabs.map(async (t) => (await demoState(t.page)).clientId));
    const row = (i: number) => `#users tr[data-uid="${tabs[i]!.uid}"][data-client-id="${ids[i]}"]:not(.grace)`;
    const dash = await ops.newPage();
    await dash.goto(`${first.url}/dashboard`);
    for (const i of ids.keys()) await dash.waitForSelector(row(i), { timeout: 5000 });

    // Restart on the same port.
    await first.stop();
    for (const t of tabs) await t.page.waitForFunction(() => !window.chsk.state.open, null, { timeout: 10_000 });
    // While the server is away, a WS tab says what happened: the close code, in words.
    const wsTab = tabs[0]!.page;
    const lastClose = await wsTab.textContent("#st-last-close");
    assert.match(lastClose ?? "", /^server went away \(1001\)(: [^]+)? at \d\d:\d\d:\d\d$/, `Last close: ${lastClose}`);
    assert.doesNotMatch(lastClose ?? "", /clean/);
    // The dashboard says its numbers are stale, instead of showing them as live.
    await dash.waitForSelector("#feed-banner:not([hidden])", { timeout: 10_000 });
    assert.match((await dash.textContent("#feed-banner")) ?? "", /^Lost the server's feed, (reconnecting|retrying) \(since \d\d:\d\d:\d\d\); the numbers below are from then\.$/);
    serve = await startServe([], port);
    assert.equal(serve.port, port);

    // Every tab comes back on its own, as the same user and client.
    for (const [i, t] of tabs.entries()) {
      const s = await waitOpen(t.page, t.uid, 30_000);
      assert.equal(s.clientId, ids[i], `${t.name} keeps its client id`);
      assert.equal(await t.page.evaluate(() => window.chsk.send(["demo/echo", "back"], 5000)), "back");
    }

    // An error from the outage (a failed attempt while the server was away) is not shown as the open connection's.
    let sawError = false;
    for (const t of tabs) {
      if ((await demoState(t.page)).lastError === null) continue;
      sawError = true;
      const text = (await t.page.textContent("#st-last-error")) ?? "";
      assert.match(text, /^– \(CHSK_ERR_\w+( \(HTTP \d+\))? at \d\d:\d\d:\d\d, before the last reconnect\)$/, `${t.name}: Last error "${text}"`);
    }
    assert.ok(sawError, "a tab saw an attempt fail while the server was away");

    // The dashboard's feed reconnects too, and lists every tab again.
    for (const i of ids.keys()) await dash.waitForSelector(row(i), { timeout: 10_000 });
    await dash.waitForSelector('#feed-pill[data-state="live"]');
    assert.equal(await dash.isHidden("#feed-banner"), true, "and takes that back once live");

    // Each log tells the story: why it closed, and the backoff before retrying.
    for (const t of tabs) {
      const states = (await logTexts(t.page, "state")).join("\n");
      assert.match(states, /closed: (server went away \(1001\)|connection lost)[^\n]* \(Sente reason :\w[\w-]*\)/, `${t.name} logs the close reason in words`);
      assert.match(states, /reconnecting in \d+\.\d s \(backoff\)/, `${t.name} logs the backoff`);
    }
    await screenshot(tabs[0]!.page, "demo-after-restart.png");
    await screenshot(dash, "dashboard-after-restart.png");
  });
});
