/**
 * Main-thread side of a load run: starts load workers against a running
 * server, times warm-up and the measured window, samples the server's CPU
 * (from /proc) exactly at the window edges, and merges the workers'
 * histograms.
 */
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { DriverName } from "../drivers/types.js";
import { type LatencySummary, mergeEncoded, summarize } from "./histograms.js";
import type { FromWorker, LoadModel, ToWorker, WorkerConfig, WorkerResult } from "./messages.js";
import { listenDrops, machineBusyMicros, type ServerHandle } from "./proc.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A pool of load workers sharing one driver and model. */
export class LoadGen {
  readonly #workers: Worker[] = [];
  readonly #inbox: FromWorker[][] = [];
  readonly #waiters: (() => void)[] = [];
  #failure: Error | undefined;

  constructor(configs: WorkerConfig[]) {
    for (const [i, cfg] of configs.entries()) {
      const w = new Worker(new URL("./worker-entry.mjs", import.meta.url), { workerData: cfg });
      this.#inbox.push([]);
      w.on("message", (m: FromWorker) => {
        if (m.type === "error") this.#failure ??= new Error(`worker ${i}: ${m.message}`);
        this.#inbox[i]!.push(m);
        this.#wake();
      });
      w.on("error", (e) => {
        this.#failure ??= e;
        this.#wake();
      });
      w.on("exit", (code) => {
        if (code !== 0) this.#failure ??= new Error(`worker ${i} exited with ${code}`);
        this.#wake();
      });
      this.#workers.push(w);
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits for one message of `type` from every worker. */
  async #collect<T extends FromWorker["type"]>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      const idx = this.#inbox.map((box) => box.findIndex((m) => m.type === type));
      if (idx.every((i) => i >= 0)) {
        return idx.map((i, w) => this.#inbox[w]!.splice(i, 1)[0] as Extract<FromWorker, { type: T }>);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`load workers: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1_000));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  #send(m: ToWorker | ((i: number) => ToWorker)): void {
    this.#workers.forEach((w, i) => w.postMessage(typeof m === "function" ? m(i) : m));
  }

  /** Opens `counts[i]` more connections on worker i. */
  async connect(counts: number[], timeoutMs = 60_000): Promise<{ total: number; failed: number; ms: number; firstError?: string }> {
    this.#send((i) => ({ cmd: "connect", count: counts[i] ?? 0 }));
    const all = await this.#collect("connected", timeoutMs);
    return {
      total: all.reduce((a, m) => a + m.total, 0),
      failed: all.reduce((a, m) => a + m.failed, 0),
      ms: Math.max(...all.map((m) => m.ms)),
      firstError: all.find((m) => m.firstError)?.firstError,
    };
  }

  start(): void {
    this.#send({ cmd: "start" });
  }
  measure(): void {
    this.#send({ cmd: "measure" });
  }
  async stop(): Promise<WorkerResult[]> {
    this.#send({ cmd: "stop" });
    return (await this.#collect("result", 30_000)).map((m) => m.result);
  }

  /** Closes every connection and ends the workers (terminating stragglers). */
  async close(): Promise<void> {
    this.#send({ cmd: "close" });
    await this.#collect("closed", 10_000).catch(() => {});
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Splits `total` into `parts` near-equal integers. */
export const split = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

export interface LoadOptions {
  driver: DriverName;
  model: Exclude<LoadModel, "idle">;
  connections: number;
  /** Closed model. */
  inflight?: number;
  /** Open model: total req/s. */
  rate?: number;
  warmupMs: number;
  durationMs: number;
  /** Load worker threads. @default 1 */
  workers?: number;
}

export interface LoadResult {
  driver: DriverName;
  model: "closed" | "open";
  connections: number;
  inflight?: number;
  rate?: number;
  windowMs: number;
  replies: number;
  rtPerSec: number;
  errors: number;
  firstError?: string;
  unanswered: number;
  latencyUs: LatencySummary;
  /** Open model: how late the generator sent requests (its own timer lag). */
  sendLagUs?: LatencySummary;
  /** Server CPU time in the window, µs, and per round trip. */
  serverCpuUs: number;
  serverCpuUsPerRt: number;
  /** The kernel part (stime) of serverCpuUs: syscalls, and loopback TCP work done in them. */
  serverSysCpuUs: number;
  /** Server CPU time / wall time (1.0 = one core busy). */
  serverCpuShare: number;
  /** Load generator (this whole process, all threads) CPU / wall. */
  genCpuShare: number;
  /**
   * Busy CPU of the rest of the machine / wall: other processes and kernel
   * network work not charged to either process. High values mean a noisy run.
   */
  otherCpuShare: number;
  serverRssBytes: number;
  connectMs: number;
  /** Listen-queue drops on the machine from connect to the end of the window (see {@link listenDrops}). */
  listenDrops: number;
}

/** Runs one closed- or open-model load against `server`. */
export async function runLoad(server: ServerHandle, o: LoadOptions): Promise<LoadResult> {
  const workers = Math.max(1, Math.min(o.workers ?? 1, o.connections));
  const conns = split(o.connections, workers);
  const rates = o.model === "open" ? conns.map((c) => ((o.rate ?? 0) * c) / o.connections) : conns.map(() => 0);
  const gen = new LoadGen(
    conns.map((connections, i) => ({
      driver: o.driver,
      port: server.port,
      connections,
      model: o.model,
      inflight: o.inflight ?? 1,
      rate: rates[i]!,
      connectConcurrency: 50,
    })),
  );
  const drops0 = listenDrops();
  try {
    const c = await gen.connect(conns);
    if (c.failed > 0) throw new Error(`${o.driver}: ${c.failed}/${o.connections} connections failed: ${c.firstError}`);
    gen.start();
    await sleep(o.warmupMs);

    const split0 = server.cpuSplit();
    const cpu0 = split0.user + split0.system;
    const gen0 = process.cpuUsage();
    const busy0 = machineBusyMicros();
    const t0 = performance.now();
    gen.measure();
    await sleep(o.durationMs);
    const split1 = server.cpuSplit();
    const cpu1 = split1.user + split1.system;
    const genD = process.cpuUsage(gen0);
    const busyD = machineBusyMicros() - busy0;
    const t1 = performance.now();
    const results = await gen.stop();
    const rss = server.rssBytes();
    const drops = listenDrops() - drops0;

    const hist = mergeEncoded(results.map((r) => r.hist));
    const latencyUs = summarize(hist);
    hist.destroy();
    const lag = mergeEncoded(results.map((r) => r.sendLagHist));
    const sendLagUs = o.model === "open" ? summarize(lag) : undefined;
    lag.destroy();
    const replies = results.reduce((a, r) => a + r.replies, 0);
    const windowMs = Math.max(...results.map((r) => r.windowMs));
    const serverCpuUs = cpu1 - cpu0;
    return {
      driver: o.driver,
      model: o.model,
      connections: o.connections,
      ...(o.model === "closed" ? { inflight: o.inflight } : { rate: o.rate }),
      windowMs: Math.round(windowMs),
      replies,
      rtPerSec: Math.round((replies * 1000) / windowMs),
      errors: results.reduce((a, r) => a + r.errors, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
      unanswered: results.reduce((a, r) => a + r.unanswered, 0),
      latencyUs,
      sendLagUs,
      serverCpuUs,
      serverCpuUsPerRt: replies > 0 ? serverCpuUs / replies : NaN,
      serverSysCpuUs: split1.system - split0.system,
      serverCpuShare: serverCpuUs / 1000 / (t1 - t0),
      genCpuShare: (genD.user + genD.system) / 1000 / (t1 - t0),
      otherCpuShare: Math.max(0, busyD - serverCpuUs - genD.user - genD.system) / 1000 / (t1 - t0),
      serverRssBytes: rss,
      connectMs: Math.round(c.ms),
      listenDrops: drops,
    };
  } finally {
    await gen.close();
  }
}

export interface MemResult {
  driver: DriverName;
  /** Connections open when each sample was taken. */
  base: number;
  total: number;
  rssBaseBytes: number;
  rssBytes: number;
  heapBaseBytes: number;
  heapBytes: number;
  /** (RSS after − RSS before) / added connections, after GC. */
  rssPerConnBytes: number;
  /** Same for V8 heapUsed + external + arrayBuffers. */
  heapPerConnBytes: number;
  connectMs: number;
}

/**
 * Memory per idle connection: open `base` connections (so lazy
 * initialisation is paid), GC, sample; open up to `total`, settle, GC,
 * sample; report the per-connection deltas.
 */
export async function runIdle(server: ServerHandle, driver: DriverName, base: number, total: number, settleMs = 1_000): Promise<MemResult> {
  const gen = new LoadGen([{ driver, port: server.port, connections: total, model: "idle", inflight: 0, rate: 0, connectConcurrency: 100 }]);
  const heapOf = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  try {
    const a = await gen.connect([base]);
    if (a.failed > 0) throw new Error(`${driver}: ${a.failed} connections failed: ${a.firstError}`);
    await sleep(settleMs);
    const s0 = await server.gc();
    const rss0 = server.rssBytes();
    const b = await gen.connect([total - base], 120_000);
    if (b.failed > 0) throw new Error(`${driver}: ${b.failed} connections failed: ${b.firstError}`);
    await sleep(settleMs);
    const s1 = await server.gc();
    const rss1 = server.rssBytes();
    const added = total - base;
    return {
      driver,
      base,
      total,
      rssBaseBytes: rss0,
      rssBytes: rss1,
      heapBaseBytes: heapOf(s0.memory),
      heapBytes: heapOf(s1.memory),
      rssPerConnBytes: (rss1 - rss0) / added,
      heapPerConnBytes: (heapOf(s1.memory) - heapOf(s0.memory)) / added,
      connectMs: Math.round(b.ms),
    };
  } finally {
    await gen.close();
  }
}
