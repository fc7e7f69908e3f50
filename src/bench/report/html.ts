/**
 * `--html FILE`: the report as ONE self-contained HTML file. The tables are
 * plain HTML (readable with scripts off); the charts are drawn by an
 * inlined script with uPlot bundled in, from plot data computed here in Node
 * (`curves.ts`). The page loads nothing: a Content-Security-Policy with
 * `default-src 'none'` and the script's own hash keeps it that way.
 *
 * Every string that comes from the report (URL, params, hostnames, error
 * codes) is escaped: the file is opened in a browser.
 */
import { createHash } from "node:crypto";
import { initHistograms } from "../histogram.js";
import type { BenchReport, MachineInfo, RunResult } from "../types.js";
import { reportPlots } from "./curves.js";
import { type LoadPageAssetsOptions, loadPageAssets } from "./page-assets.js";
import { PLOT_DATA_ID } from "./plot-data.js";
import {
  compareRows,
  comparePairs,
  fmtCount,
  fmtMs,
  fmtPercent,
  fmtPopulation,
  fmtRatio,
  runLabel,
  runSlugs,
  saturationWarning,
  verdict,
} from "./summary.js";

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text or attribute value, escaped for HTML. */
export const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ESC[c]!);

/** JSON that cannot end its `<script>` element or open a comment inside it. */
const scriptJson = (x: unknown): string =>
  JSON.stringify(x).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** Inline code that cannot close its own element early. */
const inlineSafe = (code: string, tag: "script" | "style"): string => code.replace(new RegExp(`</(${tag})`, "gi"), "<\\/$1").replace(/<!--/g, "<\\!--");

// --- Small HTML builders ----------------------------------------------------------

interface Col {
  head: string;
  num?: boolean;
}

/** A table of already-escaped cells. */
function table(cols: readonly Col[], rows: readonly string[][], rowClass: readonly (string | undefined)[] = []): string {
  const head = cols.map((c) => `<th${c.num ? ' class="num"' : ""}>${esc(c.head)}</th>`).join("");
  const body = rows
    .map((r, i) => {
      const cls = rowClass[i] ? ` class="${rowClass[i]}"` : "";
      return `<tr${cls}>${r.map((c, j) => (c.startsWith("<td") ? c : `<td${cols[j]?.num ? ' class="num"' : ""}>${c}</td>`)).join("")}</tr>`;
    })
    .join("\n");
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A count that should be zero, marked when it is not. */
const badNum = (n: number): string => `<td class="num${n > 0 ? " bad" : ""}">${esc(fmtCount(n))}</td>`;
const chart = (id: string, label: string): string => `<div class="chart" data-chart="${esc(id)}" role="img" aria-label="${esc(label)}"></div>`;
const section = (id: string, title: string, body: string): string => `<section class="card" id="${esc(id)}"><h2>${esc(title)}</h2>\n${body}\n</section>`;

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// --- Sections ------------------------------------------------------------------------

function header(report: BenchReport): string {
  const p = report.params;
  const first = report.runs[0];
  const model = p.rate !== undefined ? `open model, ${fmtCount(p.rate)} msg/s` : p.inFlight !== undefined ? `closed model, ${p.inFlight} in flight per device` : "";
  const seg = p.segment ? `segment ${p.segment.index}/${p.segment.count}` : report.mergedFrom ? `merged from ${report.mergedFrom.length} segments` : "";
  const facts = [
    when(report.startedAt),
    `${fmtCount(first?.users ?? p.users)} users × ${p.devices} devices`,
    `transport ${p.transport}${p.transport === "mix" ? ` (${fmtPercent(p.ajaxShare)} Ajax)` : ""}`,
    model,
    first ? `${first.durationS.toFixed(1)} s measured` : "",
    seg,
  ].filter(Boolean);
  const v = verdict(report);
  const problems = v.ok ? "" : `<ul>${v.problems.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>`;
  return `<header>
<h1>chsk bench · ${esc(p.scenario)}</h1>
<div class="meta"><span class="url">${esc(p.url)}</span></div>
<div class="meta">${facts.map(esc).join(" · ")}</div>
</header>
<div class="verdict" data-ok="${v.ok}">${v.ok ? `✓ ${esc(v.text)}` : `⚠ ${esc(v.headline)}, with problems:${problems}`}</div>`;
}

function resultsSection(runs: readonly RunResult[]): string {
  const rows: string[][] = [];
  const classes: (string | undefined)[] = [];
  for (const r of runs) {
    const l = r.latencyMs;
    rows.push([esc(runLabel(r)), esc(fmtPopulation(r)), `<strong>${esc(fmtCount(r.throughput))}</strong>`, ...[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => esc(fmtMs(v)))]);
    classes.push(undefined);
    if (r.transport !== "mix") continue;
    for (const [t, b] of Object.entries(r.byTransport)) {
      if (!b) continue;
      const m = b.latencyMs;
      rows.push([
        `<td class="sub">└ ${esc(t)} devices</td>`,
        esc(fmtCount(b.devices)),
        esc(fmtCount(r.durationS > 0 ? b.received / r.durationS : 0)),
        ...[m.p50, m.p90, m.p99, m.p999, m.max].map((v) => esc(fmtMs(v))),
      ]);
      classes.push("muted");
    }
  }
  const latency = table(
    [{ head: "run" }, { head: "users×devices" }, { head: "msg/s", num: true }, ...["p50", "p90", "p99", "p99.9", "max"].map((h) => ({ head: `${h} ms`, num: true }))],
    rows,
    classes,
  );
  const counts = table(
    [
      { head: "run" },
      ...["sent", "received", "errors", "timeouts", "lost", "in flight at stop", "bytes / event", "HTTP requests / event"].map((h) => ({ head: h, num: true })),
    ],
    runs.map((r) => [
      esc(runLabel(r)),
      esc(fmtCount(r.sent)),
      esc(fmtCount(r.received)),
      badNum(r.errors),
      badNum(r.timeouts),
      badNum(r.lost),
      esc(fmtCount(r.inFlightAtStop ?? 0)),
      esc(r.wire.bytesPerEvent.toFixed(1)),
      esc(r.wire.httpRequestsPerEvent.toFixed(3)),
    ]),
  );
  const codes = runs
    .map((r) => {
      const c = Object.entries(r.errorCodes ?? {}).filter(([, n]) => n > 0);
      return c.length === 0 ? "" : `<p class="note">${esc(runLabel(r))} errors: ${c.map(([k, n]) => `<code>${esc(k)}</code> ×${esc(fmtCount(n))}`).join(", ")}</p>`;
    })
    .join("");
  return section("results", "Results", `<h3>Latency and throughput (measured window)</h3>\n${latency}\n<h3>Counts</h3>\n${counts}\n${codes}`);
}

function latencySection(): string {
  return section(
    "latency",
    "Latency percentiles",
    `<p class="note">HdrHistogram percentile distribution of the measured window: x is the percentile on a 1/(1−p) scale, y the latency in ms. Mix runs add their WebSocket and Ajax devices as dashed curves.</p>\n${chart("latency", "latency by percentile, one curve per run")}`,
  );
}

function compareSection(report: BenchReport): string {
  const pairs = comparePairs(report);
  if (pairs.length === 0) return "";
  const body = pairs
    .map((p) => {
      const rows = compareRows(p).map((row) => [esc(row.label), esc(row.fmt(row.ws)), esc(row.fmt(row.ajax)), `<strong>${esc(fmtRatio(row.ajax, row.ws))}</strong>`]);
      return `<h3>${esc(p.scenario)}: WebSocket vs Ajax</h3>\n${table([{ head: "" }, { head: "ws", num: true }, { head: "ajax", num: true }, { head: "ajax/ws", num: true }], rows)}`;
    })
    .join("\n");
  return section("compare", "WebSocket vs Ajax", body);
}

function pushSection(runs: readonly RunResult[], hasSkew: boolean): string {
  const push = runs.filter((r) => r.push);
  if (push.length === 0) return "";
  const rows = push.map((r) => {
    const p = r.push!;
    return [
      esc(runLabel(r)),
      `<td class="num${p.expected > 0 && p.completeness < 1 ? " bad" : ""}">${esc(fmtPercent(p.completeness))}</td>`,
      esc(fmtPercent(p.completePushes)),
      esc(`${fmtCount(p.deliveredInWindow)} / ${fmtCount(p.expected)}`),
      esc(fmtCount(p.pushes)),
      esc(fmtMs(p.skewMs.p50)),
      esc(fmtMs(p.skewMs.p99)),
      badNum(p.lost),
      badNum(p.duplicates),
      badNum(p.reorders),
    ];
  });
  const t = table(
    [
      { head: "run" },
      { head: "completeness", num: true },
      { head: "complete pushes", num: true },
      { head: "in window / expected", num: true },
      { head: "pushes", num: true },
      { head: "skew p50 ms", num: true },
      { head: "skew p99 ms", num: true },
      { head: "lost", num: true },
      { head: "dupes", num: true },
      { head: "reorders", num: true },
    ],
    rows,
  );
  const note = `<p class="note">Completeness: share of (push, device) pairs delivered within ${esc(fmtCount(push[0]!.push!.windowMs))} ms. Skew: last minus first arrival of a push over the user's devices.</p>`;
  return section("push", "Push delivery", `${note}\n${t}${hasSkew ? `\n<h3>Cross-device skew by percentile</h3>\n${chart("skew", "push skew by percentile")}` : ""}`);
}

function connectSection(runs: readonly RunResult[], hasHandshake: boolean): string {
  const conn = runs.filter((r) => r.connect);
  if (conn.length === 0) return "";
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : fmtMs(v));
  const rows = conn.map((r) => {
    const c = r.connect!;
    const failures = Object.entries(c.failures).filter(([, n]) => n > 0);
    return [
      esc(runLabel(r)),
      esc(`${fmtCount(c.connected)} / ${fmtCount(c.attempts)}`),
      esc(fmtMs(c.handshakeMs.p50)),
      esc(fmtMs(c.handshakeMs.p99)),
      esc(fmtMs(c.handshakeMs.max)),
      failures.length === 0 ? "none" : failures.map(([k, n]) => `<code>${esc(k)}</code> ×${esc(fmtCount(n))}`).join(", "),
      c.reconnect ? esc(`${ms(c.reconnect.ms50)} / ${ms(c.reconnect.ms95)} / ${ms(c.reconnect.ms100)} ms`) : "–",
    ];
  });
  const t = table(
    [
      { head: "run" },
      { head: "connected / attempts", num: true },
      { head: "handshake p50 ms", num: true },
      { head: "p99 ms", num: true },
      { head: "max ms", num: true },
      { head: "failures by cause" },
      { head: "back 50 / 95 / 100 %" },
    ],
    rows,
  );
  return section("connect", "Connect", `${t}${hasHandshake ? `\n<h3>Time to handshake by percentile</h3>\n${chart("handshake", "handshake time by percentile")}` : ""}`);
}

const PHASE_LEGEND = `<div class="legend-phases"><span class="ramp">ramp-up</span><span class="warmup">warm-up (not measured)</span><span class="measure">measured</span><span class="drain">drain</span></div>`;

function timelineSection(runs: readonly RunResult[], chartIds: ReadonlySet<string>): string {
  const slugs = runSlugs(runs);
  const parts = runs.map((r, i) => {
    const s = slugs[i]!;
    const storm = r.connect?.reconnect;
    const charts = [
      chartIds.has(`${s}-rate`) ? `<div><h3>${esc(runLabel(r))}: received per second and connected devices</h3>${chart(`${s}-rate`, `${runLabel(r)} throughput and connected devices over time`)}</div>` : "",
      chartIds.has(`${s}-latency`) ? `<div><h3>${esc(runLabel(r))}: p50 / p99 / max per second</h3>${chart(`${s}-latency`, `${runLabel(r)} latency per second`)}</div>` : "",
    ].join("");
    const reconnect =
      storm && chartIds.has(`${s}-reconnect`)
        ? `<h3>${esc(runLabel(r))}: reconnect storm (${storm.how === "server-restart" ? "server restarted" : "every client dropped"}), share of ${esc(fmtCount(storm.devices))} devices back</h3>${chart(`${s}-reconnect`, "devices back over time since the drop")}`
        : "";
    return `<div class="pair">${charts}</div>${reconnect}`;
  });
  return section("timeline", "Over time", `${PHASE_LEGEND}\n${parts.join("\n")}`);
}

function generatorSection(runs: readonly RunResult[]): string {
  const rows = runs.map((r) => {
    const g = r.generatorCpu;
    return [
      esc(runLabel(r)),
      esc(g.processShare.toFixed(2)),
      esc(g.workerElu.map((e) => `${Math.round(e * 100)}%`).join(" ") || "–"),
      esc(g.sendLagMs ? fmtMs(g.sendLagMs.p99) : "–"),
      `<td${g.saturated ? ' class="bad"' : ""}>${g.saturated ? "saturated" : "kept up"}</td>`,
    ];
  });
  const warnings = runs
    .filter((r) => r.generatorCpu.saturated)
    .map((r) => `<p class="warning">${esc(runLabel(r))}: ${esc(saturationWarning(r.generatorCpu.reason))}</p>`)
    .join("");
  const t = table([{ head: "run" }, { head: "CPU (cores)", num: true }, { head: "event-loop use per worker" }, { head: "send lag p99 ms", num: true }, { head: "" }], rows);
  return section("generator", "Generator", `<p class="note">The load generator's own load: a saturated generator measures itself, not the server.</p>\n${t}${warnings}`);
}

function paramValue(key: string, v: unknown): string {
  if (typeof v === "number" && /Ms$/.test(key)) return `${fmtCount(v)} ms`;
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

function parametersSection(report: BenchReport): string {
  const entries = Object.entries(report.params).filter(([, v]) => v !== undefined);
  const dl = `<dl class="kv">${entries.map(([k, v]) => `<dt>${esc(k)}</dt><dd><code>${esc(paramValue(k, v))}</code></dd>`).join("")}</dl>`;
  const from = report.mergedFrom ? `<p class="note">Merged from: ${report.mergedFrom.map((f) => `<code>${esc(f)}</code>`).join(", ")}</p>` : "";
  return section("parameters", "Parameters", `${dl}${from}`);
}

function machinesSection(machines: readonly MachineInfo[]): string {
  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  const rows = machines.map((m) => [esc(m.hostname), esc(`${m.platform} ${m.arch}`), esc(`${m.cpus} × ${m.cpuModel}`), esc(gib(m.memoryBytes)), esc(m.node), esc(m.chsk)]);
  return section(
    "machines",
    machines.length === 1 ? "Machine" : "Machines",
    table([{ head: "host" }, { head: "platform" }, { head: "CPUs" }, { head: "memory", num: true }, { head: "Node.js" }, { head: "chsk" }], rows),
  );
}

/**
 * The whole report as one HTML document (no external resource of any kind).
 * `assets` says where the page's script comes from (tests point it at a
 * fresh build); by default the sources under tsx, `dist/web` when shipped.
 */
export async function renderHtmlReport(report: BenchReport, assets: LoadPageAssetsOptions = {}): Promise<string> {
  await initHistograms();
  const page = await loadPageAssets(assets);
  const plots = reportPlots(report);
  const ids = new Set(plots.charts.map((c) => c.id));
  const js = inlineSafe(page.js, "script");
  const css = inlineSafe(page.css, "style");
  const hash = createHash("sha256").update(js, "utf8").digest("base64");
  // Nothing may be fetched; only this one script may run.
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const body = [
    header(report),
    resultsSection(report.runs),
    ids.has("latency") ? latencySection() : "",
    compareSection(report),
    pushSection(report.runs, ids.has("skew")),
    connectSection(report.runs, ids.has("handshake")),
    timelineSection(report.runs, ids),
    generatorSection(report.runs),
    parametersSection(report),
    machinesSection(report.machine),
  ]
    .filter(Boolean)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="chsk bench">
<title>chsk bench · ${esc(report.params.scenario)} · ${esc(report.params.url)}</title>
<style>${css}</style>
</head>
<body>
<main class="report">
${body}
<footer>chsk bench report · ${esc(report.format)} · charts drawn with uPlot (MIT, bundled in this file)</footer>
</main>
<script type="application/json" id="${PLOT_DATA_ID}">${scriptJson(plots)}</script>
<script>${js}</script>
</body>
</html>
`;
}
