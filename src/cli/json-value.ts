/**
 * `chsk call --json`: any value a packer reads, written as JSON text. Total
 * (never throws on wire data) and lossless for numbers; EDN-only types
 * become their closest JSON form:
 *
 * | value (EDN)                         | JSON                                          |
 * |-------------------------------------|-----------------------------------------------|
 * | `nil`, `true`, `false`              | `null`, `true`, `false`                       |
 * | `"s"`, `\c`, `#uuid "…"`            | a string                                      |
 * | `:k`, `:ns/k`, `sym`                | its name as a string, no colon: `"ns/k"`      |
 * | `42`, `1.5`, `1.0`                  | a number                                      |
 * | `9007199254740993`, `7N`, `1.50M`   | a number with every digit (exact text)        |
 * | `22/7`                              | a number (the quotient)                       |
 * | `##Inf`, `##-Inf`, `##NaN`          | the strings `"##Inf"`, `"##-Inf"`, `"##NaN"`  |
 * | `#inst "…"`                         | an ISO-8601 string                            |
 * | `[…]`, `(…)`, `#{…}`                | an array                                      |
 * | `{:a 1 "b" 2}`                      | an object (`{"a":1,"b":2}`)                   |
 * | `{1 :x, [1 2] :y}`                  | an object keyed by the EDN text (`{"1":"x","[1 2]":"y"}`) |
 * | `#my/tag v`                         | `{"#my/tag": v}`                              |
 * | bytes (msgpack `bin`)               | a base64 string                               |
 */
import { BigDec, Char, Keyword, Ratio, Sym, Tagged, Uuid } from "../core/edn/values.js";
import { writeEdn } from "../core/edn/writer.js";

const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** `value` as one line of JSON (the mapping above). */
export function toJsonText(value: unknown): string {
  return write(value, 0);
}

function write(v: unknown, depth: number): string {
  if (depth > 256) return "null"; // wire data is depth-limited long before this
  switch (typeof v) {
    case "undefined":
      return "null";
    case "boolean":
      return v ? "true" : "false";
    case "string":
      return JSON.stringify(v);
    case "number":
      return number(v);
    case "bigint":
      return v.toString();
    case "object":
      break;
    default:
      return JSON.stringify(String(v));
  }
  if (v === null) return "null";
  if (v instanceof Number) return number(v.valueOf()); // Double
  if (v instanceof Keyword || v instanceof Sym) return JSON.stringify(v.fqn);
  if (v instanceof Char || v instanceof Uuid) return JSON.stringify(v.value);
  if (v instanceof BigDec) return NUMBER.test(v.text) ? v.text : JSON.stringify(v.text);
  if (v instanceof Ratio) return number(v.valueOf());
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "null" : JSON.stringify(v.toISOString());
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64"));
  if (v instanceof Tagged) return `{${JSON.stringify(`#${v.tag}`)}:${write(v.value, depth + 1)}}`;
  if (Array.isArray(v) || v instanceof Set) return `[${[...v].map((x) => write(x, depth + 1)).join(",")}]`;
  const entries: Array<[string, unknown]> =
    v instanceof Map ? [...v].map(([k, x]) => [keyText(k), x]) : Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${write(x, depth + 1)}`).join(",")}}`;
}

function number(n: number): string {
  if (Number.isFinite(n)) return JSON.stringify(n);
  return Number.isNaN(n) ? '"##NaN"' : n > 0 ? '"##Inf"' : '"##-Inf"';
}

function keyText(k: unknown): string {
  if (typeof k === "string") return k;
  if (k instanceof Keyword) return k.fqn;
  try {
    return writeEdn(k);
  } catch {
    return String(k);
  }
}
