/**
 * Counters behind `GET /api/stats`, fed by the chsk server's `tap()` and
 * `on("event")` plus the app's own pushes.
 */
import type { Unsubscribe } from "../../core/clock.js";
import type { ClusterStats } from "../cluster/types.js";
import type { ClusterView } from "../dashboard/cluster-view.js";
import type { ChskServer, Uid } from "../types.js";

export interface StatsSnapshot {
  /** ms since the server started. */
  uptimeMs: number;
  startedAt: string;
  packer: string;
  csrf: boolean;
  /** Users by transport; the anonymous group shows as `null`. */
  connectedUids: { ws: Uid[]; ajax: Uid[]; any: Uid[] };
  /** Client connections (tabs) the server tracks, by transport. */
  connections: { ws: number; ajax: number; total: number };
  sessions: number;
  events: {
    /** Every event-msg the server routed, reserved ones (`chsk/ws-ping`, `chsk/uidport-open`, …) included. */
    in: number;
    /** Events pushed through the app (`demo/push`, `demo/broadcast`, web pages). */
    out: number;
    /** Replies sent to `send` calls that asked for one. */
    replies: number;
  };
  /** Every frame both ways; `in` includes frames that could not be decoded (each also an error). */
  frames: { in: number; out: number };
  bytes: { in: number; out: number };
  /** Errors the server reported (tap `error`), each once: bad frames, refused requests, missed pushes (once per absent client), … */
  errors: number;
  /** Clients dropped for leaving more than `maxBufferedBytesPerClient` unread (`CHSK_ERR_SLOW_CONSUMER`; also in `errors`). */
  slowConsumers: number;
  /**
   * Requests on the channel path answered with a refusal (tap `refused`):
   * CSRF, origin, unauthorized, rejected, a missing client id, limits, bad
   * POSTs, failing hooks, a closing server. Those a peer's error caused
   * (limits, bad POSTs, a missing client id) are in `errors` too, once.
   */
  refused: number;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Present on a cluster node only (`chsk serve --redis`). The fields above stay this node's own. */
  cluster?: ClusterSnapshot;
}

/**
 * The cluster as one node sees it. `nodes`, `users`, `connected` and
 * `connectedUids` come from the store, read at most once a second
 * (`asOf`); `stats` is this node's, current.
 */
export interface ClusterSnapshot {
  nodeId: string;
  engine: string;
  /** `down` while the store is unreachable: the node serves its own clients only. */
  status: ClusterStats["status"];
  /** Every node whose heartbeat has not been reaped, sorted by id, with what it last reported. */
  nodes: { nodeId: string; users: number; clients: { ws: number; ajax: number }; startedAt: string | null; alive: boolean }[];
  /** Users connected anywhere in the cluster (`connected.any`). */
  users: number;
  connected: { ws: number; ajax: number; any: number };
  /** The cluster's users by transport; absent when identities are hidden (as `connectedUids` is). */
  connectedUids?: { ws: Uid[]; ajax: Uid[]; any: Uid[] };
  /** This node's cluster counters (published, received, queued, failures, lostEvents, …). */
  stats: ClusterStats;
  /** When `nodes`, `users` and `connected` were read; `null`: never yet. */
  asOf: string | null;
  /** Why the last read failed (then the above is from `asOf`); `null` when it did not. */
  readError: string | null;
}

export function clusterSnapshot(v: ClusterView): ClusterSnapshot {
  const u = v.connectedUids;
  return {
    nodeId: v.nodeId,
    engine: v.engine,
    status: v.status,
    nodes: v.nodes.map((n) => ({
      nodeId: n.nodeId,
      users: n.users,
      clients: { ...n.clients },
      startedAt: n.startedAt === null ? null : new Date(n.startedAt).toISOString(),
      alive: n.alive,
    })),
    users: u.any.length,
    connected: { ws: u.ws.length, ajax: u.ajax.length, any: u.any.length },
    connectedUids: { ws: [...u.ws], ajax: [...u.ajax], any: [...u.any] },
    stats: v.stats,
    asOf: v.at === 0 ? null : new Date(v.at).toISOString(),
    readError: v.error,
  };
}

const byteLength = (d: string | Uint8Array): number => (typeof d === "string" ? Buffer.byteLength(d) : d.byteLength);

export class StatsCollector {
  readonly startedAt: number;
  #chsk: ChskServer;
  #now: () => number;
  #info: { packer: string; csrf: boolean; sessions: () => number };
  #unsubs: Unsubscribe[];
  events = { in: 0, out: 0, replies: 0 };
  frames = { in: 0, out: 0 };
  bytes = { in: 0, out: 0 };
  errors = 0;
  slowConsumers = 0;
  refused = 0;

  constructor(chsk: ChskServer, info: { packer: string; csrf: boolean; sessions: () => number }, now: () => number = Date.now) {
    this.#chsk = chsk;
    this.#now = now;
    this.#info = info;
    this.startedAt = now();
    this.#unsubs = [
      chsk.on("event", () => void this.events.in++),
      chsk.tap((ev) => {
        switch (ev.type) {
          case "frame:in":
            this.frames.in++;
            this.bytes.in += byteLength(ev.data);
            break;
          case "frame:out":
            this.frames.out++;
            this.bytes.out += byteLength(ev.data);
            break;
          case "reply":
            this.events.replies++;
            break;
          case "error":
            this.errors++;
            if (ev.error.code === "CHSK_ERR_SLOW_CONSUMER") this.slowConsumers++;
            break;
          case "refused":
            this.refused++;
            break;
        }
      }),
    ];
  }

  /** Count `n` events pushed by the app. */
  countOut(n = 1): void {
    this.events.out += n;
  }

  snapshot(): StatsSnapshot {
    const uids = this.#chsk.connectedUids;
    const connections = { ws: 0, ajax: 0, total: 0 };
    for (const c of this.#chsk.clients()) {
      connections[c.transport]++;
      connections.total++;
    }
    const m = process.memoryUsage();
    return {
      uptimeMs: this.#now() - this.startedAt,
      startedAt: new Date(this.startedAt).toISOString(),
      packer: this.#info.packer,
      csrf: this.#info.csrf,
      connectedUids: { ws: [...uids.ws], ajax: [...uids.ajax], any: [...uids.any] },
      connections,
      sessions: this.#info.sessions(),
      events: { ...this.events },
      frames: { ...this.frames },
      bytes: { ...this.bytes },
      errors: this.errors,
      slowConsumers: this.slowConsumers,
      refused: this.refused,
      memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external },
    };
  }

  close(): void {
    for (const u of this.#unsubs.splice(0)) u();
  }
}

/**
 * `/api/stats` for a request that may not see identities (`chsk serve`
 * beyond loopback, without the dashboard token): every count, no user ids.
 */
export type CountsOnlySnapshot = Omit<StatsSnapshot, "connectedUids"> & {
  /** Users by transport, counted; the anonymous group counts as one. */
  users: { ws: number; ajax: number; any: number };
  /** Says why `connectedUids` is missing. */
  identities: "hidden";
};

export function countsOnly(s: StatsSnapshot): CountsOnlySnapshot {
  const { connectedUids, cluster, ...rest } = s;
  return {
    ...rest,
    users: { ws: connectedUids.ws.length, ajax: connectedUids.ajax.length, any: connectedUids.any.length },
    identities: "hidden",
    ...(cluster === undefined ? {} : { cluster: withoutUids(cluster) }),
  };
}

function withoutUids(c: ClusterSnapshot): ClusterSnapshot {
  const { connectedUids: _uids, ...rest } = c;
  return rest;
}
