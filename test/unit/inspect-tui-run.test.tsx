/**
 * `runTui`'s lifecycle on fake terminal streams: however the TUI ends (q,
 * Ctrl-C, SIGTERM, unmount, a crashing component), the terminal is given
 * back (alternate screen left, raw mode off, cursor shown), signal
 * listeners are removed, and the exit says how it ended.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import React from "react";
import type { FrameRecord } from "../../src/core/index.js";
import { FrameStore } from "../../src/inspector/store.js";
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN, runTui, type RunTuiOptions } from "../../src/inspector/tui/index.js";

void React;

class FakeTty extends EventEmitter {
  isTTY = true;
  columns = 80;
  rows = 20;
  out = "";
  write(s: string, cb?: () => void): boolean {
    this.out += s;
    cb?.();
    return true;
  }
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  rawMode: boolean[] = [];
  #queue: string[] = [];
  setRawMode(on: boolean): void {
    this.rawMode.push(on);
  }
  setEncoding(): void {}
  ref(): void {}
  unref(): void {}
  resume(): void {}
  pause(): void {}
  read(): string | null {
    return this.#queue.shift() ?? null;
  }
  press(s: string): void {
    this.#queue.push(s);
    this.emit("readable");
  }
}

function start(extra: Partial<RunTuiOptions> = {}) {
  const stdout = new FakeTty();
  const stderr = new FakeTty();
  const stdin = new FakeStdin();
  const signals = new EventEmitter();
  const store = new FrameStore({ notifyIntervalMs: 0 });
  const handle = runTui({
    store,
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    signals: signals as unknown as RunTuiOptions["signals"] & object,
    env: {},
    patchConsole: false,
    ...extra,
  });
  return { stdout, stderr, stdin, signals, store, handle };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 2));

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !pred(); i++) await tick();
  assert.ok(pred(), `timed out waiting for ${what}`);
}

function assertRestored(t: ReturnType<typeof start>): void {
  const out = t.stdout.out;
  assert.ok(out.startsWith(ENTER_ALT_SCREEN), "drew on the alternate screen");
  assert.ok(out.endsWith(LEAVE_ALT_SCREEN), "left the alternate screen last");
  assert.ok(out.includes("\u001b[?25h"), "cursor shown again");
  assert.equal(t.stdin.rawMode.at(-1), false, "raw mode off");
  for (const s of ["SIGINT", "SIGTERM", "exit"]) assert.equal(t.signals.listenerCount(s), 0, `${s} listener removed`);
}

describe("runTui lifecycle", () => {
  test("q quits with code 0 and restores the terminal", async () => {
    // Given
    const t = start();
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    assert.equal(t.signals.listenerCount("SIGTERM"), 1);
    // When
    t.stdin.press("q");
    // Then
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "quit" });
    assertRestored(t);
  });

  test("Ctrl-C quits, also from the filter line", async () => {
    const t = start();
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    t.stdin.press("/");
    await until(() => t.stdout.out.includes("ctrl-u clear"), "filter line focused");
    t.stdin.press("\u0003");
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "ctrl-c" });
    assertRestored(t);
  });

  test("SIGTERM unmounts and restores the terminal (exit code 0)", async () => {
    const t = start();
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    t.signals.emit("SIGTERM");
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "signal", signal: "SIGTERM" });
    assertRestored(t);
  });

  test("unmount() from the caller ends it", async () => {
    const t = start();
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    t.handle.unmount();
    t.handle.unmount();
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "unmount" });
    assertRestored(t);
  });

  test("a crash in a component restores the terminal, then prints the error, exit code 1", async () => {
    // Given: a record that throws when the list renders it
    const t = start();
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    const poisoned = { seq: 1, ts: "2026-12-02T10:00:00.000Z", dir: "c2s", transport: "ws", channel: "ws", conn: "c", clientId: null, kind: "event", bytes: 1, raw: "" } as unknown as FrameRecord;
    Object.defineProperty(poisoned, "eventId", {
      get() {
        throw new Error("boom in render");
      },
    });
    // When
    t.store.push(poisoned);
    // Then
    const exit = await t.handle.waitUntilExit();
    assert.equal(exit.code, 1);
    assert.equal(exit.reason, "crash");
    assert.match(t.stderr.out, /chsk inspect: the TUI crashed: Error: boom in render/);
    assertRestored(t);
  });

  test("no alternate screen and no colour when stdout is not a terminal", async () => {
    const stdout = new FakeTty();
    stdout.isTTY = false;
    const t = start({ stdout: stdout as unknown as NodeJS.WriteStream });
    await until(() => stdout.out.includes("waiting for frames"), "first frame");
    t.handle.unmount();
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "unmount" });
    assert.ok(!stdout.out.includes(ENTER_ALT_SCREEN) && !stdout.out.includes(LEAVE_ALT_SCREEN));
    assert.ok(!/\u001b\[[0-9;]*m/.test(stdout.out), "no SGR colour codes");
  });

  test("a stdin that is not a terminal: no raw mode (no keys), SIGINT still ends it", async () => {
    const stdin = new FakeStdin();
    stdin.isTTY = false;
    const t = start({ stdin: stdin as unknown as NodeJS.ReadStream });
    await until(() => t.stdout.out.includes("waiting for frames"), "first frame");
    t.signals.emit("SIGINT");
    assert.deepEqual(await t.handle.waitUntilExit(), { code: 0, reason: "signal", signal: "SIGINT" });
    assert.deepEqual(stdin.rawMode, [], "raw mode never touched");
    assert.ok(t.stdout.out.endsWith(LEAVE_ALT_SCREEN));
  });
});

// The unmount-from-outside case lives here, not beside the ink-testing-library
// tests: that library loads ink before the TUI's loader can hide CI from it.
describe("inspect TUI: unmount from outside", () => {
  test("the alternate screen is left before unmount() returns; with signals left to the caller, the process exit still leaves it", async () => {
    const stdout = new FakeTty();
    const exitListeners = process.listenerCount("exit");
    const handle = runTui({
      store: new FrameStore({ notifyIntervalMs: 0 }),
      stdout: stdout as unknown as NodeJS.WriteStream,
      stderr: new FakeTty() as unknown as NodeJS.WriteStream,
      stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
      signals: false,
      env: {},
      patchConsole: false,
    });
    assert.equal(process.listenerCount("exit"), exitListeners + 1, "an exit hook on the process");
    for (let i = 0; i < 300 && !stdout.out.includes("waiting for frames"); i++) await new Promise((r) => setTimeout(r, 2));
    assert.ok(stdout.out.includes("waiting for frames"), "drawn");
    handle.unmount();
    assert.ok(stdout.out.endsWith(LEAVE_ALT_SCREEN), "restored synchronously");
    const exit = await handle.waitUntilExit();
    assert.equal(exit.code, 0);
    assert.equal(stdout.out.split(LEAVE_ALT_SCREEN).length, 2, "left once");
    assert.equal(process.listenerCount("exit"), exitListeners, "the exit hook removed");
  });
});
