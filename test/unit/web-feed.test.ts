/**
 * The dashboard feed (src/server/dashboard/feed.ts): aggregation, sampling,
 * lazy decoding of out-frames, the users view, what a `"counts"` subscriber
 * is kept from, and the latency window, driven by a fake server tap and a
 * manual clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cancel, Clock } from "../../src/core/clock.js";
import { kw } from "../../src/core/edn/values.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { encodeHandshake, encodePong, encodePush, encodeReply, encodeServerPing } from "../../src/core/protocol/codec.js";
import type { ClientInfo, ServerTapEvent, Uid } from "../../src/server/types.js";
import { ChskError } from "../../src/core/protocol/errors.js";
import { createDashboardFeed, type FeedSink, type FeedSource } from "../../src/server/dashboard/feed.js";
import type { DashboardAccessLevel, FeedMessages, TickMessage, UsersMessage } from "../../src/server/dashboard/feed-types.js";
import { LatencyWindow } from "../../src/server/dashboard/latency-window.js";

class TestClock implements Clock {
  #timers: { at: number; fn: () => void; live: boolean }[] = [];
  constructor(public t = 1_700_000_000_000) {}
  now = () => this.t;
  setTimer(ms: number, fn: () => void): Cancel {
    const timer = { at: this.t + ms, fn, live: true };
    this.#timers.push(timer);
    return () => void (timer.live = false);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.#timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

const packer = ednPacker();

function fakeServer() {
  const listeners = new Set<(e: ServerTapEvent) => void>();
  const clients: ClientInfo[] = [];
  const uids = { ws: new Set<Uid>(), ajax: new Set<Uid>(), any: new Set<Uid>() };
  const server: FeedSource = {
    packer,
    tap(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    clients: () => [...clients],
    get connectedUids() {
      return uids;
    },
  };
  return {
    server,
    clients,
    uids,
    emit: (e: ServerTapEvent) => {
      for (const l of listeners) l(e);
    },
    get listeners() {
      return listeners.size;
    },
  };
}

function collect(filter = "", access: DashboardAccessLevel = "read") {
  const got: { type: keyof FeedMessages; data: unknown }[] = [];
  const sink: FeedSink = { filter, access, send: (type, data) => void got.push({ type, data }) };
  const last = <K extends keyof FeedMessages>(type: K) => got.filter((g) => g.type === type).at(-1)?.data as FeedMessages[K] | undefined;
  const all = <K extends keyof FeedMessages>(type: K) => got.filter((g) => g.type === type).map((g) => g.data as FeedMessages[K]);
  return { sink, got, last, all };
}

const client = (clientId: string, uid: Uid, transport: "ws" | "ajax", at: number): ClientInfo => ({
  clientId,
  uid,
  transport,
  connectedAt: at,
  lastActivity: at,
  connected: true,
  remoteAddress: "127.0.0.1",
});

describe("dashboard feed", () => {
  it("sends hello and users on subscribe, then one tick per second with that second's counters", () => {
    const clock = new TestClock(1_700_000_000_000);
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, memory: () => ({ rss: 100, heapUsed: 50 }) });
    const c = collect();
    feed.subscribe(c.sink);
    assert.deepEqual(c.got.map((g) => g.type), ["hello", "users"]);
    assert.equal(c.last("hello")?.access, "read");
    assert.equal(c.last("hello")?.actionToken, undefined);

    const at = clock.now();
    f.emit({ type: "frame:in", transport: "ws", uid: "alice", clientId: "c1", data: "[[:demo/echo 1] \"abc123\"]", event: ["demo/echo", 1], cbId: "abc123", at });
    f.emit({ type: "frame:out", transport: "ws", uid: "alice", clientId: "c1", data: encodeReply(packer, 1, "abc123"), at: at + 1 });
    f.emit({ type: "reply", transport: "ws", uid: "alice", clientId: "c1", eventId: "demo/echo", latencyMs: 3, at: at + 1 });
    clock.advance(1000);

    const tick = c.last("tick") as TickMessage;
    assert.ok(tick, "a tick after one second");
    assert.equal(tick.rate.in, 1);
    assert.equal(tick.rate.out, 1);
    assert.equal(tick.rate.replies, 1);
    assert.equal(tick.framesSeen, 2);
    assert.deepEqual(
      tick.frames.map((x) => [x.dir, x.eventId, x.kind, x.cb]),
      [
        ["in", "demo/echo", "event", true],
        ["out", "demo/echo", "reply", true],
      ],
    );
    assert.equal(tick.stats.rssBytes, 100);
    assert.equal(tick.stats.dashboards, 1);
    assert.ok(tick.latency && tick.latency.count === 1 && Math.abs(tick.latency.p50 - 3) < 0.05);

    clock.advance(1000);
    const next = c.last("tick") as TickMessage;
    assert.equal(next.rate.in, 0, "counters reset every second");
    assert.equal(next.frames.length, 0);
    assert.equal(next.latency?.count, 1, "latency covers the last minute, not the last second");
    feed.close();
    assert.equal(f.listeners, 0, "close() removes the tap");
  });

  it("names the event an Ajax reply answers (its frame carries no cb id)", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock });
    const c = collect();
    feed.subscribe(c.sink);
    const at = clock.now();
    f.emit({ type: "frame:in", transport: "ajax", uid: "al", clientId: "c9", data: "…", event: ["demo/echo", [["demo/x"]]], cbId: "ajax", at });
    // The reply value looks like a push batch; the reply tap right after its frame says what it is.
    f.emit({ type: "frame:out", transport: "ajax", uid: "al", clientId: "c9", data: encodeReply(packer, [[kw("demo/x")]], null), at });
    f.emit({ type: "reply", transport: "ajax", uid: "al", clientId: "c9", eventId: "demo/echo", latencyMs: 1, at });
    f.emit({ type: "frame:out", transport: "ajax", uid: "al", clientId: "c9", data: encodePush(packer, [["demo/x"]]), at });
    clock.advance(1000);
    const out = (c.last("tick") as TickMessage).frames.filter((x) => x.dir === "out");
    assert.deepEqual(
      out.map((x) => [x.eventId, x.kind]),
      [
        ["demo/echo", "reply"],
        ["demo/x", "push"],
      ],
    );
    feed.close();
  });

  it("keeps at most sampleLimit frames a second, whatever the traffic", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, sampleLimit: 50 });
    const c = collect();
    feed.subscribe(c.sink);
    for (let i = 0; i < 5000; i++) {
      f.emit({ type: "frame:in", transport: "ajax", uid: `u${i % 100}`, clientId: `c${i}`, data: "[[:demo/echo 1] nil]", event: ["demo/echo", 1], cbId: null, at: clock.now() });
    }
    clock.advance(1000);
    const tick = c.last("tick") as TickMessage;
    assert.equal(tick.rate.in, 5000);
    assert.equal(tick.framesSeen, 5000);
    assert.equal(tick.frames.length, 50);
    assert.ok(JSON.stringify(tick).length < 20_000, "a tick stays small");
    // Reservoir sampling keeps frames from across the second, not just the first 50.
    assert.ok(tick.frames.some((x) => Number(x.clientId?.slice(1)) >= 50));
    feed.close();
  });

  it("decodes sampled out-frames: handshake, push batches, pings, pongs", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock });
    const c = collect();
    feed.subscribe(c.sink);
    const at = clock.now();
    const out = (data: string | Uint8Array) => f.emit({ type: "frame:out", transport: "ws", uid: "bob", clientId: "c2", data, at });
    out(encodeHandshake(packer, "bob"));
    out(encodePush(packer, [["demo/msg", { text: "a" }], ["demo/msg", { text: "b" }], ["demo/other"]]));
    out(encodeServerPing(packer));
    f.emit({ type: "frame:in", transport: "ws", uid: "bob", clientId: "c2", data: "…", event: ["chsk/ws-ping"], cbId: "p1", at });
    out(encodePong(packer, "p1"));
    out(packer.pack([kw("chsk/timeout"), null]));
    clock.advance(1000);
    const frames = (c.last("tick") as TickMessage).frames.filter((x) => x.dir === "out");
    assert.deepEqual(
      frames.map((x) => [x.eventId, x.kind, x.count]),
      [
        ["chsk/handshake", "control", 1],
        ["demo/msg, demo/other", "push", 3],
        ["chsk/ws-ping", "control", 1],
        ["chsk/ws-ping", "control", 1],
        ["chsk/timeout", "control", 1],
      ],
    );
    feed.close();
  });

  it("lists users with their clients, by transport, capped and filterable", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const t = clock.now();
    f.clients.push(client("a1", "alice", "ws", t - 5000), client("a2", "alice", "ajax", t - 1000), client("b1", "bob", "ws", t), client("n1", null, "ajax", t));
    for (const [uid, tr] of [["alice", "ws"], ["alice", "ajax"], ["bob", "ws"], [null, "ajax"]] as const) {
      f.uids[tr].add(uid);
      f.uids.any.add(uid);
    }
    const feed = createDashboardFeed({ server: f.server, clock, maxUsers: 2 });
    const all = feed.users();
    assert.deepEqual(all.counts, { users: { ws: 2, ajax: 2, any: 3 }, clients: { ws: 2, ajax: 2, total: 4 } });
    assert.equal(all.matching, 3);
    assert.deepEqual(all.users.map((u) => u.uid), ["alice", "bob"], "sorted, anonymous last, capped at maxUsers");
    assert.deepEqual(all.users[0]?.transports, ["ws", "ajax"]);
    assert.deepEqual(all.users[0]?.clients.map((x) => x.clientId), ["a1", "a2"]);

    const ali = feed.users("ALI");
    assert.deepEqual(ali.users.map((u) => u.uid), ["alice"]);
    const byClient = feed.users("n1");
    assert.deepEqual(byClient.users.map((u) => u.uid), [null]);
    feed.close();
  });

  it("sends users soon after connects and disconnects, coalescing bursts", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, usersDebounceMs: 150, maxClientsPerUser: 20 });
    const c = collect();
    feed.subscribe(c.sink);
    const before = c.all("users").length;
    for (let i = 0; i < 100; i++) {
      f.clients.push(client(`c${i}`, "carol", "ws", clock.now()));
      f.emit({ type: "conn:open", transport: "ws", uid: "carol", clientId: `c${i}`, at: clock.now() });
    }
    f.uids.ws.add("carol");
    f.uids.any.add("carol");
    f.emit({ type: "uidport:open", uid: "carol", at: clock.now() });
    clock.advance(149);
    assert.equal(c.all("users").length, before, "not before the debounce delay");
    clock.advance(1);
    assert.equal(c.all("users").length, before + 1, "one message for the whole burst");
    const users = c.last("users") as UsersMessage;
    assert.equal(users.users[0]?.uid, "carol");
    assert.equal(users.users[0]?.clients.length, 20, "clients per user are capped");
    assert.equal(users.users[0]?.moreClients, 80);
    clock.advance(850);
    const tick = c.last("tick") as TickMessage;
    assert.equal(tick.lifecycle.filter((e) => e.kind === "conn:open").length, 100);
    assert.equal(tick.lifecycle.filter((e) => e.kind === "uidport:open").length, 1);
    feed.close();
  });

  it("gives a new dashboard the recent history, frames and lifecycle", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, historyS: 5 });
    for (let s = 0; s < 8; s++) {
      f.emit({ type: "frame:in", transport: "ws", uid: "a", clientId: "c", data: "x", event: ["demo/echo"], cbId: null, at: clock.now() });
      clock.advance(1000);
    }
    f.emit({ type: "uidport:close", uid: "a", at: clock.now() });
    const early = collect();
    feed.subscribe(early.sink);
    assert.deepEqual(early.last("hello")?.lifecycle, [], "events not yet ticked are not in hello (the next tick brings them)");
    clock.advance(1000);
    assert.deepEqual((early.last("tick") as TickMessage).lifecycle.map((e) => e.kind), ["uidport:close"]);
    const c = collect();
    feed.subscribe(c.sink);
    const hello = c.last("hello");
    assert.equal(hello?.history.length, 5, "history is bounded by historyS");
    assert.deepEqual(hello?.history.map((p) => p.in), [1, 1, 1, 1, 0]);
    assert.equal(hello?.frames.length, 8);
    assert.deepEqual(hello?.lifecycle.map((e) => e.kind), ["uidport:close"]);
    feed.close();
  });

  it("puts the action token in hello only for admin subscribers", () => {
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock: new TestClock(), actionToken: "tok" });
    const admin = collect("", "admin");
    const reader = collect("", "read");
    feed.subscribe(admin.sink);
    feed.subscribe(reader.sink);
    assert.equal(admin.last("hello")?.access, "admin");
    assert.equal(admin.last("hello")?.actionToken, "tok");
    assert.equal(reader.last("hello")?.actionToken, undefined);
    feed.close();
  });

  it("keeps every user id, client id and error text from a counts subscriber, and still counts", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock });
    f.clients.push(client("secret-client", "alice@example.com", "ws", clock.now()));
    f.uids.ws.add("alice@example.com");
    f.uids.any.add("alice@example.com");
    // Some history before the counts dashboard arrives, for its hello.
    f.emit({ type: "conn:open", transport: "ws", uid: "alice@example.com", clientId: "secret-client", at: clock.now() });
    f.emit({ type: "frame:in", transport: "ws", uid: "alice@example.com", clientId: "secret-client", data: "x", event: ["demo/echo"], cbId: null, at: clock.now() });
    clock.advance(1000);

    const counts = collect("alice", "counts");
    const reader = collect("", "read");
    feed.subscribe(counts.sink);
    feed.subscribe(reader.sink);
    f.emit({ type: "frame:in", transport: "ws", uid: "alice@example.com", clientId: "secret-client", data: "x", event: ["demo/echo"], cbId: null, at: clock.now() });
    f.emit({ type: "error", error: new ChskError("CHSK_ERR_UNPACK", "bad frame from secret-client"), uid: "alice@example.com", clientId: "secret-client", at: clock.now() });
    clock.advance(1000);

    const seen = JSON.stringify(counts.got);
    assert.doesNotMatch(seen, /alice|secret-client/, "no identity reaches a counts subscriber, in any message");
    assert.doesNotMatch(seen, /"pid"|"node"/, "nor the process details");
    const users = counts.last("users") as UsersMessage;
    assert.equal(users.identities, false);
    assert.deepEqual(users.users, []);
    assert.equal(users.counts.users.any, 1, "the counts are there");
    const tick = counts.last("tick") as TickMessage;
    assert.deepEqual(tick.frames.map((x) => [x.dir, x.eventId, "uid" in x, "clientId" in x]), [["in", "demo/echo", false, false]]);
    assert.deepEqual(tick.lifecycle.map((e) => [e.kind, e.message]), [["error", "CHSK_ERR_UNPACK"]]);
    assert.deepEqual(counts.last("hello")?.frames.map((x) => "uid" in x), [false]);

    // The same traffic, in full, to a reader.
    assert.match(JSON.stringify(reader.got), /alice@example\.com/);
    assert.equal((reader.last("tick") as TickMessage).frames[0]?.clientId, "secret-client");
    assert.deepEqual(feed.users("", "counts").users, [], "the JSON view follows the same rule");
    feed.close();
  });

  it("counts errors and slow-consumer drops since it started", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock });
    const c = collect();
    feed.subscribe(c.sink);
    assert.deepEqual(c.last("hello")?.totals, { errors: 0, slowConsumers: 0 });
    const at = clock.now();
    f.emit({ type: "error", error: new ChskError("CHSK_ERR_SLOW_CONSUMER", "too slow"), clientId: "c1", at });
    f.emit({ type: "error", error: new ChskError("CHSK_ERR_UNPACK", "bad"), at });
    clock.advance(1000);
    clock.advance(1000);
    assert.deepEqual((c.last("tick") as TickMessage).totals, { errors: 2, slowConsumers: 1 }, "totals, unlike rates, do not reset");
    assert.equal((c.last("tick") as TickMessage).rate.errors, 0);
    feed.close();
  });
});

describe("latency window", () => {
  it("reports p50/p99 over the closed seconds and forgets seconds older than the window", () => {
    const w = new LatencyWindow(3);
    assert.equal(w.summary(), null);
    for (let i = 1; i <= 100; i++) w.record(i);
    assert.equal(w.summary(), null, "the open second is not yet counted");
    w.rotate();
    const s = w.summary();
    assert.ok(s);
    assert.equal(s.count, 100);
    assert.ok(Math.abs(s.p50 - 50) <= 0.5, String(s.p50));
    assert.ok(Math.abs(s.p99 - 99) <= 1, String(s.p99));
    assert.ok(Math.abs(s.max - 100) <= 1, String(s.max));
    w.record(1000);
    w.rotate();
    assert.equal(w.summary()?.count, 101);
    w.rotate();
    w.rotate();
    assert.equal(w.summary()?.count, 1, "the first second left the 3 s window");
    w.rotate();
    assert.equal(w.summary(), null);
  });

  it("ignores nonsense and clamps huge values", () => {
    const w = new LatencyWindow(2);
    w.record(Number.NaN);
    w.record(-1);
    w.record(1e12);
    w.rotate();
    assert.equal(w.summary()?.count, 1);
  });
});
