/**
 * Sente's transit packer (`taoensso.sente.packers.transit/get-packer`):
 * transit-json (or json-verbose) text frames, written and read with
 * transit-js, mapped to and from the value model of `core/edn/values.ts`.
 *
 * | transit                          | TypeScript                                               |
 * |----------------------------------|----------------------------------------------------------|
 * | `"~:a"`, `"~:my/ev"`             | {@link Keyword}                                          |
 * | `"~$s"`                          | {@link Sym}                                              |
 * | `["^ ", …]`, `{…}` (verbose)     | plain object if every key is a keyword, else `Map`       |
 * | `["~#cmap", […]]`                | `Map` (plain object if every key is a keyword)           |
 * | `[…]`                            | `Array`                                                  |
 * | `["~#list", […]]`                | {@link List}                                             |
 * | `["~#set", […]]`                 | {@link EdnSet} (writes any `Set`)                        |
 * | `1`, `1.5`                       | `number`                                                 |
 * | `1.0`                            | `number` on read; a {@link Double} writes `1.0`          |
 * | `"~i…"` beyond ±(2^53-1)         | `bigint` (a `bigint` beyond that range writes `"~i…"`)   |
 * | a bare integer no double holds   | `bigint`, as transit-clj reads it (not rounded)          |
 * | `"~n…"`                          | `bigint` (a `bigint` beyond int64 writes `"~n…"`)        |
 * | `"~f1.50"`                       | {@link BigDec}                                           |
 * | `["~#ratio", ["~n22","~n7"]]`    | {@link Ratio}                                            |
 * | `"~cx"`                          | {@link Char}                                             |
 * | `"~u…"` (or `["~#u", [hi, lo]]`) | {@link Uuid}                                             |
 * | `"~m…"`, `"~t…"`                 | `Date` (written as `"~m…"`; `"~t…"` when verbose)        |
 * | `"~zNaN"`, `"~zINF"`, `"~z-INF"` | `NaN`, `Infinity`, `-Infinity`                           |
 * | `"~b…"`                          | `Uint8Array` (a `Buffer` under Node)                     |
 * | any other tag                    | {@link Tagged} (e.g. `"~rhttp://x"` is `Tagged("r", …)`) |
 *
 * A safe-integer `bigint` writes as a plain number, as transit-clj writes a
 * small Long, so it reads back as a `number` (the EDN packer does the same).
 *
 * Doubles: JSON cannot tell `1.0` from `1` once parsed, so an integral
 * double from a JVM peer (transit-clj writes Java's `1.0`) reads as the
 * `number` 1, as in ClojureScript. Writing a {@link Double} produces Java's
 * text (`1.0`, `1.0E7`) so that a Clojure peer reads a Double, not a Long
 * (in Clojure `(= 1 1.0)` is false).
 */
import transit from "transit-js";
import {
  BigDec,
  Char,
  Double,
  EdnSet,
  Keyword,
  List,
  Ratio,
  Sym,
  Tagged,
  Uuid,
  type EdnValue,
} from "../edn/values.js";
import { formatDouble } from "../edn/writer.js";
import { ChskError, err, ok, type Result } from "../protocol/errors.js";
import { depthError, jsonDepthExceeds, jsonStringEnd, jsonTextOf } from "./json.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

export interface TransitPackerOptions {
  /**
   * Write transit `json-verbose` (maps as JSON objects, no write cache,
   * dates as `"~t…"`). Reading accepts both encodings either way.
   * @default false
   */
  verbose?: boolean;
  /**
   * Limits used when `unpack` is called without its own. Per-call limits
   * override these field by field. `maxDepth` counts JSON nesting, so a
   * tagged collection (`["~#set", […]]`) uses two levels.
   * @default DEFAULT_DECODE_LIMITS (1 MiB, depth 64)
   */
  limits?: DecodeLimits;
}

/**
 * The transit packer (`name: "transit"`, text frames). Produces exactly the
 * strings transit-js and transit-clj produce, including the rolling write
 * cache (`"^0"`), which is reset for every message.
 *
 * `pack` throws `CHSK_ERR_UNSUPPORTED_VALUE` for values outside the value
 * model (functions, JS symbols, class instances other than the model's and
 * `Map`/`Set`/`Date`/`Uint8Array`, invalid dates, cycles). `unpack` never
 * throws: oversized input → `CHSK_ERR_FRAME_TOO_LARGE`; JSON nesting deeper
 * than `maxDepth` (checked by a scan before parsing) → `CHSK_ERR_EDN_DEPTH`;
 * invalid JSON, UTF-8 or transit (e.g. a cache reference to nothing) →
 * `CHSK_ERR_UNPACK`.
 *
 * The writer and reader are built once per packer and reused (a packer is
 * synchronous, so messages never interleave).
 *
 * @example
 * const p = transitPacker();
 * p.pack([[kw("my/ev"), { a: 1 }], "3f2a1b"]); // '[["~:my/ev",["^ ","~:a",1]],"3f2a1b"]'
 * transitPacker({ verbose: true }).pack([[kw("my/ev"), { a: 1 }], "3f2a1b"]); // '[["~:my/ev",{"~:a":1}],"3f2a1b"]'
 */
export function transitPacker(opts: TransitPackerOptions = {}): Packer {
  const defaults = { ...DEFAULT_DECODE_LIMITS, ...opts.limits };
  const write = makeWriter(opts.verbose === true);
  const read = makeReader();
  return {
    name: "transit",
    binary: false,
    keywordsAsStrings: false,
    pack: write,
    unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
      const maxBytes = limits?.maxBytes ?? defaults.maxBytes;
      const maxDepth = limits?.maxDepth ?? defaults.maxDepth;
      const t = jsonTextOf(data, maxBytes, "transit");
      if (!t.ok) return t;
      const text = t.value;
      if (jsonDepthExceeds(text, maxDepth)) return depthError("transit", maxDepth);
      let node: unknown;
      try {
        node = JSON.parse(exactIntegers(text));
      } catch (e) {
        return err(new ChskError("CHSK_ERR_UNPACK", `invalid transit JSON: ${(e as Error)?.message ?? e}`, { cause: e }));
      }
      return read(node, text);
    },
  };
}

/**
 * JSON.parse rounds a bare integer that no double holds; transit-clj
 * (Jackson) reads it exactly, and a Sente server echoes `9007199254740993`
 * back as `"~i9007199254740993"` (captured). So such an integer is
 * rewritten, before parsing, as the transit string of the same integer:
 * `"~i…"` within int64, `"~n…"` beyond (Jackson's BigInteger); it then
 * reads as that `bigint`. A literal that is how JS prints a number (what
 * transit-js and chsk write for a large double, e.g. `9007199254740994`)
 * stays that number: it loses nothing. Text without a run of 16 digits is
 * returned as is, without a scan.
 */
function exactIntegers(text: string): string {
  if (!SIXTEEN_DIGITS_RE.test(text)) return text;
  let out = "";
  let last = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const j = jsonStringEnd(text, i);
      if (j < 0) return text; // unterminated: JSON.parse reports it
      // `"~i…"` beyond int64: transit-js would wrap it (goog.math.Long), transit-clj reads a BigInt; read it as `"~n…"`.
      if (j - i >= 22 && text.charCodeAt(i + 1) === 0x7e /* ~ */ && text.charCodeAt(i + 2) === 0x69 /* i */) {
        const token = text.slice(i + 3, j);
        if (INTEGER_RE.test(token)) {
          const v = BigInt(token);
          if (v > INT64_MAX || v < INT64_MIN) {
            out += text.slice(last, i + 2) + "n";
            last = i + 3;
          }
        }
      }
      i = j;
      continue;
    }
    if (c !== 0x2d /* - */ && (c < 0x30 || c > 0x39)) continue;
    let j = c === 0x2d ? i + 1 : i;
    while (j < n && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
    const next = text.charCodeAt(j);
    if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
      // Not an integer: skip the rest of the number.
      while (j < n && /[0-9.eE+-]/.test(text[j]!)) j++;
    } else if (j - i >= 16) {
      const token = text.slice(i, j);
      const v = BigInt(token);
      if ((v > MAX_SAFE || v < -MAX_SAFE) && String(Number(token)) !== token) {
        out += text.slice(last, i) + `"~${v <= INT64_MAX && v >= INT64_MIN ? "i" : "n"}${v}"`;
        last = j;
      }
    }
    i = j - 1;
  }
  return last === 0 ? text : out + text.slice(last);
}
const SIXTEEN_DIGITS_RE = /[0-9]{16}/;

// ---------------------------------------------------------------------------
// transit-js internals we need to recognise. Their constructors are not
// exported, so they are taken from values transit-js makes.

type Ctor = abstract new (...args: never[]) => unknown;

/** goog.math.Long: what transit-js reads `"~i…"` beyond ±(2^53-1) as. */
const LongCtor = (transit.integer("9007199254740993") as unknown as object).constructor as Ctor;
/** transit-js TaggedValue: an unknown tag in array/map form, and `bigInt()`. */
const TaggedValueCtor = (transit.tagged("x", null) as object).constructor as Ctor;
/** The decoder's marker for `"~#tag"`; one outside a tagged value is malformed input. */
const TagCtor = (transit.decoder().decode("~#x") as object).constructor as Ctor;

interface TransitTaggedValue {
  tag: string;
  rep: unknown;
}

// ---------------------------------------------------------------------------
// Writing

/** transit-js write handler, as `writer.marshal` calls it. */
interface WriteHandler<T> {
  tag(v: T): string;
  rep(v: T): unknown;
  stringRep(v: T, h: WriteHandler<T>): string | null;
  getVerboseHandler(): null;
}

function handler<T>(tag: (v: T) => string, rep: (v: T) => unknown, stringRep?: (v: T) => string | null): WriteHandler<T> {
  return { tag, rep, stringRep: stringRep ?? (() => null), getVerboseHandler: () => null };
}

/** A plain-object key, written as a keyword. Not a {@link Keyword}: keys can be data, and keywords are interned forever. */
class ObjKey {
  constructor(readonly fqn: string) {}
}

/** A plain object as transit-js sees a map: `forEach` plus flat entries for the `unpack` option. */
class KwMap {
  readonly kvs: unknown[] = [];
  constructor(o: Record<string, unknown>) {
    for (const k of Object.keys(o)) this.kvs.push(new ObjKey(k), o[k]);
  }
  forEach(f: (v: unknown, k: unknown) => void): void {
    const kvs = this.kvs;
    for (let i = 0; i < kvs.length; i += 2) f(kvs[i + 1], kvs[i]);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

// Tags the marshaller treats as built-in JSON types; a Tagged can't use them.
const GROUND_TAGS = new Set(["_", "s", "?", "i", "d", "b", "'", "array", "map"]);

function unsupported(what: string): never {
  throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write ${what} as transit`);
}

function makeWriter(verbose: boolean): (value: unknown) => string {
  // Doubles are written through a placeholder string (JSON.stringify can only
  // write 1.0 as 1) that is swapped for the number text afterwards. The nonce
  // keeps application strings from ever matching; the swap only runs for
  // messages that contain a Double.
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
  const placeholder = "\u0000" + nonce + ":";
  // JSON.stringify writes U+0000 as \u0000.
  const doubleRe = new RegExp(`"\\\\u0000${nonce}:([^"]*)"`, "g");
  let sawDouble = false;

  const numberTag = (v: number) => (Number.isSafeInteger(v) || !Number.isFinite(v) ? "i" : "d");
  const special = (v: number) => (v !== v ? "NaN" : v > 0 ? "INF" : "-INF");
  const handlers = new Map<object, WriteHandler<never>>([
    [Keyword, handler<Keyword>(() => ":", (k) => k.fqn)],
    [ObjKey, handler<ObjKey>(() => ":", (k) => k.fqn)],
    [Sym, handler<Sym>(() => "$", (s) => s.fqn)],
    [Char, handler<Char>(() => "c", (c) => c.value)],
    [Uuid, handler<Uuid>(() => "u", (u) => u.value)],
    [BigDec, handler<BigDec>(() => "f", (d) => d.text)],
    [Ratio, handler<Ratio>(() => "ratio", (r) => [transit.bigInt(String(r.numerator)), transit.bigInt(String(r.denominator))])],
    // transit-js writes every number with tag "i"; as a map key that gives "~i1.5".
    [Number, handler<number>(numberTag, (v) => v)],
    [
      BigInt,
      handler<bigint>(
        (v) => (v <= MAX_SAFE && v >= -MAX_SAFE ? "i" : v <= INT64_MAX && v >= INT64_MIN ? "i" : "n"),
        (v) => (v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : String(v)),
      ),
    ],
    // A Double goes to emitDouble (patched below) as itself.
    [Double, handler<Double>((d) => (Number.isFinite(d.valueOf()) ? "d" : "z"), (d) => (Number.isFinite(d.valueOf()) ? d : special(d.valueOf())))],
    [
      Date,
      verbose
        ? handler<Date>(() => "t", (d) => validDate(d).toISOString())
        : handler<Date>(() => "m", (d) => String(validDate(d).getTime())),
    ],
    [EdnSet, handler<Set<unknown>>(() => "set", (s) => [...s])],
    [Set, handler<Set<unknown>>(() => "set", (s) => [...s])],
    // The rep must be a plain Array, or the List handler would be found again.
    [List, handler<List>(() => "list", (l) => Array.prototype.slice.call(l))],
    [Map, handler<Map<unknown, unknown>>(() => "map", (m) => m)],
    [KwMap, handler<KwMap>(() => "map", (m) => m)],
    [
      Tagged,
      handler<Tagged>(
        (t) => (GROUND_TAGS.has(t.tag) || t.tag === "" ? unsupported(`a Tagged with the reserved tag "${t.tag}"`) : t.tag),
        (t) => t.value,
        (t) => (typeof t.value === "string" ? t.value : null),
      ),
    ],
  ]);

  // Constructors handled as they are; anything else is a plain object
  // (→ KwMap), an Array/Map/Set subclass (→ copied), or unsupported.
  const known = new Set<unknown>([...handlers.keys(), Array, Uint8Array, TaggedValueCtor]);
  // Those two handlers are for primitives; a boxed `new Number(1)` is not in the model.
  known.delete(Number);
  known.delete(BigInt);
  const NodeBuffer = (globalThis as { Buffer?: unknown }).Buffer;
  if (NodeBuffer !== undefined) known.add(NodeBuffer);

  // Called by the marshaller on every value before choosing a handler.
  const transform = (x: unknown): unknown => {
    if (typeof x !== "object" || x === null) return x;
    if (known.has((x as { constructor?: unknown }).constructor)) return x;
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) return new KwMap(x as Record<string, unknown>);
    // Own-`constructor` keys and subclasses land here.
    if (Array.isArray(x)) return x instanceof List ? x : Array.from(x);
    if (x instanceof Map) return new Map(x);
    if (x instanceof Set) return new EdnSet(x);
    for (const c of [Keyword, Sym, Char, Uuid, BigDec, Ratio, Double, Tagged, Date, Uint8Array]) {
      if (x instanceof c) return x;
    }
    const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
    return unsupported(`an instance of ${typeof name === "string" && name !== "" ? name : "an unknown class"}`);
  };

  const cache = transit.writeCache();
  const w = transit.writer(verbose ? "json-verbose" : "json", {
    handlers,
    transform,
    // Lets emitMap read a KwMap's entries directly.
    unpack: (x: unknown) => (x instanceof KwMap ? x.kvs : false),
    // Tagged values with one-letter tags and non-string values become
    // ["~#x", v] instead of an error. Every built-in 1-letter rep above is a string.
    preferStrings: false,
    cache,
  } as unknown as transit.WriterOptions);

  // transit-js's emitDouble writes map keys as "undefinedd1.5" (its
  // parameter `d` shadows the delimiters module). Replace it on our own
  // marshaller; this is also where a Double becomes its placeholder.
  const marshaller = (w as unknown as { marshaller(): Record<string, unknown> }).marshaller();
  marshaller["emitDouble"] = function (
    this: { emitString(prefix: string, tag: string, s: string, asMapKey: boolean, cache: unknown): unknown },
    v: number | Double,
    asMapKey: boolean,
    c: unknown,
  ): unknown {
    const text = v instanceof Double ? formatDouble(v.valueOf()) : String(v);
    if (asMapKey) return this.emitString("~", "d", text, asMapKey, c);
    if (!(v instanceof Double)) return v;
    sawDouble = true;
    return placeholder + text;
  };

  let busy = false;
  const pack = (value: unknown): string => {
    // A getter in the value that packs again would share our cache: give it its own writer.
    if (busy) return makeWriter(verbose)(value);
    busy = true;
    sawDouble = false;
    let s: string;
    try {
      // The top-level value is looked up before `transform` runs, so transform it here.
      s = w.write(transform(value));
    } catch (e) {
      // transit-js only clears its cache after a successful write; a stale
      // cache would make the next message refer to strings it never wrote.
      cache.clear();
      if (e instanceof ChskError) throw e;
      if (e instanceof RangeError) unsupported("a structure nested too deeply (cyclic?)");
      throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write value as transit: ${(e as Error)?.message ?? e}`, {
        cause: e,
      });
    } finally {
      busy = false;
    }
    return sawDouble ? s.replace(doubleRe, "$1") : s;
  };
  return pack;
}

function validDate(d: Date): Date {
  if (Number.isNaN(d.getTime())) unsupported("an invalid Date");
  return d;
}

// ---------------------------------------------------------------------------
// Reading

const CACHE_CODE_DIGITS = 44;
const MAX_CACHE_ENTRIES = CACHE_CODE_DIGITS * CACHE_CODE_DIGITS;

/**
 * transit-js's read cache, but a reference to a slot that was never filled
 * (or a malformed code) is an error instead of `undefined`. `idx` is public
 * because the decoder rewinds it.
 */
class StrictReadCache {
  idx = 0;
  #filled = 0;
  #slots: unknown[] = [];

  write(obj: unknown): unknown {
    if (this.idx === MAX_CACHE_ENTRIES) this.idx = 0;
    this.#slots[this.idx++] = obj;
    if (this.idx > this.#filled) this.#filled = this.idx;
    return obj;
  }

  read(code: string): unknown {
    const n = code.length;
    const hi = n === 3 ? code.charCodeAt(1) - 48 : 0;
    const lo = code.charCodeAt(n - 1) - 48;
    const i = hi * CACHE_CODE_DIGITS + lo;
    if ((n !== 2 && n !== 3) || hi < 0 || hi >= CACHE_CODE_DIGITS || lo < 0 || lo >= CACHE_CODE_DIGITS || i >= this.#filled) {
      throw new Error(`transit cache reference ${JSON.stringify(code)} to nothing`);
    }
    return this.#slots[i];
  }

  clear(): void {
    this.idx = 0;
    this.#filled = 0;
    this.#slots.length = 0;
  }
}

/** Malformed transit: `read` turns any throw into `CHSK_ERR_UNPACK`. */
function bad(what: string): never {
  throw new Error(what);
}

/** Converts what transit-js leaves in decoded values into the value model. */
function fix(x: unknown): unknown {
  if (typeof x !== "object" || x === null) return x;
  if (x instanceof LongCtor) return BigInt(String(x));
  if (x instanceof TaggedValueCtor) {
    const t = x as unknown as TransitTaggedValue;
    return new Tagged(t.tag, fix(t.rep) as EdnValue);
  }
  if (x instanceof TagCtor) return bad("a transit tag outside a tagged value");
  return x;
}

/** {@link fix} all the way down; only for input with a quote tag (see `read`). */
function deepFix(x: unknown): unknown {
  x = fix(x);
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = deepFix(x[i]);
  } else if (x instanceof Map) {
    const entries = [...x];
    x.clear();
    for (const [k, v] of entries) x.set(deepFix(k), deepFix(v));
  } else if (x instanceof Set) {
    const items = [...x];
    x.clear();
    for (const v of items) x.add(deepFix(v));
  } else if (x instanceof Tagged) {
    x = new Tagged(x.tag, deepFix(x.value) as EdnValue);
  } else if (x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = deepFix(o[k]);
  }
  return x;
}

/** A decoded map: a plain object when every key is a keyword, else a `Map`. */
function buildMap(kvs: unknown[]): unknown {
  let allKeywords = true;
  for (let i = 0; i < kvs.length; i += 2) {
    if (!(kvs[i] instanceof Keyword)) {
      allKeywords = false;
      break;
    }
  }
  if (allKeywords) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < kvs.length; i += 2) {
      const k = (kvs[i] as Keyword).fqn;
      const v = fix(kvs[i + 1]);
      // Plain assignment of "__proto__" would set the prototype instead.
      if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      else o[k] = v;
    }
    return o;
  }
  const m = new Map<unknown, unknown>();
  for (let i = 0; i < kvs.length; i += 2) m.set(fix(kvs[i]), fix(kvs[i + 1]));
  return m;
}

function arrayRep(v: unknown, tag: string): unknown[] {
  return Array.isArray(v) ? v : bad(`the rep of a "${tag}" tag must be an array`);
}

function stringRep(v: unknown, tag: string): string {
  return typeof v === "string" ? v : bad(`the rep of a "${tag}" tag must be a string`);
}

const INTEGER_RE = /^[+-]?[0-9]+$/;
const DECIMAL_RE = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function toBigInt(x: unknown): bigint {
  x = fix(x);
  if (typeof x === "bigint") return x;
  if (typeof x === "number" && Number.isSafeInteger(x)) return BigInt(x);
  if (typeof x === "string" && INTEGER_RE.test(x)) return BigInt(x);
  return bad("expected an integer");
}

function readUuid(v: unknown): Uuid {
  if (typeof v === "string") return UUID_RE.test(v) ? new Uuid(v) : bad("malformed uuid");
  // The non-string form: two signed 64-bit halves.
  const [hi, lo] = arrayRep(v, "u");
  const hex = (n: unknown) => BigInt.asUintN(64, toBigInt(n)).toString(16).padStart(16, "0");
  const h = hex(hi) + hex(lo);
  return new Uuid(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
}

function readDate(v: unknown, tag: string): Date {
  const ms = tag === "t" ? Date.parse(stringRep(v, tag)) : Number(toBigInt(v));
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? bad(`malformed "${tag}" date`) : d;
}

function makeReader(): (node: unknown, text: string) => Result<unknown> {
  const handlers: Record<string, (v: unknown) => unknown> = {
    ":": (v) => Keyword.of(stringRep(v, ":")),
    $: (v) => Sym.of(stringRep(v, "$")),
    c: (v) => new Char(stringRep(v, "c")),
    u: readUuid,
    n: (v) => toBigInt(stringRep(v, "n")),
    f: (v) => (DECIMAL_RE.test(stringRep(v, "f")) ? new BigDec(v as string) : bad("malformed bigdec")),
    m: (v) => readDate(v, "m"),
    t: (v) => readDate(v, "t"),
    r: (v) => new Tagged("r", stringRep(v, "r")),
    set: (v) => new EdnSet(arrayRep(v, "set").map(fix) as EdnValue[]),
    list: (v) => List.from_(arrayRep(v, "list").map(fix) as EdnValue[]),
    cmap: (v) => {
      const kvs = arrayRep(v, "cmap");
      return kvs.length % 2 === 0 ? buildMap(kvs) : bad("a cmap needs an even number of items");
    },
    ratio: (v) => {
      const a = arrayRep(v, "ratio");
      const [n, d] = a.length === 2 ? [toBigInt(a[0]), toBigInt(a[1])] : bad("a ratio needs 2 items");
      return d === 0n ? bad("a ratio with a zero denominator") : new Ratio(n, d);
    },
    link: (v) => new Tagged("link", fix(v) as EdnValue),
  };
  // The decoder looks tags up in a plain object, so "~#constructor" would call
  // Object(). Such tags are ordinary unknown tags.
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    if (name !== "__proto__") handlers[name] = (v) => new Tagged(name, (Array.isArray(v) ? v.map(fix) : fix(v)) as EdnValue);
  }

  const arrayBuilder = {
    init: () => [] as unknown[],
    add: (acc: unknown[], v: unknown) => {
      acc.push(fix(v));
      return acc;
    },
    finalize: (acc: unknown[]) => acc,
    fromArray: (arr: unknown[]) => {
      for (let i = 0; i < arr.length; i++) arr[i] = fix(arr[i]);
      return arr;
    },
  };
  const mapBuilder = {
    init: () => [] as unknown[],
    add: (acc: unknown[], k: unknown, v: unknown) => {
      acc.push(k, v);
      return acc;
    },
    finalize: buildMap,
    fromArray: buildMap,
  };
  const decoder = transit.decoder({
    handlers,
    defaultHandler: (tag: string, rep: unknown) => new Tagged(tag, rep as EdnValue),
    arrayBuilder,
    mapBuilder,
  } as unknown as Parameters<typeof transit.decoder>[0]);
  const cache = new StrictReadCache();

  return (node, text) => {
    cache.clear();
    try {
      let v = fix(decoder.decode(node, cache as unknown as transit.ReadCache));
      // The quote tag's value skips the array builder, so its items are not
      // fixed. Writers only quote a top-level scalar, so this is rare.
      if (text.includes(`"~#'"`)) v = deepFix(v);
      return ok(v);
    } catch (e) {
      if (e instanceof RangeError) {
        return err(new ChskError("CHSK_ERR_EDN_DEPTH", "transit too deep: call stack exhausted", { cause: e }));
      }
      return err(new ChskError("CHSK_ERR_UNPACK", `invalid transit: ${(e as Error)?.message ?? e}`, { cause: e }));
    } finally {
      cache.clear();
    }
  };
}
