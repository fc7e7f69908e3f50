/**
 * `npm run bench:inspect-proxy [-- --quick] [--rounds 3] [--no-write]`
 *
 * What the inspector's proxy costs: WS echo (`[:demo/echo n]` → `n`, driven
 * by `chsk bench`'s engine with the real chsk client) against the chsk bench
 * server directly, and through
 * `bench/servers/inspect-proxy.ts` (the proxy source with the pipeline of
 * `chsk inspect --proxy --no-tui --format jsonl > /dev/null`; `--consumer
 * decode` only decodes, `none` only forwards), each in its own process.
 *
 * - closed model, 50 connections × 10 in flight: round trips/s through the
 *   proxy / direct (goal ≥ 0.7x);
 * - open model, 1,000 req/s over 50 connections: p99 through the proxy
 *   minus p99 direct (goal < 1 ms).
 *
 * Direct and proxied rows alternate over `--rounds` rounds (the host's
 * speed drifts); each check takes the median round. "server CPU" on a
 * proxied row is the server's plus the proxy's; the proxy's own share is
 * reported apart. Writes bench/results/latest-inspect-proxy.{json,md}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { errorSummary, type LoadResult, runEcho } from "./lib/measure.js";
import { procCpuSplit, procRssBytes, type ServerHandle, serverScript, spawnServer, waitForQuiet } from "./lib/proc.js";
import { type Check, checksTable, closedTable, isError, NOISY_SHARE, openTable, type Row } from "./lib/report.js";
import { TARGETS } from "./lib/targets.js";

const { values: opt } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string", default: "50" },
    inflight: { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
    consumer: { type: "string", default: "jsonl" },
    "quiet-wait": { type: "string", default: "3000" },
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (opt.help) {
  process.stdout.write(
    [
      "usage: npm run bench:inspect-proxy [-- options]",
      "  --duration ms      measured window (default 4000; 2000 with --quick)",
      "  --warmup ms        warm-up before each window (default 1000; 500 with --quick)",
      "  --connections n    connections, both models (default 50)",
      "  --inflight n       closed model requests in flight per connection (default 10)",
      "  --rate n           open model req/s (default 1000)",
      "  --rounds n         interleaved direct/proxied rounds; checks use the median (default 3)",
      "  --consumer c       what the proxy does with its events: jsonl (default: chsk inspect --format jsonl",
      "                     to /dev/null), decode (records discarded), none (no listener)",
      "  --quiet-wait ms    before each row, wait up to this long for other processes to go quiet (default 3000)",
      "  --no-write         don't write bench/results",
      "",
    ].join("\n"),
  );
  process.exit(0);
}

const num = (s: string | undefined, dflt: number) => (s === undefined ? dflt : Number(s));
const durationMs = num(opt.duration, opt.quick ? 2_000 : 4_000);
const warmupMs = num(opt.warmup, opt.quick ? 500 : 1_000);
const connections = Number(opt.connections);
const inflight = Number(opt.inflight);
const rate = Number(opt.rate);
const rounds = Math.max(1, Number(opt.rounds));
const consumer = opt.consumer;
if (!["decode", "jsonl", "none"].includes(consumer)) {
  process.stderr.write(`unknown --consumer '${consumer}' (expected decode, jsonl, none)\n`);
  process.exit(2);
}
const CONSUMER_LABEL = { decode: "decoding every event", jsonl: "decoding to JSONL on /dev/null", none: "no consumer" }[consumer as "decode" | "jsonl" | "none"];

/** CPU readings of the server and the proxy taken together, so a window's share of each can be told apart. */
interface Proxied extends ServerHandle {
  /** Proxy CPU µs between the last two readings (runEcho reads exactly at the window edges). */
  proxyCpuInWindow(): number;
}

async function withTargets<T>(proxied: boolean, fn: (h: ServerHandle | Proxied) => Promise<T>): Promise<T> {
  const server = await spawnServer("chsk", serverScript("chsk.ts"));
  let proxy: ServerHandle | undefined;
  try {
    if (proxied) proxy = await spawnServer("inspect-proxy", serverScript("inspect-proxy.ts"), { args: [`http://127.0.0.1:${server.port}`, consumer] });
    const pids = proxy ? [server.pid, proxy.pid] : [server.pid];
    const other = await waitForQuiet(Number(opt["quiet-wait"]), 0.3, 250, pids);
    if (other >= 0.3) process.stderr.write(` [machine busy: other processes use ${Math.round(other * 100)}% of a core]`);
    if (!proxy) return await fn(server);
    const p = proxy;
    const proxyReadings: number[] = [];
    const handle: Proxied = {
      name: "chsk via inspect proxy",
      pid: p.pid,
      port: p.port,
      origin: p.origin,
      cpuMicros: () => server.cpuMicros() + p.cpuMicros(),
      cpuSplit: () => {
        const a = server.cpuSplit();
        const b = procCpuSplit(p.pid);
        proxyReadings.push(b.user + b.system);
        return { user: a.user + b.user, system: a.system + b.system };
      },
      rssBytes: () => procRssBytes(p.pid),
      gc: () => p.gc(),
      stats: () => p.stats(),
      stop: () => p.stop(),
      proxyCpuInWindow: () => (proxyReadings.at(-1) ?? 0) - (proxyReadings.at(-2) ?? 0),
    };
    return await fn(handle);
  } finally {
    await proxy?.stop();
    await server.stop();
  }
}

interface Measured {
  result: LoadResult;
  /** Proxied rows: the proxy's CPU µs per round trip. */
  proxyCpuUsPerRt?: number;
}

let failures = 0;
async function row(label: string, proxied: boolean, model: "closed" | "open"): Promise<Row<Measured>> {
  process.stderr.write(`  ${label} …`);
  const started = Date.now();
  try {
    const m = await withTargets(proxied, async (h) => {
      const load = model === "closed" ? { inFlight: inflight } : { rate };
      const result = await runEcho(h, TARGETS.chsk, { connections, ...load, warmupMs, durationMs, workers: 1 });
      const proxyCpu = "proxyCpuInWindow" in h ? h.proxyCpuInWindow() : undefined;
      return proxyCpu === undefined ? { result } : { result, proxyCpuUsPerRt: result.received > 0 ? proxyCpu / result.received : NaN };
    });
    if (m.result.errors + m.result.timeouts > 0) throw new Error(`${m.result.errors + m.result.timeouts} errors: ${errorSummary(m.result.errorCodes)}`);
    process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return { label, generator: TARGETS.chsk.generator, result: m };
  } catch (e) {
    failures++;
    process.stderr.write(` failed: ${(e as Error).message}\n`);
    return { label, error: (e as Error).message };
  }
}

interface Round {
  direct: Row<Measured>;
  proxied: Row<Measured>;
  value: number | undefined;
}

/** Alternates direct and proxied rows `rounds` times; `metric` compares a pair. */
async function paired(model: "closed" | "open", metric: (direct: LoadResult, proxied: LoadResult) => number): Promise<{ rounds: Round[]; median: Round }> {
  const rs: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    const direct = await row("chsk (ws), direct", false, model);
    const proxied = await row(`chsk (ws) through the inspect proxy, ${CONSUMER_LABEL}`, true, model);
    const value = !isError(direct) && !isError(proxied) ? metric(direct.result.result, proxied.result.result) : undefined;
    rs.push({ direct, proxied, value });
    if (value === undefined) break;
  }
  const ok = rs.filter((r) => r.value !== undefined).sort((a, b) => a.value! - b.value!);
  return { rounds: rs, median: ok[Math.floor((ok.length - 1) / 2)] ?? rs[rs.length - 1]! };
}

const plain = (r: Row<Measured>): Row<LoadResult> => (isError(r) ? r : { label: r.label, generator: TARGETS.chsk.generator, result: r.result.result });
const noisy = (...rs: Row<Measured>[]) => rs.some((r) => !isError(r) && r.result.result.otherCpuShare >= NOISY_SHARE);
const spread = (rs: Round[], fmt: (v: number) => string) =>
  rs.length > 1 ? `; median of ${rs.length} interleaved rounds: ${rs.flatMap((r) => (r.value === undefined ? [] : [fmt(r.value)])).join(", ")}` : "";

const started = Date.now();
process.stderr.write(`inspect proxy, closed model: ${connections}×${inflight} in flight, ${durationMs} ms\n`);
const closed = await paired("closed", (d, p) => p.rtPerSec / d.rtPerSec);
process.stderr.write(`inspect proxy, open model: ${rate} req/s over ${connections} connections, ${durationMs} ms\n`);
const open = await paired("open", (d, p) => (p.latencyMs.p99 - d.latencyMs.p99) * 1000);

const proxyCpu = (r: Row<Measured>) => (isError(r) ? undefined : r.result.proxyCpuUsPerRt);
const checks: Check[] = [
  {
    name: "Inspect proxy: WS RT/s through the proxy / direct",
    value: closed.median.value ?? null,
    unit: "x",
    op: "ge",
    target: 0.7,
    pass: closed.median.value === undefined ? null : closed.median.value >= 0.7,
    detail: `closed model, ${connections}×${inflight}${spread(closed.rounds, (v) => v.toFixed(2))}${noisy(closed.median.direct, closed.median.proxied) ? " ⚠ noisy" : ""}`,
  },
  {
    name: `Inspect proxy: added WS p99 at ${rate.toLocaleString("en-US")} req/s`,
    value: open.median.value ?? null,
    unit: "µs",
    op: "le",
    target: 1000,
    pass: open.median.value === undefined ? null : open.median.value < 1000,
    detail: `open model, ${connections} connections${spread(open.rounds, (v) => `${Math.round(v)} µs`)}${noisy(open.median.direct, open.median.proxied) ? " ⚠ noisy" : ""}`,
  },
];
const ownCpu = proxyCpu(closed.median.proxied);

const md = [
  "# chsk inspect proxy benchmark",
  "",
  `${new Date().toISOString()} · Node ${process.versions.node} · ${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
  "",
  `WS echo driven by \`chsk bench\`'s engine with the real chsk client, directly against the chsk bench server and through the inspector's proxy source (\`bench/servers/inspect-proxy.ts\`, consumer: ${CONSUMER_LABEL}). Server, proxy and generator are separate processes sharing the machine's ${cpus().length} cores. On proxied rows, *server CPU* is the server's plus the proxy's. Each table shows the median round.`,
  "",
  "## Targets",
  "",
  checksTable(checks),
  "",
  `## Closed model (${connections} connections × ${inflight} in flight)`,
  "",
  closedTable([plain(closed.median.direct), plain(closed.median.proxied)]),
  "",
  `The proxy's own CPU per round trip (${CONSUMER_LABEL}): ${ownCpu === undefined ? "n/a" : `${ownCpu.toFixed(1)} µs`}.`,
  "",
  `## Open model (${rate.toLocaleString("en-US")} req/s over ${connections} connections)`,
  "",
  openTable([plain(open.median.direct), plain(open.median.proxied)]),
  "",
].join("\n");
process.stdout.write(`${md}\n`);
process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

if (!opt["no-write"]) {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = { date: new Date().toISOString(), settings: { durationMs, warmupMs, connections, inflight, rate, rounds, consumer }, checks, proxyCpuUsPerRt: ownCpu ?? null, closed, open };
  const name = consumer === "jsonl" ? "latest-inspect-proxy" : `latest-inspect-proxy-${consumer}`;
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${dir}${name}.md`, md);
  process.stderr.write(`wrote bench/results/${name}.{json,md}\n`);
}
process.exitCode = failures > 0 ? 1 : 0;
