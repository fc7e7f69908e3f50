import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";

import { readEdn, writeEdn } from "../../src/core/edn/index.js";
import { plainArb, valueArb } from "./edn-arbitraries.js";

describe("edn properties", () => {
  it("write → read → write reproduces the text for any value", () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const text = writeEdn(v);
        const r = readEdn(text);
        if (!r.ok) throw new Error(`could not read back ${text}: ${r.error.message}`);
        assert.equal(writeEdn(r.value), text);
      }),
      { numRuns: 3000 },
    );
  });

  it("JSON-like data with keyword keys comes back deep-equal", () => {
    fc.assert(
      fc.property(plainArb, (v) => {
        const r = readEdn(writeEdn(v));
        assert.ok(r.ok);
        assert.deepStrictEqual(r.value, v);
      }),
      { numRuns: 2000 },
    );
  });
});
