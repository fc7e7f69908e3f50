/**
 * Reply latencies over a sliding window (the last minute by default), as
 * HDR histograms: one per second in a ring, plus a running total that each
 * rotation adds the newest second to and subtracts the expired one from.
 * Recording is O(1); a summary is O(buckets), whatever the reply rate.
 */
import * as hdr from "hdr-histogram-js";
import type { LatencySummary } from "./feed-types.js";

const build = (): hdr.Histogram =>
  hdr.build({
    bitBucketSize: "packed",
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    // 1 µs .. 10 min; longer replies clamp (the server times them out long before).
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 2,
  });

const MAX_US = 600_000_000;

export class LatencyWindow {
  readonly #seconds: hdr.Histogram[];
  readonly #total = build();
  #current = build();
  #index = 0;

  /** @param windowS seconds kept. @default 60 */
  constructor(readonly windowS = 60) {
    this.#seconds = Array.from({ length: windowS }, build);
  }

  /** Records one reply latency, in milliseconds. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#current.recordValue(Math.min(MAX_US, Math.max(1, Math.round(ms * 1000))));
  }

  /** Closes the current second: it enters the window and the oldest leaves. */
  rotate(): void {
    const expired = this.#seconds[this.#index] as hdr.Histogram;
    if (expired.totalCount > 0) this.#total.subtract(expired);
    if (this.#current.totalCount > 0) this.#total.add(this.#current);
    expired.reset();
    // The closed second takes the expired slot; the reset histogram records next.
    this.#seconds[this.#index] = this.#current;
    this.#current = expired;
    this.#index = (this.#index + 1) % this.windowS;
  }

  /** Percentiles over the closed seconds of the window; `null` with no replies. */
  summary(): LatencySummary | null {
    const count = this.#total.totalCount;
    if (count === 0) return null;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count,
      p50: ms(this.#total.getValueAtPercentile(50)),
      p99: ms(this.#total.getValueAtPercentile(99)),
      max: ms(this.#total.getValueAtPercentile(100)),
      windowS: this.windowS,
    };
  }
}
