/**
 * EDN writer: prints values the way Clojure's `pr` does, so frames we send
 * are byte-identical to Sente's (`{:a 1, :b 2}`, `#inst "…-00:00"`, `1.0E-9`).
 */
import { ChskError } from "../protocol/errors.js";
import { BigDec, Char, Double, EdnSet, Keyword, List, Ratio, Sym, Tagged, Uuid } from "./values.js";

/**
 * Deepest nesting the writer follows. Far above any sane message (readers
 * default to 64); it exists to turn cyclic structures into an error instead
 * of a stack overflow.
 */
export const MAX_WRITE_DEPTH = 1000;

// The text being built. Module state (saved and restored around each call,
// in case a getter on the value re-enters writeEdn) avoids threading a
// buffer through every call.
let out = "";

/**
 * Prints `value` as EDN, matching Clojure's `pr` (with the default
 * `*print-namespace-maps*` off). See `values.ts` for the mapping.
 *
 * Differences from `pr`, all of which Clojure reads back identically:
 * control characters (and lone surrogates) inside strings and chars are
 * written as `\uXXXX` rather than raw.
 *
 * @throws ChskError `CHSK_ERR_UNSUPPORTED_VALUE` for functions, JS symbols,
 * class instances other than the value model's and `Map`/`Set`/`Date`,
 * invalid dates, and nesting deeper than {@link MAX_WRITE_DEPTH} (cycles).
 *
 * @example
 * writeEdn([kw("my/ev"), { a: 1, b: "x" }]) // '[:my/ev {:a 1, :b "x"}]'
 */
export function writeEdn(value: unknown): string {
  const saved = out;
  out = "";
  try {
    w(value, 0);
    return out;
  } finally {
    out = saved;
  }
}

function unsupported(what: string): never {
  throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write ${what} as EDN`);
}

function w(v: unknown, depth: number): void {
  switch (typeof v) {
    case "string":
      writeString(v);
      return;
    case "number":
      // Beyond 2^53 an integral number has already lost integer precision,
      // so it is written as the double it is (use a bigint for exact digits).
      out += Number.isSafeInteger(v) ? "" + v : formatDouble(v);
      return;
    case "boolean":
      out += v ? "true" : "false";
      return;
    case "undefined":
      out += "nil";
      return;
    case "bigint":
      out += v.toString();
      return;
    case "object":
      if (v === null) {
        out += "nil";
        return;
      }
      if (depth >= MAX_WRITE_DEPTH) {
        unsupported(`a structure nested deeper than ${MAX_WRITE_DEPTH} (cyclic?)`);
      }
      writeObject(v, depth + 1);
      return;
    case "function":
      return unsupported("a function");
    default:
      return unsupported(`a ${typeof v}`);
  }
}

function writeObject(v: object, depth: number): void {
  // Prototype identity is the cheapest dispatch for the common classes (no
  // megamorphic property load); subclasses and null prototypes fall through
  // to the `instanceof` chain.
  const p: unknown = Object.getPrototypeOf(v);
  if (p === OBJECT_PROTO) writeObjectMap(v as Record<string, unknown>, depth);
  else if (p === KEYWORD_PROTO) out += ":" + (v as Keyword).fqn;
  else if (p === ARRAY_PROTO) writeSeq(v as unknown[], "[", "]", depth);
  else if (p === LIST_PROTO) writeSeq(v as unknown[], "(", ")", depth);
  else if (p === EDNSET_PROTO) writeSet(v as Set<unknown>, depth);
  else if (p === MAP_PROTO) writeMap(v as Map<unknown, unknown>, depth);
  else writeOther(v, depth);
}

const OBJECT_PROTO: unknown = Object.prototype;
const KEYWORD_PROTO: unknown = Keyword.prototype;
const ARRAY_PROTO: unknown = Array.prototype;
const LIST_PROTO: unknown = List.prototype;
const EDNSET_PROTO: unknown = EdnSet.prototype;
const MAP_PROTO: unknown = Map.prototype;

function writeOther(v: object, depth: number): void {
  if (v instanceof Keyword) out += ":" + v.fqn;
  else if (v instanceof Sym) out += v.fqn;
  else if (Array.isArray(v)) writeSeq(v, v instanceof List ? "(" : "[", v instanceof List ? ")" : "]", depth);
  else if (v instanceof Map) writeMap(v, depth);
  else if (v instanceof Set) writeSet(v, depth);
  else if (v instanceof Double) out += formatDouble(v.valueOf());
  else if (v instanceof Date) writeDate(v);
  else if (v instanceof Uuid) out += '#uuid "' + v.value + '"';
  else if (v instanceof Char) writeChar(v.value);
  else if (v instanceof BigDec) out += v.text + "M";
  else if (v instanceof Ratio) out += v.numerator + "/" + v.denominator;
  else if (v instanceof Tagged) {
    out += "#" + v.tag + (ctorForm(v) ? "" : " ");
    w(v.value, depth);
  } else if (Object.getPrototypeOf(v) === null || Object.getPrototypeOf(v) === Object.prototype) {
    writeObjectMap(v as Record<string, unknown>, depth);
  } else {
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    unsupported(`an instance of ${typeof name === "string" && name !== "" ? name : "an unknown class"}`);
  }
}

/**
 * Clojure prints records as `#my.ns.Rec{…}` and opaque objects as
 * `#object[…]`, with no space (tagged literals get one: `#inst "…"`), so a
 * class-name tag on a map, or `object` on a vector, is written the same way.
 */
function ctorForm(t: Tagged): boolean {
  const v = t.value;
  if (t.tag === "object") return Array.isArray(v) && !(v instanceof List);
  if (t.tag.indexOf(".") <= 0 || t.tag.indexOf("/") >= 0 || typeof v !== "object" || v === null) return false;
  const p: unknown = Object.getPrototypeOf(v);
  return p === OBJECT_PROTO || p === null || v instanceof Map;
}

function writeSet(s: Set<unknown>, depth: number): void {
  out += "#{";
  let first = true;
  for (const x of s) {
    if (first) first = false;
    else out += " ";
    w(x, depth);
  }
  out += "}";
}

function writeSeq(a: readonly unknown[], open: string, close: string, depth: number): void {
  const n = a.length;
  if (n === 0) {
    out += open + close;
    return;
  }
  out += open;
  w(a[0], depth);
  for (let i = 1; i < n; i++) {
    out += " ";
    w(a[i], depth);
  }
  out += close;
}

function writeMap(m: Map<unknown, unknown>, depth: number): void {
  out += "{";
  let first = true;
  for (const [k, x] of m) {
    if (first) first = false;
    else out += ", ";
    w(k, depth);
    out += " ";
    w(x, depth);
  }
  out += "}";
}

function writeObjectMap(o: Record<string, unknown>, depth: number): void {
  out += "{";
  let first = true;
  // for-in (own keys only: a polluted Object.prototype must not leak into
  // frames) is markedly faster than Object.keys for same-shaped objects.
  for (const k in o) {
    if (!hasOwn.call(o, k)) continue;
    if (first) first = false;
    else out += ", ";
    out += objectKey(k);
    w(o[k], depth);
  }
  out += "}";
}

const hasOwn = Object.prototype.hasOwnProperty;

// Plain-object keys repeat across messages, so their printed form is cached.
// Bounded, because keys can be data (ids) and this must not grow forever.
const keyCache = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

/**
 * A plain-object key prints as a keyword when it reads back as that keyword,
 * else as a string. Returned with the space that follows it.
 */
function objectKey(k: string): string {
  let s = keyCache.get(k);
  if (s === undefined) {
    s = (isKeywordText(k) ? ":" + k : quote(k)) + " ";
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(k, s);
  }
  return s;
}

/**
 * True if `:` + `k` reads back as the keyword with fqn `k`: no whitespace,
 * delimiters or control characters, and tools.reader's namespace rules.
 */
export function isKeywordText(k: string): boolean {
  const n = k.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x80) {
      if (c <= 0x20 || c === 0x7f || KEY_BAD[c] === 1) return false;
    } else if (
      c <= 0x9f ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x205f ||
      c === 0x3000 ||
      (c >= 0xd800 && c <= 0xdfff)
    ) {
      return false;
    }
  }
  if (k.charCodeAt(0) === 58 || k.charCodeAt(n - 1) === 58) return false;
  // tools.reader's read-keyword rejects any token containing "::".
  if (k.indexOf("::") >= 0) return false;
  const slash = k.indexOf("/");
  if (slash < 0) return true;
  if (slash === 0) return n === 1;
  if (slash === n - 1 || k.charCodeAt(slash - 1) === 58) return false;
  const c = k.charCodeAt(slash + 1);
  if (c >= 48 && c <= 57) return false;
  return slash + 2 === n || k.indexOf("/", slash + 1) < 0;
}

// tools.reader ends a token at whitespace and its macro-terminating chars, and
// rejects @ ` ~ inside one; `#` is a constituent (`:a#` is a keyword).
const KEY_BAD = new Uint8Array(128);
for (const ch of '",;^()[]{}\\@`~') KEY_BAD[ch.charCodeAt(0)] = 1;

// Clojure's char-escape-string, plus \uXXXX for other control characters.
const ESC: string[] = [];
for (let c = 0; c < 0x20; c++) ESC[c] = "\\u" + c.toString(16).padStart(4, "0");
ESC[10] = "\\n";
ESC[9] = "\\t";
ESC[13] = "\\r";
ESC[12] = "\\f";
ESC[8] = "\\b";
ESC[34] = '\\"';
ESC[92] = "\\\\";

function needsEscape(c: number): boolean {
  return c < 0x20 || c === 34 || c === 92 || (c >= 0x7f && (c <= 0x9f || (c >= 0xd800 && c <= 0xdfff)));
}

function writeString(s: string): void {
  out += quote(s);
}

function quote(s: string): string {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII other than " and \ is by far the common case.
    if (c >= 0x20 && c < 0x7f && c !== 34 && c !== 92) continue;
    if (needsEscape(c)) return quoteSlow(s, i);
  }
  return '"' + s + '"';
}

function quoteSlow(s: string, i: number): string {
  const n = s.length;
  let r = '"' + s.slice(0, i);
  let chunk = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) continue;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a well-formed pair is written as is
        continue;
      }
    }
    r += s.slice(chunk, i) + (c < 0x20 || c === 34 || c === 92 ? ESC[c]! : "\\u" + c.toString(16).padStart(4, "0"));
    chunk = i + 1;
  }
  return r + s.slice(chunk) + '"';
}

const CHAR_NAMES: Record<string, string> = {
  "\n": "newline",
  " ": "space",
  "\t": "tab",
  "\r": "return",
  "\b": "backspace",
  "\f": "formfeed",
};

function writeChar(ch: string): void {
  const name = ch.length === 1 ? CHAR_NAMES[ch] : undefined;
  if (name !== undefined) {
    out += "\\" + name;
    return;
  }
  const c = ch.charCodeAt(0);
  if (ch.length === 1 && (c < 0xd800 || c > 0xdfff)) {
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? "\\u" + c.toString(16).padStart(4, "0") : "\\" + ch;
  } else if (ch.length === 2 && c >= 0xd800 && c <= 0xdbff && ch.charCodeAt(1) >= 0xdc00 && ch.charCodeAt(1) <= 0xdfff) {
    out += "\\" + ch;
  } else {
    unsupported(`a Char holding ${JSON.stringify(ch)} (not one code point)`);
  }
}

/**
 * Java's `Double.toString` (which Clojure prints doubles with): plain
 * decimal for 1e-3 ≤ |x| < 1e7, otherwise `d.dddEn`, always with a
 * fractional digit. JS supplies the shortest round-tripping digits, as
 * JDK 19+ does (older JDKs sometimes print a longer form).
 */
export function formatDouble(x: number): string {
  if (x !== x) return "##NaN";
  if (x === Infinity) return "##Inf";
  if (x === -Infinity) return "##-Inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const a = x < 0 ? -x : x;
  if (a >= 1e-3 && a < 1e7) {
    const s = "" + x;
    return Number.isInteger(x) ? s + ".0" : s;
  }
  let s = x.toExponential();
  // With a 1-digit shortest form, Java picks the closest decimal of 1 or 2
  // digits (4.9E-324, not 5.0E-324); toExponential(1) is exactly that.
  if (s.charCodeAt(x < 0 ? 2 : 1) === 101 /* e */) s = x.toExponential(1);
  const e = s.indexOf("e");
  const m = s.slice(0, e);
  const exp = s.charCodeAt(e + 1) === 43 /* + */ ? s.slice(e + 2) : s.slice(e + 1);
  return m + "E" + exp;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : "" + n;
}

function writeDate(d: Date): void {
  const t = d.getTime();
  if (t !== t) unsupported("an invalid Date");
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) unsupported(`a Date in year ${y} (#inst needs 4 digits)`);
  const ms = d.getUTCMilliseconds();
  out +=
    '#inst "' +
    (y < 1000 ? ("000" + y).slice(-4) : y) +
    "-" +
    pad2(d.getUTCMonth() + 1) +
    "-" +
    pad2(d.getUTCDate()) +
    "T" +
    pad2(d.getUTCHours()) +
    ":" +
    pad2(d.getUTCMinutes()) +
    ":" +
    pad2(d.getUTCSeconds()) +
    "." +
    (ms < 10 ? "00" + ms : ms < 100 ? "0" + ms : ms) +
    '-00:00"';
}
