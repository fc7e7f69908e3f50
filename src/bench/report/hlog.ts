/**
 * `--hlog FILE`: the per-second histograms as an HdrHistogram interval log
 * (format version 1.3), the file HdrHistogram's `HistogramLogProcessor`,
 * `HistogramLogAnalyzer` and HdrHistogramVisualizer read.
 *
 * One tag per run (`Tag=echo-ws`). Values are microseconds, as recorded;
 * the `Interval_Max` column is in milliseconds (max ÷ 1000). With the Java
 * tools pass `-outputValueUnitRatio 1000` to read milliseconds.
 * Timestamps are seconds since `BaseTime` (the report's start).
 *
 * Interval lines come from hdr-histogram-js's `HistogramLogWriter`; the
 * `StartTime` and `BaseTime` comments are written here, since its
 * `outputStartTime` adds a blank line the Java reader does not expect.
 */
import * as hdr from "hdr-histogram-js";
import type { BenchReport } from "../types.js";
import { runSlugs } from "./summary.js";

/** `Interval_Max` = max µs / 1000, in ms. */
export const HLOG_MAX_VALUE_UNIT_RATIO = 1000;

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** The report's intervals as an HdrHistogram interval log (text, ending in a newline). */
export function formatHlog(report: BenchReport): string {
  const out: string[] = [];
  const writer = new hdr.HistogramLogWriter((s) => out.push(s));
  const starts = report.runs.flatMap((r) => r.intervals.map((i) => i.t));
  const reportStart = Date.parse(report.startedAt);
  const base = Math.min(Number.isFinite(reportStart) ? reportStart : Infinity, ...starts);
  const baseMs = Number.isFinite(base) ? base : 0;

  writer.outputLogFormatVersion();
  writer.outputComment(`[StartTime: ${seconds(baseMs)} (seconds since epoch), ${new Date(baseMs).toISOString()}]`);
  writer.outputComment(`[BaseTime: ${seconds(baseMs)} (seconds since epoch)]`);
  writer.outputComment(`[chsk bench: values in microseconds; Interval_Max in milliseconds (max / ${HLOG_MAX_VALUE_UNIT_RATIO})]`);
  writer.outputComment(`[chsk bench: scenario ${report.params.scenario}, ${report.params.url.replace(/[\r\n]/g, " ")}]`);
  const slugs = runSlugs(report.runs);
  report.runs.forEach((run, i) => {
    writer.outputComment(
      `[chsk bench: Tag=${slugs[i]} measured ${seconds(run.windowStart - baseMs)}..${seconds(run.windowEnd - baseMs)} s, ` +
        `${run.users} users × ${run.devices} devices, ${run.intervals.length} intervals]`,
    );
  });
  writer.outputLegend();

  // One time line for all runs: the Java tools expect the start timestamps in order.
  const lines = report.runs.flatMap((run, i) => run.intervals.map((interval) => ({ tag: slugs[i]!, interval })));
  lines.sort((a, b) => a.interval.t - b.interval.t);
  for (const { tag, interval } of lines) {
    // Plain JS histograms: nothing to initialise or destroy, and the line's base64 is re-encoded from the same counts.
    const h = hdr.decodeFromCompressedBase64(interval.histogram, 32, false);
    h.tag = tag;
    const start = (interval.t - baseMs) / 1000;
    writer.outputIntervalHistogram(h, start, start + 1, HLOG_MAX_VALUE_UNIT_RATIO);
  }
  return out.join("");
}
