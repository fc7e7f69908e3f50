/**
 * The best Sente-dialect codec we could build on each npm msgpack library,
 * for `packers.bench.ts` to compare with chsk's own (README "Packers").
 *
 * msgpackr (2.x) gets there with a pre-pass and a post-pass over the whole
 * value, because its API can't express three of Sente's rules:
 * - map-key cache (ext 8): keys are written and read without a hook, so the
 *   pre-pass rebuilds every map with marker keys, and the post-pass numbers
 *   the keys read and resolves the markers (and turns keyword-keyed Maps back
 *   into plain objects);
 * - positive integers above 0xffffffff are `cb` doubles in msgpackr, `d3` in
 *   Sente: the pre-pass turns them into bigints (and small bigints, which
 *   msgpackr writes as 9-byte `d3`, into numbers);
 * - ext type 0 (keywords) is refused by `addExtension` (`!type`), and
 *   msgpackr's own ext types (0x42, 0x62, 0x65, 0x69, 0x70, 0x73, 0x74, 0x78,
 *   timestamps) would read a Sente peer's exts as something else; so every
 *   chsk class is written raw through the `allocateForWrite` escape hatch.
 * What no pass can fix: msgpackr reads `cb 40 00 …` (2.0) as the number 2,
 * so an echoed integral double goes back as an integer (a Clojure Long, not
 * a Double). Unknown ext types throw instead of passing through.
 *
 * @msgpack/msgpack (3.x) can't be made to speak the dialect at all: it writes
 * a JS `Map` as an empty map (`80`), refuses non-string map keys when
 * reading ("The type of key must be string or number"), and writes every
 * integer above 0xffffffff and every bigint as `cf`. It is measured on plain
 * JSON-shaped data only, as a speed reference.
 */
import { Packr, Unpackr, addExtension } from "msgpackr";

import { Char, Double, EdnSet, Keyword, kw, Ratio, Sym, Uuid } from "../src/core/edn/index.js";
import { isKeywordText } from "../src/core/edn/writer.js";

class CachedKey {
  constructor(readonly index: number) {}
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { ignoreBOM: true });
const TWO_32 = 4294967296;

type Alloc = (size: number) => { target: Uint8Array; targetView: DataView; position: number };

function rawExt(alloc: Alloc, type: number, data: Uint8Array): void {
  const n = data.length;
  const h = n === 1 || n === 2 || n === 4 || n === 8 || n === 16 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : 6;
  const { target, targetView, position: p } = alloc(h + n);
  if (h === 2) target[p] = ({ 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 } as Record<number, number>)[n]!;
  else if (h === 3) (target[p] = 0xc7), (target[p + 1] = n);
  else if (h === 4) (target[p] = 0xc8), targetView.setUint16(p + 1, n);
  else (target[p] = 0xc9), targetView.setUint32(p + 1, n);
  target[p + h - 1] = type & 0xff;
  target.set(data, p + h);
}

// Dummy type codes: `pack` needs a truthy type, but writes raw bytes and returns nothing.
let dummy = 0x50;
const raw = <T>(Class: { prototype: T }, write: (x: T, alloc: Alloc) => void) =>
  addExtension({ Class: Class as never, type: dummy++, pack: ((x: T, alloc: Alloc) => void write(x, alloc)) as never });

const nested = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false });
raw(Keyword, (k, a) => rawExt(a, 0, enc.encode(k.fqn)));
raw(Sym, (s, a) => rawExt(a, 1, enc.encode(s.fqn)));
raw(Char, (c, a) => rawExt(a, 2, enc.encode(c.value)));
raw(Uuid, (u, a) => rawExt(a, 9, enc.encode(u.value)));
raw(CachedKey, (k, a) => rawExt(a, 8, Uint8Array.of(k.index)));
raw(EdnSet, (s, a) => rawExt(a, 4, nested.pack([...s])));
raw(Ratio, (r, a) => rawExt(a, 3, nested.pack([r.numerator, r.denominator])));
raw(Double, (d, a) => {
  const { target, targetView, position } = a(9);
  target[position] = 0xcb;
  targetView.setFloat64(position + 1, d.valueOf());
});
raw(Date, (d, a) => {
  const t = d.getTime();
  const secs = Math.floor(t / 1000);
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, (t - secs * 1000) * 1e6);
  const hi = Math.floor(secs / TWO_32);
  v.setInt32(4, hi);
  v.setUint32(8, secs - hi * TWO_32);
  rawExt(a, -1, b);
});

const text = (b: Uint8Array) => dec.decode(b);
// "auto": a number when safe, else a bigint (msgpackr's types lag its code).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "auto" as "bigint" });
addExtension({ type: 0, unpack: (b: Uint8Array) => kw(text(b)) } as never);
addExtension({ type: 1, unpack: (b: Uint8Array) => Sym.of(text(b)) } as never);
addExtension({ type: 2, unpack: (b: Uint8Array) => new Char(text(b)) } as never);
addExtension({ type: 9, unpack: (b: Uint8Array) => new Uuid(text(b)) } as never);
addExtension({ type: 8, unpack: (b: Uint8Array) => new CachedKey(b[0]!) } as never);
addExtension({ type: 4, unpack: (b: Uint8Array) => new EdnSet(unpackr.unpack(b) as unknown[]) } as never);
addExtension({
  type: 3,
  unpack: (b: Uint8Array) => {
    const [n, d] = unpackr.unpackMultiple(b) as [number | bigint, number | bigint];
    return new Ratio(BigInt(n), BigInt(d));
  },
} as never);
addExtension({
  type: 0xff,
  unpack: (b: Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return new Date((v.getInt32(4) * TWO_32 + v.getUint32(8)) * 1000 + Math.floor(v.getUint32(0) / 1e6));
  },
} as never);

/** The pre-pass: Sente's key numbering, and integers as Sente writes them. */
function toLib(v: unknown, cache: { kw: Map<string, number>; str: Map<string, number>; n: number }): unknown {
  const key = (k: unknown): unknown => {
    const isKw = k instanceof Keyword;
    if (!isKw && typeof k !== "string") return toLib(k, cache);
    const table = isKw ? cache.kw : cache.str;
    const text = isKw ? k.fqn : (k as string);
    const i = table.get(text);
    if (i !== undefined) return new CachedKey(i);
    if (cache.n < 256) table.set(text, cache.n++);
    return k;
  };
  switch (typeof v) {
    case "number":
      return Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x80000000) ? BigInt(v) : v;
    case "bigint":
      return v >= -0x80000000n && v <= 0xffffffffn ? Number(v) : v;
    case "object": {
      if (v === null) return v;
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype) {
        const m = new Map<unknown, unknown>();
        for (const k of Object.keys(v)) {
          const kk = isKeywordText(k) ? key(kw(k)) : key(k);
          m.set(kk, toLib((v as Record<string, unknown>)[k], cache));
        }
        return m;
      }
      if (Array.isArray(v)) return v.map((x) => toLib(x, cache));
      if (v instanceof Map) {
        const m = new Map<unknown, unknown>();
        for (const [k, x] of v) m.set(key(k), toLib(x, cache));
        return m;
      }
      if (v instanceof Set) return new EdnSet([...v].map((x) => toLib(x, cache)));
      return v;
    }
    default:
      return v;
  }
}

/** The post-pass: number the keys as read, resolve cached ones, keyword-keyed maps → objects. */
function fromLib(v: unknown, keys: unknown[]): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromLib(v[i], keys);
    return v;
  }
  if (v instanceof Map) {
    const entries: [unknown, unknown][] = [];
    let allKw = true;
    for (const [k0, x] of v) {
      let k: unknown;
      if (k0 instanceof CachedKey) k = keys[k0.index] ?? null;
      else {
        k = fromLib(k0, keys);
        if ((typeof k === "string" || k instanceof Keyword) && keys.length < 256) keys.push(k);
      }
      if (!(k instanceof Keyword)) allKw = false;
      entries.push([k, fromLib(x, keys)]);
    }
    if (allKw) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of entries) o[(k as Keyword).fqn] = x;
      return o;
    }
    return new Map(entries);
  }
  if (v instanceof EdnSet) return new EdnSet([...v].map((x) => fromLib(x, keys)));
  return v;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false });

const prePass = (v: unknown): unknown => toLib(v, { kw: new Map(), str: new Map(), n: 0 });

/** msgpackr with Sente's dialect bolted on (see the file comment for what it still gets wrong). */
export const msgpackrSente = {
  pack: (v: unknown): Uint8Array => packr.pack(prePass(v)),
  unpack: (b: Uint8Array): unknown => fromLib(unpackr.unpack(b), []),
  /** The passes' share: the pre-pass alone, and msgpackr's decode alone (before the post-pass). */
  prePass,
  unpackOnly: (b: Uint8Array): unknown => unpackr.unpack(b),
};
