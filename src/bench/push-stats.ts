/**
 * The push scenario's figures, from counts: one formula for the workers of
 * one run (engine.ts) and for the segments of a run measured on several
 * machines (merge.ts), so a merged report says what one machine running
 * every user would have said. Shares are never averaged: each is computed
 * again from the summed counts.
 */
import { latencyMsOfEncoded } from "./histogram.js";
import type { PushStats } from "./types.js";

/** What a worker counts over the measured window (`completePushes` is a count here, not a share). */
export interface PushCounts {
  pushes: number;
  expected: number;
  delivered: number;
  deliveredInWindow: number;
  /** Pushes that reached every expected device within the window. */
  completePushes: number;
  lost: number;
  duplicates: number;
  reorders: number;
}

/** A report's figures as counts again: `completePushes` is stored as a share of `pushes`. */
export function pushCountsOf(s: PushStats): PushCounts {
  return {
    pushes: s.pushes,
    expected: s.expected,
    delivered: s.delivered,
    deliveredInWindow: s.deliveredInWindow,
    // The share was a count over `pushes`; rounding undoes the float division exactly.
    completePushes: Math.round(s.completePushes * s.pushes),
    lost: s.lost,
    duplicates: s.duplicates,
    reorders: s.reorders,
  };
}

const sum = (parts: readonly PushCounts[], f: (p: PushCounts) => number): number => parts.reduce((a, p) => a + f(p), 0);

/**
 * Push figures of the parts together. `skew` is the encoded skew histogram
 * of every part merged (µs); `windowMs` is `--window`.
 */
export function pushStats(parts: readonly PushCounts[], skew: string, windowMs: number): PushStats {
  const pushes = sum(parts, (p) => p.pushes);
  const expected = sum(parts, (p) => p.expected);
  const inWindow = sum(parts, (p) => p.deliveredInWindow);
  return {
    pushes,
    expected,
    delivered: sum(parts, (p) => p.delivered),
    deliveredInWindow: inWindow,
    windowMs,
    completeness: expected === 0 ? 0 : inWindow / expected,
    completePushes: pushes === 0 ? 0 : sum(parts, (p) => p.completePushes) / pushes,
    skewMs: latencyMsOfEncoded(skew),
    lost: sum(parts, (p) => p.lost),
    duplicates: sum(parts, (p) => p.duplicates),
    reorders: sum(parts, (p) => p.reorders),
  };
}
