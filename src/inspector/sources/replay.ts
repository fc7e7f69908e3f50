/**
 * `--replay FILE.jsonl`: a chsk recording (one `FrameRecord` per line, as
 * `--record` and `--format jsonl` write it) as a {@link WireSource}.
 *
 * Records are turned back into the {@link WireEvent}s they were decoded
 * from (the payload from `raw`, base64 when `binary`), not passed through:
 * the viewer's decoder reads them afresh, so `--packer` (or a newer chsk)
 * can change how a recording reads. A line that is not a record is
 * reported as a `warn` notice naming its line number, and skipped.
 *
 * The file is read as a stream with bounded lines (`maxLineChars`): memory
 * stays flat however long the recording, and the viewer's ring buffer is
 * the only store.
 */
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { ChskError, type FrameRecord, parseRecordLine, recordToWireEvent, type Unsubscribe, type WireEvent } from "../../core/index.js";
import { ExchangeIds } from "../output/exchange-ids.js";
import { createPullSource } from "./pull-source.js";
import type { SourceEnd, SourceNotice, WireSource } from "./types.js";

export interface ReplaySourceOptions {
  /** The recording (JSONL). */
  path: string;
  /**
   * `"asap"`: as fast as the viewer takes them; `"recorded"`: with the gaps
   * between records as recorded (divided by `speed`).
   * @default "asap"
   */
  pacing?: "asap" | "recorded";
  /** With `pacing: "recorded"`: 2 plays twice as fast. @default 1 */
  speed?: number;
  /** The packer to decode with (`--packer`), as a hint for the viewer; undefined: detected. @default undefined */
  packer?: string | undefined;
  /** Events emitted between two yields to the event loop. @default 512 */
  chunkSize?: number;
  /** A longer line is reported and skipped, not held in memory. @default 16_777_216 */
  maxLineChars?: number;
}

/**
 * Turns records back into the wire events they were decoded from
 * (`recordToWireEvent`), giving records written without an `exchange` one
 * (see {@link ExchangeIds}) so each Ajax answer still meets its request.
 */
export class RecordUnwinder {
  readonly #ids = new ExchangeIds();

  unwind(r: FrameRecord): WireEvent {
    if (r.transport === "ajax" && r.exchange === undefined) return recordToWireEvent({ ...r, exchange: this.#ids.idOf(r) });
    return recordToWireEvent(r);
  }
}

/** The lines of a text stream, never holding more than `max` characters of one. */
async function* boundedLines(
  chunks: AsyncIterable<Buffer>,
  max: number,
): AsyncGenerator<{ line: string; n: number } | { tooLong: number; n: number }> {
  const decoder = new StringDecoder("utf8");
  let partial = "";
  let skipping = false;
  let n = 0;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    for (;;) {
      const nl = text.indexOf("\n");
      if (nl === -1) {
        if (!skipping) {
          partial += text;
          if (partial.length > max) {
            skipping = true;
            partial = "";
          }
        }
        break;
      }
      n++;
      if (skipping || partial.length + nl > max) {
        skipping = false;
        yield { tooLong: max, n };
      } else {
        yield { line: partial + text.slice(0, nl), n };
      }
      partial = "";
      text = text.slice(nl + 1);
    }
  }
  const rest = partial + decoder.end();
  if (skipping || rest.length > max) yield { tooLong: max, n: n + 1 };
  else if (rest !== "") yield { line: rest, n: n + 1 };
}

/** Opens a recording for replay. Nothing is read before `start()`. */
export function createReplaySource(options: ReplaySourceOptions): WireSource {
  const chunkSize = Math.max(1, options.chunkSize ?? 512);
  const maxLine = options.maxLineChars ?? 16 * 1024 * 1024;
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new RangeError(`speed must be > 0, got ${speed}`);
  const base = createPullSource();
  let stop: (() => void) | undefined;
  let closed = false;

  async function run(): Promise<SourceEnd> {
    let fh;
    try {
      fh = await open(options.path, "r");
    } catch (e) {
      throw new ChskError("CHSK_ERR_FILE", `cannot read ${options.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const stream = fh.createReadStream({ highWaterMark: 64 * 1024 });
    stop = () => stream.destroy();
    base.started();
    const unwinder = new RecordUnwinder();
    let emitted = 0;
    let bad = 0;
    let records = 0;
    let firstAt: number | undefined;
    const startedAt = Date.now();
    try {
      for await (const item of boundedLines(stream, maxLine)) {
        if (closed) return { reason: "closed" };
        if ("tooLong" in item) {
          bad++;
          base.notice("warn", `${options.path} line ${item.n}: longer than ${item.tooLong} characters; skipped`, "CHSK_ERR_FRAME_TOO_LARGE");
          continue;
        }
        if (item.line.trim() === "") continue;
        const parsed = parseRecordLine(item.line, item.n);
        if (!parsed.ok) {
          bad++;
          base.notice("warn", `${options.path}: ${parsed.error.message}; skipped`, parsed.error.code);
          continue;
        }
        records++;
        const ev = unwinder.unwind(parsed.value);
        if (options.pacing === "recorded") {
          firstAt ??= ev.at;
          const due = startedAt + (ev.at - firstAt) / speed;
          const wait = due - Date.now();
          if (wait > 0) await base.sleep(wait);
          if (closed) return { reason: "closed" };
        }
        base.emit(ev);
        if (++emitted % chunkSize === 0) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (e) {
      if (closed) return { reason: "closed" };
      throw new ChskError("CHSK_ERR_FILE", `cannot read ${options.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      stream.destroy();
      await fh.close().catch(() => {});
    }
    base.notice("info", `${options.path}: ${records} record${records === 1 ? "" : "s"} replayed${bad > 0 ? `, ${bad} bad line${bad === 1 ? "" : "s"} skipped` : ""}`);
    return { reason: "eof" };
  }

  return {
    kind: "replay",
    label: `replay ${options.path}`,
    packer: options.packer,
    onEvent: (l: (e: WireEvent) => void): Unsubscribe => base.onEvent(l),
    onNotice: (l: (n: SourceNotice) => void): Unsubscribe => base.onNotice(l),
    start: () => base.start(run),
    done: base.done,
    async close() {
      closed = true;
      base.cancelSleep();
      stop?.();
      await base.close();
    },
  };
}
