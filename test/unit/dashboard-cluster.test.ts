/**
 * A cluster node's view of its cluster (src/server/dashboard/cluster-view.ts)
 * and where it shows: the store is read at most once per `maxAgeMs` and
 * one read is shared by every caller; a failing or hung store leaves the
 * last answer with the reason; the dashboard feed's ticks carry the panel
 * (node ids and error texts hidden from `"counts"`); `/api/stats`'s
 * counts-only answer keeps the cluster's counts and drops its uids. Driven
 * by a fake `ServerCluster` and a manual clock (the real thing, on Redis:
 * test/e2e/serve-cluster.test.ts, test/browser/dashboard-cluster.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ednPacker } from "../../src/core/packers/edn.js";
import type { ClusterNodeInfo, ClusterStats } from "../../src/server/cluster/types.js";
import { clusterView } from "../../src/server/dashboard/cluster-view.js";
import { createDashboardFeed, type FeedSink, type FeedSource } from "../../src/server/dashboard/feed.js";
import type { DashboardAccessLevel, FeedMessages, TickMessage } from "../../src/server/dashboard/feed-types.js";
import { clusterSnapshot, countsOnly, type StatsSnapshot } from "../../src/server/demo/stats.js";
import type { ServerCluster, Uid } from "../../src/server/types.js";
import { ManualClock } from "./client-fakes.js";

/** Lets resolved promises run their continuations. */
const settle = () => new Promise((r) => setImmediate(r));

function stats(over: Partial<ClusterStats> = {}): ClusterStats {
  return {
    nodeId: "n1",
    engine: "redis",
    status: "ready",
    published: 3,
    received: 2,
    queued: 1,
    taken: 1,
    expired: 0,
    queueFull: 0,
    failures: 0,
    lostEvents: 0,
    lostQueued: 0,
    resyncs: 0,
    lastError: null,
    ...over,
  };
}

/** A cluster whose reads answer what the test says, when it says (`answer`), or fail (`fail`). */
function fakeCluster(clock: ManualClock) {
  let pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const state = {
    reads: 0,
    stats: stats(),
    nodes: [
      { nodeId: "n2", expiresAt: clock.now() + 5000, info: { users: 1, clients: { ws: 0, ajax: 1 }, startedAt: 1000, pid: 22 } },
      { nodeId: "n1", expiresAt: clock.now() + 5000, info: { users: 1, clients: { ws: 2, ajax: 0 }, startedAt: 2000, pid: 11 } },
    ] as ClusterNodeInfo[],
    uids: { ws: ["alice"], ajax: ["bob"], any: ["alice", "bob"] } as { ws: Uid[]; ajax: Uid[]; any: Uid[] },
  };
  const wait = () =>
    new Promise<void>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  const cluster: ServerCluster = {
    nodeId: "n1",
    ready: Promise.resolve(),
    stats: () => ({ ...state.stats }),
    async nodes() {
      state.reads++;
      await wait();
      return state.nodes.map((n) => ({ ...n }));
    },
    async connectedUids() {
      await wait();
      return { ws: [...state.uids.ws], ajax: [...state.uids.ajax], any: [...state.uids.any] };
    },
  };
  return {
    cluster,
    state,
    get waiting() {
      return pending.length;
    },
    answer() {
      for (const p of pending) p.resolve();
      pending = [];
    },
    fail(message: string) {
      for (const p of pending) p.reject(new Error(message));
      pending = [];
    },
  };
}

describe("clusterView", () => {
  it("reads the store once per maxAgeMs, sharing one read between callers", async () => {
    const clock = new ManualClock();
    const f = fakeCluster(clock);
    const view = clusterView(f.cluster, { clock, maxAgeMs: 1000 });
    assert.equal(view.latest(), undefined);
    const a = view.get();
    const b = view.get();
    await settle();
    assert.equal(f.state.reads, 1, "two callers, one read");
    f.answer();
    const [va, vb] = await Promise.all([a, b]);
    assert.deepEqual(va, vb);
    assert.equal(va.at, clock.now());
    assert.deepEqual(
      va.nodes.map((n) => [n.nodeId, n.users, n.clients.ws, n.clients.ajax, n.startedAt, n.alive, n.self]),
      [
        ["n1", 1, 2, 0, 2000, true, true],
        ["n2", 1, 0, 1, 1000, true, false],
      ],
    );
    assert.deepEqual(va.connectedUids.any, ["alice", "bob"]);
    assert.equal(va.error, null);

    // Younger than maxAgeMs: no read, but this node's counters are current.
    clock.advance(999);
    f.state.stats = stats({ published: 10 });
    const cached = await view.get();
    assert.equal(f.state.reads, 1);
    assert.equal(cached.stats.published, 10);

    clock.advance(1);
    const next = view.get();
    await settle();
    assert.equal(f.state.reads, 2);
    f.answer();
    await next;
  });

  it("a failing or hung store keeps the last answer and says why; a lapsed heartbeat shows as not alive", async () => {
    const clock = new ManualClock();
    const f = fakeCluster(clock);
    const view = clusterView(f.cluster, { clock, maxAgeMs: 1000, timeoutMs: 500 });
    const first = view.get();
    await settle();
    f.answer();
    const good = await first;

    clock.advance(1000);
    const failing = view.get();
    await settle();
    f.fail("connection is closed");
    const failed = await failing;
    assert.equal(failed.error, "connection is closed");
    assert.equal(failed.at, good.at, "the nodes are the last good read's");
    assert.deepEqual(failed.connectedUids, good.connectedUids);

    // Hung: the timeout answers for it.
    clock.advance(1000);
    const hung = view.get();
    await settle();
    assert.equal(f.waiting, 2);
    clock.advance(500);
    const late = await hung;
    assert.match(late.error ?? "", /did not answer within 500 ms/);

    // Much later, n2's heartbeat lapsed (n1's was renewed).
    clock.advance(5000);
    f.state.nodes[1]!.expiresAt = clock.now() + 5000;
    const again = view.get();
    await settle();
    f.answer(); // the hung read's late answer, and this one's
    const v = await again;
    assert.equal(v.error, null);
    assert.deepEqual(
      v.nodes.map((n) => [n.nodeId, n.alive]),
      [
        ["n1", true],
        ["n2", false],
      ],
    );
  });
});

function fakeServer(cluster: ServerCluster): FeedSource {
  return {
    packer: ednPacker(),
    tap: () => () => {},
    clients: () => [],
    connectedUids: { ws: new Set(), ajax: new Set(), any: new Set() },
    cluster,
  };
}

function collect(access: DashboardAccessLevel) {
  const got: { type: keyof FeedMessages; data: unknown }[] = [];
  const sink: FeedSink = { filter: "", access, send: (type, data) => void got.push({ type, data }) };
  const ticks = () => got.filter((g) => g.type === "tick").map((g) => g.data as TickMessage);
  return { sink, ticks };
}

describe("dashboard feed of a cluster node", () => {
  it("ticks carry the cluster panel: counts, with node ids and error texts hidden from counts-only dashboards", async () => {
    const clock = new ManualClock();
    const f = fakeCluster(clock);
    f.state.stats = stats({ status: "down", failures: 4, lostEvents: 2, lastError: { code: "CHSK_ERR_CLUSTER", message: "connect ECONNREFUSED 10.0.0.7:6379", at: 5 } });
    const feed = createDashboardFeed({ server: fakeServer(f.cluster), clock });
    const read = collect("read");
    const counts = collect("counts");
    feed.subscribe(read.sink);
    feed.subscribe(counts.sink);
    await settle();
    f.answer();
    await settle();
    clock.advance(1000);
    await settle();
    f.answer();

    const t = read.ticks().at(-1)!;
    assert.ok(t.cluster, "the tick has the panel");
    assert.equal(t.cluster.status, "down");
    assert.equal(t.cluster.nodeId, "n1");
    assert.deepEqual(t.cluster.users, { ws: 1, ajax: 1, any: 2 });
    assert.deepEqual(
      t.cluster.nodes.map((n) => n.nodeId),
      ["n1", "n2"],
    );
    assert.equal(t.cluster.counters.failures, 4);
    assert.equal(t.cluster.counters.lostEvents, 2);
    assert.equal(t.cluster.lastError?.message, "connect ECONNREFUSED 10.0.0.7:6379");
    assert.ok(!JSON.stringify(t.cluster).includes("alice"), "no uids in the panel");

    const c = counts.ticks().at(-1)!;
    assert.ok(c.cluster);
    assert.deepEqual(
      c.cluster.nodes.map((n) => [n.nodeId, n.self]),
      [
        ["#1", true],
        ["#2", false],
      ],
    );
    assert.equal(c.cluster.nodeId, "#1");
    assert.deepEqual(c.cluster.lastError, { code: "CHSK_ERR_CLUSTER", at: 5 });
    assert.equal(c.cluster.readError, undefined);
    assert.deepEqual(c.cluster.users, t.cluster.users);
    assert.ok(!JSON.stringify(c.cluster).includes("n2"));
    feed.close();
  });

  it("a server that is not clustered sends no panel", () => {
    const clock = new ManualClock();
    const server: FeedSource = { packer: ednPacker(), tap: () => () => {}, clients: () => [], connectedUids: { ws: new Set(), ajax: new Set(), any: new Set() } };
    const feed = createDashboardFeed({ server, clock });
    const read = collect("read");
    feed.subscribe(read.sink);
    clock.advance(2000);
    assert.ok(read.ticks().length > 0);
    for (const t of read.ticks()) assert.equal("cluster" in t, false);
    feed.close();
  });
});

describe("/api/stats of a cluster node", () => {
  it("counts only: the cluster's counts and nodes stay, its uids go", async () => {
    const clock = new ManualClock();
    const f = fakeCluster(clock);
    const view = clusterView(f.cluster, { clock });
    const pending = view.get();
    await settle();
    f.answer();
    const snapshot = { connectedUids: { ws: ["alice"], ajax: [], any: ["alice"] }, cluster: clusterSnapshot(await pending) } as unknown as StatsSnapshot;
    assert.deepEqual(snapshot.cluster?.connectedUids?.any, ["alice", "bob"]);
    assert.equal(snapshot.cluster?.asOf, new Date(clock.now()).toISOString());
    assert.equal(snapshot.cluster?.nodes[0]?.startedAt, new Date(2000).toISOString());
    const hidden = countsOnly(snapshot);
    assert.equal(hidden.cluster?.connectedUids, undefined);
    assert.equal(hidden.cluster?.users, 2);
    assert.deepEqual(hidden.cluster?.connected, { ws: 1, ajax: 1, any: 2 });
    assert.deepEqual(
      hidden.cluster?.nodes.map((n) => n.nodeId),
      ["n1", "n2"],
    );
    assert.ok(!JSON.stringify(hidden).includes("alice"));
  });
});
