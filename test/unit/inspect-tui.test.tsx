/**
 * The inspector's TUI, rendered with ink-testing-library and fed
 * hand-made FrameRecords through the store (no decoder, no sockets). Time
 * is a manual clock, so store notifications and send timeouts fire when a
 * test says so.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
// The test files are outside the tsconfig `include` tsx reads, so they get the classic JSX transform.
import React from "react";
import { cleanup, render } from "ink-testing-library";
import { ChskError, type FrameRecord } from "../../src/core/index.js";
import { FrameStore } from "../../src/inspector/store.js";
import { Tui, type AppProps } from "../../src/inspector/tui/index.js";
import { ManualClock } from "./client-fakes.js";

void React;
afterEach(() => cleanup());

const KEY = { up: "\u001b[A", down: "\u001b[B", enter: "\r", esc: "\u001b", backspace: "\u007f", ctrlU: "\u0015", tab: "\t" };

let seq = 0;
function rec(p: Partial<FrameRecord> = {}): FrameRecord {
  seq++;
  return {
    seq,
    ts: new Date(Date.UTC(2026, 11, 2, 10, 0, 0, 0) + seq).toISOString(),
    dir: "c2s",
    transport: "ws",
    channel: "ws",
    conn: "ws-1",
    clientId: "5f1c2d3e",
    uid: '"alice"',
    kind: "event",
    bytes: 20,
    raw: "[]",
    ...p,
  };
}

type Rendered = ReturnType<typeof render>;

const tick = () => new Promise<void>((r) => setTimeout(r, 2));

/** Waits (bounded) until the last frame satisfies `pred`; fails with the frame. */
async function frameWhere(r: Rendered, pred: (f: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const f = r.lastFrame() ?? "";
    if (pred(f)) return f;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}; last frame:\n${r.lastFrame()}`);
}
const frameWith = (r: Rendered, text: string) => frameWhere(r, (f) => f.includes(text), JSON.stringify(text));
const frameWithout = (r: Rendered, text: string) => frameWhere(r, (f) => !f.includes(text), `no ${JSON.stringify(text)}`);

async function keys(r: Rendered, ...ks: string[]): Promise<void> {
  for (const k of ks) {
    r.stdin.write(k);
    // A lone ESC is told from an escape sequence on the next turn of the event loop.
    await tick();
  }
}

/** Types text one character at a time, as a user would. */
const type = (r: Rendered, text: string) => keys(r, ...text);

function setup(props: Partial<AppProps> = {}, capacity = 1000) {
  const clock = new ManualClock(Date.UTC(2026, 11, 2, 10, 0, 0));
  const store = new FrameStore({ capacity, notifyIntervalMs: 50, clock });
  const r = render(<Tui store={store} clock={clock} utc source={{ kind: "replay", label: "replay test.jsonl" }} {...props} />);
  const push = (...rs: FrameRecord[]) => {
    for (const x of rs) store.push(x);
    clock.advance(50);
  };
  return { r, store, clock, push };
}

describe("inspect TUI: the frame list", () => {
  test("frames appear with time, direction, transport, user, client, kind, event, size, latency and flags", async () => {
    // Given
    const { r, push } = setup();
    await frameWith(r, "waiting for frames");
    // When
    push(
      rec({ kind: "event", eventId: "demo/echo", cbId: '"3f2a1b"', data: '{:text "hi"}' }),
      rec({ kind: "reply", dir: "s2c", cbId: '"3f2a1b"', data: '{:text "hi"}', latencyMs: 12, pair: 1, bytes: 1500 }),
      rec({ kind: "event", eventId: "demo/lost", cbId: '"77"', flags: ["unanswered"] }),
    );
    // Then
    const f = await frameWith(r, ":demo/lost");
    assert.match(f, /3 frames/);
    const echo = f.split("\n").find((l) => l.includes(":demo/echo"))!;
    assert.match(echo, /10:00:00\.\d{3} -> ws +alice +5f1c2d3e event +:demo\/echo \{:text/);
    const reply = f.split("\n").find((l) => l.includes("reply"))!;
    assert.match(reply, /<- ws .* reply +re#1 \{:text "hi"\} +1\.5k +12ms/);
    assert.match(f, /unanswered/);
    assert.ok(!/\u001b\[[0-9;]*m/.test(r.frames.join("")), "no colour codes when colour is off");
  });

  test("follow keeps the newest in view; moving up stops following and holds the view still", async () => {
    // Given: more frames than rows
    const { r, push } = setup();
    for (let i = 1; i <= 60; i++) push(rec({ eventId: `ev/n${i}` }));
    let f = await frameWith(r, ":ev/n60");
    assert.match(f, /following/);
    assert.ok(!f.includes(":ev/n1 "), "the oldest scrolled out");
    // When: two keys before React gets to render (a key held down)
    r.stdin.write("k");
    r.stdin.write("k");
    f = await frameWhere(r, (x) => /^> .*:ev\/n58/m.test(x), "selection moved up two");
    assert.match(f, /scrolled/);
    push(rec({ eventId: "ev/n61" }));
    // Then: the new frame arrives but the view does not jump
    f = await frameWith(r, "61 frames");
    assert.match(f, /^> .*:ev\/n58/m);
    assert.ok(!f.includes(":ev/n61"));
    await keys(r, "G");
    f = await frameWith(r, "following");
    assert.match(f, /^> .*:ev\/n61/m);
  });

  test("pause freezes the view while records keep arriving, and counts them", async () => {
    const { r, push, store } = setup();
    push(rec({ eventId: "ev/before" }));
    await frameWith(r, ":ev/before");
    // When
    await keys(r, " ");
    await frameWith(r, "PAUSED +0 new");
    push(rec({ eventId: "ev/during1" }), rec({ eventId: "ev/during2" }));
    // Then
    const f = await frameWith(r, "PAUSED +2 new");
    assert.ok(!f.includes(":ev/during"), "frozen");
    assert.equal(store.total, 3, "the store kept receiving");
    await keys(r, "p");
    await frameWith(r, ":ev/during2");
  });
});

describe("inspect TUI: filters", () => {
  const fixture = () => [
    rec({ eventId: "chat/msg", uid: '"alice"', clientId: "aaaa1111", data: '{:text "hello"}' }),
    rec({ eventId: "chat/typing", uid: '"bob"', clientId: "bbbb2222", conn: "ws-2" }),
    rec({ kind: "reply", dir: "s2c", uid: '"alice"', clientId: "aaaa1111", data: ":ok", latencyMs: 3 }),
    rec({ kind: "ping", dir: "s2c", eventId: "chsk/ws-ping", uid: '"bob"', clientId: "bbbb2222", conn: "ws-2" }),
    rec({ kind: "push", dir: "s2c", eventId: "news/flash", transport: "ajax", uid: '"carol"', clientId: "cccc3333", conn: "ajax-c", data: '[[:news/flash {:title "Big"}]]' }),
  ];

  const cases: { filter: string; n: number; shows: string[]; hides: string[] }[] = [
    { filter: "ev:chat", n: 2, shows: [":chat/msg", ":chat/typing"], hides: [":news/flash", ":chsk/ws-ping"] },
    { filter: "user:bob", n: 2, shows: [":chat/typing", ":chsk/ws-ping"], hides: [":chat/msg", ":news/flash"] },
    { filter: "client:cccc", n: 1, shows: [":news/flash"], hides: [":chat/msg"] },
    { filter: "dir:s2c", n: 3, shows: ["reply", ":chsk/ws-ping", ":news/flash"], hides: [":chat/msg", ":chat/typing"] },
    { filter: "kind:reply,push", n: 2, shows: ["reply", ":news/flash"], hides: [":chat/msg", ":chsk/ws-ping"] },
    { filter: "-kind:ping", n: 4, shows: [":chat/msg", ":news/flash"], hides: [":chsk/ws-ping"] },
    { filter: "tr:ajax", n: 1, shows: [":news/flash"], hides: [":chat/msg"] },
    { filter: "hello", n: 1, shows: [":chat/msg"], hides: [":chat/typing", ":news/flash"] },
    { filter: "/title \"B.g\"/", n: 1, shows: [":news/flash"], hides: [":chat/msg"] },
    { filter: "ev:chat user:alice", n: 1, shows: [":chat/msg"], hides: [":chat/typing"] },
  ];
  for (const c of cases) {
    test(`filter "${c.filter}"`, async () => {
      // Given
      const { r, push } = setup();
      push(...fixture());
      await frameWith(r, ":news/flash");
      // When
      await keys(r, "/");
      await type(r, c.filter);
      await keys(r, KEY.enter);
      // Then
      // The filter applies live while typed: wait for the frame after Enter (the status line), not the first that hides.
      const status = new RegExp(`filter: ${c.filter.replace(/[/\\^$*+?.()|[\]{}]/g, "\\$&")} +${c.n} of 5`);
      const f = await frameWhere(r, (x) => status.test(x) && c.hides.every((h) => !x.includes(h)), `${c.filter} applied`);
      for (const s of c.shows) assert.ok(f.includes(s), `${c.filter} shows ${s}\n${f}`);
    });
  }

  test("an invalid regex is shown inline, the last valid filter stays in force, nothing crashes", async () => {
    const { r, push } = setup();
    push(...fixture());
    await frameWith(r, ":news/flash");
    // When: a valid filter, then a regex that does not compile
    await keys(r, "/");
    await type(r, "ev:chat /(/");
    // Then
    const f = await frameWith(r, "✗");
    assert.match(f, /filter: ev:chat \/\(\/\|? +✗ .*Invalid regular expression/);
    assert.ok(f.includes(":chat/msg") && !f.includes(":news/flash"), "ev:chat still applies");
    // And: Esc undoes the edit
    await keys(r, KEY.esc);
    const after = await frameWith(r, ":news/flash");
    assert.ok(!after.includes("✗"));
  });

  test("Esc on the list clears the filter", async () => {
    const { r, push } = setup({ initialFilter: "kind:ping" });
    push(...fixture());
    await frameWhere(r, (f) => f.includes(":chsk/ws-ping") && !f.includes(":chat/msg"), "initial filter");
    await keys(r, KEY.esc);
    await frameWith(r, ":chat/msg");
  });
});

describe("inspect TUI: detail pane", () => {
  const big =
    '{:user "alice", :items [{:id 1, :tags #{:a :b}, :note "the first item of a list long enough to wrap"} {:id 2, :tags #{}, :note "second"}], :at #inst "2026-12-02T10:00:00.000-00:00"}';

  test("Enter opens the selected frame: facts and the value pretty-printed as EDN; r shows the raw frame", async () => {
    // Given
    const { r, push } = setup();
    push(
      rec({ eventId: "shop/order", cbId: '"9a"', data: big, raw: `[[:shop/order ${big}] "9a"]`, packer: "edn", envelope: "1.21", pair: 2 }),
      rec({ eventId: "other/thing", data: "{}" }),
    );
    await frameWith(r, ":other/thing");
    // When
    await keys(r, KEY.up, KEY.enter);
    // Then
    let f = await frameWith(r, "value (EDN)");
    assert.match(f, /#\d+ .*→ c2s +ws\/ws +event +:shop\/order/);
    assert.match(f, /cb "9a"/);
    assert.match(f, /replied by #2/);
    assert.match(f, /packer edn +envelope 1\.21/);
    const lines = f.split("\n");
    const start = lines.findIndex((l) => l.startsWith('{:user "alice",'));
    assert.ok(start > 0, f);
    assert.match(lines[start + 1]!, /^ :items \[\{:id 1,/, "map entries one per line, indented under the brace");
    assert.match(lines[start + 2]!, /^ {9}\{:id 2, :tags #\{\}, :note "second"\}\],$/, "vector elements aligned under the first");
    assert.ok(lines.some((l) => /^ :at #inst "2026-12-02T10:00:00\.000-00:00"\}$/.test(l)), f);
    // When: raw
    await keys(r, "r");
    f = await frameWith(r, "raw frame (text");
    assert.ok(f.includes('[[:shop/order {:user "alice", :items'), "the frame as sent");
    // And back
    await keys(r, "r");
    await frameWith(r, "value (EDN)");
    await keys(r, KEY.esc);
    f = await frameWith(r, "event / value");
    assert.match(f, /^> .*:shop\/order/m, "back on the list, same selection");
  });

  test("→ and ← step through frames; a push batch shows each event; a bad frame shows its error", async () => {
    const { r, push } = setup();
    push(
      rec({ kind: "push", dir: "s2c", eventId: "a/one", events: [{ eventId: "a/one", data: "{:n 1}" }, { eventId: "a/two", data: "[1 2]" }] }),
      rec({ kind: "bad", dir: "s2c", raw: "\u001b[2J junk", error: { code: "CHSK_ERR_UNPACK", message: "not EDN" } }),
    );
    await frameWith(r, "CHSK_ERR_UNPACK");
    await keys(r, "g", KEY.enter);
    let f = await frameWith(r, "2 events (EDN)");
    assert.match(f, /^:a\/two$/m);
    assert.match(f, /^ {2}\[1 2\]$/m);
    await keys(r, "l");
    f = await frameWith(r, "CHSK_ERR_UNPACK: not EDN");
    await keys(r, "r");
    f = await frameWith(r, "raw frame");
    assert.ok(f.includes("\\u001b[2J junk"), "control characters from the wire are shown, not sent to the terminal");
    assert.ok(!f.includes("\u001b[2J"));
  });
});

describe("inspect TUI: summaries", () => {
  test("per connection and per user: calls, pushes, p50/p99, errors, reconnects; Enter filters the frames", async () => {
    // Given
    const { r, push } = setup();
    push(rec({ kind: "open", conn: "ws-1" }), rec({ kind: "open", conn: "ajax-7", transport: "ajax", uid: '"bob"', clientId: "bbbb", flags: ["reconnect"] }));
    for (let i = 1; i <= 10; i++) push(rec({ conn: "ws-1", cbId: `"${i}"`, eventId: "x/y" }), rec({ conn: "ws-1", kind: "reply", dir: "s2c", latencyMs: i * 10, pair: 1 }));
    push(
      rec({ conn: "ws-1", kind: "push", dir: "s2c", eventId: "x/p", events: [{ eventId: "x/p" }, { eventId: "x/q" }] }),
      rec({ conn: "ajax-7", transport: "ajax", uid: '"bob"', kind: "bad", clientId: "bbbb", error: { code: "CHSK_ERR_UNPACK", message: "junk" } }),
    );
    // When
    await keys(r, "2");
    // Then
    let f = await frameWith(r, "connection");
    assert.match(f, /connection +tr +user +client +calls +pushes +p50 +p99 +errors/);
    const ws1 = f.split("\n").find((l) => l.includes("ws-1"))!;
    assert.match(ws1, /ws-1 +ws +alice +5f1c2d3e +open +10 +2 +\d+ms +\d+ms +0 +0 +0/);
    const ajax = f.split("\n").find((l) => l.includes("ajax-7"))!;
    assert.match(ajax, /ajax-7 +ajax +bob +bbbb +open +0 +0 +1 +0 +1/);
    await keys(r, "3");
    f = await frameWith(r, "tabs");
    assert.match(f, /alice +1\/1 +1 +10 +2 +\d+ms +\d+ms +0 +0 +0/);
    assert.match(f, /bob +1\/1 +1 +0 +0 +1 +0 +1/);
    // When: Enter on the second connection
    await keys(r, "2", KEY.down, KEY.enter);
    f = await frameWith(r, "filter: conn:ajax-7");
    assert.ok(f.includes("CHSK_ERR_UNPACK"), f);
    assert.ok(!f.includes(":x/y"));
  });
});

describe("inspect TUI: the send line", () => {
  test("sends EDN through onSend, shows the reply, keeps history for ↑/↓", async () => {
    const sent: string[] = [];
    const { r } = setup({ onSend: async (t) => (sent.push(t), `{:echo ${t}}`) });
    await frameWith(r, "send>");
    // When
    await keys(r, "i");
    await type(r, "[:demo/echo 1]");
    await keys(r, KEY.enter);
    // Then
    await frameWith(r, "⇐ {:echo [:demo/echo 1]}");
    await type(r, "[:demo/two 2]");
    await keys(r, KEY.enter);
    await frameWith(r, "⇐ {:echo [:demo/two 2]}");
    assert.deepEqual(sent, ["[:demo/echo 1]", "[:demo/two 2]"]);
    // History
    await keys(r, KEY.up);
    await frameWhere(r, (f) => /send> \[:demo\/two 2\]/.test(f), "newest history entry");
    await keys(r, KEY.up);
    await frameWhere(r, (f) => /send> \[:demo\/echo 1\]/.test(f), "older history entry");
    await keys(r, KEY.down, KEY.down);
    await frameWhere(r, (f) => /send> \|/.test(f), "back to the empty draft");
  });

  test("invalid EDN is refused inline without sending; a ChskError shows its code; no reply in time is CHSK_ERR_TIMEOUT", async () => {
    let calls = 0;
    let mode: "reject" | "hang" = "reject";
    const { r, clock } = setup({
      sendTimeoutMs: 2000,
      onSend: () => {
        calls++;
        return mode === "reject" ? Promise.reject(new ChskError("CHSK_ERR_CLOSED", "not connected")) : new Promise<string>(() => {});
      },
    });
    await keys(r, ":");
    await type(r, "[:oops {:a");
    await keys(r, KEY.enter);
    await frameWith(r, "✗ CHSK_ERR_EDN_SYNTAX");
    assert.equal(calls, 0);
    await keys(r, KEY.ctrlU);
    await type(r, "[:a/b]");
    await keys(r, KEY.enter);
    await frameWith(r, "✗ CHSK_ERR_CLOSED: not connected");
    mode = "hang";
    await type(r, "[:a/c]");
    await keys(r, KEY.enter);
    await frameWith(r, "sending [:a/c]");
    // The timeout is armed in an effect, which React runs just after the frame is drawn.
    for (let i = 0; i < 100 && !clock.delays().includes(2000); i++) await tick();
    clock.advance(2000);
    await frameWith(r, "✗ CHSK_ERR_TIMEOUT: no reply within 2000 ms");
    assert.equal(calls, 2);
  });

  test("without onSend there is no send line and i does nothing", async () => {
    const { r } = setup();
    await frameWith(r, "waiting");
    await keys(r, "i", "q");
    assert.ok(!(r.lastFrame() ?? "").includes("send>"));
  });
});

describe("inspect TUI: load, size and safety", () => {
  test("5,000 frames/s for a second renders a bounded number of times and stays within the ring", async () => {
    // Given
    const { r, store, clock } = setup({}, 1000);
    await frameWith(r, "waiting");
    const before = r.frames.length;
    // When: 5 records every ms for 1,000 ms of (manual) time
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 5; i++) store.push(rec({ eventId: `load/e${ms * 5 + i}` }));
      clock.advance(1);
      if (ms % 10 === 0) await tick();
    }
    clock.advance(50);
    // Then
    const f = await frameWith(r, ":load/e4999");
    const renders = r.frames.length - before;
    assert.ok(renders <= 25, `${renders} renders for 5,000 frames`);
    assert.ok(renders >= 2, `${renders} renders`);
    assert.equal(store.size, 1000);
    assert.match(f, /1,000 frames \(last 1,000\)/);
  });

  test("a narrow terminal keeps every line within its width and still shows the event", async () => {
    const { r, push } = setup();
    push(rec({ eventId: "demo/narrow", data: '{:a "a long value that would not fit"}', latencyMs: 5, flags: ["late"] }));
    await frameWith(r, ":demo/narrow");
    for (const columns of [60, 40, 24]) {
      // When
      Object.defineProperty(r.stdout, "columns", { value: columns, configurable: true });
      r.stdout.emit("resize");
      // Then
      const f = await frameWhere(r, (x) => x.split("\n").every((l) => l.length <= columns), `lines ≤ ${columns}`);
      assert.ok(f.includes(":demo/"), `${columns} columns:\n${f}`);
    }
  });

  test("peer-controlled text (uids, event ids) cannot inject terminal escapes", async () => {
    const { r, push } = setup();
    push(rec({ uid: '"\u001b]0;pwned\u0007"', eventId: "x/\u001b[31mred" }));
    const f = await frameWith(r, "x/\\u001b");
    assert.ok(!f.includes("\u001b"), "no raw ESC reaches the terminal");
  });

  test("q quits", async () => {
    const { r } = setup();
    await frameWith(r, "waiting");
    await keys(r, "q");
    // ink-testing-library's instance ends; a further key renders nothing new.
    const n = r.frames.length;
    await keys(r, "2");
    assert.equal(r.frames.length, n);
  });
});
