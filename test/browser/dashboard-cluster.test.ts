/**
 * The dashboard's cluster panel in real Chromium: two `chsk serve --redis`
 * nodes on a real redis-server. n1's dashboard lists both nodes with what
 * each holds, counts alice (connected to n2 only) in the cluster's users,
 * turns "down" with a banner while Redis is stopped, and "ready" again once
 * it is back. A server that is not clustered has no panel.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type RedisHandle, startRedis } from "../cluster/infra.js";
import { launchBrowser, newProfile, openDemo, requireChromium, type Serve, screenshot, startServe } from "./helpers.js";

const KEY = "dashboard-cluster-key-0123456789";

/** The node rows as the page shows them: id cell, users, ws, ajax, alive badge. */
const nodeRows = (dash: Page) =>
  dash.$$eval("#cluster-nodes-body tr", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].filter((_, i) => i !== 4).map((td) => (td.textContent ?? "").trim())),
  );

describe("dashboard cluster panel (Chromium)", () => {
  let browser: Browser;
  let redis: RedisHandle;
  let n1: Serve;
  let n2: Serve;
  const contexts: BrowserContext[] = [];

  before(async () => {
    requireChromium();
    redis = await startRedis();
    const common = ["--redis", redis.url, "--session-key", KEY];
    [n1, n2] = await Promise.all([startServe([...common, "--node-id", "n1"]), startServe([...common, "--node-id", "n2"])]);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await Promise.all([n1?.stop(), n2?.stop()]);
    await redis?.stop();
  });

  it("lists both nodes and the cluster's users, and shows the store down and back", async () => {
    const ops = await newProfile(browser);
    contexts.push(ops);
    const dash = await ops.newPage();
    await dash.goto(`${n1.url}/dashboard`);
    await dash.waitForSelector('#cluster-status[data-state="ready"]', { timeout: 10_000 });

    // alice on n2 only: n1's own counts stay 0, the cluster's say 1.
    const alice = await newProfile(browser);
    contexts.push(alice);
    await openDemo(alice, n2.url, { uid: "alice" });
    await dash.waitForFunction(
      () => document.getElementById("c-users")?.textContent === "1" && document.querySelectorAll("#cluster-nodes-body tr").length === 2,
      null,
      { timeout: 10_000 },
    );
    // Heartbeats carry each node's counts: wait for n2's to report alice.
    await dash.waitForFunction(() => document.querySelector('#cluster-nodes-body tr[data-node-id="n2"] td:nth-child(2)')?.textContent === "1", null, {
      timeout: 10_000,
    });
    assert.deepEqual(await nodeRows(dash), [
      ["n1 this node", "0", "0", "0", "alive"],
      ["n2", "1", "1", "0", "alive"],
    ]);
    assert.equal(await dash.textContent("#s-users"), "0", "the Users card is this node's");
    assert.match((await dash.textContent("#cluster-meta")) ?? "", /^redis · node n1 · 2 nodes alive$/);
    assert.equal(await dash.isVisible("#cluster-banner"), false);
    await screenshot(dash, "dashboard-cluster.png");

    // Redis stopped: the panel says so, and counts the failed steps.
    await redis.down({ signal: "SIGKILL" });
    await dash.waitForSelector('#cluster-status[data-state="down"]', { timeout: 10_000 });
    await dash.waitForSelector("#cluster-banner:visible", { timeout: 5000 });
    assert.match((await dash.textContent("#cluster-banner")) ?? "", /^The cluster store is down \(.+\): this node serves only its own clients/);
    await dash.waitForSelector("#c-failures.bad", { timeout: 5000 });
    await screenshot(dash, "dashboard-cluster-down.png");

    // Back: the node registers again by itself.
    await redis.up();
    await dash.waitForSelector('#cluster-status[data-state="ready"]', { timeout: 15_000 });
    await dash.waitForFunction(() => Number(document.getElementById("c-resyncs")?.textContent) >= 1, null, { timeout: 5000 });
    await dash.waitForSelector("#cluster-banner", { state: "hidden", timeout: 5000 });
  });

  it("a server of its own has no cluster panel", async () => {
    const solo = await startServe();
    try {
      const ctx = await newProfile(browser);
      contexts.push(ctx);
      const dash = await ctx.newPage();
      await dash.goto(`${solo.url}/dashboard`);
      await dash.waitForSelector('#feed-pill[data-state="live"]', { timeout: 10_000 });
      assert.equal(await dash.$("#cluster"), null);
    } finally {
      await solo.stop();
    }
  });
});
