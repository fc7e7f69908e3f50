/**
 * Frames waiting for a client that can't take them now: an Ajax client
 * between polls, a WS client in its reconnect grace period (Sente's retry
 * loop, protocol.md §6).
 *
 * Sente retries 6 times over 90, 180, 360, 720, 720 ms (each plus up to as
 * much jitter) and then drops the frame; we keep the frame for exactly that
 * window and hand it over the moment the client polls or reconnects, which
 * is the same outcome with less latency and no retry timers.
 *
 * Limits: the frames kept for one client may add up to
 * `maxBufferedBytesPerClient`; a client already over it when the next frame
 * comes is a slow consumer and the host drops it (`overflow`). Frames that
 * expire are reported once per absence of the client (`missed`), not once
 * per frame: one broadcast to a thousand departed tabs is not a thousand
 * errors (Sente logs the same outcome once per batch, at debug level).
 *
 * One store per server ({@link PendingFrames}); a clustered server keeps
 * frames in the cluster instead while it is reachable ({@link clusterPending}),
 * since the client may come back on another node.
 */
import { ChskError } from "../core/protocol/errors.js";
import type { ClusterLink } from "./cluster/link.js";
import type { Entry } from "./registry.js";
import type { Uid } from "./types.js";

/** Sente's backoffs between delivery attempts; each gets up to as much jitter again. */
export const RETRY_BACKOFFS_MS = [90, 180, 360, 720, 720] as const;

/** How long an undelivered frame is kept: the sum of Sente's waits, jitter included. */
export function retryWindowMs(random: () => number = Math.random): number {
  let ms = 0;
  for (const b of RETRY_BACKOFFS_MS) ms += b + Math.floor(random() * b);
  return ms;
}

/** The store the outbox keeps undeliverable frames in. */
export interface PendingStore {
  /** Keeps `frame` until the client is back (or the retry window ends). */
  keep(entry: Entry, frame: string | Uint8Array, now: number): void;
  /** The next kept frame for a client that just polled / reconnected. */
  take(entry: Entry, now: number): string | Uint8Array | null;
  /** A new connection replaced `old` for the same client: it inherits the kept frames. */
  adopt(entry: Entry, old: Entry): void;
  /** Sends everything kept to a (re)connected WS client. */
  drainTo(entry: Entry, now: number): void;
  /** The entry is gone for good: its kept frames are dropped (and reported). */
  forget(entry: Entry): void;
  /** Lets go of the entry's kept frames without a report (the caller reports why). */
  release(entry: Entry): void;
  /** Drops expired frames; returns the next expiry. */
  sweep(now: number): number;
  stop(): void;
}

export interface PendingHost {
  /** Frames for `entry` could not be delivered in time (called once per absence of the client). */
  dropped(error: ChskError, entry: Entry | undefined, uid?: Uid): void;
  /** Bound on each entry's `pendingBytes`. */
  maxBufferedBytes: number;
  /** `entry` holds more than `maxBufferedBytes` undelivered: drop it (and {@link PendingStore.release} its frames). */
  overflow(entry: Entry): void;
  wake(at: number): void;
}

/** Keeps frames on the entries themselves (`entry.pending`), swept by the server's one timer. */
export class PendingFrames implements PendingStore {
  /** Entries holding undelivered frames. */
  readonly #withPending = new Set<Entry>();

  constructor(private readonly host: PendingHost) {}

  keep(entry: Entry, frame: string | Uint8Array, now: number): void {
    if (entry.pendingBytes > this.host.maxBufferedBytes) {
      this.host.overflow(entry);
      return;
    }
    const p = { frame, expiresAt: now + retryWindowMs() };
    if (entry.pending === null) entry.pending = [p];
    else entry.pending.push(p);
    entry.pendingBytes += sizeOf(frame);
    this.#withPending.add(entry);
    this.host.wake(p.expiresAt);
  }

  /** The next undelivered frame for a client that just polled / reconnected. */
  take(entry: Entry, now: number): string | Uint8Array | null {
    const frame = this.#take(entry, now);
    // The client is back: a later absence is reported again.
    entry.missed = 0;
    return frame;
  }

  #take(entry: Entry, now: number): string | Uint8Array | null {
    const pending = entry.pending;
    let frame: string | Uint8Array | null = null;
    if (pending !== null) {
      while (pending.length > 0) {
        const p = pending.shift()!;
        entry.pendingBytes -= sizeOf(p.frame);
        if (p.expiresAt >= now) {
          frame = p.frame;
          break;
        }
        this.#expired(entry);
      }
      if (pending.length === 0) this.release(entry);
    }
    return frame;
  }

  /** A new connection replaced `old` for the same client: it inherits the undelivered frames. */
  adopt(entry: Entry, old: Entry): void {
    if (old.pending === null) return;
    entry.pending = entry.pending === null ? old.pending : [...old.pending, ...entry.pending];
    entry.pendingBytes += old.pendingBytes;
    old.pending = null;
    old.pendingBytes = 0;
    this.#withPending.delete(old);
    this.#withPending.add(entry);
  }

  /** Sends everything pending to a (re)connected WS client. */
  drainTo(entry: Entry, now: number): void {
    let frame: string | Uint8Array | null;
    entry.missed = 0;
    while (entry.pending !== null && (frame = this.#take(entry, now)) !== null) {
      if (!entry.deliver(frame, now, frame)) {
        // Closed again meanwhile: put it back in front.
        (entry.pending ??= []).unshift({ frame, expiresAt: now + retryWindowMs() });
        entry.pendingBytes += sizeOf(frame);
        this.#withPending.add(entry);
        return;
      }
    }
  }

  /** The entry is gone for good: its undelivered frames are dropped (and reported). */
  forget(entry: Entry): void {
    if (entry.pending === null) return;
    this.#expired(entry);
    this.release(entry);
  }

  /** Lets go of the entry's undelivered frames without a report (the caller reports why). */
  release(entry: Entry): void {
    entry.pending = null;
    entry.pendingBytes = 0;
    this.#withPending.delete(entry);
  }

  /** Drops expired frames; returns the next expiry. */
  sweep(now: number): number {
    let next = Infinity;
    for (const entry of this.#withPending) {
      const pending = entry.pending;
      if (pending === null) {
        this.#withPending.delete(entry);
        continue;
      }
      let kept = 0;
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        if (p.expiresAt < now) {
          entry.pendingBytes -= sizeOf(p.frame);
          this.#expired(entry);
        } else {
          pending[kept++] = p;
          if (p.expiresAt < next) next = p.expiresAt;
        }
      }
      pending.length = kept;
      if (kept === 0) this.release(entry);
    }
    return next;
  }

  #expired(entry: Entry): void {
    if (entry.missed++ !== 0) return;
    this.host.dropped(
      new ChskError("CHSK_ERR_CLOSED", `Push dropped: client ${entry.clientId} did not poll or reconnect in time`, {
        detail: { transport: entry.transport },
      }),
      entry,
    );
  }

  stop(): void {
    for (const e of this.#withPending) {
      e.pending = null;
      e.pendingBytes = 0;
    }
    this.#withPending.clear();
  }
}

/**
 * A clustered server's store: while the cluster is reachable a frame waits
 * in the client's queue there, so whichever node the client reaches next
 * delivers it; during an outage, here (as a lone server would keep it).
 */
export function clusterPending(local: PendingStore, cluster: ClusterLink): PendingStore {
  return {
    keep(entry, frame, now) {
      if (cluster.isUp) cluster.keep(entry, frame);
      else local.keep(entry, frame, now);
    },
    take: (entry, now) => local.take(entry, now),
    adopt: (entry, old) => local.adopt(entry, old),
    drainTo: (entry, now) => local.drainTo(entry, now),
    forget: (entry) => local.forget(entry),
    release: (entry) => local.release(entry),
    sweep: (now) => local.sweep(now),
    stop: () => local.stop(),
  };
}

/** What a kept frame costs: bytes, or UTF-16 code units for text (its size in memory, near enough). */
const sizeOf = (frame: string | Uint8Array): number => (typeof frame === "string" ? frame.length : frame.byteLength);
