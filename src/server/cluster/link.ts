/**
 * One server's side of a cluster: turns the server's local happenings
 * (a batch flushed, a uid connected, a poll held) into engine steps, and
 * the engine's messages into local deliveries. Engine-neutral: everything
 * a Redis or in-memory engine would share lives here.
 *
 * Delivery, per batch the outbox flushes (packed once, as without a cluster):
 *   WS  → local clients now, then one step to the other nodes holding the
 *         user's (client's) sockets, which deliver the same frame.
 *   Ajax → one step queues it for each of the user's live Ajax clients;
 *         the node holding a client's poll is woken and takes it, so a
 *         client's polls may land on any node (no sticky sessions).
 *   A WS client that can't take a frame (reconnecting) has it queued the
 *   same way, and takes its queue when it opens on any node.
 *
 * Presence: a uid's first WS connection on this node and its last one
 * (after the grace) are steps; Ajax clients count while a poll is held and
 * for the grace after it. The step that makes a uid known or unknown
 * cluster-wide returns so, and only that node routes uidport-open/-close.
 * A reaper step, run by every node, clears nodes whose heartbeat lapsed and
 * closes the uids that nobody holds any more.
 *
 * Faults: a step that fails is counted (and the events it carried, as
 * `lostEvents`), reported once per outage, and never retried blindly; local
 * delivery never waits for the engine. When the engine is back, the node
 * registers everything it holds again and replays the presence changes it
 * could not report.
 */
import { ChskError } from "../../core/protocol/errors.js";
import type { Entry } from "../registry.js";
import type { Transport, Uid } from "../types.js";
import type { ClusterEngine, ClusterMessage, ClusterOption, ClusterStats, ClusterUids, Frame, NodeReport, Queued, Taken, Windows } from "./types.js";
import type { Cancel } from "../../core/clock.js";

/** What the link needs from its server. */
export interface ClusterHost {
  now(): number;
  setTimer(ms: number, fn: () => void): Cancel;
  /** Grace periods (ms). */
  graceMs: Record<Transport, number>;
  lpTimeoutMs: number;
  /** Sente's redelivery window for one frame (jittered). */
  frameWindowMs(): number;
  deliverUser(uid: Uid, frame: Frame): void;
  deliverClient(clientId: string, frame: Frame): void;
  deliverBroadcast(frame: Frame): void;
  /** A frame was queued for an Ajax / WS client this node may hold. */
  wake(clientId: string): void;
  /** A WS client's queued frames, taken when it opened here. */
  drain(clientId: string, frames: Frame[]): void;
  uidport(open: boolean, uid: Uid, entry: Entry | null): void;
  report(error: ChskError): void;
  warn(message: string, fields: Record<string, unknown>): void;
  /** This node's local view, for heartbeats and resynchronisation. */
  snapshot(): { wsUids: Uid[]; wsClients: string[]; heldAjax: { clientId: string; uid: Uid }[]; report: NodeReport };
}

const nodes = (n: number): number => n;

export const encodeUid = (uid: Uid): string => JSON.stringify(uid);
export const decodeUid = (s: string): Uid => JSON.parse(s) as Uid;

export class ClusterLink {
  readonly nodeId: string;
  readonly engine: ClusterEngine;
  readonly ready: Promise<void>;
  readonly #opt: ClusterOption;
  readonly #host: ClusterHost;
  readonly #stats: ClusterStats;
  /** WS presence changes that could not be reported: replayed when the engine is back (uid → up?). */
  readonly #unsynced = new Map<Uid, boolean>();
  /**
   * How many remote targets each user had at its last successful step
   * (`w:uid` nodes holding its sockets, `a:uid` Ajax clients; bounded, oldest
   * forgotten): a failed step counts its events as lost only where there
   * was, as far as this node knows, someone on the other side.
   */
  readonly #reach = new Map<string, number>();
  #timers: Cancel[] = [];
  /** The first heartbeat went through: a later one that finds the node unknown means it was reaped. */
  #registered = false;
  #outage = false;
  #closed = false;

  constructor(opt: ClusterOption, host: ClusterHost) {
    this.#opt = opt;
    this.#host = host;
    this.nodeId = opt.nodeId;
    this.engine = opt.engine;
    this.#stats = {
      nodeId: opt.nodeId,
      engine: opt.engine.kind,
      status: "starting",
      published: 0,
      received: 0,
      queued: 0,
      taken: 0,
      expired: 0,
      queueFull: 0,
      failures: 0,
      lostEvents: 0,
      lostQueued: 0,
      resyncs: 0,
      lastError: null,
    };
    this.ready = this.#start();
    // A failed start is reported through `ready` and the server's error event; never unhandled.
    this.ready.catch(() => {});
  }

  async #start(): Promise<void> {
    try {
      await this.engine.start(this.nodeId, {
        message: (m) => this.#onMessage(m),
        disconnected: () => this.#fail(new Error("connection to the store lost"), 0),
        reconnected: () => void this.#resync(),
      });
    } catch (e) {
      this.#stats.status = "closed";
      const error = e instanceof ChskError ? e : new ChskError("CHSK_ERR_CLUSTER", `Cluster start failed: ${String(e)}`, { cause: e });
      this.#host.report(error);
      throw error;
    }
    if (this.#closed) return;
    this.#stats.status = "ready";
    await this.#beat();
    this.#loop(this.#opt.heartbeatMs, () => this.#beat());
    this.#loop(Math.max(100, Math.min(500, this.#opt.heartbeatMs)), () => this.#reap());
  }

  #loop(ms: number, f: () => Promise<void>): void {
    const tick = (): void => {
      if (this.#closed) return;
      void f().finally(() => {
        if (!this.#closed) this.#timers.push(this.#host.setTimer(ms, tick));
      });
    };
    this.#timers.push(this.#host.setTimer(ms, tick));
  }

  /** Steps can be taken now (not starting, not in an outage). */
  get isUp(): boolean {
    return !this.#outage && !this.#closed && this.#stats.status === "ready" && this.engine.isReady;
  }

  get windows(): Windows {
    return { frameMs: this.#host.frameWindowMs(), maxQueued: this.#opt.maxQueuedFrames };
  }

  stats(): ClusterStats {
    return { ...this.#stats, lastError: this.#stats.lastError === null ? null : { ...this.#stats.lastError } };
  }

  // -------------------------------------------------------------------------
  // Steps and their failures

  #fail(e: unknown, events: number, queued = false): void {
    const s = this.#stats;
    s.failures++;
    if (queued) s.lostQueued += events;
    else s.lostEvents += events;
    const message = e instanceof Error ? e.message : String(e);
    s.lastError = { code: "CHSK_ERR_CLUSTER", message, at: this.#host.now() };
    if (!this.#outage && !this.#closed) this.#down(e);
  }

  #down(e: unknown): void {
    if (this.#outage || this.#closed) return;
    this.#outage = true;
    this.#stats.status = "down";
    const message = e instanceof Error ? e.message : String(e);
    this.#host.report(
      new ChskError("CHSK_ERR_CLUSTER", `Cluster store unreachable (${message}): serving this node's clients only until it is back`, {
        detail: { nodeId: this.nodeId, engine: this.engine.kind },
        cause: e,
      }),
    );
  }

  /**
   * Runs a step; on failure counts it and resolves `fallback`. `reach`: the
   * user (or `*` for broadcasts) whose pushed `events` the step carried, and
   * `count` how many remote targets its result names.
   */
  async #step<T>(run: () => Promise<T>, fallback: T, events = 0, reach?: string, count?: (r: T) => number): Promise<T> {
    if (this.#closed) return fallback;
    if (!this.engine.isReady) {
      this.#fail(new Error("not connected"), this.#lost(reach, events));
      return fallback;
    }
    try {
      const r = await run();
      if (reach !== undefined && count !== undefined) this.#remember(reach, count(r));
      return r;
    } catch (e) {
      this.#fail(e, this.#lost(reach, events));
      return fallback;
    }
  }

  #remember(key: string, n: number): void {
    const reach = this.#reach;
    reach.delete(key);
    reach.set(key, n);
    if (reach.size > 10_000) reach.delete(reach.keys().next().value!);
  }

  /** Events of a failed step that may have had someone to reach (unknown counts as yes). */
  #lost(reach: string | undefined, events: number): number {
    if (reach === undefined) return events;
    const n = this.#reach.get(reach);
    return n === undefined || n > 0 ? events : 0;
  }

  async #resync(): Promise<void> {
    if (this.#closed) return;
    const node = this.nodeId;
    try {
      await this.engine.heartbeat(node, this.#opt.nodeTtlMs, this.#host.snapshot().report);
      // A restarted store forgot every node. The uids were open before the outage and still are: no events.
      await this.#register(false);
      // What changed while the store was away: uids that left this node may now be gone for good.
      for (const [uid, up] of [...this.#unsynced]) {
        this.#unsynced.delete(uid);
        if (!up && (await this.engine.wsDown(node, encodeUid(uid)))) this.#host.uidport(false, uid, null);
      }
    } catch (e) {
      this.#fail(e, 0);
      return;
    }
    this.#outage = false;
    this.#stats.status = "ready";
    this.#stats.resyncs++;
  }

  /**
   * Registers everything this node holds. `reopen`: the cluster closed our
   * users when it took the node for dead, so a uid this makes known again
   * gets its uidport-open.
   */
  async #register(reopen: boolean): Promise<void> {
    const snap = this.#host.snapshot();
    const node = this.nodeId;
    const holdMs = this.#host.lpTimeoutMs + this.#host.graceMs.ajax;
    await Promise.all([
      ...snap.wsUids.map(async (uid) => {
        if ((await this.engine.wsUp(node, encodeUid(uid))) && reopen) this.#host.uidport(true, uid, null);
      }),
      ...snap.wsClients.map((cid) => this.engine.wsClientOpen(node, cid).then((t) => this.#drained(cid, t))),
      ...snap.heldAjax.map(async (a) => {
        const t = await this.engine.ajaxHold(node, a.clientId, encodeUid(a.uid), holdMs, this.#ajaxTtl());
        if (t.opened && reopen) this.#host.uidport(true, a.uid, null);
        this.#requeue(a.clientId, t);
      }),
    ]);
  }

  /**
   * Heartbeats and reaps run every second whatever happens: during an
   * outage they are not counted as failures (only what carried work is),
   * though the first one may be what reveals the outage.
   */
  async #background<T>(run: () => Promise<T>, fallback: T): Promise<T> {
    if (this.#outage) return this.engine.isReady ? run().catch(() => fallback) : fallback;
    return this.#step(run, fallback);
  }

  async #beat(): Promise<void> {
    const snap = this.#host.snapshot();
    const forgotten = await this.#background(() => this.engine.heartbeat(this.nodeId, this.#opt.nodeTtlMs, snap.report), false);
    // Reaped while alive (a pause longer than the TTL): the others closed our users; register them again.
    if (forgotten && this.#registered && !this.#outage) await this.#register(true).catch((e: unknown) => this.#fail(e, 0));
    this.#registered = true;
  }

  async #reap(): Promise<void> {
    const closed = await this.#background(() => this.engine.reap(this.#host.graceMs.ws, 1000), [] as string[]);
    for (const uid of closed) this.#host.uidport(false, decodeUid(uid), null);
  }

  #ajaxTtl(): number {
    return this.#host.lpTimeoutMs + this.#host.graceMs.ajax + 10_000;
  }

  // -------------------------------------------------------------------------
  // Outbox: flushed batches

  /** A WS batch for a user, already delivered to this node's clients. */
  pushUser(uid: Uid, frame: Frame, events: number): void {
    this.#stats.published++;
    const key = encodeUid(uid);
    void this.#step(() => this.engine.pushUser(this.nodeId, key, frame), 0, events, `w:${key}`, nodes);
  }

  /**
   * An Ajax batch for a user: queued for each of its Ajax clients, wherever
   * they poll. While the store is unreachable, `local` delivers it to this
   * node's own Ajax clients instead (what a lone server would do).
   */
  queueUser(uid: Uid, frame: Frame, events: number, local: () => void): void {
    this.#stats.published++;
    const key = encodeUid(uid);
    this.#queue(() => this.engine.queueUser(key, frame, this.windows), events, `a:${key}`, local);
  }

  pushClient(clientId: string, frame: Frame, events: number): void {
    this.#stats.published++;
    void this.#step(() => this.engine.pushClient(this.nodeId, clientId, frame), 0, events, `c:${clientId}`, nodes);
  }

  queueClient(clientId: string, frame: Frame, events: number, local: () => void): void {
    this.#stats.published++;
    this.#queue(() => this.engine.queueClient(clientId, frame, this.windows), events, `q:${clientId}`, local);
  }

  pushBroadcast(frame: Frame, events: number): void {
    this.#stats.published++;
    void this.#step(() => this.engine.pushBroadcast(this.nodeId, frame), undefined, events);
  }

  queueBroadcast(frame: Frame, events: number, local: () => void): void {
    this.#stats.published++;
    this.#queue(() => this.engine.queueBroadcast(frame, this.windows), events, "a:*", local);
  }

  #queue(run: () => Promise<Queued>, events: number, reach: string, local: () => void): void {
    if (!this.isUp) {
      this.#fail(new Error("not connected"), this.#lost(reach, events), true);
      local();
      return;
    }
    run().then(
      (q) => {
        this.#remember(reach, q.queued + q.full);
        this.#counted(q);
      },
      (e: unknown) => {
        this.#fail(e, this.#lost(reach, events), true);
        local();
      },
    );
  }

  /** A WS client here can't take a frame now (reconnecting): it waits in its queue, for any node. */
  keep(entry: Entry, frame: Frame): void {
    void this.#step(() => this.engine.keep(entry.clientId, frame, this.windows), null).then((q) => this.#counted(q));
  }

  #counted(q: { queued: number; full: number } | null): void {
    if (q === null) return;
    this.#stats.queued += q.queued;
    this.#stats.queueFull += q.full;
  }

  #onMessage(m: ClusterMessage): void {
    if (this.#closed) return;
    switch (m.type) {
      case "user":
        this.#stats.received++;
        this.#host.deliverUser(decodeUid(m.uid), m.frame);
        return;
      case "client":
        this.#stats.received++;
        this.#host.deliverClient(m.clientId, m.frame);
        return;
      case "broadcast":
        if (m.from === this.nodeId) return;
        this.#stats.received++;
        this.#host.deliverBroadcast(m.frame);
        return;
      case "wake":
        this.#host.wake(m.clientId);
    }
  }

  // -------------------------------------------------------------------------
  // Presence

  /**
   * The uid's first WS connection on this node (`up`), or its last one gone
   * after the grace. `local`: what a lone server would decide (used while
   * the store is unreachable).
   */
  wsPresence(up: boolean, uid: Uid, entry: Entry, local: boolean): void {
    if (!this.engine.isReady || this.#outage) {
      this.#unsynced.set(uid, up);
      if (local) this.#host.uidport(up, uid, entry);
      return;
    }
    const key = encodeUid(uid);
    const step = up ? () => this.engine.wsUp(this.nodeId, key) : () => this.engine.wsDown(this.nodeId, key);
    void step().then(
      (changed) => {
        if (changed) this.#host.uidport(up, uid, entry);
      },
      (e: unknown) => {
        this.#fail(e, 0);
        this.#unsynced.set(uid, up);
        if (local) this.#host.uidport(up, uid, entry);
      },
    );
  }

  /** A WS client opened here: what was queued for it comes to this node. */
  wsClientOpen(clientId: string): void {
    void this.#step(() => this.engine.wsClientOpen(this.nodeId, clientId), null).then((t) => this.#drained(clientId, t));
  }

  #drained(clientId: string, t: Taken | null): void {
    if (t === null) return;
    this.#stats.expired += t.expired;
    if (t.frames.length === 0) return;
    this.#stats.taken += t.frames.length;
    this.#host.drain(clientId, t.frames);
  }

  wsClientGone(clientId: string): void {
    void this.#step(() => this.engine.wsClientGone(this.nodeId, clientId), undefined);
  }

  /** Settles (never rejects) once every node can tell the client id is `uid`'s. */
  ajaxHandshake(clientId: string, uid: Uid): Promise<void> {
    return this.#step(() => this.engine.ajaxHandshake(clientId, encodeUid(uid), this.#ajaxTtl()), undefined);
  }

  /** Whether a client id unknown here handshook elsewhere as `uid` (then its poll is held, not answered with a handshake). */
  async ajaxKnownAs(clientId: string, uid: Uid): Promise<boolean> {
    const u = await this.#step(() => this.engine.ajaxLookup(clientId), null);
    return u !== null && u === encodeUid(uid);
  }

  /**
   * A poll is held here: the client counts as connected, and the next frame
   * queued for it (if any) is returned. `local`: a lone server's uidport-open decision.
   */
  async ajaxHold(entry: Entry, local: boolean): Promise<Frame | null> {
    const holdMs = this.#host.lpTimeoutMs + this.#host.graceMs.ajax;
    const r = await this.#step(() => this.engine.ajaxHold(this.nodeId, entry.clientId, encodeUid(entry.uid), holdMs, this.#ajaxTtl()), null);
    if (r === null) {
      if (local) this.#host.uidport(true, entry.uid, entry);
      return null;
    }
    if (r.opened) this.#host.uidport(true, entry.uid, entry);
    return this.#took(r);
  }

  async ajaxTake(clientId: string): Promise<Frame | null> {
    return this.#took(await this.#step(() => this.engine.ajaxTake(clientId), null));
  }

  #took(t: Taken | null): Frame | null {
    if (t === null) return null;
    this.#stats.expired += t.expired;
    const f = t.frames[0];
    if (f === undefined) return null;
    this.#stats.taken++;
    return f;
  }

  /** A taken frame whose poll ended meanwhile goes back to the front of the client's queue. */
  untake(clientId: string, frame: Frame): void {
    this.#stats.taken--;
    void this.#step(() => this.engine.untake(clientId, frame, this.windows), undefined, 1);
  }

  ajaxRelease(entry: Entry): void {
    const graceMs = this.#host.graceMs.ajax;
    void this.#step(() => this.engine.ajaxRelease(this.nodeId, entry.clientId, encodeUid(entry.uid), graceMs, this.#ajaxTtl()), undefined);
  }

  #requeue(clientId: string, t: Taken): void {
    for (const f of t.frames) void this.engine.untake(clientId, f, this.windows).catch((e: unknown) => this.#fail(e, 1));
  }

  // -------------------------------------------------------------------------
  // Views

  async connectedUids(): Promise<{ ws: Uid[]; ajax: Uid[]; any: Uid[] }> {
    const u: ClusterUids = await this.engine.connectedUids();
    return { ws: u.ws.map(decodeUid), ajax: u.ajax.map(decodeUid), any: u.any.map(decodeUid) };
  }

  nodes(): ReturnType<ClusterEngine["nodes"]> {
    return this.engine.nodes();
  }

  /** Leaves the cluster: this node's users get their grace to reconnect elsewhere. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const c of this.#timers) c();
    this.#timers = [];
    if (this.engine.isReady && this.#stats.status === "ready") {
      await this.engine.leave(this.nodeId, this.#host.graceMs.ws).catch(() => {});
    }
    this.#closed = true;
    this.#stats.status = "closed";
    await this.engine.close();
  }
}
