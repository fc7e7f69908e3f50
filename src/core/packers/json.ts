/**
 * A plain-JSON packer for deployments where both ends are chsk (JS/TS).
 * Sente has no JSON packer; a Clojure peer cannot read these frames.
 *
 * Also home to the JSON input guards (`jsonTextOf`, `jsonDepthExceeds`)
 * that the transit packer shares, since transit-json is JSON.
 */
import { Keyword, Tagged } from "../edn/values.js";
import { ChskError, err, ok, type Result } from "../protocol/errors.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

export interface JsonPackerOptions {
  /**
   * Limits used when `unpack` is called without its own. Per-call limits
   * override these field by field.
   * @default DEFAULT_DECODE_LIMITS (1 MiB, depth 64)
   */
  limits?: DecodeLimits;
}

/**
 * The JSON packer (`name: "json"`, text frames, `keywordsAsStrings: true`).
 *
 * Writing maps the value model onto JSON like this:
 *
 * | value                               | JSON                                            |
 * |-------------------------------------|-------------------------------------------------|
 * | `Keyword`, `Sym`                    | its fqn string (`"my/ev"`)                      |
 * | `Uuid`, `Char`, `BigDec`            | its text                                        |
 * | `Date`                              | ISO-8601 string (`Date#toJSON`)                 |
 * | `Ratio`, `Double`                   | a number                                        |
 * | `bigint` within ±(2^53-1)           | a number                                        |
 * | `bigint` beyond ±(2^53-1)           | **throws** `CHSK_ERR_UNSUPPORTED_VALUE`         |
 * | `Map` with string/`Keyword` keys    | an object                                       |
 * | `Map` with any other key            | **throws** `CHSK_ERR_UNSUPPORTED_VALUE`         |
 * | `Set` / `EdnSet`, `List`            | an array                                        |
 * | `Tagged`, functions, JS symbols     | **throws** `CHSK_ERR_UNSUPPORTED_VALUE`         |
 * | `undefined`                         | `null` (also as an object property value)       |
 * | `NaN`, `±Infinity`                  | `null` (as `JSON.stringify` does)               |
 * | cyclic structures                   | **throws** `CHSK_ERR_UNSUPPORTED_VALUE`         |
 *
 * Large bigints throw rather than being written as strings or as numbers
 * with more digits than a JS reader keeps: both would silently change the
 * value on the other end. Other class instances are written as
 * `JSON.stringify` writes them (own enumerable properties, or `toJSON`).
 *
 * Reading is `JSON.parse`: keywords and event ids arrive as strings. `unpack`
 * never throws: oversized input → `CHSK_ERR_FRAME_TOO_LARGE`, nesting deeper
 * than `maxDepth` (checked by a scan before parsing) → `CHSK_ERR_EDN_DEPTH`,
 * invalid JSON or UTF-8 → `CHSK_ERR_UNPACK`.
 *
 * @example
 * const p = jsonPacker();
 * p.pack([["my/ev", { a: 1 }], "3f2a1b"]); // '[["my/ev",{"a":1}],"3f2a1b"]'
 */
export function jsonPacker(opts: JsonPackerOptions = {}): Packer {
  const defaults = { ...DEFAULT_DECODE_LIMITS, ...opts.limits };
  return {
    name: "json",
    binary: false,
    keywordsAsStrings: true,
    pack(value: unknown): string {
      let s: string | undefined;
      try {
        s = JSON.stringify(value, replacer);
      } catch (e) {
        if (e instanceof ChskError) throw e;
        throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write value as JSON: ${(e as Error)?.message ?? e}`, {
          cause: e,
        });
      }
      // Unreachable: the replacer maps undefined to null and throws for functions and symbols.
      if (s === undefined) throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", "cannot write value as JSON");
      return s;
    },
    unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
      const maxBytes = limits?.maxBytes ?? defaults.maxBytes;
      const maxDepth = limits?.maxDepth ?? defaults.maxDepth;
      const t = jsonTextOf(data, maxBytes, "JSON");
      if (!t.ok) return t;
      const text = t.value;
      if (jsonDepthExceeds(text, maxDepth)) return depthError("JSON", maxDepth);
      try {
        return ok(JSON.parse(text));
      } catch (e) {
        return err(new ChskError("CHSK_ERR_UNPACK", `invalid JSON: ${(e as Error)?.message ?? e}`, { cause: e }));
      }
    },
  };
}

function unsupported(what: string): never {
  throw new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `cannot write ${what} as JSON`);
}

// Runs after `toJSON`, so Keyword/Sym/Uuid/Char/BigDec/Date/Ratio are already
// strings or numbers here. Number objects (`Double`) are unwrapped by
// JSON.stringify itself.
function replacer(this: unknown, _key: string, v: unknown): unknown {
  switch (typeof v) {
    case "undefined":
      return null;
    case "bigint":
      if (v > MAX_SAFE || v < MIN_SAFE) unsupported(`the bigint ${v} (beyond ±2^53-1)`);
      return Number(v);
    case "function":
      return unsupported("a function");
    case "symbol":
      return unsupported("a JS symbol");
    case "object":
      if (v === null || Array.isArray(v)) return v;
      if (v instanceof Map) return mapToObject(v);
      if (v instanceof Set) return [...v];
      if (v instanceof Tagged) return unsupported(`the tagged value #${v.tag}`);
      return v;
    default:
      return v;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

function mapToObject(m: Map<unknown, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of m) {
    let key: string;
    if (typeof k === "string") key = k;
    else if (k instanceof Keyword) key = k.fqn;
    else unsupported(`a Map with a ${k === null ? "null" : typeof k} key`);
    // Plain assignment of "__proto__" would set the prototype instead.
    if (key === "__proto__") Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
    else o[key] = v;
  }
  return o;
}

// ---------------------------------------------------------------------------
// Input guards shared with the transit packer

let utf8Decoder: TextDecoder | undefined;

/**
 * The text of a JSON frame, or an error if it is larger than `maxBytes`
 * (UTF-8) or, for bytes, not valid UTF-8.
 * @internal
 */
export function jsonTextOf(data: string | Uint8Array, maxBytes: number, format: string): Result<string> {
  if (typeof data === "string") {
    const n = data.length;
    // A UTF-16 unit is 1–3 UTF-8 bytes (a surrogate pair is 4 for 2 units), so
    // only lengths between maxBytes/3 and maxBytes need an exact count.
    if (n * 3 > maxBytes && (n > maxBytes || utf8Length(data) > maxBytes)) return tooLarge(format, maxBytes);
    return ok(data);
  }
  if (data.byteLength > maxBytes) return tooLarge(format, maxBytes);
  utf8Decoder ??= new TextDecoder("utf-8", { fatal: true });
  try {
    return ok(utf8Decoder.decode(data));
  } catch (e) {
    return err(new ChskError("CHSK_ERR_UNPACK", `${format} frame is not valid UTF-8`, { cause: e }));
  }
}

function tooLarge(format: string, maxBytes: number): Result<never> {
  return err(
    new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `${format} frame larger than maxBytes ${maxBytes}`, {
      detail: { maxBytes },
    }),
  );
}

/** @internal */
export function depthError(format: string, maxDepth: number): Result<never> {
  return err(
    new ChskError("CHSK_ERR_EDN_DEPTH", `${format} nested deeper than maxDepth ${maxDepth}`, {
      detail: { maxDepth },
    }),
  );
}

/** UTF-8 length of a string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let bytes = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The index of the quote that closes the JSON string opening at `open`:
 * the next `"` not preceded by an odd number of backslashes; -1 if none.
 * @internal
 */
export function jsonStringEnd(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  while (j > 0) {
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c /* \ */) k--;
    if ((j - k) % 2 === 1) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

/**
 * True if the JSON text nests arrays/objects deeper than `maxDepth`. A
 * linear scan that skips string contents; it does not validate the JSON
 * (JSON.parse does that next), so unbalanced input simply fails to parse.
 * Running it before parsing means a nesting bomb never builds a deep
 * structure or recurses in a decoder.
 * @internal
 */
export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  const n = text.length;
  // Every level needs an opening bracket.
  if (n <= maxDepth) return false;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const j = jsonStringEnd(text, i);
      if (j < 0) return false; // unterminated string: JSON.parse will reject it
      i = j;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}
