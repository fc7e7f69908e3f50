/**
 * `npm run bench [-- ws open mem ajax peers] [--quick] [--duration 5000] …`
 *
 * The project's own comparison of chsk with its peers (raw `ws`, socket.io
 * 4.8, a raw `node:http` echo), every row one run of `chsk bench`'s engine
 * (`src/bench`, `runBench`) against a server in its own child process. chsk
 * targets are driven by the real chsk client; the peers by lean adapters
 * (`bench/clients/*.ts`) behind the engine's `BenchClient` interface. This
 * file only chooses targets and loads, samples the servers (lib/measure.ts,
 * lib/proc.ts) and writes markdown (lib/report.ts).
 *
 * A run of every classic suite (ws open mem ajax) writes
 * bench/results/latest.{json,md}; any other choice writes
 * bench/results/latest-<suites>.{json,md} (`npm run bench:peers`:
 * latest-peers). Ratios are always computed from baselines measured in the
 * same run.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type LoadResult, type MemResult, runEcho, runIdle } from "./lib/measure.js";
import { type ServerHandle, waitForQuiet } from "./lib/proc.js";
import { type BenchResults, type Check, isError, NOISY_SHARE, type PeerRow, type PeersResults, renderMarkdown, type Row, STARVED_LAG_MS } from "./lib/report.js";
import { type BenchTarget, rawHttpSockets, startServer, TARGETS } from "./lib/targets.js";

const CLASSIC = ["ws", "open", "mem", "ajax"] as const;
const SUITES = [...CLASSIC, "peers"] as const;
type Suite = (typeof SUITES)[number];

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string", default: "50" },
    inflight: { type: "string", default: "10" },
    rate: { type: "string", default: "5000" },
    "open-connections": { type: "string", default: "100" },
    "mem-connections": { type: "string" },
    workers: { type: "string", default: "1" },
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    "profile-dir": { type: "string" },
    "quiet-wait": { type: "string", default: "3000" },
    retries: { type: "string", default: "1" },
    rounds: { type: "string" },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (opt.help) {
  process.stdout.write(
    [
      "usage: npm run bench [-- <suite>...] [options]",
      "suites: ws open mem ajax (default: these four), peers (npm run bench:peers)",
      "  --duration ms         measured window (default 4000; 3000 for peers; 2000 with --quick)",
      "  --warmup ms           warm-up before each window (default 1000; 500 with --quick)",
      "  --connections n       closed model devices (default 50)",
      "  --inflight n          closed model requests in flight per device (default 10)",
      "  --rate n              open model req/s (default 5000)",
      "  --open-connections n  open model devices (default 100)",
      "  --mem-connections n   idle connections for the memory measurements (default 2000; 1000 with --quick)",
      "  --workers n           load generator worker threads (default 1)",
      "  --only keys           run only these targets (comma-separated keys: raw, sio, chsk, serve,",
      "                        raw-http, sio-polling, chsk-ajax, serve-ajax)",
      "  --profile-dir dir     write a V8 CPU profile of every server process into dir",
      "  --quiet-wait ms       before each row, wait up to this long for other processes to go quiet (default 3000)",
      "  --retries n           re-run a row measured on a noisy machine up to n times, keep the quietest (default 1)",
      "  --rounds n            interleaved rounds of the rows compared with raw ws (ws, open: raw ws and chsk;",
      "                        peers: raw ws, chsk library, chsk serve); default 3 (1 with --quick)",
      "  --no-write            don't write bench/results",
      "",
    ].join("\n"),
  );
  process.exit(0);
}

const suites: Suite[] = positionals.length === 0 || positionals.includes("all") ? [...CLASSIC] : [];
for (const p of positionals) {
  if (p === "all") continue;
  if (!(SUITES as readonly string[]).includes(p)) {
    process.stderr.write(`unknown suite '${p}' (expected ${SUITES.join(", ")})\n`);
    process.exit(2);
  }
  if (!suites.includes(p as Suite)) suites.push(p as Suite);
}
const onlyPeers = suites.length === 1 && suites[0] === "peers";

const num = (s: string | undefined, dflt: number) => (s === undefined ? dflt : Number(s));
const durationMs = num(opt.duration, opt.quick ? 2_000 : onlyPeers ? 3_000 : 4_000);
const warmupMs = num(opt.warmup, opt.quick ? 500 : 1_000);
const connections = Number(opt.connections);
const inflight = Number(opt.inflight);
const rate = Number(opt.rate);
const openConnections = Number(opt["open-connections"]);
const workers = Number(opt.workers);
const rounds = Math.max(1, num(opt.rounds, opt.quick ? 1 : 3));

function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
}
const fdLimit = openFilesLimit();
// Server and generator are separate processes with this same limit; keep headroom.
const memConnections = Math.min(num(opt["mem-connections"], opt.quick ? 1_000 : 2_000), fdLimit - 256);
const memBase = Math.min(100, Math.floor(memConnections / 10));

// ---------------------------------------------------------------------------
// Rows: one server process and one engine run each.

type Keyed<R> = Row<R> & { key: string };

async function withServer<T>(t: BenchTarget, fn: (s: ServerHandle) => Promise<T>): Promise<T> {
  const nodeArgs = opt["profile-dir"] ? ["--cpu-prof", `--cpu-prof-dir=${opt["profile-dir"]}/${t.key}`] : [];
  const server = await startServer(t.server, nodeArgs);
  try {
    const other = await waitForQuiet(Number(opt["quiet-wait"]), 0.3, 250, [server.pid]);
    if (other >= 0.3) process.stderr.write(` [machine busy: other processes use ${Math.round(other * 100)}% of a core]`);
    return await fn(server);
  } finally {
    await server.stop();
  }
}

let failures = 0;
const only = opt.only?.split(",");
const retries = Number(opt.retries);
const noisiness = (r: unknown): number => (r as Partial<LoadResult>).otherCpuShare ?? 0;

async function row<R>(t: BenchTarget, fn: (s: ServerHandle) => Promise<R>): Promise<Keyed<R>> {
  if (only && !only.includes(t.key)) return { key: t.key, label: t.label, error: "skipped (--only)" };
  process.stderr.write(`  ${t.label} …`);
  const started = Date.now();
  try {
    let best = await withServer(t, fn);
    for (let i = 0; i < retries && noisiness(best) >= NOISY_SHARE; i++) {
      process.stderr.write(` [noisy (other ${Math.round(noisiness(best) * 100)}%), again]`);
      const again = await withServer(t, fn);
      if (noisiness(again) < noisiness(best)) best = again;
    }
    process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return { key: t.key, label: t.label, generator: t.generator, result: best };
  } catch (e) {
    failures++;
    const error = (e as Error).message;
    process.stderr.write(` failed: ${error}\n`);
    return { key: t.key, label: t.label, error };
  }
}

const closed = (t: BenchTarget) =>
  row(t, (s) =>
    runEcho(s, t.key === "raw-http" ? { ...t, auth: rawHttpSockets(inflight) } : t, { connections, inFlight: inflight, warmupMs, durationMs, workers }),
  );
const open = (t: BenchTarget) => row(t, (s) => runEcho(s, t, { connections: openConnections, rate, warmupMs, durationMs, workers }));
const idle = (t: BenchTarget) => row(t, (s) => runIdle(s, t, memBase, memConnections));

const ok = <R>(r: Row<R> | undefined): R | undefined => (r && !isError(r) ? r.result : undefined);
const pick = <R>(rows: Keyed<R>[] | undefined, key: string): R | undefined => ok(rows?.find((x) => x.key === key));
const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Paired {
  base: Keyed<LoadResult>;
  test: Keyed<LoadResult>;
  /** test/base of `metric`, one per complete round, in run order. */
  ratios: number[];
  median: number | undefined;
}

/**
 * The host's speed drifts by ±20% over tens of seconds (seen here with the
 * same generator and server), so a ratio from one run of each side can be
 * off by that much. The pair runs `rounds` times, alternating base and
 * test; the round with the median ratio supplies both table rows.
 */
async function paired(base: BenchTarget, test: BenchTarget, run: (t: BenchTarget) => Promise<Keyed<LoadResult>>, metric: (r: LoadResult) => number): Promise<Paired> {
  const rs: { base: Keyed<LoadResult>; test: Keyed<LoadResult>; ratio?: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = await run(base);
    const t = await run(test);
    const ratio = !isError(b) && !isError(t) ? metric(t.result) / metric(b.result) : undefined;
    rs.push({ base: b, test: t, ratio });
    if (ratio === undefined && (isError(b) || isError(t))) break; // a broken target won't get better
  }
  const good = rs.filter((r) => r.ratio !== undefined).sort((x, y) => x.ratio! - y.ratio!);
  const mid = good[Math.floor((good.length - 1) / 2)] ?? rs[rs.length - 1]!;
  return { base: mid.base, test: mid.test, ratios: rs.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio])), median: mid.ratio };
}

const spreadOf = (ratios: number[]) => (ratios.length > 1 ? `; median of ${ratios.length} interleaved rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}` : "");

function pairedCheck(name: string, p: Paired, target: number, what: string): Check {
  const value = p.median ?? null;
  return { name, value, unit: "x", op: "le", target, pass: value === null ? null : value <= target, detail: `${what}${spreadOf(p.ratios)}${noise(ok(p.base), ok(p.test))}` };
}

/** A note for a check whose inputs were measured on a busy machine or by a starved generator. */
function noise(...rs: (LoadResult | undefined)[]): string {
  const worst = Math.max(0, ...rs.map((r) => r?.otherCpuShare ?? 0));
  const starved = rs.some((r) => (r?.sendLagMs?.p99 ?? 0) > STARVED_LAG_MS);
  const notes = [...(worst >= NOISY_SHARE ? [`noisy: other processes used up to ${Math.round(worst * 100)}% of a core`] : []), ...(starved ? ["generator starved"] : [])];
  return notes.length ? ` ⚠ ${notes.join(", ")}` : "";
}

function ratioCheck(name: string, a: number | undefined, b: number | undefined, op: "le" | "ge", target: number, detail: string): Check {
  const value = a !== undefined && b !== undefined && b > 0 ? a / b : null;
  return { name, value, unit: "x", op, target, pass: value === null ? null : op === "le" ? value <= target : value >= target, detail };
}

const info = (c: Check): Check => ({ ...c, pass: null });

// ---------------------------------------------------------------------------
// Peers: every target with the same engine and scenarios, ratios against raw ws.

async function peers(results: BenchResults): Promise<void> {
  const echo: PeersResults["echo"] = [];
  const triple: BenchTarget[] = [TARGETS.raw, TARGETS.chsk, TARGETS.serve];
  process.stderr.write(`peers: echo, closed model, ${connections}×${inflight} in flight, ${durationMs} ms, ${rounds} round(s) of raw ws / chsk library / chsk serve\n`);
  for (let i = 1; i <= rounds; i++) for (const t of triple) echo.push({ ...(await closed(t)), round: i });
  for (const t of [TARGETS.sio, TARGETS.rawHttp, TARGETS.sioPolling, TARGETS.chskAjax, TARGETS.serveAjax]) echo.push({ ...(await closed(t)), round: 1 });
  process.stderr.write(`peers: memory, ${memBase} → ${memConnections} idle WebSocket connections\n`);
  const mem: PeersResults["mem"] = [];
  for (const t of [TARGETS.raw, TARGETS.sio, TARGETS.chsk, TARGETS.serve]) mem.push(await idle(t));

  const rawOf = (round: number) => ok(echo.find((r) => r.key === "raw" && r.round === round));
  const rawMem = pick(mem, "raw");
  const rows: PeerRow[] = [];
  const all: BenchTarget[] = [...triple, TARGETS.sio, TARGETS.rawHttp, TARGETS.sioPolling, TARGETS.chskAjax, TARGETS.serveAjax];
  for (const t of all) {
    const mine = echo.filter((r) => r.key === t.key);
    const good = mine.flatMap((r) => (isError(r) ? [] : [{ r: r.result, round: r.round }]));
    const m = (f: (r: LoadResult) => number) => median(good.map((g) => f(g.r)));
    // Same-round ratios where raw ws ran in that round (the triple); otherwise against raw ws's median.
    const rawMedian = (f: (r: LoadResult) => number) => median(echo.flatMap((r) => (r.key === "raw" && !isError(r) ? [f(r.result)] : [])));
    const vs = (f: (r: LoadResult) => number) =>
      median(
        good.flatMap((g) => {
          const base = triple.includes(t) ? (rawOf(g.round) ? f(rawOf(g.round)!) : undefined) : rawMedian(f);
          return base === undefined || base === 0 ? [] : [f(g.r) / base];
        }),
      );
    const memRow = mem.find((r) => r.key === t.key);
    const rss = ok(memRow)?.rssPerConnBytes;
    const error = [...mine.map((r) => (isError(r) ? r.error : undefined)), memRow && isError(memRow) ? memRow.error : undefined].find((e) => e !== undefined);
    rows.push({
      key: t.key,
      label: t.label,
      transport: t.transport,
      generator: t.generator,
      rounds: good.length,
      ...(good.length > 0
        ? {
            rtPerSec: m((r) => r.rtPerSec),
            p50Ms: m((r) => r.latencyMs.p50),
            p99Ms: m((r) => r.latencyMs.p99),
            serverCpuUsPerRt: m((r) => r.serverCpuUsPerRt),
            genCpuUsPerRt: m((r) => r.genCpuUsPerRt),
          }
        : {}),
      ...(rss !== undefined ? { rssPerConnBytes: rss } : {}),
      vsRaw: {
        ...(good.length > 0 ? { rtPerSec: vs((r) => r.rtPerSec), p99: vs((r) => r.latencyMs.p99), cpu: vs((r) => r.serverCpuUsPerRt) } : {}),
        ...(rss !== undefined && rawMem ? { rss: rss / rawMem.rssPerConnBytes } : {}),
      },
      noisy: good.some((g) => g.r.otherCpuShare >= NOISY_SHARE),
      saturated: good.some((g) => g.r.genSaturated),
      ...(error !== undefined ? { error } : {}),
    });
  }
  const perPost = (r: PeerRow | undefined) => (r?.genCpuUsPerRt === undefined ? "n/a" : `${r.genCpuUsPerRt.toFixed(1)} µs`);
  const notes = [
    `This run's generator spent ${perPost(rows.find((r) => r.key === "raw-http"))} per POST with the lean raw-http adapter (keep-alive HTTP/1.1, pre-built requests, like autocannon's client) and ${perPost(rows.find((r) => r.key === "chsk-ajax"))} per chsk Ajax round trip with the real chsk client (undici). autocannon's CPU per HTTP request, against the same node:http server and in the same run as the generator's: \`npm run bench:clients\` (bench/results/latest-clients.md).`,
  ];
  results.peers = { rows, echo, mem, notes };

  const row = (key: string) => rows.find((r) => r.key === key);
  const sameRound = (a: string, b: string, f: (r: LoadResult) => number) =>
    echo.flatMap((x) => {
      if (x.key !== a || isError(x)) return [];
      const y = ok(echo.find((r) => r.key === b && r.round === x.round));
      return y ? [f(x.result) / f(y)] : [];
    });
  const genVsServer = (key: string, name: string): Check => {
    const per = echo.flatMap((r) => (r.key === key && !isError(r) ? [r.result.genCpuUsPerRt / r.result.serverCpuUsPerRt] : []));
    const v = median(per) ?? null;
    const r = row(key);
    return {
      name: `Generator CPU per WS echo RT / ${name} server's`,
      value: v,
      unit: "x",
      op: "le",
      target: 1,
      pass: v === null ? null : v <= 1,
      detail: `real chsk client as generator: ${r?.genCpuUsPerRt?.toFixed(1) ?? "?"} µs vs server ${r?.serverCpuUsPerRt?.toFixed(1) ?? "?"} µs per RT${spreadOf(per)}${r?.saturated ? "; the engine flagged its generator saturated" : ""}`,
    };
  };
  const serveVsLib = sameRound("serve", "chsk", (r) => r.serverCpuUsPerRt);
  const libVsRaw = sameRound("chsk", "raw", (r) => r.serverCpuUsPerRt);
  results.checks.push(
    genVsServer("chsk", "chsk library"),
    genVsServer("serve", "chsk serve"),
    {
      name: "Server CPU per WS echo RT, chsk serve / chsk library",
      value: median(serveVsLib) ?? null,
      unit: "x",
      op: "le",
      target: 1.2,
      pass: serveVsLib.length === 0 ? null : median(serveVsLib)! <= 1.2,
      detail: `closed model${spreadOf(serveVsLib)}`,
    },
    info({
      name: "Server CPU per WS echo RT, chsk library / raw ws",
      value: median(libVsRaw) ?? null,
      unit: "x",
      op: "le",
      target: 1.5,
      pass: null,
      detail: `closed model (informational)${spreadOf(libVsRaw)}`,
    }),
    ratioCheck("RSS per idle WS conn, chsk serve / chsk library", row("serve")?.rssPerConnBytes, row("chsk")?.rssPerConnBytes, "le", 1.2, `${memConnections} conns, after gc()`),
  );
}

// ---------------------------------------------------------------------------

const results: BenchResults = {
  meta: {
    date: new Date().toISOString(),
    node: process.versions.node,
    cpu: cpus()[0]?.model ?? "?",
    cores: cpus().length,
    openFilesLimit: fdLimit,
    generator: `The load generator is this process: \`chsk bench\`'s engine (src/bench) with ${workers} worker thread${workers === 1 ? "" : "s"}; chsk targets are driven by the real chsk client, raw ws / socket.io / the HTTP floor by lean adapters (bench/clients). Generator and server share the machine's ${cpus().length} cores, so when both are near 100% the RT/s figures are machine-bound; server CPU µs per RT is the robust comparison.`,
    settings: { durationMs, warmupMs, connections, inflight, rate, openConnections, memBase, memConnections, workers, rounds },
  },
  checks: [],
};

const ws: Keyed<LoadResult>[] = [];
const openRows: Keyed<LoadResult>[] = [];
const mem: Keyed<MemResult>[] = [];
const ajax: Keyed<LoadResult>[] = [];
const started = Date.now();

if (suites.includes("peers")) await peers(results);
if (suites.includes("ws")) {
  process.stderr.write(`ws: closed model, ${connections}×${inflight} in flight, ${durationMs} ms\n`);
  const pair = await paired(TARGETS.raw, TARGETS.chsk, closed, (r) => r.serverCpuUsPerRt);
  const sioRow = await closed(TARGETS.sio);
  ws.push(pair.base, sioRow, pair.test);
  results.ws = ws;
  results.checks.push(
    pairedCheck("WS server CPU per RT, chsk / raw ws", pair, 1.5, "closed model"),
    info(ratioCheck("WS server CPU per RT, chsk / socket.io", pick(ws, "chsk")?.serverCpuUsPerRt, pick(ws, "sio")?.serverCpuUsPerRt, "le", 1, `closed model (informational)${noise(pick(ws, "sio"), pick(ws, "chsk"))}`)),
  );
}
if (suites.includes("open")) {
  process.stderr.write(`open: ${rate} req/s over ${openConnections} connections, ${durationMs} ms\n`);
  const pair = await paired(TARGETS.raw, TARGETS.chsk, open, (r) => r.latencyMs.p99);
  const sioRow = await open(TARGETS.sio);
  openRows.push(pair.base, sioRow, pair.test);
  results.open = openRows;
  results.checks.push(
    pairedCheck("WS p99 at fixed rate, chsk / raw ws", pair, 1.5, `open model, ${rate} req/s`),
    info(ratioCheck("WS p99 at fixed rate, chsk / socket.io", pick(openRows, "chsk")?.latencyMs.p99, pick(openRows, "sio")?.latencyMs.p99, "le", 1, `open model (informational)${noise(pick(openRows, "sio"), pick(openRows, "chsk"))}`)),
  );
}
if (suites.includes("mem")) {
  process.stderr.write(`mem: ${memBase} → ${memConnections} idle connections\n`);
  for (const t of [TARGETS.raw, TARGETS.sio, TARGETS.chsk]) mem.push(await idle(t));
  results.mem = mem;
  results.checks.push(ratioCheck("RSS per idle WS conn, chsk / raw ws", pick(mem, "chsk")?.rssPerConnBytes, pick(mem, "raw")?.rssPerConnBytes, "le", 1.5, `${memConnections} conns, after gc()`));
}
if (suites.includes("ajax")) {
  process.stderr.write(`ajax: closed model, ${connections}×${inflight} in flight, ${durationMs} ms\n`);
  for (const t of [TARGETS.rawHttp, TARGETS.sioPolling, TARGETS.chskAjax]) ajax.push(await closed(t));
  results.ajax = ajax;
  const cpu = pick(ajax, "chsk-ajax")?.serverCpuUsPerRt;
  const saturated = pick(ajax, "chsk-ajax")?.genSaturated ? "; generator-bound: the real chsk client is the generator" : "";
  results.checks.push(
    ratioCheck("Ajax RT/s, chsk / socket.io polling", pick(ajax, "chsk-ajax")?.rtPerSec, pick(ajax, "sio-polling")?.rtPerSec, "ge", 2, `closed model${saturated}${noise(pick(ajax, "sio-polling"), pick(ajax, "chsk-ajax"))}`),
    info(ratioCheck("Ajax RT/s, raw node:http floor / socket.io polling", pick(ajax, "raw-http")?.rtPerSec, pick(ajax, "sio-polling")?.rtPerSec, "ge", 2, `what any one-POST-per-request design can reach here (informational)${noise(pick(ajax, "sio-polling"), pick(ajax, "raw-http"))}`)),
    {
      name: "Ajax server CPU per RT, chsk",
      value: cpu ?? null,
      unit: "µs",
      op: "le",
      target: 50,
      pass: cpu === undefined ? null : cpu <= 50,
      detail: `closed model${noise(pick(ajax, "chsk-ajax"))}`,
    },
  );
}

const md = renderMarkdown(results);
process.stdout.write(`${md}\n`);
process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

if (!opt["no-write"]) {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const classic = suites.length === CLASSIC.length && CLASSIC.every((s) => suites.includes(s));
  const name = classic ? "latest" : `latest-${suites.join("-")}`;
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${dir}${name}.md`, md);
  process.stderr.write(`wrote bench/results/${name}.{json,md}\n`);
}
process.exitCode = failures > 0 ? 1 : 0;
