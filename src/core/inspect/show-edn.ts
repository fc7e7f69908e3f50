/**
 * `showEdn(value)`: any decoded value as EDN text for display, never a
 * throw. The EDN writer refuses what EDN has no literal for (msgpack's
 * byte arrays and unknown extensions, a transit `bigDecimal` it can't
 * map…); a debugger still has to show those, so they are written as
 * tagged literals instead (`#chsk/bytes "base64"`, `#msgpack/ext [42 "Bw=="]`).
 */
import { writeEdn } from "../edn/writer.js";
import { Tagged, type EdnValue } from "../edn/values.js";
import { MsgpackExt } from "../packers/msgpack-ext.js";
import { toBase64 } from "./base64.js";

/** `value` as EDN text. */
export function showEdn(value: unknown): string {
  try {
    return writeEdn(value);
  } catch {
    try {
      return writeEdn(displayable(value, 0));
    } catch (e) {
      return `#chsk/unprintable ${JSON.stringify(e instanceof Error ? e.message : String(e))}`;
    }
  }
}

const MAX_DEPTH = 200;

function displayable(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== "object") {
    if (typeof v === "function" || typeof v === "symbol") return new Tagged("object", String(v) as EdnValue);
    return v;
  }
  if (depth > MAX_DEPTH) return new Tagged("chsk/too-deep", null);
  if (v instanceof Uint8Array) return new Tagged("chsk/bytes", toBase64(v));
  if (v instanceof MsgpackExt) return new Tagged("msgpack/ext", [v.type, toBase64(v.data)]);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) {
    const out = v.map((x) => displayable(x, depth + 1));
    // Keep lists lists: EDN's `(…)` vs `[…]` is information.
    return Object.getPrototypeOf(v) === Array.prototype ? out : Object.setPrototypeOf(out, Object.getPrototypeOf(v) as object);
  }
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(displayable(k, depth + 1), displayable(x, depth + 1));
    return m;
  }
  if (v instanceof Set) {
    const s = new (v.constructor as SetConstructor)();
    for (const x of v) s.add(displayable(x, depth + 1));
    return s;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = displayable((v as Record<string, unknown>)[k], depth + 1);
    return o;
  }
  if (v instanceof Tagged) return new Tagged(v.tag, displayable(v.value, depth + 1) as EdnValue);
  // Value-model classes (Keyword, Uuid, …) print as they are; anything else by its name.
  try {
    writeEdn(v);
    return v;
  } catch {
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return new Tagged("object", (typeof name === "string" && name !== "" ? name : "Object") as EdnValue);
  }
}
