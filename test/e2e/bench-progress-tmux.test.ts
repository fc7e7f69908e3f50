/**
 * `chsk bench`'s live progress in a real terminal: tmux runs
 * test/fixtures/bench/progress-script.ts, which drives `createProgress` on
 * its stdout in the mode `chooseProgressMode` picks, one scripted snapshot
 * per SIGUSR1 from the test.
 *
 * Checked: with `CI=true` in the environment the live view still draws
 * (the ink loader); every update replaces the frame in place (one frame on
 * the screen, never one per line) and no alternate screen is used; the
 * phase and a saturated generator are coloured; after `close()` the last
 * frame stays on the screen with the notice above it, what the program
 * prints next comes below it, and the cursor is shown. Under `NO_COLOR`,
 * and on a pipe, it is one plain line per update with no escape at all.
 *
 * Then a real `chsk bench --spawn` run (the engine's own snapshots, a mix of
 * WS and Ajax devices): the live view mid-run, one frame redrawn in place,
 * and the final table printed below it. Its screenshot goes to
 * artifacts/screenshots/bench-progress.png; with CHSK_WRITE_DOCS=1 it also
 * replaces docs/bench-progress.png, the README's picture.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { launchBrowser, SCREENSHOTS } from "../browser/helpers.js";
import { screenToHtml } from "./ansi-html.js";
import { ROOT } from "./cli.js";
import { shQuote, TmuxPane } from "./tmux.js";

const FIXTURE = "test/fixtures/bench/progress-script.ts";
const TITLE = "chsk bench · run 1/2 · echo · ws";
const PLAIN = /^\[ +\d\.\ds\/6\.0s\] (connect|ramp|warmup|measure|drain) +run 1\/2 echo · ws {2}connected \d+\/100 {2}sent \d+ {2}recv \d+ {2}\d+ msg\/s {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms {2}err \d+ {2}to \d+/;

/** The pane: a marker, the fixture (its pid in `pidFile`) with `env` before it, its exit code, then idle. */
function paneScript(pidFile: string, env: string, args: string[]): string {
  const cmd = [process.execPath, "--import", "tsx", FIXTURE, ...args].map(shQuote).join(" ");
  return [
    `cd ${shQuote(ROOT)} || exit 1`,
    "printf 'BEFORE\\n'",
    `${env} sh -c 'echo $$ > "$0"; exec "$@"' ${shQuote(pidFile)} ${cmd}`,
    "printf 'EXIT=%s\\n' \"$?\"",
    "sleep 30",
    "",
  ].join("\n");
}

const lines = (screen: string): string[] => screen.split("\n");
const count = (screen: string, text: string): number => lines(screen).filter((l) => l.includes(text)).length;
const hasSgr = (s: string): boolean => /\u001b\[[0-9;]*m/.test(s);

describe("chsk bench progress in a real terminal (tmux)", { concurrency: true }, () => {
  let base: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "chsk-bench-progress-"));
  });
  after(() => {
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  async function start(name: string, env: string, args: string[], cols = 110): Promise<{ pane: TmuxPane; pidFile: string }> {
    const dir = join(base, name);
    mkdirSync(dir);
    const pidFile = join(dir, "fixture.pid");
    const pane = await TmuxPane.start({ dir, cols, rows: 30, script: paneScript(pidFile, env, args) });
    return { pane, pidFile };
  }

  it("live view under CI=true: redrawn in place, coloured, the last frame left on the screen after close", async () => {
    const { pane, pidFile } = await start("live", "CI=true", ["--step"]);
    try {
      // Given: the first snapshot (the wait covers tsx compiling on a busy machine)
      let screen = await pane.waitScreen((s) => s.includes("1.0s / 6.0s") && s, "the first frame, drawn although CI=true", 20_000);
      assert.equal(lines(screen)[0], "BEFORE", "drawn below the shell's screen");
      assert.equal(await pane.display("#{alternate_on}"), "0", "no alternate screen");
      const pid = Number(readFileSync(pidFile, "utf8").trim());

      // When: each later snapshot
      for (let second = 2; second <= 6; second++) {
        process.kill(pid, "SIGUSR1");
        screen = await pane.waitScreen((s) => s.includes(`${second}.0s / 6.0s`) && s, `the frame of second ${second}`);
        // Then: one frame on the screen, the one before it erased
        assert.equal(count(screen, TITLE), 1, `one frame, not one per update:\n${screen}`);
        assert.equal(count(screen, `${second - 1}.0s / 6.0s`), 0, `the frame before is gone:\n${screen}`);
        assert.equal(lines(screen)[0], "BEFORE");
        assert.equal(lines(screen)[1], TITLE, "in place, right below the marker");
        if (second === 5) {
          assert.match(screen, /^⚠ generator saturated/m);
          assert.match(screen, /^totals {4}sent 16,700 {2}recv 16,600 {2}errors 3 {2}timeouts 1$/m);
          const coloured = await pane.capture(true);
          const saturated = lines(coloured).find((l) => l.includes("generator saturated"))!;
          assert.match(saturated, /\u001b\[[0-9;]*31m/, `the warning in red: ${JSON.stringify(saturated)}`);
          const bar = lines(coloured).find((l) => l.includes("5.0s / 6.0s"))!;
          assert.match(bar, /\u001b\[[0-9;]*32m(\u001b\[[0-9;]*m)*measure/, `the phase in green: ${JSON.stringify(bar)}`);
        }
      }

      // When: the notice and close()
      process.kill(pid, "SIGUSR1");
      screen = await pane.waitScreen((s) => /^EXIT=\d+$/m.test(s) && s, "the fixture's exit");

      // Then: the final frame stays, the notice above it, what follows below it
      const ls = lines(screen);
      assert.match(screen, /^EXIT=0$/m);
      assert.equal(ls[0], "BEFORE");
      assert.equal(ls[1], "NOTICE run 1 of 2 done", "the notice above the live area");
      assert.equal(ls[2], TITLE, "the last frame left in place");
      assert.equal(count(screen, TITLE), 1);
      assert.match(ls[3]!, /^drain {5}█+ {2}6\.0s \/ 6\.0s$/);
      const closed = ls.indexOf("CLOSED");
      assert.ok(closed > 3 && ls.slice(3, closed).some((l) => l.startsWith("workers")), `what comes next is printed below the frame:\n${screen}`);
      assert.equal(ls[closed + 1], "EXIT=0");
      assert.equal(await pane.display("#{cursor_flag}"), "1", "the cursor is shown");
    } finally {
      await pane.kill();
    }
  });

  it("NO_COLOR on a terminal: one plain line per update, no escape", async () => {
    const { pane } = await start("no-color", "NO_COLOR=1 CI=true", [], 250);
    try {
      const screen = await pane.waitScreen((s) => /^EXIT=\d+$/m.test(s) && s, "the fixture's exit", 20_000);
      const ls = lines(screen);
      assert.equal(ls[0], "BEFORE");
      for (let i = 1; i <= 6; i++) assert.match(ls[i]!, PLAIN, `line ${i}: ${ls[i]}`);
      assert.deepEqual(ls.slice(7, 10), ["NOTICE run 1 of 2 done", "CLOSED", "EXIT=0"]);
      assert.ok(!hasSgr(await pane.capture(true)), "no colour on the screen");
    } finally {
      await pane.kill();
    }
  });
});

describe("chsk bench progress on a pipe", () => {
  it("one plain line per update and nothing else: no escape, also with CI and a TERM set", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", TERM: "xterm-256color" };
    delete env["NO_COLOR"];
    delete env["FORCE_COLOR"];
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    clearTimeout(timer);
    assert.equal(code, 0, err);
    assert.ok(!out.includes("\u001b"), `no escape: ${JSON.stringify(out)}`);
    const ls = out.split("\n");
    assert.equal(ls.length, 9, out);
    for (let i = 0; i < 6; i++) assert.match(ls[i]!, PLAIN, ls[i]);
    assert.match(ls[4]!, / {2}err 3 {2}to 1 {2}! generator saturated \(elu 95%,93%\) {2}- worker 1 busy 95 %$/);
    assert.deepEqual(ls.slice(6), ["NOTICE run 1 of 2 done", "CLOSED", ""]);
  });
});

/** The README's run: 100 devices, 30 % of them on Ajax, an open-model load the generator keeps up with on 2 cores. */
const REAL_ARGS = ["bench", "--spawn", "--users", "50", "--devices", "2", "--transport", "mix", "--rate", "4000", "--duration", "12s"];
const REAL_COLS = 100;

/** The screen as a PNG (dark terminal colours, 2x), without the blank rows below the last line drawn. */
async function screenshot(coloured: string, path: string): Promise<void> {
  const rows = coloured.split("\n");
  while (rows.length > 0 && rows.at(-1)!.replace(/\u001b\[[0-9;]*m/g, "").trim() === "") rows.pop();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: 2 });
    await page.setContent(screenToHtml(rows.join("\n"), { cols: REAL_COLS, title: "chsk bench" }));
    await page.locator("#screen").screenshot({ path });
    assert.ok(statSync(path).size > 10_000, `${path} has content`);
  } finally {
    await browser.close();
  }
}

describe("chsk bench --spawn in a real terminal (tmux)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chsk-bench-live-"));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("a real run: the engine's live view redrawn in place mid-run, then the final table below it", async () => {
    const cmd = [process.execPath, "--import", "tsx", "src/cli/main.ts", ...REAL_ARGS].map(shQuote).join(" ");
    const script = [
      `cd ${shQuote(ROOT)} || exit 1`,
      // What a user typed, for the picture; the run bounds itself (--duration, the spawned server stops with it).
      `printf '%s\\n' ${shQuote(`$ chsk ${REAL_ARGS.join(" ")}`)}`,
      cmd,
      "printf 'EXIT=%s\\n' \"$?\"",
      // Idle past every wait below, so a failed wait shows the screen rather than a vanished pane.
      "sleep 150",
      "",
    ].join("\n");
    const pane = await TmuxPane.start({ dir, cols: REAL_COLS, rows: 40, script });
    try {
      // Given: the measured window under way, every device up, a few seconds of throughput
      // (the wait covers tsx compiling, spawning chsk serve and logging 50 users in on a busy machine)
      const mid = /^measure +█+░+ +([\d.]+)s \/ 14\.0s$/m;
      const screen = await pane.waitScreen(
        (s) => {
          const m = mid.exec(s);
          return m !== null && Number(m[1]) >= 9 && /^devices +100\/100 /m.test(s) && /^msgs\/s +[\d,]+ +\S{8,}/m.test(s) && s;
        },
        "the live view 9 s into the run, every device connected",
        60_000,
      );

      // Then: one frame of the engine's real figures, in place below what the shell printed
      const ls = lines(screen);
      assert.equal(ls[0], `$ chsk ${REAL_ARGS.join(" ")}`);
      assert.equal(count(screen, "chsk bench · echo · mix"), 1, `one frame, not one per update:\n${screen}`);
      assert.equal(count(screen, "/ 14.0s"), 1, screen);
      assert.match(screen, /^latency +p50 [\d.]+ ms {3}p99 [\d.]+ ms {3}max [\d.]+ ms {3}\(last second\)$/m);
      const totals = /^totals +sent ([\d,]+) {2}recv ([\d,]+) {2}errors \d+ {2}timeouts \d+$/m.exec(screen);
      assert.ok(totals !== null && Number(totals[2]!.replaceAll(",", "")) > 0, `replies counted:\n${screen}`);
      assert.match(screen, /^workers +w1 /m);
      assert.equal(await pane.display("#{alternate_on}"), "0", "no alternate screen");
      mkdirSync(SCREENSHOTS, { recursive: true });
      const png = join(SCREENSHOTS, "bench-progress.png");
      await screenshot(await pane.capture(true), png);
      if (process.env["CHSK_WRITE_DOCS"] === "1") copyFileSync(png, join(ROOT, "docs", "bench-progress.png"));

      // When: the run ends by itself
      const end = await pane.waitScreen((s) => /^EXIT=\d+$/m.test(s) && s, "the run's end", 60_000);

      // Then: exit 0, the last frame left in place, the final table below it
      assert.match(end, /^EXIT=0$/m, end);
      const el = lines(end);
      const frame = el.findIndex((l) => l === "chsk bench · echo · mix");
      const table = el.findIndex((l) => l === "latency (ms) and throughput");
      assert.ok(frame > 0 && table > frame, `the final table below the last frame:\n${end}`);
      assert.equal(count(end, "chsk bench · echo · mix"), 1, end);
      assert.match(end, /^ {2}echo · mix +50×2 /m);
      assert.match(end, /^ {4}└ ajax devices +30 /m);
    } finally {
      await pane.kill();
    }
  });
});
