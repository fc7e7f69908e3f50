/**
 * `npm run bench:clients [-- --devices 10000]`: what one bench process
 * costs per simulated device. Connects N real chsk WS clients (the bench's
 * devices) to a spawned `chsk serve`, then reads this process's RSS while
 * they are all up and idle. The goal: 10,000 devices within 1.5 GB.
 * Writes bench/results/latest-clients.{json,md}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBench } from "../src/bench/engine.js";
import { spawnChskServe } from "./lib/proc.js";
import { BENCH_DEFAULTS } from "../src/bench/options.js";

const { values } = parseArgs({ options: { devices: { type: "string", default: "10000" }, transport: { type: "string", default: "ws" } } });
const devices = Number(values.devices);
const root = fileURLToPath(new URL("..", import.meta.url));
const server = await spawnChskServe();
const url = `${server.origin}/chsk`;

const rss0 = process.memoryUsage().rss;
let rss = 0;
let connectedAt = 0;
try {
  const r = (
    await runBench(
      { ...BENCH_DEFAULTS, url, scenario: "connect", users: devices / 10, devices: 10, transport: values.transport as "ws", rampMs: 0, durationMs: 1_000 },
      {
        whileConnected: async () => {
          await new Promise((res) => setTimeout(res, 2_000));
          rss = process.memoryUsage().rss;
          connectedAt = Date.now();
        },
      },
    )
  ).runs[0]!;
  const perDevice = (rss - rss0) / r.connect!.connected;
  const row = {
    date: new Date().toISOString(),
    devices,
    connected: r.connect!.connected,
    transport: values.transport,
    rssBeforeMb: Math.round(rss0 / 1e6),
    rssMb: Math.round(rss / 1e6),
    kbPerDevice: Math.round(perDevice / 100) / 10,
    handshakeP50Ms: r.connect!.handshakeMs.p50,
    handshakeP99Ms: r.connect!.handshakeMs.p99,
    withinGoal: rss < 1.5e9,
  };
  void connectedAt;
  const md = `| devices | connected | RSS before | RSS with all up | per device | handshake p50 / p99 | goal (< 1.5 GB) |\n|---:|---:|---:|---:|---:|---:|:---:|\n| ${devices} | ${row.connected} | ${row.rssBeforeMb} MB | ${row.rssMb} MB | ${row.kbPerDevice} KB | ${row.handshakeP50Ms} / ${row.handshakeP99Ms} ms | ${row.withinGoal ? "yes" : "NO"} |`;
  process.stdout.write(`${md}\n`);
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/latest-clients.md`, `${md}\n`);
  writeFileSync(`${root}bench/results/latest-clients.json`, `${JSON.stringify(row, null, 2)}\n`);
} finally {
  await server.stop();
}
