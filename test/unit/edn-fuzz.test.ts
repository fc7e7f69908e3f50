import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";

import { readEdn, writeEdn } from "../../src/core/edn/index.js";
import { isChskError } from "../../src/core/protocol/errors.js";
import { valueArb } from "./edn-arbitraries.js";

const READ_CODES = new Set(["CHSK_ERR_EDN_SYNTAX", "CHSK_ERR_EDN_DEPTH", "CHSK_ERR_FRAME_TOO_LARGE"]);

/**
 * Whatever the input: readEdn returns (never throws), any error has a
 * documented code, and anything it accepts re-prints stably.
 */
function check(text: string): void {
  let r: ReturnType<typeof readEdn>;
  try {
    r = readEdn(text, { maxDepth: 16, maxBytes: 4096 });
  } catch (e) {
    assert.fail(`readEdn threw on ${JSON.stringify(text)}: ${String(e)}`);
  }
  if (!r.ok) {
    assert.ok(READ_CODES.has(r.error.code), `unexpected code ${r.error.code} for ${JSON.stringify(text)}`);
    return;
  }
  let printed: string;
  try {
    printed = writeEdn(r.value);
  } catch (e) {
    // Only dates shifted out of 0000–9999 by an offset can be read but not printed.
    assert.ok(isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"), String(e));
    return;
  }
  const again = readEdn(printed, { maxDepth: 16, maxBytes: 1 << 20 });
  assert.ok(again.ok, `re-read of ${JSON.stringify(printed)} (from ${JSON.stringify(text)}) failed`);
  assert.equal(writeEdn(again.value), printed, `unstable print of ${JSON.stringify(text)}`);
}

const ednAlphabet = fc.constantFrom(
  ..."[]{}()#_:;^\\\"',. \n\t0123456789+-./NMrRxXeEabcdfinstuvwyz!?*<>=&%$|~`@".split(""),
  "##Inf",
  "##NaN",
  "#inst",
  "#uuid",
  "#:ns",
  "\\u",
  "\\newline",
  "nil",
  "true",
  "1.0",
  "1/2",
  "é",
  "😀",
  "\ud800",
  "\u2028",
);

type Mutation = { at: number; kind: "delete" | "insert" | "replace" | "dup" | "truncate"; text: string; len: number };

function mutate(base: string, muts: Mutation[]): string {
  let s = base;
  for (const m of muts) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    switch (m.kind) {
      case "delete":
        s = s.slice(0, at) + s.slice(at + m.len);
        break;
      case "insert":
        s = s.slice(0, at) + m.text + s.slice(at);
        break;
      case "replace":
        s = s.slice(0, at) + m.text + s.slice(at + 1);
        break;
      case "dup":
        s = s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
        break;
      case "truncate":
        s = s.slice(0, at);
        break;
    }
  }
  return s;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("delete", "insert", "replace", "dup", "truncate"),
  text: ednAlphabet,
  len: fc.integer({ min: 1, max: 6 }),
});

describe("edn fuzz", () => {
  it("random strings never make readEdn throw", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.string({ unit: "binary", maxLength: 40 }),
          fc.array(ednAlphabet, { maxLength: 40 }).map((a) => a.join("")),
        ),
        check,
      ),
      { numRuns: 20000 },
    );
  });

  it("mutated valid EDN never makes readEdn throw", () => {
    fc.assert(
      fc.property(valueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, muts) => {
        check(mutate(writeEdn(v), muts));
      }),
      { numRuns: 10000 },
    );
  });

  it("handles pathological shapes", () => {
    const cases = [
      "[".repeat(20) + "]".repeat(19),
      "#_".repeat(1000),
      "#_ ".repeat(1000) + "1",
      "#a ".repeat(1000) + "1",
      "^:a ".repeat(1000) + "1",
      ";".repeat(1000),
      '"' + "\\".repeat(1001),
      "\\".repeat(1000),
      "#".repeat(1000),
      ":".repeat(1000),
      "{" + ":a 1 ".repeat(500) + "}",
      "#{" + "1 ".repeat(100) + "}",
      "9".repeat(1000),
      "-" + "9".repeat(1000) + "N",
      "1" + "0".repeat(400) + ".0",
      "0x" + "f".repeat(500),
      "36r" + "z".repeat(500),
      "1/" + "0".repeat(50),
    ];
    for (const c of cases) check(c);
  });
});
