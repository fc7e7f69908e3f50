/**
 * The inspector's stream outputs: `--format text` (golden lines, colour
 * only when allowed), `--format jsonl` (one record per line, read back by
 * the recording reader) and the `--record` file writer.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseRecordLine, parseRecordLines, recordToJson } from "../../src/core/index.js";
import { createJsonlWriter } from "../../src/inspector/output/jsonl-writer.js";
import { createRecording } from "../../src/inspector/output/recording.js";
import { formatTextLine, sizeLabel, uidLabel } from "../../src/inspector/output/text-line.js";
import { createTextWriter } from "../../src/inspector/output/text-writer.js";
import { shouldUseColor } from "../../src/inspector/output/use-color.js";
import { decode, sessionEvents } from "./inspect-output-session.js";

const records = decode(sessionEvents());

/** What `--format text` prints for the session (times in UTC). */
const GOLDEN = [
  "12:00:00.000 · ws   ?/c-ws-111            open                                                      /chsk?client-id=c-ws-1111&csrf-token=tok",
  '12:00:00.005 ← ws   alice/c-ws-111        handshake :chsk/handshake                   41 B          ["alice" nil nil]',
  '12:00:00.100 → ws   alice/c-ws-111        event     :demo/echo           cb=3f2a1b    31 B          "hello"',
  '12:00:00.106 ← ws   alice/c-ws-111        reply                          cb=3f2a1b    18 B    6 ms  "hello"',
  "12:00:00.200 ← ws   alice/c-ws-111        push      :demo/msg                         45 B          [[:demo/msg {:n 1}] [:demo/msg {:n 2}]]",
  "12:00:00.300 ← ws   alice/c-ws-111        ping      :chsk/ws-ping                     19 B          [:chsk/ws-ping nil]",
  "12:00:00.301 → ws   alice/c-ws-111        pong      :chsk/ws-pong                     21 B    1 ms  [[:chsk/ws-pong] nil]",
  "12:00:00.400 → ws   alice/c-ws-111        event     :demo/note                        25 B          {:a 1}",
  '12:00:00.500 → ws   alice/c-ws-111        event     :demo/slow           cb=aaaaaa    23 B          [unanswered]  [[:demo/slow] "aaaaaa"]',
  "12:00:00.600 → ws   alice/c-ws-111        bad                                         12 B          CHSK_ERR_EDN_SYNTAX: EDN syntax error at offset 1: unexpected end of input in v…",
  "12:00:01.000 · ajax ?/c-ajax-2            open                                                      /chsk?client-id=c-ajax-2222&handshake%3F=true",
  "12:00:01.003 ← ajax -/c-ajax-2            handshake :chsk/handshake                   48 B          [:sente/nil-uid nil nil]",
  "12:00:01.100 → ajax -/c-ajax-2            event     :demo/echo           cb=:ajax     22 B          1",
  "12:00:01.108 ← ajax -/c-ajax-2            reply                                        7 B    8 ms  1",
  "12:00:01.200 → ajax -/c-ajax-2            event     :demo/note                        20 B          2",
  "12:00:01.201 ← ajax -/c-ajax-2            dummy     :chsk/dummy-cb-200                24 B    1 ms  [:chsk/dummy-cb-200 nil]",
  "12:00:21.003 ← ajax -/c-ajax-2            timeout   :chsk/timeout                     19 B          [:chsk/timeout nil]",
  "12:00:21.100 → ajax -/c-ajax-2            event     :demo/echo           cb=:ajax     22 B          3",
  "12:00:21.101 ← ajax -/c-ajax-2            refused                                             1 ms  CHSK_ERR_BAD_CSRF: HTTP 403: Bad CSRF token",
  "12:00:22.000 · ws   alice/c-ws-111        close                                                     1000",
];

const capture = () => {
  let text = "";
  return { write: (s: string) => void (text += s), get text() { return text; } };
};

describe("--format text", () => {
  it("prints one golden line per record", () => {
    // Given the decoded session, when each record is formatted in UTC, then the lines are the golden ones.
    assert.deepEqual(records.map((r) => formatTextLine(r, { utc: true })), GOLDEN);
  });

  it("the writer ends every line with a newline and nothing else, and ignores records after close", async () => {
    const out = capture();
    const w = createTextWriter(out, { utc: true });
    for (const r of records) w.write(r);
    await w.close();
    w.write(records[0]!);
    assert.equal(out.text, `${GOLDEN.join("\n")}\n`);
  });

  it("colour only when asked: no escape codes by default, escape codes with color", () => {
    const plain = records.map((r) => formatTextLine(r, { utc: true })).join("\n");
    assert.doesNotMatch(plain, /\u001b\[/);
    const coloured = formatTextLine(records[8]!, { utc: true, color: true });
    assert.match(coloured, /\u001b\[31;1m\[unanswered\]\u001b\[0m/);
    // The text is the same once the escapes are taken out.
    assert.equal(coloured.replace(/\u001b\[[0-9;]*m/g, ""), GOLDEN[8]);
  });

  it("colour is allowed on a terminal only, and never with NO_COLOR", () => {
    assert.equal(shouldUseColor({ isTTY: true }, {}), true);
    assert.equal(shouldUseColor({ isTTY: false }, {}), false);
    assert.equal(shouldUseColor({}, {}), false, "a pipe or a file");
    assert.equal(shouldUseColor({ isTTY: true }, { NO_COLOR: "1" }), false);
    assert.equal(shouldUseColor({ isTTY: true }, { NO_COLOR: "" }), true, "NO_COLOR must be non-empty (no-color.org)");
  });

  it("the preview is one line, cut at previewChars", () => {
    const r = { ...records[2]!, data: '{:text "a\\nb"\n :more   [1 2 3]}' };
    assert.match(formatTextLine(r, { utc: true }), / {2}\{:text "a\\nb" :more \[1 2 3\]\}$/);
    assert.match(formatTextLine(r, { utc: true, previewChars: 8 }), / {2}\{:text …$/);
  });

  it("a push of one event shows that event's data; a batch of several is shown whole", () => {
    const push = { seq: 1, ts: "2026-01-01T12:00:00.000Z", dir: "s2c", transport: "ws", channel: "ws", conn: "ws-1", clientId: "c", uid: '"alice"', kind: "push", eventId: "demo/hello", bytes: 23, raw: "[[:demo/hello 1]]" } as const;
    const one = formatTextLine({ ...push, data: "[[:demo/hello 1]]", events: [{ eventId: "demo/hello", data: "1" }] }, { utc: true });
    assert.match(one, /:demo\/hello +23 B +1$/);
    const two = formatTextLine({ ...push, data: "[[:demo/hello 1] [:demo/bye]]", events: [{ eventId: "demo/hello", data: "1" }, { eventId: "demo/bye" }] }, { utc: true });
    assert.match(two, /\[\[:demo\/hello 1\] \[:demo\/bye\]\]$/);
  });

  it("labels: uids without quotes, anonymous as -, sizes in B/kB/MB", () => {
    assert.equal(uidLabel('"alice"'), "alice");
    assert.equal(uidLabel('"two words"'), '"two words"');
    assert.equal(uidLabel(":sente/nil-uid"), "-");
    assert.equal(uidLabel("42"), "42");
    assert.equal(uidLabel(undefined), "?");
    assert.deepEqual([0, 999, 1000, 12_345, 2_500_000].map(sizeLabel), ["0 B", "999 B", "1.0 kB", "12.3 kB", "2.5 MB"]);
  });
});

describe("--format jsonl", () => {
  it("one record per line, exactly as recordToJson writes it, read back equal", async () => {
    const out = capture();
    const w = createJsonlWriter(out);
    for (const r of records) w.write(r);
    await w.close();
    const lines = out.text.split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    assert.deepEqual(lines, records.map(recordToJson));
    assert.deepEqual(lines.map((l, i) => parseRecordLine(l, i + 1)), records.map((value) => ({ ok: true, value })));
  });
});

describe("--record FILE", () => {
  const dir = mkdtempSync(join(tmpdir(), "chsk-record-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("holds every record written before close(), one per line, and nothing after", async () => {
    const path = join(dir, "a.jsonl");
    const rec = createRecording(path, { flushIntervalMs: 60_000, flushBytes: 1 << 30 });
    for (const r of records) rec.write(r);
    // Nothing forced a write yet: close() must write the whole tail.
    await rec.close();
    await rec.close();
    rec.write(records[0]!);
    const { records: back, errors } = parseRecordLines(readFileSync(path, "utf8"));
    assert.deepEqual(errors, []);
    assert.deepEqual(back, records);
    assert.equal(rec.count, records.length);
  });

  it("writes whole lines as it goes once flushBytes are waiting", () => {
    const path = join(dir, "b.jsonl");
    const rec = createRecording(path, { flushIntervalMs: 60_000, flushBytes: 1 });
    rec.write(records[1]!);
    rec.write(records[2]!);
    assert.equal(readFileSync(path, "utf8"), `${recordToJson(records[1]!)}\n${recordToJson(records[2]!)}\n`);
    void rec.close();
  });

  it("a record is serialized when written out, so a reply paired meanwhile is in the call's line", async () => {
    const path = join(dir, "c.jsonl");
    const rec = createRecording(path, { flushIntervalMs: 60_000 });
    const call = { ...records[2]! };
    delete call.pair;
    rec.write(call);
    call.pair = 4; // the decoder pairs the call in place when its reply comes
    await rec.close();
    assert.equal(JSON.parse(readFileSync(path, "utf8")).pair, 4);
  });

  it("append adds to a file; a file that cannot be opened is CHSK_ERR_FILE", async () => {
    const path = join(dir, "d.jsonl");
    for (const r of [records[1]!, records[2]!]) {
      const rec = createRecording(path, { append: true });
      rec.write(r);
      await rec.close();
    }
    assert.equal(readFileSync(path, "utf8").split("\n").length, 3);
    assert.throws(() => createRecording(join(dir, "no", "such", "dir.jsonl")), { code: "CHSK_ERR_FILE" });
  });
});
