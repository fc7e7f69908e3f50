/**
 * Load worker: opens connections through one driver and runs the closed
 * (N in flight per connection), open (fixed rate, latency from the intended
 * send time) or idle (connections only) model, driven by {@link ToWorker}
 * commands from the main thread.
 */
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import type { Driver, DriverConn } from "../drivers/types.js";
import { createHistogram, encodeHist, initHistograms } from "./histograms.js";
import type { FromWorker, ToWorker, WorkerConfig } from "./messages.js";

const cfg = workerData as WorkerConfig;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

await initHistograms();
const { driver } = (await import(`../drivers/${cfg.driver}.js`)) as { driver: Driver };
const hist = createHistogram();
/** Open model: how late the generator itself sent each request (timer granularity, GC). */
const lagHist = createHistogram();
const conns: DriverConn[] = [];

let running = false;
let measuring = false;
let replies = 0;
let errors = 0;
let windowStart = 0;
let firstError: string | undefined;

const onError = (e: Error) => {
  errors++;
  firstError ??= e.message;
  if (errors <= 3) console.error(`[${cfg.driver}] ${e.message}`);
};

// ---------------------------------------------------------------------------
// Closed model: slot = connection × inflight; tag = slot.

let startTimes = new Float64Array(0);

function closedReply(tag: number, ok: boolean): void {
  const now = performance.now();
  if (measuring) {
    replies++;
    if (!ok) errors++;
    hist.recordValue(Math.max(1, Math.round((now - startTimes[tag]!) * 1000)));
  }
  if (running) {
    startTimes[tag] = performance.now();
    conns[Math.floor(tag / cfg.inflight)]!.request(tag);
  }
}

function startClosed(): void {
  startTimes = new Float64Array(conns.length * cfg.inflight);
  for (let c = 0; c < conns.length; c++) {
    for (let k = 0; k < cfg.inflight; k++) {
      const tag = c * cfg.inflight + k;
      startTimes[tag] = performance.now();
      conns[c]!.request(tag);
    }
  }
}

// ---------------------------------------------------------------------------
// Open model (wrk2-style): request k is due at t0 + k·interval on connection
// k mod N, and is sent then even if earlier ones are unanswered. Latency is
// measured from that intended time, so a stalled server (or generator)
// cannot hide queueing delay (coordinated omission).

let t0 = 0;
let interval = 1;
let nextSeq = 0;
let firstMeasuredSeq = Number.MAX_SAFE_INTEGER;
let sentInWindow = 0;
let answered = new Uint8Array(0);
let ticker: ReturnType<typeof setTimeout> | undefined;

function openReply(tag: number, ok: boolean): void {
  if (tag < answered.length) answered[tag] = 1;
  if (!measuring) return;
  replies++;
  if (!ok) errors++;
  if (tag >= firstMeasuredSeq) {
    hist.recordValue(Math.max(1, Math.round((performance.now() - (t0 + tag * interval)) * 1000)));
  }
}

function tick(): void {
  if (!running) return;
  const due = Math.floor((performance.now() - t0) / interval);
  while (nextSeq <= due) {
    const seq = nextSeq++;
    if (seq >= answered.length) {
      const grown = new Uint8Array(answered.length * 2 + 1024);
      grown.set(answered);
      answered = grown;
    }
    if (measuring) {
      sentInWindow++;
      lagHist.recordValue(Math.max(1, Math.round((performance.now() - (t0 + seq * interval)) * 1000)));
    }
    conns[seq % conns.length]!.request(seq);
  }
  ticker = setTimeout(tick, 1);
}

function startOpen(): void {
  interval = 1000 / cfg.rate;
  // Stagger workers a little so their schedules interleave.
  t0 = performance.now() + Math.random() * interval;
  answered = new Uint8Array(Math.ceil(cfg.rate * 30) + 1024);
  tick();
}

// ---------------------------------------------------------------------------

const onReply = cfg.model === "open" ? openReply : closedReply;

async function connect(count: number): Promise<void> {
  const started = performance.now();
  let failed = 0;
  let err: string | undefined;
  let next = conns.length;
  const end = conns.length + count;
  const one = async (): Promise<void> => {
    while (next < end) {
      const index = next++;
      try {
        conns.push(await driver.connect({ port: cfg.port, index, inflight: cfg.model === "closed" ? cfg.inflight : 1, onReply, onError }));
      } catch (e) {
        failed++;
        err ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.connectConcurrency, count) }, one));
  post({ type: "connected", total: conns.length, failed, ms: performance.now() - started, firstError: err });
}

port.on("message", (m: ToWorker) => {
  switch (m.cmd) {
    case "connect":
      void connect(m.count).catch((e: Error) => post({ type: "error", message: e.message }));
      break;
    case "start":
      running = true;
      if (cfg.model === "closed") startClosed();
      else if (cfg.model === "open") startOpen();
      break;
    case "measure":
      hist.reset();
      lagHist.reset();
      replies = 0;
      errors = 0;
      sentInWindow = 0;
      firstMeasuredSeq = nextSeq;
      windowStart = performance.now();
      measuring = true;
      break;
    case "stop": {
      const stopAt = performance.now();
      running = false;
      measuring = false;
      if (ticker) clearTimeout(ticker);
      let unanswered = 0;
      if (cfg.model === "open") {
        // Requests still out at the end count with the delay they have so far.
        for (let s = firstMeasuredSeq; s < nextSeq; s++) {
          if (answered[s] === 0) {
            unanswered++;
            hist.recordValue(Math.max(1, Math.round((stopAt - (t0 + s * interval)) * 1000)));
          }
        }
      }
      post({
        type: "result",
        result: { replies, errors, unanswered, sent: sentInWindow, windowMs: stopAt - windowStart, hist: encodeHist(hist), sendLagHist: encodeHist(lagHist), firstError },
      });
      break;
    }
    case "close":
      running = false;
      for (const c of conns) c.close();
      void (async () => {
        await driver.dispose?.();
        hist.destroy();
        lagHist.destroy();
        post({ type: "closed" });
        port.close();
      })();
      break;
  }
});
