/**
 * A small, fixed-size latency histogram: log-spaced buckets (±5 %) from
 * 10 µs to 10 min, exact count / min / max / mean. 760 bytes whatever the
 * number of samples, mergeable, and isomorphic (hdr-histogram-js is
 * Node-oriented WASM); good enough for p50/p99 in a summary.
 */
const MIN_MS = 0.01;
const FACTOR = 1.1;
const LOG_FACTOR = Math.log(FACTOR);
const MAX_MS = 600_000;
const BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_FACTOR) + 2;

export interface LatencyStats {
  count: number;
  /** ms */
  p50: number;
  /** ms */
  p99: number;
  /** ms, exact */
  min: number;
  /** ms, exact */
  max: number;
  /** ms, exact */
  mean: number;
}

const bucketOf = (ms: number): number => (ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_FACTOR)));
/** A bucket's representative value: the geometric middle of its range. */
const valueOf = (i: number): number => (i === 0 ? MIN_MS : MIN_MS * FACTOR ** (i - 0.5));

export class LatencyHistogram {
  #counts: Uint32Array | null = null;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  get count(): number {
    return this.#count;
  }

  /** Records one latency in ms (negative or non-finite values are ignored). */
  record(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) return;
    (this.#counts ??= new Uint32Array(BUCKETS))[bucketOf(ms)]!++;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** Adds another histogram's samples to this one. */
  add(other: LatencyHistogram): void {
    const o = other.#counts;
    if (o === null) return;
    const c = (this.#counts ??= new Uint32Array(BUCKETS));
    for (let i = 0; i < BUCKETS; i++) c[i]! += o[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** The value at percentile `p` (0–100), within the bucket error and the exact min/max. */
  percentile(p: number): number {
    const c = this.#counts;
    if (c === null || this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += c[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, valueOf(i)));
    }
    return this.#max;
  }

  /** p50/p99/min/max/mean (ms, rounded to µs), or null with no samples. */
  stats(): LatencyStats | null {
    if (this.#count === 0) return null;
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.#count,
      p50: r(this.percentile(50)),
      p99: r(this.percentile(99)),
      min: r(this.#min),
      max: r(this.#max),
      mean: r(this.#sum / this.#count),
    };
  }
}
