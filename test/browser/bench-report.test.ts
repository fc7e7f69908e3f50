/**
 * The `chsk bench --html` report opened as a file in real Chromium, with
 * every network request refused: the page must need none, draw its charts
 * (canvases with the series' own colours in them), and log no error. Saves
 * the screenshots people look at (artifacts/screenshots, docs/ for the
 * README).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { initHistograms } from "../../src/bench/histogram.js";
import { renderHtmlReport } from "../../src/bench/report/html.js";
import type { BenchReport } from "../../src/bench/types.js";
import { compareReport, pushConnectReport } from "../unit/bench-report-fixture.js";
import { launchBrowser, ROOT, SCREENSHOTS } from "./helpers.js";

const run = promisify(execFile);

interface Opened {
  page: Page;
  requests: string[];
  errors: string[];
  close(): Promise<void>;
}

/** Opens `file` with every request but the file itself aborted; records requests and errors. */
async function open(browser: Browser, file: string, colorScheme: "light" | "dark" = "light"): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", (route) => (route.request().url() === url ? route.continue() : route.abort("blockedbyclient")));
  const page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, requests, errors, close: () => context.close() };
}

/** How many charts the page drew, once it says so. */
async function chartsDrawn(page: Page): Promise<number> {
  await page.waitForFunction(() => document.documentElement.dataset["charts"] !== undefined, null, { timeout: 10_000 });
  return Number(await page.evaluate(() => document.documentElement.dataset["charts"]));
}

/**
 * For each chart box: whether its canvas exists, how many pixels are drawn,
 * and how many are (nearly) the given CSS custom property's colour.
 */
function inspectCharts(page: Page, colors: Record<string, string>): Promise<Record<string, { canvas: boolean; drawn: number; colored: number }>> {
  return page.evaluate((want) => {
    const out: Record<string, { canvas: boolean; drawn: number; colored: number }> = {};
    const probe = document.createElement("canvas").getContext("2d")!;
    for (const [id, prop] of Object.entries(want)) {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-chart="${id}"] canvas`);
      if (!canvas) {
        out[id] = { canvas: false, drawn: 0, colored: 0 };
        continue;
      }
      probe.fillStyle = getComputedStyle(document.documentElement).getPropertyValue(prop).trim();
      const [r, g, b] = (probe.fillStyle.match(/[0-9a-f]{2}/gi) ?? []).map((h) => parseInt(h, 16)) as [number, number, number];
      // Read a copy: reading the chart's own canvas back makes Chromium warn (and the test counts warnings).
      const copy = document.createElement("canvas");
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext("2d", { willReadFrequently: true })!;
      ctx.drawImage(canvas, 0, 0);
      const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
      let drawn = 0;
      let colored = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3]! === 0) continue;
        drawn++;
        if (px[i + 3]! > 200 && Math.abs(px[i]! - r) < 24 && Math.abs(px[i + 1]! - g) < 24 && Math.abs(px[i + 2]! - b) < 24) colored++;
      }
      out[id] = { canvas: true, drawn, colored };
    }
    return out;
  }, colors);
}

function assertDrawn(result: Record<string, { canvas: boolean; drawn: number; colored: number }>): void {
  for (const [id, r] of Object.entries(result)) {
    assert.ok(r.canvas, `${id}: a canvas`);
    assert.ok(r.drawn > 1000, `${id}: drawn pixels (${r.drawn})`);
    assert.ok(r.colored > 20, `${id}: pixels in its series colour (${r.colored})`);
  }
}

describe("bench HTML report in Chromium", () => {
  let browser: Browser;
  let dir: string;
  before(async () => {
    await initHistograms();
    dir = await mkdtemp(join(tmpdir(), "chsk-bench-html-"));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, report: BenchReport, assets?: Parameters<typeof renderHtmlReport>[1]): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, await renderHtmlReport(report, assets));
    return file;
  }

  it("draws a ws / ajax / mix report offline, with no request and no error", async () => {
    const file = await write("compare.html", compareReport());
    const o = await open(browser, file);
    try {
      assert.equal(await chartsDrawn(o.page), 7, "latency curves + 2 time charts per run");
      assertDrawn(
        await inspectCharts(o.page, {
          latency: "--c-ajax",
          "echo-ws-rate": "--c-ws",
          "echo-ajax-rate": "--c-ajax",
          "echo-mix-rate": "--c-mix",
          "echo-ws-latency": "--c-p99",
          "echo-mix-latency": "--c-p50",
        }),
      );
      // Each run's curve is drawn in the latency chart, in its transport's colour.
      const curves = await inspectCharts(o.page, { latency: "--c-ws" });
      assert.ok(curves["latency"]!.colored > 20, "the ws curve");
      const mix = await inspectCharts(o.page, { latency: "--c-mix" });
      assert.ok(mix["latency"]!.colored > 20, "the mix curve");
      // The legend names every curve, including a mix run's transports.
      const legend = await o.page.$$eval('[data-chart="latency"] .u-legend .u-label', (els) => els.map((e) => e.textContent));
      assert.deepEqual(legend, ["percentile", "echo · ws", "echo · ajax", "echo · mix", "echo · mix (ws devices)", "echo · mix (ajax devices)"]);
      const axis = await o.page.evaluate(() => document.querySelector('[data-chart="latency"]')?.textContent ?? "");
      assert.ok(axis.includes("percentile"), axis);
      assert.match(await o.page.textContent(".verdict") ?? "", /3 runs completed, with problems:\s*echo · ajax: 8 errors/);
      assert.match(await o.page.textContent("#compare") ?? "", /ajax\/ws/);
      assert.deepEqual(o.requests, [pathToFileURL(file).href], "the page fetched nothing but itself");
      assert.deepEqual(o.errors, []);

      mkdirSync(SCREENSHOTS, { recursive: true });
      await o.page.screenshot({ path: join(SCREENSHOTS, "bench-report.png"), fullPage: true });
      // The README's picture: the top of the report (header, tables, percentile curves, comparison).
      await o.page.screenshot({ path: join(SCREENSHOTS, "bench-report-top.png"), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1440 } });
      mkdirSync(join(ROOT, "docs"), { recursive: true });
      copyFileSync(join(SCREENSHOTS, "bench-report-top.png"), join(ROOT, "docs", "bench-report.png"));
    } finally {
      await o.close();
    }
  });

  it("draws in the dark scheme too", async () => {
    const file = await write("compare-dark.html", compareReport());
    const o = await open(browser, file, "dark");
    try {
      assert.equal(await chartsDrawn(o.page), 7);
      assertDrawn(await inspectCharts(o.page, { latency: "--c-ws", "echo-ajax-rate": "--c-ajax" }));
      const bg = await o.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, "rgb(11, 13, 18)", "the dark background");
      assert.deepEqual(o.errors, []);
      await o.page.screenshot({ path: join(SCREENSHOTS, "bench-report-dark.png"), fullPage: true });
    } finally {
      await o.close();
    }
  });

  it("draws push skew, handshake and reconnect-storm curves when the runs have them", async () => {
    const file = await write("push-connect.html", pushConnectReport());
    const o = await open(browser, file);
    try {
      assert.equal(await chartsDrawn(o.page), 3 + 2 * 2 + 1);
      assertDrawn(
        await inspectCharts(o.page, {
          skew: "--c-ws",
          handshake: "--c-ajax",
          "connect-ajax-reconnect": "--c-ajax",
          "connect-ajax-rate": "--c-handshakes",
        }),
      );
      assert.match(await o.page.textContent("#push") ?? "", /completeness/);
      assert.deepEqual(o.requests, [pathToFileURL(file).href]);
      assert.deepEqual(o.errors, []);
      await o.page.screenshot({ path: join(SCREENSHOTS, "bench-report-push-connect.png"), fullPage: true });
    } finally {
      await o.close();
    }
  });

  it("works with the page script as built into dist/web (scripts/build-web.mjs)", async () => {
    const out = join(dir, "web");
    await run(process.execPath, ["scripts/build-web.mjs", "--outdir", out, "--quiet"], { cwd: ROOT });
    const file = await write("from-dist.html", compareReport(), { mode: "dist", dir: out });
    const o = await open(browser, file);
    try {
      assert.equal(await chartsDrawn(o.page), 7);
      assertDrawn(await inspectCharts(o.page, { latency: "--c-ws" }));
      assert.deepEqual(o.requests, [pathToFileURL(file).href]);
      assert.deepEqual(o.errors, []);
    } finally {
      await o.close();
    }
  });
});
