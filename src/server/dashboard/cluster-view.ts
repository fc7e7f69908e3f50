/**
 * A clustered server's cluster as the dashboard and `/api/stats` show it:
 * the nodes with what each reported, cluster-wide presence, and this node's
 * counters.
 *
 * The nodes and the presence are engine round trips that scan every node
 * and user (`cluster.nodes()`, `cluster.connectedUids()`), so a view asks
 * at most once per `maxAgeMs`, however many pages and requests want it,
 * and one answer is shared by every caller waiting for it. A store that
 * does not answer within `timeoutMs` (down, or hung) leaves the last answer
 * in place, with `error` saying why it is old: a stats request never waits
 * on Redis for long. This node's counters (`cluster.stats()`) are local and
 * always current.
 */
import { systemClock, type Clock } from "../../core/clock.js";
import type { ClusterStats } from "../cluster/types.js";
import type { ServerCluster, Uid } from "../types.js";
import type { ClusterNodeSummary, ClusterPanel } from "./feed-types.js";


export interface ClusterView {
  nodeId: string;
  engine: string;
  status: ClusterStats["status"];
  /** When `nodes` and `connectedUids` were read (ms since epoch); `0` before the first answer. */
  at: number;
  /** Sorted by node id. */
  nodes: ClusterNodeSummary[];
  /** Cluster-wide users by transport (each node's `connectedUids` is its own). */
  connectedUids: { ws: Uid[]; ajax: Uid[]; any: Uid[] };
  /** This node's counters, current. */
  stats: ClusterStats;
  /** Why the last read failed, if it did (the store unreachable): `nodes` and `connectedUids` are then from `at`. */
  error: string | null;
}

export interface ClusterViewOptions {
  /** An answer younger than this is reused. @default 1000 */
  maxAgeMs?: number;
  /** A read slower than this counts as failed. @default 1000 */
  timeoutMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

export interface ClusterViewSource {
  /** The view, read again if the last read is older than `maxAgeMs`. Never rejects. */
  get(): Promise<ClusterView>;
  /** The view from the last read (this node's counters current), without asking the store; `undefined` before the first read ends. */
  latest(): ClusterView | undefined;
}

interface Read {
  at: number;
  nodes: Awaited<ReturnType<ServerCluster["nodes"]>>;
  uids: { ws: Uid[]; ajax: Uid[]; any: Uid[] };
}

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.setTimer(ms, () => reject(new Error(`the cluster store did not answer within ${ms} ms`)));
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e: unknown) => {
        cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function clusterView(cluster: ServerCluster, options: ClusterViewOptions = {}): ClusterViewSource {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 1000;
  const clock = options.clock ?? systemClock;
  let last: Read | undefined;
  let error: string | null = null;
  /** When the last read started: a failing store is asked no more often than a healthy one. */
  let askedAt = -Infinity;
  let reading: Promise<void> | undefined;

  async function read(): Promise<void> {
    askedAt = clock.now();
    try {
      const [nodes, uids] = await withTimeout(Promise.all([cluster.nodes(), cluster.connectedUids()]), timeoutMs, clock);
      last = { at: clock.now(), nodes, uids };
      error = null;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }

  function build(): ClusterView {
    const stats = cluster.stats();
    const now = clock.now();
    const nodes: ClusterNodeSummary[] = (last?.nodes ?? [])
      .map((n) => ({
        nodeId: n.nodeId,
        users: n.info?.users ?? 0,
        clients: { ws: n.info?.clients.ws ?? 0, ajax: n.info?.clients.ajax ?? 0 },
        startedAt: n.info?.startedAt ?? null,
        alive: n.expiresAt > now,
        self: n.nodeId === cluster.nodeId,
      }))
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    const uids = last?.uids ?? { ws: [], ajax: [], any: [] };
    return {
      nodeId: cluster.nodeId,
      engine: stats.engine,
      status: stats.status,
      at: last?.at ?? 0,
      nodes,
      connectedUids: { ws: [...uids.ws], ajax: [...uids.ajax], any: [...uids.any] },
      stats,
      error,
    };
  }

  return {
    async get() {
      if (reading === undefined && clock.now() - askedAt >= maxAgeMs) {
        reading = read().finally(() => (reading = undefined));
      }
      if (reading !== undefined) await reading;
      return build();
    },
    latest: () => (last === undefined && error === null ? undefined : build()),
  };
}

/** The dashboard's panel: counts, no uids. */
export function clusterPanel(v: ClusterView): ClusterPanel {
  const s = v.stats;
  // Every counter of ClusterStats; the rest is shown apart.
  const { nodeId: _id, engine: _engine, status: _status, lastError: _error, ...counters } = s;
  return {
    nodeId: v.nodeId,
    engine: v.engine,
    status: v.status,
    at: v.at,
    nodes: v.nodes.map((n) => ({ ...n, clients: { ...n.clients } })),
    users: { ws: v.connectedUids.ws.length, ajax: v.connectedUids.ajax.length, any: v.connectedUids.any.length },
    counters,
    lastError: s.lastError === null ? null : { ...s.lastError },
    readError: v.error,
  };
}
