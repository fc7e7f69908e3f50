/**
 * The connection table (protocol.md §6):
 * `{ws|ajax → uid → client-id → entry}`, plus `connectedUids` and the
 * reconnect grace period that decides `chsk/uidport-close`.
 *
 * An entry is a WS connection (one per socket) or an Ajax client (one per
 * client id, lasting across its polls). A newer entry for the same
 * (transport, uid, client id) replaces the older one, as Sente's conn-id
 * check does. `closedAt` is 0 while the entry is connected; for Ajax, the
 * gap between two polls counts as closed. A closed entry that stays the
 * current one for the grace period (2.5 s WS / 5 s Ajax) is removed, and
 * when that leaves its uid with no entries at all, the uid leaves
 * `connectedUids.any` and `chsk/uidport-close` fires.
 */
import type { Transport, Uid } from "./types.js";
import type { Request } from "./request.js";
import { type PresenceEffect, stepPresence } from "./presence.js";

/** A push frame waiting for its client to come back (Sente's retry loop). */
export interface PendingFrame {
  frame: string | Uint8Array;
  expiresAt: number;
}

export abstract class Entry {
  abstract readonly transport: Transport;
  /** ms since epoch. */
  connectedAt: number;
  lastActivity: number;
  /** 0 while connected; otherwise when the connection (or poll) ended. */
  closedAt = 0;
  /** Counted in `connectedUids` (WS: once open; Ajax: from its first poll). */
  activated = false;
  pending: PendingFrame[] | null = null;
  /** Size of `pending` (bytes; UTF-16 code units for text frames), bounded by `maxBufferedBytesPerClient`. */
  pendingBytes = 0;
  /** Frames dropped undelivered since the client last came back: the first is reported, not each. */
  missed = 0;

  constructor(
    readonly uid: Uid,
    readonly clientId: string,
    /** The request that created the entry (WS upgrade / Ajax handshake or poll). */
    public req: Request,
    now: number,
  ) {
    this.connectedAt = now;
    this.lastActivity = now;
  }

  /**
   * Sends now if possible (open socket / held poll); false otherwise.
   * `wire` is the same frame, possibly pre-encoded to bytes once for many
   * clients; `frame` is what taps report. Also true when the frame found
   * the client a slow consumer: it is dropped along with the connection.
   */
  abstract deliver(frame: string | Uint8Array, now: number, wire: string | Uint8Array): boolean;
  /**
   * The server gives up on this client: cut its connection (or held polls)
   * at once, without a goodbye; `reason` (and, for WS, `code`) go to the
   * `conn:close` tap.
   */
  abstract cut(reason: string, code: number): void;
  /** True while something could be sent to it right now. */
  abstract get isConnected(): boolean;
  /** The server closes it (`closeUser` / `closeClient`): WS close 1000, Ajax: held polls dropped. */
  abstract close(): void;
  /** It left the registry for good (grace over, dropped, server closing). */
  removed(): void {}

  /** When it last sent or received a frame, as well as the entry knows. */
  activityAt(_now: number): number {
    return this.lastActivity;
  }
}

export interface RegistryHooks {
  /** Presence decisions caused by `entry` (see `presence.ts`); called only when there are some. */
  presence(effects: readonly PresenceEffect[], entry: Entry): void;
  /** The entry left the table for good (grace expired, or server closing). */
  removed(entry: Entry): void;
  /** The sweep must run at (about) `at`. */
  wake(at: number): void;
}

/**
 * A uid's entries: the entry itself while it has one client (the common
 * case: no Map per connection), a Map by client id once it has several.
 */
export type Group = Entry | Map<string, Entry>;
type Table = Map<Uid, Group>;


export class Registry {
  readonly tables: Record<Transport, Table> = { ws: new Map(), ajax: new Map() };
  /** Latest entry per client id (for `sendToClient` / `closeClient`). */
  readonly byClient: Record<Transport, Map<string, Entry>> = { ws: new Map(), ajax: new Map() };
  readonly connected = { ws: new Set<Uid>(), ajax: new Set<Uid>(), any: new Set<Uid>() };
  /** Closed entries in closing order (= expiry order, the grace being constant). */
  readonly #grace: Record<Transport, Set<Entry>> = { ws: new Set(), ajax: new Set() };
  readonly #graceMs: Record<Transport, number>;

  constructor(
    graceMsWs: number,
    graceMsAjax: number,
    private readonly hooks: RegistryHooks,
  ) {
    this.#graceMs = { ws: graceMsWs, ajax: graceMsAjax };
  }

  get(t: Transport, uid: Uid, clientId: string): Entry | undefined {
    const g = this.tables[t].get(uid);
    if (g === undefined) return undefined;
    if (g instanceof Map) return g.get(clientId);
    return g.clientId === clientId ? g : undefined;
  }

  /** The uid's entries for a transport (see {@link Group}). */
  group(t: Transport, uid: Uid): Group | undefined {
    return this.tables[t].get(uid);
  }

  /** Makes `entry` current for its key; returns the entry it replaced, if any. */
  put(entry: Entry): Entry | undefined {
    const t = entry.transport;
    const table = this.tables[t];
    const cid = entry.clientId;
    const g = table.get(entry.uid);
    let old: Entry | undefined;
    if (g === undefined) table.set(entry.uid, entry);
    else if (g instanceof Map) {
      old = g.get(cid);
      g.set(cid, entry);
    } else if (g.clientId === cid) {
      old = g;
      table.set(entry.uid, entry);
    } else {
      table.set(
        entry.uid,
        new Map([
          [g.clientId, g],
          [cid, entry],
        ]),
      );
    }
    this.byClient[t].set(cid, entry);
    if (old !== undefined && old !== entry) this.#grace[t].delete(old);
    return old === entry ? undefined : old;
  }

  isCurrent(entry: Entry): boolean {
    return this.get(entry.transport, entry.uid, entry.clientId) === entry;
  }

  /** The entry is connected (WS open / Ajax poll held): counts for `connectedUids`. */
  activate(entry: Entry): void {
    const t = entry.transport;
    if (entry.closedAt !== 0) {
      entry.closedAt = 0;
      this.#grace[t].delete(entry);
    }
    entry.activated = true;
    const fx = stepPresence(this.connected, { type: "up", transport: t, uid: entry.uid });
    if (fx.length !== 0) this.hooks.presence(fx, entry);
  }

  /** The entry's connection (or poll) ended: start its grace period if it is current. */
  markClosed(entry: Entry, now: number): void {
    if (!this.isCurrent(entry)) return;
    const grace = this.#grace[entry.transport];
    entry.closedAt = now;
    grace.delete(entry); // re-insert at the end: keeps the set in expiry order
    grace.add(entry);
    this.hooks.wake(now + this.#graceMs[entry.transport]);
  }

  /** Removes entries whose grace period is over; returns the next expiry. */
  sweep(now: number): number {
    let next = Infinity;
    for (const t of TRANSPORTS) {
      const grace = this.#grace[t];
      if (grace.size === 0) continue;
      const ms = this.#graceMs[t];
      for (const entry of grace) {
        const due = entry.closedAt + ms;
        if (due > now) {
          next = Math.min(next, due);
          break;
        }
        grace.delete(entry);
        if (entry.closedAt !== 0 && this.isCurrent(entry)) this.remove(entry, true);
      }
    }
    return next;
  }

  /** Takes `entry` out of the table; `notify` → uidport-close if its uid is gone. */
  remove(entry: Entry, notify: boolean): void {
    const t = entry.transport;
    this.#grace[t].delete(entry);
    const table = this.tables[t];
    const g = table.get(entry.uid);
    let stillConnected = false;
    if (g === entry) table.delete(entry.uid);
    else if (g instanceof Map && g.get(entry.clientId) === entry) {
      g.delete(entry.clientId);
      for (const e of g.values()) {
        if (e.activated) {
          stillConnected = true;
          break;
        }
      }
      // Back to one client: drop the Map.
      if (g.size === 1) table.set(entry.uid, g.values().next().value!);
    } else return;
    if (this.byClient[t].get(entry.clientId) === entry) this.byClient[t].delete(entry.clientId);
    this.hooks.removed(entry);
    const fx = stepPresence(this.connected, { type: "down", transport: t, uid: entry.uid, stillOnTransport: stillConnected, notify });
    if (fx.length !== 0) this.hooks.presence(fx, entry);
  }

  *entries(t?: Transport): Generator<Entry> {
    for (const tt of t === undefined ? TRANSPORTS : [t]) {
      for (const g of this.tables[tt].values()) {
        if (g instanceof Map) yield* g.values();
        else yield g;
      }
    }
  }

  clear(): void {
    for (const t of TRANSPORTS) {
      this.tables[t].clear();
      this.byClient[t].clear();
      this.#grace[t].clear();
    }
    this.connected.ws.clear();
    this.connected.ajax.clear();
    this.connected.any.clear();
  }
}

export const TRANSPORTS: readonly Transport[] = ["ws", "ajax"];
