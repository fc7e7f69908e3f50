/**
 * The recording format (`--record FILE.jsonl`, `--replay FILE.jsonl`): one
 * {@link FrameRecord} per line, as JSON, keys in a fixed order. The reader
 * validates every field and reports the line number; it never throws. A
 * record turns back into the {@link WireEvent} it came from, so a replay
 * re-decodes the raw frames (with another packer, another timeout…).
 */
import { ChskError, err, ok, type Result } from "../protocol/errors.js";
import { fromBase64 } from "./base64.js";
import type { Direction, FrameFlag, FrameKind, FrameRecord, WireChannel, WireEvent, WireTransport } from "./types.js";
import { utf8Length } from "./utf8.js";

/**
 * One record as one line of JSON (no newline), keys in the README's order,
 * absent fields left out.
 */
export function recordToJson(r: FrameRecord): string {
  // Not a key-list replacer: that takes JSON.stringify off its fast path (~4x slower, and this runs
  // per frame in a proxy). A literal orders the keys (insertion order), and undefined ones are
  // left out as if absent; nested objects are rebuilt so that only their own keys are written.
  return JSON.stringify({
    seq: r.seq,
    ts: r.ts,
    dir: r.dir,
    transport: r.transport,
    channel: r.channel,
    conn: r.conn,
    exchange: r.exchange,
    clientId: r.clientId,
    uid: r.uid,
    kind: r.kind,
    eventId: r.eventId,
    cbId: r.cbId,
    latencyMs: r.latencyMs,
    pair: r.pair,
    prev: r.prev,
    flags: r.flags,
    status: r.status,
    bytes: r.bytes,
    packer: r.packer,
    envelope: r.envelope,
    url: r.url,
    requestTs: r.requestTs,
    error: r.error === undefined ? undefined : { code: r.error.code, message: r.error.message },
    data: r.data,
    events: r.events?.map((e) => ({ eventId: e.eventId, data: e.data })),
    raw: r.raw,
    binary: r.binary,
  });
}

const DIRS: readonly Direction[] = ["c2s", "s2c"];
const TRANSPORTS: readonly WireTransport[] = ["ws", "ajax"];
const CHANNELS: readonly WireChannel[] = ["ws", "poll", "post", "post-reply"];
const KINDS: readonly FrameKind[] = ["handshake", "event", "push", "reply", "ping", "pong", "timeout", "dummy", "bad", "open", "close", "refused"];
const FLAGS: readonly FrameFlag[] = ["unanswered", "late", "orphan", "missed-pong", "reconnect"];
const ENVELOPES = ["1.21", "1.18", "1.17"] as const;

/** A field that is wrong: thrown inside the reader only, caught in {@link parseRecordLine}. */
class Invalid {
  constructor(readonly message: string) {}
}

const show = (x: unknown): string => {
  const s = JSON.stringify(x);
  return s === undefined ? String(x) : s.length > 40 ? `${s.slice(0, 39)}…` : s;
};

function req<T>(o: Record<string, unknown>, k: string, check: (x: unknown) => x is T, want: string): T {
  const v = o[k];
  if (v === undefined) throw new Invalid(`missing "${k}" (${want})`);
  if (!check(v)) throw new Invalid(`"${k}" must be ${want}, got ${show(v)}`);
  return v;
}

function opt<T>(o: Record<string, unknown>, k: string, check: (x: unknown) => x is T, want: string): T | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!check(v)) throw new Invalid(`"${k}" must be ${want}, got ${show(v)}`);
  return v;
}

const isString = (x: unknown): x is string => typeof x === "string";
const isNonEmpty = (x: unknown): x is string => typeof x === "string" && x !== "";
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isSeq = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
const isMs = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (x: unknown): x is T =>
    typeof x === "string" && (values as readonly string[]).includes(x);
const list = (values: readonly string[]) => `one of ${values.join(", ")}`;
const isTs = (x: unknown): x is string => typeof x === "string" && Number.isFinite(parseTs(x));
const isDir = oneOf(DIRS);
const isTransport = oneOf(TRANSPORTS);
const isChannel = oneOf(CHANNELS);
const isKind = oneOf(KINDS);
const isEnvelope = oneOf(ENVELOPES);
const isFlag = oneOf(FLAGS);
const isStringOrNull = (x: unknown): x is string | null => x === null || typeof x === "string";
const isFlags = (x: unknown): x is FrameFlag[] => Array.isArray(x) && x.every(isFlag);
const isBool = (x: unknown): x is boolean => typeof x === "boolean";
const isError = (x: unknown): x is { code: string; message: string } =>
  typeof x === "object" && x !== null && typeof (x as { code?: unknown }).code === "string" && typeof (x as { message?: unknown }).message === "string";
const isEvent = (e: unknown): boolean =>
  typeof e === "object" &&
  e !== null &&
  typeof (e as { eventId?: unknown }).eventId === "string" &&
  ((e as { data?: unknown }).data === undefined || typeof (e as { data?: unknown }).data === "string");
const isEvents = (x: unknown): x is { eventId: string; data?: string }[] => Array.isArray(x) && x.every(isEvent);
const DIRS_WANT = list(DIRS);
const TRANSPORTS_WANT = list(TRANSPORTS);
const CHANNELS_WANT = list(CHANNELS);
const KINDS_WANT = list(KINDS);
const ENVELOPES_WANT = list(ENVELOPES);
const FLAGS_WANT = `an array of ${FLAGS.join(", ")}`;

let lastPrefix = "";
let lastBase = NaN;

/**
 * `Date.parse` for the recording's own `…T12:34:56.789Z` form, fast: lines
 * of one second share their first 19 characters. Any other form goes to
 * `Date.parse`.
 */
export function parseTs(ts: string): number {
  if (ts.length === 24 && ts.charCodeAt(19) === 0x2e && ts.charCodeAt(23) === 0x5a) {
    const ms = (ts.charCodeAt(20) - 48) * 100 + (ts.charCodeAt(21) - 48) * 10 + (ts.charCodeAt(22) - 48);
    if (ms >= 0 && ms <= 999) {
      const prefix = ts.slice(0, 19);
      if (prefix !== lastPrefix) {
        const base = Date.parse(`${prefix}.000Z`);
        if (!Number.isFinite(base)) return Date.parse(ts);
        lastPrefix = prefix;
        lastBase = base;
      }
      return lastBase + ms;
    }
  }
  return Date.parse(ts);
}

function readRecord(o: Record<string, unknown>): FrameRecord {
  const r: FrameRecord = {
    seq: req(o, "seq", isSeq, "an integer ≥ 1"),
    ts: req(o, "ts", isTs, "an ISO 8601 time"),
    dir: req(o, "dir", isDir, DIRS_WANT),
    transport: req(o, "transport", isTransport, TRANSPORTS_WANT),
    channel: req(o, "channel", isChannel, CHANNELS_WANT),
    conn: req(o, "conn", isNonEmpty, "a non-empty string"),
    clientId: o["clientId"] === undefined ? null : req(o, "clientId", isStringOrNull, "a string or null"),
    kind: req(o, "kind", isKind, KINDS_WANT),
    bytes: req(o, "bytes", isCount, "an integer ≥ 0"),
    raw: req(o, "raw", isString, "a string"),
  };
  const exchange = opt(o, "exchange", isString, "a string");
  if (exchange !== undefined) r.exchange = exchange;
  const uid = opt(o, "uid", isString, "EDN text");
  if (uid !== undefined) r.uid = uid;
  const eventId = opt(o, "eventId", isString, "a string");
  if (eventId !== undefined) r.eventId = eventId;
  if (o["cbId"] !== undefined) r.cbId = req(o, "cbId", isStringOrNull, "a string or null");
  const latencyMs = opt(o, "latencyMs", isMs, "a number of ms ≥ 0");
  if (latencyMs !== undefined) r.latencyMs = latencyMs;
  const pair = opt(o, "pair", isSeq, "a seq (integer ≥ 1)");
  if (pair !== undefined) r.pair = pair;
  const prev = opt(o, "prev", isSeq, "a seq (integer ≥ 1)");
  if (prev !== undefined) r.prev = prev;
  const flags = opt(o, "flags", isFlags, FLAGS_WANT);
  if (flags !== undefined && flags.length > 0) r.flags = [...flags];
  const status = opt(o, "status", isCount, "an integer ≥ 0");
  if (status !== undefined) r.status = status;
  const packer = opt(o, "packer", isString, "a packer name");
  if (packer !== undefined) r.packer = packer;
  const envelope = opt(o, "envelope", isEnvelope, ENVELOPES_WANT);
  if (envelope !== undefined) r.envelope = envelope;
  const url = opt(o, "url", isString, "a string");
  if (url !== undefined) r.url = url;
  const requestTs = opt(o, "requestTs", isString, "an ISO 8601 time");
  if (requestTs !== undefined) r.requestTs = requestTs;
  const error = opt(o, "error", isError, '{"code": string, "message": string}');
  if (error !== undefined) r.error = { code: error.code, message: error.message };
  const data = opt(o, "data", isString, "EDN text");
  if (data !== undefined) r.data = data;
  const events = opt(o, "events", isEvents, '[{"eventId": string, "data"?: EDN text}]');
  if (events !== undefined) r.events = events.map((e) => (e.data === undefined ? { eventId: e.eventId } : { eventId: e.eventId, data: e.data }));
  const binary = opt(o, "binary", isBool, "true");
  if (binary === true) {
    if (fromBase64(r.raw) === undefined) throw new Invalid(`"raw" of a binary record must be base64, got ${show(r.raw)}`);
    r.binary = true;
  }
  return r;
}

/**
 * One line of a recording, validated. `lineNo` (from 1) goes into the error
 * message and its `detail.line`. Unknown fields are ignored (newer
 * recordings stay readable). Never throws: a bad line is an error result
 * with code `CHSK_ERR_BAD_RECORD`.
 */
export function parseRecordLine(line: string, lineNo = 1): Result<FrameRecord, ChskError> {
  const fail = (message: string) => err(new ChskError("CHSK_ERR_BAD_RECORD", `line ${lineNo}: ${message}`, { detail: { line: lineNo } }));
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.trim() === "") return fail("empty line");
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return fail(`expected a JSON object, got ${show(o)}`);
  try {
    return ok(readRecord(o as Record<string, unknown>));
  } catch (e) {
    if (e instanceof Invalid) return fail(e.message);
    return fail(String(e));
  }
}

/**
 * A whole recording: every valid record, and an error per bad line (blank
 * lines are skipped). `firstLine` numbers the lines of a chunk read from
 * the middle of a file.
 */
export function parseRecordLines(text: string, firstLine = 1): { records: FrameRecord[]; errors: ChskError[] } {
  const records: FrameRecord[] = [];
  const errors: ChskError[] = [];
  let start = 0;
  let n = firstLine;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    if (line.trim() !== "") {
      const r = parseRecordLine(line, n);
      if (r.ok) records.push(r.value);
      else errors.push(r.error);
    }
    n++;
    start = end + 1;
  }
  return { records, errors };
}

/**
 * The {@link WireEvent} a record was decoded from, so a replay re-decodes
 * the raw frame. The source's connection id is the record's `exchange`
 * (Ajax) or `conn` (WS). A `bad` record whose payload the source could not
 * capture (its `raw` is empty or shorter than `bytes`) keeps its error.
 */
export function recordToWireEvent(r: FrameRecord): WireEvent {
  const at = parseTs(r.ts);
  const connId = r.exchange ?? r.conn;
  const base = r.clientId === null ? { at, transport: r.transport, connId } : { at, transport: r.transport, connId, clientId: r.clientId };
  switch (r.kind) {
    case "open": {
      const ev: WireEvent = { type: "open", ...base };
      if (r.uid !== undefined) ev.uid = r.uid;
      if (r.url !== undefined) ev.url = r.url;
      return ev;
    }
    case "close": {
      const ev: WireEvent = { type: "close", ...base, dir: r.dir };
      if (r.uid !== undefined) ev.uid = r.uid;
      if (r.status !== undefined) ev.code = r.status;
      if (r.error !== undefined && r.error.message !== "") ev.reason = r.error.message;
      return ev;
    }
    case "refused": {
      const ev: WireEvent = { type: "refused", ...base, status: r.status ?? 0, body: r.raw };
      if (r.error !== undefined) ev.code = r.error.code;
      return ev;
    }
    default: {
      const data = r.binary === true ? (fromBase64(r.raw) ?? new Uint8Array(0)) : r.raw;
      const ev: WireEvent = { type: "frame", ...base, dir: r.dir, channel: r.channel, data };
      if (r.uid !== undefined) ev.uid = r.uid;
      if (r.status !== undefined) ev.status = r.status;
      if (r.requestTs !== undefined) {
        const requestAt = Date.parse(r.requestTs);
        if (Number.isFinite(requestAt)) ev.requestAt = requestAt;
      }
      if (r.kind === "handshake" && r.channel === "poll") ev.handshake = true;
      const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
      if (r.bytes !== size) ev.bytes = r.bytes;
      if (r.kind === "bad" && r.error !== undefined && (size === 0 || size < r.bytes)) ev.error = { ...r.error };
      return ev;
    }
  }
}
