/**
 * Issue 10, end to end: three real `chsk serve --redis` processes on one
 * real redis-server, behind a real haproxy doing plain round-robin (no
 * sticky sessions), driven by chsk clients as users would connect.
 *
 * The tests share one cluster and run in order: deliveries and presence
 * first, then a Redis restart, then kill -9 of a node (which ends it).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bootstrapSession, type Client, type ClientType, createClient } from "../../src/core/client/index.node.js";
import { kw } from "../../src/core/edn/values.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { type BalancerHandle, type RedisHandle, startBalancer, startRedis } from "../cluster/infra.js";
import { type Served, serve, waitFor } from "./cli.js";

const KEY = "cluster-test-session-key-0123456789";

interface NodeStats {
  cluster?: {
    nodeId: string;
    status: string;
    nodes: { nodeId: string }[];
    users: number;
    connected: { ws: number; ajax: number; any: number };
    connectedUids?: { any: (string | null)[] };
    stats: { status: string; lostEvents: number; lostQueued: number; resyncs: number; failures: number };
  };
  /** This node's own users. */
  connectedUids: { ws: (string | null)[] };
}

async function statsOf(port: number): Promise<NodeStats> {
  const r = await fetch(`http://127.0.0.1:${port}/api/stats`);
  assert.equal(r.status, 200);
  return (await r.json()) as NodeStats;
}

/** The JSON log lines a node wrote on stderr with `msg` (uidport:open / uidport:close) for `uid`. */
const logged = (node: Served, msg: string, uid: string): number =>
  node.stderr.split("\n").filter((l) => l.includes(`"${msg}"`) && l.includes(`"uid":"${uid}"`)).length;

interface Tab {
  client: Client;
  got: unknown[];
}

describe("three chsk serve --redis nodes behind haproxy round-robin", { timeout: 180_000 }, () => {
  let redis: RedisHandle;
  let lb: BalancerHandle;
  const nodes: Served[] = [];
  const tabs: Client[] = [];
  const lbUrl = () => `${lb.url}/chsk`;
  const nodeUrl = (i: number) => `http://127.0.0.1:${nodes[i]!.port}/chsk`;

  async function open(url: string, uid: string, type: ClientType, clientId?: string): Promise<Tab> {
    const session = await bootstrapSession({ url, login: uid });
    const client = createClient({
      url,
      type,
      ...(clientId === undefined ? {} : { clientId }),
      csrfToken: session.csrfToken,
      headers: session.headers,
      backoffMs: () => 100,
    });
    tabs.push(client);
    const got: unknown[] = [];
    client.on("recv", (ev: ChskEvent) => {
      if (ev[0] === "t/n") got.push(ev[1]);
    });
    await client.whenOpen();
    return { client, got };
  }

  /** Asks node `i` (through a client connected to it directly) to push `[:t/n n]` to `uid`. */
  async function pushVia(pusher: Client, uid: string, n: unknown): Promise<void> {
    const r = await pusher.send(["demo/push", { uid, event: [kw("t/n"), n] }], 10_000);
    assert.equal(String(r), ":ok");
  }

  before(async () => {
    redis = await startRedis();
    for (let i = 1; i <= 3; i++) {
      nodes.push(await serve(["--redis", redis.url, "--node-id", `n${i}`, "--session-key", KEY, "--log-format", "json"]));
    }
    lb = await startBalancer({ backends: nodes.map((n) => n.port) });
  });

  after(async () => {
    await Promise.all(tabs.splice(0).map((c) => c.close()));
    for (const n of nodes) await n.stop();
    await lb?.stop();
    await redis?.stop();
  });

  it("every tab of alice (2 WS, 1 Ajax, spread over the nodes) gets every push from every node, once and in order", async () => {
    const ws1 = await open(lbUrl(), "alice", "ws");
    const ws2 = await open(lbUrl(), "alice", "ws");
    // Its polls and POSTs go round-robin over the three nodes.
    const ajax = await open(lbUrl(), "alice", "ajax");
    const pushers = await Promise.all([0, 1, 2].map((i) => open(nodeUrl(i), `pusher${i}`, "ws")));

    // Round-robin spread alice's tabs: at least two nodes hold one (each node's own view).
    const local = await Promise.all(nodes.map((n) => statsOf(n.port)));
    assert.ok(local.filter((s) => s.connectedUids.ws.includes("alice")).length >= 2, "alice's WS tabs are on different nodes");

    const N = 20;
    for (let k = 0; k < N; k++) await pushVia(pushers[k % 3]!.client, "alice", k);
    const all = Array.from({ length: N }, (_, k) => k);
    for (const [name, tab] of [
      ["ws1", ws1],
      ["ws2", ws2],
      ["ajax", ajax],
    ] as const) {
      await waitFor(() => (tab.got.length >= N ? true : undefined), 15_000, `${name}: ${N} pushes (has ${tab.got.length})`);
      assert.deepEqual([...(tab.got as number[])].sort((a, b) => a - b), all, `${name} got each push once`);
      // One sender's pushes keep their order.
      for (let s = 0; s < 3; s++) {
        const fromS = (tab.got as number[]).filter((k) => k % 3 === s);
        assert.deepEqual(fromS, [...fromS].sort((a, b) => a - b), `${name}: node ${s}'s pushes in order`);
      }
    }
    // Nothing more arrives (no duplicate delivered late by another node).
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(ws1.got.length + ws2.got.length + ajax.got.length, 3 * N);
    for (const p of pushers) await p.client.close();
  });

  it("presence is cluster-wide: every node's /api/stats shows the three nodes and the same users; uidport-open fired once", async () => {
    const views = await Promise.all(nodes.map((n) => statsOf(n.port)));
    for (const v of views) {
      assert.ok(v.cluster, "a clustered node reports its cluster");
      assert.deepEqual(v.cluster.nodes.map((n) => n.nodeId).sort(), ["n1", "n2", "n3"]);
      assert.equal(v.cluster.connected.any, views[0]!.cluster!.connected.any);
      assert.ok(v.cluster.connected.ws >= 1 && v.cluster.connected.ajax >= 1);
    }
    const opens = nodes.reduce((sum, n) => sum + logged(n, "uidport:open", "alice"), 0);
    assert.equal(opens, 1, "uidport-open for alice fired on one node, once");
  });

  it("a tab that closes on one node and comes back on another within the grace fires no close; leaving for good fires one", async () => {
    const first = await open(lbUrl(), "carol", "ws", "carol-tab");
    await first.client.close();
    // Through the balancer the same tab lands on the next node.
    const again = await open(lbUrl(), "carol", "ws", "carol-tab");
    await new Promise((r) => setTimeout(r, 3500)); // past the 2.5 s WS grace
    assert.equal(nodes.reduce((sum, n) => sum + logged(n, "uidport:close", "carol"), 0), 0, "no close while carol is back elsewhere");
    assert.equal(nodes.reduce((sum, n) => sum + logged(n, "uidport:open", "carol"), 0), 1);
    await again.client.close();
    await waitFor(() => (nodes.some((n) => logged(n, "uidport:close", "carol") > 0) ? true : undefined), 10_000, "carol's close");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(nodes.reduce((sum, n) => sum + logged(n, "uidport:close", "carol"), 0), 1, "one close for the cluster");
  });

  it("Redis restarts: nodes go on serving locally, report what did not cross, and recover by themselves", async () => {
    const onA = await open(nodeUrl(0), "dora", "ws");
    const onB = await open(nodeUrl(1), "dora", "ws");
    const pusher = await open(nodeUrl(0), "pusher-r", "ws");
    // A push that crosses: node 1 now knows dora has a socket elsewhere.
    await pushVia(pusher.client, "dora", -1);
    await waitFor(() => (onB.got.length === 1 ? true : undefined), 5000, "the first push on node 2");

    await redis.down();
    await waitFor(async () => ((await statsOf(nodes[0]!.port)).cluster?.stats.status === "down" ? true : undefined), 10_000, "node 1 sees the outage");
    const before = (await statsOf(nodes[0]!.port)).cluster!.stats.lostEvents;
    const K = 5;
    for (let k = 0; k < K; k++) await pushVia(pusher.client, "dora", k);
    await waitFor(() => (onA.got.length === 1 + K ? true : undefined), 5000, "node 1's own tab gets every push");
    await new Promise((r) => setTimeout(r, 500));
    const sawLost = 1 + K - onB.got.length;
    const reported = (await statsOf(nodes[0]!.port)).cluster!.stats.lostEvents - before;
    assert.equal(sawLost, K);
    assert.equal(reported, sawLost, "the node reports as lost what the other node's tab missed");

    await redis.up();
    for (const n of nodes) {
      await waitFor(
        async () => {
          const s = (await statsOf(n.port)).cluster?.stats;
          return s !== undefined && s.status === "ready" && s.resyncs >= 1 ? true : undefined;
        },
        20_000,
        "every node back and registered again",
      );
    }
    await pushVia(pusher.client, "dora", 100);
    await waitFor(() => (onB.got.includes(100) ? true : undefined), 5000, "pushes cross again after the restart");
    for (const n of nodes) {
      await waitFor(
        async () => ((await statsOf(n.port)).cluster!.nodes.map((x) => x.nodeId).sort().join() === "n1,n2,n3" ? true : undefined),
        5000,
        "the restarted Redis knows the three nodes again",
      );
    }
  });

  it("kill -9 of a node: its clients reconnect through the balancer and get pushes again; presence is right after TTL and grace", async () => {
    await Promise.all(tabs.splice(0).map((c) => c.close()));
    await new Promise((r) => setTimeout(r, 3500));
    // frank comes through the balancer; erin is held by frank's node directly (she cannot come back).
    const frank = await open(lbUrl(), "frank", "ws");
    const local = await Promise.all(nodes.map((n) => statsOf(n.port)));
    const victim = local.findIndex((s) => s.connectedUids.ws.includes("frank"));
    assert.ok(victim >= 0);
    const survivors = nodes.filter((_, i) => i !== victim);
    await open(nodeUrl(victim), "erin", "ws");
    // The node reports a connection to Redis just after the handshake: kill it only once the cluster knows both.
    await waitFor(
      async () => {
        const any = (await statsOf(survivors[0]!.port)).cluster!.connectedUids?.any ?? [];
        return any.includes("erin") && any.includes("frank") ? true : undefined;
      },
      10_000,
      "the cluster knows erin and frank",
    );
    await nodes[victim]!.stop("SIGKILL");
    await frank.client.whenOpen(); // reconnected through haproxy to a live node
    await waitFor(() => (frank.client.state.open ? true : undefined), 15_000, "frank back");
    const pusher = await open(`http://127.0.0.1:${survivors[0]!.port}/chsk`, "pusher-k", "ws");
    await waitFor(
      async () => {
        await pushVia(pusher.client, "frank", 7);
        await new Promise((r) => setTimeout(r, 300));
        return frank.got.includes(7) ? true : undefined;
      },
      15_000,
      "a push reaches frank on his new node",
    );
    // After node 3's heartbeat lapses (5 s) and the WS grace (2.5 s): erin is gone, frank is not.
    await waitFor(
      () => (survivors.some((n) => logged(n, "uidport:close", "erin") > 0) ? true : undefined),
      20_000,
      "erin's close from a surviving node",
    );
    await waitFor(
      async () => ((await statsOf(survivors[0]!.port)).cluster!.nodes.length === 2 ? true : undefined),
      5000,
      "the dead node reaped",
    );
    assert.equal(survivors.reduce((sum, n) => sum + logged(n, "uidport:close", "frank"), 0), 0);
    await waitFor(
      async () => {
        const any = (await statsOf(survivors[1]!.port)).cluster!.connectedUids?.any ?? [];
        return any.includes("frank") && !any.includes("erin") ? true : undefined;
      },
      5000,
      "the cluster's users: frank, not erin",
    );
  });
});
