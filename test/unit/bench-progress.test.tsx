/**
 * `chsk bench`'s live progress without a terminal: the text pieces (plain
 * line, numbers, bars, sparkline), the mode picked from the stream and the
 * environment, plain mode on a fake stream (one well-formed line per
 * update, no escape without colour), the ink view through
 * ink-testing-library, and the live mode on a fake TTY (frames redrawn in
 * place, at most a few a second, the last frame left and the cursor shown).
 * test/e2e/bench-progress-tmux checks the same in a real terminal.
 */
// The loader first: it hides `CI` from ink's one-time check, also for ink-testing-library's import of ink.
import "../../src/bench/progress/ink.js";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { afterEach, describe, test } from "node:test";
// The test files are outside the tsconfig `include` tsx reads, so they get the classic JSX transform.
import React from "react";
import { cleanup, render } from "ink-testing-library";
import { chooseProgressMode, createProgress, plainLine, type ProgressSnapshot } from "../../src/bench/progress/index.js";
import { bar, fmtMs, sparkline } from "../../src/bench/progress/format.js";
import { ProgressView, type ProgressViewProps } from "../../src/bench/progress/ProgressView.js";

void React;
afterEach(() => cleanup());

const ESC = "\u001b";
const stripSgr = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");

const snap = (p: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  label: "echo · ws",
  run: 1,
  runs: 1,
  phase: "measure",
  elapsedS: 5,
  totalS: 12,
  devices: 100,
  connected: 100,
  sent: 51234,
  received: 51200,
  errors: 0,
  timeouts: 0,
  throughput: 4980,
  p50Ms: 1.23,
  p99Ms: 4.5,
  maxMs: 9.81,
  workerElu: [0.42, 0.5],
  saturated: false,
  ...p,
});

/** A stream that keeps what is written; `isTTY` and size as a terminal would have them. */
class FakeStream extends EventEmitter {
  writes: string[] = [];
  constructor(
    readonly isTTY: boolean,
    public columns = 100,
    public rows = 30,
  ) {
    super();
  }
  write(s: string, cb?: () => void): boolean {
    this.writes.push(s);
    cb?.();
    return true;
  }
  get out(): string {
    return this.writes.join("");
  }
  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}

/** The plain line's shape, field by field. */
const PLAIN =
  /^\[ +\d+\.\ds\/\d+\.\ds\] (connect|ramp|warmup|measure|drain|reconnect) +(run \d+\/\d+ )?\S.* {2}connected \d+\/\d+ {2}sent \d+ {2}recv \d+ {2}\d+ msg\/s {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms {2}err \d+ {2}to \d+( {2}lost \d+)?( {2}! generator saturated \(elu [\d%,]+\))?( {2}- .+)?$/;

describe("bench progress: text pieces", () => {
  test("plainLine: the documented line, no escape without colour", () => {
    const line = plainLine(snap(), false);
    assert.equal(
      line,
      "[  5.0s/12.0s] measure    echo · ws  connected 100/100  sent 51234  recv 51200  4980 msg/s  p50 1.2 ms  p99 4.5 ms  max 9.8 ms  err 0  to 0",
    );
    assert.match(line, PLAIN);
  });

  test("plainLine: run i/n, lost, saturation and the note when there is something to say", () => {
    const line = plainLine(snap({ run: 2, runs: 2, label: "push · mix", phase: "reconnect", lost: 7, errors: 3, saturated: true, workerElu: [0.95, 0.91], note: "worker 1 busy" }), false);
    assert.match(line, PLAIN);
    assert.match(line, /\] reconnect {2}run 2\/2 push · mix {2}/);
    assert.match(line, / {2}err 3 {2}to 0 {2}lost 7 {2}! generator saturated \(elu 95%,91%\) {2}- worker 1 busy$/);
    assert.ok(!line.includes(ESC));
  });

  test("plainLine with colour: the same text, the phase and non-zero counters coloured", () => {
    const s = snap({ errors: 2 });
    const coloured = plainLine(s, true);
    assert.equal(stripSgr(coloured), plainLine(s, false));
    assert.ok(coloured.includes(`${ESC}[32mmeasure`), "the phase in its colour (green)");
    assert.ok(coloured.includes(`${ESC}[31merr 2${ESC}[39m`), "errors in red");
    assert.ok(!coloured.includes(`${ESC}[31mto 0`), "a zero counter stays plain");
  });

  test("numbers, bars and the sparkline", () => {
    assert.deepEqual([fmtMs(0.345), fmtMs(4.56), fmtMs(212.4), fmtMs(Number.NaN)], ["0.34", "4.6", "212", "0.00"]);
    assert.deepEqual(bar(0.5, 10), { filled: "█████", empty: "░░░░░" });
    assert.deepEqual(bar(0.99, 10), { filled: "█████████", empty: "░" }, "full only when done");
    assert.deepEqual(bar(2, 4), { filled: "████", empty: "" });
    assert.deepEqual(bar(0.5, -3), { filled: "", empty: "" });
    assert.equal(sparkline([0, 1, 4, 8], 10), " ▂▅█", "scaled to the maximum; a zero is a gap");
    assert.equal(sparkline([8, 8, 1, 2], 2), "▅█", "only the last `width` values");
    assert.equal(sparkline([], 5), "");
  });
});

describe("bench progress: chooseProgressMode", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const cases: [string, { isTTY?: boolean }, Record<string, string>, { interactive: boolean; color: boolean }][] = [
    ["a terminal", tty, {}, { interactive: true, color: true }],
    ["a terminal in CI", tty, { CI: "true" }, { interactive: true, color: true }],
    ["a pipe", pipe, {}, { interactive: false, color: false }],
    ["a terminal, NO_COLOR", tty, { NO_COLOR: "1" }, { interactive: false, color: false }],
    ["a terminal, empty NO_COLOR (unset by the spec)", tty, { NO_COLOR: "" }, { interactive: true, color: true }],
    ["a terminal, FORCE_COLOR=0", tty, { FORCE_COLOR: "0" }, { interactive: true, color: false }],
    ["a pipe, FORCE_COLOR=1", pipe, { FORCE_COLOR: "1" }, { interactive: false, color: true }],
    ["NO_COLOR wins over FORCE_COLOR", pipe, { FORCE_COLOR: "1", NO_COLOR: "1" }, { interactive: false, color: false }],
    ["TERM=dumb", tty, { TERM: "dumb" }, { interactive: false, color: false }],
  ];
  for (const [name, stream, env, want] of cases) test(name, () => assert.deepEqual(chooseProgressMode(stream, env), want));
});

describe("bench progress: plain mode", () => {
  test("one well-formed line per update, notices as is, no escape at all; nothing after close", async () => {
    // Given
    const out = new FakeStream(false);
    const p = createProgress({ stream: out.asStream(), interactive: false, color: false });
    // When
    p.update(snap({ phase: "connect", elapsedS: 0.5, connected: 10, sent: 0, received: 0, throughput: 0 }));
    p.log("chsk bench: run 1 of 1 · echo · ws");
    p.update(snap({ saturated: true, lost: 0, note: "busy" }));
    await p.close();
    p.update(snap());
    p.log("after close");
    // Then
    assert.ok(!out.out.includes(ESC), "no escape");
    assert.ok(out.writes.every((w) => w.endsWith("\n") && w.indexOf("\n") === w.length - 1), "whole lines, one per write");
    const lines = out.out.split("\n").slice(0, -1);
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, PLAIN);
    assert.match(lines[0]!, /^\[ {2}0\.5s\/12\.0s\] connect /);
    assert.equal(lines[1], "chsk bench: run 1 of 1 · echo · ws");
    assert.match(lines[2]!, PLAIN);
    assert.equal(lines[3], "after close");
  });
});

const viewProps = (p: Partial<ProgressViewProps> = {}): ProgressViewProps => ({
  snapshot: snap(),
  history: [1000, 3000, 4000, 0, 4980],
  notices: [],
  color: false,
  columns: 100,
  rows: 30,
  ...p,
});
const frameLines = (f: string | undefined): string[] => (f ?? "").split("\n");

describe("bench progress: the ink view", () => {
  test("run and label, phase bar with the clock, devices, msgs/s and sparkline, latency, counters, worker bars", () => {
    const r = render(<ProgressView {...viewProps({ snapshot: snap({ run: 1, runs: 2 }) })} />);
    const lines = frameLines(r.lastFrame());
    assert.equal(lines[0], "chsk bench · run 1/2 · echo · ws");
    assert.match(lines[1]!, /^measure {3}█+░+ {2}5\.0s \/ 12\.0s$/);
    assert.match(lines[2]!, /^devices {3}100\/100 {2}█{20}$/);
    assert.match(lines[3]!, /^msgs\/s {4} {4}4,980 {2}▂▅▇ █$/);
    assert.equal(lines[4], "latency   p50 1.2 ms   p99 4.5 ms   max 9.8 ms   (last second)");
    assert.equal(lines[5], "totals    sent 51,234  recv 51,200  errors 0  timeouts 0");
    assert.match(lines[6]!, /^workers {3}w1 {2}███░░░░░ {2}42% {2}w2 {2}████░░░░ {2}50%/);
    assert.equal(lines.length, 7, "nothing about saturation, no note");
    assert.ok(lines.every((l) => l.length < 100), "narrower than the terminal");
  });

  test("saturation is said in words, with the note; lost and errors shown; one run says no run i/n", () => {
    const r = render(<ProgressView {...viewProps({ snapshot: snap({ saturated: true, errors: 3, timeouts: 1, lost: 2, workerElu: [0.97], note: "worker 1 busy 97 %" }) })} />);
    const f = r.lastFrame() ?? "";
    assert.match(f, /^chsk bench · echo · ws$/m);
    assert.match(f, /^totals {4}sent 51,234 {2}recv 51,200 {2}errors 3 {2}timeouts 1 {2}lost 2$/m);
    assert.match(f, /^⚠ generator saturated/m);
    assert.match(f, /^worker 1 busy 97 %$/m);
    assert.match(f, /w1 {2}███████░ {2}97%/);
  });

  test("many workers wrap onto rows under one label", () => {
    const r = render(<ProgressView {...viewProps({ columns: 60, snapshot: snap({ workerElu: Array.from({ length: 5 }, (_, i) => i / 10) }) })} />);
    const lines = frameLines(r.lastFrame());
    const first = lines.findIndex((l) => l.startsWith("workers"));
    assert.match(lines[first]!, /w1 .* w2 /);
    assert.match(lines[first + 1]!, /^ {10}w3 .* w4 /);
    assert.match(lines[first + 2]!, /^ {10}w5 /);
    assert.ok(lines.every((l) => l.length < 60));
  });

  test("a short terminal keeps the most telling lines, and the area stays shorter than the screen", () => {
    const r = render(<ProgressView {...viewProps({ rows: 5, snapshot: snap({ saturated: true }) })} />);
    const lines = frameLines(r.lastFrame());
    assert.equal(lines.length, 4);
    assert.equal(lines[0], "chsk bench · echo · ws");
    assert.match(lines[1]!, /^measure /);
    assert.match(lines[2]!, /^msgs\/s/);
    assert.match(lines[3]!, /^⚠ generator saturated/, "saturation outranks the rest");
  });

  test("notices are printed once, above the live area; before the first snapshot only they show", () => {
    const r = render(<ProgressView {...viewProps({ snapshot: undefined, notices: [{ id: 0, text: "NOTICE one" }] })} />);
    assert.equal(r.lastFrame()?.trimEnd(), "NOTICE one");
    r.rerender(<ProgressView {...viewProps({ notices: [{ id: 0, text: "NOTICE one" }, { id: 1, text: "NOTICE two" }] })} />);
    const lines = frameLines(r.lastFrame());
    assert.deepEqual(lines.slice(0, 3), ["NOTICE one", "NOTICE two", "chsk bench · echo · ws"]);
  });
});

describe("bench progress: live mode on a fake terminal", () => {
  test("frames redrawn in place, no alternate screen; close leaves the last frame and shows the cursor", async () => {
    // Given
    const out = new FakeStream(true, 100, 30);
    const p = createProgress({ stream: out.asStream(), interactive: true, color: false });
    // When
    p.update(snap({ phase: "connect", elapsedS: 1, connected: 5 }));
    for (let i = 0; i < 200 && !out.out.includes("5/100"); i++) await new Promise((r) => setTimeout(r, 5));
    p.log("NOTICE halfway");
    p.update(snap({ phase: "drain", elapsedS: 12, connected: 99 }));
    await p.close();
    await p.close();
    p.update(snap({ phase: "measure", elapsedS: 99 }));
    // Then
    const all = out.out;
    assert.ok(all.includes("5/100"), "the first frame was drawn");
    assert.ok(!all.includes(`${ESC}[?1049h`), "no alternate screen");
    assert.ok(all.includes(`${ESC}[2K`) && all.includes(`${ESC}[1A`), "a later frame erases the one before (in place)");
    const last = all.lastIndexOf("chsk bench · echo · ws");
    const tail = all.slice(last);
    assert.match(tail, /drain {5}█+ {2}12\.0s \/ 12\.0s/, "the final frame is the last thing drawn");
    assert.ok(!/\u001b\[\d*[AK]/.test(tail.slice(0, tail.indexOf("timeouts"))), "and nothing erases it");
    assert.ok(all.endsWith(`${ESC}[?25h`) || tail.includes(`${ESC}[?25h`), "the cursor is shown at the end");
    assert.ok(all.indexOf("NOTICE halfway") < last, "the notice sits above the live area");
    assert.ok(!all.includes("99.0s"), "nothing after close");
    assert.equal(out.listenerCount("resize"), 0, "resize listener removed");
  });

  test("at most ~4 frames a second, however often the engine updates", async () => {
    const out = new FakeStream(true);
    const p = createProgress({ stream: out.asStream(), interactive: true, color: false });
    // The first frame waits for ink to load; count from there.
    p.update(snap({ elapsedS: 0 }));
    for (let i = 0; i < 400 && !out.out.includes("chsk bench"); i++) await new Promise((r) => setTimeout(r, 5));
    const before = out.writes.length;
    const started = Date.now();
    for (let i = 1; i <= 40; i++) {
      p.update(snap({ elapsedS: i / 10, sent: i }));
      await new Promise((r) => setImmediate(r));
    }
    await p.close();
    const elapsed = Date.now() - started;
    const frames = out.writes.slice(before).filter((w) => w.includes("chsk bench ·")).length;
    // Throttled to 4 fps, leading and trailing: one frame per 250 ms begun, one more on close.
    assert.ok(frames >= 1, `drew (${frames})`);
    assert.match(out.out.slice(out.out.lastIndexOf("chsk bench")), /4\.0s \/ 12\.0s/, "the last update is the last frame");
    assert.ok(frames <= 2 * (Math.ceil(elapsed / 250) + 1), `${frames} frames in ${elapsed} ms`);
    assert.ok(frames < 40, `${frames} frames for 40 updates`);
  });

  test("the sparkline has one point per second of the run, however often it updates", async () => {
    // Given: four updates a second for three seconds
    const out = new FakeStream(true, 100, 30);
    const p = createProgress({ stream: out.asStream(), interactive: true, color: false });
    // When
    for (let i = 1; i <= 12; i++) p.update(snap({ elapsedS: 0.75 + i / 4, throughput: 100 }));
    await p.close();
    // Then: seconds 1, 2 and 3: three points, not twelve
    const frame = out.out.slice(out.out.lastIndexOf("chsk bench"));
    const rate = frame.split("\n").find((l) => l.startsWith("msgs/s")) ?? "";
    const spark = /[▁▂▃▄▅▆▇█]+/.exec(rate)?.[0] ?? "";
    assert.equal(spark.length, 3, `one point per second: ${JSON.stringify(spark)}`);
  });

  test("closed while ink is still loading: the notice and the last frame are drawn all the same", async () => {
    const out = new FakeStream(true);
    const p = createProgress({ stream: out.asStream(), interactive: true, color: false });
    p.log("NOTICE early");
    p.update(snap({ elapsedS: 1 }));
    p.update(snap({ elapsedS: 2 }));
    await p.close();
    assert.ok(out.out.includes("NOTICE early"));
    assert.match(out.out.slice(out.out.lastIndexOf("chsk bench")), /2\.0s \/ 12\.0s/);
    assert.ok(!out.out.includes("1.0s / 12.0s"), "only the latest snapshot is drawn");
  });

  test("resizing redraws with the new width", async () => {
    const out = new FakeStream(true, 100, 30);
    const p = createProgress({ stream: out.asStream(), interactive: true, color: false });
    p.update(snap());
    for (let i = 0; i < 200 && !out.out.includes("chsk bench"); i++) await new Promise((r) => setTimeout(r, 5));
    out.columns = 50;
    out.emit("resize");
    await p.close();
    const last = out.out.slice(out.out.lastIndexOf("chsk bench"));
    const barLine = last.split("\n").find((l) => l.startsWith("measure"))!;
    assert.ok(barLine.length < 50, `fits the new width: ${JSON.stringify(barLine)}`);
  });
});
