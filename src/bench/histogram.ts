/**
 * One histogram factory for `chsk bench` and the project's own benchmarks
 * (autocannon's `histUtil.js`).
 *
 * Latencies are recorded in microseconds. hdr-histogram-js runs in WASM mode
 * (3-6x faster to record); WASM is initialised once per thread and every
 * WASM histogram must be `destroy()`ed. Histograms cross thread boundaries as
 * compressed base64 (`encodeHist` / `decodeHist`) and are merged with `add`.
 */
import * as hdr from "hdr-histogram-js";
import type { LatencyMs } from "./types.js";

let wasmReady: Promise<void> | undefined;

/** Initialise WASM once for this thread. Safe to call many times. */
export function initHistograms(): Promise<void> {
  wasmReady ??= hdr.initWebAssembly();
  return wasmReady;
}

export type Histogram = hdr.Histogram;

/** 1 µs .. 60 s, 3 significant digits. Call {@link initHistograms} first. */
export function createHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    useWebAssembly: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

export const encodeHist = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

export const decodeHist = (s: string): Histogram => hdr.decodeFromCompressedBase64(s, 32, true);

/** Adds decoded `encoded` histograms into a fresh one; the caller destroys the result. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const acc = createHistogram();
  for (const s of encoded) {
    const h = decodeHist(s);
    acc.add(h);
    h.destroy();
  }
  return acc;
}

/** Latency percentiles in microseconds, plain data for JSON. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  return {
    count: h.totalCount,
    mean: Math.round(h.mean),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

/** `µs` histogram → the report's percentiles in ms (3 decimals). */
export function latencyMs(h: Histogram): LatencyMs {
  const ms = (us: number) => Math.round(us) / 1000;
  const n = h.totalCount;
  return {
    p50: n ? ms(h.getValueAtPercentile(50)) : 0,
    p90: n ? ms(h.getValueAtPercentile(90)) : 0,
    p99: n ? ms(h.getValueAtPercentile(99)) : 0,
    p999: n ? ms(h.getValueAtPercentile(99.9)) : 0,
    max: n ? ms(h.maxValue) : 0,
    mean: n ? ms(h.mean) : 0,
    count: n,
  };
}

/** Percentiles in ms of an encoded histogram. */
export function latencyMsOfEncoded(encoded: string): LatencyMs {
  const h = decodeHist(encoded);
  try {
    return latencyMs(h);
  } finally {
    h.destroy();
  }
}

/** Merges encoded histograms into one encoded histogram. */
export function mergeToEncoded(encoded: readonly string[]): string {
  const h = mergeEncoded(encoded);
  try {
    return encodeHist(h);
  } finally {
    h.destroy();
  }
}

const clampUs = (us: number) => (us < 1 ? 1 : us > 60_000_000 ? 60_000_000 : Math.round(us));

/** Records `us` clamped into the histogram's range (a value past 60 s is a 60 s value, never a throw). */
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(clampUs(us));
}

/** Records into one histogram, as {@link recordUs} does; valid until the histogram is destroyed. */
export type Recorder = (us: number) => void;

/**
 * A {@link Recorder} for the hot paths (a record per reply). A WASM
 * histogram's methods are AssemblyScript loader wrappers, `(...args) =>
 * { setArgumentsLength(args.length); return fn(this[THIS], ...args) }`, and
 * in the middle of a reply callback that wrapper cost more than the WASM
 * record itself; the recorder calls the export it wraps (`.original`,
 * which the loader publishes) with the object's pointer. Any other
 * histogram gets the plain method.
 */
export function recorder(h: Histogram): Recorder {
  const w = (h as unknown as { _wasmHistogram?: { recordValue?: { original?: unknown }; valueOf(): unknown } })._wasmHistogram;
  const raw = w?.recordValue?.original;
  const ptr = w?.valueOf();
  if (typeof raw === "function" && typeof ptr === "number") {
    const record = raw as (self: number, value: number) => void;
    return (us) => record(ptr, clampUs(us));
  }
  return (us) => h.recordValue(clampUs(us));
}
