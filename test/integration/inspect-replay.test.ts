/**
 * `--replay FILE.jsonl`: a recording read back as a source. Records become
 * wire events again and are decoded afresh; bad lines are reported with
 * their line number and skipped; the source follows the WireSource
 * lifecycle (start, done, close) with real files.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createFrameDecoder, type FrameRecord, jsonPacker, recordToJson, type WireEvent } from "../../src/core/index.js";
import { createReplaySource, type ReplaySourceOptions } from "../../src/inspector/sources/replay.js";
import type { SourceEnd, SourceNotice } from "../../src/inspector/sources/types.js";
import { decode, sessionEvents } from "../unit/inspect-output-session.js";
import { withTimeout } from "./server-helpers.js";

const records = decode(sessionEvents());
const dir = mkdtempSync(join(tmpdir(), "chsk-replay-"));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

async function replay(options: ReplaySourceOptions, until?: (events: WireEvent[]) => boolean) {
  const source = createReplaySource(options);
  const events: WireEvent[] = [];
  const notices: SourceNotice[] = [];
  source.onEvent((e) => {
    events.push(e);
    if (until?.(events)) void source.close();
  });
  source.onNotice((n) => notices.push(n));
  await source.start();
  const end: SourceEnd = await withTimeout(source.done, 10_000, "the replay to end");
  await source.close();
  return { events, notices, end };
}

describe("--replay FILE.jsonl", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("replays a recording into the same records, skipping bad lines with their line number", async () => {
    // Given the session's recording with garbage among its lines (a blank line is no error)…
    const lines = records.map(recordToJson);
    lines.splice(2, 0, "not json at all");
    lines.splice(6, 0, '{"seq":0,"ts":"now"}');
    lines.splice(9, 0, "");
    lines.splice(10, 0, "[1,2,3]");
    lines.splice(12, 0, `{"pad":"${"x".repeat(5000)}"}`);
    const path = file("bad-lines.jsonl", lines);
    // …when it is replayed and decoded…
    const { events, notices, end } = await replay({ path, maxLineChars: 4096 });
    assert.deepEqual(end, { reason: "eof" });
    // …then every good record comes back as it was…
    const d = createFrameDecoder();
    const again = events.map((e) => d.push(e));
    d.flush(Date.parse(records.at(-1)!.ts) + 60_000);
    assert.deepEqual(again, records);
    // …and each bad line is named, by number, once.
    const warned = notices.filter((n) => n.level === "warn").map((n) => n.message);
    assert.equal(warned.length, 4, warned.join("\n"));
    assert.match(warned[0]!, /line 3: not JSON/);
    assert.match(warned[1]!, /line 7: "seq" must be an integer ≥ 1/);
    assert.match(warned[2]!, /line 11: expected a JSON object/);
    assert.match(warned[3]!, /line 13: longer than 4096 characters/);
    assert.ok(notices.some((n) => n.level === "info" && /20 records replayed, 4 bad lines skipped/.test(n.message)));
  });

  it("re-decodes from raw: another packer reads the same recording differently", async () => {
    const path = file("as-json.jsonl", records.map(recordToJson));
    const { events } = await replay({ path, packer: "json" });
    const d = createFrameDecoder({ packer: jsonPacker() });
    const asJson = events.map((e) => d.push(e));
    assert.equal(asJson[1]!.kind, "bad", "EDN text is not JSON");
    assert.equal(asJson[1]!.raw, records[1]!.raw);
  });

  it("a recording without exchange ids (older chsk) still pairs each Ajax answer with its request", async () => {
    const lines = records.map((r) => {
      const { exchange: _, ...rest } = r;
      return recordToJson(rest as FrameRecord);
    });
    const { events } = await replay({ path: file("no-exchange.jsonl", lines) });
    const d = createFrameDecoder();
    const again = events.map((e) => d.push(e));
    d.flush(Date.parse(records.at(-1)!.ts) + 60_000);
    const pairing = (rs: FrameRecord[]) => rs.map((r) => [r.seq, r.kind, r.pair, r.latencyMs, r.flags]);
    assert.deepEqual(pairing(again), pairing(records));
  });

  it("a missing file: start() rejects with CHSK_ERR_FILE and done says failed", async () => {
    const source = createReplaySource({ path: join(dir, "nope.jsonl") });
    await assert.rejects(source.start(), { code: "CHSK_ERR_FILE" });
    const end = await source.done;
    assert.equal(end.reason, "failed");
    assert.equal(end.reason === "failed" && end.error.code, "CHSK_ERR_FILE");
  });

  it("close() ends a paced replay at once: done says closed, no event after it", async () => {
    // Recorded pacing: the session lasts 22 s; close after the third event.
    const path = file("paced.jsonl", records.map(recordToJson));
    const { events, end } = await replay({ path, pacing: "recorded" }, (es) => es.length === 3);
    assert.deepEqual(end, { reason: "closed" });
    assert.equal(events.length, 3);
  });
});
