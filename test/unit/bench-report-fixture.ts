/**
 * Synthetic `chsk bench` reports made of real HdrHistograms: every value is
 * recorded with the bench's own `recordUs`, per second and for the measured
 * window, so percentiles, merges and logs are computed from real data.
 * Deterministic (seeded), so a failure reproduces. Call `initHistograms()`
 * first.
 */
import { createHistogram, encodeHist, latencyMs, recordUs } from "../../src/bench/histogram.js";
import type { BenchParams, BenchReport, DeviceTransport, IntervalStats, MachineInfo, RunResult, Scenario, TransportChoice } from "../../src/bench/types.js";

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A latency in µs: log-normal around `medianUs`, with a rare slow tail. */
export function latencySampler(seed: number, medianUs: number, tailEvery = 200): () => number {
  const r = rng(seed);
  return () => {
    const u = Math.max(1e-9, r());
    const v = r();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    const x = medianUs * Math.exp(0.45 * z);
    return r() < 1 / tailEvery ? x * (4 + 8 * r()) : x;
  };
}

export interface RunSpec {
  scenario: Scenario;
  transport: TransportChoice;
  users: number;
  devices: number;
  /** Epoch ms of the first second (a whole second). */
  t0: number;
  rampS?: number;
  warmupS?: number;
  measureS?: number;
  drainS?: number;
  /** Events per second at full load. */
  perSecond: number;
  /** Latency sampler (µs); for `mix`, `ajaxSampler` draws the Ajax devices' share. */
  sampler: () => number;
  ajaxSampler?: () => number;
  ajaxShare?: number;
  errorsPerSecond?: number;
  saturated?: boolean;
  bytesPerEvent?: number;
  httpPerEvent?: number;
}

export interface SyntheticRun {
  run: RunResult;
  /** Every value recorded in the measured window, µs. */
  values: number[];
}

export function syntheticRun(spec: RunSpec): SyntheticRun {
  const rampS = spec.rampS ?? 2;
  const warmupS = spec.warmupS ?? 2;
  const measureS = spec.measureS ?? 8;
  const drainS = spec.drainS ?? 1;
  const devices = spec.users * spec.devices;
  const ajaxShare = spec.transport === "ajax" ? 1 : spec.transport === "ws" ? 0 : (spec.ajaxShare ?? 0.3);
  const ajaxDevices = Math.round(devices * ajaxShare);
  const whole = createHistogram();
  const per: Record<DeviceTransport, ReturnType<typeof createHistogram>> = { ws: createHistogram(), ajax: createHistogram() };
  const perCount: Record<DeviceTransport, number> = { ws: 0, ajax: 0 };
  const skew = createHistogram();
  const handshake = createHistogram();
  const values: number[] = [];
  const intervals: IntervalStats[] = [];
  const totalS = rampS + warmupS + measureS + drainS;
  let sent = 0;
  let received = 0;
  let errors = 0;
  let handshakes = 0;
  for (let s = 0; s < totalS; s++) {
    const phase: IntervalStats["phase"] = s < rampS ? "ramp" : s < rampS + warmupS ? "warmup" : s < rampS + warmupS + measureS ? "measure" : "drain";
    const load = phase === "ramp" ? (s + 1) / (rampS + 1) : phase === "drain" ? 0.1 : 1;
    const connected = phase === "ramp" ? Math.round((devices * (s + 1)) / rampS) : devices;
    const n = Math.round(spec.perSecond * load);
    const h = createHistogram();
    for (let i = 0; i < n; i++) {
      const ajax = ajaxShare > 0 && (i % 100) / 100 < ajaxShare;
      const us = ajax && spec.ajaxSampler ? spec.ajaxSampler() : spec.sampler();
      recordUs(h, us);
      if (phase === "measure") {
        recordUs(whole, us);
        const t: DeviceTransport = ajax ? "ajax" : "ws";
        recordUs(per[t], us);
        perCount[t]++;
        values.push(us);
        if (spec.scenario === "push" && i % spec.devices === 0) recordUs(skew, us / 4);
      }
    }
    const newHandshakes = phase === "ramp" ? Math.round(devices / rampS) : 0;
    for (let i = 0; i < newHandshakes; i++) recordUs(handshake, spec.sampler() * 3);
    handshakes += newHandshakes;
    const errs = phase === "measure" ? (spec.errorsPerSecond ?? 0) : 0;
    if (phase === "measure") {
      sent += n + errs;
      received += n;
      errors += errs;
    }
    const l = latencyMs(h);
    intervals.push({
      t: spec.t0 + s * 1000,
      elapsedS: s,
      phase,
      sent: n + errs,
      received: n,
      errors: errs,
      timeouts: 0,
      connected,
      handshakes: newHandshakes,
      histogram: encodeHist(h),
      p50: l.p50,
      p99: l.p99,
      max: l.max,
    });
    h.destroy();
  }
  const windowStart = spec.t0 + (rampS + warmupS) * 1000;
  const windowEnd = windowStart + measureS * 1000;
  const bytes = (spec.bytesPerEvent ?? 80) * received;
  const http = (spec.httpPerEvent ?? 0) * received;
  const byTransport: RunResult["byTransport"] = {};
  for (const t of ["ws", "ajax"] as const) {
    if (perCount[t] === 0) continue;
    byTransport[t] = {
      devices: t === "ajax" ? ajaxDevices : devices - ajaxDevices,
      received: perCount[t],
      latencyMs: latencyMs(per[t]),
      histogram: encodeHist(per[t]),
    };
  }
  const run: RunResult = {
    transport: spec.transport,
    scenario: spec.scenario,
    users: spec.users,
    devices: spec.devices,
    durationS: measureS,
    sent,
    received,
    errors,
    timeouts: 0,
    lost: spec.scenario === "push" ? 3 : 0,
    inFlightAtStop: 0,
    throughput: received / measureS,
    latencyMs: latencyMs(whole),
    errorCodes: errors > 0 ? { CHSK_ERR_TIMEOUT: errors } : {},
    generatorCpu: {
      processShare: 0.42,
      workerElu: [0.31, 0.28],
      saturated: spec.saturated ?? false,
      ...(spec.saturated ? { reason: "load worker 1's event loop was busy 97% of the window (add --workers)" } : {}),
    },
    wire: {
      bytesSent: Math.round(bytes / 2),
      bytesReceived: Math.round(bytes / 2),
      httpRequests: Math.round(http),
      bytesPerEvent: received > 0 ? bytes / received : 0,
      httpRequestsPerEvent: received > 0 ? Math.round(http) / received : 0,
    },
    byTransport,
    histograms: { latency: encodeHist(whole), handshake: encodeHist(handshake) },
    intervals,
    windowStart,
    windowEnd,
  };
  if (spec.scenario === "push") {
    const expected = received + 3;
    run.push = {
      pushes: Math.round(received / spec.devices),
      expected,
      delivered: received,
      deliveredInWindow: received,
      windowMs: 1000,
      completeness: received / expected,
      completePushes: 0.998,
      skewMs: latencyMs(skew),
      lost: 3,
      duplicates: 0,
      reorders: 1,
    };
    run.histograms.skew = encodeHist(skew);
  }
  if (spec.scenario === "connect" || spec.scenario === "mixed") {
    run.connect = {
      attempts: handshakes + 2,
      connected: handshakes,
      failures: { "http-503": 2 },
      handshakeMs: latencyMs(handshake),
    };
  }
  for (const h of [whole, per.ws, per.ajax, skew, handshake]) h.destroy();
  return { run, values };
}

export const MACHINE: MachineInfo = {
  hostname: "bench-1",
  platform: "linux",
  arch: "x64",
  cpus: 8,
  cpuModel: "Test CPU @ 3.0GHz",
  memoryBytes: 16 * 1024 ** 3,
  node: "v20.19.0",
  chsk: "0.1.0",
};

export function params(over: Partial<BenchParams> = {}): BenchParams {
  return {
    url: "http://127.0.0.1:8080/chsk",
    scenario: "echo",
    users: 100,
    devices: 2,
    transport: "ws",
    ajaxShare: 0.3,
    inFlight: 1,
    rampMs: 2000,
    warmupMs: 2000,
    durationMs: 8000,
    windowMs: 1000,
    workers: 2,
    packer: "edn",
    compare: false,
    ...over,
  };
}

export function report(runs: RunResult[], over: Partial<BenchParams> = {}, extra: Partial<BenchReport> = {}): BenchReport {
  return {
    format: "chsk-bench/1",
    startedAt: new Date(Math.min(...runs.map((r) => r.intervals[0]?.t ?? Date.now()))).toISOString(),
    params: params(over),
    machine: [MACHINE],
    runs,
    ...extra,
  };
}

/** A `--compare` echo report (ws then ajax) plus a mixed-transport run: what the HTML test renders. */
export function compareReport(t0 = Date.UTC(2026, 0, 15, 12, 0, 0)): BenchReport {
  const ws = syntheticRun({ scenario: "echo", transport: "ws", users: 100, devices: 2, t0, perSecond: 4000, sampler: latencySampler(1, 900) });
  const ajax = syntheticRun({
    scenario: "echo",
    transport: "ajax",
    users: 100,
    devices: 2,
    t0: t0 + 15_000,
    perSecond: 1500,
    sampler: latencySampler(2, 6000),
    errorsPerSecond: 1,
    bytesPerEvent: 420,
    httpPerEvent: 1.02,
  });
  const mix = syntheticRun({
    scenario: "echo",
    transport: "mix",
    users: 100,
    devices: 2,
    t0: t0 + 30_000,
    perSecond: 3000,
    sampler: latencySampler(3, 1000),
    ajaxSampler: latencySampler(4, 6500),
    ajaxShare: 0.3,
  });
  return report([ws.run, ajax.run, mix.run], { compare: true });
}

/** A push run and a connect run with a reconnect storm: the report's optional sections. */
export function pushConnectReport(t0 = Date.UTC(2026, 0, 15, 13, 0, 0)): BenchReport {
  const push = syntheticRun({ scenario: "push", transport: "ws", users: 50, devices: 3, t0, perSecond: 600, sampler: latencySampler(5, 2000) });
  const connect = syntheticRun({ scenario: "connect", transport: "ajax", users: 50, devices: 3, t0: t0 + 20_000, perSecond: 60, sampler: latencySampler(6, 2500) });
  connect.run.connect!.reconnect = { how: "client-drop", devices: 150, back: 150, ms50: 6.2, ms95: 14.1, ms100: 60.3, histogram: connect.run.histograms.handshake! };
  return report([push.run, connect.run], { scenario: "push" });
}
