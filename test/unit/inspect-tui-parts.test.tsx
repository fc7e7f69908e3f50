/**
 * The TUI's pure parts, without a terminal: the filter language, the EDN
 * pretty printer, the line editor, the UI reducer's send history, and the
 * column layout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FrameRecord } from "../../src/core/index.js";
import { compileFilter, MAX_HAYSTACK } from "../../src/inspector/filter.js";
import { prettyEdnText } from "../../src/inspector/tui/edn-pretty.js";
import { editLine, lineOf } from "../../src/inspector/tui/line-editor.js";
import { initialUi, MAX_HISTORY, reduceUi } from "../../src/inspector/tui/ui-state.js";
import { frameColumns, MARKER_WIDTH } from "../../src/inspector/tui/frame-columns.js";
import { BINDINGS } from "../../src/inspector/tui/keymap.js";

const rec = (p: Partial<FrameRecord> = {}): FrameRecord => ({
  seq: 1,
  ts: "2026-12-02T10:00:00.000Z",
  dir: "c2s",
  transport: "ws",
  channel: "ws",
  conn: "ws-1",
  clientId: "c1",
  kind: "event",
  bytes: 1,
  raw: "",
  ...p,
});

const passes = (filter: string, r: FrameRecord): boolean => {
  const f = compileFilter(filter);
  assert.ok(f.ok, `${filter}: ${f.ok ? "" : f.error}`);
  return f.predicate === undefined || f.predicate(r);
};

describe("filter language", () => {
  test("an empty line passes everything", () => {
    const f = compileFilter("   ");
    assert.deepEqual(f, { ok: true, predicate: undefined, terms: 0 });
  });

  test("fields, words, regexes and negation", () => {
    const r = rec({ eventId: "chat/msg", uid: '"Alice"', data: '{:text "Hello World"}', flags: ["late"] });
    assert.ok(passes("ev::chat/msg", r), "a leading colon on an event id is ignored");
    assert.ok(passes("user:alice", r), "case-insensitive");
    assert.ok(passes("flag:late,orphan", r));
    assert.ok(!passes("-flag:late", r));
    assert.ok(passes("hello world", r), "two words, both present");
    assert.ok(!passes("/hello/", r), "a regex is case-sensitive unless /i");
    assert.ok(passes("/hello/i", r));
    assert.ok(passes("/Hello\\sWorld/", r), "a regex may hold escapes");
    assert.ok(passes("/o W/", r), "and spaces");
    assert.ok(passes("http://x", rec({ data: '"http://x"' })), "an unknown field name is a word");
  });

  test("a g-flagged regex is not stateful across records", () => {
    const f = compileFilter("/a/g");
    assert.ok(f.ok && f.predicate !== undefined);
    const r = rec({ data: '"a"' });
    assert.ok(f.predicate(r) && f.predicate(r) && f.predicate(r));
  });

  test("bad terms are errors, never throws", () => {
    for (const bad of ["/(/", "/unterminated", "kind:evnt", "dir:up", "tr:tcp", "flag:nope", "kind:"]) {
      const f = compileFilter(bad);
      assert.equal(f.ok, false, bad);
      assert.ok(!f.ok && f.error.length > 0);
    }
  });

  test("text search looks at a bounded prefix of huge frames", () => {
    const r = rec({ data: `"${"x".repeat(MAX_HAYSTACK + 10)}needle"` });
    assert.ok(!passes("needle", r));
  });
});

describe("EDN pretty printer", () => {
  test("fits on one line when it can; otherwise one entry per line, aligned", () => {
    assert.deepEqual(prettyEdnText("{:a 1, :b [1 2]}", 80).lines, ["{:a 1, :b [1 2]}"]);
    assert.deepEqual(prettyEdnText('{:a 1, :b {:c "xxxxxxxxxx", :d [1 2 3]}}', 24).lines, ["{:a 1,", ' :b {:c "xxxxxxxxxx",', "     :d [1 2 3]}}"]);
  });

  test("lists, sets and tagged values keep their syntax", () => {
    const lines = prettyEdnText('(:a #{1} #my/tag {:k "vvvvvvvvvvvvvvvvvvvv"})', 20).lines;
    assert.equal(lines[0], "(:a");
    assert.equal(lines[1], " #{1}");
    assert.ok(lines[2]!.startsWith(" #my/tag {:k"));
    assert.ok(lines.at(-1)!.endsWith("})"));
  });

  test("runs of scalars fill lines", () => {
    const lines = prettyEdnText(`[${Array.from({ length: 30 }, (_, i) => i).join(" ")}]`, 20).lines;
    assert.ok(lines.length < 10, lines.join("\n"));
    assert.ok(lines.every((l) => l.length <= 20));
  });

  test("text that is not EDN comes back as it is; huge values are cut", () => {
    assert.deepEqual(prettyEdnText("{:a", 40), { ok: false, lines: ["{:a"] });
    const big = prettyEdnText(`[${Array.from({ length: 100 }, () => "{:k [1 2 3]}").join(" ")}]`, 10, 20);
    assert.equal(big.lines.length, 21);
    assert.equal(big.lines.at(-1), "… (cut)");
  });
});

describe("line editor", () => {
  test("insert, move, backspace, kill word / start / end", () => {
    let s = lineOf("[:a/b 1]");
    s = editLine(s, { op: "left" });
    s = editLine(s, { op: "insert", text: " 2" });
    assert.deepEqual(s, { text: "[:a/b 1 2]", cursor: 9 });
    s = editLine(s, { op: "kill-word" });
    assert.deepEqual(s, { text: "[:a/b 1 ]", cursor: 8 });
    s = editLine(s, { op: "back" });
    s = editLine(s, { op: "home" });
    assert.equal(editLine(s, { op: "kill-end" }).text, "");
    assert.equal(editLine(editLine(s, { op: "end" }), { op: "kill-start" }).text, "");
    assert.equal(editLine(lineOf(""), { op: "insert", text: "a\r\nb" }).text, "a b", "a pasted newline stays on the line");
  });
});

describe("send history", () => {
  test("↑/↓ walk the history and come back to the draft; repeats are not stored; bounded", () => {
    let s = initialUi();
    const send = (t: string) => {
      s = reduceUi(s, { type: "input-edit", edit: { op: "set", text: t } });
      s = reduceUi(s, { type: "submit" });
      s = reduceUi(s, { type: "sent", id: s.sending!.id, outcome: { ok: true, text: t, reply: "nil", ms: 1 } });
    };
    send("[:a/one]");
    send("[:a/two]");
    send("[:a/two]");
    assert.deepEqual(s.history, ["[:a/one]", "[:a/two]"]);
    s = reduceUi(s, { type: "input-edit", edit: { op: "insert", text: "[:dra" } });
    s = reduceUi(s, { type: "history", delta: -1 });
    assert.equal(s.input.text, "[:a/two]");
    s = reduceUi(s, { type: "history", delta: -1 });
    s = reduceUi(s, { type: "history", delta: -1 });
    assert.equal(s.input.text, "[:a/one]", "stops at the oldest");
    s = reduceUi(s, { type: "history", delta: 1 });
    s = reduceUi(s, { type: "history", delta: 1 });
    assert.equal(s.input.text, "[:dra", "past the newest: the draft");
    for (let i = 0; i < MAX_HISTORY + 20; i++) send(`[:n/e${i}]`);
    assert.equal(s.history.length, MAX_HISTORY);
  });

  test("a stale reply (another send's id) is ignored", () => {
    let s = reduceUi(initialUi(), { type: "input-edit", edit: { op: "set", text: "[:x/y]" } });
    s = reduceUi(s, { type: "submit" });
    const after = reduceUi(s, { type: "sent", id: 999, outcome: { ok: true, text: "", reply: "", ms: 0 } });
    assert.equal(after, s);
  });
});

describe("layout", () => {
  test("columns fill the width exactly, from 10 to 300 columns; time, direction and event survive narrow ones", () => {
    for (let w = 10; w <= 300; w++) {
      const cols = frameColumns(w);
      const total = cols.reduce((n, c) => n + c.width, 0) + cols.length - 1 + MARKER_WIDTH;
      assert.ok(total === w || w < 12, `${w}: ${total}`);
      const ids = cols.map((c) => c.id);
      assert.ok(ids.includes("ev") && ids.includes("dir"));
      if (w >= 40) assert.ok(ids.includes("time") && ids.includes("kind"), `${w}: ${ids.join(",")}`);
    }
    assert.deepEqual(
      frameColumns(200).map((c) => c.id),
      ["time", "dir", "tr", "user", "client", "kind", "ev", "size", "lat", "flags"],
    );
  });

  test("every binding has keys and an action (the README table is made from them)", () => {
    for (const b of BINDINGS) assert.ok(b.keys !== "" && b.action !== "");
  });
});
