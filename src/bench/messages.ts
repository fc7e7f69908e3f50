/** Typed messages between `chsk bench`'s main thread and its load workers. */
import type { BenchOptions } from "./options.js";
import type { PushCounts } from "./push-stats.js";
import type { DeviceTransport, IntervalStats } from "./types.js";

export type Role = "echo" | "push" | "connect";

export interface WorkerUser {
  /** Global user index (over every segment). */
  index: number;
  name: string;
  role: Role;
}

export interface WorkerConfig {
  worker: number;
  options: BenchOptions;
  users: WorkerUser[];
  /** This worker's share of `--rate` (echo requests/s or pushes/s). */
  rate: number;
  /** This worker's share of `--max-messages`. */
  maxMessages: number;
}

export type ToWorker =
  /** Open every user's session (logins): not part of any measurement. */
  | { cmd: "prepare" }
  /** Connect every device, spread evenly over `rampMs` from `at` (epoch ms). */
  | { cmd: "connect"; at: number; rampMs: number }
  /** Start the load (warm-up). */
  | { cmd: "load" }
  /** The measured window starts now: counters and histograms reset. */
  | { cmd: "measure" }
  /** Drop every connection at once (client-side) and time the way back. */
  | { cmd: "drop"; how: "client-drop" | "server-restart" }
  /** The window is over: stop sending, wait up to `drainMs` for answers, report. */
  | { cmd: "stop"; drainMs: number }
  | { cmd: "close" };

/** One second of one worker; the main thread merges seconds of equal `t`. */
export type WorkerTick = Omit<IntervalStats, "elapsedS" | "p50" | "p99" | "max"> & { elu: number };

export interface TransportPart {
  devices: number;
  received: number;
  histogram: string;
}

export interface WorkerResult {
  sent: number;
  received: number;
  errors: number;
  timeouts: number;
  inFlightAtStop: number;
  errorCodes: Record<string, number>;
  latency: string;
  byTransport: Partial<Record<DeviceTransport, TransportPart>>;
  sendLag?: string;
  windowMs: number;
  elu: number;
  bytesSent: number;
  bytesReceived: number;
  httpRequests: number;
  /** Push counts and the encoded skew histogram (µs); push-stats.ts turns the workers' into the report's figures. */
  push?: PushCounts & { skew: string };
  connect?: {
    attempts: number;
    connected: number;
    failures: Record<string, number>;
    handshake: string;
    reconnect?: { devices: number; back: number; histogram: string };
  };
  /** The messages bound stopped this worker's sends early. */
  boundHit: boolean;
}

export type FromWorker =
  | { type: "prepared"; users: number; failed: number; firstError?: { code: string; message: string } }
  | { type: "connected"; devices: number; connected: number; failures: Record<string, number> }
  | { type: "tick"; tick: WorkerTick }
  | { type: "result"; result: WorkerResult }
  | { type: "fatal"; code: string; message: string }
  | { type: "closed" };
