/**
 * `npm run bench:clients [-- --devices 10000] [--rounds 3] [--only mem,cpu] [--quick]`:
 * what `chsk bench`'s own load generator costs, in one run.
 *
 * - mem: connects N real chsk WS clients (the bench's devices) to a spawned
 *   `chsk serve` and reads this process's RSS while they are all up and
 *   idle. Goal: 10,000 devices within 1.5 GB.
 * - cpu: the generator's CPU per request next to the servers it drives and
 *   next to autocannon's: autocannon 8 (alone in its own process) against a
 *   plain `node:http` POST echo, `chsk bench`'s engine against the same
 *   server (its lean HTTP adapter), and the engine's real chsk client over
 *   WS and Ajax against the chsk library server and `chsk serve`. Every
 *   figure is process CPU time (user + system) over a measured window:
 *   `process.cpuUsage()` for this process and for autocannon's, /proc for
 *   the servers. The WS row and both autocannon rows run in interleaved
 *   rounds, ratios are medians of same-round ratios (the host's speed
 *   drifts by ±20% over tens of seconds).
 *
 * Writes bench/results/latest-clients.{json,md}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBench } from "../src/bench/engine.js";
import { BENCH_DEFAULTS } from "../src/bench/options.js";
import { type AutocannonResult, runAutocannon } from "./lib/autocannon.js";
import { type LoadResult, runEcho } from "./lib/measure.js";
import { type ServerHandle, spawnChskServe, waitForQuiet } from "./lib/proc.js";
import { type Check, checksTable, NOISY_SHARE } from "./lib/report.js";
import { type BenchTarget, rawHttpSockets, startServer, TARGETS, version } from "./lib/targets.js";

const { values: opt } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    transport: { type: "string", default: "ws" },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string", default: "50" },
    inflight: { type: "string", default: "10" },
    only: { type: "string", default: "mem,cpu" },
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const parts = opt.only!.split(",");
const devices = Number(opt.devices);
const rounds = Math.max(1, Number(opt.rounds ?? (opt.quick ? 1 : 3)));
// autocannon ticks once a second: whole seconds for everyone.
const warmupS = Math.max(1, Math.round(Number(opt.warmup ?? 1000) / 1000));
const durationS = Math.max(1, Math.round(Number(opt.duration ?? (opt.quick ? 2000 : 3000)) / 1000));
const connections = Number(opt.connections);
const inflight = Number(opt.inflight);
const root = fileURLToPath(new URL("..", import.meta.url));
const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f1 = (x: number | undefined) => (x === undefined ? "?" : x.toFixed(1));

// ---------------------------------------------------------------------------
// Memory: 10,000 devices in one process.

interface MemRow {
  devices: number;
  connected: number;
  transport: string;
  rssBeforeMb: number;
  rssMb: number;
  kbPerDevice: number;
  handshakeP50Ms: number;
  handshakeP99Ms: number;
  withinGoal: boolean;
}

async function memory(): Promise<MemRow> {
  process.stderr.write(`mem: ${devices} real chsk ${opt.transport} clients against chsk serve …`);
  const server = await spawnChskServe();
  try {
    const rss0 = process.memoryUsage().rss;
    let rss = 0;
    const r = (
      await runBench(
        { ...BENCH_DEFAULTS, url: `${server.origin}/chsk`, scenario: "connect", users: devices / 10, devices: 10, transport: opt.transport as "ws", rampMs: 0, durationMs: 1_000 },
        {
          whileConnected: async () => {
            await new Promise((res) => setTimeout(res, 2_000));
            rss = process.memoryUsage().rss;
          },
        },
      )
    ).runs[0]!;
    process.stderr.write(" done\n");
    return {
      devices,
      connected: r.connect!.connected,
      transport: opt.transport!,
      rssBeforeMb: Math.round(rss0 / 1e6),
      rssMb: Math.round(rss / 1e6),
      kbPerDevice: Math.round((rss - rss0) / r.connect!.connected / 100) / 10,
      handshakeP50Ms: r.connect!.handshakeMs.p50,
      handshakeP99Ms: r.connect!.handshakeMs.p99,
      withinGoal: rss < 1.5e9,
    };
  } finally {
    await server.stop();
  }
}

const memTable = (m: MemRow) =>
  `| devices | connected | RSS before | RSS with all up | per device | handshake p50 / p99 | goal (< 1.5 GB) |\n|---:|---:|---:|---:|---:|---:|:---:|\n| ${m.devices} | ${m.connected} | ${m.rssBeforeMb} MB | ${m.rssMb} MB | ${m.kbPerDevice} KB | ${m.handshakeP50Ms} / ${m.handshakeP99Ms} ms | ${m.withinGoal ? "yes" : "NO"} |`;

// ---------------------------------------------------------------------------
// CPU: generator per request, next to its server and to autocannon.

interface CpuRow {
  key: string;
  round: number;
  generator: string;
  target: string;
  load: string;
  /** What one unit is: an HTTP request (autocannon, the HTTP adapter) or a round trip over chsk. */
  unit: "HTTP request" | "WS round trip" | "Ajax round trip";
  perSec: number;
  genCpuUs: number;
  genSysCpuUs: number;
  genCpuShare: number;
  serverCpuUs: number;
  serverCpuShare: number;
  otherCpuShare: number;
  /** The engine flagged its own generator as saturated (a worker's loop ≥ 90% busy). */
  saturated?: boolean;
  errors: number;
}

const ACN = `autocannon ${version("autocannon")}`;
const ENGINE = "chsk bench";

const fromAutocannon = (key: string, round: number, r: AutocannonResult): CpuRow => ({
  key,
  round,
  generator: ACN,
  target: "node:http POST echo",
  load: `${r.connections} conns × ${r.pipelining}${r.pipelining > 1 ? " pipelined" : ""}`,
  unit: "HTTP request",
  perSec: r.reqPerSec,
  genCpuUs: r.genCpuUsPerReq,
  genSysCpuUs: r.genSysCpuUsPerReq,
  genCpuShare: r.genCpuShare,
  serverCpuUs: r.serverCpuUsPerReq,
  serverCpuShare: r.serverCpuShare,
  otherCpuShare: r.otherCpuShare,
  errors: r.errors + r.non2xx,
});

const fromEngine = (key: string, round: number, generator: string, target: string, unit: CpuRow["unit"], load: string, r: LoadResult): CpuRow => ({
  key,
  round,
  generator,
  target,
  load,
  unit,
  perSec: r.rtPerSec,
  genCpuUs: r.genCpuUsPerRt,
  genSysCpuUs: r.genSysCpuUsPerRt,
  genCpuShare: r.genCpuShare,
  serverCpuUs: r.serverCpuUsPerRt,
  serverCpuShare: r.serverCpuShare,
  otherCpuShare: r.otherCpuShare,
  saturated: r.genSaturated,
  errors: r.errors + r.timeouts,
});

async function quietServer(start: () => Promise<ServerHandle>): Promise<ServerHandle> {
  const server = await start();
  const other = await waitForQuiet(3_000, 0.3, 250, [server.pid]);
  if (other >= 0.3) process.stderr.write(` [machine busy: other processes use ${Math.round(other * 100)}% of a core]`);
  return server;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T | undefined> {
  process.stderr.write(`  ${label} …`);
  const t0 = Date.now();
  try {
    const r = await fn();
    process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return r;
  } catch (e) {
    failures.push(`${label}: ${(e as Error).message}`);
    process.stderr.write(` failed: ${(e as Error).message}\n`);
    return undefined;
  }
}

const failures: string[] = [];
const engineLoad = `${connections} devices × ${inflight} in flight`;
const echo = { connections, inFlight: inflight, warmupMs: warmupS * 1000, durationMs: durationS * 1000, workers: 1 };

async function engineRow(key: string, round: number, t: BenchTarget, generator: string, unit: CpuRow["unit"], load = engineLoad): Promise<CpuRow | undefined> {
  return timed(`${generator} → ${t.label}`, async () => {
    const server = await quietServer(() => startServer(t.server));
    try {
      return fromEngine(key, round, generator, t.label, unit, load, await runEcho(server, t, echo));
    } finally {
      await server.stop();
    }
  });
}

async function autocannonRows(round: number): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const pipelining of [1, inflight]) {
    const r = await timed(`${ACN} -c ${connections} -p ${pipelining} → node:http`, async () => {
      const server = await quietServer(() => startServer("raw-http"));
      try {
        return await runAutocannon(server, `${server.origin}/echo`, { connections, pipelining, warmupS, durationS });
      } finally {
        await server.stop();
      }
    });
    if (r) rows.push(fromAutocannon(pipelining === 1 ? "ac" : "ac-pipelined", round, r));
  }
  return rows;
}

async function cpu(): Promise<{ rows: CpuRow[]; checks: Check[] }> {
  const rows: CpuRow[] = [];
  const push = (r: CpuRow | CpuRow[] | undefined) => (Array.isArray(r) ? rows.push(...r) : r && rows.push(r));
  const realClient = "chsk bench, real chsk client";
  process.stderr.write(`cpu: ${rounds} round(s) of autocannon (-p 1, -p ${inflight}) and chsk bench over WS; ${warmupS} s warm-up, ${durationS} s windows\n`);
  for (let round = 1; round <= rounds; round++) {
    push(await autocannonRows(round));
    push(await engineRow("ws", round, TARGETS.chsk, realClient, "WS round trip"));
  }
  process.stderr.write("cpu: once each: chsk bench over HTTP (lean adapter), over Ajax, and against chsk serve\n");
  push(await engineRow("http", 1, { ...TARGETS.rawHttp, auth: rawHttpSockets(inflight) }, "chsk bench, lean HTTP adapter", "HTTP request", `${connections} devices × ${inflight} sockets`));
  push(await engineRow("ajax", 1, TARGETS.chskAjax, realClient, "Ajax round trip"));
  push(await engineRow("ws-serve", 1, TARGETS.serve, realClient, "WS round trip"));
  return { rows, checks: cpuChecks(rows) };
}

/** Per-round ratios of `a`'s generator CPU to `b`'s (or, with `b` absent, to `a`'s own server CPU). */
function ratios(rows: CpuRow[], a: string, b?: string): number[] {
  return rows.flatMap((x) => {
    if (x.key !== a) return [];
    if (b === undefined) return [x.genCpuUs / x.serverCpuUs];
    const y = rows.find((r) => r.key === b && r.round === x.round);
    return y ? [x.genCpuUs / y.genCpuUs] : [];
  });
}

function cpuChecks(rows: CpuRow[]): Check[] {
  const med = (key: string, f: (r: CpuRow) => number) => median(rows.filter((r) => r.key === key).map(f));
  const spread = (xs: number[]) => (xs.length > 1 ? `; median of ${xs.length} interleaved rounds: ${xs.map((x) => x.toFixed(2)).join(", ")}` : "");
  const noisy = (...keys: string[]) => (rows.some((r) => keys.includes(r.key) && r.otherCpuShare >= NOISY_SHARE) ? " ⚠ noisy: other processes used over half a core" : "");
  const check = (name: string, xs: number[], detail: string, info = false): Check => {
    const v = median(xs) ?? null;
    return { name, value: v, unit: "x", op: "le", target: 1, pass: info || v === null ? null : v <= 1, detail: `${detail}${spread(xs)}` };
  };
  const us = (key: string) => `${f1(med(key, (r) => r.genCpuUs))} µs`;
  return [
    check("Generator CPU per WS echo RT / chsk library server's", ratios(rows, "ws"), `real chsk client: ${us("ws")} vs server ${f1(med("ws", (r) => r.serverCpuUs))} µs per RT${noisy("ws")}`),
    check("Generator CPU per WS echo RT / chsk serve server's", ratios(rows, "ws-serve"), `real chsk client: ${us("ws-serve")} vs server ${f1(med("ws-serve", (r) => r.serverCpuUs))} µs per RT${noisy("ws-serve")}`),
    check("Generator CPU per WS echo RT / autocannon's per HTTP request", ratios(rows, "ws", "ac"), `${us("ws")} vs ${us("ac")} (autocannon -c ${connections} -p 1)${noisy("ws", "ac")}`),
    check("Generator CPU per WS echo RT / autocannon's per pipelined HTTP request", ratios(rows, "ws", "ac-pipelined"), `${us("ws")} vs ${us("ac-pipelined")} (autocannon -c ${connections} -p ${inflight})${noisy("ws", "ac-pipelined")}`),
    check("chsk bench's lean HTTP adapter per request / autocannon's", ratioToMedian(rows, "http", "ac"), `${us("http")} vs ${us("ac")} against the same node:http server (informational: the HTTP floor row of bench:peers)`, true),
    check("Generator CPU per Ajax RT (real chsk client) / autocannon's per HTTP request", ratioToMedian(rows, "ajax", "ac"), `${us("ajax")} vs ${us("ac")} (informational: one chsk Ajax RT is a POST plus its long-poll's upkeep, on undici)`, true),
  ];
}

/** Rows measured once, against the median of a row measured every round. */
function ratioToMedian(rows: CpuRow[], a: string, b: string): number[] {
  const base = median(rows.filter((r) => r.key === b).map((r) => r.genCpuUs));
  return base === undefined ? [] : rows.filter((r) => r.key === a).map((r) => r.genCpuUs / base);
}

function cpuTable(rows: CpuRow[]): string {
  const head = ["generator", "target", "load", "unit", "per s", "gen CPU µs/unit", "of which kernel", "server CPU µs/unit", "gen / server", "gen CPU", "server CPU", "other CPU", "errors"];
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = rows.map((r) => [
    `${r.generator}${rows.some((x) => x.key === r.key && x.round > 1) ? ` (round ${r.round})` : ""}`,
    r.target,
    r.load,
    r.unit,
    Math.round(r.perSec).toLocaleString("en-US"),
    `${r.genCpuUs.toFixed(1)}${r.saturated ? " †" : ""}`,
    r.genSysCpuUs.toFixed(1),
    r.serverCpuUs.toFixed(1),
    `${(r.genCpuUs / r.serverCpuUs).toFixed(2)}x`,
    pct(r.genCpuShare),
    pct(r.serverCpuShare),
    `${pct(r.otherCpuShare)}${r.otherCpuShare >= NOISY_SHARE ? " ⚠" : ""}`,
    String(r.errors),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((h, i) => (i < 4 ? "---" : "---:"))), ...lines.map(line)].join("\n");
}

// ---------------------------------------------------------------------------

const machine = { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) };
const date = new Date().toISOString();
const mem = parts.includes("mem") ? await memory().catch((e: Error) => void failures.push(`mem: ${e.message}`)) : undefined;
const cpuRes = parts.includes("cpu") ? await cpu() : undefined;

const md = [
  "# chsk benchmarks: the load generator's own cost",
  "",
  `${date} · Node ${process.versions.node} · ${machine.cpu} × ${machine.cores} · ${machine.memGb} GB RAM`,
  "",
  ...(mem
    ? ["## Memory: simulated devices in one process", "", `${mem.devices.toLocaleString("en-US")} real chsk ${mem.transport} clients (${(mem.devices / 10).toLocaleString("en-US")} users × 10 devices) connected to a spawned \`chsk serve\`, idle; this process's RSS.`, "", memTable(mem), ""]
    : []),
  ...(cpuRes
    ? [
        "## CPU: the generator per request, next to its server and to autocannon",
        "",
        `Process CPU time (user + system, every thread) over a measured window of ${durationS} s after ${warmupS} s of warm-up: the generator's from \`process.cpuUsage()\` (autocannon reports its own, from its own process: plain \`node\`, nothing else loaded), the server's from /proc/<pid>/stat (10 ms ticks). Each server runs alone in its own child process on 127.0.0.1; generator and server share the machine's ${machine.cores} cores. *of which kernel* is the generator's system time (syscalls, and the loopback TCP work done in them). † the engine flagged its generator saturated (a worker's event loop ≥ 90% busy). ⚠ other processes used over half a core during the window. autocannon and the WS row run in ${rounds} interleaved round(s); ratios are medians of same-round ratios.`,
        "",
        checksTable(cpuRes.checks),
        "",
        cpuTable(cpuRes.rows),
        "",
      ]
    : []),
  ...(failures.length ? ["## Failures", "", ...failures.map((f) => `- ${f}`), ""] : []),
].join("\n");
process.stdout.write(`${md}\n`);

if (!opt["no-write"]) {
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/latest-clients.md`, md);
  const json = {
    date,
    node: process.versions.node,
    machine,
    settings: { devices, rounds, warmupS, durationS, connections, inflight },
    ...(mem ? { memory: mem } : {}),
    ...(cpuRes ? { cpu: cpuRes } : {}),
    failures,
  };
  writeFileSync(`${root}bench/results/latest-clients.json`, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write("wrote bench/results/latest-clients.{json,md}\n");
}
process.exitCode = failures.length > 0 ? 1 : 0;
