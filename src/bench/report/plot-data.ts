/**
 * What the HTML report's page script draws: plain data computed in Node from
 * the report's histograms and intervals, embedded in the page as JSON. The
 * page does no statistics; it only draws these series.
 *
 * Types only: imported by the Node side (`curves.ts`) and by the page.
 */

/** A colour role; the page maps it to a CSS custom property (light and dark). */
export type SeriesColor = "ws" | "ajax" | "mix" | "alt1" | "alt2" | "alt3" | "p50" | "p99" | "max" | "connected" | "errors" | "handshakes";

export interface PlotSeries {
  label: string;
  color: SeriesColor;
  dash?: boolean;
  /** Right-hand axis (`connected` over throughput). */
  right?: boolean;
  /** Aligned with the chart's `x`; null where the series has no value. */
  values: (number | null)[];
}

/**
 * HdrHistogram's percentile distribution: `x` is 1/(1−p) (so 2 is the
 * median, 100 is p99, 1000 is p99.9) on a log axis, `y` in ms.
 */
export interface PercentileChart {
  kind: "percentile";
  id: string;
  x: number[];
  series: PlotSeries[];
  yUnit: string;
}

export type Phase = "ramp" | "warmup" | "measure" | "drain";

export interface PhaseSpan {
  phase: Phase;
  /** Seconds since the run's first connect; `to` is exclusive. */
  from: number;
  to: number;
}

/** Per-second series over a run's time line, with its phases shaded. */
export interface TimeChart {
  kind: "time";
  id: string;
  /** Seconds since the run's first connect. */
  x: number[];
  series: PlotSeries[];
  phases: PhaseSpan[];
  yUnit: string;
  y2Unit?: string;
}

/** Share of the devices back (y, %) by time since the drop (x, ms): the reconnect storm. */
export interface CdfChart {
  kind: "cdf";
  id: string;
  x: number[];
  series: PlotSeries[];
}

export type Chart = PercentileChart | TimeChart | CdfChart;

export interface ReportPlots {
  charts: Chart[];
}

/** The id of the `<script type="application/json">` that carries {@link ReportPlots}. */
export const PLOT_DATA_ID = "chsk-bench-plots";
