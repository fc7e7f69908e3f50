import type { FrameRecord } from "../../core/index.js";

/**
 * Where a view's records go: stdout as text or JSONL, a `--record` file, a
 * `--har-out` file. Every writer is fed the same records, in order.
 */
export interface RecordWriter {
  write(record: FrameRecord): void;
  /**
   * Idempotent. Everything written before it is out (on disk, for a file)
   * when it resolves; writes after it are ignored. Never rejects: a failure
   * was reported to the writer's `onError` when it happened.
   */
  close(): Promise<void>;
}

/** Where the stream writers write: `process.stdout`, or a test's capture. */
export interface TextSink {
  write(s: string): unknown;
}
