/**
 * `chsk inspect --proxy` (the real CLI, spawned) in front of the real
 * `chsk serve`, with real Chromium going through it: alice in two tabs (one forced to Ajax with
 * `?transport=ajax`), bob in another profile. The demo app must work as it
 * does without the proxy (login, echo, a push reaching both alice tabs,
 * nothing loaded from anywhere but the proxy's origin), and the decoded
 * records (its `--format jsonl` lines while it runs, its `--record` file
 * once SIGTERM has stopped it) must hold the
 * handshakes, paired calls with their latency, the pushes, and the Ajax
 * tab's polls and POSTs stitched into one connection.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FrameRecord, parseRecordLines } from "../../src/core/index.js";
import { type Running, startCli, waitFor } from "../e2e/cli.js";
import { demoState, launchBrowser, newProfile, openDemo, recordForeignRequests, requireChromium, type Serve, startServe } from "./helpers.js";

const until = async (pred: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("inspect proxy (Chromium through the proxy to chsk serve)", () => {
  let serve: Serve;
  let browser: Browser;
  let proxy: Running;
  let url: string;
  const contexts: BrowserContext[] = [];
  const dir = mkdtempSync(join(tmpdir(), "chsk-inspect-proxy-"));
  const recording = join(dir, "session.jsonl");
  const parse = (text: string): FrameRecord[] => {
    const { records, errors } = parseRecordLines(text);
    assert.deepEqual(errors, [], "every line is a record");
    return records;
  };
  /** What the proxy has printed so far (whole lines). */
  const printed = () => parse(proxy.stdout.slice(0, proxy.stdout.lastIndexOf("\n") + 1));

  before(async () => {
    requireChromium();
    [serve, browser] = await Promise.all([startServe(), launchBrowser()]);
    proxy = startCli(["inspect", "--proxy", "--listen", "127.0.0.1:0", "--target", serve.url, "--record", recording, "--format", "jsonl"], 120_000);
    url = await waitFor(() => /^chsk inspect proxy listening on (http:\/\/\S+)$/m.exec(proxy.stderr)?.[1], 15_000, "the proxy's listening line");
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    if (proxy?.proc.exitCode === null) proxy.proc.kill("SIGKILL");
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the demo works unchanged through the proxy, and the recording holds handshakes, paired calls, pushes and a stitched Ajax client", async () => {
    const alice = await newProfile(browser);
    const bob = await newProfile(browser);
    contexts.push(alice, bob);

    // Login through the page's form, in every tab: POST /login and its cookie, through the proxy.
    const wsTab = await openDemo(alice, url, { uid: "alice" });
    const ajaxTab = await openDemo(alice, url, { uid: "alice", query: "?transport=ajax" });
    const bobTab = await openDemo(bob, url, { uid: "bob" });
    const foreign = [wsTab, ajaxTab, bobTab].flatMap((p) => recordForeignRequests(p, url));
    const [ws, ajax] = [await demoState(wsTab), await demoState(ajaxTab)];
    assert.equal(ws.type, "ws");
    assert.equal(ajax.type, "ajax");
    assert.equal(ws.uid, "alice");
    assert.equal(ajax.uid, "alice");

    // Echo from each alice tab.
    assert.equal(await wsTab.evaluate(() => window.chsk.send(["demo/echo", "through ws"], 5000)), "through ws");
    assert.equal(await ajaxTab.evaluate(() => window.chsk.send(["demo/echo", "through ajax"], 5000)), "through ajax");

    // Bob pushes to alice with the page's form: both her tabs show it.
    await bobTab.fill("#push-uid", "alice");
    await bobTab.fill("#push-text", "hello through the proxy");
    await bobTab.click("#push-form button[type=submit]");
    for (const page of [wsTab, ajaxTab]) {
      await page.waitForSelector('#log li[data-kind="push"]:has-text("hello through the proxy")', { timeout: 5000 });
    }
    assert.deepEqual(foreign, [], "every request stays on the proxy's origin");

    // The pushes are on the proxy's stdout as they happen; then SIGTERM, and the recording is whole.
    const pushed = (rs: FrameRecord[], clientId: string) => rs.some((r) => r.clientId === clientId && r.kind === "push");
    await until(() => { const rs = printed(); return pushed(rs, ws.clientId) && pushed(rs, ajax.clientId); }, 5000, "the push lines of both alice tabs");
    for (const c of contexts) await c.close();
    contexts.length = 0;
    proxy.proc.kill("SIGTERM");
    const exit = await proxy.done;
    assert.equal(exit.code, 0, exit.stderr);
    const records = parse(readFileSync(recording, "utf8"));
    assert.deepEqual(printed().map((r) => r.seq), records.map((r) => r.seq), "stdout and the recording hold the same frames");

    const of = (clientId: string) => records.filter((r) => r.clientId === clientId);
    const wsRecs = () => of(ws.clientId);
    const ajaxRecs = () => of(ajax.clientId);

    // Handshakes: alice's WS socket and her Ajax client, with her uid.
    const hs = (rs: FrameRecord[]) => rs.filter((r) => r.kind === "handshake" && r.uid === '"alice"');
    assert.ok(hs(wsRecs()).length >= 1 && hs(wsRecs()).every((r) => r.transport === "ws"), "the WS tab's handshake");
    assert.ok(hs(ajaxRecs()).length >= 1 && hs(ajaxRecs()).every((r) => r.transport === "ajax" && r.channel === "poll"), "the Ajax tab's handshake poll");

    // Paired calls: each echo's reply points at its call, with a latency.
    for (const [rs, text, transport] of [
      [wsRecs(), "through ws", "ws"],
      [ajaxRecs(), "through ajax", "ajax"],
    ] as const) {
      const call = rs.find((r) => r.kind === "event" && r.eventId === "demo/echo" && r.data?.includes(text));
      assert.ok(call, `the ${transport} echo call`);
      const reply = rs.find((r) => r.kind === "reply" && r.pair === call.seq);
      assert.ok(reply, `the ${transport} echo reply, paired`);
      assert.equal(call.pair, reply.seq);
      assert.equal(reply.transport, transport);
      assert.ok(typeof reply.latencyMs === "number" && reply.latencyMs >= 0);
      assert.match(reply.data ?? "", new RegExp(text));
    }

    // The push, on both alice connections, expanded.
    for (const rs of [wsRecs(), ajaxRecs()]) {
      const push = rs.find((r) => r.kind === "push" && JSON.stringify(r.events ?? r.data).includes("hello through the proxy"));
      assert.ok(push, "the push record");
      assert.equal(push.dir, "s2c");
    }

    // Stitching: the Ajax tab's handshake, polls, POSTs and answers are one connection.
    const ajaxConns = new Set(ajaxRecs().filter((r) => r.transport === "ajax").map((r) => r.conn));
    assert.equal(ajaxConns.size, 1, `one logical Ajax connection, got ${[...ajaxConns].join(", ")}`);
    const channels = new Set(ajaxRecs().map((r) => r.channel));
    for (const c of ["poll", "post", "post-reply"] as const) assert.ok(channels.has(c), `the Ajax connection holds ${c} records`);
    assert.ok(ajaxRecs().filter((r) => r.channel === "poll").length >= 2, "its handshake poll and at least one long-poll");
    // The WS tab is its own connection, apart from the Ajax one.
    const wsConns = new Set(wsRecs().filter((r) => r.kind !== "open").map((r) => r.conn));
    for (const c of wsConns) assert.ok(!ajaxConns.has(c));
  });
});
