/**
 * `npm run bench:stall`: coordinated omission, measured. A server that
 * stalls 200 ms every second (fixtures/stalled-server.ts) is driven by
 * `chsk bench`'s engine twice: the open model (a fixed rate, latency from
 * the intended send time) and the closed model (one request in flight per
 * device, latency from the actual send). The open model's p99 carries the
 * stall; the closed model's hides it. Writes bench/results/latest-stall.{json,md}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runBench } from "../src/bench/engine.js";
import { spawnListening } from "./lib/proc.js";
import { BENCH_DEFAULTS, type BenchOptions } from "../src/bench/options.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const server = await spawnListening("stalled server", `${root}fixtures/stalled-server.ts`);
const url = `${server.origin}/chsk`;

const base: BenchOptions = { ...BENCH_DEFAULTS, url, scenario: "echo", users: 10, devices: 1, warmupMs: 1_000, durationMs: 5_000 };
const rows: { model: string; load: string; throughput: number; p50: number; p99: number; max: number }[] = [];
try {
  for (const [model, o] of [
    ["open", { ...base, rate: 1_000 }],
    ["closed", { ...base, inFlight: 1 }],
  ] as const) {
    process.stderr.write(`  ${model} model …`);
    const r = (await runBench(o)).runs[0]!;
    process.stderr.write(` ${r.throughput} msg/s, p99 ${r.latencyMs.p99} ms\n`);
    rows.push({ model, load: model === "open" ? "1,000 req/s over 10 devices" : "10 devices × 1 in flight", throughput: r.throughput, p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max });
  }
} finally {
  await server.stop();
}

const md = [
  "| model | load | msg/s | p50 ms | p99 ms | max ms |",
  "|---|---|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.model} | ${r.load} | ${r.throughput} | ${r.p50} | ${r.p99} | ${r.max} |`),
].join("\n");
process.stdout.write(`\nA server that stalls 200 ms every second:\n\n${md}\n`);
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/latest-stall.md`, `${md}\n`);
writeFileSync(`${root}bench/results/latest-stall.json`, `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
