/**
 * Turns results into markdown. Pure: every function returns a string;
 * run.ts decides where it goes (stdout, bench/results/*.md).
 */
import type { LoadResult, MemResult } from "./scenario.js";

export interface RowError {
  label: string;
  error: string;
}
export type Row<T> = { label: string; result: T } | RowError;
export const isError = <T>(r: Row<T>): r is RowError => "error" in r;

export interface Check {
  name: string;
  /** The measured ratio or value. */
  value: number | null;
  unit: "x" | "µs";
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

export interface BenchResults {
  meta: Meta;
  ws?: Row<LoadResult>[];
  open?: Row<LoadResult>[];
  mem?: Row<MemResult>[];
  ajax?: Row<LoadResult>[];
  checks: Check[];
}

const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 1);
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (share: number) => `${Math.round(share * 100)}%`;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
/** Above this share of a core used by other processes, a row is flagged noisy. */
export const NOISY_SHARE = 0.5;
/** Above this p99 send lag (µs) the open-model generator was starved. */
export const STARVED_LAG_US = 5_000;
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
  const head = ["target", "RT/s", "p50 ms", "p99 ms", "p99.9 ms", "server CPU µs/RT", "of which kernel", "server CPU", "gen CPU", "other CPU", "errors"];
  return table(
    head,
    rows.map((r) =>
      isError(r)
        ? errorRow(r, head.length)
        : [
            r.label,
            int(r.result.rtPerSec),
            ms(r.result.latencyUs.p50),
            ms(r.result.latencyUs.p99),
            `${ms(r.result.latencyUs.p999)}${r.result.listenDrops > 0 ? " ‡" : ""}`,
            r.result.serverCpuUsPerRt.toFixed(1),
            (r.result.serverSysCpuUs / Math.max(1, r.result.replies)).toFixed(1),
            pct(r.result.serverCpuShare),
            pct(r.result.genCpuShare),
            other(r.result.otherCpuShare),
            String(r.result.errors),
          ],
    ),
  );
}

export function openTable(rows: Row<LoadResult>[]): string {
  const head = ["target", "req/s (target)", "RT/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "server CPU µs/RT", "gen send lag p99 ms", "other CPU", "unanswered", "errors"];
  return table(
    head,
    rows.map((r) =>
      isError(r)
        ? errorRow(r, head.length)
        : [
            r.label,
            int(r.result.rate ?? 0),
            int(r.result.rtPerSec),
            ms(r.result.latencyUs.p50),
            ms(r.result.latencyUs.p90),
            ms(r.result.latencyUs.p99),
            `${ms(r.result.latencyUs.p999)}${r.result.listenDrops > 0 ? " ‡" : ""}`,
            ms(r.result.latencyUs.max),
            r.result.serverCpuUsPerRt.toFixed(1),
            r.result.sendLagUs ? `${ms(r.result.sendLagUs.p99)}${r.result.sendLagUs.p99 > STARVED_LAG_US ? " ⚠" : ""}` : "",
            other(r.result.otherCpuShare),
            String(r.result.unanswered),
            String(r.result.errors),
          ],
    ),
  );
}

export function memTable(rows: Row<MemResult>[]): string {
  const head = ["target", "idle conns", "RSS KB/conn", "JS heap+external KB/conn", "RSS at N (MB)"];
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
          ],
    ),
  );
}

export function checksTable(checks: Check[]): string {
  return table(
    ["check", "measured", "target", "result", "from"],
    checks.map((c) => [
      c.name,
      c.value === null ? "n/a" : c.unit === "x" ? `${c.value.toFixed(2)}x` : `${c.value.toFixed(1)} µs`,
      `${c.op === "le" ? "≤" : "≥"} ${c.unit === "x" ? `${c.target}x` : `${c.target} µs`}`,
      c.pass === null ? "n/a" : c.pass ? "PASS" : "**FAIL**",
      c.detail,
    ]),
  );
}

export function renderMarkdown(res: BenchResults): string {
  const m = res.meta;
  const s = m.settings;
  const out: string[] = [
    "# chsk benchmarks",
    "",
    `${m.date} · Node ${m.node} · ${m.cpu} × ${m.cores} · open files limit ${m.openFilesLimit}`,
    "",
    `Each server runs alone in its own child process; its CPU time (utime+stime from /proc/<pid>/stat, 10 ms ticks) and RSS are read by the bench, which never touches the server during a window. ${m.generator}`,
    `Latency is in ms (HdrHistogram); RT = one request/reply round trip; CPU 100% = one core. *other CPU* is the machine's remaining busy time in the window (other processes, kernel network work not charged to either process): ⚠ marks rows where it exceeded ${NOISY_SHARE * 100}% of a core, or where the open-model generator sent late by more than ${STARVED_LAG_US / 1000} ms (p99): treat those numbers with suspicion. ‡ marks rows during which the kernel dropped connections from a full listen queue (machine-wide TcpExt ListenDrops): each drop is a 1-3 s SYN retry, so the tail there is the network stack, not the server. Ratios compare targets measured in this same run.`,
    "",
  ];
  if (res.checks.length) out.push("## Targets", "", checksTable(res.checks), "");
  if (res.ws) {
    out.push(
      "## Request/reply over WebSocket (closed model)",
      "",
      `${s.connections} connections × ${s.inflight} requests in flight, ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up; the raw ws and chsk rows are the median round of ${s.rounds} interleaved rounds (see Targets). Payload: a ~70-byte map echoed back.`,
      "",
      closedTable(res.ws),
      "",
    );
  }
  if (res.open) {
    out.push(
      "## Fixed-rate latency over WebSocket (open model)",
      "",
      `${int(Number(s.rate))} req/s over ${s.openConnections} connections, ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up. Latency counts from each request's *intended* send time (wrk2-style coordinated-omission correction); requests unanswered at the end count with the delay they had. raw ws and chsk: the median round of ${s.rounds} interleaved rounds. The generator paces with a 1 ms timer, so every request may leave up to ~1 ms late, for every target alike; *gen send lag* shows that floor.`,
      "",
      openTable(res.open),
      "",
    );
  }
  if (res.mem) {
    out.push(
      "## Memory per idle WebSocket connection",
      "",
      `Server RSS and V8 heap after \`gc()\` with the first count of connections open, then again with the second; the table shows the difference divided by the added connections (the handshake is done, then nothing is sent).`,
      "",
      memTable(res.mem),
      "",
    );
  }
  if (res.ajax) {
    out.push(
      "## Request/reply over HTTP (Ajax / long-polling)",
      "",
      `${s.connections} clients × ${s.inflight} requests in flight, ${Number(s.durationMs) / 1000} s measured. chsk: one POST per request (the reply is the response body) plus one held long-poll per client. socket.io polling: one POST and one GET in flight per session, requests batched per POST and acks batched per GET, as socket.io-client does.`,
      "",
      closedTable(res.ajax),
      "",
    );
  }
  return out.join("\n");
}
