/**
 * Browser-test helpers: run the real CLI (`chsk serve`) as a user would, and
 * drive Debian's Chromium through playwright-core (no browser download).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHROMIUM = process.env["CHSK_CHROMIUM"] ?? "/usr/bin/chromium";
/** Where the run leaves screenshots for people to look at (README: "Demo page and dashboard"). */
export const SCREENSHOTS = join(ROOT, "artifacts", "screenshots");

/** Fails (never skips) when Chromium is missing, saying how to get it. */
export function requireChromium(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}. The browser tests need Debian's Chromium: apt-get install chromium`,
  );
}

export async function launchBrowser(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh, isolated profile (cookies, storage) — one per simulated person. */
export async function newProfile(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
}

export interface Serve {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** How the tests run the CLI from sources, as a developer would. */
export const DEV_CLI = [process.execPath, "--import", "tsx", "src/cli/main.ts"];

/**
 * `CLI serve --port PORT ARGS…` (CLI: {@link DEV_CLI} unless given);
 * resolves on the listening line.
 */
export async function startServe(args: string[] = [], port = 0, cli: string[] = DEV_CLI): Promise<Serve> {
  const [cmd, ...pre] = cli as [string, ...string[]];
  const proc = spawn(cmd, [...pre, "serve", "--port", String(port), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chsk serve did not start within 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    proc.stdout?.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chsk serve exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export interface DemoState {
  open: boolean;
  type: string;
  uid: unknown;
  clientId: string;
  lastCloseReason: string | null;
  lastOpenedAt: number | null;
  lastError: string | null;
}

export const demoState = (page: Page): Promise<DemoState> => page.evaluate(() => window.chsk.state as unknown as DemoState);

/** Waits until the page's client is open (as `uid`, if given). */
export async function waitOpen(page: Page, uid?: string, timeout = 10_000): Promise<DemoState> {
  try {
    await page.waitForFunction(
      (u) => typeof window.chsk !== "undefined" && window.chsk.state.open && (u === null || window.chsk.state.uid === u),
      uid ?? null,
      { timeout, polling: 50 },
    );
  } catch (e) {
    // Say what the page saw: its state and the newest log lines.
    const state = await demoState(page).catch(() => null);
    const log = await page.$$eval("#log li", (lis) => lis.slice(0, 8).map((li) => li.textContent)).catch(() => []);
    throw new Error(`${(e as Error).message}\nwaiting for open as ${uid ?? "anyone"}; state: ${JSON.stringify(state)}\nlog (newest first):\n  ${log.join("\n  ")}`);
  }
  return demoState(page);
}

/** Opens the demo page in `context` and logs in as `uid` through the page's form. */
export async function openDemo(context: BrowserContext, baseUrl: string, options: { uid?: string; query?: string } = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/${options.query ?? ""}`);
  await page.waitForFunction(() => typeof window.chsk !== "undefined", null, { timeout: 10_000 });
  if (options.uid !== undefined) {
    const current = await demoState(page);
    if (current.uid !== options.uid) {
      await page.fill("#login-uid", options.uid);
      await page.click("#login-btn");
    }
  }
  await waitOpen(page, options.uid);
  return page;
}

/** Texts of the page's log entries of one kind (`push`, `reply`, `state`, …). */
export const logTexts = (page: Page, kind: string): Promise<string[]> =>
  page.$$eval(`#log li[data-kind="${kind}"]`, (lis) => lis.map((li) => li.textContent ?? ""));

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, name);
  // A full-page shot of a scrolled page would misplace the sticky top bar.
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  return path;
}

/** Every request a page makes must stay on its own origin. */
export function recordForeignRequests(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol === "data:" || u.protocol === "blob:") return;
    const o = `${u.protocol.replace("ws", "http")}//${u.host}`;
    if (o !== origin) foreign.push(r.url());
  });
  page.on("websocket", (ws) => {
    const u = new URL(ws.url());
    if (`${u.protocol.replace("ws", "http")}//${u.host}` !== origin) foreign.push(ws.url());
  });
  return foreign;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
