/**
 * The one shape every inspector source has: `client`, `proxy`, `attach`,
 * `replay` (JSONL), `har`. The viewer (TUI, text/JSONL writers, `--record`)
 * talks to a {@link WireSource} and nothing else, so any source feeds any
 * view through the same decoder (`createFrameDecoder` in `chsk/core`).
 *
 * ## The contract
 *
 * A source is a synchronous **emitter**, like the library's taps:
 *
 * ```ts
 * const source = createClientSource({ url, login: "alice" });
 * const offEvent = source.onEvent((e) => decoder.push(e)); // WireEvent, in wire order
 * const offNotice = source.onNotice((n) => statusLine(n));  // not frames: "connecting…", errors
 * await source.start();      // rejects (ChskError) when it cannot start at all
 * const end = await source.done; // resolves once, when the source has ended for good
 * await source.close();      // idempotent; resolves `done` with { reason: "closed" }
 * ```
 *
 * - Subscribe before `start()`: nothing is buffered for late listeners.
 * - `onEvent` listeners are called synchronously, in the order things
 *   crossed the wire, once per {@link WireEvent}; never after `done` has
 *   resolved. Each `frame` event is one frame, reported exactly once.
 *   A listener that throws does not stop the source or the other listeners
 *   (the error is reported as an `error` notice).
 * - The listener owns nothing: a source may reuse nothing it passed
 *   (`data` strings and `Uint8Array`s are not mutated afterwards), so a
 *   store can keep them as they are.
 * - Sources never buffer without bound. A push source (client, proxy,
 *   attach) emits as frames arrive; a pull source (replay, har) emits in
 *   chunks, yielding to the event loop between them (and honours its
 *   pacing option), so the viewer's ring buffer is the only bound.
 * - Why an emitter and not an async iterator: every push source sits on a
 *   tap or socket callback that cannot wait, so an iterator would need an
 *   unbounded queue in between, and a microtask per frame at 5,000 frames/s.
 *   A consumer that wants `for await` can wrap `onEvent` itself.
 * - `start()` resolves once the source is running (client: the session is
 *   bootstrapped and the client created; it need not be open yet, see the
 *   `open` event; proxy: listening; replay: file opened). It rejects with a
 *   `ChskError` (stable `code`) when the source cannot run at all, and
 *   `done` then resolves with `{ reason: "failed", error }`.
 * - Everything a source holds (sockets, servers, files, timers) is released
 *   by `close()` or when it ends on its own.
 */
import type { ChskError, Unsubscribe, WireEvent } from "../../core/index.js";

/** Which source it is, for the header line and `--record` metadata. */
export type SourceKind = "client" | "proxy" | "attach" | "replay" | "har";

/**
 * Something worth showing that is not a frame: the session bootstrap's
 * progress, a reconnect, a refused login, a listener that threw. The same
 * levels as the library's `Logger`.
 */
export interface SourceNotice {
  /** ms since epoch. */
  at: number;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  /** The `CHSK_ERR_*` code, when there is one. */
  code?: string;
}

/** How a source ended. */
export type SourceEnd =
  /** `close()` was called (SIGINT, the user quit). */
  | { reason: "closed" }
  /** A replay / HAR reached the end of its file. */
  | { reason: "eof" }
  /** It could not start, or broke for good (a proxy whose listener died, an attach stream refused). */
  | { reason: "failed"; error: ChskError };

/** What every source is. See the module comment for the contract. */
export interface WireSource {
  readonly kind: SourceKind;
  /** One line for the header: `client ws://127.0.0.1:8090/chsk (edn)`, `proxy :9000 → http://127.0.0.1:8090`. */
  readonly label: string;
  /**
   * The packer the source knows the traffic uses (a client source knows its
   * own; `edn`, `transit`, `json`, `msgpack`, `gzip+edn`…), as a hint for
   * the decoder; undefined when it must be detected.
   */
  readonly packer?: string | undefined;
  onEvent(listener: (event: WireEvent) => void): Unsubscribe;
  onNotice(listener: (notice: SourceNotice) => void): Unsubscribe;
  start(): Promise<void>;
  /** Resolves once, when the source has ended (never rejects). */
  readonly done: Promise<SourceEnd>;
  /** Idempotent. Resolves when everything the source held is released. */
  close(): Promise<void>;
}

/** A source that can also send: the client source, for the TUI's input line. */
export interface SendingSource extends WireSource {
  /**
   * Send an event written in EDN (`[:my/ev {:a 1}]`). With `timeoutMs`,
   * asks for a reply and resolves with it as EDN text; with `timeoutMs`
   * undefined, sends without a callback and resolves with `undefined` once
   * sent. Rejects with a `ChskError`: `CHSK_ERR_BAD_EVENT` / `CHSK_ERR_EDN_*`
   * (not an event), `CHSK_ERR_CLOSED` (not connected), `CHSK_ERR_TIMEOUT`…
   * The frames themselves reach `onEvent` like any other.
   */
  send(eventEdnText: string, timeoutMs?: number): Promise<string | undefined>;
}
