/**
 * Conformance of the cluster engines: the same cases, driven on the
 * `ClusterEngine` interface directly (no servers), against the in-memory
 * engine and the Redis engine on a real redis-server. The cases read the
 * documented semantics of `types.ts` and the scripts of `lua.ts`; the two
 * engines must agree on every one.
 *
 * Message absence is checked with a barrier, not a wait: a broadcast
 * published after the step reaches every subscriber after what the step
 * published (pub/sub keeps publish order per subscriber), so whatever a
 * node got before the barrier is all it got from the step.
 *
 * Short windows (tens of ms) only ever serve as lower bounds: a test sleeps
 * at least that long, never asserts that something happened within it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createMemoryHub, type MemoryHub, memoryCluster } from "../../src/server/cluster/memory.js";
import { redisCluster } from "../../src/server/cluster/redis.js";
import type { ClusterEngine, ClusterMessage, Frame, NodeReport, Windows } from "../../src/server/cluster/types.js";
import { startRedis, type RedisHandle } from "../cluster/redis.js";
import { sleep, until } from "./server-helpers.js";

const W: Windows = { frameMs: 60_000, maxQueued: 100 };
/** Long enough that nothing lapses during a test. */
const LONG = 60_000;
const TTL = 120_000;

interface Node {
  id: string;
  engine: ClusterEngine;
  /** Everything delivered, barrier broadcasts included. */
  inbox: ClusterMessage[];
  disconnected: number;
  reconnected: number;
}

interface Cluster {
  nodes: Node[];
  A: Node;
  B: Node;
  C: Node;
  /** Messages `n` got since the last barrier, barriers left out. */
  received(n: Node): Promise<ClusterMessage[]>;
  /** The first message `n` got that matches (bounded wait). */
  next(n: Node, pred: (m: ClusterMessage) => boolean, what: string): Promise<ClusterMessage>;
  /** Simulated or real store outage (memory hub down / redis-server stopped). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

interface Kind {
  name: "memory" | "redis";
  setup(): Promise<void>;
  teardown(): Promise<void>;
  cluster(): Promise<Cluster>;
}

let seq = 0;

async function makeCluster(engines: (id: string) => ClusterEngine, down: () => Promise<void>, up: () => Promise<void>): Promise<Cluster> {
  const mk = async (id: string): Promise<Node> => {
    const n: Node = { id, engine: engines(id), inbox: [], disconnected: 0, reconnected: 0 };
    await n.engine.start(id, {
      message: (m) => n.inbox.push(m),
      disconnected: () => n.disconnected++,
      reconnected: () => n.reconnected++,
    });
    return n;
  };
  const [A, B, C, X] = await Promise.all(["A", "B", "C", "X"].map(mk));
  const nodes = [A!, B!, C!];
  const seen = new Map<Node, number>();
  let barriers = 0;
  const isBarrier = (m: ClusterMessage): boolean => m.type === "broadcast" && m.from.startsWith("barrier-");
  const c: Cluster = {
    nodes,
    A: A!,
    B: B!,
    C: C!,
    async received(n) {
      const from = `barrier-${++barriers}`;
      await X!.engine.pushBroadcast(from, from);
      await until(() => n.inbox.some((m) => m.type === "broadcast" && m.from === from), 5000, `barrier ${from} on ${n.id}`);
      const start = seen.get(n) ?? 0;
      const end = n.inbox.findIndex((m) => m.type === "broadcast" && m.from === from);
      seen.set(n, end + 1);
      return n.inbox.slice(start, end).filter((m) => !isBarrier(m));
    },
    async next(n, pred, what) {
      await until(() => n.inbox.some(pred), 5000, `${what} on ${n.id}`);
      return n.inbox.find(pred)!;
    },
    down,
    up,
    async close() {
      await Promise.all([...nodes, X!].map((n) => n.engine.close()));
    },
  };
  return c;
}

const memory = (): Kind => {
  let hub: MemoryHub;
  return {
    name: "memory",
    async setup() {},
    async teardown() {},
    cluster() {
      hub = createMemoryHub();
      return makeCluster(
        (id) => memoryCluster({ hub, nodeId: id }).engine,
        async () => hub.setDown(true),
        async () => hub.setDown(false),
      );
    },
  };
};

const redis = (): Kind => {
  let server: RedisHandle;
  return {
    name: "redis",
    async setup() {
      server = await startRedis();
    },
    async teardown() {
      await server?.stop();
    },
    cluster() {
      // A prefix per test: the cases share one redis-server but no keys.
      const prefix = `t${++seq}:`;
      return makeCluster(
        (id) => redisCluster({ url: server.url, prefix, nodeId: id }).engine,
        () => server.down({ signal: "SIGKILL" }),
        () => server.up(),
      );
    },
  };
};

const sorted = (xs: string[]): string[] => [...xs].sort();
const uid = (s: string): string => JSON.stringify(s);
const report = (users: number): NodeReport => ({ users, clients: { ws: users, ajax: 0 }, startedAt: 1_700_000_000_000 });

/** Calls reap every few ms until `done(all uids returned so far)`; returns them all. */
async function reapUntil(e: ClusterEngine, graceMs: number, done: (closed: string[]) => boolean, what: string): Promise<string[]> {
  const closed: string[] = [];
  const end = Date.now() + 5000;
  while (!done(closed)) {
    if (Date.now() > end) throw new Error(`timed out reaping until ${what}; got ${JSON.stringify(closed)}`);
    closed.push(...(await e.reap(graceMs, 1000)));
    if (!done(closed)) await sleep(5);
  }
  return closed;
}

for (const kind of [memory(), redis()]) {

  describe(`cluster engine conformance: ${kind.name}`, () => {
    let c: Cluster;
    before(() => kind.setup());
    after(() => kind.teardown());

    const fresh = async (): Promise<Cluster> => {
      c = await kind.cluster();
      return c;
    };
    const done = async (): Promise<void> => c.close();

    // -----------------------------------------------------------------------
    // Presence

    it("wsUp / wsDown: the first node's up makes a uid known, the last node's down unknown", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("alice");
        assert.equal(c.A.engine.isReady, true);
        assert.equal(await A.engine.wsUp(A.id, u), true, "first up anywhere: known");
        assert.equal(await B.engine.wsUp(B.id, u), false, "second node: already known");
        assert.equal(await A.engine.wsUp(A.id, u), false, "same node again: already known");
        assert.deepEqual(await A.engine.connectedUids(), { ws: [u], ajax: [], any: [u] });
        assert.equal(await A.engine.wsDown(A.id, u), false, "B still holds it");
        assert.equal(await A.engine.wsDown(A.id, u), false, "A no longer holds it: nothing changes");
        assert.deepEqual(await B.engine.connectedUids(), { ws: [u], ajax: [], any: [u] });
        assert.equal(await B.engine.wsDown(B.id, u), true, "last one gone: unknown");
        assert.deepEqual(await A.engine.connectedUids(), { ws: [], ajax: [], any: [] });
        assert.equal(await B.engine.wsDown(B.id, uid("nobody")), false);
        assert.equal(await A.engine.wsUp(A.id, u), true, "known again after it was unknown");
      } finally {
        await done();
      }
    });

    it("uids are JSON: a number and a string never collide", async () => {
      const { A } = await fresh();
      try {
        assert.equal(await A.engine.wsUp(A.id, "42"), true);
        assert.equal(await A.engine.wsUp(A.id, uid("42")), true);
        assert.equal(await A.engine.wsUp(A.id, "null"), true);
        assert.deepEqual(sorted((await A.engine.connectedUids()).ws), sorted(["42", '"42"', "null"]));
      } finally {
        await done();
      }
    });

    it("Ajax: handshake names the uid; hold opens it once, release gives the grace, reap closes it once", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("bob");
        await A.engine.ajaxHandshake("c1", u, TTL);
        assert.equal(await B.engine.ajaxLookup("c1"), u, "any node sees the handshake");
        assert.equal(await B.engine.ajaxLookup("c-never"), null);
        assert.deepEqual((await A.engine.connectedUids()).any, [], "a handshake alone connects nobody");

        const h1 = await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        assert.deepEqual(h1, { opened: true, frames: [], expired: 0 });
        assert.deepEqual(await C.engine.connectedUids(), { ws: [], ajax: [u], any: [u] });
        const h2 = await B.engine.ajaxHold(B.id, "c1", u, LONG, TTL);
        assert.equal(h2.opened, false, "the next poll, on another node: already known");
        assert.deepEqual(await C.engine.reap(10, 1000), [], "held: nothing to close");

        // A's poll ended after B took over: A's release must not touch B's poll.
        await A.engine.ajaxRelease(A.id, "c1", u, 0, TTL);
        await sleep(5);
        assert.deepEqual(await C.engine.reap(10, 1000), []);
        assert.deepEqual((await C.engine.connectedUids()).ajax, [u]);

        // B's release with a long grace: still connected.
        await B.engine.ajaxRelease(B.id, "c1", u, LONG, TTL);
        assert.deepEqual(await C.engine.reap(10, 1000), []);
        assert.deepEqual((await C.engine.connectedUids()).ajax, [u]);

        // Polls again, then a short grace: closed once, by one reap.
        assert.equal((await C.engine.ajaxHold(C.id, "c1", u, LONG, TTL)).opened, false);
        await C.engine.ajaxRelease(C.id, "c1", u, 20, TTL);
        await sleep(30);
        const closed = await reapUntil(A.engine, 10, (x) => x.length > 0, "bob closed");
        assert.deepEqual(closed, [u]);
        assert.deepEqual(await B.engine.reap(10, 1000), [], "returned to exactly one caller");
        assert.deepEqual(await A.engine.connectedUids(), { ws: [], ajax: [], any: [] });

        // A late release of the reaped client does not bring it back (no close without an open).
        await C.engine.ajaxRelease(C.id, "c1", u, LONG, TTL);
        assert.deepEqual(await A.engine.connectedUids(), { ws: [], ajax: [], any: [] });
        assert.equal((await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL)).opened, true, "its next poll opens it again");
      } finally {
        await done();
      }
    });

    it("Ajax and WS together: one open, and the close only when both are gone", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("carol");
        assert.equal((await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL)).opened, true);
        assert.equal(await B.engine.wsUp(B.id, u), false, "known through its Ajax client");
        await A.engine.ajaxRelease(A.id, "c1", u, 10, TTL);
        await sleep(20);
        assert.deepEqual(await A.engine.reap(10, 1000), [], "WS still up");
        assert.deepEqual(await A.engine.connectedUids(), { ws: [u], ajax: [], any: [u] });
        assert.equal(await B.engine.wsDown(B.id, u), true, "Ajax grace over, last WS gone: unknown");
      } finally {
        await done();
      }
    });

    it("a WS down during an Ajax grace is not a close; the reap after the grace is", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("dan");
        assert.equal(await B.engine.wsUp(B.id, u), true);
        assert.equal((await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL)).opened, false);
        await A.engine.ajaxRelease(A.id, "c1", u, 20, TTL);
        assert.equal(await B.engine.wsDown(B.id, u), false, "its Ajax client is in its grace");
        await sleep(30);
        assert.deepEqual(await reapUntil(A.engine, 10, (x) => x.length > 0, "dan closed"), [u]);
      } finally {
        await done();
      }
    });

    it("gr: a node whose heartbeat lapses is reaped; its WS uids close after the grace unless they came back", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("erin");
        const v = uid("frank");
        await B.engine.heartbeat(B.id, LONG, report(0));
        await A.engine.heartbeat(A.id, 20, report(2));
        assert.equal(await A.engine.wsUp(A.id, u), true);
        assert.equal(await A.engine.wsUp(A.id, v), true);
        assert.deepEqual(await A.engine.wsClientOpen(A.id, "w1"), { frames: [], expired: 0 });
        assert.deepEqual(sorted((await C.engine.nodes()).map((n) => n.nodeId)), ["A", "B"]);
        await sleep(30);
        // The first reap after the lapse drops A; its uids get 60 ms of grace.
        const first = await C.engine.reap(60, 1000);
        assert.deepEqual(first, [], "in their grace");
        assert.deepEqual((await C.engine.nodes()).map((n) => n.nodeId), ["B"]);
        const during = await C.engine.connectedUids();
        assert.deepEqual(during.ws, []);
        assert.deepEqual(sorted(during.any), sorted([u, v]), "known during the grace");
        assert.equal(await B.engine.pushClient(B.id, "w1", "x"), 0, "A's sockets are forgotten");
        assert.equal(await B.engine.wsUp(B.id, u), false, "erin reconnects to B within the grace: no open");
        const closed = await reapUntil(C.engine, 60, (x) => x.length > 0, "frank closed");
        assert.deepEqual(closed, [v], "only frank, once");
        assert.deepEqual(await C.engine.reap(60, 1000), []);
        assert.deepEqual(await C.engine.connectedUids(), { ws: [u], ajax: [], any: [u] });
        assert.equal(await B.engine.wsDown(B.id, u), true, "erin's grace is over: B's down closes her");
        assert.equal(await A.engine.wsDown(A.id, v), false, "the dead node's late down changes nothing");
      } finally {
        await done();
      }
    });

    it("gr: a dead node's grace outlasts an earlier Ajax expiry of the same uid", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("gus");
        await A.engine.heartbeat(A.id, 10, report(1));
        assert.equal(await A.engine.wsUp(A.id, u), true);
        await B.engine.ajaxHold(B.id, "c1", u, LONG, TTL);
        await sleep(20);
        assert.deepEqual(await C.engine.reap(LONG, 1000), [], "A dropped; gus gets a long WS grace");
        await B.engine.ajaxRelease(B.id, "c1", u, 10, TTL);
        await sleep(20);
        assert.deepEqual(await C.engine.reap(LONG, 1000), [], "the Ajax client lapsed, the WS grace runs on");
        assert.deepEqual(await C.engine.reap(LONG, 1000), []);
        assert.deepEqual(await C.engine.connectedUids(), { ws: [], ajax: [], any: [u] });
        assert.equal(await C.engine.wsUp(C.id, u), false, "back within the grace: no open");
      } finally {
        await done();
      }
    });

    it("leave: the node's presence goes at once, its users get the grace", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("gina");
        const v = uid("hal");
        await A.engine.heartbeat(A.id, LONG, report(2));
        await B.engine.heartbeat(B.id, LONG, report(1));
        assert.equal(await A.engine.wsUp(A.id, u), true);
        assert.equal(await A.engine.wsUp(A.id, v), true);
        assert.equal(await B.engine.wsUp(B.id, v), false);
        await A.engine.wsClientOpen(A.id, "w1");
        await A.engine.leave(A.id, 20);
        assert.deepEqual((await C.engine.nodes()).map((n) => n.nodeId), ["B"]);
        const now = await C.engine.connectedUids();
        assert.deepEqual(now.ws, [v]);
        assert.deepEqual(sorted(now.any), sorted([u, v]));
        assert.equal(await C.engine.pushClient(C.id, "w1", "x"), 0);
        assert.equal(await C.engine.pushUser(C.id, v, "x"), 1, "only B holds hal now");
        await sleep(30);
        assert.deepEqual(await reapUntil(C.engine, 20, (x) => x.length > 0, "gina closed"), [u]);
        await sleep(5);
        assert.deepEqual(await C.engine.reap(20, 1000), [], "hal is still on B");
      } finally {
        await done();
      }
    });

    it("leave: the node's inbox is unsubscribed", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("ian");
        await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        await A.engine.leave(A.id, 20);
        // The held poll still names A: the queued frame wakes A's inbox, which left.
        assert.deepEqual(await B.engine.queueClient("c1", "f", W), { queued: 1, full: 0 });
        assert.deepEqual(await c.received(A), []);
      } finally {
        await done();
      }
    });

    // -----------------------------------------------------------------------
    // Queues

    it("queueUser: queued for the uid's live Ajax clients only, waking the nodes holding their polls", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("jo");
        await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        await B.engine.ajaxHold(B.id, "c2", u, LONG, TTL);
        await C.engine.ajaxHold(C.id, "c3", u, 1, TTL); // lapses at once
        await A.engine.ajaxHold(A.id, "other", uid("someone-else"), LONG, TTL);
        await C.engine.wsUp(C.id, u);
        await C.engine.wsClientOpen(C.id, "w1");
        await sleep(10);
        assert.deepEqual(await C.engine.queueUser(u, "f1", W), { queued: 2, full: 0 });
        assert.deepEqual(await A.engine.queueUser(uid("nobody"), "f", W), { queued: 0, full: 0 });
        assert.deepEqual(await c.received(A), [{ type: "wake", clientId: "c1" }]);
        assert.deepEqual(await c.received(B), [{ type: "wake", clientId: "c2" }]);
        assert.deepEqual(await c.received(C), [], "c3 lapsed, w1 is WS");
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: ["f1"], expired: 0 });
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: [], expired: 0 }, "taken once");
        assert.deepEqual(await C.engine.ajaxTake("c2"), { frames: ["f1"], expired: 0 }, "any node may take it");
        assert.deepEqual(await C.engine.ajaxTake("c3"), { frames: [], expired: 0 });
        assert.deepEqual(await C.engine.ajaxTake("other"), { frames: [], expired: 0 });
        assert.deepEqual(await C.engine.wsClientOpen(C.id, "w1"), { frames: [], expired: 0 });
      } finally {
        await done();
      }
    });

    it("queues keep per-client order, are bounded (full counted), and a poll takes one frame", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("kim");
        await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        const w3 = { ...W, maxQueued: 3 };
        const r = [];
        for (let i = 1; i <= 5; i++) r.push(await B.engine.queueClient("c1", `f${i}`, w3));
        assert.deepEqual(r, [
          { queued: 1, full: 0 },
          { queued: 1, full: 0 },
          { queued: 1, full: 0 },
          { queued: 0, full: 1 },
          { queued: 0, full: 1 },
        ]);
        assert.deepEqual(await B.engine.queueUser(u, "f6", w3), { queued: 0, full: 1 });
        assert.deepEqual(await B.engine.queueBroadcast("f7", w3), { queued: 0, full: 1 });
        assert.deepEqual(await c.received(A), Array(3).fill({ type: "wake", clientId: "c1" }), "a wake per queued frame, none when full");
        // The next poll (on B) takes the oldest; later takes the rest in order.
        assert.deepEqual(await B.engine.ajaxHold(B.id, "c1", u, LONG, TTL), { opened: false, frames: ["f1"], expired: 0 });
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: ["f2"], expired: 0 });
        assert.deepEqual(await B.engine.ajaxTake("c1"), { frames: ["f3"], expired: 0 });
        assert.deepEqual(await B.engine.ajaxTake("c1"), { frames: [], expired: 0 });
        assert.deepEqual(await B.engine.queueClient("c1", "f8", w3), { queued: 1, full: 0 }, "room again");
        assert.deepEqual(await B.engine.queueClient("c-unknown", "f", W), { queued: 0, full: 0 }, "not a live Ajax client");
      } finally {
        await done();
      }
    });

    it("frames past their window are dropped when taken, and counted as expired", async () => {
      const { A } = await fresh();
      try {
        const u = uid("lee");
        await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        assert.deepEqual(await A.engine.queueClient("c1", "old1", { ...W, frameMs: 10 }), { queued: 1, full: 0 });
        assert.deepEqual(await A.engine.queueClient("c1", "old2", { ...W, frameMs: 10 }), { queued: 1, full: 0 });
        // A long-lived frame after them keeps the queue itself alive.
        assert.deepEqual(await A.engine.queueClient("c1", "new", W), { queued: 1, full: 0 });
        await sleep(25);
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: ["new"], expired: 2 });
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: [], expired: 0 });
        // A WS client's queue (keep) expires the same way.
        await A.engine.keep("w1", "old", { ...W, frameMs: 10 });
        await A.engine.keep("w1", "new", W);
        await sleep(25);
        assert.deepEqual(await A.engine.wsClientOpen(A.id, "w1"), { frames: ["new"], expired: 1 });
      } finally {
        await done();
      }
    });

    it("untake puts a taken frame back in front of the queue", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("max");
        await A.engine.ajaxHold(A.id, "c1", u, LONG, TTL);
        await A.engine.queueClient("c1", "f1", W);
        await A.engine.queueClient("c1", "f2", W);
        const t = await A.engine.ajaxTake("c1");
        assert.deepEqual(t.frames, ["f1"]);
        await A.engine.untake("c1", t.frames[0]!, W);
        assert.deepEqual(await B.engine.ajaxHold(B.id, "c1", u, LONG, TTL), { opened: false, frames: ["f1"], expired: 0 });
        assert.deepEqual(await B.engine.ajaxTake("c1"), { frames: ["f2"], expired: 0 });
        // Into an empty queue, too.
        await B.engine.untake("c1", "f3", W);
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: ["f3"], expired: 0 });
      } finally {
        await done();
      }
    });

    it("wake: the node holding the poll (or, for keep, the WS socket) is woken; nobody when none holds it", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("ned");
        await B.engine.ajaxHold(B.id, "c1", u, LONG, TTL);
        await A.engine.queueClient("c1", "f1", W);
        assert.deepEqual(await c.received(B), [{ type: "wake", clientId: "c1" }]);
        assert.deepEqual(await c.received(A), []);
        await B.engine.ajaxRelease(B.id, "c1", u, LONG, TTL);
        assert.deepEqual(await A.engine.queueClient("c1", "f2", W), { queued: 1, full: 0 }, "between polls it is still live");
        for (const n of c.nodes) assert.deepEqual(await c.received(n), [], `no poll held: ${n.id} not woken`);
        assert.deepEqual(await C.engine.ajaxHold(C.id, "c1", u, LONG, TTL), { opened: false, frames: ["f1"], expired: 0 });
        await A.engine.queueClient("c1", "f3", W);
        assert.deepEqual(await c.received(C), [{ type: "wake", clientId: "c1" }], "the new holder");
        assert.deepEqual(await c.received(B), []);

        // keep: for a WS client reconnecting, wherever it comes back.
        assert.deepEqual(await A.engine.keep("w1", "k1", W), { queued: 1, full: 0 });
        for (const n of c.nodes) assert.deepEqual(await c.received(n), [], `w1 held nowhere: ${n.id} not woken`);
        assert.deepEqual(await C.engine.wsClientOpen(C.id, "w1"), { frames: ["k1"], expired: 0 });
        assert.deepEqual(await A.engine.keep("w1", "k2", W), { queued: 1, full: 0 });
        assert.deepEqual(await A.engine.keep("w1", "k3", W), { queued: 1, full: 0 });
        assert.deepEqual(await c.received(C), [
          { type: "wake", clientId: "w1" },
          { type: "wake", clientId: "w1" },
        ]);
        assert.deepEqual(await C.engine.wsClientOpen(C.id, "w1"), { frames: ["k2", "k3"], expired: 0 }, "all of it at once, in order");
        assert.deepEqual(await A.engine.keep("w1", "k4", { ...W, maxQueued: 1 }), { queued: 1, full: 0 });
        assert.deepEqual(await A.engine.keep("w1", "k5", { ...W, maxQueued: 1 }), { queued: 0, full: 1 });
      } finally {
        await done();
      }
    });

    // -----------------------------------------------------------------------
    // Pushes

    it("pushUser: to every other node holding a WS connection of the uid, in order, bytes as bytes", async () => {
      const { A, B, C } = await fresh();
      try {
        const u = uid("olga");
        await A.engine.wsUp(A.id, u);
        await B.engine.wsUp(B.id, u);
        assert.equal(await A.engine.pushUser(A.id, u, "x1"), 1);
        assert.equal(await A.engine.pushUser(A.id, u, "x2"), 1);
        const bytes = new Uint8Array([0, 1, 2, 255, 0x3a]);
        assert.equal(await C.engine.pushUser(C.id, u, bytes), 2);
        assert.equal(await C.engine.pushUser(C.id, uid("nobody"), "x"), 0);
        const gotB = await c.received(B);
        assert.deepEqual(gotB.slice(0, 2), [
          { type: "user", uid: u, frame: "x1" },
          { type: "user", uid: u, frame: "x2" },
        ]);
        const bin = gotB[2] as { type: "user"; frame: Frame };
        assert.equal(gotB.length, 3);
        assert.ok(bin.frame instanceof Uint8Array, "binary frames stay binary");
        assert.deepEqual([...bin.frame], [...bytes]);
        const gotA = await c.received(A);
        assert.equal(gotA.length, 1, "not its own pushes");
        assert.deepEqual([...(gotA[0] as { frame: Uint8Array }).frame], [...bytes]);
        assert.deepEqual(await c.received(C), [], "C holds no connection of olga");
      } finally {
        await done();
      }
    });

    it("pushClient: to the node holding the client's socket, unless that is the sender", async () => {
      const { A, B, C } = await fresh();
      try {
        await A.engine.wsClientOpen(A.id, "w1");
        assert.equal(await B.engine.pushClient(B.id, "w1", "y1"), 1);
        assert.equal(await A.engine.pushClient(A.id, "w1", "y2"), 0, "the sender delivers its own");
        assert.equal(await B.engine.pushClient(B.id, "w-unknown", "y"), 0);
        await C.engine.wsClientGone(C.id, "w1"); // C never held it: no effect
        assert.equal(await C.engine.pushClient(C.id, "w1", "y3"), 1);
        assert.deepEqual(await c.received(A), [
          { type: "client", clientId: "w1", frame: "y1" },
          { type: "client", clientId: "w1", frame: "y3" },
        ]);
        // Moves to B: B holds it now, A's late gone doesn't undo that.
        await B.engine.wsClientOpen(B.id, "w1");
        await A.engine.wsClientGone(A.id, "w1");
        assert.equal(await C.engine.pushClient(C.id, "w1", "y4"), 1);
        assert.deepEqual(await c.received(B), [{ type: "client", clientId: "w1", frame: "y4" }]);
        await B.engine.wsClientGone(B.id, "w1");
        assert.equal(await C.engine.pushClient(C.id, "w1", "y5"), 0);
        assert.deepEqual(await c.received(A), []);
      } finally {
        await done();
      }
    });

    it("broadcast: the WS batch reaches every other node once; the Ajax batch every live Ajax client", async () => {
      const { A, B, C } = await fresh();
      try {
        await A.engine.pushBroadcast(A.id, "z1");
        await A.engine.pushBroadcast(A.id, "z2");
        const z = [
          { type: "broadcast", from: "A", frame: "z1" },
          { type: "broadcast", from: "A", frame: "z2" },
        ];
        assert.deepEqual(await c.received(B), z);
        assert.deepEqual(await c.received(C), z);
        await A.engine.ajaxHold(A.id, "c1", uid("pat"), LONG, TTL);
        await B.engine.ajaxHold(B.id, "c2", uid("quin"), LONG, TTL);
        await B.engine.ajaxHold(B.id, "c3", uid("quin"), 1, TTL); // lapses at once
        await sleep(10);
        assert.deepEqual(await C.engine.queueBroadcast("zz", W), { queued: 2, full: 0 });
        assert.deepEqual(await A.engine.ajaxTake("c1"), { frames: ["zz"], expired: 0 });
        assert.deepEqual(await A.engine.ajaxTake("c2"), { frames: ["zz"], expired: 0 });
        assert.deepEqual(await A.engine.ajaxTake("c3"), { frames: [], expired: 0 });
      } finally {
        await done();
      }
    });

    // -----------------------------------------------------------------------
    // Views

    it("connectedUids: by transport; a uid in its grace is known but on neither", async () => {
      const { A, B } = await fresh();
      try {
        const [r, s, t] = [uid("rae"), uid("sam"), uid("tom")];
        await A.engine.wsUp(A.id, r);
        await B.engine.ajaxHold(B.id, "c1", s, LONG, TTL);
        await A.engine.wsUp(A.id, t);
        await B.engine.ajaxHold(B.id, "c2", t, LONG, TTL);
        const u = await A.engine.connectedUids();
        assert.deepEqual(sorted(u.ws), sorted([r, t]));
        assert.deepEqual(sorted(u.ajax), sorted([s, t]));
        assert.deepEqual(sorted(u.any), sorted([r, s, t]));
        await B.engine.ajaxRelease(B.id, "c1", s, 1, TTL);
        await sleep(10);
        const g = await A.engine.connectedUids();
        assert.deepEqual(sorted(g.ajax), [t], "sam's grace lapsed");
        assert.deepEqual(sorted(g.any), sorted([r, s, t]), "sam is known until a reap closes him");
      } finally {
        await done();
      }
    });

    it("nodes: heartbeats list the nodes with their reports, by expiry; a lapsed one until it is reaped", async () => {
      const { A, B, C } = await fresh();
      try {
        assert.deepEqual(await A.engine.nodes(), []);
        await A.engine.heartbeat(A.id, LONG, report(3));
        await B.engine.heartbeat(B.id, LONG * 2, report(5));
        const ns = await C.engine.nodes();
        assert.deepEqual(
          ns.map((n) => [n.nodeId, n.info]),
          [
            ["A", report(3)],
            ["B", report(5)],
          ],
        );
        assert.ok(ns[0]!.expiresAt < ns[1]!.expiresAt);
        await A.engine.heartbeat(A.id, LONG * 3, report(4));
        assert.deepEqual(
          (await C.engine.nodes()).map((n) => [n.nodeId, n.info?.users]),
          [
            ["B", 5],
            ["A", 4],
          ],
          "a later heartbeat moves it",
        );
        await C.engine.heartbeat(C.id, 10, report(0));
        await sleep(20);
        assert.deepEqual((await A.engine.nodes()).map((n) => n.nodeId).sort(), ["A", "B", "C"], "lapsed but not yet reaped");
        await A.engine.reap(10, 1000);
        assert.deepEqual((await A.engine.nodes()).map((n) => n.nodeId), ["B", "A"]);
      } finally {
        await done();
      }
    });

    // -----------------------------------------------------------------------
    // Outage

    it("outage: steps reject while the store is down; it comes back empty and says so once", async () => {
      const { A, B } = await fresh();
      try {
        const u = uid("uma");
        await A.engine.wsUp(A.id, u);
        await A.engine.heartbeat(A.id, LONG, report(1));
        await c.down();
        await until(() => A.disconnected === 1 && B.disconnected === 1, 5000, "disconnected");
        assert.equal(A.engine.isReady, false);
        await assert.rejects(A.engine.wsUp(A.id, u));
        await assert.rejects(B.engine.pushUser(B.id, u, "x"));
        await assert.rejects(B.engine.queueUser(u, "x", W));
        await assert.rejects(B.engine.connectedUids());
        await assert.rejects(B.engine.ajaxLookup("c1"));
        await c.up();
        await until(() => A.reconnected === 1 && B.reconnected === 1 && A.engine.isReady && B.engine.isReady, 10_000, "reconnected");
        assert.equal(A.disconnected, 1, "one disconnect per outage");
        assert.deepEqual(await B.engine.connectedUids(), { ws: [], ajax: [], any: [] }, "a restarted store forgot everything");
        assert.deepEqual(await B.engine.nodes(), []);
        // Steps and the bus work again (the inbox subscription survived).
        assert.equal(await A.engine.wsUp(A.id, u), true);
        // Redis: the subscriber connection comes back on its own schedule, so push until one arrives.
        const arrived = () => A.inbox.some((m) => m.type === "user" && m.frame === "back");
        const end = Date.now() + 5000;
        while (!arrived() && Date.now() < end) {
          assert.equal(await B.engine.pushUser(B.id, u, "back"), 1);
          await sleep(20);
        }
        assert.ok(arrived(), "a push after the outage");
      } finally {
        await done();
      }
    });
  });
}
