/**
 * Writes values the way Sente's JVM server does (`taoensso.msgpack`, see
 * captured-frames §15), so chsk's frames are byte-identical to a Sente
 * server's:
 *
 * - integers take the smallest form, except that a positive value above
 *   `0xffffffff` is `d3` (int64), never `cf`; a `bigint` beyond int64 throws;
 * - every non-integral number, {@link Double}, `NaN`/`±Infinity` and
 *   {@link BigDec} is a float64 `cb` (the JVM writes Double and BigDecimal so;
 *   ClojureScript would pick `ca` where float32 is exact);
 * - a plain JS number beyond ±(2^53-1) is the double it is (as in EDN);
 * - ext headers use fixext for 1/2/4/8/16-byte payloads, else ext8/16/32;
 * - map keys: the first 256 distinct keyword or string keys of the message
 *   are numbered in write order and repeats are written `d4 08 NN`, keys
 *   inside sets included (Sente's packer shares one cache per message).
 *
 * A plain object's key is written as a keyword when it reads back as one in
 * EDN (`isKeywordText`), else as a string, so both packers hand a Clojure
 * peer the same map.
 */
import * as values from "../edn/values.js";
import { isKeywordText as isKeywordTextFn, MAX_WRITE_DEPTH } from "../edn/writer.js";
import { ChskError } from "../protocol/errors.js";
import { KEY_CACHE_SIZE, MsgpackExt as MsgpackExtClass, SenteExt } from "./msgpack-ext.js";

// Module-local copies of the imports used per value: under a CommonJS
// transform (tsx, bundlers' interop) every use of an imported binding is a
// getter call.
const { BigDec, Char, Double, Instant, Keyword, Ratio, Sym, Tagged, Uuid } = values;
const MsgpackExt = MsgpackExtClass;
const isKeywordText = isKeywordTextFn;
const MAX_DEPTH = MAX_WRITE_DEPTH;
const MAX_KEYS = KEY_CACHE_SIZE;
const EXT_KEYWORD = SenteExt.keyword;
const EXT_SYMBOL = SenteExt.symbol;
const EXT_CHAR = SenteExt.char;
const EXT_RATIO = SenteExt.ratio;
const EXT_SET = SenteExt.set;
const EXT_CACHED_KEY = SenteExt.cachedKey;
const EXT_UUID = SenteExt.uuid;

const INITIAL_BYTES = 4096;
// A buffer grown for one huge message is dropped afterwards, not kept forever.
const KEEP_BYTES = 1024 * 1024;
const TWO_32 = 4294967296;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const OBJECT_PROTO: unknown = Object.prototype;
const ARRAY_PROTO: unknown = Array.prototype;
const KEYWORD_PROTO: unknown = Keyword.prototype;
const MAP_PROTO: unknown = Map.prototype;
const hasOwn = Object.prototype.hasOwnProperty;
// fixext1/2/4/8/16 by payload length.
const FIXEXT: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };

/**
 * What the writers keep per keyword and per map key across messages: its
 * encoding, and which message last numbered it for Sente's key cache (so
 * that numbering a key costs one Map lookup, not three). Keyword and
 * string keys are apart, as in Sente (`:a` and `"a"` are different keys).
 */
interface KeyEntry {
  /** A keyword's whole ext, or a string's whole msgpack str. */
  readonly bytes: Uint8Array;
  /** The message (writer generation) that last numbered the key, and its number there. */
  gen: number;
  idx: number;
}
const keywordEntries = new Map<string, KeyEntry>();
const stringEntries = new Map<string, KeyEntry>();
/** A plain-object key → the keyword's entry if it is keyword text (as in EDN), else the string's. */
const objectKeyEntries = new Map<string, KeyEntry>();
/** Bounded, because keys can be data (ids); trimmed between messages only. */
const CACHE_MAX = 4096;
/** Longer keys and keywords are encoded each time rather than kept. */
const CACHEABLE_LENGTH = 64;
let generation = 0;
let textEncoder: TextEncoder | undefined;

function newEntry(text: string, keyword: boolean): KeyEntry {
  const utf8 = (textEncoder ??= new TextEncoder()).encode(text);
  const n = utf8.length;
  let h: number;
  if (keyword) h = n === 1 || n === 2 || n === 4 || n === 8 || n === 16 ? 2 : n <= 0xff ? 3 : 4;
  else h = n < 32 ? 1 : n < 0x100 ? 2 : 3;
  const b = new Uint8Array(h + n);
  if (keyword) {
    if (h === 2) b[0] = FIXEXT[n]!;
    else if (h === 3) (b[0] = 0xc7), (b[1] = n);
    else (b[0] = 0xc8), (b[1] = n >> 8), (b[2] = n & 0xff);
    b[h - 1] = EXT_KEYWORD;
  } else if (h === 1) b[0] = 0xa0 | n;
  else if (h === 2) (b[0] = 0xd9), (b[1] = n);
  else (b[0] = 0xda), (b[1] = n >> 8), (b[2] = n & 0xff);
  b.set(utf8, h);
  return { bytes: b, gen: 0, idx: 0 };
}

function keywordEntry(fqn: string): KeyEntry {
  let e = keywordEntries.get(fqn);
  if (e === undefined) keywordEntries.set(fqn, (e = newEntry(fqn, true)));
  return e;
}

function stringEntry(s: string): KeyEntry {
  let e = stringEntries.get(s);
  if (e === undefined) stringEntries.set(s, (e = newEntry(s, false)));
  return e;
}

function objectKeyEntry(k: string): KeyEntry {
  let e = objectKeyEntries.get(k);
  if (e === undefined) objectKeyEntries.set(k, (e = isKeywordText(k) ? keywordEntry(k) : stringEntry(k)));
  return e;
}

function trimCaches(): void {
  if (keywordEntries.size > CACHE_MAX || stringEntries.size > CACHE_MAX || objectKeyEntries.size > CACHE_MAX) {
    keywordEntries.clear();
    stringEntries.clear();
    objectKeyEntries.clear();
  }
}

function unsupported(what: string): never {
  throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write ${what} as msgpack`);
}

/**
 * A writer with its own buffer: `(value) => bytes`. The returned bytes are a
 * fresh copy the caller owns. Re-entrant calls (a getter in the value that
 * packs again) get a writer of their own.
 *
 * @throws ChskError `CHSK_ERR_UNSUPPORTED_VALUE` for values Sente's packer
 * can't write either (bigints beyond int64, invalid dates, tagged literals,
 * functions, other classes) and for nesting deeper than `MAX_WRITE_DEPTH`.
 */
export function createMsgpackWriter(): (value: unknown) => Uint8Array {
  let buf = new Uint8Array(INITIAL_BYTES);
  let view = new DataView(buf.buffer);
  let pos = 0;
  // Sente's map-key cache for the message being written.
  const longKeywordKeys = new Map<string, number>();
  const longStringKeys = new Map<string, number>();
  let nKeys = 0;
  /** This message's generation: a key entry stamped with it is numbered already. */
  let gen = 0;
  let busy = false;
  let encoder: TextEncoder | undefined;

  function ensure(n: number): void {
    if (pos + n <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, pos + n));
    next.set(buf.subarray(0, pos));
    buf = next;
    view = new DataView(buf.buffer);
  }

  /** UTF-8 of `s` at `at` (room for `3 * s.length` bytes must exist); returns the byte count. */
  function utf8At(s: string, at: number): number {
    const len = s.length;
    if (len > 48) {
      encoder ??= new TextEncoder();
      return encoder.encodeInto(s, buf.subarray(at)).written;
    }
    let p = at;
    for (let i = 0; i < len; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            buf[p++] = 0xf0 | (cp >> 18);
            buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
            buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
            buf[p++] = 0x80 | (cp & 0x3f);
            i++;
            continue;
          }
          c = 0xfffd; // a lone surrogate, as TextEncoder writes it
        }
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    return p - at;
  }

  function writeStr(s: string): void {
    const max = s.length * 3;
    // The header's size depends on the byte count, known only after encoding:
    // encode after the largest header it can need, then close the gap.
    const guess = max < 32 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    ensure(guess + max);
    const n = utf8At(s, pos + guess);
    const h = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
    if (h !== guess) buf.copyWithin(pos + h, pos + guess, pos + guess + n);
    if (h === 1) buf[pos] = 0xa0 | n;
    else if (h === 2) {
      buf[pos] = 0xd9;
      buf[pos + 1] = n;
    } else if (h === 3) {
      buf[pos] = 0xda;
      view.setUint16(pos + 1, n);
    } else {
      buf[pos] = 0xdb;
      view.setUint32(pos + 1, n);
    }
    pos += h + n;
  }

  function extHeaderSize(n: number): number {
    return n === 1 || n === 2 || n === 4 || n === 8 || n === 16 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : 6;
  }

  /** The ext header for an `n`-byte payload at `at` (its size is `extHeaderSize(n)`). */
  function putExtHeader(at: number, n: number, type: number): void {
    const t = type & 0xff;
    if (n === 1 || n === 2 || n === 4 || n === 8 || n === 16) {
      buf[at] = FIXEXT[n]!;
      buf[at + 1] = t;
    } else if (n <= 0xff) {
      buf[at] = 0xc7;
      buf[at + 1] = n;
      buf[at + 2] = t;
    } else if (n <= 0xffff) {
      buf[at] = 0xc8;
      view.setUint16(at + 1, n);
      buf[at + 3] = t;
    } else {
      buf[at] = 0xc9;
      view.setUint32(at + 1, n);
      buf[at + 5] = t;
    }
  }

  function writeRaw(b: Uint8Array): void {
    const n = b.length;
    ensure(n);
    if (n <= 16) for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
    else buf.set(b, pos);
    pos += n;
  }

  function writeKeyword(fqn: string): void {
    if (fqn.length > CACHEABLE_LENGTH) writeTextExt(EXT_KEYWORD, fqn);
    else writeRaw(keywordEntry(fqn).bytes);
  }

  /** An ext whose payload is UTF-8 text (symbol, char, uuid; keywords are cached). */
  function writeTextExt(type: number, s: string): void {
    const max = s.length * 3;
    const guess = max <= 0xff ? 3 : max <= 0xffff ? 4 : 6;
    ensure(guess + max);
    const n = utf8At(s, pos + guess);
    const h = extHeaderSize(n);
    if (h !== guess) buf.copyWithin(pos + h, pos + guess, pos + guess + n);
    putExtHeader(pos, n, type);
    pos += h + n;
  }

  /** Writes the payload with `body`, then the ext header in front of it. */
  function writeExtAround(type: number, body: () => void): void {
    const start = pos;
    // Most payloads written this way (sets, ratios) are under 256 bytes.
    ensure(3);
    pos += 3;
    body();
    const n = pos - start - 3;
    const h = extHeaderSize(n);
    if (h !== 3) {
      if (h > 3) {
        pos = start + 3 + n;
        ensure(h - 3);
      }
      buf.copyWithin(start + h, start + 3, start + 3 + n);
    }
    putExtHeader(start, n, type);
    pos = start + h + n;
  }

  function writeInt(n: number): void {
    ensure(9);
    if (n >= 0) {
      if (n < 0x80) buf[pos++] = n;
      else if (n < 0x100) {
        buf[pos++] = 0xcc;
        buf[pos++] = n;
      } else if (n < 0x10000) {
        buf[pos++] = 0xcd;
        view.setUint16(pos, n);
        pos += 2;
      } else if (n <= 0xffffffff) {
        buf[pos++] = 0xce;
        view.setUint32(pos, n);
        pos += 4;
      } else writeInt64(n);
    } else if (n >= -32) buf[pos++] = n & 0xff;
    else if (n >= -0x80) {
      buf[pos++] = 0xd0;
      buf[pos++] = n & 0xff;
    } else if (n >= -0x8000) {
      buf[pos++] = 0xd1;
      view.setInt16(pos, n);
      pos += 2;
    } else if (n >= -0x80000000) {
      buf[pos++] = 0xd2;
      view.setInt32(pos, n);
      pos += 4;
    } else writeInt64(n);
  }

  /** `d3` + a safe integer as int64 (room already ensured). */
  function writeInt64(n: number): void {
    const hi = Math.floor(n / TWO_32);
    buf[pos++] = 0xd3;
    view.setInt32(pos, hi);
    view.setUint32(pos + 4, n - hi * TWO_32);
    pos += 8;
  }

  function writeBigInt(n: bigint): void {
    if (n >= -MAX_SAFE && n <= MAX_SAFE) return writeInt(Number(n));
    if (n < INT64_MIN || n > INT64_MAX) unsupported(`the integer ${n} (beyond int64; Sente: "BigInteger out of long range")`);
    ensure(9);
    buf[pos++] = 0xd3;
    view.setBigInt64(pos, n);
    pos += 8;
  }

  function writeFloat(x: number): void {
    ensure(9);
    buf[pos++] = 0xcb;
    view.setFloat64(pos, x);
    pos += 8;
  }

  function writeArrayHeader(n: number): void {
    ensure(5);
    if (n < 16) buf[pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[pos++] = 0xdc;
      view.setUint16(pos, n);
      pos += 2;
    } else {
      buf[pos++] = 0xdd;
      view.setUint32(pos, n);
      pos += 4;
    }
  }

  function writeMapHeader(n: number): void {
    ensure(5);
    if (n < 16) buf[pos++] = 0x80 | n;
    else if (n < 0x10000) {
      buf[pos++] = 0xde;
      view.setUint16(pos, n);
      pos += 2;
    } else {
      buf[pos++] = 0xdf;
      view.setUint32(pos, n);
      pos += 4;
    }
  }

  function writeCachedKey(index: number): void {
    ensure(3);
    buf[pos++] = 0xd4;
    buf[pos++] = EXT_CACHED_KEY;
    buf[pos++] = index;
  }

  // Sente numbers a keyword or string key before writing it, in write order,
  // while fewer than 256 are known; later occurrences are `d4 08 <number>`.
  function writeKeyEntry(e: KeyEntry): void {
    if (e.gen === gen) return writeCachedKey(e.idx);
    if (nKeys < MAX_KEYS) {
      e.gen = gen;
      e.idx = nKeys++;
    }
    writeRaw(e.bytes);
  }

  /** Keys too long to keep an entry for: numbered in per-message maps. */
  function writeLongKey(table: Map<string, number>, text: string, keyword: boolean): void {
    const i = table.get(text);
    if (i !== undefined) return writeCachedKey(i);
    if (nKeys < MAX_KEYS) table.set(text, nKeys++);
    if (keyword) writeTextExt(EXT_KEYWORD, text);
    else writeStr(text);
  }

  function writeKeywordKey(fqn: string): void {
    if (fqn.length > CACHEABLE_LENGTH) writeLongKey(longKeywordKeys, fqn, true);
    else writeKeyEntry(keywordEntry(fqn));
  }

  function writeStringKey(s: string): void {
    if (s.length > CACHEABLE_LENGTH) writeLongKey(longStringKeys, s, false);
    else writeKeyEntry(stringEntry(s));
  }

  function writeObjectKey(k: string): void {
    if (k.length > CACHEABLE_LENGTH) {
      if (isKeywordText(k)) writeLongKey(longKeywordKeys, k, true);
      else writeLongKey(longStringKeys, k, false);
    } else writeKeyEntry(objectKeyEntry(k));
  }

  function writeKey(k: unknown, depth: number): void {
    if (typeof k === "string") writeStringKey(k);
    else if (k instanceof Keyword) writeKeywordKey(k.fqn);
    else w(k, depth);
  }

  function writeArray(a: readonly unknown[], depth: number): void {
    const n = a.length;
    writeArrayHeader(n);
    for (let i = 0; i < n; i++) w(a[i], depth);
  }

  function writeObject(o: Record<string, unknown>, depth: number): void {
    let n = 0;
    for (const k in o) if (hasOwn.call(o, k)) n++;
    writeMapHeader(n);
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      writeObjectKey(k);
      w(o[k], depth);
    }
  }

  function writeMap(m: Map<unknown, unknown>, depth: number): void {
    writeMapHeader(m.size);
    m.forEach((v, k) => {
      writeKey(k, depth);
      w(v, depth);
    });
  }

  function writeSet(s: Set<unknown>, depth: number): void {
    writeExtAround(EXT_SET, () => {
      writeArrayHeader(s.size);
      for (const x of s) w(x, depth);
    });
  }

  function writeRatio(r: values.Ratio): void {
    writeExtAround(EXT_RATIO, () => {
      writeBigInt(r.numerator);
      writeBigInt(r.denominator);
    });
  }

  function writeBytes(b: Uint8Array): void {
    const n = b.byteLength;
    ensure(5 + n);
    if (n <= 0xff) {
      buf[pos++] = 0xc4;
      buf[pos++] = n;
    } else if (n <= 0xffff) {
      buf[pos++] = 0xc5;
      view.setUint16(pos, n);
      pos += 2;
    } else {
      buf[pos++] = 0xc6;
      view.setUint32(pos, n);
      pos += 4;
    }
    buf.set(b, pos);
    pos += n;
  }

  function writeExt(type: number, data: Uint8Array): void {
    const n = data.byteLength;
    const h = extHeaderSize(n);
    ensure(h + n);
    putExtHeader(pos, n, type);
    buf.set(data, pos + h);
    pos += h + n;
  }

  /** int32/float32/float64 arrays: big-endian, as the JVM writes them. */
  function writeNumberArray(type: number, a: Int32Array | Float32Array | Float64Array): void {
    const size = a.BYTES_PER_ELEMENT;
    const n = a.length * size;
    const h = extHeaderSize(n);
    ensure(h + n);
    putExtHeader(pos, n, type);
    let p = pos + h;
    if (a instanceof Int32Array) for (let i = 0; i < a.length; i++, p += 4) view.setInt32(p, a[i]!);
    else if (a instanceof Float32Array) for (let i = 0; i < a.length; i++, p += 4) view.setFloat32(p, a[i]!);
    else for (let i = 0; i < a.length; i++, p += 8) view.setFloat64(p, a[i]!);
    pos = p;
  }

  /** Always the 12-byte form: u32 nanoseconds, i64 seconds (Sente's `instant->ba`). */
  function writeDate(d: Date): void {
    const t = d.getTime();
    if (t !== t) unsupported("an invalid Date");
    const secs = Math.floor(t / 1000);
    const ms = t - secs * 1000;
    let nanos = ms * 1e6;
    // An Instant whose Date part was changed after it was made no longer owns its nanos.
    if (d instanceof Instant && Math.floor(d.nanos / 1e6) === ms && d.nanos >= 0 && d.nanos < 1e9) nanos = d.nanos;
    ensure(15);
    buf[pos++] = 0xc7;
    buf[pos++] = 12;
    buf[pos++] = 0xff;
    view.setUint32(pos, nanos);
    const hi = Math.floor(secs / TWO_32);
    view.setInt32(pos + 4, hi);
    view.setUint32(pos + 8, secs - hi * TWO_32);
    pos += 12;
  }

  function writeOther(v: object, depth: number): void {
    if (v instanceof Keyword) writeKeyword(v.fqn);
    else if (Array.isArray(v)) writeArray(v, depth);
    else if (v instanceof Map) writeMap(v, depth);
    else if (v instanceof Set) writeSet(v, depth);
    else if (v instanceof Double) writeFloat(v.valueOf());
    else if (v instanceof Date) writeDate(v);
    else if (v instanceof Uuid) writeTextExt(EXT_UUID, v.value);
    else if (v instanceof Sym) writeTextExt(EXT_SYMBOL, v.fqn);
    else if (v instanceof Char) writeTextExt(EXT_CHAR, v.value);
    else if (v instanceof Ratio) writeRatio(v);
    // The JVM writes a BigDecimal as its double value.
    else if (v instanceof BigDec) writeFloat(Number(v.text));
    else if (v instanceof Uint8Array) writeBytes(v);
    else if (v instanceof Int32Array) writeNumberArray(SenteExt.int32Array, v);
    else if (v instanceof Float32Array) writeNumberArray(SenteExt.float32Array, v);
    else if (v instanceof Float64Array) writeNumberArray(SenteExt.float64Array, v);
    else if (v instanceof MsgpackExt) writeExt(v.type, v.data);
    else if (Object.getPrototypeOf(v) === null) writeObject(v as Record<string, unknown>, depth);
    else if (v instanceof Tagged) unsupported(`the tagged literal #${v.tag} (Sente's msgpack has no tagged values)`);
    else {
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      unsupported(`an instance of ${typeof name === "string" && name !== "" ? name : "an unknown class"}`);
    }
  }

  function w(v: unknown, depth: number): void {
    switch (typeof v) {
      case "string":
        writeStr(v);
        return;
      case "number":
        if (Number.isSafeInteger(v)) writeInt(v);
        else writeFloat(v);
        return;
      case "boolean":
        ensure(1);
        buf[pos++] = v ? 0xc3 : 0xc2;
        return;
      case "undefined":
        ensure(1);
        buf[pos++] = 0xc0;
        return;
      case "bigint":
        writeBigInt(v);
        return;
      case "object": {
        if (v === null) {
          ensure(1);
          buf[pos++] = 0xc0;
          return;
        }
        if (depth >= MAX_DEPTH) unsupported(`a structure nested deeper than ${MAX_DEPTH} (cyclic?)`);
        const d = depth + 1;
        const p: unknown = Object.getPrototypeOf(v);
        if (p === OBJECT_PROTO) writeObject(v as Record<string, unknown>, d);
        else if (p === ARRAY_PROTO) writeArray(v as unknown[], d);
        else if (p === KEYWORD_PROTO) writeKeyword((v as values.Keyword).fqn);
        else if (p === MAP_PROTO) writeMap(v as Map<unknown, unknown>, d);
        else writeOther(v, d);
        return;
      }
      case "function":
        return unsupported("a function");
      default:
        return unsupported(`a ${typeof v}`);
    }
  }

  function pack(value: unknown): Uint8Array {
    pos = 0;
    nKeys = 0;
    trimCaches();
    gen = ++generation;
    if (longKeywordKeys.size > 0) longKeywordKeys.clear();
    if (longStringKeys.size > 0) longStringKeys.clear();
    w(value, 0);
    return buf.slice(0, pos);
  }

  return (value: unknown): Uint8Array => {
    if (busy) return createMsgpackWriter()(value);
    busy = true;
    try {
      return pack(value);
    } finally {
      busy = false;
      if (buf.length > KEEP_BYTES) {
        buf = new Uint8Array(INITIAL_BYTES);
        view = new DataView(buf.buffer);
      }
    }
  };
}

