/**
 * Whether two decoded values (as EDN text) are the same value: maps and
 * sets compare whatever their order (a server that rebuilt a map answers
 * the same reply with its keys in another order), everything else as
 * written. Text that does not read as EDN compares as text.
 */
import { EdnSet, List, readEdn, Tagged, writeEdn } from "../core/index.js";

const byText = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The value with every map and set in a fixed (sorted) order. */
function canonical(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof List) return List.from_(v.map(canonical));
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof EdnSet) {
    const items = [...v].map((x) => canonical(x)).map((x) => [writeEdn(x), x] as [string, unknown]);
    return new EdnSet(items.sort(byText).map(([, x]) => x));
  }
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => [writeEdn(canonical(k)), [canonical(k), canonical(x)]] as [string, [unknown, unknown]]);
    return new Map(entries.sort(byText).map(([, kv]) => kv));
  }
  if (v instanceof Tagged) return new Tagged(v.tag, canonical(v.value) as Tagged["value"]);
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** EDN text in a canonical form (maps and sets sorted); the text itself when it does not read. */
export function canonicalEdn(text: string): string {
  const r = readEdn(text);
  if (!r.ok) return text;
  try {
    return writeEdn(canonical(r.value));
  } catch {
    return text;
  }
}

/** Same value, maps and sets in any order. */
export const ednEquivalent = (a: string, b: string): boolean => a === b || canonicalEdn(a) === canonicalEdn(b);
