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

/** The 4,096 three-digit lowercase hex strings: an id is two of them. */
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, "0"));
/** Random bytes drawn in bulk: `crypto.randomUUID()` per request cost more than the rest of the table. */
const pool = new Uint8Array(3 * 1024);
let poolAt = pool.length;

function random24(): number {
  if (poolAt === pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const n = (pool[poolAt]! << 16) | (pool[poolAt + 1]! << 8) | pool[poolAt + 2]!;
  poolAt += 3;
  return n;
}

const idOf = (n: number): string => HEX3[n >>> 12]! + HEX3[n & 0xfff]!;

/** A random 6-char callback id: 6 lowercase hex digits, as the first 6 of a v4 UUID are. */
export const randomCbId = (): string => idOf(random24());

const HEX_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VAL["0123456789abcdef".charCodeAt(i)] = i;

/**
 * The table's key for a cb id. Our own ids (6 lowercase hex digits) are
 * kept as the 24-bit number they spell, which V8's Map hashes and compares
 * more cheaply than the string just read from a reply; any other id (from
 * a custom `newId`) as itself.
 */
function keyOf(id: string): number | string {
  if (id.length !== 6) return id;
  let n = 0;
  for (let i = 0; i < 6; i++) {
    const c = id.charCodeAt(i);
    const v = c < 128 ? HEX_VAL[c]! : -1;
    if (v < 0) return id;
    n = (n << 4) | v;
  }
  return n;
}

/** One waiting request; either a callback or a promise's resolvers. */
export class Pending {
  constructor(
    /** Insertion order: requests settled together (close, timeouts) are settled in the order they were sent. */
    readonly seq: number,
    readonly id: string,
    readonly key: number | string,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly cb: ReplyCallback | null,
    readonly resolve: ((v: unknown) => void) | null,
    readonly reject: ((e: unknown) => void) | null,
    /** What the request went out on (the client's attempt number), for {@link AckTable.rejectOwned}. */
    readonly owner: number | undefined,
  ) {}
}

/**
 * The waiting requests by key. Our own ids are random 24-bit numbers, so
 * their low bits are already a hash: they live in an open-addressing
 * table (linear probing, at most half full, backward-shift deletion), a
 * couple of array reads per lookup where a `Map` hashed and probed
 * a string or a boxed key. Ids from a custom `newId` go in a `Map`.
 * Exported for its tests only.
 */
export class PendingSet {
  #slots: (Pending | undefined)[] = new Array<Pending | undefined>(16).fill(undefined);
  #mask = 15;
  #count = 0;
  #byString: Map<string, Pending> | null = null;

  get size(): number {
    return this.#count + (this.#byString?.size ?? 0);
  }

  get(key: number | string): Pending | undefined {
    if (typeof key === "string") return this.#byString?.get(key);
    const i = this.#find(key);
    return i < 0 ? undefined : this.#slots[i];
  }

  /** Adds `p`, whose key is not in the set. */
  add(p: Pending): void {
    const key = p.key;
    if (typeof key === "string") {
      (this.#byString ??= new Map()).set(key, p);
      return;
    }
    if ((this.#count + 1) * 2 > this.#slots.length) this.#grow();
    this.#place(p);
    this.#count++;
  }

  /** Removes and returns the entry for `key`, if any. */
  take(key: number | string): Pending | undefined {
    if (typeof key === "string") {
      const p = this.#byString?.get(key);
      if (p !== undefined) this.#byString!.delete(key);
      return p;
    }
    const i = this.#find(key);
    if (i < 0) return undefined;
    const p = this.#slots[i];
    this.#removeAt(i);
    return p;
  }

  /** Every entry, in insertion order. */
  values(): Pending[] {
    const all: Pending[] = [];
    for (const p of this.#slots) if (p !== undefined) all.push(p);
    if (this.#byString !== null) for (const p of this.#byString.values()) all.push(p);
    return all.sort((a, b) => a.seq - b.seq);
  }

  clear(): void {
    if (this.#count > 0) this.#slots.fill(undefined);
    this.#count = 0;
    this.#byString = null;
  }

  #find(key: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const p = slots[i];
      if (p === undefined) return -1;
      if (p.key === key) return i;
    }
  }

  #place(p: Pending): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = (p.key as number) & mask;
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = p;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Array<Pending | undefined>(old.length * 2).fill(undefined);
    this.#mask = this.#slots.length - 1;
    for (const p of old) if (p !== undefined) this.#place(p);
  }

  /** Empties slot `i` and moves later entries of its probe run back, so no lookup stops early. */
  #removeAt(i: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    slots[i] = undefined;
    this.#count--;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const p = slots[j];
      if (p === undefined) return;
      const home = (p.key as number) & mask;
      // `p` may move to the hole at `i` unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        slots[i] = p;
        slots[j] = undefined;
        i = j;
      }
    }
  }
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
  /** Null for our own random ids, drawn as numbers. */
  readonly #newId: (() => string) | null;
  readonly #onCallbackError: (e: unknown) => void;
  readonly #pending = new PendingSet();
  #seq = 0;
  #timerAt = Infinity;
  #cancelTimer: Cancel | null = null;
  readonly #onTimer = () => this.#sweep();

  constructor(clock: Clock, options: AckTableOptions = {}) {
    this.#clock = clock;
    this.#newId = options.newId ?? null;
    this.#onCallbackError = options.onCallbackError ?? rethrow;
  }

  /** How many requests are waiting. */
  get size(): number {
    return this.#pending.size;
  }

  has(id: string): boolean {
    return this.#pending.get(keyOf(id)) !== undefined;
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
    const newId = this.#newId;
    let id: string;
    let key: number | string;
    if (newId === null) {
      do key = random24();
      while (this.#pending.get(key) !== undefined);
      id = idOf(key);
    } else {
      do key = keyOf((id = newId()));
      while (this.#pending.get(key) !== undefined);
    }
    const deadline = this.#clock.now() + timeoutMs;
    this.#pending.add(new Pending(this.#seq++, id, key, deadline, timeoutMs, cb, res, rej, owner));
    if (deadline < this.#timerAt) this.#arm(deadline);
    return id;
  }

  /** When the request `id` went out (ms, the clock's), while it is waiting; for reply latency. */
  sentAt(id: string): number | undefined {
    const p = this.#pending.get(keyOf(id));
    return p === undefined ? undefined : p.deadline - p.timeoutMs;
  }

  /** Settle `id` with a reply. False if nothing was waiting for it (late or unknown). */
  resolve(id: string, value: unknown): boolean {
    const p = this.#pending.take(keyOf(id));
    if (p === undefined) return false;
    this.#settle(p, null, value);
    return true;
  }

  /** Settle `id` with an error. False if nothing was waiting for it. */
  reject(id: string, error: ChskError): boolean {
    const p = this.#pending.take(keyOf(id));
    if (p === undefined) return false;
    this.#settle(p, error, undefined);
    return true;
  }

  /** Settle every waiting request with `error` (used by `close()`), and cancel the timer. */
  rejectAll(error: ChskError): void {
    const all = this.#pending.values();
    this.#pending.clear();
    this.#disarm();
    for (const p of all) this.#settle(p, error, undefined);
  }

  /** Drop `id` without settling it (its request was never sent). */
  forget(id: string): void {
    this.#pending.take(keyOf(id));
  }

  /** Settle with `error` every waiting request tagged `owner`; the others keep waiting. */
  rejectOwned(owner: number, error: ChskError): void {
    const owned: Pending[] = [];
    for (const p of this.#pending.values()) if (p.owner === owner) owned.push(p);
    if (owned.length === 0) return;
    for (const p of owned) this.#pending.take(p.key);
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
      for (const p of expired) this.#pending.take(p.key);
    }
    if (next !== Infinity) this.#arm(next);
    if (expired !== null) {
      for (const p of expired) {
        this.#settle(p, new ChskError("CHSK_ERR_TIMEOUT", `No reply within ${p.timeoutMs} ms`, { detail: { cbId: p.id } }), undefined);
      }
    }
  }
}
