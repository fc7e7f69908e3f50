/**
 * Callbacks waiting for replies (Sente's `cbs-waiting_`).
 *
 * Each pending request gets a 6-character id, the first 6 chars of a random
 * UUID (encore `uuid-str 6`), which travels as the envelope's cb id and comes
 * back with the reply. A pending entry settles exactly once: by its reply, by
 * its timeout (`CHSK_ERR_TIMEOUT`) or by {@link AckTable.rejectAll}. Replies
 * for ids that are not pending (late, or never sent) are reported as
 * "unknown" by `resolve` returning false, so the caller can warn.
 *
 * Timeouts do not cost one platform timer per request: the table keeps a
 * single timer armed for the earliest deadline and sweeps when it fires.
 */
import type { Cancel, Clock } from "../clock.js";
import { ChskError } from "../protocol/errors.js";
import type { ReplyCallback } from "./types.js";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Random bytes drawn in bulk: `crypto.randomUUID()` per request cost more than the rest of the table. */
const pool = new Uint8Array(3 * 1024);
let poolAt = pool.length;

/** A random 6-char callback id: 6 lowercase hex digits, as the first 6 of a v4 UUID are. */
export function randomCbId(): string {
  if (poolAt === pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const id = HEX[pool[poolAt]!]! + HEX[pool[poolAt + 1]!]! + HEX[pool[poolAt + 2]!]!;
  poolAt += 3;
  return id;
}

/** One waiting request; either a callback or a promise's resolvers. */
class Pending {
  constructor(
    readonly id: string,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly cb: ReplyCallback | null,
    readonly resolve: ((v: unknown) => void) | null,
    readonly reject: ((e: unknown) => void) | null,
    /** What the request went out on (the client's attempt number), for {@link AckTable.rejectOwned}. */
    readonly owner: number | undefined,
  ) {}
}

export interface AckTableOptions {
  /** @default randomCbId */
  newId?: () => string;
  /** A callback threw while being settled. @default rethrow on a microtask */
  onCallbackError?: (e: unknown) => void;
}

const rethrow = (e: unknown) =>
  queueMicrotask(() => {
    throw e;
  });

export class AckTable {
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #onCallbackError: (e: unknown) => void;
  readonly #pending = new Map<string, Pending>();
  #timerAt = Infinity;
  #cancelTimer: Cancel | null = null;
  readonly #onTimer = () => this.#sweep();

  constructor(clock: Clock, options: AckTableOptions = {}) {
    this.#clock = clock;
    this.#newId = options.newId ?? randomCbId;
    this.#onCallbackError = options.onCallbackError ?? rethrow;
  }

  /** How many requests are waiting. */
  get size(): number {
    return this.#pending.size;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /**
   * Register a callback; returns its cb id. `cb(CHSK_ERR_TIMEOUT)` after `timeoutMs`.
   * `owner` tags the request with what it went out on (see {@link rejectOwned}).
   */
  add(timeoutMs: number, cb: ReplyCallback, owner?: number): string {
    return this.#insert(timeoutMs, cb, null, null, owner);
  }

  /** Register a promise; it rejects with CHSK_ERR_TIMEOUT after `timeoutMs`. */
  addPromise(timeoutMs: number, owner?: number): { id: string; promise: Promise<unknown> } {
    let res!: (v: unknown) => void;
    let rej!: (e: unknown) => void;
    const promise = new Promise<unknown>((a, b) => {
      res = a;
      rej = b;
    });
    return { id: this.#insert(timeoutMs, null, res, rej, owner), promise };
  }

  #insert(
    timeoutMs: number,
    cb: ReplyCallback | null,
    res: ((v: unknown) => void) | null,
    rej: ((e: unknown) => void) | null,
    owner: number | undefined,
  ): string {
    let id = this.#newId();
    while (this.#pending.has(id)) id = this.#newId();
    const deadline = this.#clock.now() + timeoutMs;
    this.#pending.set(id, new Pending(id, deadline, timeoutMs, cb, res, rej, owner));
    if (deadline < this.#timerAt) this.#arm(deadline);
    return id;
  }

  /** When the request `id` went out (ms, the clock's), while it is waiting; for reply latency. */
  sentAt(id: string): number | undefined {
    const p = this.#pending.get(id);
    return p === undefined ? undefined : p.deadline - p.timeoutMs;
  }

  /** Settle `id` with a reply. False if nothing was waiting for it (late or unknown). */
  resolve(id: string, value: unknown): boolean {
    const p = this.#pending.get(id);
    if (p === undefined) return false;
    this.#pending.delete(id);
    this.#settle(p, null, value);
    return true;
  }

  /** Settle `id` with an error. False if nothing was waiting for it. */
  reject(id: string, error: ChskError): boolean {
    const p = this.#pending.get(id);
    if (p === undefined) return false;
    this.#pending.delete(id);
    this.#settle(p, error, undefined);
    return true;
  }

  /** Settle every waiting request with `error` (used by `close()`), and cancel the timer. */
  rejectAll(error: ChskError): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#disarm();
    for (const p of all) this.#settle(p, error, undefined);
  }

  /** Drop `id` without settling it (its request was never sent). */
  forget(id: string): void {
    this.#pending.delete(id);
  }

  /** Settle with `error` every waiting request tagged `owner`; the others keep waiting. */
  rejectOwned(owner: number, error: ChskError): void {
    const owned: Pending[] = [];
    for (const p of this.#pending.values()) if (p.owner === owner) owned.push(p);
    if (owned.length === 0) return;
    for (const p of owned) this.#pending.delete(p.id);
    // Otherwise the timer may aim at a settled deadline: the sweep then finds nothing and re-arms.
    if (this.#pending.size === 0) this.#disarm();
    for (const p of owned) this.#settle(p, error, undefined);
  }

  /** Cancel the timer and forget every entry without settling it. */
  dispose(): void {
    this.#pending.clear();
    this.#disarm();
  }

  #settle(p: Pending, error: ChskError | null, value: unknown): void {
    try {
      if (p.cb !== null) {
        if (error === null) p.cb(null, value);
        else p.cb(error);
      } else if (error === null) p.resolve!(value);
      else p.reject!(error);
    } catch (e) {
      this.#onCallbackError(e);
    }
  }

  #arm(at: number): void {
    this.#cancelTimer?.();
    this.#timerAt = at;
    this.#cancelTimer = this.#clock.setTimer(Math.max(0, at - this.#clock.now()), this.#onTimer);
  }

  #disarm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#timerAt = Infinity;
  }

  #sweep(): void {
    this.#cancelTimer = null;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    let expired: Pending[] | null = null;
    let next = Infinity;
    for (const p of this.#pending.values()) {
      if (p.deadline <= now) (expired ??= []).push(p);
      else if (p.deadline < next) next = p.deadline;
    }
    if (expired !== null) {
      for (const p of expired) this.#pending.delete(p.id);
    }
    if (next !== Infinity) this.#arm(next);
    if (expired !== null) {
      for (const p of expired) {
        this.#settle(p, new ChskError("CHSK_ERR_TIMEOUT", `No reply within ${p.timeoutMs} ms`, { detail: { cbId: p.id } }), undefined);
      }
    }
  }
}
