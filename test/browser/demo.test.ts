/**
 * The demo page in real Chromium against the real `chsk serve`:
 * several tabs of one user, pushes and replies going to the right tabs, the
 * Ajax fallback when a page has no WebSocket, and nothing loaded from
 * anywhere but the page's own origin.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import {
  demoState,
  launchBrowser,
  logTexts,
  newProfile,
  openDemo,
  recordForeignRequests,
  requireChromium,
  type Serve,
  screenshot,
  sleep,
  startServe,
  waitOpen,
} from "./helpers.js";

describe("demo page (Chromium)", () => {
  let serve: Serve;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const profile = async () => {
    const c = await newProfile(browser);
    contexts.push(c);
    return c;
  };

  before(async () => {
    requireChromium();
    [serve, browser] = await Promise.all([startServe(["--open"]), launchBrowser()]);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await serve?.stop();
  });

  it("serve --open prints the demo and dashboard URLs", async () => {
    for (let i = 0; i < 40 && !serve.output().includes("/dashboard"); i++) await sleep(50);
    assert.match(serve.output(), new RegExp(`${serve.url}/(\\s|$)`, "m"));
    assert.match(serve.output(), new RegExp(`${serve.url}/dashboard`));
  });

  it("two alice tabs and a bob tab: bob's push reaches both alice tabs only; replies go to the tab that asked", async () => {
    // Given: alice in two tabs of one browser profile, bob in another profile.
    const alice = await profile();
    const a1 = await openDemo(alice, serve.url, { uid: "alice" });
    const a2 = await openDemo(alice, serve.url, { uid: "alice" });
    const bob = await profile();
    const b = await openDemo(bob, serve.url, { uid: "bob" });
    const foreign = [a1, a2, b].flatMap((p) => recordForeignRequests(p, serve.url));
    const [s1, s2, sb] = await Promise.all([demoState(a1), demoState(a2), demoState(b)]);
    assert.notEqual(s1.clientId, s2.clientId, "each tab is its own client");
    assert.equal(sb.uid, "bob");

    // When: bob pushes to alice through the page's form.
    await b.fill("#push-uid", "alice");
    await b.fill("#push-text", "hello from bob");
    await b.click("#push-form button[type=submit]");

    // Then: both alice tabs show the push, bob's tab gets only his reply.
    for (const page of [a1, a2]) {
      await page.waitForSelector('#log li[data-kind="push"]:has-text("hello from bob")', { timeout: 5000 });
    }
    await b.waitForSelector('#log li[data-kind="reply"]:has-text("demo/push")', { timeout: 5000 });
    await sleep(300);
    assert.deepEqual(await logTexts(b, "push"), [], "bob's tab receives no push");
    const pushed = (await logTexts(a1, "push")).join("\n");
    assert.match(pushed, /demo\/msg/);
    assert.match(pushed, /:from "bob"/);

    // When: every tab asks for an echo of its own.
    const tabs = [
      ["a1", a1],
      ["a2", a2],
      ["b", b],
    ] as const;
    const replies = await Promise.all(tabs.map(([name, p]) => p.evaluate((n) => window.chsk.send(["demo/echo", `echo-for-${n}`], 5000), name)));
    // Then: each reply resolves in the asking tab and shows only in its log.
    assert.deepEqual(replies, ["echo-for-a1", "echo-for-a2", "echo-for-b"]);
    for (const [name, page] of tabs) {
      const own = (await logTexts(page, "reply")).join("\n");
      assert.match(own, new RegExp(`echo-for-${name}`));
      for (const [other] of tabs) if (other !== name) assert.doesNotMatch(own, new RegExp(`echo-for-${other}\\b`));
    }

    // whoami answers with the asking tab's own client id.
    const who = await a2.evaluate(async () => JSON.stringify(await window.chsk.send(["demo/whoami"], 5000)));
    assert.match(who, new RegExp(s2.clientId));
    assert.match(who, /"uid":"alice"/);

    // The UI state panel agrees with window.chsk.
    assert.equal(await a1.textContent("#st-uid"), "alice");
    assert.equal(await a1.textContent("#st-client-id"), s1.clientId);
    assert.equal(await a1.getAttribute("#conn-pill", "data-state"), "open");
    assert.deepEqual(foreign, [], "no request leaves the page's origin");
    await screenshot(a1, "demo-alice.png");
    await screenshot(b, "demo-bob.png");
  });

  it("a page without WebSocket falls back to Ajax: sends, gets replies and pushes, and the dashboard lists it under ajax", async () => {
    // Given: a page whose WebSocket is removed before any page script runs.
    const carol = await profile();
    await carol.addInitScript(() => {
      Object.defineProperty(window, "WebSocket", { value: undefined, configurable: true, writable: true });
    });
    const page = await openDemo(carol, serve.url, { uid: "carol" });
    assert.equal(await page.evaluate(() => typeof WebSocket), "undefined");
    const foreign = recordForeignRequests(page, serve.url);
    const state = await demoState(page);
    assert.equal(state.type, "ajax", "auto mode chose Ajax");

    // Sends and replies over Ajax POSTs.
    assert.equal(await page.evaluate(() => window.chsk.send(["demo/echo", "over ajax"], 5000)), "over ajax");
    const who = await page.evaluate(async () => JSON.stringify(await window.chsk.send(["demo/whoami"], 5000)));
    assert.match(who, /"transport":"ajax"/);

    // Pushes from another user's WS tab arrive over the long-poll.
    const dave = await profile();
    const d = await openDemo(dave, serve.url, { uid: "dave" });
    assert.equal((await demoState(d)).type, "ws");
    const ok = await d.evaluate(async () => String(await window.chsk.send(["demo/push", { uid: "carol", event: ["demo/msg", { text: "poll me" }] }], 5000)));
    assert.equal(ok, ":ok");
    await page.waitForSelector('#log li[data-kind="push"]:has-text("poll me")', { timeout: 5000 });

    // The dashboard shows carol's client under Ajax.
    const dash = await carol.newPage();
    await dash.goto(`${serve.url}/dashboard`);
    // (Its pre-login connection may still be listed under the anonymous group until its grace period ends.)
    const row = dash.locator(`#users tr[data-client-id="${state.clientId}"][data-uid="carol"]`);
    await row.waitFor({ timeout: 5000 });
    assert.equal(await row.getAttribute("data-transport"), "ajax");
    assert.equal(await row.getAttribute("data-uid"), "carol");
    await screenshot(page, "demo-ajax-fallback.png");
    assert.deepEqual(foreign, []);
  });

  it("logs out to the anonymous group and back in", async () => {
    const erin = await profile();
    const page = await openDemo(erin, serve.url, { uid: "erin" });
    await page.click("#logout-btn");
    await page.waitForFunction(() => window.chsk.state.open && window.chsk.state.uid === null, null, { timeout: 10_000 });
    assert.equal(await page.textContent("#st-uid"), "anonymous");
    await page.fill("#login-uid", "erin2");
    await page.click("#login-btn");
    await waitOpen(page, "erin2");
  });

  it("disconnect stops the client; reconnect brings it back", async () => {
    const frank = await profile();
    const page = await openDemo(frank, serve.url, { uid: "frank" });
    await page.click("#disconnect-btn");
    await page.waitForFunction(() => !window.chsk.state.open, null, { timeout: 5000 });
    assert.equal((await demoState(page)).lastCloseReason, "requested-disconnect");
    assert.equal(await page.getAttribute("#conn-pill", "data-state"), "closed");
    await assert.rejects(page.evaluate(() => window.chsk.send(["demo/echo", 1], 1000)));
    await page.click("#reconnect-btn");
    await waitOpen(page, "frank");
    assert.equal(await page.evaluate(() => window.chsk.send(["demo/echo", 2], 5000)), 2);
  });
});
