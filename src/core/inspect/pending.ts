/**
 * Frames waiting for their answer (calls, pings, POSTs), by key, in arrival
 * order. One table per timeout, so deadlines come in order and expiring is
 * a scan from the front that stops at the first live entry. Bounded: past
 * `max` entries the oldest is dropped (forgotten, not flagged).
 */
import type { FrameRecord } from "./types.js";

export interface Pending {
  record: FrameRecord;
  /** When it crossed the wire (ms). */
  at: number;
  deadline: number;
  /** Flag it when it expires (`unanswered` / `missed-pong`); a POST without a cb expires silently. */
  flag: "unanswered" | "missed-pong" | null;
  /** The logical connection, to fail a WS socket's calls when it closes. */
  conn: string;
}

export class PendingTable {
  readonly #entries = new Map<string, Pending>();

  constructor(
    readonly timeoutMs: number,
    readonly max: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  add(key: string, p: Omit<Pending, "deadline">): void {
    const e = this.#entries;
    // A repeated key (a reused cb id) keeps the newer call: its reply is the one to come.
    e.delete(key);
    e.set(key, { record: p.record, at: p.at, deadline: p.at + this.timeoutMs, flag: p.flag, conn: p.conn });
    if (e.size > this.max) e.delete(e.keys().next().value as string);
  }

  get(key: string): Pending | undefined {
    return this.#entries.get(key);
  }

  take(key: string): Pending | undefined {
    const p = this.#entries.get(key);
    if (p !== undefined) this.#entries.delete(key);
    return p;
  }

  /** Removes every entry due by `now` (the front of the table), oldest first, handing each to `fn`. */
  expire(now: number, fn: (key: string, p: Pending) => void): void {
    if (this.#entries.size === 0) return;
    for (const [k, p] of this.#entries) {
      if (p.deadline > now) return;
      this.#entries.delete(k);
      fn(k, p);
    }
  }

  /** Removes the entries of one connection, handing each to `fn`. */
  takeConn(conn: string, fn: (key: string, p: Pending) => void): void {
    for (const [k, p] of this.#entries) {
      if (p.conn !== conn) continue;
      this.#entries.delete(k);
      fn(k, p);
    }
  }
}
