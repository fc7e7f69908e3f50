/**
 * `chsk bench merge A.json B.json …`: the segments of one run, measured on
 * several machines (`--segment i/n`), as one report.
 *
 * Counts are summed and histograms are added, and every percentile is read
 * again from the merged histograms: a p99 of two p99s is not a p99, so no
 * percentile is ever averaged. Seconds line up on their wall-clock `t`
 * (the segments started together with `--start-at`).
 */
import { readFile } from "node:fs/promises";
import * as hdr from "hdr-histogram-js";
import { ChskError } from "../core/protocol/errors.js";
import { decodeHist, latencyMs, latencyMsOfEncoded, mergeEncoded, encodeHist, mergeToEncoded } from "./histogram.js";
import { pushCountsOf, pushStats } from "./push-stats.js";
import { wireCost } from "./wire-cost.js";
import type { BenchParams, BenchReport, ConnectStats, GeneratorCpu, IntervalStats, LatencyMs, RunResult } from "./types.js";

const FORMAT = "chsk-bench/1";

const mergeError = (file: string, reason: string): ChskError =>
  new ChskError("CHSK_ERR_BENCH_MERGE", `${file}: ${reason}`, { detail: { file, reason } });

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Checks the shape `merge` relies on; a file that passes is treated as a
 * {@link BenchReport}. Throws `CHSK_ERR_BENCH_MERGE` saying what is wrong.
 */
export function assertBenchReport(x: unknown, file: string): asserts x is BenchReport {
  if (!isObject(x)) throw mergeError(file, "not a chsk bench report (expected a JSON object)");
  if (x["format"] !== FORMAT) throw mergeError(file, `not a ${FORMAT} report (format: ${JSON.stringify(x["format"] ?? null)})`);
  const params = x["params"];
  if (!isObject(params) || typeof params["scenario"] !== "string" || typeof params["users"] !== "number") {
    throw mergeError(file, "has no params (scenario, users)");
  }
  if (!Array.isArray(x["machine"])) throw mergeError(file, "has no machine list");
  const runs = x["runs"];
  if (!Array.isArray(runs) || runs.length === 0) throw mergeError(file, "has no runs");
  for (const [i, run] of runs.entries()) {
    const where = `run ${i + 1}`;
    if (!isObject(run)) throw mergeError(file, `${where} is not an object`);
    for (const k of ["scenario", "transport"]) if (typeof run[k] !== "string") throw mergeError(file, `${where} has no ${k}`);
    for (const k of ["users", "sent", "received", "errors", "timeouts", "lost", "windowStart", "windowEnd"]) {
      if (typeof run[k] !== "number" || !Number.isFinite(run[k])) throw mergeError(file, `${where} has no number ${k}`);
    }
    const h = run["histograms"];
    if (!isObject(h) || typeof h["latency"] !== "string") throw mergeError(file, `${where} has no encoded latency histogram`);
    if (!Array.isArray(run["intervals"])) throw mergeError(file, `${where} has no intervals`);
    if (!isObject(run["wire"]) || !isObject(run["generatorCpu"])) throw mergeError(file, `${where} has no wire or generator figures`);
  }
}

/** Reads and checks one `--json` report. `CHSK_ERR_FILE` when unreadable, `CHSK_ERR_BENCH_MERGE` when not a report. */
export async function readReportFile(path: string): Promise<BenchReport> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new ChskError("CHSK_ERR_FILE", `${path}: cannot read the report: ${why}`, { cause: e, detail: { file: path } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ChskError("CHSK_ERR_BENCH_MERGE", `${path}: not a chsk bench report (not JSON: ${(e as Error).message})`, {
      cause: e,
      detail: { file: path, reason: "not JSON" },
    });
  }
  assertBenchReport(json, path);
  return json;
}

// --- Validation across files --------------------------------------------------

/**
 * Parameters that must agree for files to be shares of one run. `segment`
 * differs by design and `workers` with each machine's cores.
 */
function shape(p: BenchParams): string {
  const { segment: _s, workers: _w, ...rest } = p;
  return JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))));
}

const runKey = (r: Pick<RunResult, "scenario" | "transport">) => `${r.scenario}/${r.transport}`;

function checkSegments(reports: readonly BenchReport[], files: readonly string[]): void {
  const first = reports[0]!;
  const base = shape(first.params);
  const keys = first.runs.map(runKey).sort().join(",");
  for (const [i, r] of reports.entries()) {
    const file = files[i]!;
    if (r.params.scenario !== first.params.scenario) {
      throw mergeError(file, `scenario ${r.params.scenario} differs from ${files[0]}'s ${first.params.scenario}`);
    }
    if (shape(r.params) !== base) {
      const a = first.params as unknown as Record<string, unknown>;
      const b = r.params as unknown as Record<string, unknown>;
      const diff = [...new Set([...Object.keys(a), ...Object.keys(b)])]
        .filter((k) => k !== "segment" && k !== "workers" && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
        .sort();
      throw mergeError(file, `parameters differ from ${files[0]}'s (${diff.join(", ")}): not segments of one run`);
    }
    const k = r.runs.map(runKey).sort().join(",");
    if (k !== keys) throw mergeError(file, `runs (${k}) differ from ${files[0]}'s (${keys})`);
    if (r.mergedFrom !== undefined) throw mergeError(file, "is already a merged report; merge the segment files themselves");
  }
  const count = first.params.segment?.count;
  if (count === undefined) throw mergeError(files[0]!, "is not a segment (no --segment i/n); only the segments of one run can be merged");
  const seen = new Map<number, string>();
  for (const [i, r] of reports.entries()) {
    const s = r.params.segment;
    if (s === undefined) throw mergeError(files[i]!, "is not a segment (no --segment i/n)");
    if (s.count !== count) throw mergeError(files[i]!, `is segment ${s.index}/${s.count}, not one of ${count}`);
    const dup = seen.get(s.index);
    if (dup !== undefined) throw mergeError(files[i]!, `segment ${s.index}/${count} is given twice (also ${dup})`);
    seen.set(s.index, files[i]!);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw mergeError(files[0]!, `segment${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of ${count} missing: the merged report would undercount the run`);
  }
}

// --- Merging -------------------------------------------------------------------

const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);

function sumCounts(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The open model's send lag has no histogram in the report: the worst segment's figures (an upper bound), counts summed. */
function worstLag(parts: readonly LatencyMs[]): LatencyMs {
  const max = (k: keyof LatencyMs) => Math.max(...parts.map((p) => p[k]));
  return { p50: max("p50"), p90: max("p90"), p99: max("p99"), p999: max("p999"), max: max("max"), mean: max("mean"), count: sum(parts, (p) => p.count) };
}

function mergeGenerator(parts: readonly GeneratorCpu[], segments: readonly number[]): GeneratorCpu {
  const reasons = parts.flatMap((g, i) => (g.saturated ? [`segment ${segments[i]}: ${g.reason ?? "saturated"}`] : []));
  const lags = parts.flatMap((g) => (g.sendLagMs ? [g.sendLagMs] : []));
  return {
    // Cores used over all machines.
    processShare: Math.round(sum(parts, (g) => g.processShare) * 1000) / 1000,
    workerElu: parts.flatMap((g) => g.workerElu),
    saturated: reasons.length > 0,
    ...(reasons.length > 0 ? { reason: reasons.join("; ") } : {}),
    ...(lags.length > 0 ? { sendLagMs: worstLag(lags) } : {}),
  };
}

function mergeConnect(parts: readonly ConnectStats[], handshake: string | undefined): ConnectStats {
  const out: ConnectStats = {
    attempts: sum(parts, (c) => c.attempts),
    connected: sum(parts, (c) => c.connected),
    failures: sumCounts(parts.map((c) => c.failures)),
    handshakeMs: handshake !== undefined ? latencyMsOfEncoded(handshake) : parts[0]!.handshakeMs,
  };
  const storms = parts.flatMap((c) => (c.reconnect ? [c.reconnect] : []));
  if (storms.length > 0) {
    const histogram = mergeToEncoded(storms.map((s) => s.histogram));
    const devices = sum(storms, (s) => s.devices);
    const back = sum(storms, (s) => s.back);
    const h = decodeHist(histogram);
    // As the engine: the time until a share q of all dropped devices was back, null if fewer came back.
    const at = (q: number) =>
      devices > 0 && back >= Math.ceil(q * devices) ? Math.round(h.getValueAtPercentile(Math.min(100, ((q * devices) / back) * 100))) / 1000 : null;
    out.reconnect = { how: storms[0]!.how, devices, back, ms50: at(0.5), ms95: at(0.95), ms100: at(1), histogram };
    h.destroy();
  }
  return out;
}

const PHASE_RANK: Record<IntervalStats["phase"], number> = { measure: 3, drain: 2, warmup: 1, ramp: 0 };

/** Seconds with the same wall-clock `t` become one: counts summed, histograms added. */
function mergeIntervals(lists: readonly IntervalStats[][]): IntervalStats[] {
  // Each segment counts `elapsedS` from its own first connect; the merged run from the earliest.
  const starts = lists.flatMap((l) => l.map((s) => s.t - s.elapsedS * 1000));
  const t0 = starts.length > 0 ? Math.min(...starts) : 0;
  const byT = new Map<number, IntervalStats[]>();
  for (const l of lists) {
    for (const s of l) {
      const at = byT.get(s.t);
      if (at) at.push(s);
      else byT.set(s.t, [s]);
    }
  }
  return [...byT.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, parts]) => {
      const h = mergeEncoded(parts.map((p) => p.histogram));
      const l = latencyMs(h);
      const histogram = encodeHist(h);
      h.destroy();
      // Segments started together disagree on a phase only at its edges: a second measured anywhere counts as measured.
      const phase = parts.map((p) => p.phase).reduce((a, b) => (PHASE_RANK[b] > PHASE_RANK[a] ? b : a));
      return {
        t,
        elapsedS: Math.round((t - t0) / 1000),
        phase,
        sent: sum(parts, (p) => p.sent),
        received: sum(parts, (p) => p.received),
        errors: sum(parts, (p) => p.errors),
        timeouts: sum(parts, (p) => p.timeouts),
        connected: sum(parts, (p) => p.connected),
        handshakes: sum(parts, (p) => p.handshakes),
        histogram,
        p50: l.p50,
        p99: l.p99,
        max: l.max,
      };
    });
}

function optionalMerged(parts: readonly RunResult[], pick: (r: RunResult) => string | undefined): string | undefined {
  const hs = parts.flatMap((r) => {
    const h = pick(r);
    return h === undefined ? [] : [h];
  });
  return hs.length > 0 ? mergeToEncoded(hs) : undefined;
}

function mergeRun(parts: readonly RunResult[], segments: readonly number[]): RunResult {
  const first = parts[0]!;
  const windowStart = Math.min(...parts.map((r) => r.windowStart));
  const windowEnd = Math.max(...parts.map((r) => r.windowEnd));
  const windowMs = windowEnd - windowStart;
  const received = sum(parts, (r) => r.received);
  const latency = mergeToEncoded(parts.map((r) => r.histograms.latency));
  const skew = optionalMerged(parts, (r) => r.histograms.skew);
  const handshake = optionalMerged(parts, (r) => r.histograms.handshake);

  const byTransport: RunResult["byTransport"] = {};
  for (const t of ["ws", "ajax"] as const) {
    const ps = parts.flatMap((r) => {
      const b = r.byTransport?.[t];
      return b ? [b] : [];
    });
    if (ps.length === 0) continue;
    const histogram = mergeToEncoded(ps.map((p) => p.histogram));
    byTransport[t] = { devices: sum(ps, (p) => p.devices), received: sum(ps, (p) => p.received), latencyMs: latencyMsOfEncoded(histogram), histogram };
  }

  const bytesSent = sum(parts, (r) => r.wire.bytesSent);
  const bytesReceived = sum(parts, (r) => r.wire.bytesReceived);
  const httpRequests = sum(parts, (r) => r.wire.httpRequests);
  const pushParts = parts.flatMap((r) => (r.push ? [r.push] : []));
  const connectParts = parts.flatMap((r) => (r.connect ? [r.connect] : []));
  // The engine's formula over the segments' counts, so shares come out as if one machine had run every user.
  const push = pushParts.length > 0 ? pushStats(pushParts.map(pushCountsOf), skew ?? mergeToEncoded([]), pushParts[0]!.windowMs) : undefined;
  const connect = connectParts.length > 0 ? mergeConnect(connectParts, handshake) : undefined;

  return {
    transport: first.transport,
    scenario: first.scenario,
    users: sum(parts, (r) => r.users),
    // Devices per user: the same in every segment (segments split users, not devices).
    devices: first.devices,
    durationS: Math.round(windowMs) / 1000,
    sent: sum(parts, (r) => r.sent),
    received,
    errors: sum(parts, (r) => r.errors),
    timeouts: sum(parts, (r) => r.timeouts),
    lost: sum(parts, (r) => r.lost),
    inFlightAtStop: sum(parts, (r) => r.inFlightAtStop ?? 0),
    throughput: windowMs > 0 ? Math.round((received * 1000 * 10) / windowMs) / 10 : 0,
    latencyMs: latencyMsOfEncoded(latency),
    errorCodes: sumCounts(parts.map((r) => r.errorCodes ?? {})),
    generatorCpu: mergeGenerator(
      parts.map((r) => r.generatorCpu),
      segments,
    ),
    wire: wireCost(bytesSent, bytesReceived, httpRequests, received),
    ...(push ? { push } : {}),
    ...(connect ? { connect } : {}),
    byTransport,
    histograms: { latency, ...(skew !== undefined ? { skew } : {}), ...(handshake !== undefined ? { handshake } : {}) },
    intervals: mergeIntervals(parts.map((r) => r.intervals)),
    windowStart,
    windowEnd,
  };
}

/**
 * Merges the segment reports of one run (`--segment 1/n` … `n/n`, every one
 * exactly once) into one report; `files` name them in errors and in
 * `mergedFrom`. Throws `CHSK_ERR_BENCH_MERGE` for a file that is not a
 * report or not a segment of the same run.
 */
export function mergeReports(reports: readonly BenchReport[], files: readonly string[]): BenchReport {
  if (reports.length === 0) throw new ChskError("CHSK_ERR_BENCH_MERGE", "no reports to merge", { detail: { file: "", reason: "no files" } });
  const names = reports.map((_, i) => files[i] ?? `report ${i + 1}`);
  reports.forEach((r, i) => assertBenchReport(r, names[i]!));
  checkSegments(reports, names);
  // Merging is synchronous; the WASM histograms need their module loaded once.
  hdr.initWebAssemblySync();

  const first = reports[0]!;
  const segments = reports.map((r) => r.params.segment!.index);
  const runs = first.runs.map((run) => {
    const parts = reports.map((r) => r.runs.find((x) => runKey(x) === runKey(run))!);
    try {
      return mergeRun(parts, segments);
    } catch (e) {
      // A histogram that does not decode: the shape was right, the data is not.
      throw new ChskError("CHSK_ERR_BENCH_MERGE", `${names.join(", ")}: cannot merge run ${runKey(run)}: ${(e as Error).message}`, {
        cause: e,
        detail: { file: names.join(", "), reason: "bad histogram" },
      });
    }
  });
  const { segment: _segment, ...params } = first.params;
  return {
    format: FORMAT,
    startedAt: reports.map((r) => r.startedAt).sort()[0]!,
    params: { ...params, workers: sum(reports, (r) => r.params.workers) },
    machine: reports.flatMap((r) => r.machine),
    runs,
    mergedFrom: [...names],
  };
}
