/**
 * Reads what Sente's packers write (`taoensso.msgpack` on the JVM and in
 * ClojureScript, captured-frames §15) into the value model of
 * `core/edn/values.ts`:
 *
 * | msgpack                               | TypeScript                                            |
 * |---------------------------------------|-------------------------------------------------------|
 * | nil, true, false, str                 | `null`, `true`, `false`, `string`                     |
 * | int (any width), `cf` below 2^63      | `number`, or `bigint` beyond ±(2^53-1)                |
 * | `cf` at or above 2^63                 | `bigint` (writing it back throws, as in Sente)        |
 * | `ca` / `cb`                           | `number`; {@link Double} if integral (so it stays `cb`) |
 * | bin                                   | `Uint8Array` (a copy)                                 |
 * | array                                 | `Array`                                               |
 * | map, every key a keyword              | plain object                                          |
 * | map, any other key                    | `Map`                                                 |
 * | ext 0 / 1 / 2                         | {@link Keyword} / {@link Sym} / {@link Char}          |
 * | ext 3                                 | {@link Ratio} (reduced, as Clojure's `/` does; an integer if whole) |
 * | ext 4                                 | {@link EdnSet}                                        |
 * | ext 5 / 6 / 7 (big-endian)            | `Int32Array` / `Float32Array` / `Float64Array`        |
 * | ext 8                                 | the cached map key it names (`null` if none)          |
 * | ext 9                                 | {@link Uuid}                                          |
 * | ext -1 (12-byte; also 4- and 8-byte)  | `Date`, or {@link Instant} when it has sub-ms nanos   |
 * | any other ext                         | {@link MsgpackExt} (written back unchanged)           |
 *
 * Like Sente, the reader reads one value and ignores the bytes after it,
 * decodes strings leniently (invalid UTF-8 becomes U+FFFD) and lets a
 * repeated map key win over an earlier one. It never allocates more than the
 * input can hold: every declared length is checked against the bytes left.
 */
import * as values from "../edn/values.js";
import { type ChskErrorCode, ChskError, err, ok, type Result } from "../protocol/errors.js";
import { KEY_CACHE_SIZE, MsgpackExt as MsgpackExtClass, SenteExt } from "./msgpack-ext.js";

// Module-local copies of the imports used per value: under a CommonJS
// transform (tsx, bundlers' interop) every use of an imported binding is a
// getter call, which cost ~25% of decoding time.
const { Char, double, EdnSet, Instant, Keyword, kw, Ratio, sym, Uuid } = values;
const MsgpackExt = MsgpackExtClass;
const MAX_KEYS = KEY_CACHE_SIZE;
const EXT_KEYWORD = SenteExt.keyword;
const EXT_SYMBOL = SenteExt.symbol;
const EXT_CHAR = SenteExt.char;
const EXT_RATIO = SenteExt.ratio;
const EXT_SET = SenteExt.set;
const EXT_INT32S = SenteExt.int32Array;
const EXT_FLOAT32S = SenteExt.float32Array;
const EXT_FLOAT64S = SenteExt.float64Array;
const EXT_CACHED_KEY = SenteExt.cachedKey;
const EXT_UUID = SenteExt.uuid;
const EXT_TIMESTAMP = SenteExt.timestamp;

/** Thrown inside the reader only; `readMsgpack` turns it into an error result. */
class Fail {
  constructor(
    readonly code: ChskErrorCode,
    readonly message: string,
    readonly offset: number,
  ) {}
}

const TWO_32 = 4294967296;
const MAX_DATE_MS = 8.64e15;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PROTO_KEY = "__proto__";
const EMPTY: Uint8Array = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

// Reader state: a read is synchronous and calls no user code, so one set of
// module variables serves every packer.
let bytes = EMPTY;
let view: DataView = EMPTY_VIEW;
let pos = 0;
let end = 0;
let maxDepth = 64;
const keys: unknown[] = [];
let nKeys = 0;
/** Set by an ext 8, so the map reader doesn't number a cached key again. */
let cachedHit = false;
/** Pending map keys and values of the maps being read (one region per open map). */
const stack: unknown[] = [];
let sp = 0;
/** How much of `stack` this message used (cleared afterwards, not shrunk). */
let stackUsed = 0;
let decoder: TextDecoder | undefined;

function fail(message: string, at = pos, code: ChskErrorCode = "CHSK_ERR_UNPACK"): never {
  throw new Fail(code, message, at);
}

function truncated(): never {
  return fail("truncated msgpack: a length runs past the end of the input");
}

function need(n: number): void {
  if (n > end - pos) truncated();
}

/**
 * Reads the first MessagePack value in `data`, in Sente's dialect.
 * Malformed or truncated input → `CHSK_ERR_UNPACK`; nesting deeper than
 * `depthLimit` → `CHSK_ERR_EDN_DEPTH`. Never throws.
 */
export function readMsgpack(data: Uint8Array, depthLimit: number): Result<unknown> {
  bytes = data;
  view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  pos = 0;
  end = data.byteLength;
  maxDepth = depthLimit;
  nKeys = 0;
  sp = 0;
  try {
    return ok(read(0));
  } catch (e) {
    if (e instanceof Fail) {
      const detail: Record<string, unknown> = { offset: e.offset };
      if (e.code === "CHSK_ERR_EDN_DEPTH") detail["maxDepth"] = depthLimit;
      return err(new ChskError(e.code, e.message, { detail }));
    }
    // A stack overflow from an absurd maxDepth, or a bug: still an error result.
    return err(new ChskError("CHSK_ERR_UNPACK", `unreadable msgpack: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
  } finally {
    // Don't pin the caller's buffer or the last message's values.
    bytes = EMPTY;
    view = EMPTY_VIEW;
    keys.fill(undefined, 0, nKeys);
    stack.fill(undefined, 0, Math.max(stackUsed, sp));
    stackUsed = 0;
  }
}

function read(depth: number): unknown {
  if (pos >= end) truncated();
  const b = bytes[pos++]!;
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b < 0x90) return readMap(b & 0x0f, depth);
  if (b < 0xa0) return readArray(b & 0x0f, depth);
  if (b < 0xc0) return readStr(b & 0x1f);
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(u8());
    case 0xc5:
      return readBin(u16());
    case 0xc6:
      return readBin(u32());
    case 0xc7:
      return readExt(u8(), depth);
    case 0xc8:
      return readExt(u16(), depth);
    case 0xc9:
      return readExt(u32(), depth);
    case 0xca: {
      need(4);
      const x = view.getFloat32(pos);
      pos += 4;
      return float(x);
    }
    case 0xcb: {
      need(8);
      const x = view.getFloat64(pos);
      pos += 8;
      return float(x);
    }
    case 0xcc:
      return u8();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xcf:
      return readUint64();
    case 0xd0:
      need(1);
      return view.getInt8(pos++);
    case 0xd1: {
      need(2);
      const x = view.getInt16(pos);
      pos += 2;
      return x;
    }
    case 0xd2: {
      need(4);
      const x = view.getInt32(pos);
      pos += 4;
      return x;
    }
    case 0xd3:
      return readInt64();
    case 0xd4:
      return readExt(1, depth);
    case 0xd5:
      return readExt(2, depth);
    case 0xd6:
      return readExt(4, depth);
    case 0xd7:
      return readExt(8, depth);
    case 0xd8:
      return readExt(16, depth);
    case 0xd9:
      return readStr(u8());
    case 0xda:
      return readStr(u16());
    case 0xdb:
      return readStr(u32());
    case 0xdc:
      return readArray(u16(), depth);
    case 0xdd:
      return readArray(u32(), depth);
    case 0xde:
      return readMap(u16(), depth);
    case 0xdf:
      return readMap(u32(), depth);
    default:
      return fail("byte 0xc1 is never used in msgpack", pos - 1);
  }
}

function u8(): number {
  need(1);
  return bytes[pos++]!;
}

function u16(): number {
  need(2);
  const x = view.getUint16(pos);
  pos += 2;
  return x;
}

function u32(): number {
  need(4);
  const x = view.getUint32(pos);
  pos += 4;
  return x;
}

// An integral float stays a Double so that it is written back as a float.
const float = (x: number): unknown => (Number.isInteger(x) ? double(x) : x);

function readInt64(): number | bigint {
  need(8);
  const hi = view.getInt32(pos);
  const lo = view.getUint32(pos + 4);
  const n = hi * TWO_32 + lo;
  if (Number.isSafeInteger(n)) {
    pos += 8;
    return n;
  }
  const x = view.getBigInt64(pos);
  pos += 8;
  return x;
}

function readUint64(): number | bigint {
  need(8);
  const n = view.getUint32(pos) * TWO_32 + view.getUint32(pos + 4);
  if (Number.isSafeInteger(n)) {
    pos += 8;
    return n;
  }
  const x = view.getBigUint64(pos);
  pos += 8;
  return x;
}

function readStr(n: number): string {
  need(n);
  const start = pos;
  pos += n;
  return text(start, n);
}

/** UTF-8 text of `n` bytes at `start`, decoded as the JVM and TextDecoder do (U+FFFD for bad bytes). */
function text(start: number, n: number): string {
  if (n < 24) {
    // Short ASCII (keys, keywords, ids) is most of what travels.
    let s = "";
    let i = start;
    const stop = start + n;
    for (; i < stop; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === stop) return s;
  }
  // ignoreBOM: a leading U+FEFF is part of the string, as on the JVM.
  decoder ??= new TextDecoder("utf-8", { ignoreBOM: true });
  return decoder.decode(bytes.subarray(start, start + n));
}

/** A plain Uint8Array copy (a Buffer's `slice` would be a view of the input). */
function copyOf(start: number, n: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, start + n));
}

// The keywords of an app repeat in every message: a small table of recent
// ones, found by a hash of their bytes and checked byte for byte, saves
// decoding the text and the intern lookup.
const RECENT_KEYWORD_BYTES = 24;
const RECENT_SLOTS = 512;
const recentBytes: (Uint8Array | undefined)[] = new Array(RECENT_SLOTS);
const recentKeywords: (values.Keyword | undefined)[] = new Array(RECENT_SLOTS);

function recentKeyword(start: number, n: number): values.Keyword {
  let h = n;
  for (let i = start, stop = start + n; i < stop; i++) h = (Math.imul(h, 31) + bytes[i]!) | 0;
  const slot = (h ^ (h >>> 9)) & (RECENT_SLOTS - 1);
  const known = recentBytes[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known[i] === bytes[start + i]) i++;
    if (i === n) return recentKeywords[slot]!;
  }
  const k = kw(text(start, n));
  recentBytes[slot] = copyOf(start, n);
  recentKeywords[slot] = k;
  return k;
}

function readBin(n: number): Uint8Array {
  need(n);
  const b = copyOf(pos, n);
  pos += n;
  return b;
}

function enter(depth: number): number {
  if (depth >= maxDepth) fail(`msgpack nested deeper than maxDepth ${maxDepth}`, pos - 1, "CHSK_ERR_EDN_DEPTH");
  return depth + 1;
}

function readArray(n: number, depth: number): unknown[] {
  // Every element takes at least one byte.
  need(n);
  const d = enter(depth);
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) a[i] = read(d);
  return a;
}

function readMap(n: number, depth: number): unknown {
  if (n > (end - pos) / 2) truncated();
  const d = enter(depth);
  const base = sp;
  let allKeywords = true;
  for (let i = 0; i < n; i++) {
    cachedHit = false;
    const k = read(d);
    // Sente numbers each keyword or string key read in full (not a cached
    // one), in read order, while fewer than 256 are known.
    if (!cachedHit && (typeof k === "string" || k instanceof Keyword) && nKeys < MAX_KEYS) keys[nKeys++] = k;
    if (allKeywords && !(k instanceof Keyword)) allKeywords = false;
    const v = read(d);
    stack[sp++] = k;
    stack[sp++] = v;
  }
  const top = sp;
  if (top > stackUsed) stackUsed = top;
  sp = base;
  if (allKeywords) {
    const o: Record<string, unknown> = {};
    for (let i = base; i < top; i += 2) {
      const key = (stack[i] as values.Keyword).fqn;
      if (key === PROTO_KEY) {
        // Plain assignment would replace the prototype instead.
        Object.defineProperty(o, PROTO_KEY, { value: stack[i + 1], writable: true, enumerable: true, configurable: true });
      } else o[key] = stack[i + 1];
    }
    return o;
  }
  const m = new Map<unknown, unknown>();
  for (let i = base; i < top; i += 2) m.set(stack[i], stack[i + 1]);
  return m;
}

function readExt(n: number, depth: number): unknown {
  need(n + 1);
  const type = view.getInt8(pos);
  const start = pos + 1;
  pos = start + n;
  switch (type) {
    case EXT_KEYWORD:
      return n <= RECENT_KEYWORD_BYTES ? recentKeyword(start, n) : kw(text(start, n));
    case EXT_SYMBOL:
      return sym(text(start, n));
    case EXT_CHAR:
      return readChar(start, n);
    case EXT_RATIO:
      return readWithin(start, n, depth, EXT_RATIO);
    case EXT_SET:
      return readWithin(start, n, depth, EXT_SET);
    case EXT_INT32S:
    case EXT_FLOAT32S:
    case EXT_FLOAT64S:
      return readNumberArray(type, start, n);
    case EXT_CACHED_KEY: {
      if (n < 1) fail("empty cached-key ext", start - 2);
      cachedHit = true;
      const i = bytes[start]!;
      return i < nKeys ? keys[i] : null;
    }
    case EXT_UUID: {
      const s = text(start, n);
      if (!UUID_RE.test(s)) fail(`invalid UUID ext ${JSON.stringify(s.slice(0, 40))}`, start);
      return new Uuid(s);
    }
    case EXT_TIMESTAMP:
      return readTimestamp(start, n);
    default:
      return new MsgpackExt(type, copyOf(start, n));
  }
}

/** Reads a set or ratio inside its ext payload as if it were the whole input, then resumes after it. */
function readWithin(start: number, n: number, depth: number, type: number): unknown {
  const outerEnd = end;
  end = start + n;
  pos = start;
  const v = type === EXT_SET ? readSet(depth) : readRatio(depth);
  // Sente reads what it needs from the payload and ignores the rest.
  end = outerEnd;
  pos = start + n;
  return v;
}

function readChar(start: number, n: number): values.Char {
  const s = text(start, n);
  const cp = s.codePointAt(0);
  if (cp === undefined) fail("empty char ext", start);
  return new Char(String.fromCodePoint(cp));
}

function readSet(depth: number): values.EdnSet<unknown> {
  const d = enter(depth);
  if (pos >= end) truncated();
  const b = bytes[pos++]!;
  const n = b >= 0x90 && b <= 0x9f ? b & 0x0f : b === 0xdc ? u16() : b === 0xdd ? u32() : fail("set ext payload is not an array", pos - 1);
  need(n);
  const s = new EdnSet<unknown>();
  for (let i = 0; i < n; i++) s.add(read(d));
  return s;
}

function toBigInt(x: unknown): bigint {
  if (typeof x === "bigint") return x;
  if (typeof x === "number" && Number.isInteger(x)) return BigInt(x);
  return fail("ratio ext holds a non-integer");
}

/** Clojure's `(/ n d)`: reduced, sign on the numerator, a whole result is an integer. */
function readRatio(depth: number): unknown {
  const d = enter(depth);
  let num = toBigInt(read(d));
  let den = toBigInt(read(d));
  if (den === 0n) fail("ratio ext with a zero denominator");
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  let a = num < 0n ? -num : num;
  let b = den;
  while (b !== 0n) [a, b] = [b, a % b];
  if (a > 1n) {
    num /= a;
    den /= a;
  }
  if (den === 1n) {
    const small = Number(num);
    return Number.isSafeInteger(small) ? small : num;
  }
  return new Ratio(num, den);
}

/** Big-endian, as the JVM writes them; a partial trailing element is ignored, as there. */
function readNumberArray(type: number, start: number, n: number): Int32Array | Float32Array | Float64Array {
  if (type === EXT_FLOAT64S) {
    const a = new Float64Array(Math.floor(n / 8));
    for (let i = 0; i < a.length; i++) a[i] = view.getFloat64(start + i * 8);
    return a;
  }
  const a = type === EXT_INT32S ? new Int32Array(Math.floor(n / 4)) : new Float32Array(Math.floor(n / 4));
  if (a instanceof Int32Array) for (let i = 0; i < a.length; i++) a[i] = view.getInt32(start + i * 4);
  else for (let i = 0; i < a.length; i++) a[i] = view.getFloat32(start + i * 4);
  return a;
}

/**
 * Sente writes 12 bytes (u32 nanos, i64 seconds) and reads the first 12;
 * the standard 4- and 8-byte forms are read too. An instant a JS Date can't
 * hold stays an opaque ext, so it is still written back unchanged.
 */
function readTimestamp(start: number, n: number): unknown {
  let secs: number;
  let nanos: number;
  if (n >= 12) {
    // The JVM reads the nanos as a signed int and normalises (Instant.ofEpochSecond).
    nanos = view.getInt32(start);
    secs = view.getInt32(start + 4) * TWO_32 + view.getUint32(start + 8);
  } else if (n === 8) {
    const hi = view.getUint32(start);
    nanos = hi >>> 2;
    secs = (hi & 3) * TWO_32 + view.getUint32(start + 4);
  } else if (n === 4) {
    nanos = 0;
    secs = view.getUint32(start);
  } else {
    return fail(`timestamp ext of ${n} bytes`, start);
  }
  secs += Math.floor(nanos / 1e9);
  nanos = ((nanos % 1e9) + 1e9) % 1e9;
  const ms = secs * 1000 + Math.floor(nanos / 1e6);
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return new MsgpackExt(EXT_TIMESTAMP, copyOf(start, n));
  return nanos % 1e6 === 0 ? new Date(ms) : new Instant(secs, nanos);
}
