/**
 * Timers without a timer per connection.
 *
 * `Sweeper` owns one timer for the whole server. Work with a deadline
 * (WS keep-alive, long-poll timeouts, POST reply timeouts, reconnect grace
 * periods, undelivered-push expiry) lives in collections that the server's
 * sweep function walks; the sweep returns the next time it needs to run.
 * Wake-ups are coalesced to `quantumMs`, so a deadline fires up to one
 * quantum late and a server with 100k idle sockets still wakes a few times
 * per keep-alive period, not 100k times.
 *
 * `DelayQueue` is the same idea for the send buffers: every item of a queue
 * has the same delay, so arrival order is deadline order and one timer
 * (for the head) serves them all.
 */
import type { Cancel, Clock } from "../core/clock.js";

export class Sweeper {
  #cancel: Cancel | null = null;
  #armedFor = Infinity;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly quantumMs: number,
    /** Does the due work at `now`; returns the next due time, or Infinity. */
    private readonly sweep: (now: number) => number,
  ) {}

  /** Makes sure the sweep runs at (about) `at`. Cheap when already armed earlier. */
  wake(at: number): void {
    if (this.#stopped || at >= this.#armedFor) return;
    this.#arm(at);
  }

  #arm(at: number): void {
    const now = this.clock.now();
    // Coalesce: never wake sooner than a quantum from now. Only ever move the
    // timer earlier, so a stream of near-term wakes can't keep postponing it.
    const when = Math.max(at, now + this.quantumMs);
    if (when >= this.#armedFor) return;
    if (this.#cancel) this.#cancel();
    this.#armedFor = when;
    this.#cancel = this.clock.setTimer(when - now, this.#fire);
  }

  #fire = (): void => {
    this.#cancel = null;
    this.#armedFor = Infinity;
    if (this.#stopped) return;
    const next = this.sweep(this.clock.now());
    if (next !== Infinity && !this.#stopped && next < this.#armedFor) this.#arm(next);
  };

  stop(): void {
    this.#stopped = true;
    if (this.#cancel) this.#cancel();
    this.#cancel = null;
    this.#armedFor = Infinity;
  }
}

/** An item of a {@link DelayQueue}; `done` items are skipped when due. */
export interface Delayed {
  deadline: number;
  done: boolean;
}

/** FIFO of same-delay items with a single timer for the head. */
export class DelayQueue<T extends Delayed> {
  #items: T[] = [];
  #head = 0;
  #cancel: Cancel | null = null;
  #firing = false;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly run: (item: T) => void,
  ) {}

  push(item: T): void {
    if (this.#stopped) return;
    this.#items.push(item);
    if (this.#cancel === null && !this.#firing) this.#arm(item.deadline);
  }

  #arm(deadline: number): void {
    this.#cancel = this.clock.setTimer(Math.max(0, deadline - this.clock.now()), this.#fire);
  }

  #fire = (): void => {
    this.#cancel = null;
    const now = this.clock.now();
    const items = this.#items;
    this.#firing = true;
    try {
      while (this.#head < items.length && !this.#stopped) {
        const item = items[this.#head]!;
        if (item.done) {
          this.#head++;
          continue;
        }
        if (item.deadline > now) break;
        this.#head++;
        this.run(item);
      }
    } finally {
      this.#firing = false;
    }
    if (this.#head >= items.length) {
      this.#items = [];
      this.#head = 0;
    } else {
      if (this.#head > 1024 && this.#head * 2 > items.length) {
        this.#items = items.slice(this.#head);
        this.#head = 0;
      }
      if (!this.#stopped) this.#arm(this.#items[this.#head]!.deadline);
    }
  };

  /** Runs every pending item now (used by `close()` to flush). */
  drain(): void {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const item = items[i]!;
      if (!item.done) this.run(item);
    }
    this.#items = [];
    this.#head = 0;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#cancel) this.#cancel();
    this.#cancel = null;
    this.#items = [];
    this.#head = 0;
  }
}
