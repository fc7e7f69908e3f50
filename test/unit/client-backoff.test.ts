import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expBackoff, reconnectDelayMs } from "../../src/core/client/backoff.js";

describe("client backoff (encore exp-backoff)", () => {
  it("matches floor((2^n + r*2^n) * 0.5 * 1000) at the ends of the random range", () => {
    const cases: [number, number, number][] = [
      // n, random()=0, random()→1
      [2, 2000, 4000],
      [3, 4000, 8000],
      [4, 8000, 16000],
      [5, 16000, 32000],
      [6, 32000, 64000],
    ];
    for (const [n, lo, hi] of cases) {
      assert.equal(expBackoff(n, () => 0), lo, `n=${n} lower`);
      assert.equal(expBackoff(n, () => 0.999999999), hi - 1, `n=${n} upper`);
      assert.equal(expBackoff(n, () => 0.5), Math.floor((lo + hi) / 2));
    }
  });

  it("caps n at 36", () => {
    assert.equal(expBackoff(40, () => 0), expBackoff(36, () => 0));
    assert.equal(expBackoff(36, () => 0), 2 ** 36 * 500);
  });

  it("stays within range with the real random source", () => {
    for (let i = 0; i < 200; i++) {
      const ms = expBackoff(2);
      assert.ok(ms >= 2000 && ms < 4000, String(ms));
    }
  });

  it("attempt 1 is immediate; n ≥ 2 uses the (user) function", () => {
    assert.equal(reconnectDelayMs(1), 0);
    assert.equal(reconnectDelayMs(0), 0);
    const d = reconnectDelayMs(2);
    assert.ok(d >= 2000 && d < 4000);
    assert.equal(reconnectDelayMs(3, (n) => n * 100), 300);
    assert.equal(reconnectDelayMs(3, () => Number.NaN), 0);
    assert.equal(reconnectDelayMs(3, () => -5), 0);
  });
});
