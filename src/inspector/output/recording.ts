/**
 * `--record FILE.jsonl`: every record, one JSON object per line, written
 * alongside whatever view is showing (TUI, text, JSONL).
 *
 * Records are buffered and written with synchronous `fs.writeSync` calls,
 * each holding whole lines only: once held `holdMs`, at the next
 * `flushIntervalMs` tick (or when about `flushBytes` are waiting). A record
 * is serialized when it is written out, not when it is handed over, so what
 * the decoder learns in between (a call's `pair` once its reply came) is in
 * the line. `close()` (the CLI calls it on SIGINT/SIGTERM)
 * and the process's `exit` event write the rest synchronously, so a
 * recording ends with the last record it was given, never half a line,
 * even when the process is told to stop in the middle of a burst.
 * Synchronous writes also keep memory flat: nothing queues behind a slow
 * disk the way an async stream's buffer would at 5,000 frames/s.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { ChskError, type FrameRecord, recordToJson } from "../../core/index.js";
import type { RecordWriter } from "./record-writer.js";

export interface RecordingOptions {
  /** Write buffered lines at least this often, ms. @default 200 */
  flushIntervalMs?: number;
  /**
   * A record waits at least this long before it is written (ms), so a call
   * is written with its reply's `pair` when the reply came within it,
   * whenever the flush timer fires. @default 250
   */
  holdMs?: number;
  /**
   * Write what is due as soon as about this many bytes are waiting
   * (estimated from the payloads); at four times it, everything waiting.
   * @default 65_536
   */
  flushBytes?: number;
  /** Add to an existing file instead of replacing it. @default false */
  append?: boolean;
  /**
   * Called with a `CHSK_ERR_FILE` error when writing fails (disk full, file
   * removed…; the recording then stops taking records) or one record cannot
   * be serialized (that record is left out).
   * @default none (the failure is only visible in `failed`)
   */
  onError?: (error: ChskError) => void;
  /** How a record becomes a line (without its newline). @default recordToJson */
  serialize?: (record: FrameRecord) => string;
}

export interface Recording extends RecordWriter {
  readonly path: string;
  /** Records written so far (buffered ones included). */
  readonly count: number;
  /** The write failure that stopped the recording, if any. */
  readonly failed: ChskError | undefined;
  /** Write what is buffered now (synchronously). */
  flush(): void;
}

const fileError = (what: string, path: string, e: unknown): ChskError =>
  new ChskError("CHSK_ERR_FILE", `${what} ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

/**
 * Opens `path` for a recording (created or truncated, or appended to).
 *
 * @throws ChskError `CHSK_ERR_FILE` when the file cannot be opened.
 */
/** A line's size before it is made (at flush time): the payload twice (raw and data) and the fields. */
const estimate = (r: FrameRecord): number => 2 * r.raw.length + 200;

export function createRecording(path: string, options: RecordingOptions = {}): Recording {
  const serialize = options.serialize ?? recordToJson;
  const flushBytes = options.flushBytes ?? 65_536;
  let fd: number;
  try {
    fd = openSync(path, options.append ? "a" : "w");
  } catch (e) {
    throw fileError("cannot open the recording", path, e);
  }
  const holdMs = options.holdMs ?? 250;
  let buffered: FrameRecord[] = [];
  /** When each buffered record was handed over (ms), for `holdMs`. */
  let arrived: number[] = [];
  let size = 0;
  let count = 0;
  let closed = false;
  let failed: ChskError | undefined;

  /** Writes the records held `holdMs` (all of them with `all`). */
  const flush = (all = true) => {
    if (buffered.length === 0 || failed !== undefined) return;
    let n = buffered.length;
    if (!all) {
      const due = Date.now() - holdMs;
      n = 0;
      while (n < arrived.length && arrived[n]! <= due) n++;
      if (n === 0) return;
    }
    const out = n === buffered.length ? buffered : buffered.slice(0, n);
    const lines: string[] = [];
    for (const r of out) {
      try {
        lines.push(`${serialize(r)}\n`);
      } catch (e) {
        // One record that cannot be written is reported, not the end of the recording.
        options.onError?.(fileError("cannot serialize a record for", path, e));
      }
    }
    if (n === buffered.length) {
      buffered = [];
      arrived = [];
      size = 0;
    } else {
      buffered = buffered.slice(n);
      arrived = arrived.slice(n);
      size = buffered.reduce((k, r) => k + estimate(r), 0);
    }
    const text = lines.join("");
    try {
      const bytes = Buffer.from(text, "utf8");
      // writeSync may write less than asked (a full pipe, a signal): loop until all of it is out.
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      failed = fileError("cannot write the recording", path, e);
      options.onError?.(failed);
    }
  };
  const timer = setInterval(() => flush(false), options.flushIntervalMs ?? 200);
  timer.unref();
  // A process that exits without calling close() (an uncaught error, process.exit) still gets its tail.
  const onExit = () => finish();
  process.once("exit", onExit);

  function finish(): void {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    process.removeListener("exit", onExit);
    flush();
    try {
      closeSync(fd);
    } catch (e) {
      if (failed === undefined) {
        failed = fileError("cannot close the recording", path, e);
        options.onError?.(failed);
      }
    }
  }

  return {
    path,
    get count() {
      return count;
    },
    get failed() {
      return failed;
    },
    write(record) {
      if (closed || failed !== undefined) return;
      buffered.push(record);
      arrived.push(Date.now());
      size += estimate(record);
      count++;
      if (size >= 4 * flushBytes) flush(true);
      else if (size >= flushBytes) flush(false);
    },
    flush: () => flush(true),
    close() {
      finish();
      return Promise.resolve();
    },
  };
}
