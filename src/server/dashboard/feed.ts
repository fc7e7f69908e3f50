/**
 * The dashboard's data: one tap on the chsk server, aggregated, while
 * someone watches.
 *
 * The feed taps the server only while a dashboard is subscribed (and for
 * `lingerMs` after the last one leaves, so a page reload keeps its chart).
 * Unwatched, it has no tap listener and no timer: the server pays nothing
 * for it (a tap listener, any, makes the server build an event per frame).
 * Recording starts afresh each time it starts: the chart, the latency window
 * and the recent frames cover the time dashboards watched, and the totals
 * count while they watched unless `totals` reads them from the app.
 *
 * Nothing here is proportional to traffic except counters. Per frame the tap
 * bumps a few numbers and offers the frame to a reservoir of
 * `sampleLimit` (50) slots for the current second; only the frames that stay
 * in the reservoir are decoded (lazily, at the end of the second, by core's
 * `decodeFrame`, as `chsk inspect` reads them: `frame-sample.ts`) and sent
 * to dashboards. Per second the feed sends one `tick` and one `users`
 * message to every subscriber, and debounced `users` messages when
 * connections come and go. So a dashboard costs the same with ten clients or
 * ten thousand: the users list is capped (`maxUsers`, `maxClientsPerUser`)
 * and filterable on the server.
 */
import { systemClock, type Cancel, type Clock, type Unsubscribe } from "../../core/clock.js";
import type { ChskServer, ServerTapEvent } from "../types.js";
import { clusterPanel, clusterView, type ClusterViewSource } from "./cluster-view.js";
import type {
  ClientView,
  ClusterPanel,
  DashboardAccessLevel,
  FeedMessages,
  FeedTotals,
  FrameSample,
  HelloMessage,
  LifecycleEntry,
  RatePoint,
  ServerStats,
  TickMessage,
  Transport,
  UsersMessage,
  UserView,
} from "./feed-types.js";
import { describeFrame, type KeptFrame } from "./frame-sample.js";
import { LatencyWindow } from "./latency-window.js";
import { countsOnlyUsers, redactCluster, redactFrame, redactLifecycle, redactStats, redactTick } from "./redact.js";

/** What the feed needs from a chsk server (all public API); `cluster` when it is clustered. */
export type FeedSource = Pick<ChskServer, "tap" | "clients" | "connectedUids" | "packer"> & Partial<Pick<ChskServer, "cluster">>;

/** Receives feed messages; the SSE endpoint serialises them. */
export interface FeedSink {
  send<K extends keyof FeedMessages>(type: K, data: FeedMessages[K]): void;
  /** Case-insensitive substring of a uid or client id; `""` shows all. */
  readonly filter: string;
  /** What this subscriber may see: `"counts"` gets every message without identities. */
  readonly access: DashboardAccessLevel;
}

export interface DashboardFeedOptions {
  server: FeedSource;
  /** Sent in `hello` to `"admin"` subscribers only; admin actions echo it. @default none (no admin can act) */
  actionToken?: string;
  /** Frames per second kept for the page. @default 50 */
  sampleLimit?: number;
  /** Seconds of rate history for a new page's chart. @default 120 */
  historyS?: number;
  /** Recent frames and lifecycle events a new page starts with. @default 200 */
  logSize?: number;
  /** Users per `users` message. @default 100 */
  maxUsers?: number;
  /** Clients listed per user. @default 10 */
  maxClientsPerUser?: number;
  /** Delay that coalesces connect/disconnect bursts into one `users` message. @default 150 */
  usersDebounceMs?: number;
  /** Latency percentile window, seconds. @default 60 */
  latencyWindowS?: number;
  /** Where the tick timers come from. @default systemClock */
  clock?: Clock;
  /** Process numbers for `stats`. @default process.memoryUsage() */
  memory?: () => { rss: number; heapUsed: number };
  /** @default Math.random */
  random?: () => number;
  /**
   * How long the feed keeps tapping after its last subscriber left, so a
   * reloaded page finds its history. @default 5000
   */
  lingerMs?: number;
  /**
   * The server's error totals since it started, when the app counts them
   * itself (`chsk serve` does, for `/api/stats`). Without it the feed
   * counts the errors it sees while tapping.
   */
  totals?: () => FeedTotals;
  /**
   * Where the cluster panel's nodes and users come from, when the server is
   * clustered (the app may share the view it reads for its own stats).
   * Read once a second while tapping, never on a frame's path.
   * @default clusterView(server.cluster) when the server is clustered
   */
  cluster?: ClusterViewSource;
}

export interface DashboardFeed {
  /** Sends `hello` and `users` right away, then every broadcast. The first subscriber starts the tap. */
  subscribe(sink: FeedSink): Unsubscribe;
  readonly subscribers: number;
  /** True while the feed has its tap on the server (subscribers, or `lingerMs` after the last). */
  readonly tapping: boolean;
  /** The users view for a filter (the JSON API and tests use it). */
  users(filter?: string, access?: DashboardAccessLevel): UsersMessage;
  close(): void;
}

const byteLength = (data: string | Uint8Array): number =>
  typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;

const uidKey = (uid: unknown): string | null => (uid === null || uid === undefined ? null : String(uid));

interface Recording {
  history: Ring<RatePoint>;
  recentFrames: Ring<FrameSample>;
  recentLifecycle: Ring<LifecycleEntry>;
  latency: LatencyWindow;
}

/** A ring buffer that keeps the last `limit` items. */
class Ring<T> {
  #items: T[] = [];
  constructor(readonly limit: number) {}
  push(...xs: T[]): void {
    this.#items.push(...xs);
    if (this.#items.length > this.limit) this.#items.splice(0, this.#items.length - this.limit);
  }
  toArray(): T[] {
    return [...this.#items];
  }
}

export function createDashboardFeed(options: DashboardFeedOptions): DashboardFeed {
  const server = options.server;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const memory = options.memory ?? (() => process.memoryUsage());
  const sampleLimit = options.sampleLimit ?? 50;
  const historyS = options.historyS ?? 120;
  const logSize = options.logSize ?? 200;
  const maxUsers = options.maxUsers ?? 100;
  const maxClientsPerUser = options.maxClientsPerUser ?? 10;
  const usersDebounceMs = options.usersDebounceMs ?? 150;
  const lingerMs = options.lingerMs ?? 5_000;
  const latencyWindowS = options.latencyWindowS ?? 60;
  const startedAt = clock.now();
  const cluster: ClusterViewSource | undefined =
    options.cluster ?? (server.cluster === undefined || server.cluster === null ? undefined : clusterView(server.cluster, { clock }));

  const sinks = new Set<FeedSink>();
  /** What one stretch of tapping keeps: made by `startTap`, let go by `stopTap` (nothing held unwatched). */
  let rec: Recording | undefined;

  // Counters for the current second.
  let second = Math.floor(startedAt / 1000);
  let framesIn = 0;
  let framesOut = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let replies = 0;
  let errors = 0;
  let reservoir: KeptFrame[] = [];
  let seen = 0;
  let lifecycle: LifecycleEntry[] = [];
  let lifecycleDropped = 0;
  const totals: FeedTotals = { errors: 0, slowConsumers: 0 };

  /** The newest out-frame: the server taps `reply` right after writing the reply's frame. */
  let lastOut: KeptFrame | undefined;

  let closed = false;
  let untap: Unsubscribe | undefined;
  let tickTimer: Cancel | undefined;
  let usersTimer: Cancel | undefined;
  let lingerTimer: Cancel | undefined;

  const currentTotals = (): FeedTotals => (options.totals === undefined ? { ...totals } : options.totals());

  function offer(frame: KeptFrame): void {
    seen++;
    if (reservoir.length < sampleLimit) reservoir.push(frame);
    else {
      // Reservoir sampling: every frame of the second is equally likely to be kept.
      const j = Math.floor(random() * seen);
      if (j < sampleLimit) reservoir[j] = frame;
    }
  }

  function addLifecycle(entry: LifecycleEntry): void {
    if (lifecycle.length < logSize) lifecycle.push(entry);
    else lifecycleDropped++;
  }

  function onTap(ev: ServerTapEvent): void {
    switch (ev.type) {
      case "frame:in": {
        const bytes = byteLength(ev.data);
        framesIn++;
        bytesIn += bytes;
        // Decoded only if kept; the server's reading is for a frame too large to decode then.
        offer({
          at: ev.at,
          dir: "in",
          transport: ev.transport,
          channel: ev.channel,
          uid: uidKey(ev.uid),
          clientId: ev.clientId,
          bytes,
          data: ev.data,
          tapEventId: ev.event?.[0],
          tapCb: ev.cbId !== undefined && ev.cbId !== null,
        });
        break;
      }
      case "frame:out": {
        const bytes = byteLength(ev.data);
        framesOut++;
        bytesOut += bytes;
        lastOut = { at: ev.at, dir: "out", transport: ev.transport, channel: ev.channel, uid: uidKey(ev.uid), clientId: ev.clientId, bytes, data: ev.data, status: ev.status };
        offer(lastOut);
        break;
      }
      case "reply":
        replies++;
        rec?.latency.record(ev.latencyMs);
        if (lastOut !== undefined && lastOut.clientId === ev.clientId && lastOut.at === ev.at) {
          lastOut.replyTo = ev.eventId;
          lastOut.latencyMs = ev.latencyMs;
        }
        lastOut = undefined;
        break;
      case "conn:open":
      case "conn:close": {
        const entry: LifecycleEntry = { at: ev.at, kind: ev.type, uid: uidKey(ev.uid), clientId: ev.clientId, transport: ev.transport };
        if (ev.type === "conn:close") {
          if (ev.code !== undefined) entry.code = ev.code;
          if (ev.reason !== undefined) entry.reason = ev.reason;
        }
        addLifecycle(entry);
        scheduleUsers();
        break;
      }
      case "uidport:open":
      case "uidport:close":
        addLifecycle({ at: ev.at, kind: ev.type, uid: uidKey(ev.uid) });
        scheduleUsers();
        break;
      case "error": {
        errors++;
        totals.errors++;
        if (ev.error.code === "CHSK_ERR_SLOW_CONSUMER") totals.slowConsumers++;
        const entry: LifecycleEntry = { at: ev.at, kind: "error", uid: uidKey(ev.uid), message: `${ev.error.code}: ${ev.error.message}` };
        if (ev.clientId !== undefined) entry.clientId = ev.clientId;
        addLifecycle(entry);
        break;
      }
    }
  }

  function stats(): ServerStats {
    const mem = memory();
    const now = clock.now();
    return {
      startedAt,
      uptimeS: Math.round((now - startedAt) / 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      clients: server.clients().length,
      dashboards: sinks.size,
      node: process.version,
      pid: process.pid,
    };
  }

  /** The cluster as last read; each tick asks for a fresh read, which the next tick shows. */
  function clusterNow(): ClusterPanel | undefined {
    const v = cluster?.latest();
    return v === undefined ? undefined : clusterPanel(v);
  }

  function users(filter = "", access: DashboardAccessLevel = "read"): UsersMessage {
    if (access === "counts") return countsOnlyUsers(allUsers(""));
    return allUsers(filter);
  }

  function allUsers(filter: string): UsersMessage {
    const needle = filter.trim().toLowerCase();
    const all = server.clients();
    const byUid = new Map<string | null, ClientView[]>();
    const counts = { ws: 0, ajax: 0, total: all.length };
    for (const c of all) {
      counts[c.transport]++;
      const uid = uidKey(c.uid);
      let list = byUid.get(uid);
      if (!list) byUid.set(uid, (list = []));
      list.push({ clientId: c.clientId, transport: c.transport, connectedAt: c.connectedAt, lastActivity: c.lastActivity, connected: c.connected });
    }
    const cu = server.connectedUids;
    const uids = new Set<string | null>([...[...cu.any].map(uidKey), ...byUid.keys()]);
    const matches = (uid: string | null): boolean => {
      if (needle === "") return true;
      if ((uid ?? "(anonymous)").toLowerCase().includes(needle)) return true;
      return (byUid.get(uid) ?? []).some((c) => c.clientId.toLowerCase().includes(needle));
    };
    const matching = [...uids].filter(matches).sort((a, b) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
    const list: UserView[] = matching.slice(0, maxUsers).map((uid) => {
      const clients = (byUid.get(uid) ?? []).sort((a, b) => a.connectedAt - b.connectedAt);
      const transports: Transport[] = [];
      const has = (t: Transport) => [...cu[t]].some((u) => uidKey(u) === uid) || clients.some((c) => c.transport === t);
      if (has("ws")) transports.push("ws");
      if (has("ajax")) transports.push("ajax");
      return { uid, transports, clients: clients.slice(0, maxClientsPerUser), moreClients: Math.max(0, clients.length - maxClientsPerUser) };
    });
    return {
      at: clock.now(),
      counts: { users: { ws: cu.ws.size, ajax: cu.ajax.size, any: cu.any.size }, clients: counts },
      users: list,
      matching: matching.length,
      filter,
      identities: true,
    };
  }

  function broadcastUsers(): void {
    usersTimer?.();
    usersTimer = undefined;
    if (sinks.size === 0) return;
    const byFilter = new Map<string, UsersMessage>();
    for (const sink of sinks) {
      const key = sink.access === "counts" ? "\u0000counts" : sink.filter;
      let msg = byFilter.get(key);
      if (!msg) byFilter.set(key, (msg = users(sink.filter, sink.access)));
      sink.send("users", msg);
    }
  }

  function scheduleUsers(): void {
    if (usersTimer !== undefined || closed || sinks.size === 0) return;
    usersTimer = clock.setTimer(usersDebounceMs, broadcastUsers);
  }

  function tick(): void {
    if (rec === undefined) return;
    const { history, latency, recentFrames, recentLifecycle } = rec;
    const now = clock.now();
    const point: RatePoint = { t: second, in: framesIn, out: framesOut };
    history.push(point);
    latency.rotate();
    const frames = reservoir.sort((a, b) => a.at - b.at).map((f) => describeFrame(f, server.packer));
    recentFrames.push(...frames);
    const framesSeen = seen;
    const rate = { ...point, bytesIn, bytesOut, replies, errors };
    const msgLifecycle = lifecycle;
    // Only what a tick has carried goes into a new dashboard's hello, so nothing shows twice.
    recentLifecycle.push(...msgLifecycle);
    const dropped = lifecycleDropped;
    second = Math.floor(now / 1000);
    framesIn = framesOut = bytesIn = bytesOut = replies = errors = seen = lifecycleDropped = 0;
    reservoir = [];
    lifecycle = [];
    if (sinks.size > 0) {
      void cluster?.get();
      const clusterMsg = clusterNow();
      const msg: TickMessage = {
        at: now,
        rate,
        frames,
        framesSeen,
        latency: latency.summary(),
        stats: stats(),
        totals: currentTotals(),
        lifecycle: msgLifecycle,
        lifecycleDropped: dropped,
        ...(clusterMsg === undefined ? {} : { cluster: clusterMsg }),
      };
      let redacted: TickMessage | undefined;
      for (const sink of sinks) sink.send("tick", sink.access === "counts" ? (redacted ??= redactTick(msg)) : msg);
      broadcastUsers();
    }
    armTick();
  }

  function armTick(): void {
    if (closed || untap === undefined) return;
    // Align ticks to whole seconds so chart points are one second apart.
    tickTimer = clock.setTimer(1000 - (clock.now() % 1000), tick);
  }

  /** A new recording: nothing from an earlier one (there is a gap between them). */
  function startTap(): void {
    rec = {
      history: new Ring<RatePoint>(historyS),
      recentFrames: new Ring<FrameSample>(logSize),
      recentLifecycle: new Ring<LifecycleEntry>(logSize),
      latency: new LatencyWindow(latencyWindowS),
    };
    second = Math.floor(clock.now() / 1000);
    framesIn = framesOut = bytesIn = bytesOut = replies = errors = seen = lifecycleDropped = 0;
    reservoir = [];
    lifecycle = [];
    lastOut = undefined;
    untap = server.tap(onTap);
    // The first tick then has the cluster to show.
    void cluster?.get();
    armTick();
  }

  function stopTap(): void {
    lingerTimer?.();
    lingerTimer = undefined;
    untap?.();
    untap = undefined;
    tickTimer?.();
    tickTimer = undefined;
    usersTimer?.();
    usersTimer = undefined;
    rec = undefined;
    reservoir = [];
    lifecycle = [];
    lastOut = undefined;
  }

  function unsubscribe(sink: FeedSink): void {
    if (!sinks.delete(sink) || sinks.size > 0 || untap === undefined) return;
    if (lingerMs <= 0) stopTap();
    else lingerTimer = clock.setTimer(lingerMs, stopTap);
  }

  return {
    subscribe(sink) {
      lingerTimer?.();
      lingerTimer = undefined;
      if (!closed && untap === undefined) startTap();
      sinks.add(sink);
      const identities = sink.access !== "counts";
      // No recording only once closed.
      const frames = rec?.recentFrames.toArray() ?? [];
      const lifecycle = rec?.recentLifecycle.toArray() ?? [];
      const hello: HelloMessage = {
        access: sink.access,
        sampleLimit,
        historyS,
        history: rec?.history.toArray() ?? [],
        frames: identities ? frames : frames.map(redactFrame),
        lifecycle: identities ? lifecycle : lifecycle.map(redactLifecycle),
        stats: identities ? stats() : redactStats(stats()),
        totals: currentTotals(),
      };
      const c = clusterNow();
      if (c !== undefined) hello.cluster = identities ? c : redactCluster(c);
      if (sink.access === "admin" && options.actionToken !== undefined) hello.actionToken = options.actionToken;
      sink.send("hello", hello);
      sink.send("users", users(sink.filter, sink.access));
      return () => unsubscribe(sink);
    },
    get subscribers() {
      return sinks.size;
    },
    get tapping() {
      return untap !== undefined;
    },
    users,
    close() {
      if (closed) return;
      closed = true;
      stopTap();
      sinks.clear();
    },
  };
}
