/**
 * A load worker: its share of the users, each device a real public chsk
 * client (its own client-id, the user's session, reconnects, keepalive and
 * Ajax behaviour as any app gets them), driven through the phases the main
 * thread commands. Latencies go into hdr-histogram-js (WASM) histograms that
 * leave the thread encoded: one per second for the intervals, one for the
 * measured window.
 */
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { type ChskError, isChskError, kw, packerByName } from "../core/index.js";
import { type ClientTapEvent, nodeFetch } from "../core/client/index.node.js";
import { type BenchClient, type BenchClientFactory, chskBenchClient } from "./client.js";
import { deviceAuth, loadSetup, openUserSession, type SetupFn, type UserSession } from "./auth.js";
import { createHistogram, encodeHist, type Histogram, initHistograms, type Recorder, recorder, recordUs } from "./histogram.js";
import type { FromWorker, ToWorker, TransportPart, WorkerConfig, WorkerResult, WorkerTick, WorkerUser } from "./messages.js";
import { deviceTransport } from "./options.js";
import { OpenSchedule } from "./schedule.js";
import type { DeviceTransport } from "./types.js";

const cfg = workerData as WorkerConfig;
const o = cfg.options;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

await initHistograms();
const createBenchClient: BenchClientFactory =
  o.clientModule === undefined ? chskBenchClient : ((await import(o.clientModule)) as { createBenchClient: BenchClientFactory }).createBenchClient;
const packer = packerByName(o.packer);
const PUSH_ID = "bench/push";
const BROADCAST = o.pushEvent === "demo/broadcast";
/** Tells this worker's pushes from every other worker's (broadcasts reach everyone). */
const SOURCE = (Math.random() * 0x7fffffff) | 0;

/** Wall clock in µs with sub-ms resolution; threads of one process agree on it. */
// Epoch µs, comparable across threads (push stamps). `timeOrigin` is a getter into C++ on every read: read it once.
const TIME_ORIGIN = performance.timeOrigin;
const nowUs = () => (TIME_ORIGIN + performance.now()) * 1000;

// ---------------------------------------------------------------------------
// Counting: the window's totals, this second's, and what the wire cost.

let phase: WorkerTick["phase"] = "ramp";
let running = false;
let measuring = false;
let windowStart = 0;
let elu0 = performance.eventLoopUtilization();

const win = { sent: 0, received: 0, errors: 0, timeouts: 0, bytesSent: 0, bytesReceived: 0, httpRequests: 0 };
const sec = { sent: 0, received: 0, errors: 0, timeouts: 0, handshakes: 0 };
const errorCodes: Record<string, number> = {};
let totalSent = 0;
let boundHit = false;

/** The window's latencies of every transport: built at the end from `byTransport`, never recorded into directly (one WASM call less per reply). */
const latency = createHistogram();
/** The tick's histogram: built once a second from the two below. */
const secHist = createHistogram();
/**
 * Each reply is recorded once (a WASM call per record is a visible share
 * of the generator's CPU): into its transport's window part if it counts
 * for the window, else into `secOther`. Once a second both go into the
 * tick's histogram and the window parts into the window's histograms.
 */
const secOther = createHistogram();
const secIn: Record<DeviceTransport, Histogram> = { ws: createHistogram(), ajax: createHistogram() };
const sendLag = createHistogram();
const byTransport: Record<DeviceTransport, { devices: number; received: number; hist: Histogram }> = {
  ws: { devices: 0, received: 0, hist: createHistogram() },
  ajax: { devices: 0, received: 0, hist: createHistogram() },
};

/** `inWindow`: the request went out in the measured window (its reply may come during the drain). */
const recordOther = recorder(secOther);
const recordIn: Record<DeviceTransport, Recorder> = { ws: recorder(secIn.ws), ajax: recorder(secIn.ajax) };
function recordLatency(d: Device, us: number, inWindow = measuring): void {
  if (!inWindow) return recordOther(us);
  byTransport[d.transport].received++;
  recordIn[d.transport](us);
}

function countError(e: ChskError | Error | unknown, inWindow: boolean): void {
  const code = isChskError(e) ? e.code : "ERROR";
  if (code === "CHSK_ERR_TIMEOUT") {
    sec.timeouts++;
    if (inWindow) win.timeouts++;
  } else {
    sec.errors++;
    if (inWindow) win.errors++;
  }
  if (inWindow) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
}

/** One more message may go out: false once this worker's share of `--max-messages` is spent. */
function maySend(): boolean {
  if (totalSent >= cfg.maxMessages) {
    boundHit = true;
    return false;
  }
  totalSent++;
  sec.sent++;
  if (measuring) win.sent++;
  return true;
}

// ---------------------------------------------------------------------------
// Devices

interface UserState extends WorkerUser {
  session?: UserSession;
  devices: Device[];
  /** The uid the server gave this user's devices (push targets it). */
  uid?: unknown;
}

interface Device {
  user: UserState;
  index: number;
  transport: DeviceTransport;
  client?: BenchClient;
  open: boolean;
  everOpened: boolean;
  /** When the pending connect (or reconnect after a drop) began, µs. */
  connectStart: number;
  /** Reconnect storm: waiting for this device to come back. */
  awaitingReturn: boolean;
  /** The bench closed this connection itself (a drop, a churn reconnect): not a failure. */
  closing: boolean;
  /** Closed model: request loops running on this device. */
  loops: number;
  /** Push: the highest stamp seen (a lower one after it is a reorder). */
  lastSeq: number;
}

const users: UserState[] = cfg.users.map((u) => ({ ...u, devices: [] }));
const devices: Device[] = [];
for (const u of users) {
  for (let d = 0; d < o.devices; d++) {
    const transport = deviceTransport(o.transport, o.ajaxShare, u.index * o.devices + d);
    byTransport[transport].devices++;
    const dev: Device = { user: u, index: d, transport, open: false, everOpened: false, connectStart: 0, awaitingReturn: false, closing: false, loops: 0, lastSeq: -1 };
    u.devices.push(dev);
    devices.push(dev);
  }
}
let connectedNow = 0;

const baseFetch = nodeFetch();
const countingFetch = ((input: string | URL | Request, init?: RequestInit) => {
  if (measuring) win.httpRequests++;
  return baseFetch(input, init);
}) as typeof fetch;

// Connect failures by cause, and the connect storm's numbers.
const failures: Record<string, number> = {};
let attempts = 0;
const handshakeHist = createHistogram();
const reconnectHist = createHistogram();
let dropAt = 0;
let dropDevices = 0;
let back = 0;

function failure(cause: string): void {
  failures[cause] = (failures[cause] ?? 0) + 1;
  sec.errors++;
}

function onTap(d: Device, ev: ClientTapEvent): void {
  switch (ev.type) {
    case "conn:close":
      if (d.closing) d.closing = false;
      else if (!d.open) failure(ev.code !== undefined ? `close-${ev.code}` : `close-${ev.reason}`);
      break;
    case "error":
      if (!d.open && ev.error.status !== undefined) failure(`http-${ev.error.status}`);
      else if (!d.open && ev.error.code !== "CHSK_ERR_CLOSED") failure(ev.error.code);
      break;
  }
}

function onOpen(d: Device, uid: unknown): void {
  const now = nowUs();
  if (!d.open) {
    d.open = true;
    connectedNow++;
  }
  sec.handshakes++;
  const us = now - d.connectStart;
  if (d.user.uid === undefined) d.user.uid = uid;
  if (!d.everOpened) {
    d.everOpened = true;
    recordUs(handshakeHist, us);
    // recordLatency files it in the per-second histogram too (and, measuring, in the window's).
    if (d.user.role === "connect") recordLatency(d, us);
  } else if (d.awaitingReturn) {
    d.awaitingReturn = false;
    back++;
    recordUs(reconnectHist, now - dropAt);
    recordUs(secOther, now - dropAt);
  } else if (d.user.role === "connect") {
    // Mixed churn: a deliberate reconnect's handshake.
    recordLatency(d, us);
  }
  if (running && d.user.role === "echo" && o.rate === undefined) startLoops(d);
}

function onClosed(d: Device): void {
  if (d.open) {
    d.open = false;
    connectedNow--;
    d.connectStart = nowUs();
  }
}

function makeClient(d: Device): BenchClient {
  const auth = deviceAuth(d.user.session!, o.auth, d.user.name, d.index);
  const client = createBenchClient({
    url: o.url,
    type: d.transport,
    packer,
    csrfToken: auth.csrfToken,
    headers: auth.headers,
    params: auth.params,
    fetch: countingFetch,
    autoConnect: false,
  });
  // Connections and errors only: frames are counted by client.traffic(), which builds no event per frame.
  client.tap((ev) => onTap(d, ev), { frames: false });
  client.on("handshake", (info) => onOpen(d, info.uid));
  client.on("state", (ch) => {
    if (ch.closed) onClosed(d);
  });
  client.on("recv", (ev) => {
    if (ev[0] === PUSH_ID) onPush(d, ev[1]);
  });
  return client;
}

function connectDevice(d: Device): void {
  d.client ??= makeClient(d);
  d.connectStart = nowUs();
  attempts++;
  if (d.transport === "ws" && measuring) win.httpRequests++;
  d.client.connect();
}

// ---------------------------------------------------------------------------
// Echo: closed model (N in flight per device) or open model (a fixed total
// rate; latency from the intended send time, wrk2-style, so a stalled server
// shows up as latency instead of as fewer requests).

const field = (data: unknown, name: string): unknown => {
  if (data instanceof Map) return data.has(kw(name)) ? data.get(kw(name)) : data.get(name);
  if (data !== null && typeof data === "object" && !Array.isArray(data)) return (data as Record<string, unknown>)[name];
  return undefined;
};
/** `chsk serve` answers `x`; Sente's example project answers `{:echo x}`. */
const echoes = (reply: unknown, n: number) => reply === n || field(reply, "echo") === n;

let echoSeq = 0;
let pending = 0;

/** Counts one echo's outcome and records its latency; returns the time it was handled, µs. */
function settleEcho(d: Device, n: number, startUs: number, inWindow: boolean, err: unknown, reply: unknown): number {
  pending--;
  const now = nowUs();
  if (err !== null) countError(err, inWindow);
  else if (!echoes(reply, n)) countError(new Error("reply does not echo the request"), inWindow);
  else {
    sec.received++;
    if (inWindow) win.received++;
    recordLatency(d, now - startUs, inWindow);
  }
  return now;
}

/** Open model: one request, sent at its intended time `startUs` (or as soon after as the loop gets to it). */
function echoOnce(d: Device, startUs: number): void {
  if (!maySendOrStop()) return;
  const n = echoSeq++;
  const inWindow = measuring;
  pending++;
  d.client!.send([o.echoEvent, n], o.timeoutMs, (err, reply) => void settleEcho(d, n, startUs, inWindow, err, reply));
}

function maySendOrStop(): boolean {
  return running && maySend();
}

/**
 * Closed model: one of a device's `--in-flight` request loops. Its reply
 * callback is made once, not per request (a busy generator sends hundreds
 * of thousands a second), and the next request starts when the reply has
 * been handled, with the same clock reading.
 */
class EchoLoop {
  #n = 0;
  #startUs = 0;
  #inWindow = false;
  readonly #d: Device;
  /** The request's event, refilled per request: the client encodes it before `send` returns. */
  readonly #event: [string, number] = [o.echoEvent, 0];
  readonly #onReply = (err: unknown, reply: unknown) => this.#next(settleEcho(this.#d, this.#n, this.#startUs, this.#inWindow, err, reply));

  constructor(d: Device) {
    this.#d = d;
    this.#next(nowUs());
  }

  #next(now: number): void {
    const d = this.#d;
    if (!running || !d.open) {
      d.loops--;
      return;
    }
    if (!maySendOrStop()) return;
    this.#n = this.#event[1] = echoSeq++;
    this.#startUs = now;
    this.#inWindow = measuring;
    pending++;
    d.client!.send(this.#event, o.timeoutMs, this.#onReply);
  }
}

function startLoops(d: Device): void {
  const want = o.inFlight ?? 1;
  while (d.loops < want) {
    d.loops++;
    new EchoLoop(d);
  }
}

/** Open model: pick the k-th send's device round-robin over the echo devices that are open. */
let rr = 0;
function nextOpen(pool: Device[]): Device | undefined {
  for (let i = 0; i < pool.length; i++) {
    const d = pool[rr++ % pool.length]!;
    if (d.open) return d;
  }
  return undefined;
}

let ticker: ReturnType<typeof setTimeout> | undefined;
function openLoop(rate: number, fire: (intendedUs: number) => void): void {
  // Workers start at random offsets within one interval, so their schedules interleave.
  const schedule = new OpenSchedule(rate, nowUs() + (Math.random() * 1e6) / rate);
  const tick = () => {
    if (!running) return;
    const now = nowUs();
    schedule.takeDue(
      now,
      (intended) => {
        if (measuring) recordUs(sendLag, now - intended);
        fire(intended);
      },
      () => !running,
    );
    ticker = setTimeout(tick, 1);
  };
  tick();
}

const echoDevices = devices.filter((d) => d.user.role === "echo");

function startEcho(): void {
  if (echoDevices.length === 0) return;
  if (o.rate !== undefined) {
    if (cfg.rate <= 0) return;
    openLoop(cfg.rate, (intended) => {
      const d = nextOpen(echoDevices);
      if (d === undefined) {
        if (maySendOrStop()) countError(new Error("no open device"), measuring);
        return;
      }
      echoOnce(d, intended);
    });
  } else {
    for (const d of echoDevices) if (d.open) startLoops(d);
  }
}

// ---------------------------------------------------------------------------
// Push: each push is stamped [source seq intended-µs] and goes to one user
// (`demo/push`, every device of theirs) or to everyone (`demo/broadcast`);
// this worker accounts for its own pushes on its own devices.

interface PushRec {
  t: number;
  expected: number;
  got: number;
  inWindow: number;
  first: number;
  last: number;
  measured: boolean;
  /** Devices (index in `devices`) that got it, for duplicates. */
  by: Set<Device>;
}
const pushes = new Map<number, PushRec>();
let pushSeq = 0;
const pushUsers = users.filter((u) => u.role === "push");
const pushDevices = devices.filter((d) => d.user.role === "push");
let pushRr = 0;
const p = { duplicates: 0, reorders: 0 };

function pushOnce(intended: number): void {
  let target: UserState | undefined;
  for (let i = 0; i < pushUsers.length && target === undefined; i++) {
    const u = pushUsers[pushRr++ % pushUsers.length]!;
    if (u.devices.some((d) => d.open)) target = u;
  }
  if (!maySendOrStop()) return;
  const inWindow = measuring;
  if (target === undefined) {
    countError(new Error("no open device"), inWindow);
    return;
  }
  const sender = target.devices.find((d) => d.open)!;
  const seq = pushSeq++;
  const expected = BROADCAST ? pushDevices.filter((d) => d.open).length : target.devices.filter((d) => d.open).length;
  pushes.set(seq, { t: intended, expected, got: 0, inWindow: 0, first: 0, last: 0, measured: inWindow, by: new Set() });
  const stamp = [kw(PUSH_ID), [SOURCE, seq, Math.round(intended)]];
  const data = BROADCAST ? stamp : new Map<unknown, unknown>([[kw("uid"), target.uid], [kw("event"), stamp]]);
  pending++;
  sender.client!.send([o.pushEvent, data], o.timeoutMs, (err, reply) => {
    pending--;
    if (err !== null) countError(err, inWindow);
    else if (field(reply, "error") !== undefined) countError(new Error(String(field(reply, "error"))), inWindow);
  });
}

function onPush(d: Device, data: unknown): void {
  if (!Array.isArray(data) || data[0] !== SOURCE) return;
  const seq = Number(data[1]);
  const rec = pushes.get(seq);
  if (rec === undefined) return;
  const now = nowUs();
  if (rec.by.has(d)) {
    if (rec.measured) p.duplicates++;
    return;
  }
  rec.by.add(d);
  if (seq < d.lastSeq && rec.measured) p.reorders++;
  if (seq > d.lastSeq) d.lastSeq = seq;
  rec.got++;
  if (rec.got === 1) rec.first = now;
  rec.last = now;
  const us = now - rec.t;
  if (us <= o.windowMs * 1000) rec.inWindow++;
  sec.received++;
  if (rec.measured) {
    win.received++;
    recordLatency(d, us, true);
  } else recordUs(secOther, us);
}

function startPush(): void {
  if (pushUsers.length === 0) return;
  const missing = pushUsers.find((u) => u.uid === null);
  if (missing !== undefined) {
    post({
      type: "fatal",
      code: "CHSK_ERR_BENCH_OPTIONS",
      message: `push needs users the server knows, but ${missing.name}'s devices connected anonymously: log them in (--login-path /login, --cookie/--header templates or --setup)`,
    });
    return;
  }
  openLoop(cfg.rate > 0 ? cfg.rate : Math.max(1, pushUsers.length), pushOnce);
}

function pushResult(): NonNullable<WorkerResult["push"]> {
  const skew = createHistogram();
  const r = { pushes: 0, expected: 0, delivered: 0, deliveredInWindow: 0, completePushes: 0, lost: 0, duplicates: p.duplicates, reorders: p.reorders, skew: "" };
  for (const rec of pushes.values()) {
    if (!rec.measured) continue;
    r.pushes++;
    r.expected += rec.expected;
    r.delivered += Math.min(rec.got, rec.expected);
    r.deliveredInWindow += Math.min(rec.inWindow, rec.expected);
    if (rec.inWindow >= rec.expected) r.completePushes++;
    r.lost += Math.max(0, rec.expected - rec.got);
    if (rec.got >= 2) recordUs(skew, rec.last - rec.first);
  }
  r.skew = encodeHist(skew);
  skew.destroy();
  return r;
}

// ---------------------------------------------------------------------------
// Mixed: connect-role devices reconnect every `churnMs`, each handshake a sample.

let churnTimer: ReturnType<typeof setInterval> | undefined;
function startChurn(): void {
  const churners = devices.filter((d) => d.user.role === "connect");
  if (o.scenario !== "mixed" || churners.length === 0) return;
  let i = 0;
  const perTick = Math.max(1, Math.round(churners.length / (o.churnMs / 100)));
  churnTimer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      const d = churners[i++ % churners.length]!;
      if (!d.open || !maySendOrStop()) continue;
      d.connectStart = nowUs();
      attempts++;
      d.closing = true;
      d.client!.reconnect();
    }
  }, 100);
}

// ---------------------------------------------------------------------------
// One tick per wall-clock second.

let tickTimer: ReturnType<typeof setTimeout> | undefined;
let eluTick = performance.eventLoopUtilization();
/** Reports the second that began at `t` (the last one may be partial: the run's end). */
function flushSecond(t: number): void {
  const e = performance.eventLoopUtilization(eluTick);
  eluTick = performance.eventLoopUtilization();
  secHist.reset();
  secHist.add(secOther);
  secOther.reset();
  for (const tr of ["ws", "ajax"] as const) {
    const h = secIn[tr];
    if (h.totalCount === 0) continue;
    secHist.add(h);
    byTransport[tr].hist.add(h);
    h.reset();
  }
  post({ type: "tick", tick: { t, phase, ...sec, connected: connectedNow, histogram: encodeHist(secHist), elu: e.utilization } });
  sec.sent = sec.received = sec.errors = sec.timeouts = sec.handshakes = 0;
}
function scheduleTick(): void {
  tickTimer = setTimeout(() => {
    flushSecond(Math.floor(Date.now() / 1000) * 1000 - 1000);
    scheduleTick();
  }, 1000 - (Date.now() % 1000) + 1);
}

// ---------------------------------------------------------------------------

async function prepare(): Promise<void> {
  const setup: SetupFn | undefined = o.auth.setupModule !== undefined ? await loadSetup(o.auth.setupModule) : undefined;
  let failed = 0;
  let firstError: { code: string; message: string } | undefined;
  let next = 0;
  const one = async () => {
    while (next < users.length) {
      const u = users[next++]!;
      try {
        u.session = await openUserSession({ url: o.url, auth: o.auth, user: u.name, userIndex: u.index, setup, fetch: countingFetch, timeoutMs: o.timeoutMs });
      } catch (e) {
        failed++;
        firstError ??= { code: isChskError(e) ? e.code : "ERROR", message: e instanceof Error ? e.message : String(e) };
        // A user whose login failed still gets devices, without a session: the server decides.
        u.session = { csrfToken: null, headers: {}, params: {} };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, users.length) }, one));
  post({ type: "prepared", users: users.length, failed, ...(firstError ? { firstError } : {}) });
}

async function connectAll(at: number, rampMs: number): Promise<void> {
  scheduleTick();
  const wait = at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const started = Date.now();
  const n = devices.length;
  if (rampMs <= 0) {
    // A storm, bounded to a few hundred handshakes in flight per worker so
    // the generator measures the server, not its own accept queue.
    let i = 0;
    await new Promise<void>((resolve) => {
      const step = () => {
        while (i < n && attempts - connectedNow - Object.values(failures).reduce((a, b) => a + b, 0) < 256) connectDevice(devices[i++]!);
        if (i >= n) resolve();
        else setTimeout(step, 1);
      };
      step();
    });
  } else {
    for (let i = 0; i < n; i++) {
      const due = started + (rampMs * i) / n - Date.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      connectDevice(devices[i]!);
    }
  }
  // Handshakes in flight settle, or time out, by the main thread's bound.
  const deadline = Date.now() + Math.max(10_000, o.timeoutMs);
  while (connectedNow < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  post({ type: "connected", devices: n, connected: connectedNow, failures: { ...failures } });
}

function windowLatency(): Histogram {
  latency.reset();
  latency.add(byTransport.ws.hist);
  latency.add(byTransport.ajax.hist);
  return latency;
}

function part(t: (typeof byTransport)[DeviceTransport]): TransportPart {
  return { devices: t.devices, received: t.received, histogram: encodeHist(t.hist) };
}

/** Bytes every device's client has sent and received so far (`client.traffic()`). */
function trafficNow(): { out: number; in: number } {
  let out = 0;
  let inn = 0;
  for (const d of devices) {
    if (d.client === undefined) continue;
    const t = d.client.traffic();
    out += t.bytesOut;
    inn += t.bytesIn;
  }
  return { out, in: inn };
}
let traffic0 = { out: 0, in: 0 };

async function stop(drainMs: number): Promise<void> {
  const stopAt = performance.now();
  const windowMs = stopAt - windowStart;
  const eluWin = performance.eventLoopUtilization(elu0);
  if (measuring) {
    const t = trafficNow();
    win.bytesSent = t.out - traffic0.out;
    win.bytesReceived = t.in - traffic0.in;
  }
  measuring = false;
  running = false;
  phase = "drain";
  if (ticker) clearTimeout(ticker);
  if (churnTimer) clearInterval(churnTimer);
  // Replies to requests of the window still count (their latency is real);
  // pushes get `--window` to arrive.
  const until = performance.now() + drainMs;
  const inWindowAtStop = () => win.sent - win.received - win.errors - win.timeouts;
  while (performance.now() < until && (pending > 0 || o.scenario === "push")) {
    if (o.scenario !== "push" && inWindowAtStop() <= 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (tickTimer) clearTimeout(tickTimer);
  flushSecond(Math.floor(Date.now() / 1000) * 1000);
  const isEcho = o.scenario === "echo" || o.scenario === "mixed";
  const result: WorkerResult = {
    sent: win.sent,
    received: win.received,
    errors: win.errors,
    timeouts: win.timeouts,
    inFlightAtStop: isEcho ? Math.max(0, inWindowAtStop()) : 0,
    errorCodes,
    latency: encodeHist(windowLatency()),
    byTransport: { ...(byTransport.ws.devices > 0 ? { ws: part(byTransport.ws) } : {}), ...(byTransport.ajax.devices > 0 ? { ajax: part(byTransport.ajax) } : {}) },
    ...(o.rate !== undefined ? { sendLag: encodeHist(sendLag) } : {}),
    windowMs,
    elu: eluWin.utilization,
    bytesSent: win.bytesSent,
    bytesReceived: win.bytesReceived,
    httpRequests: win.httpRequests,
    ...(pushUsers.length > 0 ? { push: pushResult() } : {}),
    connect: {
      attempts,
      connected: connectedNow,
      failures: { ...failures },
      handshake: encodeHist(handshakeHist),
      ...(dropAt > 0 ? { reconnect: { devices: dropDevices, back, histogram: encodeHist(reconnectHist) } } : {}),
    },
    boundHit,
  };
  post({ type: "result", result });
}

async function close(): Promise<void> {
  running = false;
  if (tickTimer) clearTimeout(tickTimer);
  if (ticker) clearTimeout(ticker);
  if (churnTimer) clearInterval(churnTimer);
  await Promise.allSettled(devices.map((d) => d.client?.close()));
  for (const h of [latency, secHist, secOther, secIn.ws, secIn.ajax, sendLag, handshakeHist, reconnectHist, byTransport.ws.hist, byTransport.ajax.hist]) h.destroy();
  post({ type: "closed" });
  port.close();
}

const fail = (e: unknown) => post({ type: "fatal", code: isChskError(e) ? e.code : "ERROR", message: e instanceof Error ? e.message : String(e) });

port.on("message", (m: ToWorker) => {
  switch (m.cmd) {
    case "prepare":
      void prepare().catch(fail);
      break;
    case "connect":
      phase = "ramp";
      void connectAll(m.at, m.rampMs).catch(fail);
      break;
    case "load":
      phase = "warmup";
      running = true;
      startEcho();
      startPush();
      startChurn();
      break;
    case "measure":
      for (const h of [sendLag, secIn.ws, secIn.ajax, byTransport.ws.hist, byTransport.ajax.hist]) h.reset();
      byTransport.ws.received = byTransport.ajax.received = 0;
      for (const k of Object.keys(win) as (keyof typeof win)[]) win[k] = 0;
      for (const k of Object.keys(errorCodes)) delete errorCodes[k];
      p.duplicates = p.reorders = 0;
      windowStart = performance.now();
      elu0 = performance.eventLoopUtilization();
      traffic0 = trafficNow();
      measuring = true;
      phase = "measure";
      break;
    case "drop":
      dropAt = nowUs();
      dropDevices = devices.filter((d) => d.open).length;
      back = 0;
      reconnectHist.reset();
      for (const d of devices) {
        if (!d.open) continue;
        d.awaitingReturn = true;
        d.closing = true;
        if (m.how === "client-drop") d.client!.breakConnection();
      }
      break;
    case "stop":
      void stop(m.drainMs).catch(fail);
      break;
    case "close":
      void close().catch(fail);
      break;
  }
});

