/**
 * The final table `chsk bench` prints: what a person reads in the terminal
 * when the run is over (autocannon's `printResult`: a string, so it is
 * tested as one and written wherever the caller likes).
 *
 * Sections, each one row per run and at most ~75 columns wide: latency and
 * throughput, counts, push delivery and connect figures when there are any,
 * the generator's own load, and the WebSocket/Ajax comparison for
 * `--compare`. Without `color` the text holds no escape at all (NO_COLOR).
 */
import type { BenchReport, RunResult } from "../types.js";
import {
  compareRows,
  comparePairs,
  fmtCount,
  fmtMs,
  fmtPercent,
  fmtPopulation,
  fmtRatio,
  runLabel,
  saturationWarning,
  verdict,
} from "./summary.js";

type Style = "bold" | "dim" | "red" | "yellow" | "green";
const SGR: Record<Style, [number, number]> = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39] };

interface Cell {
  text: string;
  style?: Style | undefined;
}

type Painter = (style: Style | undefined, s: string) => string;

const painter =
  (color: boolean): Painter =>
  (style, s) =>
    color && style ? `\u001b[${SGR[style][0]}m${s}\u001b[${SGR[style][1]}m` : s;

const cell = (text: string, style?: Style): Cell => ({ text, style });
/** A count that should be zero: red when it is not. */
const bad = (n: number): Cell => cell(fmtCount(n), n > 0 ? "red" : undefined);

/**
 * Rows of cells, padded to their column's width (the first column left
 * aligned, numbers right aligned); padding is measured before painting so
 * escapes never shift a column.
 */
function grid(paint: Painter, header: string[], rows: Cell[][], indent = "  "): string[] {
  const all = [header.map((h) => cell(h)), ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => [...(r[c]?.text ?? "")].length)));
  const line = (r: Cell[], head: boolean) =>
    indent +
    r
      .map((x, c) => {
        const w = widths[c]!;
        const pad = " ".repeat(Math.max(0, w - [...x.text].length));
        const text = c === 0 ? x.text + pad : pad + x.text;
        return paint(head ? "dim" : x.style, text);
      })
      .join("  ")
      .trimEnd();
  return [line(all[0]!, true), ...rows.map((r) => line(r, false))];
}

function header(report: BenchReport, paint: Painter): string[] {
  const p = report.params;
  const first = report.runs[0];
  // A segment's runs hold its share of the users; params hold the whole run's.
  const users = first?.users ?? p.users;
  const measured = first ? `${first.durationS.toFixed(1)} s measured` : "";
  const model = p.rate !== undefined ? `open model ${fmtCount(p.rate)}/s` : p.inFlight !== undefined ? `closed model ${p.inFlight} in flight` : "";
  const seg = p.segment ? `segment ${p.segment.index}/${p.segment.count}` : report.mergedFrom ? `merged from ${report.mergedFrom.length} segments` : "";
  const facts = [`${fmtCount(users)} users × ${p.devices} devices`, model, measured, seg].filter(Boolean).join(" · ");
  return [`${paint("bold", `chsk bench · ${p.scenario}`)} ${paint("dim", "·")} ${p.url}`, paint("dim", facts)];
}

function latencySection(runs: readonly RunResult[], paint: Painter): string[] {
  const rows: Cell[][] = [];
  for (const r of runs) {
    const l = r.latencyMs;
    rows.push([
      cell(runLabel(r)),
      cell(fmtPopulation(r)),
      cell(fmtCount(r.throughput), "bold"),
      cell(fmtMs(l.p50)),
      cell(fmtMs(l.p90)),
      cell(fmtMs(l.p99), "bold"),
      cell(fmtMs(l.p999)),
      cell(fmtMs(l.max)),
    ]);
    // A mix run's devices split by transport: the part each transport played.
    if (r.transport !== "mix") continue;
    for (const [t, b] of Object.entries(r.byTransport)) {
      if (b === undefined) continue;
      const m = b.latencyMs;
      rows.push(
        [
          cell(`  └ ${t} devices`),
          cell(fmtCount(b.devices)),
          cell(fmtCount(r.durationS > 0 ? b.received / r.durationS : 0)),
          cell(fmtMs(m.p50)),
          cell(fmtMs(m.p90)),
          cell(fmtMs(m.p99)),
          cell(fmtMs(m.p999)),
          cell(fmtMs(m.max)),
        ].map((c) => ({ ...c, style: "dim" as const })),
      );
    }
  }
  return [paint("bold", "latency (ms) and throughput"), ...grid(paint, ["run", "users×dev", "msg/s", "p50", "p90", "p99", "p99.9", "max"], rows)];
}

function countSection(runs: readonly RunResult[], paint: Painter): string[] {
  const rows = runs.map((r) => [
    cell(runLabel(r)),
    cell(fmtCount(r.sent)),
    cell(fmtCount(r.received)),
    bad(r.errors),
    bad(r.timeouts),
    bad(r.lost),
    cell(fmtCount(r.inFlightAtStop ?? 0)),
  ]);
  const lines = [paint("bold", "counts (measured window)"), ...grid(paint, ["run", "sent", "received", "errors", "timeouts", "lost", "in flight"], rows)];
  for (const r of runs) {
    const codes = Object.entries(r.errorCodes ?? {}).filter(([, n]) => n > 0);
    if (codes.length > 0) lines.push(paint("dim", `  ${runLabel(r)} errors: ${codes.map(([c, n]) => `${c} ×${fmtCount(n)}`).join(", ")}`));
  }
  return lines;
}

function pushSection(runs: readonly RunResult[], paint: Painter): string[] {
  const push = runs.filter((r) => r.push !== undefined);
  if (push.length === 0) return [];
  const rows = push.map((r) => {
    const p = r.push!;
    return [
      cell(runLabel(r)),
      cell(fmtPercent(p.completeness), p.expected > 0 && p.completeness < 1 ? "red" : "bold"),
      cell(fmtPercent(p.completePushes)),
      cell(`${fmtCount(p.deliveredInWindow)}/${fmtCount(p.expected)}`),
      cell(fmtMs(p.skewMs.p99)),
      bad(p.duplicates),
      bad(p.reorders),
    ];
  });
  const windowMs = push[0]!.push!.windowMs;
  return [
    paint("bold", `push delivery (within ${fmtCount(windowMs)} ms)`),
    ...grid(paint, ["run", "complete", "pushes", "in window/expected", "skew p99", "dupes", "reorders"], rows),
  ];
}

function connectSection(runs: readonly RunResult[], paint: Painter): string[] {
  const conn = runs.filter((r) => r.connect !== undefined);
  if (conn.length === 0) return [];
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : fmtMs(v));
  const rows = conn.map((r) => {
    const c = r.connect!;
    const failed = Object.values(c.failures).reduce((a, b) => a + b, 0);
    const back = c.reconnect ? `${ms(c.reconnect.ms50)} / ${ms(c.reconnect.ms95)} / ${ms(c.reconnect.ms100)}` : "–";
    return [
      cell(runLabel(r)),
      cell(`${fmtCount(c.connected)}/${fmtCount(c.attempts)}`),
      cell(fmtMs(c.handshakeMs.p50)),
      cell(fmtMs(c.handshakeMs.p99), "bold"),
      cell(fmtMs(c.handshakeMs.max)),
      bad(failed),
      cell(back),
    ];
  });
  const lines = [
    paint("bold", "connect (ms)"),
    ...grid(paint, ["run", "connected", "hs p50", "hs p99", "hs max", "failed", "back 50/95/100%"], rows),
  ];
  for (const r of conn) {
    const c = r.connect!;
    const causes = Object.entries(c.failures).filter(([, n]) => n > 0).sort(([, a], [, b]) => b - a);
    if (causes.length > 0) lines.push(paint("dim", `  ${runLabel(r)} failures: ${causes.map(([k, n]) => `${k} ×${fmtCount(n)}`).join(", ")}`));
    if (c.reconnect) {
      const how = c.reconnect.how === "server-restart" ? "server restarted" : "every client dropped";
      lines.push(paint("dim", `  ${runLabel(r)} reconnect storm (${how}): ${fmtCount(c.reconnect.back)}/${fmtCount(c.reconnect.devices)} back`));
    }
  }
  return lines;
}

/** Worker ELUs as `41% 38% 45%`, or a summary past eight workers so the line fits. */
function fmtElu(elu: readonly number[]): string {
  if (elu.length === 0) return "–";
  const pct = (f: number) => `${Math.round(f * 100)}%`;
  if (elu.length <= 8) return elu.map(pct).join(" ");
  const mean = elu.reduce((a, b) => a + b, 0) / elu.length;
  return `mean ${pct(mean)}, max ${pct(Math.max(...elu))} over ${elu.length} workers`;
}

/** Words of `text` in lines of at most `width` columns, the later ones indented by `hang`. */
function wrap(text: string, width: number, hang: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line === "" ? word : `${line} ${word}`;
    if ([...next].length > width && line !== "") {
      lines.push(line);
      line = hang + word;
    } else line = next;
  }
  if (line !== "") lines.push(line);
  return lines;
}

function generatorSection(runs: readonly RunResult[], paint: Painter): string[] {
  const lines = [paint("bold", "generator")];
  const w = Math.max(...runs.map((r) => [...runLabel(r)].length));
  for (const r of runs) {
    const g = r.generatorCpu;
    const lag = g.sendLagMs ? ` · send lag p99 ${fmtMs(g.sendLagMs.p99)} ms` : "";
    lines.push(`  ${runLabel(r).padEnd(w)}  CPU ${g.processShare.toFixed(2)} cores · worker ELU ${fmtElu(g.workerElu)}${lag}`);
    if (g.saturated) lines.push(...wrap(saturationWarning(g.reason), 76, "  ").map((l) => `  ${paint("yellow", l)}`));
  }
  return lines;
}

function compareSection(report: BenchReport, paint: Painter): string[] {
  const lines: string[] = [];
  for (const pair of comparePairs(report)) {
    const rows = compareRows(pair).map((row) => [cell(row.label), cell(row.fmt(row.ws)), cell(row.fmt(row.ajax)), cell(fmtRatio(row.ajax, row.ws), "bold")]);
    lines.push("", paint("bold", `ws vs ajax · ${pair.scenario}`), ...grid(paint, ["", "ws", "ajax", "ajax/ws"], rows));
  }
  return lines;
}

/** The final table, as text ending in a newline. */
export function formatRunTable(report: BenchReport, opts: { color: boolean }): string {
  const paint = painter(opts.color);
  const runs = report.runs;
  const v = verdict(report);
  if (runs.length === 0) return `${[...header(report, paint), "", paint("yellow", `⚠ ${v.text}`)].join("\n")}\n`;
  const sections = [
    header(report, paint),
    latencySection(runs, paint),
    countSection(runs, paint),
    pushSection(runs, paint),
    connectSection(runs, paint),
    generatorSection(runs, paint),
  ].filter((s) => s.length > 0);
  const out = sections.flatMap((s, i) => (i === 0 ? s : ["", ...s]));
  out.push(...compareSection(report, paint));
  if (v.ok) out.push("", paint("green", `✓ ${v.text}`));
  else out.push("", paint("yellow", `⚠ ${v.headline}, with problems:`), ...v.problems.map((p) => `  ${paint("yellow", p)}`));
  return `${out.join("\n")}\n`;
}
