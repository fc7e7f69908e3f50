/** fast-check generators for the EDN value model, shared by the property and fuzz tests. */
import fc from "fast-check";

import {
  BigDec,
  Char,
  EdnSet,
  List,
  Ratio,
  Tagged,
  Uuid,
  double,
  kw,
  sym,
  writeEdn,
  type EdnValue,
} from "../../src/core/edn/index.js";

const nameArb = fc.stringMatching(/^[a-zA-Z*!_?<>=][a-zA-Z0-9*+!_?<>=.'-]{0,8}$/);
const nsArb = fc.stringMatching(/^[a-z][a-z0-9.-]{0,8}$/);

/** Valid keyword/symbol text, optionally namespaced; never `nil`/`true`/`false`. */
export const fqnArb: fc.Arbitrary<string> = fc
  .tuple(fc.option(nsArb, { nil: null }), nameArb)
  .map(([ns, name]) => (ns === null ? name : `${ns}/${name}`))
  .filter((s) => s !== "nil" && s !== "true" && s !== "false");

const anyCharStr = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings from every corner: ASCII, full Unicode, lone surrogates, control characters. */
export const stringArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: anyCharStr, maxLength: 8 }),
  fc.string({ unit: fc.constantFrom('"', "\\", "\n", "\t", "\r", "\b", "\f", "\0", "\u007f", "a", "é", "😀"), maxLength: 8 }),
);

const charArb = fc
  .oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), fc.constantFrom("\n", " ", "\t", "\r", "\b", "\f", "\0", '"', "\\", "(", ","))
  .filter((c) => !(c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff))
  .map((c) => new Char(c));

const decimalArb = fc
  .tuple(fc.boolean(), fc.stringMatching(/^[0-9]{1,20}$/), fc.option(fc.stringMatching(/^[0-9]{0,10}$/), { nil: null }))
  .map(([neg, i, f]) => new BigDec((neg ? "-" : "") + i + (f === null ? "" : "." + f)));

const dateArb = fc
  .integer({ min: Date.UTC(0, 0, 1) - 1900 * 365.2425 * 86_400_000, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) })
  .map((t) => new Date(t))
  .filter((d) => d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999);

/** Scalars of every type the writer accepts. */
export const leafArb: fc.Arbitrary<EdnValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.double().map(double),
  fc.bigInt(),
  stringArb,
  fqnArb.map(kw),
  fqnArb.map(sym),
  charArb,
  decimalArb,
  fc.tuple(fc.bigInt(), fc.bigInt({ min: 1n })).map(([n, d]) => new Ratio(n, d)),
  fc.uuid().map((u) => new Uuid(u)),
  dateArb,
);

const byText = (v: unknown): string => writeEdn(v);

/** Any writable value, nested at most a few levels. */
export const valueArb: fc.Arbitrary<EdnValue> = fc.letrec<{ value: EdnValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.array(tie("value"), { maxLength: 5 }).map((a) => List.from_(a)),
    fc.uniqueArray(tie("value"), { maxLength: 5, selector: byText }).map((a) => new EdnSet(a)),
    fc
      .uniqueArray(fc.tuple(tie("value"), tie("value")), { maxLength: 5, selector: ([k]) => byText(k) })
      .map((entries) => new Map(entries)),
    fc.array(fc.tuple(fc.oneof(fqnArb, stringArb), tie("value")), { maxLength: 5 }).map((entries) => {
      const o: Record<string, EdnValue> = {};
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
    fc.tuple(fqnArb.filter((t) => t.includes("/")), tie("value")).map(([t, v]) => new Tagged(t, v)),
  ),
})).value;

/** JSON-like data that must come back deep-equal, not just re-print equal. */
export const plainArb: fc.Arbitrary<EdnValue> = fc.letrec<{ value: EdnValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger().filter((n) => !Object.is(n, -0)),
    fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
    stringArb,
    fqnArb.map(kw),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fqnArb.filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;
