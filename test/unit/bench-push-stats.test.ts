/**
 * The push scenario's figures (src/bench/push-stats.ts): one formula for
 * the workers of a run and for `chsk bench merge`'s segments, so two
 * segment reports merged say exactly what one run with every worker says:
 * shares recomputed from summed counts (never averaged), skew from the
 * merged histogram.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createHistogram, encodeHist, initHistograms, mergeToEncoded, recordUs } from "../../src/bench/histogram.js";
import { mergeReports } from "../../src/bench/merge.js";
import { pushCountsOf, pushStats, type PushCounts } from "../../src/bench/push-stats.js";
import { latencySampler, report, syntheticRun } from "./bench-report-fixture.js";

before(() => initHistograms());

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Worker tallies with shares that are not round numbers, and segments whose shares differ. */
const WORKERS: PushCounts[] = [
  { pushes: 3, expected: 9, delivered: 9, deliveredInWindow: 8, completePushes: 2, lost: 0, duplicates: 1, reorders: 0 },
  { pushes: 7, expected: 21, delivered: 19, deliveredInWindow: 17, completePushes: 5, lost: 2, duplicates: 0, reorders: 3 },
  { pushes: 11, expected: 33, delivered: 33, deliveredInWindow: 33, completePushes: 11, lost: 0, duplicates: 0, reorders: 1 },
  { pushes: 13, expected: 26, delivered: 24, deliveredInWindow: 20, completePushes: 9, lost: 2, duplicates: 2, reorders: 0 },
];

/** Each worker's skew histogram (µs), a different spread per worker. */
function skewOf(worker: number): string {
  const h = createHistogram();
  const sample = latencySampler(40 + worker, 500 * (worker + 1));
  for (let i = 0; i < 200 * (worker + 1); i++) recordUs(h, sample());
  const encoded = encodeHist(h);
  h.destroy();
  return encoded;
}

describe("push figures", () => {
  it("are shares of the summed counts, with completePushes a share of pushes", () => {
    const s = pushStats(WORKERS, mergeToEncoded(WORKERS.map((_, i) => skewOf(i))), 1000);
    assert.equal(s.pushes, 34);
    assert.equal(s.expected, 89);
    assert.equal(s.completeness, 78 / 89);
    assert.equal(s.completePushes, 27 / 34);
    assert.deepEqual([s.delivered, s.deliveredInWindow, s.lost, s.duplicates, s.reorders], [85, 78, 4, 3, 4]);
    assert.equal(s.skewMs.count, 200 + 400 + 600 + 800);
    const none = pushStats([], mergeToEncoded([]), 1000);
    assert.deepEqual([none.completeness, none.completePushes], [0, 0], "no push: 0, not NaN");
  });

  it("turn back into the counts they came from", () => {
    for (const w of WORKERS) assert.deepEqual(pushCountsOf(clone(pushStats([w], skewOf(0), 1000))), w);
  });

  it("of two merged segment reports equal the one-run formula over every worker", () => {
    // Given: segment 1 ran workers 0 and 1, segment 2 workers 2 and 3; each report's push figures come from its own workers.
    const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
    const segment = (index: 1 | 2) => {
      const workers = index === 1 ? [0, 1] : [2, 3];
      const { run } = syntheticRun({ scenario: "push", transport: "ws", users: 20, devices: 3, t0, perSecond: 300, sampler: latencySampler(index, 1000) });
      const skew = mergeToEncoded(workers.map(skewOf));
      run.push = pushStats(
        workers.map((w) => WORKERS[w]!),
        skew,
        1000,
      );
      run.histograms.skew = skew;
      // Through JSON, as `--json` files are.
      return clone(report([run], { scenario: "push", segment: { index, count: 2 } }));
    };
    const [a, b] = [segment(1), segment(2)];
    // The segments' own shares differ, so averaging them would not give the run's share.
    assert.notEqual((a.runs[0]!.push!.completePushes + b.runs[0]!.push!.completePushes) / 2, 27 / 34);

    // When
    const merged = mergeReports([a, b], ["a.json", "b.json"]).runs[0]!;

    // Then: every push figure as one run with all four workers
    const oneRun = pushStats(WORKERS, mergeToEncoded(WORKERS.map((_, i) => skewOf(i))), 1000);
    assert.deepEqual(merged.push, oneRun);
  });
});
