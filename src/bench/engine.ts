/**
 * `chsk bench`'s main thread: splits this segment's users over load workers,
 * walks every run through its phases (sessions, connect/ramp, warm-up,
 * measured window, drain), merges the workers' per-second ticks and their
 * encoded histograms (never their percentiles), and returns the report.
 * Every wait is bounded, so a run ends by itself whatever the target does.
 */
import { cpus, hostname, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { ChskError } from "../core/index.js";
import { decodeHist, encodeHist, initHistograms, latencyMs, latencyMsOfEncoded, mergeEncoded, mergeToEncoded } from "./histogram.js";
import type { FromWorker, Role, ToWorker, WorkerConfig, WorkerResult, WorkerTick, WorkerUser } from "./messages.js";
import { type BenchOptions, checkBenchOptions, segmentUsers, splitEvenly } from "./options.js";
import { pushStats } from "./push-stats.js";
import { wireCost } from "./wire-cost.js";
import type { ProgressSnapshot } from "./progress/types.js";
import type { BenchParams, BenchReport, DeviceTransport, IntervalStats, MachineInfo, RunResult, TransportChoice } from "./types.js";

export interface BenchHooks {
  /** About once a second while a run goes. */
  onProgress?: (s: ProgressSnapshot) => void;
  /** Things the user should know (partial login failures, saturation). */
  onNotice?: (line: string) => void;
  /** Ends the measured window early; the report covers what was measured. */
  signal?: AbortSignal;
  /** `--reconnect-storm` with `--spawn`: restart the server; resolves once it listens again. */
  restartServer?: () => Promise<void>;
  /** Called at the measured window's edges (a peer comparison samples the server's CPU there). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
  /** Connect scenario: runs once every device is up, before the run ends (a memory probe samples here). */
  whileConnected?: () => Promise<void>;
  /** Runs to make; default: `--compare` gives ws then ajax, otherwise `options.transport`. */
  transports?: TransportChoice[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/**
 * The most a load worker's young generation may grow to, MB (V8 splits it
 * into two semi-spaces and a large-object space: 192 allows 64 MB
 * semi-spaces; Node's default stops at 16). Every request and reply leaves
 * short-lived garbage while the live set stays small, and V8 grows the
 * young generation as a busy worker keeps filling it: scavenges then come
 * less often, each costing about the same. Nothing is committed up front.
 */
const WORKER_YOUNG_GENERATION_MB = 192;

/** A worker thread; under tsx (tests, `npm run`) it registers tsx first, as Node 20 does not pass loaders to workers. */
function startWorker(config: WorkerConfig): Worker {
  const url = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData: config, resourceLimits });
  const code = `import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData: config, resourceLimits });
}

class WorkerPool {
  readonly #workers: Worker[] = [];
  readonly #inbox: FromWorker[][] = [];
  readonly #waiters = new Set<() => void>();
  #failure: ChskError | undefined;

  constructor(
    configs: WorkerConfig[],
    private readonly onTick: (worker: number, tick: WorkerTick) => void,
  ) {
    for (const [i, cfg] of configs.entries()) {
      const w = startWorker(cfg);
      this.#inbox.push([]);
      w.on("message", (m: FromWorker) => {
        if (m.type === "tick") return this.onTick(i, m.tick);
        if (m.type === "fatal") this.#failure ??= new ChskError(m.code as never, m.message);
        this.#inbox[i]!.push(m);
        this.#wake();
      });
      w.on("error", (e) => {
        this.#failure ??= new ChskError("CHSK_ERR_BENCH_TARGET", `load worker ${i} failed: ${e.message}`, { cause: e });
        this.#wake();
      });
      w.on("exit", (code) => {
        if (code !== 0) this.#failure ??= new ChskError("CHSK_ERR_BENCH_TARGET", `load worker ${i} exited with ${code}`);
        this.#wake();
      });
      this.#workers.push(w);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  send(m: ToWorker): void {
    for (const w of this.#workers) w.postMessage(m);
  }

  /** One message of `type` from every worker, within `timeoutMs`. */
  async collect<T extends FromWorker["type"]>(type: T, timeoutMs: number, what: string): Promise<Extract<FromWorker, { type: T }>[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      const idx = this.#inbox.map((box) => box.findIndex((m) => m.type === type));
      if (idx.every((i) => i >= 0)) return idx.map((i, w) => this.#inbox[w]!.splice(i, 1)[0] as Extract<FromWorker, { type: T }>);
      const left = deadline - performance.now();
      if (left <= 0) throw new ChskError("CHSK_ERR_TIMEOUT", `chsk bench: ${what} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((r) => {
        const wake = () => {
          clearTimeout(t);
          this.#waiters.delete(wake);
          r();
        };
        const t = setTimeout(wake, Math.min(left, 250));
        this.#waiters.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    this.send({ cmd: "close" });
    await this.collect("closed", 10_000, "closing").catch(() => {});
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Which scenario each user plays: one for plain scenarios, by weight (spread evenly) for `mixed`. */
export function roleOf(o: Pick<BenchOptions, "scenario" | "mix">, userIndex: number): Role {
  if (o.scenario !== "mixed") return o.scenario;
  const total = o.mix.echo + o.mix.push + o.mix.connect;
  // Weighted round-robin over the user index: every window of `total` users holds each role its weight's share.
  const slot = (userIndex % total) + 0.5;
  if (slot < o.mix.echo) return "echo";
  if (slot < o.mix.echo + o.mix.push) return "push";
  return "connect";
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  let chsk = "?";
  try {
    chsk = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
  } catch {
    // A bundled copy without its package.json.
  }
  return { hostname: hostname(), platform: process.platform, arch: process.arch, cpus: c.length, cpuModel: c[0]?.model ?? "?", memoryBytes: totalmem(), node: process.version, chsk };
}

export function benchParams(o: BenchOptions, compare: boolean): BenchParams {
  return {
    url: o.url,
    scenario: o.scenario,
    users: o.users,
    devices: o.devices,
    transport: o.transport,
    ajaxShare: o.ajaxShare,
    ...(o.inFlight !== undefined ? { inFlight: o.inFlight } : {}),
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
    rampMs: o.rampMs,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    windowMs: o.windowMs,
    workers: o.workers,
    packer: o.packer,
    compare,
    ...(o.segment ? { segment: o.segment } : {}),
    ...(o.startAt !== undefined ? { startAt: new Date(o.startAt).toISOString() } : {}),
    ...(o.scenario === "connect" ? { reconnectStorm: o.reconnectStorm } : {}),
    ...(o.scenario === "mixed" ? { mix: o.mix } : {}),
  };
}

/** Runs every run of a bench (two with `--compare`) and returns the report. */
export async function runBench(o: BenchOptions, hooks: BenchHooks = {}): Promise<BenchReport> {
  checkBenchOptions(o);
  await initHistograms();
  const transports = hooks.transports ?? [o.transport];
  const startedAt = new Date().toISOString();
  const runs: RunResult[] = [];
  for (const [i, transport] of transports.entries()) {
    if (hooks.signal?.aborted && runs.length > 0) break;
    // Segments start together once; a second run (compare) starts when this machine is ready.
    const start = i === 0 ? o.startAt : undefined;
    runs.push(await runOne({ ...o, transport, startAt: start }, hooks, { run: i + 1, runs: transports.length }));
  }
  return { format: "chsk-bench/1", startedAt, params: benchParams(o, transports.length > 1), machine: [machineInfo()], runs };
}

interface Tally {
  sent: number;
  received: number;
  errors: number;
  timeouts: number;
  connected: number;
  handshakes: number;
  histograms: string[];
  phase: IntervalStats["phase"];
  elu: number[];
}

async function runOne(o: BenchOptions, hooks: BenchHooks, at: { run: number; runs: number }): Promise<RunResult> {
  const range = segmentUsers(o.users, o.segment);
  const all: WorkerUser[] = [];
  for (let u = range.from; u < range.to; u++) all.push({ index: u, name: `${o.userPrefix}${u}`, role: roleOf(o, u) });
  const nWorkers = Math.max(1, Math.min(o.workers, all.length));
  const shares = splitEvenly(all.length, nWorkers);
  const segmentRate = o.rate === undefined ? 0 : o.rate / (o.segment?.count ?? 1);
  const rated = (u: WorkerUser) => (o.scenario === "push" || o.scenario === "mixed" ? u.role === "push" || (o.scenario === "mixed" && u.role === "echo") : u.role === "echo");
  const ratedUsers = all.filter(rated).length;
  let offset = 0;
  const configs: WorkerConfig[] = shares.map((n, w) => {
    const users = all.slice(offset, (offset += n));
    return {
      worker: w,
      options: o,
      users,
      rate: ratedUsers === 0 ? 0 : (segmentRate * users.filter(rated).length) / ratedUsers,
      maxMessages: Math.max(1, Math.floor(o.maxMessages / nWorkers)),
    };
  });
  const deviceCount = all.length * o.devices;
  const label = `${o.scenario} · ${o.transport}`;

  // Seconds, merged over workers as their ticks arrive.
  const seconds = new Map<number, Tally>();
  let phase: ProgressSnapshot["phase"] = "connect";
  const onTick = (w: number, t: WorkerTick) => {
    let s = seconds.get(t.t);
    if (!s) seconds.set(t.t, (s = { sent: 0, received: 0, errors: 0, timeouts: 0, connected: 0, handshakes: 0, histograms: [], phase: t.phase, elu: [] }));
    s.sent += t.sent;
    s.received += t.received;
    s.errors += t.errors;
    s.timeouts += t.timeouts;
    s.connected += t.connected;
    s.handshakes += t.handshakes;
    s.histograms.push(t.histogram);
    s.elu[w] = t.elu;
    if (t.phase === "measure") s.phase = "measure";
  };
  const pool = new WorkerPool(configs, onTick);
  const t0 = Date.now();
  const totalMs = o.rampMs + o.warmupMs + o.durationMs;
  const totals = { sent: 0, received: 0, errors: 0, timeouts: 0 };
  let lastShown = 0;
  const progressTimer = setInterval(() => {
    // The newest second every worker has reported.
    const done = [...seconds.keys()].filter((t) => t > lastShown && seconds.get(t)!.elu.filter((x) => x !== undefined).length >= pool.size).sort((a, b) => a - b);
    for (const t of done) {
      const s = seconds.get(t)!;
      totals.sent += s.sent;
      totals.received += s.received;
      totals.errors += s.errors;
      totals.timeouts += s.timeouts;
      lastShown = t;
    }
    const s = seconds.get(lastShown);
    if (!s || !hooks.onProgress) return;
    const h = mergeEncoded(s.histograms);
    const l = latencyMs(h);
    h.destroy();
    hooks.onProgress({
      label,
      run: at.run,
      runs: at.runs,
      phase,
      elapsedS: (Date.now() - t0) / 1000,
      totalS: totalMs / 1000,
      devices: deviceCount,
      connected: s.connected,
      sent: totals.sent,
      received: totals.received,
      errors: totals.errors,
      timeouts: totals.timeouts,
      throughput: s.received,
      p50Ms: l.p50,
      p99Ms: l.p99,
      maxMs: l.max,
      workerElu: s.elu.map((x) => x ?? 0),
      saturated: s.elu.some((x) => x >= 0.9),
    });
  }, 250);

  try {
    pool.send({ cmd: "prepare" });
    const prepared = await pool.collect("prepared", 30_000 + (all.length / 64) * o.timeoutMs, "opening the users' sessions");
    const failedUsers = prepared.reduce((a, p) => a + p.failed, 0);
    const firstError = prepared.find((p) => p.firstError)?.firstError;
    if (failedUsers === all.length && firstError) {
      throw new ChskError("CHSK_ERR_BENCH_TARGET", `no user could open a session: ${firstError.message} (${firstError.code})`);
    }
    if (failedUsers > 0) hooks.onNotice?.(`${failedUsers} of ${all.length} users could not open a session (first: ${firstError?.message}); their devices connect without one`);

    const startAt = Math.max(Date.now() + 20, o.startAt ?? 0);
    if (o.startAt !== undefined && o.startAt > Date.now()) hooks.onNotice?.(`waiting for --start-at ${new Date(o.startAt).toISOString()}`);
    const isConnect = o.scenario === "connect";
    let cpu0 = process.cpuUsage();
    let wall0 = performance.now();
    if (isConnect) {
      pool.send({ cmd: "measure" });
      hooks.onMeasureStart?.();
      phase = "ramp";
    }
    pool.send({ cmd: "connect", at: startAt, rampMs: o.rampMs });
    phase = "ramp";
    const connected = await pool.collect("connected", Math.max(0, startAt - Date.now()) + o.rampMs + Math.max(10_000, o.timeoutMs) + 30_000, "connecting the devices");
    const up = connected.reduce((a, c) => a + c.connected, 0);
    if (up === 0) {
      const causes = new Map<string, number>();
      for (const c of connected) for (const [k, v] of Object.entries(c.failures)) causes.set(k, (causes.get(k) ?? 0) + v);
      const why = [...causes].map(([k, v]) => `${k} ×${v}`).join(", ") || "no handshake in time";
      throw new ChskError("CHSK_ERR_BENCH_TARGET", `no device could connect to ${o.url}: ${why}`);
    }
    if (up < deviceCount) hooks.onNotice?.(`${up} of ${deviceCount} devices connected; the run goes on with them`);

    let how: "client-drop" | "server-restart" | undefined;
    if (isConnect) {
      await hooks.whileConnected?.();
      if (o.reconnectStorm && !hooks.signal?.aborted) {
        phase = "warmup";
        await sleep(o.warmupMs, hooks.signal);
        phase = "reconnect";
        how = hooks.restartServer ? "server-restart" : "client-drop";
        const dropped = Date.now();
        pool.send({ cmd: "drop", how });
        if (hooks.restartServer) await hooks.restartServer();
        // Until everyone is back (a whole second after the drop says so), or the duration runs out.
        const until = dropped + o.durationMs;
        while (Date.now() < until && !hooks.signal?.aborted) {
          const last = seconds.get(lastShown);
          if (last && lastShown >= dropped && last.connected >= up) break;
          await sleep(250, hooks.signal);
        }
      }
    } else {
      // Without a warm-up the window opens before the first send, so every message is counted.
      if (o.warmupMs > 0) {
        pool.send({ cmd: "load" });
        phase = "warmup";
        await sleep(o.warmupMs, hooks.signal);
      }
      pool.send({ cmd: "measure" });
      if (o.warmupMs === 0) pool.send({ cmd: "load" });
      hooks.onMeasureStart?.();
      phase = "measure";
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      await sleep(o.durationMs, hooks.signal);
    }
    hooks.onMeasureEnd?.();
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    phase = "drain";
    const drainMs = o.scenario === "push" || o.scenario === "mixed" ? o.windowMs + 500 : Math.min(o.timeoutMs, 2_000);
    pool.send({ cmd: "stop", drainMs });
    const results = (await pool.collect("result", drainMs + 30_000, "the end of the run")).map((r) => r.result);
    return buildRun(o, results, seconds, t0, { cpuUs: cpu.user + cpu.system, wallMs, deviceCount, reconnectHow: how, onNotice: hooks.onNotice });
  } finally {
    clearInterval(progressTimer);
    await pool.close();
  }
}

function sumBy<T>(xs: T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

function buildRun(
  o: BenchOptions,
  results: WorkerResult[],
  seconds: Map<number, Tally>,
  t0: number,
  x: { cpuUs: number; wallMs: number; deviceCount: number; reconnectHow?: "client-drop" | "server-restart"; onNotice?: (line: string) => void },
): RunResult {
  const windowMs = Math.max(...results.map((r) => r.windowMs));
  const windowEnd = Date.now();
  const windowStart = Math.round(windowEnd - windowMs);
  const isConnect = o.scenario === "connect";
  const c = results.map((r) => r.connect!);
  const handshake = mergeToEncoded(c.map((r) => r.handshake));
  const latency = isConnect ? handshake : mergeToEncoded(results.map((r) => r.latency));

  const byTransport: RunResult["byTransport"] = {};
  for (const t of ["ws", "ajax"] as DeviceTransport[]) {
    const parts = results.map((r) => r.byTransport[t]).filter((p) => p !== undefined);
    if (parts.length === 0) continue;
    const histogram = mergeToEncoded(parts.map((p) => p.histogram));
    byTransport[t] = { devices: sumBy(parts, (p) => p.devices), received: sumBy(parts, (p) => p.received), latencyMs: latencyMsOfEncoded(histogram), histogram };
  }

  const elu = results.map((r) => r.elu);
  const sendLag = results.some((r) => r.sendLag) ? latencyMsOfEncoded(mergeToEncoded(results.flatMap((r) => (r.sendLag ? [r.sendLag] : [])))) : undefined;
  const saturatedWorker = elu.findIndex((e) => e >= 0.9);
  const reason =
    saturatedWorker >= 0
      ? `load worker ${saturatedWorker + 1}'s event loop was busy ${Math.round(elu[saturatedWorker]! * 100)}% of the window (add --workers)`
      : sendLag && sendLag.p99 > 10
        ? `the generator sent late (p99 ${sendLag.p99} ms behind schedule)`
        : undefined;
  if (reason) x.onNotice?.(`generator saturated: ${reason}`);

  let sent = sumBy(results, (r) => r.sent);
  let received = sumBy(results, (r) => r.received);
  let errors = sumBy(results, (r) => r.errors);
  const timeouts = sumBy(results, (r) => r.timeouts);
  const failures: Record<string, number> = {};
  for (const r of c) addCounts(failures, r.failures);
  if (isConnect) {
    sent = sumBy(c, (r) => r.attempts);
    received = latencyMsOfEncoded(handshake).count;
    errors = sumBy(Object.values(failures), (v) => v);
  }
  const errorCodes: Record<string, number> = {};
  for (const r of results) addCounts(errorCodes, r.errorCodes);
  if (isConnect) addCounts(errorCodes, failures);

  const pushParts = results.map((r) => r.push).filter((p) => p !== undefined);
  const skew = pushParts.length > 0 ? mergeToEncoded(pushParts.map((p) => p.skew)) : undefined;
  const push = skew !== undefined ? pushStats(pushParts, skew, o.windowMs) : undefined;
  const reconnectParts = c.map((r) => r.reconnect).filter((r) => r !== undefined);
  let reconnect: NonNullable<RunResult["connect"]>["reconnect"];
  if (reconnectParts.length > 0) {
    const histogram = mergeToEncoded(reconnectParts.map((r) => r.histogram));
    const devices = sumBy(reconnectParts, (r) => r.devices);
    const back = sumBy(reconnectParts, (r) => r.back);
    const h = decodeHist(histogram);
    // Time until q of the dropped devices were back: a percentile over all dropped devices, null if fewer came back.
    const at = (q: number) => (back >= Math.ceil(q * devices) && devices > 0 ? Math.round(h.getValueAtPercentile(Math.min(100, ((q * devices) / back) * 100))) / 1000 : null);
    reconnect = { how: x.reconnectHow ?? "client-drop", devices, back, ms50: at(0.5), ms95: at(0.95), ms100: at(1), histogram };
    h.destroy();
  }
  const connect = {
    attempts: sumBy(c, (r) => r.attempts),
    connected: sumBy(c, (r) => r.connected),
    failures,
    handshakeMs: latencyMsOfEncoded(handshake),
    ...(reconnect ? { reconnect } : {}),
  };

  const intervals: IntervalStats[] = [...seconds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, s]) => {
      const h = mergeEncoded(s.histograms);
      const l = latencyMs(h);
      const histogram = encodeHist(h);
      h.destroy();
      const phase: IntervalStats["phase"] = s.phase === "measure" || (t >= windowStart - 999 && t < windowEnd) ? (s.phase === "drain" ? "drain" : "measure") : s.phase;
      return {
        t,
        elapsedS: Math.round((t - Math.floor(t0 / 1000) * 1000) / 1000),
        phase,
        sent: s.sent,
        received: s.received,
        errors: s.errors,
        timeouts: s.timeouts,
        connected: s.connected,
        handshakes: s.handshakes,
        histogram,
        p50: l.p50,
        p99: l.p99,
        max: l.max,
      };
    });

  const bytesSent = sumBy(results, (r) => r.bytesSent);
  const bytesReceived = sumBy(results, (r) => r.bytesReceived);
  const httpRequests = sumBy(results, (r) => r.httpRequests);
  const events = received;
  if (results.some((r) => r.boundHit)) x.onNotice?.(`--max-messages reached: the generator stopped sending before the window closed`);
  return {
    transport: o.transport,
    scenario: o.scenario,
    users: segmentUsers(o.users, o.segment).to - segmentUsers(o.users, o.segment).from,
    devices: o.devices,
    durationS: Math.round(windowMs) / 1000,
    sent,
    received,
    errors,
    timeouts,
    lost: push?.lost ?? 0,
    inFlightAtStop: sumBy(results, (r) => r.inFlightAtStop),
    throughput: windowMs > 0 ? Math.round((received * 1000 * 10) / windowMs) / 10 : 0,
    latencyMs: latencyMsOfEncoded(latency),
    errorCodes,
    generatorCpu: {
      processShare: Math.round((x.cpuUs / 1000 / Math.max(1, x.wallMs)) * 1000) / 1000,
      workerElu: elu.map((e) => Math.round(e * 1000) / 1000),
      saturated: reason !== undefined,
      ...(reason ? { reason } : {}),
      ...(sendLag ? { sendLagMs: sendLag } : {}),
    },
    wire: wireCost(bytesSent, bytesReceived, httpRequests, events),
    ...(push ? { push } : {}),
    ...(isConnect || o.scenario === "mixed" ? { connect } : {}),
    byTransport,
    histograms: { latency, ...(skew !== undefined ? { skew } : {}), handshake },
    intervals,
    windowStart,
    windowEnd,
  };
}
