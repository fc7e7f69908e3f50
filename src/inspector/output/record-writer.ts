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

/**
 * Lines written in one go per turn of the event loop: a stream write per
 * frame (a syscall each for stdout) cost the proxy more than decoding.
 * `close()` writes what is waiting at once.
 */
export function lineBatcher(out: TextSink): { push(line: string): void; flush(): void } {
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const text = lines.join("");
    lines = [];
    out.write(text);
  };
  return {
    push(line) {
      lines.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
