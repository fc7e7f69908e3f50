/**
 * Turns results into markdown. Pure: every function returns a string;
 * run.ts decides where it goes (stdout, bench/results/*.md).
 */
import type { LoadResult, MemResult } from "./measure.js";

export interface RowError {
  label: string;
  error: string;
}
export type Row<T> = { label: string; result: T; generator?: string } | RowError;
export const isError = <T>(r: Row<T>): r is RowError => "error" in r;

export interface Check {
  name: string;
  /** The measured ratio or value. */
  value: number | null;
  unit: "x" | "µs" | "ms";
  /** `le`: value must be ≤ target; `ge`: ≥ target. */
  op: "le" | "ge";
  target: number;
  pass: boolean | null;
  detail: string;
}

export interface Meta {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  openFilesLimit: number;
  generator: string;
  settings: Record<string, number | string>;
}

/** One target in the peers table: median values over its rounds, ratios against raw ws of the same run. */
export interface PeerRow {
  key: string;
  label: string;
  transport: "ws" | "ajax";
  generator: string;
  /** Echo rounds measured (the ratios are medians of per-round ratios). */
  rounds: number;
  rtPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  serverCpuUsPerRt?: number;
  rssPerConnBytes?: number;
  genCpuUsPerRt?: number;
  vsRaw: { rtPerSec?: number; p99?: number; cpu?: number; rss?: number };
  /** Some round ran on a busy machine, or the generator flagged itself saturated. */
  noisy?: boolean;
  saturated?: boolean;
  error?: string;
}

export interface PeersResults {
  rows: PeerRow[];
  /** Every measured echo row and memory row, in run order. */
  echo: (Row<LoadResult> & { key: string; round: number })[];
  mem: (Row<MemResult> & { key: string })[];
  /** What could not be measured, and why. */
  notes: string[];
}

export interface BenchResults {
  meta: Meta;
  ws?: Row<LoadResult>[];
  open?: Row<LoadResult>[];
  mem?: Row<MemResult>[];
  ajax?: Row<LoadResult>[];
  peers?: PeersResults;
  checks: Check[];
}

const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (share: number) => `${Math.round(share * 100)}%`;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
/** Above this share of a core used by other processes, a row is flagged noisy. */
export const NOISY_SHARE = 0.5;
/** Above this p99 send lag (ms) the open-model generator was starved. */
export const STARVED_LAG_MS = 5;
const other = (share: number) => `${pct(share)}${share >= NOISY_SHARE ? " ⚠" : ""}`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((h, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

const errorRow = (r: RowError, width: number) => [
  r.label,
  r.error.startsWith("skipped") ? r.error : `**failed:** ${r.error.replace(/\|/g, "\\|").slice(0, 200)}`,
  ...Array(width - 2).fill(""),
];

export function closedTable(rows: Row<LoadResult>[]): string {
  const head = ["target", "generator", "RT/s", "p50 ms", "p99 ms", "p99.9 ms", "server CPU µs/RT", "of which kernel", "gen CPU µs/RT", "server CPU", "gen CPU", "other CPU", "errors"];
  return table(
    head,
    rows.map((r) =>
      isError(r)
        ? errorRow(r, head.length)
        : [
            r.label,
            r.generator ?? "",
            int(r.result.rtPerSec),
            ms(r.result.latencyMs.p50),
            ms(r.result.latencyMs.p99),
            `${ms(r.result.latencyMs.p999)}${r.result.listenDrops > 0 ? " ‡" : ""}`,
            r.result.serverCpuUsPerRt.toFixed(1),
            (r.result.serverSysCpuUs / Math.max(1, r.result.received)).toFixed(1),
            `${r.result.genCpuUsPerRt.toFixed(1)}${r.result.genSaturated ? " †" : ""}`,
            pct(r.result.serverCpuShare),
            pct(r.result.genCpuShare),
            other(r.result.otherCpuShare),
            errors(r.result),
          ],
    ),
  );
}

const errors = (r: LoadResult) => String(r.errors + r.timeouts);

export function openTable(rows: Row<LoadResult>[]): string {
  const head = ["target", "req/s (target)", "RT/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "server CPU µs/RT", "gen CPU µs/RT", "gen send lag p99 ms", "other CPU", "in flight at stop", "errors"];
  return table(
    head,
    rows.map((r) =>
      isError(r)
        ? errorRow(r, head.length)
        : [
            r.label,
            int(r.result.rate ?? 0),
            int(r.result.rtPerSec),
            ms(r.result.latencyMs.p50),
            ms(r.result.latencyMs.p90),
            ms(r.result.latencyMs.p99),
            `${ms(r.result.latencyMs.p999)}${r.result.listenDrops > 0 ? " ‡" : ""}`,
            ms(r.result.latencyMs.max),
            r.result.serverCpuUsPerRt.toFixed(1),
            `${r.result.genCpuUsPerRt.toFixed(1)}${r.result.genSaturated ? " †" : ""}`,
            r.result.sendLagMs ? `${ms(r.result.sendLagMs.p99)}${r.result.sendLagMs.p99 > STARVED_LAG_MS ? " ⚠" : ""}` : "",
            other(r.result.otherCpuShare),
            String(r.result.inFlightAtStop),
            errors(r.result),
          ],
    ),
  );
}

export function memTable(rows: Row<MemResult>[]): string {
  const head = ["target", "idle conns", "RSS KB/conn", "JS heap+external KB/conn", "RSS at N (MB)", "handshake p50 / p99 ms"];
  return table(
    head,
    rows.map((r) =>
      isError(r)
        ? errorRow(r, head.length)
        : [
            r.label,
            `${r.result.base} → ${r.result.total}`,
            kb(r.result.rssPerConnBytes),
            kb(r.result.heapPerConnBytes),
            (r.result.rssBytes / 2 ** 20).toFixed(1),
            `${ms(r.result.handshakeMs.p50)} / ${ms(r.result.handshakeMs.p99)}`,
          ],
    ),
  );
}

const ratio = (x: number | undefined) => (x === undefined ? "" : `${x.toFixed(2)}x`);
const opt = (x: number | undefined, f: (v: number) => string) => (x === undefined ? "n/a" : f(x));

export function peersTable(rows: PeerRow[]): string {
  const head = ["target", "generator", "RT/s", "vs raw ws", "p50 ms", "p99 ms", "vs raw ws", "server CPU µs/RT", "vs raw ws", "RSS KB/idle conn", "vs raw ws", "gen CPU µs/RT", "gen ≤ server"];
  return table(
    head,
    rows.map((r) =>
      r.error !== undefined && r.rtPerSec === undefined && r.rssPerConnBytes === undefined
        ? errorRow({ label: r.label, error: r.error }, head.length)
        : [
            `${r.label}${r.noisy ? " ⚠" : ""}`,
            r.generator,
            opt(r.rtPerSec, int),
            ratio(r.vsRaw.rtPerSec),
            opt(r.p50Ms, ms),
            opt(r.p99Ms, ms),
            ratio(r.vsRaw.p99),
            opt(r.serverCpuUsPerRt, (v) => v.toFixed(1)),
            ratio(r.vsRaw.cpu),
            r.transport === "ws" ? opt(r.rssPerConnBytes, kb) : "",
            r.transport === "ws" ? ratio(r.vsRaw.rss) : "",
            opt(r.genCpuUsPerRt, (v) => `${v.toFixed(1)}${r.saturated ? " †" : ""}`),
            r.genCpuUsPerRt === undefined || r.serverCpuUsPerRt === undefined ? "" : r.genCpuUsPerRt <= r.serverCpuUsPerRt ? "yes" : "**no**",
          ],
    ),
  );
}

export function checksTable(checks: Check[]): string {
  return table(
    ["check", "measured", "target", "result", "from"],
    checks.map((c) => [
      c.name,
      c.value === null ? "n/a" : c.unit === "x" ? `${c.value.toFixed(2)}x` : `${c.value.toFixed(1)} ${c.unit}`,
      `${c.op === "le" ? "≤" : "≥"} ${c.unit === "x" ? `${c.target}x` : `${c.target} ${c.unit}`}`,
      c.pass === null ? "n/a" : c.pass ? "PASS" : "**FAIL**",
      c.detail,
    ]),
  );
}

/** The header every results file starts with: where and how it was measured. */
export function preamble(m: Meta, title: string): string[] {
  return [
    `# ${title}`,
    "",
    `${m.date} · Node ${m.node} · ${m.cpu} × ${m.cores} · open files limit ${m.openFilesLimit}`,
    "",
    `Each server runs alone in its own child process; its CPU time (utime+stime from /proc/<pid>/stat, 10 ms ticks) is read exactly at the edges of the measured window and its RSS after \`gc()\`; the bench never touches the server during a window. ${m.generator}`,
    `Latency is in ms (HdrHistogram); RT = one request/reply round trip; CPU 100% = one core. *gen CPU µs/RT* is the load generator's CPU (this whole process, every thread) per round trip, from the engine's report; † marks rows where the engine flagged its own generator as saturated (a worker's event loop ≥ 90% busy), so RT/s there says as much about the generator as about the server. *other CPU* is the machine's remaining busy time in the window (other processes, kernel network work not charged to either process): ⚠ marks rows where it exceeded ${NOISY_SHARE * 100}% of a core, or where the open-model generator sent late by more than ${STARVED_LAG_MS} ms (p99): treat those numbers with suspicion. ‡ marks rows during which the kernel dropped connections from a full listen queue (machine-wide TcpExt ListenDrops): each drop is a 1-3 s SYN retry, so the tail there is the network stack, not the server. Ratios compare targets measured in this same run.`,
    "",
  ];
}

const memIntro = "Server RSS and V8 heap after `gc()` with the first count of idle connections open, then again with the second (the engine's connect scenario, nested); the table shows the difference divided by the added connections (the handshake is done, then nothing is sent).";

export function renderPeers(p: PeersResults, s: Meta["settings"]): string[] {
  return [
    "## Peers, side by side",
    "",
    `Echo round trips, closed model: ${s.connections} devices × ${s.inflight} in flight, ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up, one run of \`chsk bench\`'s engine per row; raw ws, the chsk library and \`chsk serve\` over WebSocket run ${s.rounds} interleaved round(s) (values: medians over rounds; ratios: medians of per-round ratios against raw ws). Idle memory: ${s.memBase} → ${s.memConnections} WebSocket connections. chsk targets are driven by the real chsk client; raw ws, socket.io and the HTTP floor by lean adapters (\`bench/clients/\`).`,
    "",
    peersTable(p.rows),
    "",
    ...p.notes.flatMap((n) => [n, ""]),
    "### Every echo row",
    "",
    closedTable(p.echo.map((r) => (isError(r) ? { label: `${r.label} (round ${r.round})`, error: r.error } : { ...r, label: `${r.label} (round ${r.round})` }))),
    "",
    "### Memory per idle WebSocket connection",
    "",
    memIntro,
    "",
    memTable(p.mem),
    "",
  ];
}

export function renderMarkdown(res: BenchResults): string {
  const m = res.meta;
  const s = m.settings;
  const out: string[] = preamble(m, res.peers && !res.ws ? "chsk benchmarks: peers" : "chsk benchmarks");
  if (res.checks.length) out.push("## Targets", "", checksTable(res.checks), "");
  if (res.peers) out.push(...renderPeers(res.peers, s));
  if (res.ws) {
    out.push(
      "## Request/reply over WebSocket (closed model)",
      "",
      `${s.connections} connections × ${s.inflight} requests in flight, ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up; the raw ws and chsk rows are the median round of ${s.rounds} interleaved rounds (see Targets). Each request echoes a sequence number (\`[:demo/echo n]\` in chsk's terms).`,
      "",
      closedTable(res.ws),
      "",
    );
  }
  if (res.open) {
    out.push(
      "## Fixed-rate latency over WebSocket (open model)",
      "",
      `${int(Number(s.rate))} req/s over ${s.openConnections} connections, ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up. Latency counts from each request's *intended* send time (wrk2-style coordinated-omission correction); requests still unanswered 2 s after the window are counted *in flight at stop*. raw ws and chsk: the median round of ${s.rounds} interleaved rounds. The generator paces with a 1 ms timer, so every request may leave up to ~1 ms late, for every target alike; *gen send lag* shows that floor.`,
      "",
      openTable(res.open),
      "",
    );
  }
  if (res.mem) out.push("## Memory per idle WebSocket connection", "", memIntro, "", memTable(res.mem), "");
  if (res.ajax) {
    out.push(
      "## Request/reply over HTTP (Ajax / long-polling)",
      "",
      `${s.connections} clients × ${s.inflight} requests in flight, ${Number(s.durationMs) / 1000} s measured. chsk: one POST per request (the reply is the response body) plus one held long-poll per client, driven by the real chsk client. socket.io polling: one POST and one GET in flight per session, requests batched per POST and acks batched per GET, as socket.io-client does. The raw \`node:http\` floor: one POST per request on keep-alive sockets.`,
      "",
      closedTable(res.ajax),
      "",
    );
  }
  return out.join("\n");
}
