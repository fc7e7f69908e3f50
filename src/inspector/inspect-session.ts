/**
 * One inspector session: a source's wire events through one decoder into
 * everything that shows or keeps them.
 *
 * ```
 * source ─onEvent─▶ decoder.push ─record─▶ store (TUI)          every record
 *                        │                 outputs (--record, --har-out)
 *                        │                 view (stdout lines) filtered, held
 *                        └─onUpdate─▶ store.update (a reply paired, a flag set)
 * ```
 *
 * The stdout view holds each record `holdMs` before printing it, so a call
 * whose reply comes soon after it is printed with its `pair` (and a ping
 * with its pong): a line, once printed, cannot be changed. A recording
 * serializes late for the same reason (see `createRecording`).
 *
 * Live sources let time pass in the decoder (`tickMs`), so a call with no
 * reply is flagged `unanswered` while nothing else arrives; a replay's time
 * is its records' own.
 */
import { createFrameDecoder, type FrameDecoder, type FrameDecoderOptions, type FrameRecord, type Unsubscribe } from "../core/index.js";
import type { RecordWriter } from "./output/record-writer.js";
import type { WireSource } from "./sources/types.js";
import type { FrameStore, RecordPredicate } from "./store.js";

export interface InspectViewOptions {
  writer: RecordWriter;
  /** Only records that pass it are written (`--filter`). @default all */
  predicate?: RecordPredicate | undefined;
  /** How long a record waits before it is written, ms. @default 250 */
  holdMs?: number;
  /** Records held at most; beyond it the oldest is written at once. @default 10_000 */
  maxHeld?: number;
}

export interface InspectSessionOptions {
  source: WireSource;
  /** The decoder's options (`packer`, `callTimeoutMs`…); `onUpdate` is the session's. */
  decoder?: Omit<FrameDecoderOptions, "onUpdate">;
  /** The TUI's store: gets every record and every update. */
  store?: FrameStore | undefined;
  /** Every record, as decoded (`--record`, `--har-out`). */
  outputs?: readonly RecordWriter[];
  /** The stdout lines. */
  view?: InspectViewOptions | undefined;
  /** Let time pass in the decoder this often, ms (live sources); undefined: never. */
  tickMs?: number | undefined;
}

export interface InspectSession {
  readonly decoder: FrameDecoder;
  /** Records decoded so far. */
  readonly count: number;
  /** Called with each record as it is decoded (after the store and outputs). */
  onRecord(listener: (record: FrameRecord) => void): Unsubscribe;
  /**
   * Stops listening to the source, writes every held line and closes the
   * view and outputs (a recording is complete once it resolves). Idempotent.
   */
  close(): Promise<void>;
}

interface Held {
  record: FrameRecord;
  due: number;
}

export function createInspectSession(options: InspectSessionOptions): InspectSession {
  const { source, store, view } = options;
  const outputs = options.outputs ?? [];
  const holdMs = view?.holdMs ?? 250;
  const maxHeld = view?.maxHeld ?? 10_000;
  const decoder = createFrameDecoder({
    ...options.decoder,
    ...(store === undefined ? {} : { onUpdate: (r, change) => store.update(r, change) }),
  });

  let listeners: readonly ((r: FrameRecord) => void)[] = [];
  let count = 0;
  // A FIFO with a moving head: records are written in order.
  let held: Held[] = [];
  let head = 0;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  let closed: Promise<void> | undefined;

  const writeDue = (now: number) => {
    if (view === undefined) return;
    while (head < held.length && (held[head]!.due <= now || held.length - head > maxHeld)) {
      view.writer.write(held[head]!.record);
      held[head++] = undefined as unknown as Held;
    }
    if (head === held.length) {
      held = [];
      head = 0;
    } else if (head > 1024 && head * 2 > held.length) {
      held = held.slice(head);
      head = 0;
    }
  };

  const scheduleDrain = () => {
    if (drainTimer !== undefined || head === held.length) return;
    const wait = Math.max(0, held[head]!.due - Date.now());
    drainTimer = setTimeout(() => {
      drainTimer = undefined;
      writeDue(Date.now());
      scheduleDrain();
    }, wait);
  };

  const stopEvents = source.onEvent((event) => {
    const record = decoder.push(event);
    count++;
    store?.push(record);
    for (const o of outputs) o.write(record);
    if (view !== undefined && (view.predicate === undefined || view.predicate(record))) {
      if (holdMs === 0) view.writer.write(record);
      else {
        held.push({ record, due: Date.now() + holdMs });
        if (held.length - head > maxHeld) writeDue(Date.now());
        scheduleDrain();
      }
    }
    for (const l of listeners) l(record);
  });

  const tick =
    options.tickMs === undefined
      ? undefined
      : setInterval(() => {
          decoder.flush(Date.now());
        }, options.tickMs);
  // A session never keeps the process alive by itself: its source does.
  tick?.unref();

  return {
    decoder,
    get count() {
      return count;
    },
    onRecord(listener) {
      listeners = [...listeners, listener];
      return () => void (listeners = listeners.filter((l) => l !== listener));
    },
    close() {
      closed ??= (async () => {
        stopEvents();
        if (tick !== undefined) clearInterval(tick);
        if (drainTimer !== undefined) clearTimeout(drainTimer);
        drainTimer = undefined;
        writeDue(Infinity);
        store?.flush();
        await Promise.all([view?.writer.close(), ...outputs.map((o) => o.close())]);
      })();
      return closed;
    },
  };
}
