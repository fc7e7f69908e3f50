/**
 * What every peer adapter shares: the listeners `BenchClient` exposes
 * (`handshake`, `state`, `recv`, `tap`), the table of requests waiting for
 * a reply, and tapped frames in the shape the engine counts.
 *
 * Adapters are lean on purpose: they speak the peer's frames over a raw
 * socket, so the generator stays cheaper than the servers it measures.
 */
import type { Duplex } from "node:stream";
import type WebSocket from "ws";
import { ChskError } from "../../src/core/index.js";
import type { ClientTapEvent } from "../../src/core/client/index.node.js";
import type { BenchClient, BenchClientOptions } from "../../src/bench/client.js";

export type ReplyCb = (error: ChskError | null, reply?: unknown) => void;
type Transport = "ws" | "ajax";
type Channel = "ws" | "poll" | "post" | "post-reply";

interface Waiting {
  cb: ReplyCb;
  deadline: number;
}

/**
 * Every open adapter, swept for timeouts by one timer per worker instead of
 * one timer per request. The bench gives every request the same timeout, so
 * a client's table is in deadline order and a sweep stops at the first
 * entry still in time.
 */
const live = new Set<PeerClient>();
let sweeper: ReturnType<typeof setInterval> | undefined;
function sweep(): void {
  const now = Date.now();
  for (const c of live) c.expire(now);
}

let connSeq = 0;

/** The `BenchClient` plumbing; a subclass opens the connection and frames requests. */
export abstract class PeerClient implements BenchClient {
  readonly #handshake: ((info: { uid: unknown }) => void)[] = [];
  readonly #state: ((change: { closed?: boolean }) => void)[] = [];
  readonly #taps: ((event: ClientTapEvent) => void)[] = [];
  readonly #traffic = { bytesIn: 0, bytesOut: 0 };
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  protected open = false;
  /** The bench closed this connection itself (close, reconnect, breakConnection). */
  protected closing = false;
  protected connId = "";
  /** This attempt's failure was already reported (an `error` tap), so its close is not a second one. */
  #failureTapped = false;
  protected readonly clientId = `peer-${process.pid}-${++connSeq}`;

  constructor(
    protected readonly options: BenchClientOptions,
    private readonly transport: Transport,
  ) {}

  /** Opens the connection; calls {@link opened} once requests may go, {@link closed} when it ends. */
  protected abstract start(): void;
  /** Sends request `id` carrying `data`; false if it could not be written. */
  protected abstract write(id: number, event: string, data: unknown): boolean;
  /** Tears the connection down without ceremony. */
  protected abstract stop(): void;

  connect(): void {
    this.closing = false;
    this.#failureTapped = false;
    this.connId = `${this.transport}-${++connSeq}`;
    live.add(this);
    sweeper ??= setInterval(sweep, 100);
    sweeper.unref();
    this.start();
  }

  send(event: readonly [string, unknown], timeoutMs: number, cb: ReplyCb): boolean {
    if (!this.open) {
      cb(new ChskError("CHSK_ERR_CLOSED", "The client is not open"));
      return false;
    }
    const id = this.#nextId++;
    this.#waiting.set(id, { cb, deadline: Date.now() + timeoutMs });
    if (this.write(id, event[0], event[1])) return true;
    this.#waiting.delete(id);
    cb(new ChskError("CHSK_ERR_CLOSED", "The connection refused the write"));
    return false;
  }

  /** A reply to request `id` arrived (`reply` decoded). Unknown or late ids are dropped. */
  protected replied(id: number, reply: unknown): void {
    const w = this.#waiting.get(id);
    if (w === undefined) return;
    this.#waiting.delete(id);
    w.cb(null, reply);
  }

  /** A reply that is not one: fail its request with `why`. */
  protected badReply(id: number, why: string): void {
    const w = this.#waiting.get(id);
    if (w === undefined) return;
    this.#waiting.delete(id);
    w.cb(new ChskError("CHSK_ERR_BAD_ENVELOPE", why));
  }

  expire(now: number): void {
    for (const [id, w] of this.#waiting) {
      if (w.deadline > now) return;
      this.#waiting.delete(id);
      w.cb(new ChskError("CHSK_ERR_TIMEOUT", "No reply in time"));
    }
  }

  protected opened(): void {
    if (this.open) return;
    this.open = true;
    for (const l of this.#handshake) l({ uid: null });
  }

  /** The connection ended; a close before it opened is a connect failure with `code`. */
  protected closed(code: number | undefined, reason = "unexpected"): void {
    const wasOpen = this.open;
    this.open = false;
    live.delete(this);
    const failed = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of failed) w.cb(new ChskError("CHSK_ERR_CLOSED", "The connection closed"));
    if (this.#taps.length > 0 && (wasOpen || !this.#failureTapped)) {
      const ev = { type: "conn:close", transport: this.transport, connId: this.connId, clientId: this.clientId, reason, at: Date.now() } as ClientTapEvent;
      if (code !== undefined) (ev as { code?: number }).code = code;
      for (const t of this.#taps) t(ev);
    }
    if (wasOpen) for (const l of this.#state) l({ closed: true });
  }

  /** A connect failure the engine counts by cause (`http-503`, a `CHSK_ERR_*`). */
  protected failed(message: string, status?: number): void {
    if (this.#taps.length === 0 || this.#failureTapped) return;
    this.#failureTapped = true;
    const error = new ChskError(status === undefined ? "CHSK_ERR_TRANSPORT" : "CHSK_ERR_HTTP_STATUS", message, status === undefined ? {} : { status });
    for (const t of this.#taps) t({ type: "error", error, connId: this.connId, clientId: this.clientId, at: Date.now() });
  }

  /**
   * The WebSocket lifecycle every WS peer shares: a refused upgrade or an
   * error before opening is a connect failure, a close of the current
   * socket (`isCurrent`) that we didn't ask for ends the connection.
   */
  protected watch(ws: WebSocket, isCurrent: () => boolean, drop: () => void): void {
    ws.on("unexpected-response", (_req, res) => {
      this.failed(`HTTP ${res.statusCode} on upgrade`, res.statusCode);
      ws.terminate();
    });
    ws.on("error", (e) => {
      if (!this.open) this.failed(e.message);
    });
    ws.on("close", (code) => {
      if (!isCurrent()) return;
      drop();
      if (!this.closing) this.closed(code);
    });
  }

  /** Counts a frame's size (UTF-16 code units, as chsk's `client.traffic()` does for text). */
  protected frame(dir: "frame:in" | "frame:out", _channel: Channel, data: string): void {
    if (dir === "frame:in") this.#traffic.bytesIn += data.length;
    else this.#traffic.bytesOut += data.length;
  }

  traffic(): { bytesIn: number; bytesOut: number } {
    return { ...this.#traffic };
  }

  on(type: "handshake", listener: (info: { uid: unknown }) => void): unknown;
  on(type: "state", listener: (change: { closed?: boolean }) => void): unknown;
  on(type: "recv", listener: (event: readonly [string, unknown?]) => void): unknown;
  on(type: "handshake" | "state" | "recv", listener: (x: never) => void): unknown {
    // Peers push nothing the bench reads, so `recv` listeners are never called.
    if (type === "handshake") this.#handshake.push(listener as (info: { uid: unknown }) => void);
    else if (type === "state") this.#state.push(listener as (change: { closed?: boolean }) => void);
    return undefined;
  }

  tap(listener: (event: ClientTapEvent) => void): unknown {
    this.#taps.push(listener);
    return undefined;
  }

  reconnect(): void {
    this.breakConnection();
    this.connect();
  }

  breakConnection(): void {
    this.closing = true;
    this.stop();
    this.closed(undefined, "requested-reconnect");
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stop();
    if (this.open || live.has(this)) this.closed(undefined, "requested-disconnect");
    if (live.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }
}

const TEXT_FRAME = { binary: false } as const;
const corked = new WeakSet<Duplex>();

/**
 * Sends a text frame the way the chsk client's Node transport does
 * (src/core/client/index.node.ts): the frames of one tick corked into one
 * `writev`, each as one buffer. The servers compared must all see the same
 * client-side batching, since it changes their reads too.
 */
export function sendBatched(ws: WebSocket, text: string): void {
  const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
  if (socket != null && !corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  ws.send(Buffer.from(text), TEXT_FRAME);
}
