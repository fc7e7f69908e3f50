/**
 * What the engine tells the live progress display once a second, and the
 * display's small interface. Plain data: a snapshot is the whole state the
 * display needs (the display keeps only the throughput history for its
 * sparkline).
 */

/** Where a run is. `connect` / `reconnect`: devices coming up (a storm, or after a drop). */
export type ProgressPhase = "connect" | "ramp" | "warmup" | "measure" | "drain" | "reconnect";

export interface ProgressSnapshot {
  /** What is running, e.g. `echo · ws` or `push · mix`. */
  label: string;
  /** This run, 1-based, of `runs` (`--compare` runs 2). */
  run: number;
  runs: number;
  phase: ProgressPhase;
  /** Seconds since the run started. */
  elapsedS: number;
  /** When the run is expected to end, seconds since it started (the bar's full length). */
  totalS: number;
  /** Devices asked for. */
  devices: number;
  /** Devices with an open connection now. */
  connected: number;
  /** Totals since the run started. */
  sent: number;
  received: number;
  errors: number;
  timeouts: number;
  /** Push: deliveries given up on. */
  lost?: number;
  /** Messages received in the last second. */
  throughput: number;
  /** Latency over the last second, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Each worker's event-loop utilisation over the last second, 0..1. */
  workerElu: number[];
  /** The generator itself is the bottleneck: its numbers say little about the server. */
  saturated: boolean;
  /** One line of context (why saturated, what the run is waiting for). */
  note?: string;
}

export interface ProgressOptions {
  /** Where progress is drawn (usually `process.stderr` or `process.stdout`). */
  stream: NodeJS.WriteStream;
  /** A live area redrawn in place (a terminal); otherwise one plain line per update. See `chooseProgressMode`. */
  interactive: boolean;
  /** ANSI colour; false means no colour escapes at all. */
  color: boolean;
  /** Handed to ink in interactive mode (it is never read: no raw mode). @default process.stdin */
  stdin?: NodeJS.ReadStream;
}

export interface Progress {
  /** The latest state; interactive mode draws at most ~4 frames a second, plain mode writes one line per call. */
  update(s: ProgressSnapshot): void;
  /** A notice, printed as is above the live area (plain mode: its own line). */
  log(line: string): void;
  /**
   * Ends the display: the last frame stays on the screen, the cursor is
   * shown, and output after it starts on a fresh line. Idempotent; after
   * it, `update` does nothing and `log` writes a plain line.
   */
  close(): Promise<void>;
}
