/**
 * Delivery of received event-msgs to routers and `"event"` listeners
 * (Sente's `ch-recv` + `start-server-chsk-router!`).
 *
 * Events are delivered synchronously, in the order they were received,
 * to every consumer. A handler that throws (or returns a promise that
 * rejects) is reported to its `onError`, or logged once per
 * (event id, message), and delivery goes on. While nobody consumes,
 * events wait in a sliding buffer (`recvBufferSize`) and go to the first
 * consumer that arrives, still in order.
 */
import type { Unsubscribe } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { ServerEventMsg } from "./types.js";

export type Handler = (msg: ServerEventMsg) => void | Promise<void>;
export type HandlerErrorFn = (e: unknown, msg: ServerEventMsg) => void;

interface Consumer {
  handler: Handler;
  onError: HandlerErrorFn | undefined;
}

const MAX_LOGGED_KEYS = 1000;

export class Dispatcher {
  /** Copy-on-write: dispatch iterates a stable array without copying it. */
  #consumers: readonly Consumer[] = [];
  /** Non-null while events are being held (no consumer, or draining). */
  #backlog: ServerEventMsg[] | null = [];
  #drainScheduled = false;
  #closed = false;
  readonly #bufferSize: number;
  readonly #logged = new Set<string>();
  readonly #logger: Logger;

  constructor(bufferSize: number, logger: Logger) {
    this.#bufferSize = bufferSize;
    this.#logger = logger;
  }

  get hasConsumers(): boolean {
    return this.#consumers.length > 0;
  }

  dispatch(msg: ServerEventMsg): void {
    const backlog = this.#backlog;
    if (backlog !== null) {
      if (this.#closed || (this.#bufferSize === 0 && this.#consumers.length === 0)) return;
      backlog.push(msg);
      // The bound applies only while nobody listens; a drain about to run keeps everything.
      if (backlog.length > this.#bufferSize && this.#consumers.length === 0) backlog.shift();
      return;
    }
    const cs = this.#consumers;
    for (let i = 0; i < cs.length; i++) this.#deliver(cs[i]!, msg);
  }

  #deliver(c: Consumer, msg: ServerEventMsg): void {
    try {
      const r = c.handler(msg);
      if (r !== undefined && r !== null && typeof (r as Promise<void>).then === "function") {
        (r as Promise<void>).then(undefined, (e: unknown) => this.#fail(c, e, msg));
      }
    } catch (e) {
      this.#fail(c, e, msg);
    }
  }

  #fail(c: Consumer, e: unknown, msg: ServerEventMsg): void {
    if (c.onError) {
      try {
        c.onError(e, msg);
        return;
      } catch (e2) {
        e = e2;
      }
    }
    const key = `${msg.id}\u0000${e instanceof Error ? e.message : String(e)}`;
    if (this.#logged.has(key)) return;
    if (this.#logged.size < MAX_LOGGED_KEYS) this.#logged.add(key);
    this.#logger.error(`event handler failed for [${msg.id}] (further identical failures are not logged)`, {
      eventId: msg.id,
      clientId: msg.clientId,
      error: e,
    });
  }

  subscribe(handler: Handler, onError?: HandlerErrorFn): Unsubscribe {
    if (this.#closed) return () => {};
    const c: Consumer = { handler, onError };
    this.#consumers = [...this.#consumers, c];
    if (this.#backlog !== null && !this.#drainScheduled) {
      this.#drainScheduled = true;
      // Let the caller finish setting up before the backlog arrives.
      queueMicrotask(() => this.#drain());
    }
    return () => {
      const i = this.#consumers.indexOf(c);
      if (i === -1) return;
      const next = [...this.#consumers];
      next.splice(i, 1);
      this.#consumers = next;
      if (next.length === 0 && this.#backlog === null && !this.#closed) this.#backlog = [];
    };
  }

  #drain(): void {
    this.#drainScheduled = false;
    // Events that arrive while draining are appended and delivered in turn.
    const backlog = this.#backlog;
    if (backlog === null) return;
    for (let i = 0; i < backlog.length; i++) {
      if (this.#consumers.length === 0 || this.#closed) {
        backlog.splice(0, i);
        return;
      }
      const msg = backlog[i]!;
      const cs = this.#consumers;
      for (let j = 0; j < cs.length; j++) this.#deliver(cs[j]!, msg);
    }
    this.#backlog = this.#consumers.length === 0 ? [] : null;
  }

  close(): void {
    this.#closed = true;
    this.#consumers = [];
    this.#backlog = [];
  }
}
