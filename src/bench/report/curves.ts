/**
 * The HTML report's plot data, computed from the report's encoded
 * histograms and per-second intervals (see `plot-data.ts`). Call
 * `initHistograms()` first: histograms are decoded in WASM.
 */
import { decodeHist } from "../histogram.js";
import type { BenchReport, IntervalStats, RunResult } from "../types.js";
import type { CdfChart, Chart, PercentileChart, PhaseSpan, PlotSeries, ReportPlots, SeriesColor, TimeChart } from "./plot-data.js";
import { runLabel, runSlugs } from "./summary.js";

/** Points per decade of 1/(1−p): smooth enough for a tail, small enough to embed. */
const PER_DECADE = 24;
/** The curve stops at p99.9999 whatever the count. */
const MAX_X = 1e6;

interface Source {
  label: string;
  color: SeriesColor;
  dash?: boolean;
  encoded: string;
}

/** Percentile curves of several histograms on one shared, log-spaced x grid. */
export function percentileChart(id: string, sources: readonly Source[]): PercentileChart | undefined {
  const hs = sources.map((s) => ({ s, h: decodeHist(s.encoded) }));
  try {
    const live = hs.filter(({ h }) => h.totalCount > 0);
    if (live.length === 0) return undefined;
    const top = Math.min(MAX_X, Math.max(...live.map(({ h }) => h.totalCount)));
    const grid = new Set<number>();
    for (let k = 0; 10 ** (k / PER_DECADE) <= top; k++) grid.add(Number((10 ** (k / PER_DECADE)).toPrecision(6)));
    // Each curve ends exactly at its own last value (x = count), at its max.
    for (const { h } of live) grid.add(Math.min(MAX_X, h.totalCount));
    const x = [...grid].sort((a, b) => a - b);
    const series: PlotSeries[] = live.map(({ s, h }) => {
      const n = Math.min(MAX_X, h.totalCount);
      const values = x.map((xi) => {
        if (xi > n) return null;
        const us = xi === n && n === h.totalCount ? h.maxValue : h.getValueAtPercentile(100 * (1 - 1 / xi));
        return Math.round(us) / 1000;
      });
      return { label: s.label, color: s.color, ...(s.dash ? { dash: true } : {}), values };
    });
    return { kind: "percentile", id, x, series, yUnit: "ms" };
  } finally {
    for (const { h } of hs) h.destroy();
  }
}

const TRANSPORT_COLOR: Record<RunResult["transport"], SeriesColor> = { ws: "ws", ajax: "ajax", mix: "mix" };
const ALT: SeriesColor[] = ["alt1", "alt2", "alt3"];

/** A colour per run: its transport's, or an alternative when a transport appears twice. */
function runColors(runs: readonly RunResult[]): SeriesColor[] {
  const used = new Set<SeriesColor>();
  let alt = 0;
  return runs.map((r) => {
    let c = TRANSPORT_COLOR[r.transport];
    if (used.has(c)) c = ALT[alt++ % ALT.length]!;
    used.add(c);
    return c;
  });
}

function phaseSpans(intervals: readonly IntervalStats[]): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (const i of intervals) {
    const last = spans.at(-1);
    if (last && last.phase === i.phase && last.to === i.elapsedS) last.to = i.elapsedS + 1;
    else spans.push({ phase: i.phase, from: i.elapsedS, to: i.elapsedS + 1 });
  }
  return spans;
}

function timeCharts(run: RunResult, slug: string): TimeChart[] {
  const iv = run.intervals;
  if (iv.length === 0) return [];
  const x = iv.map((i) => i.elapsedS);
  const phases = phaseSpans(iv);
  const rate: PlotSeries[] = [{ label: "received/s", color: TRANSPORT_COLOR[run.transport], values: iv.map((i) => i.received) }];
  if (run.scenario === "connect" || run.scenario === "mixed") {
    rate.push({ label: "handshakes/s", color: "handshakes", values: iv.map((i) => i.handshakes) });
  }
  if (iv.some((i) => i.errors + i.timeouts > 0)) rate.push({ label: "errors+timeouts/s", color: "errors", values: iv.map((i) => i.errors + i.timeouts) });
  rate.push({ label: "connected", color: "connected", right: true, dash: true, values: iv.map((i) => i.connected) });
  const has = (i: IntervalStats) => i.received > 0 || i.p99 > 0;
  const latency: PlotSeries[] = [
    { label: "p50", color: "p50", values: iv.map((i) => (has(i) ? i.p50 : null)) },
    { label: "p99", color: "p99", values: iv.map((i) => (has(i) ? i.p99 : null)) },
    { label: "max", color: "max", dash: true, values: iv.map((i) => (has(i) ? i.max : null)) },
  ];
  return [
    { kind: "time", id: `${slug}-rate`, x, series: rate, phases, yUnit: "/s", y2Unit: "devices" },
    { kind: "time", id: `${slug}-latency`, x, series: latency, phases, yUnit: "ms" },
  ];
}

/** The reconnect storm as a share of the dropped devices back by time since the drop. */
function reconnectChart(run: RunResult, slug: string, color: SeriesColor): CdfChart | undefined {
  const storm = run.connect?.reconnect;
  if (!storm || storm.devices === 0) return undefined;
  const h = decodeHist(storm.histogram);
  try {
    if (h.totalCount === 0) return undefined;
    const share = storm.back / storm.devices;
    const x: number[] = [0];
    const values: (number | null)[] = [0];
    for (let q = 1; q <= 200; q++) {
      const p = q / 2;
      const ms = Math.round(p === 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1000;
      if (ms < x.at(-1)!) continue;
      x.push(ms);
      values.push(Math.round(p * share * 100) / 100);
    }
    return { kind: "cdf", id: `${slug}-reconnect`, x, series: [{ label: "back", color, values }] };
  } finally {
    h.destroy();
  }
}

/** Every chart of the report: ids are `latency`, `skew`, `handshake`, `<run>-rate`, `<run>-latency`, `<run>-reconnect`. */
export function reportPlots(report: BenchReport): ReportPlots {
  const runs = report.runs;
  const slugs = runSlugs(runs);
  const colors = runColors(runs);
  const charts: Chart[] = [];
  const latencySources: Source[] = [];
  runs.forEach((r, i) => {
    latencySources.push({ label: runLabel(r), color: colors[i]!, encoded: r.histograms.latency });
    // A mix run's devices by transport, dashed under the run's own curve.
    if (r.transport === "mix") {
      for (const t of ["ws", "ajax"] as const) {
        const b = r.byTransport[t];
        if (b) latencySources.push({ label: `${runLabel(r)} (${t} devices)`, color: t, dash: true, encoded: b.histogram });
      }
    }
  });
  const latency = percentileChart("latency", latencySources);
  if (latency) charts.push(latency);
  const skew = percentileChart(
    "skew",
    runs.flatMap((r, i) => (r.push && r.histograms.skew ? [{ label: runLabel(r), color: colors[i]!, encoded: r.histograms.skew }] : [])),
  );
  if (skew) charts.push(skew);
  const handshake = percentileChart(
    "handshake",
    runs.flatMap((r, i) => (r.connect && r.histograms.handshake ? [{ label: runLabel(r), color: colors[i]!, encoded: r.histograms.handshake }] : [])),
  );
  if (handshake) charts.push(handshake);
  runs.forEach((r, i) => {
    charts.push(...timeCharts(r, slugs[i]!));
    const rc = reconnectChart(r, slugs[i]!, colors[i]!);
    if (rc) charts.push(rc);
  });
  return { charts };
}
