/**
 * The bench engine's pure parts: the open model's schedule (and what it
 * does to a stall, against the closed model), segment and transport
 * splitting, role weights, option parsing, and histogram merging.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { roleOf } from "../../src/bench/engine.js";
import { createHistogram, encodeHist, initHistograms, latencyMs, latencyMsOfEncoded, mergeToEncoded, recorder, recordUs } from "../../src/bench/histogram.js";
import { deviceTransport, parseDurationMs, parseSegment, segmentUsers, splitEvenly } from "../../src/bench/options.js";
import { OpenSchedule } from "../../src/bench/schedule.js";

await initHistograms();

describe("open model schedule", () => {
  test("fires each send at its intended time, in order, never early", () => {
    const s = new OpenSchedule(1000, 5_000_000);
    const fired: number[] = [];
    assert.equal(s.takeDue(4_999_999, (t) => fired.push(t)), 0);
    assert.equal(s.takeDue(5_000_000, (t) => fired.push(t)), 1);
    assert.equal(s.takeDue(5_002_500, (t) => fired.push(t)), 2);
    assert.deepEqual(fired, [5_000_000, 5_001_000, 5_002_000]);
  });

  test("after a stall, every missed send goes out at once, each stamped with the time it was due", () => {
    const s = new OpenSchedule(1000, 0);
    s.takeDue(0, () => {});
    const fired: number[] = [];
    s.takeDue(200_000, (t) => fired.push(t));
    assert.equal(fired.length, 200);
    assert.equal(fired[0], 1_000);
    assert.equal(fired.at(-1), 200_000);
  });

  test("stops when told to", () => {
    const s = new OpenSchedule(1000, 0);
    let n = 0;
    s.takeDue(1_000_000, () => n++, () => n >= 10);
    assert.equal(n, 10);
    assert.equal(s.taken, 10);
  });

  test("refuses a rate that is not a positive number", () => {
    assert.throws(() => new OpenSchedule(0, 0), RangeError);
    assert.throws(() => new OpenSchedule(Number.NaN, 0), RangeError);
  });
});

/**
 * A server that answers in 100 µs but stalls 200 ms at the start of every
 * second, over 5 s: the open model (the schedule above, latency from the
 * intended time) sees the stall at p99; the closed model (send, wait,
 * send) loses just one sample per stall, the classic hidden stall.
 */
describe("a stalled server, open vs closed model (simulated clock)", () => {
  const SERVICE = 100;
  const stalledUntil = (t: number) => {
    const inSecond = t % 1_000_000;
    return inSecond < 200_000 ? t - inSecond + 200_000 : t;
  };
  /** One request at a time, FIFO: when does a request that arrives at `t` finish? */
  const server = () => {
    let free = 0;
    return (t: number) => (free = stalledUntil(Math.max(t, free)) + SERVICE);
  };

  test("open model: p99 carries the stall", () => {
    const done = server();
    const h = createHistogram();
    const s = new OpenSchedule(1000, 0);
    // The generator wakes every ms (its timer) and sends what is due, like the worker.
    for (let now = 0; now < 5_000_000; now += 1_000) s.takeDue(now, (intended) => recordUs(h, done(Math.max(now, intended)) - intended));
    const l = latencyMs(h);
    h.destroy();
    assert.ok(l.p99 >= 150, `p99 ${l.p99} ms`);
    assert.equal(l.count, 5_000);
  });

  test("closed model: the same stall hides (p99 stays near the service time)", () => {
    const done = server();
    const h = createHistogram();
    for (let now = 0; now < 5_000_000; ) {
      const end = done(now);
      recordUs(h, end - now);
      now = end;
    }
    const l = latencyMs(h);
    h.destroy();
    assert.ok(l.p99 < 1, `p99 ${l.p99} ms`);
    assert.ok(l.max >= 199, `max ${l.max} ms`);
  });
});

describe("splitting users over segments and workers", () => {
  test("segments cover every user once, never overlap, and differ by one at most", () => {
    for (const users of [1, 2, 3, 7, 10, 100, 1001]) {
      for (let n = 1; n <= Math.min(users, 9); n++) {
        let next = 0;
        const sizes: number[] = [];
        for (let i = 1; i <= n; i++) {
          const r = segmentUsers(users, { index: i, count: n });
          assert.equal(r.from, next, `${users}/${n} segment ${i} starts where the last ended`);
          sizes.push(r.to - r.from);
          next = r.to;
        }
        assert.equal(next, users);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${users}/${n}: ${sizes}`);
      }
    }
    assert.deepEqual(segmentUsers(10, undefined), { from: 0, to: 10 });
  });

  test("splitEvenly", () => {
    assert.deepEqual(splitEvenly(10, 3), [4, 3, 3]);
    assert.deepEqual(splitEvenly(2, 4), [1, 1, 0, 0]);
  });

  test("--transport mix puts the --ajax-share of devices on Ajax, spread over the population", () => {
    for (const share of [0, 0.1, 0.3, 0.5, 1]) {
      for (const n of [10, 99, 1000]) {
        let ajax = 0;
        for (let d = 0; d < n; d++) if (deviceTransport("mix", share, d) === "ajax") ajax++;
        assert.equal(ajax, Math.floor(n * share), `share ${share} of ${n}`);
      }
    }
    // Any contiguous block (a segment or a worker) gets its share too.
    let ajax = 0;
    for (let d = 500; d < 600; d++) if (deviceTransport("mix", 0.3, d) === "ajax") ajax++;
    assert.ok(ajax >= 29 && ajax <= 31, String(ajax));
    assert.equal(deviceTransport("ws", 0.3, 1), "ws");
    assert.equal(deviceTransport("ajax", 0, 1), "ajax");
  });

  test("mixed: roles follow the weights over every window of users", () => {
    const mix = { echo: 6, push: 3, connect: 1 };
    const count = { echo: 0, push: 0, connect: 0 };
    for (let u = 0; u < 100; u++) count[roleOf({ scenario: "mixed", mix }, u)]++;
    assert.deepEqual(count, { echo: 60, push: 30, connect: 10 });
    assert.equal(roleOf({ scenario: "push", mix }, 3), "push");
  });
});

describe("bench option parsers", () => {
  test("durations take ms, s and m", () => {
    assert.equal(parseDurationMs("250ms"), 250);
    assert.equal(parseDurationMs("10s"), 10_000);
    assert.equal(parseDurationMs("1.5m"), 90_000);
    assert.equal(parseDurationMs("0s"), 0);
    assert.equal(parseDurationMs("500"), 500);
    assert.equal(parseDurationMs("ten"), null);
    assert.equal(parseDurationMs("-1s"), null);
  });

  test("--segment i/n", () => {
    assert.deepEqual(parseSegment("2/4"), { index: 2, count: 4 });
    assert.equal(parseSegment("0/4"), null);
    assert.equal(parseSegment("5/4"), null);
    assert.equal(parseSegment("1"), null);
  });
});

describe("histograms from several workers", () => {
  test("merged encoded histograms give the percentiles of all values together", () => {
    const all = createHistogram();
    const parts = [createHistogram(), createHistogram(), createHistogram()];
    for (let i = 0; i < 30_000; i++) {
      // Three workers with different latency shapes.
      const v = i % 3 === 0 ? 100 + (i % 1000) : i % 3 === 1 ? 5_000 + ((i * 7) % 20_000) : 200_000 + (i % 5);
      recordUs(all, v);
      recordUs(parts[i % 3]!, v);
    }
    const merged = latencyMsOfEncoded(mergeToEncoded(parts.map(encodeHist)));
    const one = latencyMs(all);
    // The encoded form keeps buckets, not the exact max: equal within the histogram's 3 digits.
    assert.ok(Math.abs(merged.max - one.max) <= one.max / 1000, `${merged.max} vs ${one.max}`);
    assert.deepEqual({ ...merged, max: 0 }, { ...one, max: 0 });
    for (const h of [all, ...parts]) h.destroy();
  });
});

describe("a histogram's recorder (the reply path's record)", () => {
  test("records exactly what recordUs records, clamped the same way, into that histogram only", () => {
    const viaMethod = createHistogram();
    const viaRecorder = createHistogram();
    const other = createHistogram();
    const record = recorder(viaRecorder);
    const values = [0, 0.4, 1, 1.5, 999.5, 12_345.6, 61_000_000, -3, ...Array.from({ length: 5_000 }, (_, i) => (i * 7919) % 3_000_000)];
    for (const v of values) {
      recordUs(viaMethod, v);
      record(v);
    }
    assert.equal(viaRecorder.totalCount, values.length);
    assert.equal(other.totalCount, 0);
    assert.equal(encodeHist(viaRecorder), encodeHist(viaMethod));
    assert.equal(viaRecorder.maxValue, 60_000_000);
    for (const h of [viaMethod, viaRecorder, other]) h.destroy();
  });
});
