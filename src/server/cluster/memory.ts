/**
 * `memoryCluster()`: the cluster engine in one process, so several servers
 * created side by side form a cluster without Redis (socket.io's
 * EventEmitter-bus adapter idea): for tests, demos and benchmarks.
 *
 * The servers share a {@link MemoryHub}: the store (plain Maps, Sets and
 * arrays, laid out like the Redis keys in `lua.ts`) and the bus. Each step
 * is one synchronous block, so it is as atomic as a Lua script, and does
 * what the script of the same name does; the engine conformance suite
 * (`test/integration/cluster-engine.test.ts`) runs both engines through the
 * same cases. Messages reach subscribers asynchronously and in publish
 * order, like pub/sub. `hub.setDown(true)` simulates an outage: steps
 * reject, messages are dropped, and `setDown(false)` comes back with an
 * empty store, like a Redis restarted without persistence.
 *
 * @example
 * const hub = createMemoryHub();
 * const a = createServer({ csrfToken: null, cluster: memoryCluster({ hub, nodeId: "a" }) });
 * const b = createServer({ csrfToken: null, cluster: memoryCluster({ hub, nodeId: "b" }) });
 */
import { ChskError } from "../../core/protocol/errors.js";
import type {
  ClusterEngine,
  ClusterEngineEvents,
  ClusterMessage,
  ClusterNodeInfo,
  ClusterOption,
  ClusterUids,
  Frame,
  NodeReport,
  Queued,
  Taken,
  Windows,
} from "./types.js";
import { clusterOption, type ClusterOptions } from "./option.js";

/** The store and bus several in-process cluster nodes share. */
export interface MemoryHub {
  /** True between `setDown(true)` and `setDown(false)`. */
  readonly isDown: boolean;
  /**
   * Simulates an outage of the store: while down every step rejects and
   * every message is dropped; coming back, the store is empty (a restart
   * without persistence) and every node is told to resynchronise.
   */
  setDown(down: boolean): void;
}

export interface MemoryHubOptions {
  /** The store's clock (ms since epoch). @default Date.now */
  now?: () => number;
}

export interface MemoryClusterOptions extends ClusterOptions {
  /** The hub this node joins. @default one hub per process, shared by every `memoryCluster()` without one */
  hub?: MemoryHub;
}

// ---------------------------------------------------------------------------
// Store: one field per key family of lua.ts (same names).

/** Key expiry as Redis sees it: a key past its time is gone. */
const live = (expiresAt: number, now: number): boolean => !(now > expiresAt);

interface AjaxHash {
  u?: string;
  h?: string;
  expiresAt: number;
}
interface QueueItem {
  at: number;
  frame: Frame;
}
interface QueueList {
  items: QueueItem[];
  expiresAt: number;
}

type ZSet = Map<string, number>;

/** ZRANGEBYSCORE: members with min <= score <= max, by score then member. */
function zrange(z: ZSet | undefined, min: number, max: number, limit = Infinity): string[] {
  if (z === undefined) return [];
  const hits: [string, number][] = [];
  for (const [m, s] of z) if (s >= min && s <= max) hits.push([m, s]);
  hits.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return hits.slice(0, limit).map((h) => h[0]);
}

/** ZADD with LT / GT: adds a new member, updates an existing one only in that direction. */
function zaddIf(z: ZSet, member: string, score: number, keep: "lt" | "gt"): void {
  const old = z.get(member);
  if (old === undefined || (keep === "lt" ? score < old : score > old)) z.set(member, score);
}

/** A frame the store keeps or hands out: bytes are copied, as a network round trip would. */
const copy = (f: Frame): Frame => (typeof f === "string" ? f : new Uint8Array(f));

class Store {
  /** n: node → heartbeat expiry */
  readonly n: ZSet = new Map();
  /** ni:{node}: last report (JSON), with its expiry */
  readonly ni = new Map<string, { json: string; expiresAt: number }>();
  /** nu:{node}: uids with a WS connection on the node */
  readonly nu = new Map<string, Set<string>>();
  /** nc:{node}: WS client ids on the node */
  readonly nc = new Map<string, Set<string>>();
  /** up:{uid}: nodes with a WS connection of the uid */
  readonly up = new Map<string, Set<string>>();
  /** ua:{uid}: Ajax client id → connected until */
  readonly ua = new Map<string, ZSet>();
  /** gr: uid → end of a grace period (a node died under it) */
  readonly gr: ZSet = new Map();
  /** exp: uid → when to check it again */
  readonly exp: ZSet = new Map();
  /** uids: known uids */
  readonly uids = new Set<string>();
  /** ac: Ajax client id → connected until */
  readonly ac: ZSet = new Map();
  /** a:{cid}: u = uid, h = node holding its poll */
  readonly a = new Map<string, AjaxHash>();
  /** w:{cid}: node holding its WS connection */
  readonly w = new Map<string, string>();
  /** q:{cid}: frames with their expiry, oldest first */
  readonly q = new Map<string, QueueList>();
}

/** SADD on a map of sets. */
function sadd(m: Map<string, Set<string>>, key: string, member: string): void {
  let s = m.get(key);
  if (s === undefined) m.set(key, (s = new Set()));
  s.add(member);
}

/** SREM on a map of sets (an empty set is no key, as in Redis); true if it was there. */
function srem(m: Map<string, Set<string>>, key: string, member: string): boolean {
  const s = m.get(key);
  if (s === undefined || !s.delete(member)) return false;
  if (s.size === 0) m.delete(key);
  return true;
}

const inbox = (node: string): string => `n:${node}`;
const BROADCAST = "b";

class Hub implements MemoryHub {
  readonly now: () => number;
  #store = new Store();
  #down = false;
  /** channel → subscribed engines */
  readonly #subs = new Map<string, Set<MemoryEngine>>();
  readonly #engines = new Set<MemoryEngine>();

  constructor(o: MemoryHubOptions = {}) {
    this.now = o.now ?? Date.now;
  }

  get isDown(): boolean {
    return this.#down;
  }

  setDown(down: boolean): void {
    if (down === this.#down) return;
    this.#down = down;
    if (!down) this.#store = new Store();
    for (const e of [...this.#engines]) e.onHubState(down);
  }

  join(e: MemoryEngine): void {
    this.#engines.add(e);
  }

  subscribe(channel: string, e: MemoryEngine): void {
    let s = this.#subs.get(channel);
    if (s === undefined) this.#subs.set(channel, (s = new Set()));
    s.add(e);
  }

  unsubscribe(channel: string, e: MemoryEngine): void {
    const s = this.#subs.get(channel);
    if (s === undefined) return;
    s.delete(e);
    if (s.size === 0) this.#subs.delete(channel);
  }

  leave(e: MemoryEngine): void {
    this.#engines.delete(e);
    for (const channel of [...this.#subs.keys()]) this.unsubscribe(channel, e);
  }

  publish(channel: string, m: ClusterMessage, skip?: MemoryEngine): void {
    if (this.#down) return;
    for (const e of this.#subs.get(channel) ?? []) if (e !== skip) e.post(m);
  }

  /**
   * Runs one step on the store, atomically (nothing else runs meanwhile),
   * or throws as an unreachable store would.
   */
  step<T>(e: MemoryEngine, f: (s: Store, now: number) => T): T {
    if (this.#down) throw new ChskError("CHSK_ERR_CLUSTER", "memory cluster hub is down (simulated outage)");
    if (!e.isOpen) throw new ChskError("CHSK_ERR_CLUSTER", "memory cluster engine is closed");
    return f(this.#store, this.now());
  }

  // -------------------------------------------------------------------------
  // The helpers of lua.ts's prelude, on the store.

  hash(s: Store, cid: string, now: number): AjaxHash | undefined {
    const a = s.a.get(cid);
    if (a !== undefined && !live(a.expiresAt, now)) {
      s.a.delete(cid);
      return undefined;
    }
    return a;
  }

  queue(s: Store, cid: string, now: number): QueueList | undefined {
    const q = s.q.get(cid);
    if (q !== undefined && !live(q.expiresAt, now)) {
      s.q.delete(cid);
      return undefined;
    }
    return q;
  }

  known(s: Store, uid: string): boolean {
    return s.up.has(uid) || s.exp.has(uid);
  }

  /** Queues one frame for a client and wakes whoever holds it; 1 queued, 0 full. */
  enqueue(s: Store, now: number, cid: string, frame: Frame, w: Windows): 0 | 1 {
    let q = this.queue(s, cid, now);
    if (q === undefined) s.q.set(cid, (q = { items: [], expiresAt: Infinity }));
    q.items.push({ at: now + w.frameMs, frame: copy(frame) });
    if (q.items.length > w.maxQueued) {
      q.items.pop();
      if (q.items.length === 0) s.q.delete(cid);
      return 0;
    }
    this.#pexpire(s.q, cid, q, now, w.frameMs * 2);
    const h = this.hash(s, cid, now)?.h ?? s.w.get(cid);
    if (h !== undefined) this.publish(inbox(h), { type: "wake", clientId: cid });
    return 1;
  }

  /** Pops up to n live frames, counting the expired ones it pops on the way. */
  take(s: Store, now: number, cid: string, n: number): Taken {
    const out: Taken = { frames: [], expired: 0 };
    const q = this.queue(s, cid, now);
    if (q === undefined) return out;
    while (out.frames.length < n) {
      const item = q.items.shift();
      if (item === undefined) break;
      if (item.at >= now) out.frames.push(item.frame);
      else out.expired++;
    }
    if (q.items.length === 0) s.q.delete(cid);
    return out;
  }

  /** PEXPIRE: a non-positive time deletes the key. */
  #pexpire<V extends { expiresAt: number }>(m: Map<string, V>, key: string, v: V, now: number, ttl: number): void {
    if (ttl <= 0) m.delete(key);
    else v.expiresAt = now + ttl;
  }

  pexpireHash(s: Store, cid: string, now: number, ttl: number): void {
    const a = this.hash(s, cid, now);
    if (a !== undefined) this.#pexpire(s.a, cid, a, now, ttl);
  }

  pexpireQueue(s: Store, cid: string, q: QueueList, now: number, ttl: number): void {
    this.#pexpire(s.q, cid, q, now, ttl);
  }

  /** Clears a node's presence; its WS uids get a grace period (REAP and LEAVE). */
  dropNode(s: Store, now: number, node: string, graceMs: number): void {
    for (const uid of s.nu.get(node) ?? []) {
      srem(s.up, uid, node);
      zaddIf(s.gr, uid, now + graceMs, "gt");
      zaddIf(s.exp, uid, now + graceMs, "lt");
    }
    for (const cid of s.nc.get(node) ?? []) {
      if (s.w.get(cid) === node) s.w.delete(cid);
    }
    s.nu.delete(node);
    s.nc.delete(node);
    s.ni.delete(node);
    s.n.delete(node);
  }
}

let defaultHub: Hub | undefined;

/**
 * A hub for {@link memoryCluster}: the servers given the same hub form one
 * cluster. `now` replaces the store's clock (tests).
 */
export function createMemoryHub(options: MemoryHubOptions = {}): MemoryHub {
  if (options.now !== undefined && typeof options.now !== "function") throw new TypeError("createMemoryHub({ now }): now must be a function");
  return new Hub(options);
}

class MemoryEngine implements ClusterEngine {
  readonly kind = "memory";
  readonly #hub: Hub;
  #events: ClusterEngineEvents | null = null;
  #nodeId: string | null = null;
  #closed = false;
  /** The hub went down while this node was connected: it gets `reconnected` when it is back. */
  #lost = false;
  /** Messages waiting for delivery, in publish order; flushed on a later turn. */
  #mailbox: ClusterMessage[] = [];
  #flushing = false;

  constructor(hub: Hub) {
    this.#hub = hub;
  }

  /** Started and not closed (whether the hub is up or not). */
  get isOpen(): boolean {
    return this.#events !== null && !this.#closed;
  }

  get isReady(): boolean {
    return this.isOpen && !this.#hub.isDown;
  }

  async start(nodeId: string, events: ClusterEngineEvents): Promise<void> {
    if (this.#closed) throw new ChskError("CHSK_ERR_CLUSTER", "memory cluster engine is closed");
    if (this.#events !== null) throw new ChskError("CHSK_ERR_CLUSTER", "memory cluster engine already started");
    if (this.#hub.isDown) throw new ChskError("CHSK_ERR_CLUSTER", "Could not join the memory cluster: its hub is down");
    this.#nodeId = nodeId;
    this.#events = events;
    this.#hub.join(this);
    this.#hub.subscribe(inbox(nodeId), this);
    this.#hub.subscribe(BROADCAST, this);
  }

  /** The hub went down / came back. */
  onHubState(down: boolean): void {
    const events = this.#events;
    if (events === null || this.#closed) return;
    if (down) {
      this.#mailbox = [];
      if (this.#lost) return;
      this.#lost = true;
      events.disconnected(null);
    } else if (this.#lost) {
      this.#lost = false;
      events.reconnected();
    }
  }

  /** A message for this node: delivered on a later turn, after what came before it. */
  post(m: ClusterMessage): void {
    this.#mailbox.push(m);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = false;
    const batch = this.#mailbox;
    this.#mailbox = [];
    const events = this.#events;
    if (events === null || this.#closed) return;
    for (const m of batch) {
      try {
        events.message(m);
      } catch (e) {
        // As an event emitter would: the error surfaces, the next messages are still delivered.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #step<T>(f: (s: Store, now: number, hub: Hub) => T): Promise<T> {
    try {
      return Promise.resolve(this.#hub.step(this, (s, now) => f(s, now, this.#hub)));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  pushUser(from: string, uid: string, frame: Frame): Promise<number> {
    return this.#step((s, _now, hub) => {
      let n = 0;
      for (const node of s.up.get(uid) ?? []) {
        if (node === from) continue;
        hub.publish(inbox(node), { type: "user", uid, frame: copy(frame) });
        n++;
      }
      return n;
    });
  }

  queueUser(uid: string, frame: Frame, w: Windows): Promise<Queued> {
    return this.#step((s, now, hub) => {
      const r: Queued = { queued: 0, full: 0 };
      for (const cid of zrange(s.ua.get(uid), now, Infinity)) {
        if (hub.enqueue(s, now, cid, frame, w) === 1) r.queued++;
        else r.full++;
      }
      return r;
    });
  }

  pushClient(from: string, clientId: string, frame: Frame): Promise<number> {
    return this.#step((s, _now, hub) => {
      const node = s.w.get(clientId);
      if (node === undefined || node === from) return 0;
      hub.publish(inbox(node), { type: "client", clientId, frame: copy(frame) });
      return 1;
    });
  }

  queueClient(clientId: string, frame: Frame, w: Windows): Promise<Queued> {
    return this.#step((s, now, hub) => {
      const until = s.ac.get(clientId);
      if (until === undefined || until < now) return { queued: 0, full: 0 };
      const r = hub.enqueue(s, now, clientId, frame, w);
      return { queued: r, full: 1 - r };
    });
  }

  pushBroadcast(from: string, frame: Frame): Promise<void> {
    // "To every other node": the sender's own subscription is skipped.
    return this.#step((_s, _now, hub) => hub.publish(BROADCAST, { type: "broadcast", from, frame: copy(frame) }, this));
  }

  queueBroadcast(frame: Frame, w: Windows): Promise<Queued> {
    return this.#step((s, now, hub) => {
      const r: Queued = { queued: 0, full: 0 };
      for (const cid of zrange(s.ac, now, Infinity)) {
        if (hub.enqueue(s, now, cid, frame, w) === 1) r.queued++;
        else r.full++;
      }
      return r;
    });
  }

  keep(clientId: string, frame: Frame, w: Windows): Promise<Queued> {
    return this.#step((s, now, hub) => {
      const r = hub.enqueue(s, now, clientId, frame, w);
      return { queued: r, full: 1 - r };
    });
  }

  wsUp(nodeId: string, uid: string): Promise<boolean> {
    return this.#step((s, _now, hub) => {
      const was = hub.known(s, uid);
      sadd(s.up, uid, nodeId);
      sadd(s.nu, nodeId, uid);
      s.uids.add(uid);
      return !was;
    });
  }

  wsDown(nodeId: string, uid: string): Promise<boolean> {
    return this.#step((s, _now, hub) => {
      if (!srem(s.up, uid, nodeId)) return false;
      srem(s.nu, nodeId, uid);
      if (hub.known(s, uid)) return false;
      s.uids.delete(uid);
      return true;
    });
  }

  wsClientOpen(nodeId: string, clientId: string): Promise<Taken> {
    return this.#step((s, now, hub) => {
      s.w.set(clientId, nodeId);
      sadd(s.nc, nodeId, clientId);
      return hub.take(s, now, clientId, 100_000);
    });
  }

  wsClientGone(nodeId: string, clientId: string): Promise<void> {
    return this.#step((s) => {
      if (s.w.get(clientId) === nodeId) s.w.delete(clientId);
      srem(s.nc, nodeId, clientId);
    });
  }

  ajaxHandshake(clientId: string, uid: string, ttlMs: number): Promise<void> {
    return this.#step((s, now, hub) => {
      const a = hub.hash(s, clientId, now);
      if (a === undefined) s.a.set(clientId, { u: uid, expiresAt: Infinity });
      else a.u = uid;
      hub.pexpireHash(s, clientId, now, ttlMs);
    });
  }

  ajaxLookup(clientId: string): Promise<string | null> {
    return this.#step((s, now, hub) => hub.hash(s, clientId, now)?.u ?? null);
  }

  ajaxHold(nodeId: string, clientId: string, uid: string, holdMs: number, ttlMs: number): Promise<Taken & { opened: boolean }> {
    return this.#step((s, now, hub) => {
      const was = hub.known(s, uid);
      const a = hub.hash(s, clientId, now);
      if (a === undefined) s.a.set(clientId, { u: uid, h: nodeId, expiresAt: Infinity });
      else {
        a.u = uid;
        a.h = nodeId;
      }
      hub.pexpireHash(s, clientId, now, ttlMs);
      const until = now + holdMs;
      let ua = s.ua.get(uid);
      if (ua === undefined) s.ua.set(uid, (ua = new Map()));
      ua.set(clientId, until);
      s.ac.set(clientId, until);
      zaddIf(s.exp, uid, until, "lt");
      s.uids.add(uid);
      return { opened: !was, ...hub.take(s, now, clientId, 1) };
    });
  }

  ajaxTake(clientId: string): Promise<Taken> {
    return this.#step((s, now, hub) => hub.take(s, now, clientId, 1));
  }

  untake(clientId: string, frame: Frame, w: Windows): Promise<void> {
    return this.#step((s, now, hub) => {
      let q = hub.queue(s, clientId, now);
      if (q === undefined) s.q.set(clientId, (q = { items: [], expiresAt: Infinity }));
      q.items.unshift({ at: now + w.frameMs, frame: copy(frame) });
      hub.pexpireQueue(s, clientId, q, now, w.frameMs * 2);
    });
  }

  ajaxRelease(nodeId: string, clientId: string, uid: string, graceMs: number, ttlMs: number): Promise<void> {
    return this.#step((s, now, hub) => {
      const a = hub.hash(s, clientId, now);
      if (a !== undefined && a.h === nodeId) {
        delete a.h;
        const ua = s.ua.get(uid);
        // A client already reaped stays gone: no close without its open.
        if (ua?.has(clientId)) {
          const until = now + graceMs;
          ua.set(clientId, until);
          if (s.ac.has(clientId)) s.ac.set(clientId, until);
          zaddIf(s.exp, uid, until, "lt");
        }
      }
      hub.pexpireHash(s, clientId, now, ttlMs);
    });
  }

  heartbeat(nodeId: string, ttlMs: number, report: NodeReport): Promise<boolean> {
    return this.#step((s, now) => {
      const added = !s.n.has(nodeId);
      s.n.set(nodeId, now + ttlMs);
      s.ni.set(nodeId, { json: JSON.stringify(report), expiresAt: now + ttlMs * 2 });
      return added;
    });
  }

  reap(wsGraceMs: number, limit: number): Promise<string[]> {
    return this.#step((s, now, hub) => {
      for (const node of zrange(s.n, -Infinity, now - 1)) hub.dropNode(s, now, node, wsGraceMs);
      for (const cid of zrange(s.ac, -Infinity, now - 1)) s.ac.delete(cid);
      const closed: string[] = [];
      for (const uid of zrange(s.exp, -Infinity, now, limit)) {
        const ua = s.ua.get(uid);
        let next: number | undefined;
        if (ua !== undefined) {
          for (const [cid, until] of ua) if (until < now) ua.delete(cid);
          if (ua.size === 0) s.ua.delete(uid);
          else next = Math.min(...ua.values());
        }
        const g = s.gr.get(uid);
        if (g !== undefined) {
          if (g < now) s.gr.delete(uid);
          else if (next === undefined || g < next) next = g;
        }
        if (next !== undefined) s.exp.set(uid, next);
        else {
          s.exp.delete(uid);
          if (!s.up.has(uid)) {
            s.uids.delete(uid);
            closed.push(uid);
          }
        }
      }
      return closed;
    });
  }

  connectedUids(): Promise<ClusterUids> {
    return this.#step((s, now) => {
      const out: ClusterUids = { ws: [], ajax: [], any: [] };
      for (const uid of s.uids) {
        out.any.push(uid);
        if (s.up.has(uid)) out.ws.push(uid);
        const ua = s.ua.get(uid);
        if (ua !== undefined && [...ua.values()].some((until) => until >= now)) out.ajax.push(uid);
      }
      return out;
    });
  }

  nodes(): Promise<ClusterNodeInfo[]> {
    return this.#step((s, now) =>
      zrange(s.n, -Infinity, Infinity).map((nodeId) => {
        const ni = s.ni.get(nodeId);
        let info: NodeReport | null = null;
        if (ni !== undefined && live(ni.expiresAt, now)) info = JSON.parse(ni.json) as NodeReport;
        return { nodeId, expiresAt: s.n.get(nodeId)!, info };
      }),
    );
  }

  leave(nodeId: string, wsGraceMs: number): Promise<void> {
    return this.#step((s, now, hub) => {
      hub.dropNode(s, now, nodeId, wsGraceMs);
      // The doc's "its inbox unsubscribed": nothing more is addressed to a node that left.
      if (nodeId === this.#nodeId) hub.unsubscribe(inbox(nodeId), this);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#mailbox = [];
    this.#hub.leave(this);
  }
}

/**
 * A cluster in this process: servers created with memory clusters on the
 * same hub share their users, presence and Ajax clients as Redis-backed
 * ones do across processes.
 *
 * @throws TypeError when `hub` does not come from {@link createMemoryHub}.
 */
export function memoryCluster(options: MemoryClusterOptions = {}): ClusterOption {
  const { hub, ...rest } = options;
  if (hub !== undefined && !(hub instanceof Hub)) throw new TypeError("memoryCluster({ hub }): hub must come from createMemoryHub()");
  return clusterOption(new MemoryEngine(hub ?? (defaultHub ??= new Hub())), { ...rest, nodeId: rest.nodeId ?? nextNodeId() });
}

let nodeSeq = 0;
/** Servers in one process share its pid: the default node id needs a counter too. */
const nextNodeId = (): string => `memory-${process.pid}-${++nodeSeq}`;
