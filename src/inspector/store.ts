/**
 * The viewer's memory: a ring buffer of {@link FrameRecord}s with a fixed
 * capacity, filtered views over it, per-connection and per-user summaries,
 * and change notifications batched to a render rate.
 *
 * Why it looks like this (the TUI must stay smooth at 5,000 frames/s):
 * - `push` is O(1) and allocates nothing per record beyond the summaries'
 *   counters (`createSessionModel` from `chsk/core`); the oldest record is
 *   overwritten once the ring is full.
 * - A {@link FrameView} keeps the store positions of the records that pass
 *   its filter and catches up lazily, on read: a render costs the records
 *   that arrived since the last render plus the visible window, never a
 *   copy or a scan of the whole buffer. Only a filter change rescans.
 * - Listeners hear about changes at most once per `notifyIntervalMs`,
 *   however many records arrived in between, so the render rate is bounded
 *   by the interval and not by the traffic.
 *
 * Positions: every record gets an absolute position `pos` (0, 1, 2, … in
 * arrival order, never reused). The ring holds positions
 * `[first, total)`; a position below `first` was evicted.
 */
import {
  createSessionModel,
  systemClock,
  type Cancel,
  type Clock,
  type FrameRecord,
  type RecordChange,
  type SessionModel,
  type Unsubscribe,
} from "../core/index.js";

/** Options of {@link FrameStore}. */
export interface FrameStoreOptions {
  /**
   * How many records the ring keeps; the oldest is dropped beyond it. Memory
   * is bounded by this times the size of a record (its `raw` and `data`).
   * @default 10_000
   */
  capacity?: number;
  /**
   * Listeners are told about new records at most once per this many ms
   * (20 renders a second at the default), however many arrive.
   * @default 50
   */
  notifyIntervalMs?: number;
  /**
   * Most connections the summaries track; the least recently active (closed
   * ones first) are forgotten beyond it.
   * @default 10_000
   */
  maxConns?: number;
  /**
   * Most users the summaries track; the least recently active are forgotten beyond it.
   * @default 10_000
   */
  maxUsers?: number;
  /** Where the notification timer comes from (tests pass a manual clock). @default systemClock */
  clock?: Clock;
}

/** What a listener hears: the counts since the previous notification. */
export interface StoreUpdate {
  /** Records pushed since the last notification. */
  added: number;
  /** Records evicted from the ring since the last notification. */
  evicted: number;
  /** Records changed in place since the last notification (a reply paired, a flag set: {@link FrameStore.update}). */
  changed: number;
  /** Records ever pushed (the next record's position). */
  total: number;
  /** Records in the ring now. */
  size: number;
}

/** A record filter: true keeps the record. Must not throw (the TUI's filters never do). */
export type RecordPredicate = (record: FrameRecord) => boolean;

const DEFAULTS = { capacity: 10_000, notifyIntervalMs: 50 };

function checkCount(name: string, v: number, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${String(v)}`);
  if (v < min) throw new RangeError(`${name} must be at least ${min}, got ${v}`);
  return v;
}

/** The ring buffer. See the module comment. */
export class FrameStore {
  readonly capacity: number;
  readonly notifyIntervalMs: number;
  /**
   * Per-connection and per-user summaries (`chsk/core`'s session model) over
   * every record ever pushed, not only those still in the ring.
   */
  readonly summaries: SessionModel;
  readonly #ring: (FrameRecord | undefined)[];
  readonly #clock: Clock;
  #total = 0;
  #listeners: readonly ((u: StoreUpdate) => void)[] = [];
  #pendingAdded = 0;
  #pendingEvicted = 0;
  #pendingChanged = 0;
  #revision = 0;
  #timer: Cancel | undefined;
  #lastNotify = -Infinity;
  #closed = false;

  constructor(options: FrameStoreOptions = {}) {
    this.capacity = checkCount("capacity", options.capacity ?? DEFAULTS.capacity, 1);
    this.notifyIntervalMs = checkCount("notifyIntervalMs", options.notifyIntervalMs ?? DEFAULTS.notifyIntervalMs, 0);
    this.summaries = createSessionModel({ maxConns: options.maxConns, maxUsers: options.maxUsers });
    this.#clock = options.clock ?? systemClock;
    this.#ring = new Array<FrameRecord | undefined>(this.capacity);
  }

  /** Records ever pushed; also the position the next record gets. */
  get total(): number {
    return this.#total;
  }
  /** Position of the oldest record still held. */
  get first(): number {
    return Math.max(0, this.#total - this.capacity);
  }
  /** Records held now (at most `capacity`). */
  get size(): number {
    return this.#total - this.first;
  }
  /** Records dropped from the ring so far. */
  get evicted(): number {
    return this.first;
  }

  /** The record at absolute position `pos`, or undefined if evicted or not yet pushed. */
  get(pos: number): FrameRecord | undefined {
    if (pos < this.first || pos >= this.#total) return undefined;
    return this.#ring[pos % this.capacity];
  }

  push(record: FrameRecord): void {
    if (this.#closed) return;
    if (this.#total >= this.capacity) this.#pendingEvicted++;
    this.#ring[this.#total % this.capacity] = record;
    this.#total++;
    this.#pendingAdded++;
    this.summaries.add(record);
    this.#schedule();
  }

  /**
   * A record already pushed changed in place (the decoder's `onUpdate`: its
   * reply arrived, a flag was set or taken back): the summaries are
   * corrected and listeners told, so the list shows the new flags.
   */
  update(record: FrameRecord, change: RecordChange): void {
    if (this.#closed) return;
    this.summaries.update(record, change);
    this.#revision++;
    this.#pendingChanged++;
    this.#schedule();
  }

  /** Increments on every {@link update}: a view that caches rows by record re-renders them when it changes. */
  get revision(): number {
    return this.#revision;
  }

  /** A filtered view over the ring (see {@link FrameView}). */
  view(predicate?: RecordPredicate): FrameView {
    return new FrameView(this, predicate);
  }

  /**
   * `listener` is called after records arrive, at most once per
   * `notifyIntervalMs`. A listener that throws is dropped from nothing and
   * stops nothing: its error is rethrown on a microtask (the TUI catches
   * its own).
   */
  subscribe(listener: (u: StoreUpdate) => void): Unsubscribe {
    this.#listeners = [...this.#listeners, listener];
    if (this.#pendingAdded > 0 || this.#pendingChanged > 0) this.#schedule();
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Tells listeners now about anything pending (a quit, a test), without waiting for the interval. */
  flush(): void {
    this.#timer?.();
    this.#timer = undefined;
    if (this.#pendingAdded === 0 && this.#pendingEvicted === 0 && this.#pendingChanged === 0) return;
    const u: StoreUpdate = {
      added: this.#pendingAdded,
      evicted: this.#pendingEvicted,
      changed: this.#pendingChanged,
      total: this.#total,
      size: this.size,
    };
    this.#pendingAdded = 0;
    this.#pendingEvicted = 0;
    this.#pendingChanged = 0;
    this.#lastNotify = this.#clock.now();
    for (const l of this.#listeners) {
      try {
        l(u);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** Stops notifying and accepting records. Idempotent; the records stay readable. */
  close(): void {
    this.#closed = true;
    this.#timer?.();
    this.#timer = undefined;
    this.#listeners = [];
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#listeners.length === 0) return;
    const wait = Math.max(0, this.#lastNotify + this.notifyIntervalMs - this.#clock.now());
    this.#timer = this.#clock.setTimer(wait, () => {
      this.#timer = undefined;
      this.flush();
    });
  }
}

/**
 * The positions of the store's records that pass a predicate, ascending,
 * brought up to date on read. Holds at most `capacity` positions (plus the
 * slack of a lazily compacted head).
 */
export class FrameView {
  readonly predicate: RecordPredicate | undefined;
  readonly #store: FrameStore;
  #pos: number[] = [];
  #head = 0;
  /** Next store position to examine. */
  #scanned = 0;

  constructor(store: FrameStore, predicate?: RecordPredicate) {
    this.#store = store;
    this.predicate = predicate;
  }

  /**
   * Catches up with the store: examines the records that arrived since the
   * last call (up to position `until`, exclusive: a paused view passes the
   * total it froze at) and forgets evicted ones. O(new records).
   */
  refresh(until = this.#store.total): this {
    const store = this.#store;
    const first = store.first;
    const end = Math.min(until, store.total);
    let p = Math.max(this.#scanned, first);
    const pred = this.predicate;
    for (; p < end; p++) {
      const r = store.get(p);
      if (r !== undefined && (pred === undefined || pred(r))) this.#pos.push(p);
    }
    if (end > this.#scanned) this.#scanned = end;
    while (this.#head < this.#pos.length && this.#pos[this.#head]! < first) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#pos.length) {
      this.#pos = this.#pos.slice(this.#head);
      this.#head = 0;
    }
    return this;
  }

  /** Matching records held, as of the last {@link refresh}. */
  get length(): number {
    return this.#pos.length - this.#head;
  }

  /** Store position of the `i`-th match (0 = oldest). */
  posAt(i: number): number | undefined {
    return i < 0 || i >= this.length ? undefined : this.#pos[this.#head + i];
  }

  at(i: number): FrameRecord | undefined {
    const p = this.posAt(i);
    return p === undefined ? undefined : this.#store.get(p);
  }

  /** Index of the first match at or after store position `pos` (`length` if none). Binary search. */
  indexAtOrAfter(pos: number): number {
    let lo = this.#head;
    let hi = this.#pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#pos[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.#head;
  }

  /** Records `[start, end)` of the view, each with its store position: the visible window. */
  window(start: number, end: number): { pos: number; record: FrameRecord }[] {
    const out: { pos: number; record: FrameRecord }[] = [];
    const s = Math.max(0, start);
    const e = Math.min(this.length, end);
    for (let i = s; i < e; i++) {
      const pos = this.#pos[this.#head + i]!;
      const record = this.#store.get(pos);
      if (record !== undefined) out.push({ pos, record });
    }
    return out;
  }
}
