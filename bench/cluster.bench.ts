/**
 * `npm run bench:cluster [-- --duration 15s] [--no-mix] [--no-write]`:
 * push fan-out on one `chsk serve` against three `chsk serve --redis`
 * behind a round-robin haproxy (issue 10), in one run, on 127.0.0.1.
 *
 * The same `chsk bench` push scenario (250 users × 4 WS devices = 1,000
 * clients, 50 pushes/s in total, open model, every user logged in with
 * `POST /login`) runs
 *   1. against one `chsk serve` without Redis;
 *   2. against haproxy in front of three nodes on one redis-server: every
 *      login, upgrade and push request is balanced on its own, so a user's
 *      four devices sit on different nodes and most deliveries cross Redis;
 *   3. (unless --no-mix) the same with 30% of the devices on Ajax, whose
 *      polls and POSTs land on any node (no sticky sessions).
 * CPU is each process's utime + stime from /proc over the measured window
 * (the generator's is this process's, workers included); every process
 * shares the machine's cores. The nodes' cluster counters (`/api/stats`
 * `cluster.stats`) are read before and after each run and reported as deltas.
 *
 * Writes bench/results/latest-cluster.{json,md}. Exits 1 if a 3-node run
 * lost a push or missed the window.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBench } from "../src/bench/engine.js";
import { BENCH_DEFAULTS, type BenchOptions, parseDurationMs } from "../src/bench/options.js";
import type { RunResult } from "../src/bench/types.js";
import { type BalancerHandle, type RedisHandle, startBalancer, startRedis } from "../test/cluster/infra.js";
import { machineBusyMicros, procCpuMicros, type ServerHandle, spawnChskServe, waitForQuiet } from "./lib/proc.js";

const { values: opt } = parseArgs({
  options: {
    users: { type: "string", default: "250" },
    devices: { type: "string", default: "4" },
    rate: { type: "string", default: "50" },
    warmup: { type: "string", default: "2s" },
    duration: { type: "string", default: "15s" },
    window: { type: "string", default: "1s" },
    "no-mix": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const duration = (name: "warmup" | "duration" | "window") => {
  const ms = parseDurationMs(opt[name]!);
  if (ms === null) throw new RangeError(`--${name}: not a duration: ${opt[name]}`);
  return ms;
};
const root = fileURLToPath(new URL("..", import.meta.url));

const base: BenchOptions = {
  ...BENCH_DEFAULTS,
  url: "",
  scenario: "push",
  users: Number(opt.users),
  devices: Number(opt.devices),
  transport: "ws",
  rate: Number(opt.rate),
  warmupMs: duration("warmup"),
  durationMs: duration("duration"),
  windowMs: duration("window"),
  auth: { loginPath: "/login" },
};

// ---------------------------------------------------------------------------
// CPU over the measured window, from /proc.

interface Measured {
  name: string;
  role: "node" | "redis" | "haproxy";
  pid: number;
}
interface CpuFigures {
  wallMs: number;
  /** Share of one core over the window (1 = a whole core), per process. */
  procs: { name: string; role: Measured["role"]; share: number }[];
  generator: number;
  /** The whole machine busy, all cores (at most the core count). */
  machine: number;
  /** Machine minus generator minus the processes above: other things running. */
  others: number;
}

/** Samples at the engine's onMeasureStart / onMeasureEnd hooks. */
function cpuMeter(procs: readonly Measured[]) {
  let t0 = 0;
  let self0 = process.cpuUsage();
  let machine0 = 0;
  let p0: number[] = [];
  let figures: CpuFigures | undefined;
  const perCore = (us: number, wallMs: number) => Math.round((us / 1000 / wallMs) * 1000) / 1000;
  return {
    start() {
      t0 = performance.now();
      self0 = process.cpuUsage();
      machine0 = machineBusyMicros();
      p0 = procs.map((p) => procCpuMicros(p.pid));
    },
    end() {
      const wallMs = performance.now() - t0;
      const self = process.cpuUsage(self0);
      const rows = procs.map((p, i) => ({ name: p.name, role: p.role, us: procCpuMicros(p.pid) - p0[i]! }));
      const machineUs = machineBusyMicros() - machine0;
      const selfUs = self.user + self.system;
      const othersUs = Math.max(0, machineUs - selfUs - rows.reduce((a, r) => a + r.us, 0));
      figures = {
        wallMs: Math.round(wallMs),
        procs: rows.map((r) => ({ name: r.name, role: r.role, share: perCore(r.us, wallMs) })),
        generator: perCore(selfUs, wallMs),
        machine: perCore(machineUs, wallMs),
        others: perCore(othersUs, wallMs),
      };
    },
    figures: () => figures,
  };
}

// ---------------------------------------------------------------------------
// The nodes' own view: /api/stats (loopback: full answer, no token).

const COUNTERS = ["published", "received", "queued", "taken", "expired", "queueFull", "failures", "lostEvents", "lostQueued", "resyncs"] as const;
type Counter = (typeof COUNTERS)[number];
interface NodeView {
  connections: { ws: number; ajax: number; total: number };
  errors: number;
  slowConsumers: number;
  cluster?: Record<Counter, number> & { lastError: unknown };
}

async function nodeView(node: ServerHandle): Promise<NodeView> {
  const r = await fetch(`${node.origin}/api/stats`, { signal: AbortSignal.timeout(5_000) });
  if (!r.ok) throw new Error(`${node.origin}/api/stats: HTTP ${r.status}`);
  const s = (await r.json()) as { connections: NodeView["connections"]; errors: number; slowConsumers: number; cluster?: { stats: NodeView["cluster"] } };
  return { connections: s.connections, errors: s.errors, slowConsumers: s.slowConsumers, ...(s.cluster?.stats ? { cluster: s.cluster.stats } : {}) };
}

interface NodeRow {
  name: string;
  /** Connections it counted when the measured window opened (Ajax: clients that polled it lately). */
  connections: NodeView["connections"];
  /** Errors and slow-consumer drops during the run (deltas). */
  errors: number;
  slowConsumers: number;
  /** Cluster counters during the run (deltas), and its last error. */
  cluster?: Record<Counter, number> & { lastError: unknown };
}

// ---------------------------------------------------------------------------
// One run.

interface Row {
  key: "1-node" | "3-node" | "3-node-mix";
  label: string;
  url: string;
  transport: BenchOptions["transport"];
  ajaxShare: number;
  pushes: number;
  expected: number;
  delivered: number;
  deliveredPerSec: number;
  p50: number;
  p99: number;
  max: number;
  byTransport: Partial<Record<"ws" | "ajax", { devices: number; received: number; p50: number; p99: number; max: number }>>;
  completeness: number;
  completePushes: number;
  lost: number;
  duplicates: number;
  reorders: number;
  errors: number;
  timeouts: number;
  errorCodes: Record<string, number>;
  connected: number;
  cpu: CpuFigures;
  /** Other processes' share of a core just before the run (it waits up to 30 s for less than 0.3). */
  othersBefore: number;
  generatorReport: RunResult["generatorCpu"];
  nodes: NodeRow[];
  notices: string[];
}

async function measure(key: Row["key"], label: string, url: string, transport: BenchOptions["transport"], nodes: ServerHandle[], others: Measured[]): Promise<Row> {
  const procs: Measured[] = [...nodes.map((n) => ({ name: n.name, role: "node" as const, pid: n.pid })), ...others];
  const meter = cpuMeter(procs);
  const othersBefore = await waitForQuiet(30_000, 0.3, 250, procs.map((p) => p.pid));
  const before = await Promise.all(nodes.map(nodeView));
  let during: Promise<NodeView[]> | undefined;
  const notices: string[] = [];
  process.stderr.write(`${label} …`);
  const report = await runBench(
    { ...base, url, transport },
    {
      onNotice: (line) => notices.push(line),
      onMeasureStart: () => {
        meter.start();
        during = Promise.all(nodes.map(nodeView));
      },
      onMeasureEnd: () => meter.end(),
    },
  );
  const after = await Promise.all(nodes.map(nodeView));
  const mid = await during!;
  const r = report.runs[0]!;
  const p = r.push!;
  const cpu = meter.figures()!;
  process.stderr.write(` ${r.throughput} deliveries/s, p99 ${r.latencyMs.p99} ms, complete ${(p.completePushes * 100).toFixed(2)}%, lost ${p.lost}\n`);
  for (const n of notices) process.stderr.write(`  note: ${n}\n`);
  const delta = (a: Record<Counter, number>, b: Record<Counter, number>) => Object.fromEntries(COUNTERS.map((c) => [c, (b[c] ?? 0) - (a[c] ?? 0)])) as Record<Counter, number>;
  return {
    key,
    label,
    url,
    transport,
    ajaxShare: transport === "mix" ? base.ajaxShare : transport === "ajax" ? 1 : 0,
    pushes: p.pushes,
    expected: p.expected,
    delivered: p.delivered,
    deliveredPerSec: r.throughput,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    max: r.latencyMs.max,
    byTransport: Object.fromEntries(
      Object.entries(r.byTransport).map(([t, b]) => [t, { devices: b.devices, received: b.received, p50: b.latencyMs.p50, p99: b.latencyMs.p99, max: b.latencyMs.max }]),
    ),
    completeness: p.completeness,
    completePushes: p.completePushes,
    lost: p.lost,
    duplicates: p.duplicates,
    reorders: p.reorders,
    errors: r.errors,
    timeouts: r.timeouts,
    errorCodes: r.errorCodes,
    connected: r.intervals.filter((i) => i.phase === "measure").at(-1)?.connected ?? 0,
    cpu,
    othersBefore: Math.round(othersBefore * 1000) / 1000,
    generatorReport: r.generatorCpu,
    nodes: nodes.map((n, i) => ({
      name: n.name,
      connections: mid[i]!.connections,
      errors: after[i]!.errors - before[i]!.errors,
      slowConsumers: after[i]!.slowConsumers - before[i]!.slowConsumers,
      ...(after[i]!.cluster && before[i]!.cluster ? { cluster: { ...delta(before[i]!.cluster!, after[i]!.cluster!), lastError: after[i]!.cluster!.lastError } } : {}),
    })),
    notices,
  };
}

// ---------------------------------------------------------------------------
// The runs. Everything started here is stopped in `finally` (and killed by
// pid with this process by proc.ts / infra.ts however it ends).

const rows: Row[] = [];
const renamed = (h: ServerHandle, name: string): ServerHandle => ({ ...h, name });

{
  const node = renamed(await spawnChskServe(), "node");
  try {
    rows.push(await measure("1-node", "1 node, WS", `${node.origin}/chsk`, "ws", [node], []));
  } finally {
    await node.stop();
  }
}

{
  let redis: RedisHandle | undefined;
  let balancer: BalancerHandle | undefined;
  const nodes: ServerHandle[] = [];
  try {
    redis = await startRedis();
    const key = randomBytes(32).toString("hex");
    for (let i = 1; i <= 3; i++) {
      const h = await spawnChskServe({ args: ["--redis", redis.url, "--node-id", `n${i}`, "--session-key", key] });
      nodes.push(renamed(h, `n${i}`));
    }
    balancer = await startBalancer({ backends: nodes.map((n) => n.port) });
    const others: Measured[] = [
      { name: "redis-server", role: "redis", pid: redis.pid },
      { name: "haproxy", role: "haproxy", pid: balancer.pid },
    ];
    const url = `${balancer.url}/chsk`;
    rows.push(await measure("3-node", "3 nodes + Redis + haproxy, WS", url, "ws", nodes, others));
    if (!opt["no-mix"]) rows.push(await measure("3-node-mix", `3 nodes + Redis + haproxy, mix (${Math.round(base.ajaxShare * 100)}% Ajax)`, url, "mix", nodes, others));
  } finally {
    await balancer?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  }
}

// ---------------------------------------------------------------------------
// Checks and report.

const failures: string[] = [];
for (const r of rows.filter((x) => x.key !== "1-node")) {
  const bad: string[] = [];
  if (r.completePushes < 1) bad.push(`completeness ${(r.completePushes * 100).toFixed(3)}% (${Math.round((1 - r.completePushes) * r.pushes)} of ${r.pushes} pushes missed a device within ${base.windowMs} ms)`);
  if (r.lost > 0) bad.push(`${r.lost} deliveries lost`);
  if (r.duplicates > 0) bad.push(`${r.duplicates} duplicates`);
  if (r.errors > 0 || r.timeouts > 0) bad.push(`${r.errors} errors, ${r.timeouts} timeouts (${JSON.stringify(r.errorCodes)})`);
  for (const n of r.nodes) {
    const c = n.cluster;
    if (c && (c.failures > 0 || c.lostEvents > 0 || c.lostQueued > 0 || c.queueFull > 0 || c.expired > 0)) {
      bad.push(`${n.name}: failures ${c.failures}, lostEvents ${c.lostEvents}, lostQueued ${c.lostQueued}, queueFull ${c.queueFull}, expired ${c.expired}`);
    }
  }
  if (bad.length > 0) failures.push(`${r.label}: ${bad.join("; ")}`);
}

const machine = { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) };
const date = new Date().toISOString();
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v)));
const pct = (share: number, digits = 2) => `${(share * 100).toFixed(digits)}%`;
const core = (share: number) => `${(share * 100).toFixed(1)}%`;
const cpuOf = (r: Row, role: Measured["role"]) => r.cpu.procs.filter((p) => p.role === role);
const nodesCpu = (r: Row) => {
  const ns = cpuOf(r, "node");
  return ns.length === 1 ? core(ns[0]!.share) : `${core(ns.reduce((a, p) => a + p.share, 0))} (${ns.map((p) => core(p.share)).join(" + ")})`;
};
const oneOf = (r: Row, role: Measured["role"]) => {
  const p = cpuOf(r, role)[0];
  return p ? core(p.share) : "—";
};
// A node counts an Ajax client while it polls there or did lately; with
// round-robin every node sees most of them, so only WS sockets are per node.
const spread = (r: Row) => {
  const ws = r.nodes.map((n) => n.connections.ws).join(" / ");
  const ajax = r.byTransport.ajax?.devices ?? 0;
  return ajax > 0 ? `${ws} WS, ${ajax} Ajax on any` : ws;
};

const mainTable = [
  "| setup | clients per node | deliveries/s | p50 / p99 / max ms | complete pushes | lost / dup | chsk nodes CPU | Redis CPU | haproxy CPU | generator CPU | machine busy |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.label} | ${spread(r)} | ${r.deliveredPerSec.toLocaleString("en-US")} | ${ms(r.p50)} / ${ms(r.p99)} / ${ms(r.max)} | ${pct(r.completePushes)} | ${r.lost} / ${r.duplicates} | ${nodesCpu(r)} | ${oneOf(r, "redis")} | ${oneOf(r, "haproxy")} | ${core(r.cpu.generator)} | ${core(r.cpu.machine)} of ${machine.cores * 100}% |`,
  ),
].join("\n");

const transportTable = rows.some((r) => Object.keys(r.byTransport).length > 1)
  ? [
      "| setup | transport | devices | deliveries | p50 / p99 / max ms |",
      "|---|---|---:|---:|---:|",
      ...rows.flatMap((r) =>
        Object.keys(r.byTransport).length > 1
          ? Object.entries(r.byTransport).map(([t, b]) => `| ${r.label} | ${t} | ${b.devices} | ${b.received.toLocaleString("en-US")} | ${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.max)} |`)
          : [],
      ),
    ].join("\n")
  : "";

const clusterTable = [
  "| setup | node | published | received | queued | taken | expired | queueFull | failures | lostEvents | errors |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.flatMap((r) =>
    r.nodes
      .filter((n) => n.cluster)
      .map((n) => {
        const c = n.cluster!;
        return `| ${r.label} | ${n.name} | ${c.published} | ${c.received} | ${c.queued} | ${c.taken} | ${c.expired} | ${c.queueFull} | ${c.failures} | ${c.lostEvents} | ${n.errors} |`;
      }),
  ),
].join("\n");

const md = [
  "# Push fan-out: 1 node vs 3 nodes on Redis",
  "",
  `${date} · Node ${process.versions.node} · ${machine.cpu} × ${machine.cores} · ${machine.memGb} GB RAM · \`npm run bench:cluster\``,
  "",
  `\`chsk bench\` push scenario: ${base.users} users × ${base.devices} devices = ${base.users * base.devices} clients, ${base.rate} pushes/s in total (open model; each push goes to one user, \`demo/push\`, and is expected on every device of theirs), ${base.warmupMs / 1000} s warm-up, ${base.durationMs / 1000} s measured, a delivery counts as complete within ${base.windowMs} ms. 3 nodes: three \`chsk serve --redis\` on one redis-server, haproxy round-robin in front (docs/haproxy.cfg; every login, upgrade and Ajax request balanced on its own), the bench pointed at haproxy.`,
  "",
  mainTable,
  "",
  `*clients per node*: WebSocket connections each node held when the window opened; an Ajax client has no node (its polls and POSTs go to whichever node haproxy picks). *complete pushes*: share of pushes that reached every device of their user within the window. Latency is from the push request's intended send time to the device's decode, and includes the server's batching as Sente does it: a push waits ${"`sendBufMsWs`"} (30 ms) on WS, ${"`sendBufMsAjax`"} (100 ms) on Ajax, for more events to the same client. CPU: utime + stime from /proc/<pid>/stat over the measured window, 100% = one core (10 ms ticks); the generator is this process (main thread + load worker). Everything — generator, nodes, Redis, haproxy — shares the machine's ${machine.cores} cores, so the totals are one machine's, not a scale-out measurement of capacity; *machine busy* includes other processes (${rows.map((r) => `${r.key}: ${core(r.cpu.others)}`).join(", ")} outside the bench).`,
  "",
  ...(transportTable ? [transportTable, ""] : []),
  "Cluster counters of each node over the run (`/api/stats` → `cluster.stats`, after minus before; `errors` is the node's own error count):",
  "",
  clusterTable,
  "",
  ...(failures.length ? ["## Failures", "", ...failures.map((f) => `- ${f}`), ""] : ["Checks: every 3-node run delivered every push to every device within the window, no losses, no duplicates, no errors, no cluster failures.", ""]),
].join("\n");
process.stdout.write(`\n${md}\n`);

if (!opt["no-write"]) {
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/latest-cluster.md`, md);
  const json = {
    date,
    node: process.versions.node,
    machine,
    settings: { users: base.users, devices: base.devices, rate: base.rate, warmupMs: base.warmupMs, durationMs: base.durationMs, windowMs: base.windowMs, ajaxShare: base.ajaxShare },
    rows,
    failures,
  };
  writeFileSync(`${root}bench/results/latest-cluster.json`, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write("wrote bench/results/latest-cluster.{json,md}\n");
}
process.exitCode = failures.length > 0 ? 1 : 0;
