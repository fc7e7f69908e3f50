/**
 * Pure text pieces of the progress display, shared by the live view and the
 * plain lines: numbers, bars, the throughput sparkline, and the plain line
 * itself. Nothing here writes or knows about ink.
 */
import type { ProgressPhase, ProgressSnapshot } from "./types.js";

export type PhaseColor = "blue" | "cyan" | "yellow" | "green" | "gray" | "magenta";

/** One colour per phase (the bar and the phase name), so a glance tells warm-up from measuring. */
export const PHASE_COLOR: Record<ProgressPhase, PhaseColor> = {
  connect: "blue",
  ramp: "cyan",
  warmup: "yellow",
  measure: "green",
  drain: "gray",
  reconnect: "magenta",
};

/** The longest phase name, so columns line up from one line to the next. */
export const PHASE_WIDTH = 9;

/** `5.0s`. */
export const fmtSeconds = (s: number): string => `${finite(s).toFixed(1)}s`;

/** Milliseconds with the precision that matters at that size: `0.35`, `4.5`, `212`. */
export function fmtMs(ms: number): string {
  const v = finite(ms);
  if (v < 1) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return v.toFixed(0);
}

/** `51,234` for the live view (plain lines keep digits only, for grep and awk). */
export const fmtCount = (n: number): string => Math.round(finite(n)).toLocaleString("en-US");

/** `72%`. */
export const fmtPercent = (f: number): string => `${Math.round(clamp01(f) * 100)}%`;

/** `width` cells, the first `fraction` of them filled (all of them only at 100 %). */
export function bar(fraction: number, width: number): { filled: string; empty: string } {
  const w = Math.max(0, Math.floor(width));
  const n = Math.floor(clamp01(fraction) * w);
  return { filled: "█".repeat(n), empty: "░".repeat(w - n) };
}

const SPARKS = "▁▂▃▄▅▆▇█";

/**
 * The last `width` values as block characters scaled to their maximum; a
 * zero is a blank, so a stall shows as a gap rather than as a low bar.
 */
export function sparkline(values: readonly number[], width: number): string {
  const tail = values.slice(-Math.max(0, Math.floor(width)));
  const max = Math.max(0, ...tail.map(finite));
  return tail
    .map((raw) => {
      const v = finite(raw);
      if (v <= 0 || max <= 0) return " ";
      return SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * SPARKS.length))]!;
    })
    .join("");
}

const SGR: Record<PhaseColor | "red", number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 };
const paint = (color: boolean, c: PhaseColor | "red", s: string): string => (color ? `\u001b[${SGR[c]}m${s}\u001b[39m` : s);

/**
 * One update as one line, for logs and pipes:
 *
 *     [  5.0s/12.0s] measure   echo · ws  connected 100/100  sent 51234  recv 51200  4980 msg/s  p50 1.2 ms  p99 4.5 ms  max 9.8 ms  err 0  to 0
 *
 * `run i/n` comes before the label when there is more than one run; `lost`,
 * the saturation warning and the note are added when there is something to
 * say. Without `color` the line holds no escape at all.
 */
export function plainLine(s: ProgressSnapshot, color: boolean): string {
  const total = fmtSeconds(s.totalS);
  const clock = `[${fmtSeconds(s.elapsedS).padStart(Math.max(6, total.length))}/${total}]`;
  const parts = [
    `${clock} ${paint(color, PHASE_COLOR[s.phase], s.phase.padEnd(PHASE_WIDTH))}`,
    s.runs > 1 ? `run ${s.run}/${s.runs} ${s.label}` : s.label,
    `connected ${int(s.connected)}/${int(s.devices)}`,
    `sent ${int(s.sent)}`,
    `recv ${int(s.received)}`,
    `${int(s.throughput)} msg/s`,
    `p50 ${fmtMs(s.p50Ms)} ms`,
    `p99 ${fmtMs(s.p99Ms)} ms`,
    `max ${fmtMs(s.maxMs)} ms`,
    counter(color, "err", s.errors),
    counter(color, "to", s.timeouts),
  ];
  if (s.lost !== undefined) parts.push(counter(color, "lost", s.lost));
  if (s.saturated) parts.push(paint(color, "red", `! generator saturated (elu ${s.workerElu.map(fmtPercent).join(",")})`));
  if (s.note !== undefined && s.note !== "") parts.push(`- ${s.note}`);
  return parts.join("  ");
}

const counter = (color: boolean, name: string, n: number): string => (n > 0 ? paint(color, "red", `${name} ${int(n)}`) : `${name} ${int(n)}`);
const int = (n: number): string => String(Math.round(finite(n)));
const finite = (n: number): number => (Number.isFinite(n) ? n : 0);
const clamp01 = (f: number): number => Math.min(1, Math.max(0, finite(f)));
