/**
 * EDN reader: a single-pass scanner over a string, following the grammar of
 * Clojure's `clojure.edn/read-string` (tools.reader's EDN reader) plus the
 * number syntax of the Clojure reader, and producing the value model of
 * `values.ts`.
 *
 * Peer input must never crash the process, so {@link readEdn} never throws:
 * syntax problems, nesting that is too deep and oversized input all come
 * back as `Result` errors with stable codes.
 */
import { ChskError, type Result } from "../protocol/errors.js";
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
  type EdnObject,
  type EdnValue,
} from "./values.js";
import { writeEdn } from "./writer.js";

/** Options for {@link readEdn} and {@link parseEdn}. */
export interface ReadOptions {
  /**
   * Deepest accepted nesting of collections, tagged values, `#_` discards
   * and metadata. Deeper input fails with `CHSK_ERR_EDN_DEPTH`.
   * @default 64
   */
  maxDepth?: number;
  /**
   * Largest accepted input, in UTF-8 bytes. Larger input fails with
   * `CHSK_ERR_FRAME_TOO_LARGE` before any parsing happens.
   * @default 1_048_576
   */
  maxBytes?: number;
  /**
   * Readers for tagged literals, keyed by tag without `#` (`"my/point"`).
   * They take precedence over the built-in `inst` and `uuid` readers. A tag
   * with no handler reads as a {@link Tagged}. A handler returning
   * `undefined` reads as nil; one that throws makes the read fail with
   * `CHSK_ERR_EDN_SYNTAX` (the thrown value is the cause).
   */
  tagHandlers?: Record<string, (value: EdnValue) => unknown>;
}

export const DEFAULT_MAX_DEPTH = 64;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

// Character classes for ASCII. Tokens (symbols, keywords) end at whitespace or
// a terminating macro character; numbers also end at `#` and `:`, because
// tools.reader stops a number at any macro character.
const WS = 1;
const TERM = 2;
const NUM_TERM = 4;
const CLS = new Uint8Array(128);
for (const c of [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 44]) CLS[c] = WS | NUM_TERM;
for (const ch of '";^()[]{}\\') CLS[ch.charCodeAt(0)] = TERM | NUM_TERM;
CLS[35] = NUM_TERM; // #
CLS[58] = NUM_TERM; // :

/** Java's `Character.isWhitespace` above ASCII (Zs/Zl/Zp minus no-break spaces). */
function isUnicodeWs(c: number): boolean {
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Thrown internally and turned into a `Result` at the API boundary. */
class ReadError {
  constructor(
    readonly code: "CHSK_ERR_EDN_SYNTAX" | "CHSK_ERR_EDN_DEPTH",
    readonly message: string,
    readonly offset: number,
    readonly cause?: unknown,
  ) {}
}

const hasOwn = Object.prototype.hasOwnProperty;

// `new EdnSet()` (likewise List, Double: subclasses of builtins) makes V8
// abort optimizing the calling function again and again ("dependency
// change"), which cost the reader ~30%. Reflect.construct builds the very
// same object without that.
const newSet = (): EdnSet => Reflect.construct(Set, [], EdnSet) as EdnSet;
const newList = (): List => Reflect.construct(Array, [], List) as List;
const newDouble = (n: number): Double => Reflect.construct(Number, [n], Double) as Double;

// Recently read keywords by hash of their text. Only valid keywords get in,
// so a hit needs no validation. Keywords are interned forever anyway, so this
// holds nothing that would otherwise be freed.
const KW_CACHE_MASK = 1023;
const PROTO_KW = Keyword.of("__proto__");
const kwCache: (Keyword | undefined)[] = new Array<Keyword | undefined>(KW_CACHE_MASK + 1).fill(undefined);

class Reader {
  readonly s: string;
  readonly len: number;
  pos = 0;
  depth = 0;
  readonly maxDepth: number;
  readonly tags: Record<string, (value: EdnValue) => unknown> | undefined;
  // Key/value scratch space shared by all maps being read, so a map costs
  // no temporary allocation beyond its result.
  readonly stack: EdnValue[] = [];
  sp = 0;

  constructor(s: string, maxDepth: number, tags: ReadOptions["tagHandlers"]) {
    this.s = s;
    this.len = s.length;
    this.maxDepth = maxDepth;
    this.tags = tags;
  }

  fail(message: string, offset: number = this.pos): never {
    throw new ReadError("CHSK_ERR_EDN_SYNTAX", message, offset);
  }

  enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new ReadError(
        "CHSK_ERR_EDN_DEPTH",
        `nesting deeper than maxDepth ${this.maxDepth}`,
        this.pos,
      );
    }
  }

  readTop(): EdnValue {
    const c = this.skipWs();
    if (c < 0) this.fail("unexpected end of input: no value");
    const v = this.readValue(c);
    if (this.skipWs() >= 0) this.fail("unexpected content after the value");
    return v;
  }

  /** Skips whitespace, commas, comments and `#_` discards; returns the next char code or -1. */
  skipWs(): number {
    const s = this.s;
    const len = this.len;
    let pos = this.pos;
    while (pos < len) {
      const c = s.charCodeAt(pos);
      if (c < 128) {
        if (CLS[c]! & WS) {
          pos++;
          continue;
        }
        if (c === 59 /* ; */) {
          pos = skipLine(s, pos + 1, len);
          continue;
        }
        if (c === 35 /* # */ && pos + 1 < len) {
          const d = s.charCodeAt(pos + 1);
          if (d === 95 /* _ */) {
            this.pos = pos + 2;
            this.enter();
            const c2 = this.skipWs();
            if (c2 < 0) this.fail("unexpected end of input after #_");
            this.readValue(c2);
            this.depth--;
            pos = this.pos;
            continue;
          }
          if (d === 33 /* ! */) {
            pos = skipLine(s, pos + 2, len);
            continue;
          }
        }
        this.pos = pos;
        return c;
      }
      if (isUnicodeWs(c)) {
        pos++;
        continue;
      }
      this.pos = pos;
      return c;
    }
    this.pos = pos;
    return -1;
  }

  /** Reads one form whose first char `c` (already known not to be whitespace) is at `pos`. */
  readValue(c: number): EdnValue {
    switch (c) {
      case 91 /* [ */:
        return this.readVector();
      case 123 /* { */:
        return this.readMap(null, this.pos);
      case 34 /* " */:
        return this.readString();
      case 58 /* : */:
        return this.readKeyword();
      case 40 /* ( */:
        return this.readList();
      case 35 /* # */:
        return this.readDispatch();
      case 92 /* \ */:
        return this.readChar();
      case 94 /* ^ */:
        return this.readMeta();
      case 41:
      case 93:
      case 125:
        return this.fail(`unmatched delimiter ${String.fromCharCode(c)}`);
      case 43 /* + */:
      case 45 /* - */: {
        const d = this.pos + 1 < this.len ? this.s.charCodeAt(this.pos + 1) : -1;
        if (d >= 48 && d <= 57) return this.readNumber();
        return this.readSymbol();
      }
      default:
        if (c >= 48 && c <= 57) return this.readNumber();
        return this.readSymbol();
    }
  }

  readVector(): EdnValue[] {
    this.enter();
    const start = this.pos++;
    const out: EdnValue[] = [];
    for (;;) {
      const c = this.skipWs();
      if (c === 93 /* ] */) break;
      if (c < 0) this.fail("unexpected end of input in vector", start);
      out.push(this.readValue(c));
    }
    this.pos++;
    this.depth--;
    return out;
  }

  readList(): List {
    this.enter();
    const start = this.pos++;
    const out = newList();
    for (;;) {
      const c = this.skipWs();
      if (c === 41 /* ) */) break;
      if (c < 0) this.fail("unexpected end of input in list", start);
      out.push(this.readValue(c));
    }
    this.pos++;
    this.depth--;
    return out;
  }

  readSet(start: number): EdnSet {
    this.enter();
    const out = newSet();
    let composite: Set<string> | undefined;
    for (;;) {
      const c = this.skipWs();
      if (c === 125 /* } */) break;
      if (c < 0) this.fail("unexpected end of input in set", start);
      const v = this.readValue(c);
      if (isComposite(v)) {
        composite ??= new Set();
        if (!addText(composite, v)) this.fail("duplicate set element", start);
        out.add(v);
      } else {
        const n = out.size;
        if (out.add(v).size === n) this.fail("duplicate set element", start);
      }
    }
    this.pos++;
    this.depth--;
    return out;
  }

  /** Reads `{…}` at `pos`; `ns` is the namespace of a `#:ns{…}` map. */
  readMap(ns: string | null, start: number): EdnObject | Map<EdnValue, EdnValue> {
    this.enter();
    this.pos++;
    const base = this.sp;
    const stack = this.stack;
    let allKeywords = true;
    for (;;) {
      let c = this.skipWs();
      if (c === 125 /* } */) break;
      if (c < 0) this.fail("unexpected end of input in map", start);
      let k = this.readValue(c);
      c = this.skipWs();
      if (c === 125) this.fail("map literal must contain an even number of forms", start);
      if (c < 0) this.fail("unexpected end of input in map", start);
      const v = this.readValue(c);
      if (ns !== null) k = qualify(k, ns);
      if (!(k instanceof Keyword)) allKeywords = false;
      stack[this.sp++] = k;
      stack[this.sp++] = v;
    }
    this.pos++;
    this.depth--;
    const end = this.sp;
    this.sp = base;
    if (allKeywords) {
      // Keywords are interned, so duplicates are found by identity: pairwise
      // for the usual small map, through a Set for big ones.
      const n = (end - base) >> 1;
      if (n > 1) {
        if (n <= 16) {
          for (let i = base + 2; i < end; i += 2) {
            const k = stack[i];
            for (let j = base; j < i; j += 2) {
              if (stack[j] === k) this.fail(`duplicate map key ${String(k)}`, start);
            }
          }
        } else {
          const seen = new Set<EdnValue>();
          for (let i = base; i < end; i += 2) {
            if (seen.size === seen.add(stack[i]).size) this.fail(`duplicate map key ${String(stack[i])}`, start);
          }
        }
      }
      const obj: EdnObject = {};
      for (let i = base; i < end; i += 2) {
        const k = stack[i] as Keyword;
        if (k === PROTO_KW) {
          // Plain assignment would replace the prototype instead.
          Object.defineProperty(obj, "__proto__", {
            value: stack[i + 1],
            writable: true,
            enumerable: true,
            configurable: true,
          });
        } else {
          obj[k.fqn] = stack[i + 1];
        }
      }
      return obj;
    }
    const map = new Map<EdnValue, EdnValue>();
    let composite: Set<string> | undefined;
    for (let i = base; i < end; i += 2) {
      const k = stack[i];
      if (isComposite(k)) {
        composite ??= new Set();
        if (!addText(composite, k)) this.fail("duplicate map key", start);
      } else if (map.has(k)) {
        this.fail(`duplicate map key ${String(k)}`, start);
      }
      map.set(k, stack[i + 1]);
    }
    return map;
  }

  readString(): string {
    const s = this.s;
    const len = this.len;
    const start = this.pos + 1;
    for (let i = start; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.pos = i + 1;
        return s.slice(start, i);
      }
      if (c === 92) return this.readEscapedString(start, i);
    }
    return this.fail("unexpected end of input in string", start - 1);
  }

  readEscapedString(start: number, i: number): string {
    const s = this.s;
    const len = this.len;
    let out = s.slice(start, i);
    let chunk = i;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.pos = i + 1;
        return out + s.slice(chunk, i);
      }
      if (c !== 92) {
        i++;
        continue;
      }
      out += s.slice(chunk, i);
      if (i + 1 >= len) break;
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 110 /* n */:
          out += "\n";
          break;
        case 116 /* t */:
          out += "\t";
          break;
        case 114 /* r */:
          out += "\r";
          break;
        case 34:
          out += '"';
          break;
        case 92:
          out += "\\";
          break;
        case 98 /* b */:
          out += "\b";
          break;
        case 102 /* f */:
          out += "\f";
          break;
        case 117 /* u */: {
          const u = i + 4 <= len ? hex4(s, i) : -1;
          if (u < 0) this.fail("invalid unicode escape in string", i - 2);
          out += String.fromCharCode(u);
          i += 4;
          break;
        }
        default: {
          if (e >= 48 && e <= 55) {
            // Octal escape: up to three octal digits, at most \377.
            let v = e - 48;
            let n = 1;
            while (n < 3 && i < len) {
              const d = s.charCodeAt(i) - 48;
              if (d < 0 || d > 7) break;
              v = v * 8 + d;
              i++;
              n++;
            }
            if (v > 0o377) this.fail("octal escape out of range (max \\377)", i - n - 1);
            out += String.fromCharCode(v);
            break;
          }
          this.fail(`unsupported escape character \\${String.fromCharCode(e)}`, i - 2);
        }
      }
      chunk = i;
    }
    return this.fail("unexpected end of input in string", start - 1);
  }

  /** Scans a symbol/keyword token from `from`; returns its end. */
  tokenEnd(from: number): number {
    const s = this.s;
    const len = this.len;
    let i = from;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c < 128 ? CLS[c]! & (WS | TERM) : isUnicodeWs(c)) break;
      i++;
    }
    return i;
  }

  readKeyword(): Keyword {
    const s = this.s;
    const len = this.len;
    const start = this.pos + 1;
    // Scan and hash the token in one pass, so a keyword seen before is found
    // without slicing or re-validating it.
    let h = 0;
    let i = start;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c < 128 ? CLS[c]! & (WS | TERM) : isUnicodeWs(c)) break;
      h = (Math.imul(h, 31) + c) | 0;
      i++;
    }
    this.pos = i;
    const slot = (h ^ (h >>> 11)) & KW_CACHE_MASK;
    const hit = kwCache[slot];
    if (hit !== undefined) {
      const f = hit.fqn;
      const n = f.length;
      if (n === i - start) {
        let j = 0;
        while (j < n && f.charCodeAt(j) === s.charCodeAt(start + j)) j++;
        if (j === n) return hit;
      }
    }
    if (i === start) this.fail("invalid token: :", start - 1);
    const token = s.slice(start, i);
    if (token.charCodeAt(0) === 58) this.fail(`auto-resolved keyword :${token} is not EDN`, start - 1);
    if (!isValidSymbolToken(token)) this.fail(`invalid keyword :${token}`, start - 1);
    const k = Keyword.of(token);
    kwCache[slot] = k;
    return k;
  }

  readSymbol(): EdnValue {
    const start = this.pos;
    const end = this.tokenEnd(start);
    this.pos = end;
    const token = this.s.slice(start, end);
    switch (token) {
      case "nil":
        return null;
      case "true":
        return true;
      case "false":
        return false;
    }
    if (!isValidSymbolToken(token)) this.fail(`invalid symbol ${token}`, start);
    return Sym.of(token);
  }

  readNumber(): EdnValue {
    const s = this.s;
    const len = this.len;
    const start = this.pos;
    let i = start;
    let c = s.charCodeAt(i);
    const neg = c === 45;
    if (neg || c === 43) c = s.charCodeAt(++i);
    // Fast path: a plain decimal integer of at most 15 digits is exact as a double.
    const digits = i;
    let v = 0;
    while (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      c = ++i < len ? s.charCodeAt(i) : -1;
    }
    if (c < 0 || (c < 128 ? CLS[c]! & NUM_TERM : isUnicodeWs(c))) {
      const n = i - digits;
      if (n <= 15 && (n === 1 || s.charCodeAt(digits) !== 48)) {
        this.pos = i;
        return neg ? 0 - v : v;
      }
    } else if (c === 46 /* . */ && i - digits <= 15) {
      // Fast path for `123.45`: with at most 15 significant digits the
      // integer m and 10^k are exact doubles, so m / 10^k is correctly
      // rounded, i.e. equal to Number(text) (Clinger's fast path).
      const intEnd = i;
      c = ++i < len ? s.charCodeAt(i) : -1;
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        c = ++i < len ? s.charCodeAt(i) : -1;
      }
      const k = i - intEnd - 1;
      if ((c < 0 || (c < 128 ? CLS[c]! & NUM_TERM : isUnicodeWs(c))) && i - digits - 1 <= 15) {
        this.pos = i;
        const x = k === 0 ? v : v / POW10[k]!;
        const r = neg ? -x : x;
        return r === Math.floor(r) ? newDouble(r) : r;
      }
    }
    while (i < len) {
      c = s.charCodeAt(i);
      if (c < 128 ? CLS[c]! & NUM_TERM : isUnicodeWs(c)) break;
      i++;
    }
    this.pos = i;
    const token = s.slice(start, i);
    const r = parseNumber(token);
    if (r === undefined) this.fail(`invalid number ${token}`, start);
    return r;
  }

  readChar(): Char {
    const s = this.s;
    const start = this.pos;
    const first = start + 1;
    if (first >= this.len) this.fail("unexpected end of input in character", start);
    const c = s.charCodeAt(first);
    let end: number;
    if (c < 128 ? CLS[c]! & (WS | TERM) : isUnicodeWs(c)) {
      end = first + 1;
    } else {
      // Take a whole surrogate pair as the first char so `\😀` reads as one code point.
      const after = c >= 0xd800 && c <= 0xdbff && first + 1 < this.len ? first + 2 : first + 1;
      end = this.tokenEnd(after);
    }
    this.pos = end;
    const token = s.slice(first, end);
    const n = end - first;
    if (n === 1 || (n === 2 && c >= 0xd800 && c <= 0xdbff && isLowSurrogate(token.charCodeAt(1)))) {
      return new Char(token);
    }
    switch (token) {
      case "newline":
        return new Char("\n");
      case "space":
        return new Char(" ");
      case "tab":
        return new Char("\t");
      case "return":
        return new Char("\r");
      case "backspace":
        return new Char("\b");
      case "formfeed":
        return new Char("\f");
    }
    if (c === 117 /* u */ && n === 5) {
      const u = hex4(token, 1);
      if (u >= 0 && (u < 0xd800 || u > 0xdfff)) return new Char(String.fromCharCode(u));
      this.fail(`invalid character constant \\${token}`, start);
    }
    if (c === 111 /* o */ && n >= 2 && n <= 4) {
      let v = 0;
      for (let j = 1; j < n; j++) {
        const d = token.charCodeAt(j) - 48;
        if (d < 0 || d > 7) this.fail(`invalid octal character \\${token}`, start);
        v = v * 8 + d;
      }
      if (v <= 0o377) return new Char(String.fromCharCode(v));
      this.fail(`octal character out of range \\${token}`, start);
    }
    return this.fail(`unsupported character \\${token}`, start);
  }

  readMeta(): EdnValue {
    // Clojure's `pr` never prints metadata by default, and our values can't
    // carry it, so it is read (to stay in sync) and dropped.
    const start = this.pos++;
    this.enter();
    let c = this.skipWs();
    if (c < 0) this.fail("unexpected end of input after ^", start);
    const meta = this.readValue(c);
    if (
      !(meta instanceof Keyword || meta instanceof Sym || typeof meta === "string") &&
      !(meta instanceof Map || isObjectMap(meta))
    ) {
      this.fail("metadata must be a symbol, keyword, string or map", start);
    }
    c = this.skipWs();
    if (c < 0) this.fail("unexpected end of input after metadata", start);
    const v = this.readValue(c);
    this.depth--;
    return v;
  }

  readDispatch(): EdnValue {
    const s = this.s;
    const start = this.pos;
    if (start + 1 >= this.len) this.fail("unexpected end of input after #", start);
    const d = s.charCodeAt(start + 1);
    switch (d) {
      case 123 /* { */:
        this.pos = start + 2;
        return this.readSet(start);
      case 35 /* # */: {
        this.pos = start + 2;
        const c = this.skipWs();
        if (c < 0) this.fail("unexpected end of input after ##", start);
        const tstart = this.pos;
        const end = this.tokenEnd(tstart);
        this.pos = end;
        switch (s.slice(tstart, end)) {
          case "Inf":
            return Infinity;
          case "-Inf":
            return -Infinity;
          case "NaN":
            return NaN;
        }
        return this.fail(`unknown symbolic value ##${s.slice(tstart, end)}`, start);
      }
      case 58 /* : */: {
        const nstart = start + 2;
        const end = this.tokenEnd(nstart);
        const ns = s.slice(nstart, end);
        if (ns.length === 0 || ns.charCodeAt(0) === 58) {
          this.fail("namespaced map needs an explicit namespace (#:: is not EDN)", start);
        }
        if (ns.indexOf("/") >= 0 || !isValidSymbolToken(ns)) this.fail(`invalid namespaced map prefix ${ns}`, start);
        this.pos = end;
        if (this.skipWs() !== 123) this.fail("namespaced map must specify a map", start);
        return this.readMap(ns, start);
      }
    }
    if (d < 128 ? CLS[d]! & (WS | TERM) : isUnicodeWs(d)) {
      this.fail(`unsupported dispatch #${String.fromCharCode(d)}`, start);
    }
    if ((d >= 48 && d <= 57) || d === 39 || d === 60 || d === 61 || d === 63 || d === 40) {
      // #123, #', #<, #=, #? and #( are Clojure-only (or invalid) and never EDN.
      this.fail(`unsupported dispatch #${String.fromCharCode(d)}`, start);
    }
    return this.readTagged(start);
  }

  readTagged(start: number): EdnValue {
    const tstart = start + 1;
    const end = this.tokenEnd(tstart);
    const tag = this.s.slice(tstart, end);
    const c0 = tag.charCodeAt(0);
    const c1 = tag.length > 1 ? tag.charCodeAt(1) : 0;
    if (
      !isValidSymbolToken(tag) ||
      tag === "nil" ||
      tag === "true" ||
      tag === "false" ||
      ((c0 === 43 || c0 === 45) && c1 >= 48 && c1 <= 57)
    ) {
      this.fail(`reader tag must be a symbol: #${tag}`, start);
    }
    this.pos = end;
    this.enter();
    const c = this.skipWs();
    if (c < 0) this.fail(`unexpected end of input after #${tag}`, start);
    const v = this.readValue(c);
    this.depth--;
    const tags = this.tags;
    if (tags !== undefined && hasOwn.call(tags, tag)) {
      let r: unknown;
      try {
        r = tags[tag]!(v);
      } catch (e) {
        throw new ReadError("CHSK_ERR_EDN_SYNTAX", `tag handler #${tag} failed`, start, e);
      }
      return r === undefined ? null : (r as EdnValue);
    }
    if (tag === "inst") {
      if (typeof v !== "string") this.fail("#inst expects a string", start);
      const d = parseInst(v);
      if (d === undefined) this.fail(`invalid #inst "${v}"`, start);
      return d;
    }
    if (tag === "uuid") {
      if (typeof v !== "string" || !isUuidText(v)) this.fail("#uuid expects a UUID string", start);
      return new Uuid(v);
    }
    return new Tagged(tag, v);
  }
}

function skipLine(s: string, i: number, len: number): number {
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) return i + 1;
    i++;
  }
  return len;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Four hex digits at `i`, or -1. */
function hex4(s: string, i: number): number {
  const a = hexDigit(s.charCodeAt(i));
  const b = hexDigit(s.charCodeAt(i + 1));
  const c = hexDigit(s.charCodeAt(i + 2));
  const d = hexDigit(s.charCodeAt(i + 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * tools.reader's `parse-symbol`: the namespace ends at the first `/`; the
 * name may not be empty, start with a digit, or contain `/` (except the
 * name `/` itself); no part may end with `:`. Also used for keywords.
 */
export function isValidSymbolToken(token: string): boolean {
  const n = token.length;
  if (n === 0 || token.charCodeAt(n - 1) === 58) return false;
  if (n > 1 && token.charCodeAt(0) === 58 && token.charCodeAt(1) === 58) return false;
  const slash = token.indexOf("/");
  if (slash < 0) return true;
  if (slash === 0) return n === 1;
  if (slash === n - 1) return false;
  if (token.charCodeAt(slash - 1) === 58) return false;
  const c = token.charCodeAt(slash + 1);
  if (c >= 48 && c <= 57) return false;
  // `ns//` names the symbol `/` in namespace `ns`.
  return slash + 2 === n || token.indexOf("/", slash + 1) < 0;
}

function qualify(k: EdnValue, ns: string): EdnValue {
  if (k instanceof Keyword) {
    if (k.ns === null) return Keyword.of(ns + "/" + k.name);
    if (k.ns === "_") return Keyword.of(k.name);
  } else if (k instanceof Sym) {
    const slash = k.fqn.indexOf("/");
    if (slash <= 0) return k.fqn === "/" ? k : Sym.of(ns + "/" + k.fqn);
    if (k.fqn.slice(0, slash) === "_") return Sym.of(k.fqn.slice(slash + 1));
  }
  return k;
}

/** Values that JS `Set`/`Map` can't compare by value; deduplicated through their EDN text. */
function isComposite(v: EdnValue): boolean {
  return typeof v === "object" && v !== null && !(v instanceof Keyword) && !(v instanceof Sym);
}

function addText(seen: Set<string>, v: EdnValue): boolean {
  let text: string;
  try {
    text = writeEdn(v);
  } catch {
    return true; // a tag handler's unprintable result: no way to compare it
  }
  const n = seen.size;
  return seen.add(text).size !== n;
}

function isObjectMap(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

const TWO_53 = 2 ** 53;
const POW10 = Array.from({ length: 23 }, (_, i) => Number("1e" + i));

function digitsValue(d: string, radix: number, neg: boolean): number | bigint | undefined {
  let v = 0;
  for (let i = 0; i < d.length; i++) {
    const c = d.charCodeAt(i);
    let x: number;
    if (c >= 48 && c <= 57) x = c - 48;
    else if (c >= 65 && c <= 90) x = c - 55;
    else if (c >= 97 && c <= 122) x = c - 87;
    else return undefined;
    if (x >= radix) return undefined;
    v = v * radix + x;
  }
  if (v < TWO_53) return neg ? 0 - v : v;
  // Beyond 2^53 the running double lost precision: redo it exactly.
  let b = 0n;
  const r = BigInt(radix);
  for (let i = 0; i < d.length; i++) b = b * r + BigInt(parseInt(d[i]!, radix));
  return neg ? -b : b;
}

function isDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The Clojure reader's number grammar, tried in its order: integer (decimal,
 * `0x` hex, leading-`0` octal, `NrDIGITS` radix, optional `N`), then float
 * (optional `M`), then ratio. Returns undefined if the token is none of them.
 */
function parseNumber(t: string): EdnValue | undefined {
  const n = t.length;
  let i = 0;
  const c0 = t.charCodeAt(0);
  const neg = c0 === 45;
  if (neg || c0 === 43) i = 1;
  let j = i;
  while (j < n && t.charCodeAt(j) >= 48 && t.charCodeAt(j) <= 57) j++;
  if (j === i) return undefined;
  const intDigits = t.slice(i, j);
  const next = j < n ? t.charCodeAt(j) : -1;

  // Integers
  if (next === -1 || (next === 78 /* N */ && j === n - 1)) {
    const big = next === 78;
    let v: number | bigint | undefined;
    if (intDigits.length > 1 && intDigits.charCodeAt(0) === 48) {
      v = digitsValue(intDigits.slice(1), 8, neg); // 0[0-9]+ with 8 or 9 is invalid
    } else {
      v = intDigits.length <= 15 ? digitsValue(intDigits, 10, neg) : bigDecimal(intDigits, neg);
    }
    if (v === undefined) return undefined;
    return big ? BigInt(v) : v;
  }
  if ((next === 120 || next === 88) /* x X */ && intDigits === "0") {
    let end = n;
    const big = t.charCodeAt(n - 1) === 78;
    if (big) end--;
    if (end <= j + 1) return undefined;
    const v = digitsValue(t.slice(j + 1, end), 16, neg);
    if (v === undefined) return undefined;
    return big ? BigInt(v) : v;
  }
  if ((next === 114 || next === 82) /* r R */ && intDigits.charCodeAt(0) !== 48 && intDigits.length <= 2) {
    const radix = Number(intDigits);
    if (radix < 2 || radix > 36 || j + 1 >= n) return undefined;
    return digitsValue(t.slice(j + 1), radix, neg);
  }

  // Ratio
  if (next === 47 /* / */) {
    if (!isDigits(t, j + 1, n)) return undefined;
    const den = BigInt(t.slice(j + 1));
    if (den === 0n) return undefined;
    const num = BigInt(intDigits);
    return new Ratio(neg ? -num : num, den);
  }

  // Float: digits (. digits*)? ([eE] [-+]? digits+)? M?
  let k = j;
  if (next === 46 /* . */) {
    k++;
    while (k < n && t.charCodeAt(k) >= 48 && t.charCodeAt(k) <= 57) k++;
  }
  if (k < n && (t.charCodeAt(k) | 0x20) === 101 /* e */) {
    k++;
    if (k < n && (t.charCodeAt(k) === 43 || t.charCodeAt(k) === 45)) k++;
    const e0 = k;
    while (k < n && t.charCodeAt(k) >= 48 && t.charCodeAt(k) <= 57) k++;
    if (k === e0) return undefined;
  }
  if (k === n - 1 && t.charCodeAt(k) === 77 /* M */) {
    return new BigDec(c0 === 43 ? t.slice(1, k) : t.slice(0, k));
  }
  if (k !== n) return undefined;
  const v = Number(t);
  return Number.isInteger(v) || v === 0 ? newDouble(v) : v;
}

function bigDecimal(d: string, neg: boolean): number | bigint {
  const x = Number(d);
  if (x < TWO_53) return neg ? 0 - x : x;
  const b = BigInt(d);
  return neg ? -b : b;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function num2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/**
 * `clojure.instant`'s grammar: `yyyy(-MM(-dd(Thh(:mm(:ss(.f+)?)?)?)?)?` then
 * optional `Z` or `±hh:mm`, with its range checks. Fractions beyond
 * milliseconds are truncated, as `java.util.Date` does.
 */
export function parseInst(s: string): Date | undefined {
  const n = s.length;
  if (n < 4) return undefined;
  const y1 = num2(s, 0);
  const y2 = num2(s, 2);
  if (y1 < 0 || y2 < 0) return undefined;
  const year = y1 * 100 + y2;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let i = 4;
  parts: {
    if (i >= n || s.charCodeAt(i) !== 45 /* - */ || i + 3 > n) break parts;
    if ((month = num2(s, i + 1)) < 0) return undefined;
    i += 3;
    if (i >= n || s.charCodeAt(i) !== 45 || i + 3 > n) break parts;
    if ((day = num2(s, i + 1)) < 0) return undefined;
    i += 3;
    if (i >= n || s.charCodeAt(i) !== 84 /* T */) break parts;
    if (i + 3 > n || (hour = num2(s, i + 1)) < 0) return undefined;
    i += 3;
    if (i >= n || s.charCodeAt(i) !== 58 /* : */) break parts;
    if (i + 3 > n || (minute = num2(s, i + 1)) < 0) return undefined;
    i += 3;
    if (i >= n || s.charCodeAt(i) !== 58) break parts;
    if (i + 3 > n || (second = num2(s, i + 1)) < 0) return undefined;
    i += 3;
    if (i >= n || s.charCodeAt(i) !== 46 /* . */) break parts;
    i++;
    const f0 = i;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === f0) return undefined;
    const frac = s.slice(f0, Math.min(i, f0 + 3));
    ms = Number(frac) * (frac.length === 1 ? 100 : frac.length === 2 ? 10 : 1);
  }
  let offset = 0;
  if (i < n) {
    const c = s.charCodeAt(i);
    if (c === 90 /* Z */ && i === n - 1) {
      // UTC
    } else if ((c === 43 || c === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
      const oh = num2(s, i + 1);
      const om = num2(s, i + 4);
      if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
      offset = (c === 45 ? -1 : 1) * (oh * 60 + om);
    } else {
      return undefined;
    }
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > (month === 2 && leap ? 29 : DAYS[month - 1]!)) return undefined;
  if (hour > 23 || minute > 59 || second > (minute === 59 ? 60 : 59)) return undefined;
  // Date.UTC maps years 0–99 to 1900–1999; 400 Gregorian years are exactly 146097 days.
  const t =
    year < 100
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - 146097 * 86_400_000
      : Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return new Date(t - offset * 60_000);
}

function isUuidText(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (hexDigit(c) < 0) {
      return false;
    }
  }
  return true;
}

/** Exact UTF-8 length of `s`, stopping early once it exceeds `limit`. */
function utf8LengthOver(s: string, limit: number): boolean {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}

/**
 * Reads one EDN value from `text`, as `clojure.edn/read-string` would (with
 * `#inst` and `#uuid` readers), but strictly: the text must hold exactly one
 * value, optionally surrounded by whitespace, commas, comments and `#_`
 * discards. Duplicate map keys or set elements are errors, as in Clojure.
 *
 * Never throws on bad input. Errors carry the code `CHSK_ERR_EDN_SYNTAX`
 * (with `detail.offset`, the UTF-16 offset of the problem),
 * `CHSK_ERR_EDN_DEPTH` or `CHSK_ERR_FRAME_TOO_LARGE`.
 *
 * @example
 * readEdn('[:my/ev {:a 1}]') // { ok: true, value: [kw("my/ev"), { a: 1 }] }
 */
export function readEdn(text: string, opts?: ReadOptions): Result<EdnValue> {
  if (typeof text !== "string") {
    // Untyped callers can hand us anything a socket produced.
    return {
      ok: false,
      error: new ChskError("CHSK_ERR_EDN_SYNTAX", `EDN input must be a string, not ${typeof text}`, {
        detail: { offset: 0 },
      }),
    };
  }
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  const n = text.length;
  // A UTF-16 unit is 1–3 UTF-8 bytes (a surrogate pair is 4 for 2 units), so
  // `length` bounds the byte length within a factor of 3 either way.
  if (n * 3 > maxBytes && (n > maxBytes || utf8LengthOver(text, maxBytes))) {
    return {
      ok: false,
      error: new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `EDN input larger than maxBytes ${maxBytes}`, {
        detail: { maxBytes },
      }),
    };
  }
  const r = new Reader(text, opts?.maxDepth ?? DEFAULT_MAX_DEPTH, opts?.tagHandlers);
  try {
    return { ok: true, value: r.readTop() };
  } catch (e) {
    if (e instanceof ReadError) {
      const options = { detail: { offset: e.offset }, ...(e.cause === undefined ? {} : { cause: e.cause }) };
      const prefix = e.code === "CHSK_ERR_EDN_DEPTH" ? "EDN too deep" : "EDN syntax error";
      return { ok: false, error: new ChskError(e.code, `${prefix} at offset ${e.offset}: ${e.message}`, options) };
    }
    if (e instanceof RangeError) {
      // Only reachable with a maxDepth larger than the JS stack allows.
      return {
        ok: false,
        error: new ChskError("CHSK_ERR_EDN_DEPTH", "EDN too deep: call stack exhausted", {
          cause: e,
          detail: { offset: r.pos },
        }),
      };
    }
    return {
      ok: false,
      error: new ChskError("CHSK_ERR_EDN_SYNTAX", `EDN syntax error at offset ${r.pos}`, {
        cause: e,
        detail: { offset: r.pos },
      }),
    };
  }
}

/**
 * Like {@link readEdn} but throws the `ChskError`. For trusted, local text
 * (tests, fixtures, configuration), never for peer input.
 */
export function parseEdn(text: string, opts?: ReadOptions): EdnValue {
  const r = readEdn(text, opts);
  if (!r.ok) throw r.error;
  return r.value;
}
