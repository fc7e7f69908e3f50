/**
 * What `chsk bench` is asked to do and what it reports: plain data, so a
 * report survives JSON (`--json`, `chsk bench merge`) unchanged.
 *
 * Latencies are recorded in microseconds (HdrHistogram, 3 significant
 * digits) and reported in milliseconds. Histograms travel as HdrHistogram's
 * compressed base64 (`encodeIntoCompressedBase64`), the form other
 * HdrHistogram tools read.
 */

export type Scenario = "echo" | "push" | "connect" | "mixed";
export type TransportChoice = "ws" | "ajax" | "mix";
export type DeviceTransport = "ws" | "ajax";

/** The percentiles every latency is reported with, in ms. */
export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** Values recorded. */
  count: number;
}

/** One second of a run, merged over workers (and over segments by `merge`). */
export interface IntervalStats {
  /** Wall-clock start of the second, epoch ms (segments line up on it). */
  t: number;
  /** Seconds since the run's first connect (for plots). */
  elapsedS: number;
  phase: "ramp" | "warmup" | "measure" | "drain";
  sent: number;
  received: number;
  errors: number;
  timeouts: number;
  /** Devices with an open connection at the end of the second. */
  connected: number;
  /** Handshakes completed in the second (connect storm). */
  handshakes: number;
  /** This second's latency histogram (µs), encoded; p50/p99/max in ms for quick reading. */
  histogram: string;
  p50: number;
  p99: number;
  max: number;
}

export interface GeneratorCpu {
  /** Process CPU time (user + system) / wall time over the measured window: 1.0 = one core. */
  processShare: number;
  /** Each worker's event-loop utilisation over the window (0..1). */
  workerElu: number[];
  /** A worker's loop busy ≥ 90 %, or open-model sends late by more than 10 ms at p99. */
  saturated: boolean;
  /** Why `saturated` is set, for the reader. */
  reason?: string;
  /** Open model: how late the generator's own sends were (actual − intended). */
  sendLagMs?: LatencyMs;
}

export interface PushStats {
  /** Pushes the bench asked the server for (measured window). */
  pushes: number;
  /** Device deliveries expected: for each push, the target user's connected devices. */
  expected: number;
  /** Deliveries decoded and matched by their stamp. */
  delivered: number;
  /** Deliveries that arrived within `windowMs` of the push. */
  deliveredInWindow: number;
  windowMs: number;
  /** Share of (push, device) pairs delivered within the window: deliveredInWindow / expected. */
  completeness: number;
  /** Share of pushes that reached every expected device within the window. */
  completePushes: number;
  /** Last minus first arrival over a push's devices, ms. */
  skewMs: LatencyMs;
  lost: number;
  duplicates: number;
  reorders: number;
}

export interface ConnectStats {
  attempts: number;
  connected: number;
  /** Failures by cause: `http-403`, `close-1006`, `timeout`, `CHSK_ERR_…`. */
  failures: Record<string, number>;
  handshakeMs: LatencyMs;
  /** `--reconnect-storm`: time from the drop until 50 / 95 / 100 % were back. */
  reconnect?: {
    how: "server-restart" | "client-drop";
    devices: number;
    back: number;
    ms50: number | null;
    ms95: number | null;
    ms100: number | null;
    histogram: string;
  };
}

export interface WireCost {
  /** Payload bytes the devices sent and received (frames and HTTP bodies). */
  bytesSent: number;
  bytesReceived: number;
  /** HTTP requests the devices made (Ajax polls and posts, WS upgrades, logins). */
  httpRequests: number;
  /** Per event (a reply or a delivery counted in `received`). */
  bytesPerEvent: number;
  httpRequestsPerEvent: number;
}

/** One scenario over one transport choice. */
export interface RunResult {
  transport: TransportChoice;
  scenario: Scenario;
  users: number;
  devices: number;
  /** Length of the measured window, s. */
  durationS: number;
  /** Messages sent in the measured window (echo requests, push requests, connect attempts). */
  sent: number;
  /** Replies (echo), deliveries (push), handshakes (connect). */
  received: number;
  errors: number;
  timeouts: number;
  lost: number;
  /** Still unanswered when the window closed: sent = received + errors + timeouts + inFlightAtStop (echo). */
  inFlightAtStop: number;
  /** `received` per second of the measured window. */
  throughput: number;
  latencyMs: LatencyMs;
  /** Errors by stable code. */
  errorCodes: Record<string, number>;
  generatorCpu: GeneratorCpu;
  wire: WireCost;
  push?: PushStats;
  connect?: ConnectStats;
  /** Per-transport latency when devices used both (mix), for overlaid curves. */
  byTransport: Partial<Record<DeviceTransport, { devices: number; received: number; latencyMs: LatencyMs; histogram: string }>>;
  /** Encoded histograms (µs): `latency` is the whole measured window. */
  histograms: { latency: string; skew?: string; handshake?: string };
  intervals: IntervalStats[];
  /** Wall-clock edges of the measured window, epoch ms. */
  windowStart: number;
  windowEnd: number;
}

export interface BenchParams {
  url: string;
  scenario: Scenario;
  users: number;
  devices: number;
  transport: TransportChoice;
  ajaxShare: number;
  inFlight?: number;
  rate?: number;
  rampMs: number;
  warmupMs: number;
  durationMs: number;
  windowMs: number;
  workers: number;
  packer: string;
  compare: boolean;
  segment?: { index: number; count: number };
  startAt?: string;
  reconnectStorm?: boolean;
  mix?: Record<"echo" | "push" | "connect", number>;
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  chsk: string;
}

/** The `--json` file, and `chsk bench merge`'s input and output. */
export interface BenchReport {
  format: "chsk-bench/1";
  startedAt: string;
  params: BenchParams;
  machine: MachineInfo[];
  runs: RunResult[];
  /** Set on a merged report: the files it came from. */
  mergedFrom?: string[];
}
