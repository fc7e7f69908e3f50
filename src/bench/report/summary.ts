/**
 * What the terminal table and the HTML report say alike: run names, the
 * one-line verdict, the WebSocket/Ajax pairs to compare, and the numbers'
 * text forms.
 */
import type { BenchReport, RunResult } from "../types.js";

/** `echo · ws`. */
export const runLabel = (r: Pick<RunResult, "scenario" | "transport">): string => `${r.scenario} · ${r.transport}`;

/** `echo-ws`: a name without spaces or commas (HdrHistogram log tags, element ids). */
export const runSlug = (r: Pick<RunResult, "scenario" | "transport">): string => `${r.scenario}-${r.transport}`;

/** Slugs that stay unique when a report holds the same scenario and transport twice. */
export function runSlugs(runs: readonly RunResult[]): string[] {
  const seen = new Map<string, number>();
  return runs.map((r) => {
    const s = runSlug(r);
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return n === 1 ? s : `${s}-${n}`;
  });
}

/** Milliseconds with the precision that matters at that size: `0.35`, `4.5`, `212`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** `51,234`. */
export const fmtCount = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");

/** `99.5%` (one decimal below 100). */
export function fmtPercent(f: number): string {
  if (!Number.isFinite(f)) return "–";
  const p = f * 100;
  return p >= 100 ? "100%" : `${p.toFixed(1)}%`;
}

/** A ratio `b / a` as `3.2×`; `–` when `a` is zero (no ratio to speak of). */
export function fmtRatio(b: number, a: number): string {
  if (!(a > 0) || !Number.isFinite(b)) return "–";
  const r = b / a;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** `users × devices`: `100×2`. */
export const fmtPopulation = (r: Pick<RunResult, "users" | "devices">): string => `${r.users}×${r.devices}`;

/** A WebSocket run and an Ajax run of the same scenario (`--compare`). */
export interface ComparePair {
  scenario: RunResult["scenario"];
  ws: RunResult;
  ajax: RunResult;
}

export function comparePairs(report: BenchReport): ComparePair[] {
  const pairs: ComparePair[] = [];
  for (const ws of report.runs.filter((r) => r.transport === "ws")) {
    const ajax = report.runs.find((r) => r.transport === "ajax" && r.scenario === ws.scenario);
    if (ajax) pairs.push({ scenario: ws.scenario, ws, ajax });
  }
  return pairs;
}

/** One comparison row: what, the two values and how to print them. */
export interface CompareRow {
  label: string;
  ws: number;
  ajax: number;
  fmt: (n: number) => string;
}

export function compareRows(p: ComparePair): CompareRow[] {
  const fixed = (d: number) => (n: number) => (Number.isFinite(n) ? n.toFixed(d) : "–");
  return [
    { label: "throughput msg/s", ws: p.ws.throughput, ajax: p.ajax.throughput, fmt: fmtCount },
    { label: "p50 ms", ws: p.ws.latencyMs.p50, ajax: p.ajax.latencyMs.p50, fmt: fmtMs },
    { label: "p99 ms", ws: p.ws.latencyMs.p99, ajax: p.ajax.latencyMs.p99, fmt: fmtMs },
    { label: "bytes / event", ws: p.ws.wire.bytesPerEvent, ajax: p.ajax.wire.bytesPerEvent, fmt: fixed(1) },
    { label: "HTTP requests / event", ws: p.ws.wire.httpRequestsPerEvent, ajax: p.ajax.wire.httpRequestsPerEvent, fmt: fixed(3) },
  ];
}

/** The verdict: does the report say something is wrong, and what. */
export interface Verdict {
  ok: boolean;
  /** `3 runs completed` (`· merged from 2 segments`). */
  headline: string;
  /** `3 runs completed · no errors, timeouts or losses · the generator kept up`. */
  text: string;
  /** One line per problem, naming the run. */
  problems: string[];
}

export function verdict(report: BenchReport): Verdict {
  const problems: string[] = [];
  for (const r of report.runs) {
    const bad = [
      r.errors > 0 ? `${fmtCount(r.errors)} errors` : "",
      r.timeouts > 0 ? `${fmtCount(r.timeouts)} timeouts` : "",
      r.lost > 0 ? `${fmtCount(r.lost)} lost` : "",
      r.push && r.push.expected > 0 && r.push.completeness < 1 ? `push completeness ${fmtPercent(r.push.completeness)}` : "",
      r.generatorCpu.saturated ? "generator saturated" : "",
    ].filter(Boolean);
    if (bad.length > 0) problems.push(`${runLabel(r)}: ${bad.join(", ")}`);
  }
  const n = report.runs.length;
  if (n === 0) return { ok: false, headline: "no run completed", text: "no run completed", problems: ["the report holds no run"] };
  const runs = `${n} run${n === 1 ? "" : "s"} completed`;
  const merged = report.mergedFrom ? ` · merged from ${report.mergedFrom.length} segments` : "";
  const saturated = report.runs.some((r) => r.generatorCpu.saturated);
  const headline = `${runs}${merged}`;
  const text =
    problems.length === 0
      ? `${runs}${merged} · no errors, timeouts or losses · the generator kept up`
      : `${runs}${merged} · ${problems.join(" · ")}${saturated ? "" : " · the generator kept up"}`;
  return { ok: problems.length === 0, headline, text, problems };
}

/** The generator's warning, word for word in the terminal and the HTML. */
export const saturationWarning = (reason: string | undefined): string =>
  `⚠ generator saturated: ${reason ?? "no reason given"} — latencies may be the generator's, not the server's`;
