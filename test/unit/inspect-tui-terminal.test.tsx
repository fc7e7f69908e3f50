/**
 * What the TUI got wrong in a real terminal (test/e2e/inspect-tmux), pinned
 * down on fake streams:
 *
 * - Keys that reach the TUI in one chunk. ink hands a run of ordinary
 *   characters to `useInput` as one string (as for a paste): keys typed
 *   while the TUI starts (before raw mode), or while a busy event loop has
 *   not read stdin. As commands they are split into key presses; typed into
 *   a line, they stay one paste.
 * - `unmount()` from outside (the CLI on SIGTERM, --duration-ms) gives the
 *   terminal back before it returns: the CLI exits right after, and its
 *   last stderr line belongs on the shell's screen.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
// The test files are outside the tsconfig `include` tsx reads, so they get the classic JSX transform.
import React from "react";
import { cleanup, render } from "ink-testing-library";
import type { Key } from "ink";
import type { FrameRecord } from "../../src/core/index.js";
import { FrameStore } from "../../src/inspector/store.js";
import { Tui } from "../../src/inspector/tui/index.js";
import { keyPresses, PLAIN_KEY } from "../../src/inspector/tui/keymap.js";
import { ManualClock } from "./client-fakes.js";

void React;
afterEach(() => cleanup());

const plain: Key = PLAIN_KEY;

const on = (key: Key): string[] => (Object.keys(key) as (keyof Key)[]).filter((k) => key[k] === true);

describe("inspect TUI: a burst of keys", () => {
  test("keyPresses: one key stays as is; a burst is one press per character, control characters as their keys", () => {
    assert.deepEqual(keyPresses("j", plain), [["j", plain]]);
    const presses = keyPresses("jG\r\t\u007f\u0003x", plain);
    assert.deepEqual(
      presses.map(([input, key]) => [input, on(key)]),
      [
        ["j", []],
        ["G", ["shift"]],
        ["", ["return"]],
        ["", ["tab"]],
        ["", ["delete"]],
        ["c", ["ctrl"]],
        ["x", []],
      ],
    );
    // Anything ink parsed as a key with modifiers, or with an escape in it, is left alone.
    assert.deepEqual(keyPresses("ab", { ...plain, meta: true }), [["ab", { ...plain, meta: true }]]);
    assert.deepEqual(keyPresses("a\u001bb", plain), [["a\u001bb", plain]]);
  });

  test("`jj` in one chunk moves two frames; `i` and text in one chunk open the send line and type; in the line a chunk is a paste", async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 2, 10, 0, 0));
    const store = new FrameStore({ capacity: 100, notifyIntervalMs: 50, clock });
    const sent: string[] = [];
    const r = render(<Tui store={store} clock={clock} utc source={{ kind: "client", label: "client test" }} onSend={async (t) => (sent.push(t), "42")} />);
    for (let i = 1; i <= 4; i++) {
      const rec: FrameRecord = { seq: i, ts: new Date(Date.UTC(2026, 11, 2, 10, 0, 0) + i).toISOString(), dir: "c2s", transport: "ws", channel: "ws", conn: "ws-1", clientId: "5f1c2d3e", uid: '"alice"', kind: "event", eventId: `ev/n${i}`, bytes: 9, raw: "[]" };
      store.push(rec);
    }
    clock.advance(50);
    const frame = async (pred: (f: string) => boolean, what: string): Promise<string> => {
      for (let i = 0; i < 300; i++) {
        const f = r.lastFrame() ?? "";
        if (pred(f)) return f;
        await new Promise((res) => setTimeout(res, 2));
      }
      assert.fail(`timed out waiting for ${what}; last frame:\n${r.lastFrame()}`);
    };
    await frame((f) => /^> .*:ev\/n4/m.test(f), "the newest frame selected");
    r.stdin.write("gjj");
    await frame((f) => /^> .*:ev\/n3/m.test(f), "g, then two frames down: the third");
    r.stdin.write("i[:demo/echo");
    await frame((f) => f.includes("send> [:demo/echo"), "the send line with the text");
    r.stdin.write(" 42]");
    await frame((f) => f.includes("send> [:demo/echo 42]"), "the pasted rest");
    r.stdin.write("\r");
    await frame((f) => f.includes("⇐ 42"), "the reply");
    assert.deepEqual(sent, ["[:demo/echo 42]"]);
  });
});
