/**
 * Server → client pushes (protocol.md §6 `send-fn`).
 *
 * Events are buffered per (transport, uid), per (transport, client id) for
 * `sendToClient`, and per transport for `broadcast`. A buffer is flushed
 * `sendBufMsWs` (30) / `sendBufMsAjax` (100) ms after its first event, or at
 * once with `{flush: true}`; the whole buffer is packed ONCE as one frame
 * (`[[ev1 ev2 …] nil]`) and that frame goes to every target client.
 *
 * A target that cannot take the frame right now (an Ajax client between
 * polls, a WS client in its reconnect grace period) has it kept in the
 * {@link PendingStore} (`pending-frames.ts`: Sente's retry window).
 *
 * Clustered, every flushed batch also goes to the cluster (`ClusterLink`):
 * WS batches to the nodes holding the user's other sockets, Ajax batches
 * only through it (its queues serve a client's polls on whichever node).
 */
import { ChskError } from "../core/protocol/errors.js";
import { clusterPending, PendingFrames, type PendingHost, type PendingStore } from "./pending-frames.js";
import { encodePush } from "../core/protocol/codec.js";
import { assertEvent, type ChskEvent } from "../core/protocol/events.js";
import type { Clock } from "../core/clock.js";
import type { Packer } from "../core/packers/types.js";
import { type Delayed, DelayQueue } from "./scheduler.js";
import type { Entry, Registry } from "./registry.js";
import type { Transport, Uid } from "./types.js";
import type { ClusterLink } from "./cluster/link.js";

const Kind = { Uid: 0, Client: 1, Broadcast: 2 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface Batch extends Delayed {
  kind: Kind;
  transport: Transport;
  /** The uid (Kind.Uid) or client id (Kind.Client). */
  key: Uid;
  events: ChskEvent[];
}

export interface OutboxHost extends PendingHost {
  packer: Packer;
  clock: Clock;
  registry: Registry;
  bufMs: Record<Transport, number>;
  /** An application value the packer can't write (reported, never thrown later). */
  packFailed(error: ChskError, uid?: Uid): void;
  /**
   * The cluster, if any: every batch also goes to the other nodes, Ajax
   * batches only through it (a client's polls may land on any node), and
   * a WS client that can't take a frame has it queued there.
   */
  cluster: ClusterLink | null;
}

export class Outbox {
  readonly #uidBufs: Record<Transport, Map<Uid, Batch>> = { ws: new Map(), ajax: new Map() };
  readonly #clientBufs: Record<Transport, Map<string, Batch>> = { ws: new Map(), ajax: new Map() };
  readonly #bcast: Record<Transport, Batch | null> = { ws: null, ajax: null };
  readonly #queues: Record<Transport, DelayQueue<Batch>>;
  /** Frames for clients that could not take them yet. */
  readonly pending: PendingStore;

  constructor(private readonly host: OutboxHost) {
    const local = new PendingFrames(host);
    this.pending = host.cluster === null ? local : clusterPending(local, host.cluster);
    const run = (b: Batch) => this.#flush(b);
    this.#queues = { ws: new DelayQueue(host.clock, run), ajax: new DelayQueue(host.clock, run) };
  }

  // -------------------------------------------------------------------------
  // Buffering

  send(uid: Uid, event: ChskEvent, flush: boolean): void {
    assertEvent(event);
    const reg = this.host.registry;
    // Clustered, the targets may be on other nodes: every batch goes out.
    const any = this.host.cluster !== null;
    this.#buffer("ws", Kind.Uid, uid, event, flush, this.#uidBufs.ws, any || reg.tables.ws.has(uid));
    this.#buffer("ajax", Kind.Uid, uid, event, flush, this.#uidBufs.ajax, any || reg.tables.ajax.has(uid));
  }

  sendToClient(clientId: string, event: ChskEvent, flush: boolean): void {
    assertEvent(event);
    const reg = this.host.registry;
    const any = this.host.cluster !== null;
    this.#buffer("ws", Kind.Client, clientId, event, flush, this.#clientBufs.ws, any || reg.byClient.ws.has(clientId));
    this.#buffer("ajax", Kind.Client, clientId, event, flush, this.#clientBufs.ajax, any || reg.byClient.ajax.has(clientId));
  }

  broadcast(event: ChskEvent, flush: boolean): void {
    assertEvent(event);
    for (const t of ["ws", "ajax"] as const) {
      if (this.host.cluster === null && this.host.registry.tables[t].size === 0) continue;
      let b = this.#bcast[t];
      if (b === null) {
        b = this.#newBatch(Kind.Broadcast, t, null, event);
        this.#bcast[t] = b;
        if (!flush && this.host.bufMs[t] > 0) this.#schedule(b);
      } else b.events.push(event);
      if (flush || this.host.bufMs[t] === 0) this.#flush(b);
    }
  }

  #buffer(t: Transport, kind: Kind, key: Uid, event: ChskEvent, flush: boolean, bufs: Map<Uid, Batch>, hasTargets: boolean): void {
    let b = bufs.get(key);
    if (b === undefined) {
      // Nobody to deliver to: Sente would pack the batch and find no clients.
      if (!hasTargets) return;
      b = this.#newBatch(kind, t, key, event);
      bufs.set(key, b);
      if (!flush && this.host.bufMs[t] > 0) this.#schedule(b);
    } else b.events.push(event);
    if (flush || this.host.bufMs[t] === 0) this.#flush(b);
  }

  #newBatch(kind: Kind, transport: Transport, key: Uid, event: ChskEvent): Batch {
    return { kind, transport, key, events: [event], deadline: 0, done: false };
  }

  #schedule(b: Batch): void {
    b.deadline = this.host.clock.now() + this.host.bufMs[b.transport];
    this.#queues[b.transport].push(b);
  }

  /** Flushes the uid's buffers now (Sente's `[:chsk/close]` with `flush?`). */
  flushUid(uid: Uid): void {
    for (const t of ["ws", "ajax"] as const) {
      const b = this.#uidBufs[t].get(uid);
      if (b !== undefined) this.#flush(b);
    }
  }

  /** Flushes everything buffered (server closing). */
  flushAll(): void {
    for (const t of ["ws", "ajax"] as const) this.#queues[t].drain();
  }

  // -------------------------------------------------------------------------
  // Flushing and delivery

  #flush(b: Batch): void {
    if (b.done) return;
    b.done = true;
    const t = b.transport;
    if (b.kind === Kind.Uid) {
      if (this.#uidBufs[t].get(b.key) === b) this.#uidBufs[t].delete(b.key);
    } else if (b.kind === Kind.Client) {
      if (this.#clientBufs[t].get(b.key as string) === b) this.#clientBufs[t].delete(b.key as string);
    } else if (this.#bcast[t] === b) this.#bcast[t] = null;

    const frame = this.#pack(b);
    if (frame === null) return;
    const cluster = this.host.cluster;
    if (cluster !== null && t === "ajax") {
      // Through the cluster's queues, local clients too: whichever node holds the poll takes it.
      // Unreachable cluster: this node's own Ajax clients get it, as a lone server would deliver it.
      const local = (): void => this.#deliverBatch(b, frame);
      if (b.kind === Kind.Uid) cluster.queueUser(b.key, frame, b.events.length, local);
      else if (b.kind === Kind.Client) cluster.queueClient(b.key as string, frame, b.events.length, local);
      else cluster.queueBroadcast(frame, b.events.length, local);
      return;
    }
    this.#deliverBatch(b, frame);
    if (cluster === null) return;
    if (b.kind === Kind.Uid) cluster.pushUser(b.key, frame, b.events.length);
    else if (b.kind === Kind.Client) cluster.pushClient(b.key as string, frame, b.events.length);
    else cluster.pushBroadcast(frame, b.events.length);
  }

  /** Delivers a packed batch to this node's clients of its transport. */
  #deliverBatch(b: Batch, frame: string | Uint8Array): void {
    const t = b.transport;
    const now = this.host.clock.now();
    const reg = this.host.registry;
    if (b.kind === Kind.Uid) {
      const g = reg.group(t, b.key);
      if (g === undefined) return;
      if (g instanceof Map) {
        const wire = toWire(frame);
        for (const e of g.values()) this.deliver(e, frame, now, wire);
      } else this.deliver(g, frame, now, frame);
    } else if (b.kind === Kind.Client) {
      const e = reg.byClient[t].get(b.key as string);
      if (e !== undefined) this.deliver(e, frame, now, frame);
    } else this.deliverAll(t, frame, now);
  }

  /** A broadcast frame to every connected user's clients on this node. */
  deliverAll(t: Transport, frame: string | Uint8Array, now: number): void {
    const reg = this.host.registry;
    const wire = toWire(frame);
    const table = reg.tables[t];
    for (const uid of reg.connected.any) {
      const g = table.get(uid);
      if (g === undefined) continue;
      if (g instanceof Map) for (const e of g.values()) this.deliver(e, frame, now, wire);
      else this.deliver(g, frame, now, wire);
    }
  }

  /** A frame for one user's clients of transport `t` on this node (from another node). */
  deliverUser(t: Transport, uid: Uid, frame: string | Uint8Array, now: number): void {
    const g = this.host.registry.group(t, uid);
    if (g === undefined) return;
    if (g instanceof Map) {
      const wire = toWire(frame);
      for (const e of g.values()) this.deliver(e, frame, now, wire);
    } else this.deliver(g, frame, now, frame);
  }

  /** Packs the batch once; an event the packer can't write is dropped and reported, the rest still go. */
  #pack(b: Batch): string | Uint8Array | null {
    const packer = this.host.packer;
    try {
      return encodePush(packer, b.events);
    } catch (e) {
      const good: ChskEvent[] = [];
      for (const ev of b.events) {
        try {
          encodePush(packer, [ev]);
          good.push(ev);
        } catch (e2) {
          this.host.packFailed(asChskError(e2, ev), b.kind === Kind.Uid ? b.key : undefined);
        }
      }
      if (good.length === 0) return null;
      try {
        return encodePush(packer, good);
      } catch {
        this.host.packFailed(asChskError(e, b.events[0]!), b.kind === Kind.Uid ? b.key : undefined);
        return null;
      }
    }
  }

  /** Sends `frame` to `entry` now, or keeps it until the client is back (or the retry window ends). */
  deliver(entry: Entry, frame: string | Uint8Array, now: number, wire: string | Uint8Array = frame): void {
    if (entry.pending === null && entry.deliver(frame, now, wire)) return;
    this.pending.keep(entry, frame, now);
  }

  stop(): void {
    for (const t of ["ws", "ajax"] as const) {
      this.#queues[t].stop();
      this.#uidBufs[t].clear();
      this.#clientBufs[t].clear();
      this.#bcast[t] = null;
    }
    this.pending.stop();
  }
}

/** A text frame for many sockets: UTF-8 encode it once. */
function toWire(frame: string | Uint8Array): string | Uint8Array {
  return typeof frame === "string" && frame.length > 64 ? Buffer.from(frame, "utf8") : frame;
}

function asChskError(e: unknown, ev: ChskEvent): ChskError {
  if (e instanceof ChskError) return e;
  return new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", `Cannot pack pushed event [${ev[0]}]: ${String(e)}`, { cause: e });
}
