/**
 * One measured row: `chsk bench`'s engine (`runBench`) against a server the
 * bench spawned, with the server's CPU time read from /proc exactly at the
 * measured window's edges (the engine's `onMeasureStart` / `onMeasureEnd`
 * hooks), and its RSS after `gc()` while idle connections are up (the
 * connect scenario's `whileConnected`). Load, latency and the generator's
 * own CPU all come from the engine's report; nothing here schedules,
 * records or drives.
 */
import { performance } from "node:perf_hooks";
import { runBench } from "../../src/bench/engine.js";
import { BENCH_DEFAULTS, type AuthOptions, type BenchOptions } from "../../src/bench/options.js";
import type { DeviceTransport, LatencyMs, RunResult } from "../../src/bench/types.js";
import { listenDrops, machineBusyMicros, type ServerHandle } from "./proc.js";

/** What a row drives: which devices, against what URL of the spawned server. */
export interface Target {
  key: string;
  label: string;
  transport: DeviceTransport;
  /** The devices' URL, from the server's origin (`http://127.0.0.1:PORT`). */
  url: (origin: string) => string;
  /** A `bench/clients/*.ts` adapter's module URL; unset: the real chsk client. */
  clientModule?: string;
  auth?: AuthOptions;
}

export interface LoadSettings {
  /** Devices (one per user). */
  connections: number;
  /** Closed model: requests in flight per device. */
  inFlight?: number;
  /** Open model: requests/s in total. */
  rate?: number;
  warmupMs: number;
  durationMs: number;
  workers: number;
}

export interface LoadResult {
  model: "closed" | "open";
  connections: number;
  inFlight?: number;
  rate?: number;
  windowMs: number;
  sent: number;
  /** Replies matched and checked (the engine's `received`). */
  received: number;
  errors: number;
  timeouts: number;
  inFlightAtStop: number;
  errorCodes: Record<string, number>;
  rtPerSec: number;
  latencyMs: LatencyMs;
  /** Open model: how late the generator's own sends left. */
  sendLagMs?: LatencyMs;
  /** Server CPU time in the window, µs, and per round trip. */
  serverCpuUs: number;
  serverCpuUsPerRt: number;
  /** The kernel part (stime) of serverCpuUs: syscalls, and loopback TCP work done in them. */
  serverSysCpuUs: number;
  /** Server CPU / wall (1.0 = one core busy). */
  serverCpuShare: number;
  /** The generator (this whole process) per the engine's report: CPU / wall, and µs per round trip. */
  genCpuShare: number;
  genCpuUsPerRt: number;
  /** The kernel part (stime) of the generator's CPU per round trip, from this process's `cpuUsage()` at the window's edges. */
  genSysCpuUsPerRt: number;
  /** The engine flagged its own generator as the bottleneck. */
  genSaturated: boolean;
  genNote?: string;
  /** Busy CPU of the rest of the machine / wall (other processes, kernel work charged to neither). */
  otherCpuShare: number;
  serverRssBytes: number;
  /** Machine-wide listen-queue drops from connect to the end of the window. */
  listenDrops: number;
}

export interface MemResult {
  /** Connections open when each sample was taken. */
  base: number;
  total: number;
  rssBaseBytes: number;
  rssBytes: number;
  heapBaseBytes: number;
  heapBytes: number;
  /** (RSS after − RSS before) / added connections, after GC. */
  rssPerConnBytes: number;
  /** Same for V8 heapUsed + external. */
  heapPerConnBytes: number;
  handshakeMs: LatencyMs;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function options(server: ServerHandle, t: Target, extra: Partial<BenchOptions>): BenchOptions {
  return {
    ...BENCH_DEFAULTS,
    url: t.url(server.origin),
    transport: t.transport,
    devices: 1,
    ...(t.clientModule !== undefined ? { clientModule: t.clientModule } : {}),
    auth: t.auth ?? {},
    userPrefix: "bench",
    ...extra,
  };
}

/** Sums a run's error codes into one short line (`CHSK_ERR_TIMEOUT ×3`). */
export const errorSummary = (codes: Record<string, number>): string =>
  Object.entries(codes)
    .map(([k, v]) => `${k} ×${v}`)
    .join(", ");

/** Echo round trips, closed (`inFlight`) or open (`rate`) model. */
export async function runEcho(server: ServerHandle, t: Target, s: LoadSettings): Promise<LoadResult> {
  let edge0: { split: { user: number; system: number }; busy: number; gen: NodeJS.CpuUsage; at: number } | undefined;
  let edge1: typeof edge0;
  const read = () => ({ split: server.cpuSplit(), busy: machineBusyMicros(), gen: process.cpuUsage(), at: performance.now() });
  const notices: string[] = [];
  const drops0 = listenDrops();
  const report = await runBench(
    options(server, t, {
      scenario: "echo",
      users: s.connections,
      ...(s.rate !== undefined ? { rate: s.rate } : { inFlight: s.inFlight ?? 1 }),
      warmupMs: s.warmupMs,
      durationMs: s.durationMs,
      workers: s.workers,
    }),
    {
      onMeasureStart: () => void (edge0 = read()),
      onMeasureEnd: () => void (edge1 = read()),
      onNotice: (line) => notices.push(line),
    },
  );
  const r: RunResult = report.runs[0]!;
  if (!edge0 || !edge1) throw new Error("the engine never opened the measured window");
  const wallMs = edge1.at - edge0.at;
  const serverUser = edge1.split.user - edge0.split.user;
  const serverSys = edge1.split.system - edge0.split.system;
  const serverCpuUs = serverUser + serverSys;
  const gen = edge1.gen.user - edge0.gen.user + (edge1.gen.system - edge0.gen.system);
  const busy = edge1.busy - edge0.busy;
  if (r.received === 0) throw new Error(`no replies: ${errorSummary(r.errorCodes) || "nothing answered"}${notices.length ? ` (${notices.join("; ")})` : ""}`);
  // The brief's definition: the report's process share over its window, per reply.
  const genCpuUs = r.generatorCpu.processShare * r.durationS * 1e6;
  return {
    model: s.rate !== undefined ? "open" : "closed",
    connections: s.connections,
    ...(s.rate !== undefined ? { rate: s.rate } : { inFlight: s.inFlight ?? 1 }),
    windowMs: Math.round(r.durationS * 1000),
    sent: r.sent,
    received: r.received,
    errors: r.errors,
    timeouts: r.timeouts,
    inFlightAtStop: r.inFlightAtStop,
    errorCodes: r.errorCodes,
    rtPerSec: r.throughput,
    latencyMs: r.latencyMs,
    ...(r.generatorCpu.sendLagMs ? { sendLagMs: r.generatorCpu.sendLagMs } : {}),
    serverCpuUs,
    serverCpuUsPerRt: serverCpuUs / r.received,
    serverSysCpuUs: serverSys,
    serverCpuShare: serverCpuUs / 1000 / wallMs,
    genCpuShare: r.generatorCpu.processShare,
    genCpuUsPerRt: genCpuUs / r.received,
    genSysCpuUsPerRt: (edge1.gen.system - edge0.gen.system) / r.received,
    genSaturated: r.generatorCpu.saturated,
    ...(r.generatorCpu.reason ? { genNote: r.generatorCpu.reason } : {}),
    otherCpuShare: Math.max(0, busy - serverCpuUs - gen) / 1000 / wallMs,
    serverRssBytes: server.rssBytes(),
    listenDrops: listenDrops() - drops0,
  };
}

/**
 * Memory per idle connection: `base` devices connect (so lazy
 * initialisation is paid), the server runs `gc()` and its RSS is read; then,
 * while they stay up, a second run connects `total − base` more and the
 * server is sampled again. The difference over the added connections is the
 * per-connection cost; per-process overhead cancels out. Both are the
 * engine's connect scenario, nested through `whileConnected`.
 */
export async function runIdle(server: ServerHandle, t: Target, base: number, total: number, settleMs = 1_000): Promise<MemResult> {
  const heapOf = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  let s0: { rss: number; heap: number } | undefined;
  let s1: typeof s0;
  let added: RunResult | undefined;
  const connectOnly = (users: number, userPrefix: string) =>
    options(server, t, { scenario: "connect", users, rampMs: 0, warmupMs: 0, durationMs: 1_000, userPrefix, workers: 1 });
  const first = await runBench(connectOnly(base, "idle-a"), {
    whileConnected: async () => {
      await sleep(settleMs);
      s0 = { heap: heapOf((await server.gc()).memory), rss: server.rssBytes() };
      const more = await runBench(connectOnly(total - base, "idle-b"), {
        whileConnected: async () => {
          await sleep(settleMs);
          s1 = { heap: heapOf((await server.gc()).memory), rss: server.rssBytes() };
        },
      });
      added = more.runs[0]!;
    },
  });
  const a = first.runs[0]!;
  if (!s0 || !s1 || !added) throw new Error("the connect runs never reached their samples");
  const up = (r: RunResult) => r.connect?.connected ?? 0;
  if (up(a) < base || up(added) < total - base) {
    const why = errorSummary({ ...a.errorCodes, ...added.errorCodes });
    throw new Error(`${up(a) + up(added)} of ${total} connections opened${why ? `: ${why}` : ""}`);
  }
  const n = total - base;
  return {
    base,
    total,
    rssBaseBytes: s0.rss,
    rssBytes: s1.rss,
    heapBaseBytes: s0.heap,
    heapBytes: s1.heap,
    rssPerConnBytes: (s1.rss - s0.rss) / n,
    heapPerConnBytes: (s1.heap - s0.heap) / n,
    handshakeMs: added.connect!.handshakeMs,
  };
}
