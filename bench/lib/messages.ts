/** Typed messages between the bench main thread and its load workers. */
import type { DriverName } from "../drivers/types.js";

export type LoadModel = "closed" | "open" | "idle";

export interface WorkerConfig {
  driver: DriverName;
  port: number;
  /** This worker's share of the connections. */
  connections: number;
  model: LoadModel;
  /** Closed model: requests kept in flight per connection. */
  inflight: number;
  /** Open model: this worker's request rate, req/s, spread over its connections. */
  rate: number;
  /** Connections opened at once. */
  connectConcurrency: number;
}

export type ToWorker =
  /** Open `count` more connections (the memory suite grows in steps). */
  | { cmd: "connect"; count: number }
  /** Begin sending (warm-up). */
  | { cmd: "start" }
  /** Reset counters and histograms: the measured window starts now. */
  | { cmd: "measure" }
  /** End of the measured window: stop sending and report. */
  | { cmd: "stop" }
  /** Close every connection and exit. */
  | { cmd: "close" };

export interface WorkerResult {
  /** Replies received in the measured window. */
  replies: number;
  /** Replies that failed validation or requests that failed. */
  errors: number;
  /** Open model: requests still unanswered at stop (recorded in `hist` as stop − intended). */
  unanswered: number;
  /** Open model: requests the scheduler sent in the window. */
  sent: number;
  windowMs: number;
  /** Latency histogram (µs), compressed base64. */
  hist: string;
  /** Open model: actual − intended send time (µs), compressed base64. */
  sendLagHist: string;
  firstError?: string;
}

export type FromWorker =
  | { type: "connected"; total: number; failed: number; ms: number; firstError?: string }
  | { type: "result"; result: WorkerResult }
  | { type: "error"; message: string }
  | { type: "closed" };
