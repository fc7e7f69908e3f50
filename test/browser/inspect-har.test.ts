/**
 * `--har`: a HAR recorded from a real Chromium session through the DevTools
 * protocol (Network events collected over a CDP session and built into a
 * HAR as DevTools' export builds it; see `cdp-har.ts`), not written by
 * hand, replays into the same frames as the live recording of that session:
 * the demo page's own client taps (public `client.tap()`), decoded.
 *
 * One WebSocket tab and one Ajax tab (`?transport=ajax`) of alice on the
 * real `chsk serve`: a login (the WS tab reconnects), an echo from each tab,
 * a push to alice from the Ajax tab (both tabs get it), a whoami.
 *
 * With CHSK_WRITE_HAR_FIXTURE=path the HAR is also saved (see
 * `forFixture`): `fixtures/inspect/chromium-demo.har`, which the HAR
 * import test reads, was made this way.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createFrameDecoder, type FrameRecord, type WireEvent } from "../../src/core/index.js";
import type { Har, HarNameValue } from "../../src/inspector/output/har-format.js";
import { harToWireEvents } from "../../src/inspector/sources/har.js";
import { type CdpHarRecorder, recordCdpHar } from "./cdp-har.js";
import { demoState, launchBrowser, newProfile, requireChromium, type Serve, startServe, waitOpen } from "./helpers.js";

/** A tap event as the page hands it over (bytes as base64). */
type PageTap = Record<string, unknown> & { type: string; at: number; data?: string | { b64: string } };

/**
 * Runs in the page before its scripts: taps the demo client the moment it
 * is put on `window.chsk` (frames arrive later, so none is missed). Text,
 * not a function: tsx would wrap a function's inner functions in helpers
 * the page does not have.
 */
const INSTALL_TAP = `(() => {
  const taps = [];
  window.__chskTaps = taps;
  let handle;
  Object.defineProperty(window, "chsk", {
    configurable: true,
    get() { return handle; },
    set(v) {
      handle = v;
      v.client.tap((e) => {
        const o = { ...e };
        if (e.data instanceof Uint8Array) o.data = { b64: btoa(String.fromCharCode(...e.data)) };
        if (e.error !== undefined) o.error = { code: e.error.code };
        taps.push(o);
      });
    },
  });
})();`;

const tapsOf = (page: Page) => page.evaluate(() => (window as unknown as { __chskTaps: PageTap[] }).__chskTaps);

/** The live recording: a page's tap events as the wire events a source reports. */
function wireOfTap(t: PageTap): WireEvent | undefined {
  const common = { at: t.at, transport: t["transport"] as "ws" | "ajax", connId: t["connId"] as string, clientId: t["clientId"] as string };
  if (t.type === "frame:out" || t.type === "frame:in") {
    const data = typeof t.data === "string" ? t.data : new Uint8Array(Buffer.from(t.data!.b64, "base64"));
    return {
      type: "frame",
      ...common,
      dir: t.type === "frame:in" ? "s2c" : "c2s",
      channel: t["channel"] as "ws",
      data,
      ...(t["handshake"] === true ? { handshake: true } : {}),
      ...(typeof t["status"] === "number" ? { status: t["status"] } : {}),
    };
  }
  if (t.type === "conn:open") return { type: "open", ...common };
  if (t.type === "conn:close") return { type: "close", ...common };
  return undefined;
}

function decodeAll(events: WireEvent[]): FrameRecord[] {
  const d = createFrameDecoder();
  const out = [...events].sort((a, b) => a.at - b.at).map((e) => d.push(e));
  d.flush(Date.now() + 60_000);
  return out;
}

const frameLine = (r: FrameRecord) => `${r.dir} ${r.kind} ${r.eventId ?? "-"} cb=${r.cbId ?? "-"} ${r.raw}`;

/**
 * What must match, per connection: each WebSocket's frames in order (the
 * sockets of a client in the order they opened); an Ajax client's POSTs in
 * order, each with its answer, and its polls' answers in order. (A POST's
 * answer and a poll's answer can cross by a millisecond between two
 * clocks, so Ajax is compared per exchange kind, not interleaved.)
 */
function byConnection(records: FrameRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const sockets = new Map<string, string>();
  const socketCount = new Map<string, number>();
  const answers = new Map<string, FrameRecord>();
  for (const r of records) if (r.transport === "ajax" && r.dir === "s2c" && r.channel === "post-reply") answers.set(r.exchange!, r);
  for (const r of records) {
    if (r.kind === "open" || r.kind === "close") continue;
    const cid = r.clientId ?? "?";
    if (r.transport === "ws") {
      let key = sockets.get(r.conn);
      if (key === undefined) {
        const n = (socketCount.get(cid) ?? 0) + 1;
        socketCount.set(cid, n);
        key = `ws ${cid} socket ${n}`;
        sockets.set(r.conn, key);
      }
      (out[key] ??= []).push(frameLine(r));
    } else if (r.channel === "post") {
      const a = answers.get(r.exchange!);
      (out[`ajax ${cid} posts`] ??= []).push(`${frameLine(r)} => ${a === undefined ? "(no answer)" : frameLine(a)}`);
    } else if (r.channel === "poll") {
      (out[`ajax ${cid} polls`] ??= []).push(frameLine(r));
    }
  }
  return out;
}

describe("HAR recorded from Chromium (CDP) vs the live recording (Chromium)", () => {
  let serve: Serve;
  let browser: Browser;
  let context: BrowserContext;
  const recorders: CdpHarRecorder[] = [];

  before(async () => {
    requireChromium();
    [serve, browser] = await Promise.all([startServe(), launchBrowser()]);
    context = await newProfile(browser);
    await context.addInitScript({ content: INSTALL_TAP });
  });

  after(async () => {
    for (const r of recorders) await r.detach();
    await context?.close().catch(() => {});
    await browser?.close();
    await serve?.stop();
  });

  /** A tab recorded through CDP from before its first request, open as alice. */
  async function tab(query: string): Promise<Page> {
    const page = await context.newPage();
    recorders.push(await recordCdpHar(page));
    await page.goto(`${serve.url}/${query}`);
    await page.waitForFunction(() => typeof window.chsk !== "undefined", null, { timeout: 10_000 });
    if ((await demoState(page)).uid !== "alice") {
      await page.fill("#login-uid", "alice");
      await page.click("#login-btn");
    }
    await waitOpen(page, "alice");
    return page;
  }

  /** Waits until the page's taps hold an event of `type` (and `kind`, if given). */
  const waitTap = (page: Page, type: string, kind?: string) =>
    page
      .waitForFunction(
        ([ty, k]) => (window as unknown as { __chskTaps: PageTap[] }).__chskTaps.some((t) => t.type === ty && (k === null || t["kind"] === k)),
        [type, kind ?? null] as const,
        { timeout: 10_000, polling: 50 },
      )
      .catch((e: Error) => {
        throw new Error(`waiting for a ${type} ${kind ?? ""} tap: ${e.message}`);
      });

  it("the HAR replays into the same frames, per connection and in order, as the taps saw them", async () => {
    // Given alice in a WebSocket tab (logging in: it reconnects) and an Ajax tab…
    const ws = await tab("?transport=ws");
    const ajax = await tab("?transport=ajax");
    assert.equal((await demoState(ws)).type, "ws");
    assert.equal((await demoState(ajax)).type, "ajax");

    // …when each tab calls, the Ajax tab pushes to alice (both tabs get it), and the WS tab asks who it is…
    assert.equal(await ws.evaluate(() => window.chsk.send(["demo/echo", "from the ws tab"], 5000)), "from the ws tab");
    await ajax.evaluate(() => window.chsk.send(["demo/echo", { tab: "ajax", n: [1, 2, 3] }], 5000));
    await ajax.evaluate(() => window.chsk.send(["demo/push", { uid: "alice", event: ["demo/msg", { text: "hi both tabs" }] }], 5000));
    for (const p of [ws, ajax]) await waitTap(p, "frame:in", "push");
    await ws.evaluate(() => window.chsk.send(["demo/whoami"], 5000));
    // …and the traffic stops (both clients disconnect; the pending poll is cancelled)…
    for (const p of [ws, ajax]) {
      await p.evaluate(() => window.chsk.disconnect());
      await waitTap(p, "conn:close");
    }
    for (const r of recorders) await r.settled();

    // …then the HAR built from CDP, read and decoded…
    const hars = recorders.map((r) => r.har());
    const har: Har = { log: { ...hars[0]!.log!, entries: hars.flatMap((h) => h.log!.entries!) } };
    const fromHar = decodeAll(harToWireEvents(JSON.parse(JSON.stringify(har))).events);
    // …holds the same frames as the live recording.
    const taps = [...(await tapsOf(ws)), ...(await tapsOf(ajax))];
    const live = decodeAll(taps.map(wireOfTap).filter((e) => e !== undefined));
    const expected = byConnection(live);
    assert.deepEqual(byConnection(fromHar), expected);

    // What the session held, from the HAR alone: two sockets for the WS tab (before and after the login),
    // handshakes as alice, a paired call with its latency, the push on both tabs, the Ajax client stitched into one connection.
    const wsId = (await demoState(ws)).clientId;
    const ajaxId = (await demoState(ajax)).clientId;
    assert.deepEqual(Object.keys(expected).sort(), [`ajax ${ajaxId} polls`, `ajax ${ajaxId} posts`, `ws ${wsId} socket 1`, `ws ${wsId} socket 2`].sort());
    const handshakes = fromHar.filter((r) => r.kind === "handshake");
    assert.ok(handshakes.some((r) => r.transport === "ws" && r.uid === '"alice"'));
    assert.ok(handshakes.some((r) => r.transport === "ajax" && r.uid === '"alice"'));
    const echo = fromHar.find((r) => r.kind === "event" && r.eventId === "demo/echo" && r.transport === "ws")!;
    const reply = fromHar.find((r) => r.seq === echo.pair)!;
    assert.equal(reply.kind, "reply");
    assert.equal(reply.data, '"from the ws tab"');
    assert.ok(typeof reply.latencyMs === "number" && reply.latencyMs >= 0);
    assert.deepEqual(fromHar.filter((r) => r.kind === "push").map((r) => `${r.transport} ${r.eventId}`).sort(), ["ajax demo/msg", "ws demo/msg"]);
    assert.deepEqual(new Set(fromHar.filter((r) => r.transport === "ajax").map((r) => r.conn)), new Set([`ajax:${ajaxId}`]));

    const fixture = process.env["CHSK_WRITE_HAR_FIXTURE"];
    if (fixture) writeFileSync(fixture, `${JSON.stringify(forFixture(har), null, 1)}\n`);
  });
});

const SECRET_HEADERS = new Set(["cookie", "set-cookie", "authorization"]);

/**
 * The HAR as the fixture keeps it: bodies of entries off the channel path
 * (the page, its scripts) dropped, and, as DevTools' sanitized export does,
 * no `Cookie`, `Set-Cookie` or `Authorization` header.
 */
function forFixture(har: Har): Har {
  const clean = (hs: HarNameValue[] | undefined) => (hs ?? []).filter((h) => !SECRET_HEADERS.has(h.name.toLowerCase()));
  const entries = har.log!.entries!.map((e) => {
    const request = { ...e.request!, headers: clean(e.request!.headers) };
    const response = { ...e.response!, headers: clean(e.response!.headers) };
    if (new URL(e.request!.url!).pathname !== "/chsk") {
      const { text: _t, encoding: _e, ...content } = e.response!.content!;
      response.content = content;
    }
    return { ...e, request, response };
  });
  return { log: { ...har.log!, entries } };
}
