/**
 * Three chsk servers in one process, each on its own node:http server on
 * 127.0.0.1, joined by one memory hub: a user's tabs spread over the nodes
 * (two WS tabs, one Ajax tab whose every request goes to the next node
 * round-robin, as behind a balancer without sticky sessions) get every push
 * from any node once and in order, presence is decided once for the
 * cluster, and a simulated store outage is counted and recovered from.
 *
 * The cases run in order on one cluster (alice's tabs live through them).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createClient, type Client } from "../../src/core/client/index.node.js";
import type { ChskError } from "../../src/core/protocol/errors.js";
import { createMemoryHub, createServer, memoryCluster, type ChskServer, type MemoryHub, type ServerEventMsg } from "../../src/server/index.js";
import { sleep, until } from "./server-helpers.js";

const WS_GRACE = 600;
const AJAX_GRACE = 300;
const LP = 400;

interface Node {
  i: number;
  chsk: ChskServer;
  http: HttpServer;
  port: number;
  /** Every routed event-msg. */
  events: ServerEventMsg[];
  errors: ChskError[];
}

interface Tab {
  name: string;
  client: Client;
  /** Push data in arrival order (strings "id|data"). */
  got: string[];
  /** Which node each request of an Ajax tab went to. */
  requests: number[];
}

async function startNode(i: number, hub: MemoryHub, lpTimeoutMs = LP): Promise<Node> {
  const chsk = createServer({
    csrfToken: null,
    userId: (req) => req.cookies["uid"] ?? null,
    lpTimeoutMs,
    msAllowReconnectBeforeCloseWs: WS_GRACE,
    msAllowReconnectBeforeCloseAjax: AJAX_GRACE,
    logger: null,
    cluster: memoryCluster({ hub, nodeId: `node${i}`, heartbeatMs: 100, nodeTtlMs: 1000 }),
  });
  const events: ServerEventMsg[] = [];
  const errors: ChskError[] = [];
  chsk.on("error", (e) => errors.push(e));
  chsk.startRouter((m) => {
    events.push(m);
  });
  const http = createHttpServer();
  chsk.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  await chsk.cluster!.ready;
  return { i, chsk, http, port: (http.address() as AddressInfo).port, events, errors };
}

describe("three chsk servers joined by a memory hub", () => {
  const hub = createMemoryHub();
  let nodes: Node[] = [];
  const tabs: Tab[] = [];
  let t1: Tab; // alice, WS, node 0
  let t2: Tab; // alice, WS, node 1
  let t3: Tab; // alice, Ajax, every node in turn
  let b1: Tab; // bob, WS, node 2

  const tab = (name: string, uid: string, node: number, type: "ws" | "ajax", clientId?: string): Tab => {
    const requests: number[] = [];
    let rr = node;
    // Every Ajax request (handshake, polls, posts) to the next node: a balancer without sticky sessions.
    const roundRobin: typeof fetch = (input, init) => {
      const u = new URL(input instanceof Request ? input.url : String(input));
      const n = nodes[rr++ % nodes.length]!;
      requests.push(n.i);
      u.port = String(n.port);
      return fetch(u, init);
    };
    const client = createClient({
      url: `http://127.0.0.1:${nodes[node]!.port}/chsk`,
      type,
      headers: { cookie: `uid=${uid}` },
      ...(clientId === undefined ? {} : { clientId }),
      ...(type === "ajax" ? { fetch: roundRobin } : {}),
      backoffMs: () => 50,
    });
    const t: Tab = { name, client, got: [], requests };
    client.on("recv", (ev) => t.got.push(`${String(ev[0])}|${String(ev[1])}`));
    tabs.push(t);
    return t;
  };

  /** Routed uidport events for `uid` over all nodes: [node, "open" | "close"]. */
  const uidports = (uid: string): [number, string][] =>
    nodes.flatMap((n) =>
      n.events.filter((m) => (m.id === "chsk/uidport-open" || m.id === "chsk/uidport-close") && m.data === uid).map((m): [number, string] => [n.i, m.id === "chsk/uidport-open" ? "open" : "close"]),
    );

  const got = (t: Tab, id: string): string[] => t.got.filter((g) => g.startsWith(`${id}|`)).map((g) => g.slice(id.length + 1));

  /** Waits until every tab in `ts` has the push `id|data`. */
  const reached = (ts: Tab[], id: string, data: string, what: string) =>
    until(() => ts.every((t) => got(t, id).includes(data)), 5000, `${what}: ${ts.filter((t) => !got(t, id).includes(data)).map((t) => t.name).join(", ")}`);

  const cluster = () => nodes[0]!.chsk.cluster!;

  /** Alice's WS and Ajax presence as the cluster sees it. */
  const aliceEverywhere = async () => {
    const u = await cluster().connectedUids();
    return u.ws.includes("alice") && u.ajax.includes("alice");
  };
  const untilAsync = async (pred: () => Promise<boolean>, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(10);
    }
  };

  before(async () => {
    nodes = await Promise.all([0, 1, 2].map((i) => startNode(i, hub)));
    t1 = tab("t1 ws@0", "alice", 0, "ws");
    t2 = tab("t2 ws@1", "alice", 1, "ws");
    t3 = tab("t3 ajax@*", "alice", 2, "ajax");
    b1 = tab("b1 ws@2", "bob", 2, "ws");
    await Promise.all(tabs.map((t) => t.client.whenOpen()));
    await untilAsync(aliceEverywhere, 5000, "alice on ws and ajax in the cluster");
  });

  after(async () => {
    await Promise.all(tabs.map((t) => t.client.close()));
    for (const n of nodes) {
      await n.chsk.close();
      n.http.closeAllConnections();
      await new Promise<void>((resolve) => n.http.close(() => resolve()));
    }
  });

  it("presence: alice is connected on ws and ajax cluster-wide, and opened once, on one node", async () => {
    const u = await nodes[2]!.chsk.cluster!.connectedUids();
    assert.deepEqual([...u.ws].sort(), ["alice", "bob"]);
    assert.deepEqual(u.ajax, ["alice"]);
    assert.deepEqual([...u.any].sort(), ["alice", "bob"]);
    assert.equal(uidports("alice").length, 1, JSON.stringify(uidports("alice")));
    assert.equal(uidports("alice")[0]![1], "open");
    assert.deepEqual(uidports("bob"), [[2, "open"]]);
    assert.deepEqual((await cluster().nodes()).map((n) => n.nodeId).sort(), ["node0", "node1", "node2"]);
  });

  it("send from any node: every tab of alice gets every push exactly once, in each sender's order", async () => {
    const N = 30;
    for (let i = 0; i < N; i++) {
      nodes[i % 3]!.chsk.send("alice", ["t/push", `${i % 3}:${i}`]);
      if (i % 5 === 4) await sleep(15); // several batches, some while a poll is between nodes
    }
    // One last push per sender: whatever it sent before arrives first (order is what is tested).
    for (const n of nodes) n.chsk.send("alice", ["t/push", `${n.i}:end`]);
    for (const n of nodes) await reached([t1, t2, t3], "t/push", `${n.i}:end`, `node ${n.i}'s last push`);
    for (const t of [t1, t2, t3]) {
      const all = got(t, "t/push");
      assert.equal(all.length, N + 3, `${t.name} got ${all.length}: ${all.join(" ")}`);
      assert.equal(new Set(all).size, all.length, `${t.name}: no duplicates`);
      for (const s of [0, 1, 2]) {
        const fromS = all.filter((g) => g.startsWith(`${s}:`)).map((g) => g.slice(2));
        const want = [...Array(N).keys()].filter((i) => i % 3 === s).map(String);
        assert.deepEqual(fromS, [...want, "end"], `${t.name}: node ${s}'s pushes in order`);
      }
    }
    assert.deepEqual(got(b1, "t/push"), [], "bob got none of alice's");
    assert.deepEqual([...new Set(t3.requests)].sort(), [0, 1, 2], "the Ajax tab's requests went to every node");
    const st = nodes.map((n) => n.chsk.cluster!.stats());
    assert.ok(st.every((s) => s.failures === 0 && s.lostEvents === 0), JSON.stringify(st));
  });

  it("sendToClient: the Ajax tab from each node, a WS tab from a node that doesn't hold it", async () => {
    for (const n of nodes) n.chsk.sendToClient(t3.client.clientId, ["t/direct", `ajax-from-${n.i}`]);
    nodes[2]!.chsk.sendToClient(t1.client.clientId, ["t/direct", "ws-from-2"]);
    for (const n of nodes) await reached([t3], "t/direct", `ajax-from-${n.i}`, `sendToClient from node ${n.i}`);
    await reached([t1], "t/direct", "ws-from-2", "sendToClient to node 0's WS from node 2");
    // A last direct push to each tab, so anything duplicated would be in by now.
    nodes[1]!.chsk.sendToClient(t3.client.clientId, ["t/direct", "ajax-last"]);
    nodes[1]!.chsk.sendToClient(t1.client.clientId, ["t/direct", "ws-last"]);
    await reached([t3], "t/direct", "ajax-last", "last to the Ajax tab");
    await reached([t1], "t/direct", "ws-last", "last to the WS tab");
    assert.deepEqual([...got(t3, "t/direct")].sort(), ["ajax-from-0", "ajax-from-1", "ajax-from-2", "ajax-last"]);
    assert.deepEqual(got(t1, "t/direct"), ["ws-from-2", "ws-last"]);
    assert.deepEqual(got(t2, "t/direct"), [], "the other tabs of alice got none");
    assert.deepEqual(got(b1, "t/direct"), []);
  });

  it("broadcast from node 2 reaches every tab of every user once", async () => {
    nodes[2]!.chsk.broadcast(["t/all", "b1"]);
    nodes[2]!.chsk.broadcast(["t/all", "b2"]);
    await reached([t1, t2, t3, b1], "t/all", "b2", "second broadcast");
    for (const t of [t1, t2, t3, b1]) assert.deepEqual(got(t, "t/all"), ["b1", "b2"], t.name);
  });

  it("a WS tab that closes on node 0 and reconnects to node 2 within the grace fires no uidport-close", async () => {
    const before = uidports("alice").length;
    const id = t1.client.clientId;
    await t1.client.close();
    tabs.splice(tabs.indexOf(t1), 1);
    t1 = tab("t1 ws@2", "alice", 2, "ws", id);
    await t1.client.whenOpen();
    // Past node 0's grace: its last WS of alice is gone for good now.
    await sleep(WS_GRACE + 300);
    assert.deepEqual(uidports("alice").slice(before), [], "neither a close nor a second open");
    assert.ok(await aliceEverywhere());
    nodes[0]!.chsk.send("alice", ["t/push", "after-move"]);
    await reached([t1, t2, t3], "t/push", "after-move", "a push after the move");
    assert.equal(got(t1, "t/push").filter((g) => g === "after-move").length, 1);
  });

  it("outage: a push reaches the sender's local tabs only and is counted lost; after the store is back pushes cross again", async () => {
    const before = nodes.map((n) => n.chsk.cluster!.stats());
    const opens = uidports("alice").length;
    // t1 moved to node 2: give node 0 a local WS tab of alice again.
    const t0 = tab("t0 ws@0", "alice", 0, "ws");
    await t0.client.whenOpen();
    await untilAsync(async () => (await cluster().connectedUids()).ws.includes("alice"), 5000, "t0 registered");

    hub.setDown(true);
    try {
      assert.ok(nodes.every((n) => n.chsk.cluster!.stats().status === "down"));
      nodes[0]!.chsk.send("alice", ["t/push", "while-down"]);
      await reached([t0], "t/push", "while-down", "node 0's local tab during the outage");
      const s0 = () => nodes[0]!.chsk.cluster!.stats();
      await until(() => s0().lostEvents > before[0]!.lostEvents && s0().lostQueued > before[0]!.lostQueued, 5000, "lost events counted");
      // One WS batch that could not reach nodes 1 and 2, one Ajax batch that could not be queued: one event each.
      assert.equal(s0().lostEvents - before[0]!.lostEvents, 1, JSON.stringify(s0()));
      assert.equal(s0().lostQueued - before[0]!.lostQueued, 1, JSON.stringify(s0()));
      assert.ok(nodes[0]!.errors.some((e) => e.code === "CHSK_ERR_CLUSTER"), "the outage is reported");
    } finally {
      hub.setDown(false);
    }
    await until(() => nodes.every((n) => n.chsk.cluster!.stats().resyncs === 1 && n.chsk.cluster!.stats().status === "ready"), 5000, "resync");
    await untilAsync(aliceEverywhere, 5000, "alice registered again on ws and ajax");
    for (const n of nodes) n.chsk.send("alice", ["t/push", `back-${n.i}`]);
    for (const n of nodes) await reached([t0, t1, t2, t3], "t/push", `back-${n.i}`, `node ${n.i}'s push after the outage`);
    // WS tabs on the other nodes never get it (the Ajax tab may: node 0 keeps it for the tab's next poll there).
    for (const t of [t1, t2]) assert.ok(!got(t, "t/push").includes("while-down"), `${t.name} never got the lost push`);
    assert.ok(got(t3, "t/push").filter((g) => g === "while-down").length <= 1);
    for (const t of [t0, t1, t2, t3]) assert.equal(got(t, "t/push").filter((g) => g.startsWith("back-")).length, 3, `${t.name}: once each`);
    assert.deepEqual(
      nodes.map((n) => n.chsk.cluster!.stats().resyncs),
      [1, 1, 1],
    );
    assert.deepEqual(uidports("alice").slice(opens), [], "alice stayed connected: no uidport event");
    await t0.client.close();
    tabs.splice(tabs.indexOf(t0), 1);
  });

  it("after all of alice's tabs close, exactly one uidport-close, after the grace", async () => {
    const before = uidports("alice").length;
    await Promise.all([t1, t2, t3].map((t) => t.client.close()));
    await until(() => uidports("alice").length > before, 5000, "alice's uidport-close");
    assert.deepEqual(
      uidports("alice")
        .slice(before)
        .map((p) => p[1]),
      ["close"],
      JSON.stringify(uidports("alice")),
    );
    await untilAsync(async () => !(await cluster().connectedUids()).any.includes("alice"), 5000, "alice gone from the cluster");
    // A few reaps later: still one.
    await sleep(400);
    assert.deepEqual(
      uidports("alice")
        .slice(before)
        .map((p) => p[1]),
      ["close"],
    );
    assert.deepEqual(await cluster().connectedUids(), { ws: ["bob"], ajax: [], any: ["bob"] });
  });
});

describe("a held Ajax poll on one node takes a push sent from another", () => {
  const hub = createMemoryHub();
  let nodes: Node[] = [];
  let client: Client | undefined;

  // Polls that never time out during the test: the push can only arrive because node 1's queue step woke node 0.
  before(async () => {
    nodes = await Promise.all([0, 1].map((i) => startNode(i, hub, 50_000)));
  });
  after(async () => {
    await client?.close();
    for (const n of nodes) {
      await n.chsk.close();
      n.http.closeAllConnections();
      await new Promise<void>((resolve) => n.http.close(() => resolve()));
    }
  });

  it("is woken and answered long before its lp-timeout", async () => {
    const got: unknown[] = [];
    client = createClient({ url: `http://127.0.0.1:${nodes[0]!.port}/chsk`, type: "ajax", headers: { cookie: "uid=carl" }, backoffMs: () => 50 });
    client.on("recv", (ev) => got.push(ev[1]));
    await client.whenOpen();
    const c = nodes[1]!.chsk.cluster!;
    const end = Date.now() + 5000;
    while (!(await c.connectedUids()).ajax.includes("carl")) {
      if (Date.now() > end) throw new Error("carl's poll was never held");
      await sleep(10);
    }
    nodes[1]!.chsk.send("carl", ["t/push", "p1"]);
    await until(() => got.length > 0, 5000, "the push through node 0's held poll");
    nodes[1]!.chsk.send("carl", ["t/push", "p2"]);
    await until(() => got.length > 1, 5000, "a second push, on the next held poll");
    assert.deepEqual(got, ["p1", "p2"]);
  });
});
