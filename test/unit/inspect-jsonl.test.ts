/**
 * The recording format (src/core/inspect/jsonl.ts): records to JSON lines
 * and back (validated, errors with line numbers, never a throw), and
 * records back to WireEvents so a replay re-decodes the same session, or
 * decodes it again with another packer or timeout. Plus the fast-check
 * property that no WireEvent and no line makes the decoder or the reader
 * throw. And `recordToJson` checked byte for byte against the key-list
 * replacer it replaced.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";

import { fromBase64, toBase64 } from "../../src/core/inspect/base64.js";
import { createFrameDecoder } from "../../src/core/inspect/frame-decoder.js";
import { parseRecordLine, parseRecordLines, recordToJson, recordToWireEvent } from "../../src/core/inspect/jsonl.js";
import { showEdn } from "../../src/core/inspect/show-edn.js";
import { createSessionModel } from "../../src/core/inspect/summary.js";
import type { FrameRecord, WireEvent } from "../../src/core/inspect/types.js";
import { MsgpackExt, ednPacker, packerByName, PACKER_NAMES, type Packer } from "../../src/core/packers/index.js";
import { encodeClientEvent, encodeHandshake, encodePush, encodeReply, encodeServerPing } from "../../src/core/protocol/codec.js";
import { valueArb } from "./edn-arbitraries.js";
import { capturedRuns, T0 } from "./inspect-fixtures.js";

/** Every captured run decoded, flushed: records of every kind, every packer. */
function recorded(): { packer: string; records: FrameRecord[]; events: WireEvent[] }[] {
  return capturedRuns().map(({ packer, events }) => {
    const d = createFrameDecoder();
    const records = events.map((e) => d.push(e));
    d.flush(Infinity);
    return { packer, records, events };
  });
}

describe("JSONL round trip", () => {
  it("every record of every captured run survives recordToJson → parseRecordLine", () => {
    const kinds = new Set<string>();
    for (const { records } of recorded()) {
      for (const r of records) {
        kinds.add(r.kind);
        const line = recordToJson(r);
        assert.ok(!line.includes("\n"));
        const back = parseRecordLine(line, r.seq);
        assert.ok(back.ok, back.ok ? "" : back.error.message);
        assert.deepEqual(back.value, r);
      }
    }
    for (const k of ["handshake", "event", "push", "reply", "ping", "pong", "timeout", "dummy", "bad", "open", "refused"]) assert.ok(kinds.has(k), k);
  });

  it("keys come out in the README's order", () => {
    const r: FrameRecord = {
      raw: "[:chsk/ws-ping nil]",
      bytes: 19,
      kind: "ping",
      clientId: "c",
      conn: "ws-1",
      channel: "ws",
      transport: "ws",
      dir: "s2c",
      ts: "2026-01-01T00:00:00.000Z",
      seq: 7,
      flags: ["missed-pong"],
      eventId: "chsk/ws-ping",
    };
    assert.equal(
      recordToJson(r),
      '{"seq":7,"ts":"2026-01-01T00:00:00.000Z","dir":"s2c","transport":"ws","channel":"ws","conn":"ws-1","clientId":"c","kind":"ping","eventId":"chsk/ws-ping","flags":["missed-pong"],"bytes":19,"raw":"[:chsk/ws-ping nil]"}',
    );
  });

  it("a recording replays into the same records (re-decoded from raw), and into new ones with another packer", () => {
    for (const { packer, records } of recorded()) {
      const text = records.map(recordToJson).join("\n") + "\n";
      const { records: read, errors } = parseRecordLines(text);
      assert.deepEqual(errors, []);
      const d = createFrameDecoder();
      const again = read.map((r) => d.push(recordToWireEvent(r)));
      d.flush(Infinity);
      assert.deepEqual(again, records, packer);
    }
    // Decoded with a custom packer: every frame goes through it.
    const edn = ednPacker();
    let calls = 0;
    const custom: Packer = { name: "mine", binary: false, keywordsAsStrings: false, pack: (v) => edn.pack(v), unpack: (x, l) => (calls++, edn.unpack(x, l)) };
    const ednRun = recorded().find((r) => r.packer === "edn")!;
    const d = createFrameDecoder({ packer: custom, callTimeoutMs: 1 });
    const again = ednRun.records.map((r) => d.push(recordToWireEvent(r)));
    assert.ok(calls > 20);
    assert.ok(again.filter((r) => r.packer !== undefined).every((r) => r.packer === "mine"));
    // A 1 ms call timeout makes every reply late.
    assert.ok(again.filter((r) => r.kind === "reply" && (r.latencyMs ?? 0) > 1).every((r) => r.flags?.includes("late")));
  });

  it("a source's capture error survives a replay; a decode error is re-decoded", () => {
    const d = createFrameDecoder();
    const big = d.push({ type: "frame", at: 0, dir: "c2s", transport: "ws", channel: "ws", connId: "w", data: "", bytes: 9e6, error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: "big" } });
    const ev = recordToWireEvent(big);
    assert.deepEqual(ev.type === "frame" && [ev.error, ev.bytes], [{ code: "CHSK_ERR_FRAME_TOO_LARGE", message: "big" }, 9e6]);
    const garbled = d.push({ type: "frame", at: 0, dir: "c2s", transport: "ws", channel: "ws", connId: "w", data: "[[:my/ev" });
    const ev2 = recordToWireEvent(garbled);
    assert.ok(ev2.type === "frame" && ev2.error === undefined && ev2.data === "[[:my/ev");
  });

  it("a model fed from a recording counts the recorded flags", () => {
    const ednRun = recorded().find((r) => r.packer === "edn")!;
    const m = createSessionModel();
    for (const r of parseRecordLines(ednRun.records.map(recordToJson).join("\n")).records) m.add(r);
    assert.equal(m.totals().missedPongs, 1);
  });
});

/**
 * What `recordToJson` wrote before it was hand-ordered: `JSON.stringify`
 * with the key list as replacer (slow: ~6 µs a record). Kept here as the
 * reference the fast version must match byte for byte.
 */
const REFERENCE_KEYS = [
  ...["seq", "ts", "dir", "transport", "channel", "conn", "exchange", "clientId", "uid", "kind", "eventId", "cbId", "latencyMs"],
  ...["pair", "prev", "flags", "status", "bytes", "packer", "envelope", "url", "requestTs", "error", "data", "events", "raw", "binary"],
  ...["code", "message"],
];
const referenceJson = (r: FrameRecord): string => JSON.stringify(r, REFERENCE_KEYS);

/** The fields a record may lack (each may also be present as undefined). */
const OPTIONAL: (keyof FrameRecord)[] = ["exchange", "uid", "eventId", "cbId", "latencyMs", "pair", "prev", "flags", "status", "packer", "envelope", "url", "requestTs", "error", "data", "events", "binary"];

/** Strings JSON escapes, or must not: quotes, controls, lone and paired surrogates, U+2028/9, emoji. */
const AWKWARD = ['"', "\\", "\u0000", "\u001f", "\u007f", "\b\f\n\r\t", "\ud800", "\udfff", "x\udc00y", "\ud83d\ude00", "😀", "\u2028\u2029", "é", "</script>", "\ufeff", "\uffff", ""];

/** Records the decoder makes from a session with every kind, flag, pair, error and binary frame. */
function decodedEdgeRecords(): FrameRecord[] {
  const out: FrameRecord[] = [];
  for (const name of PACKER_NAMES) {
    const p = packerByName(name);
    const d = createFrameDecoder({ callTimeoutMs: 50, serverPingTimeoutMs: 50 });
    const ws = (at: number, dir: "c2s" | "s2c", data: string | Uint8Array, extra: Partial<Extract<WireEvent, { type: "frame" }>> = {}): WireEvent => ({
      type: "frame",
      at: T0 + at,
      dir,
      transport: "ws",
      channel: "ws",
      connId: "ws-1",
      data,
      ...extra,
    });
    const events: WireEvent[] = [
      { type: "open", at: T0, transport: "ws", connId: "ws-1", clientId: 'c\u2028"1', url: "/chsk?client-id=c%E2%80%A81&x=\ud800" },
      ws(1, "s2c", encodeHandshake(p, "alice \ud83d\ude00 \ud800", { v: "\u2028" })),
      ws(2, "c2s", encodeClientEvent(p, ["my/ev", { s: 'q"\\\u0001\udfff', n: 2 ** 60, f: 1.5e-7 }], "cb1")),
      ws(3, "s2c", encodeReply(p, { ok: "é😀" }, "cb1")),
      ws(4, "c2s", encodeClientEvent(p, ["my/late", 1], "cb2")),
      ws(200, "s2c", encodeReply(p, 2, "cb2")),
      ws(201, "s2c", encodeReply(p, 3, "nobody")),
      ws(202, "c2s", encodeClientEvent(p, ["my/never"], "cb3")),
      ws(203, "s2c", encodePush(p, [["a/b", "\u2029"], ["c/d"], ["e/f", [1, null]]])),
      ws(205, "c2s", "[[:my/ev"),
      ws(206, "c2s", new Uint8Array([0xff, 0x00, 0xc1, 0x80])),
      ws(207, "c2s", "", { bytes: 9e15, error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: "over \ud800" } }),
      ws(208, "s2c", encodeServerPing(p)),
      { type: "close", at: T0 + 300, transport: "ws", connId: "ws-1", code: 4001, reason: "bye \u0000", dir: "s2c" },
      { type: "open", at: T0 + 301, transport: "ws", connId: "ws-2", clientId: 'c\u2028"1' },
      { type: "refused", at: T0 + 302, transport: "ajax", connId: "x-1", status: 403, body: "<b>no \ud83d</b>", code: "CHSK_ERR_CSRF" },
      { type: "open", at: T0 + 303, transport: "ajax", connId: "x-2", clientId: "aj" },
      { type: "frame", at: T0 + 304, dir: "s2c", transport: "ajax", channel: "poll", connId: "x-2", clientId: "aj", data: encodeHandshake(p, null), status: 200, handshake: true },
      { type: "frame", at: T0 + 305, dir: "c2s", transport: "ajax", channel: "post", connId: "x-3", clientId: "aj", data: encodeClientEvent(p, ["my/ev", "😀"], "ajax") },
      { type: "frame", at: T0 + 306.25, dir: "s2c", transport: "ajax", channel: "post-reply", connId: "x-3", data: encodeReply(p, 1, null), status: 200 },
      { type: "frame", at: T0 + 307, dir: "s2c", transport: "ajax", channel: "poll", connId: "x-4", clientId: "aj", data: "<html>\u2028</html>", status: 502 },
    ];
    for (const e of events) out.push(d.push(e));
    d.flush(T0 + 100_000);
  }
  return out;
}

/** Hand-made records: every optional field, awkward strings, odd numbers, fields set to undefined. */
function handMadeRecords(): FrameRecord[] {
  const base: FrameRecord = { seq: 1, ts: "2026-01-01T00:00:00.000Z", dir: "c2s", transport: "ws", channel: "ws", conn: "ws-1", clientId: null, kind: "event", bytes: 2, raw: "[]" };
  const full: FrameRecord = {
    ...base,
    exchange: "x/1",
    uid: '"alice"',
    eventId: "my/ev",
    cbId: null,
    latencyMs: 0.1 + 0.2,
    pair: 9,
    prev: 3,
    flags: ["late", "orphan", "unanswered", "missed-pong", "reconnect"],
    status: 200,
    packer: "gzip+edn",
    envelope: "1.17",
    url: "/chsk?a=1",
    error: { code: "CHSK_ERR_X", message: "m" },
    data: "{:a 1}",
    events: [{ eventId: "a/b", data: "1" }, { eventId: "c/d" }, { eventId: "e/f", data: undefined }],
    binary: true,
  };
  const out: FrameRecord[] = [base, full, { ...full, cbId: "3f2a1b", flags: [], events: [] }];
  // Keys inserted in reverse order: the output's order must not depend on the object's.
  out.push(Object.fromEntries(Object.entries(full).reverse()) as unknown as FrameRecord);
  // Each optional field present but undefined (JSON leaves it out, as if absent).
  for (const k of OPTIONAL) out.push({ ...full, [k]: undefined });
  out.push({ ...base, clientId: undefined as unknown as null });
  for (const n of [0, -0, 1e21, 1e-7, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, 5e-324, 123.456, NaN, Infinity, -Infinity]) {
    out.push({ ...full, seq: n, bytes: n, latencyMs: n, pair: n, prev: n, status: n });
  }
  for (const s of AWKWARD) {
    const strings = Object.fromEntries(["ts", "conn", "exchange", "clientId", "uid", "eventId", "cbId", "packer", "url", "requestTs", "data", "raw"].map((k) => [k, `${s}${k}${s}`]));
    out.push({ ...full, ...strings, error: { code: s, message: s + s }, events: [{ eventId: s, data: s }, { eventId: s }] } as FrameRecord);
  }
  return out;
}

describe("recordToJson writes what JSON.stringify with the key list wrote, byte for byte", () => {
  const check = (r: FrameRecord, what: string) => assert.equal(recordToJson(r), referenceJson(r), what);

  it("every record of every captured Sente run (every packer, every kind)", () => {
    const runs = recorded();
    for (const { packer, records } of runs) for (const r of records) check(r, `${packer} #${r.seq}`);
    assert.ok(runs.length >= 4 && runs.every((r) => r.records.length > 0));
  });

  it("decoded sessions with every flag, pair, bad frame, binary (base64) frame and awkward string, every packer", () => {
    const records = decodedEdgeRecords();
    for (const r of records) check(r, `${r.packer ?? "-"} #${r.seq} ${r.kind}`);
    // The session did reach what it is meant to cover.
    const flags = new Set(records.flatMap((r) => r.flags ?? []));
    for (const f of ["unanswered", "late", "orphan", "missed-pong", "reconnect"]) assert.ok(flags.has(f as never), f);
    const kinds = new Set(records.map((r) => r.kind));
    for (const k of ["handshake", "event", "push", "reply", "ping", "bad", "open", "close", "refused"]) assert.ok(kinds.has(k as never), k);
    assert.ok(records.some((r) => r.binary === true));
    assert.ok(records.some((r) => r.pair !== undefined && r.latencyMs !== undefined));
    assert.ok(records.some((r) => r.prev !== undefined));
    assert.ok(records.some((r) => r.events !== undefined && r.events.length === 3));
    assert.ok(records.some((r) => r.raw.includes("\ud800") || r.data?.includes("\u2028")));
  });

  it("hand-made records: every field, fields set to undefined, key order, odd numbers, awkward strings", () => {
    for (const r of handMadeRecords()) check(r, referenceJson(r));
  });

  it("property: random records of any field values of their types", () => {
    const unit = fc.oneof(
      fc.nat(0xffff).map((c) => String.fromCharCode(c)),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
      fc.constantFrom(...AWKWARD),
    );
    const str = fc.string({ unit, maxLength: 12 });
    const num = fc.oneof(fc.nat(), fc.double(), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
    const recordArb = fc.record(
      {
        seq: num,
        ts: str,
        dir: fc.constantFrom("c2s" as const, "s2c" as const),
        transport: fc.constantFrom("ws" as const, "ajax" as const),
        channel: fc.constantFrom("ws" as const, "poll" as const, "post" as const, "post-reply" as const),
        conn: str,
        exchange: fc.option(str, { nil: undefined }),
        clientId: fc.option(str, { nil: null }),
        uid: fc.option(str, { nil: undefined }),
        kind: fc.constantFrom(...(["handshake", "event", "push", "reply", "ping", "pong", "timeout", "dummy", "bad", "open", "close", "refused"] as const)),
        eventId: fc.option(str, { nil: undefined }),
        cbId: fc.oneof(fc.constant(undefined), fc.constant(null), str),
        latencyMs: fc.option(num, { nil: undefined }),
        pair: fc.option(num, { nil: undefined }),
        prev: fc.option(num, { nil: undefined }),
        flags: fc.option(fc.array(fc.constantFrom(...(["unanswered", "late", "orphan", "missed-pong", "reconnect"] as const)), { maxLength: 3 }), { nil: undefined }),
        status: fc.option(num, { nil: undefined }),
        bytes: num,
        packer: fc.option(str, { nil: undefined }),
        envelope: fc.option(fc.constantFrom("1.21" as const, "1.18" as const, "1.17" as const), { nil: undefined }),
        url: fc.option(str, { nil: undefined }),
        error: fc.option(fc.record({ code: str, message: str }), { nil: undefined }),
        data: fc.option(str, { nil: undefined }),
        events: fc.option(fc.array(fc.record({ eventId: str, data: fc.option(str, { nil: undefined }) }, { requiredKeys: ["eventId"] }), { maxLength: 3 }), { nil: undefined }),
        raw: str,
        binary: fc.option(fc.constant(true as const), { nil: undefined }),
      },
      // Optional fields absent, or present (possibly as undefined).
      { requiredKeys: ["seq", "ts", "dir", "transport", "channel", "conn", "clientId", "kind", "bytes", "raw"] },
    ) as fc.Arbitrary<FrameRecord>;
    fc.assert(
      fc.property(recordArb, (r) => {
        assert.equal(recordToJson(r), referenceJson(r));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("parseRecordLine: clear errors, never a throw", () => {
  const good = '{"seq":1,"ts":"2026-01-01T00:00:00.000Z","dir":"c2s","transport":"ws","channel":"ws","conn":"ws-1","clientId":null,"kind":"event","bytes":2,"raw":"[]"}';
  const cases: [string, RegExp][] = [
    ["not json", /^line 12: not JSON/],
    ["[1,2]", /^line 12: expected a JSON object/],
    ["", /^line 12: empty line/],
    [good.replace('"kind":"event"', '"kind":"nope"'), /^line 12: "kind" must be one of handshake, event/],
    [good.replace('"seq":1', '"seq":0'), /^line 12: "seq" must be an integer ≥ 1, got 0/],
    [good.replace('"seq":1,', ""), /^line 12: missing "seq"/],
    [good.replace('"2026-01-01T00:00:00.000Z"', '"yesterday"'), /"ts" must be an ISO 8601 time/],
    [good.replace('"raw":"[]"', '"raw":"@@@","binary":true'), /"raw" of a binary record must be base64/],
    [good.replace('"clientId":null', '"clientId":5'), /"clientId" must be a string or null/],
    [good.replace('"bytes":2', '"bytes":2,"flags":["weird"]'), /"flags" must be an array of unanswered, late/],
    [good.replace('"bytes":2', '"bytes":2,"error":{"code":1}'), /"error" must be/],
    [good.replace('"bytes":2', '"bytes":2,"events":[{"data":"1"}]'), /"events" must be/],
  ];
  for (const [line, want] of cases) {
    it(`${line.slice(0, 40)}… → ${want.source}`, () => {
      const r = parseRecordLine(line, 12);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, "CHSK_ERR_BAD_RECORD");
        assert.match(r.error.message, want);
        assert.equal(r.error.detail?.["line"], 12);
      }
    });
  }

  it("accepts CRLF lines and unknown fields; a missing clientId reads as null", () => {
    const r = parseRecordLine(good.replace('"clientId":null,', "").replace("}", ',"future":1}') + "\r");
    assert.ok(r.ok);
    assert.equal(r.value.clientId, null);
    assert.ok(!("future" in r.value));
  });

  it("parseRecordLines numbers lines from firstLine, skipping blanks", () => {
    const { records, errors } = parseRecordLines(`${good}\n\nbad\n${good}\n`, 10);
    assert.equal(records.length, 2);
    assert.deepEqual(
      errors.map((e) => e.detail?.["line"]),
      [12],
    );
  });

  it("property: any text, any JSON value → a result, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), fc.nat(), (line, n) => {
        const r = parseRecordLine(line, n + 1);
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the decoder never throws (fast-check)", () => {
  const packers = PACKER_NAMES.map((n) => packerByName(n));
  const bytesArb = fc.uint8Array({ maxLength: 64 });
  const payloadArb = fc.oneof(
    fc.string({ maxLength: 64 }),
    bytesArb,
    // Real frames of random values, random packers and cb ids.
    fc.tuple(fc.constantFrom(...packers), valueArb, fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.constant("ajax"))).map(([pk, v, cb]) => {
      try {
        return pk.pack([v, cb]);
      } catch {
        return encodeClientEvent(pk, ["my/ev"], null);
      }
    }),
    // Truncated and prefixed frames.
    fc.tuple(fc.constantFrom(...packers), valueArb, fc.nat(40), fc.constantFrom("", "+", "-")).map(([pk, v, cut, pre]) => {
      try {
        const w = pk.pack([[{ fqn: "x" }, v], null]);
        return typeof w === "string" ? pre + w.slice(0, cut) : w.subarray(0, cut);
      } catch {
        return pre;
      }
    }),
  );
  const str = fc.string({ maxLength: 6 });
  const eventArb: fc.Arbitrary<WireEvent> = fc.oneof(
    fc.record({
      type: fc.constant("frame" as const),
      at: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.constant(NaN), fc.constant(-1e20)),
      dir: fc.constantFrom("c2s" as const, "s2c" as const),
      transport: fc.constantFrom("ws" as const, "ajax" as const),
      channel: fc.constantFrom("ws" as const, "poll" as const, "post" as const, "post-reply" as const),
      connId: fc.constantFrom("a", "b", "c"),
      clientId: fc.option(str, { nil: undefined }),
      uid: fc.option(str, { nil: undefined }),
      data: payloadArb,
      status: fc.option(fc.constantFrom(200, 403, 500, 0), { nil: undefined }),
      bytes: fc.option(fc.nat(), { nil: undefined }),
      error: fc.option(fc.record({ code: str, message: str }), { nil: undefined }),
    }),
    fc.record({ type: fc.constant("open" as const), at: fc.nat(1e6), transport: fc.constantFrom("ws" as const, "ajax" as const), connId: fc.constantFrom("a", "b"), clientId: fc.option(str, { nil: undefined }), url: fc.option(str, { nil: undefined }) }),
    fc.record({ type: fc.constant("close" as const), at: fc.nat(1e6), transport: fc.constantFrom("ws" as const, "ajax" as const), connId: fc.constantFrom("a", "b"), code: fc.option(fc.nat(5000), { nil: undefined }), reason: fc.option(str, { nil: undefined }) }),
    fc.record({ type: fc.constant("refused" as const), at: fc.nat(1e6), transport: fc.constantFrom("ws" as const, "ajax" as const), connId: fc.constantFrom("a", "b"), status: fc.nat(600), body: str }),
    fc.anything().map((x) => x as WireEvent),
  ) as fc.Arbitrary<WireEvent>;

  it("random WireEvents: one record each, seq in order, JSONL round trip, summaries", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 30 }), fc.option(fc.constantFrom(...packers), { nil: undefined }), (events, packer) => {
        const model = createSessionModel();
        const d = createFrameDecoder({ packer, callTimeoutMs: 100, onUpdate: (r, c) => model.update(r, c) });
        let seq = 1;
        for (const e of events) {
          const r = d.push(e);
          assert.equal(r.seq, seq++);
          model.add(r);
          const back = parseRecordLine(recordToJson(r));
          assert.ok(back.ok, back.ok ? "" : back.error.message);
          recordToWireEvent(back.value);
        }
        d.flush(2e6);
        model.conns();
        model.users();
      }),
      { numRuns: 500 },
    );
  });
});

describe("helpers", () => {
  it("base64 round trips every length and rejects non-base64", () => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      assert.equal(toBase64(b), Buffer.from(b).toString("base64"));
      assert.deepEqual(fromBase64(toBase64(b)), b);
    }
    for (const bad of ["abc", "ab=c", "a b=", "é123"]) assert.equal(fromBase64(bad), undefined, bad);
  });

  it("showEdn writes what EDN has no literal for as tagged values", () => {
    assert.equal(showEdn({ a: 1 }), "{:a 1}");
    assert.equal(showEdn(new Uint8Array([1, 2])), '#chsk/bytes "AQI="');
    assert.equal(showEdn([new MsgpackExt(42, new Uint8Array([7]))]), '[#msgpack/ext [42 "Bw=="]]');
    assert.match(showEdn({ f: () => 1 }), /^\{:f #object "\(\) ?=> ?1"\}$/);
  });
});
