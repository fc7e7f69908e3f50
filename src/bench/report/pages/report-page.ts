/**
 * The `--html` report's only script (inlined into the file with uPlot): draws
 * the charts whose data the report embeds (`plot-data.ts`) into the
 * `[data-chart]` boxes. It computes nothing and loads nothing.
 */
import uPlot from "uplot";
import { type CdfChart, type Chart, type PercentileChart, PLOT_DATA_ID, type PlotSeries, type ReportPlots, type TimeChart } from "../plot-data.js";

const data = JSON.parse(document.getElementById(PLOT_DATA_ID)?.textContent ?? '{"charts":[]}') as ReportPlots;

const cssVar = (name: string, fallback: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

interface Theme {
  axis: string;
  grid: string;
  text: string;
  color: (role: PlotSeries["color"]) => string;
  phase: Record<TimeChart["phases"][number]["phase"], string>;
}

function theme(): Theme {
  return {
    axis: cssVar("--muted", "#6b7280"),
    grid: cssVar("--grid", "rgba(127,127,127,0.15)"),
    text: cssVar("--text", "#111827"),
    color: (role) => cssVar(`--c-${role}`, "#6366f1"),
    phase: {
      ramp: cssVar("--phase-ramp", "rgba(59,130,246,0.10)"),
      warmup: cssVar("--phase-warmup", "rgba(245,158,11,0.12)"),
      measure: cssVar("--phase-measure", "rgba(16,185,129,0.06)"),
      drain: cssVar("--phase-drain", "rgba(107,114,128,0.10)"),
    },
  };
}

const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

const axis = (t: Theme, extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
  stroke: t.axis,
  grid: { stroke: t.grid, width: 1 },
  ticks: { stroke: t.grid, width: 1 },
  font: FONT,
  ...extra,
});

/** `12.3`, `0.45`, `1,234`. */
function num(v: number): string {
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

const series = (t: Theme, s: PlotSeries, unit: string): uPlot.Series => ({
  label: s.label,
  stroke: t.color(s.color),
  width: s.dash ? 1.5 : 2,
  ...(s.dash ? { dash: [6, 4] } : {}),
  scale: s.right ? "y2" : "y",
  points: { show: false },
  spanGaps: false,
  value: (_u, v) => (v === null || v === undefined ? "–" : `${num(v)} ${unit}`.trim()),
});

/** 1/(1−p) → `99.9%`. */
function percentLabel(x: number): string {
  if (x <= 1) return "0%";
  const p = 100 * (1 - 1 / x);
  const digits = Math.max(0, Math.ceil(Math.log10(x)) - 2);
  const text = p.toFixed(digits);
  return `${text.includes(".") ? text.replace(/\.?0+$/, "") : text}%`;
}

const PERCENT_TICKS = [1, 2, 10, 100, 1000, 10_000, 100_000, 1_000_000];

function percentileOpts(c: PercentileChart, t: Theme): Omit<uPlot.Options, "width" | "height"> {
  const xmax = c.x.at(-1) ?? 10;
  return {
    scales: { x: { time: false, distr: 3, log: 10, range: () => [1, Math.max(10, xmax)] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
    axes: [
      axis(t, {
        splits: (u) => PERCENT_TICKS.filter((v) => v <= (u.scales["x"]?.max ?? xmax) * 1.0001), // uPlot's log axes blank every tick but powers of 10 unless told otherwise.
        filter: (_u, splits) => splits,
        values: (_u, splits) => splits.map((v) => (v === null ? "" : percentLabel(v))),
        space: 40,
      }),
      axis(t, { size: 56, values: (_u, splits) => splits.map((v) => num(v)), label: c.yUnit, labelFont: FONT, labelSize: 18 }),
    ],
    series: [{ label: "percentile", value: (_u, v) => (v === null || v === undefined ? "–" : percentLabel(v)) }, ...c.series.map((s) => series(t, s, c.yUnit))],
  };
}

/** Shades each phase behind the series and names it at the top. */
function phasePlugin(c: TimeChart, t: Theme): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.font = `${Math.round(11 * uPlot.pxRatio)}px system-ui, sans-serif`;
        ctx.textBaseline = "top";
        for (const span of c.phases) {
          const x0 = u.valToPos(span.from, "x", true);
          const x1 = u.valToPos(span.to, "x", true);
          ctx.fillStyle = t.phase[span.phase];
          ctx.fillRect(x0, top, x1 - x0, height);
          const name = span.phase === "warmup" ? "warm-up" : span.phase;
          const pad = 4 * uPlot.pxRatio;
          if (x1 - x0 > ctx.measureText(name).width + 2 * pad) {
            ctx.fillStyle = t.axis;
            ctx.fillText(name, x0 + pad, top + 3 * uPlot.pxRatio);
          }
        }
        ctx.restore();
      },
    },
  };
}

function timeOpts(c: TimeChart, t: Theme): Omit<uPlot.Options, "width" | "height"> {
  const right = c.series.some((s) => s.right);
  const end = Math.max(...c.phases.map((p) => p.to), c.x.at(-1) ?? 1);
  return {
    plugins: [phasePlugin(c, t)],
    scales: {
      x: { time: false, range: () => [c.x[0] ?? 0, end] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      ...(right ? { y2: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] as uPlot.Range.MinMax } } : {}),
    },
    axes: [
      axis(t, { values: (_u, splits) => splits.map((v) => `${v}s`) }),
      axis(t, { size: 56, values: (_u, splits) => splits.map((v) => num(v)), label: c.yUnit, labelFont: FONT, labelSize: 18 }),
      ...(right ? [axis(t, { side: 1, scale: "y2", grid: { show: false }, size: 56, values: (_u: uPlot, splits: number[]) => splits.map((v) => num(v)), label: c.y2Unit ?? "", labelFont: FONT, labelSize: 18 })] : []),
    ],
    series: [{ label: "time", value: (_u, v) => (v === null || v === undefined ? "–" : `${v} s`) }, ...c.series.map((s) => series(t, s, s.right ? "" : c.yUnit))],
  };
}

function cdfOpts(c: CdfChart, t: Theme): Omit<uPlot.Options, "width" | "height"> {
  return {
    scales: { x: { time: false }, y: { range: () => [0, 100] } },
    axes: [
      axis(t, { values: (_u, splits) => splits.map((v) => `${num(v)} ms`) }),
      axis(t, { size: 56, values: (_u, splits) => splits.map((v) => `${v}%`) }),
    ],
    series: [{ label: "since the drop", value: (_u, v) => (v === null || v === undefined ? "–" : `${num(v)} ms`) }, ...c.series.map((s) => series(t, s, "%"))],
  };
}

function optsFor(c: Chart, t: Theme): Omit<uPlot.Options, "width" | "height"> {
  return c.kind === "percentile" ? percentileOpts(c, t) : c.kind === "time" ? timeOpts(c, t) : cdfOpts(c, t);
}

const plots: { box: HTMLElement; plot: uPlot }[] = [];

const sizeOf = (box: HTMLElement) => ({ width: Math.max(280, box.clientWidth), height: box.clientWidth < 520 ? 200 : 260 });

function draw(): void {
  for (const p of plots.splice(0)) p.plot.destroy();
  const t = theme();
  for (const c of data.charts) {
    const box = document.querySelector<HTMLElement>(`[data-chart="${CSS.escape(c.id)}"]`);
    if (!box) continue;
    const opts: uPlot.Options = { ...sizeOf(box), cursor: { drag: { x: false, y: false } }, legend: { live: true }, ...optsFor(c, t) };
    const aligned = [c.x, ...c.series.map((s) => s.values)] as uPlot.AlignedData;
    plots.push({ box, plot: new uPlot(opts, aligned, box) });
  }
  document.documentElement.dataset["charts"] = String(plots.length);
}

draw();
new ResizeObserver(() => {
  for (const { box, plot } of plots) {
    const s = sizeOf(box);
    if (s.width !== plot.width) plot.setSize(s);
  }
}).observe(document.body);
// The colours follow the reader's light or dark scheme.
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
