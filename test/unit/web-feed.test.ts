/**
 * The dashboard feed (src/server/dashboard/feed.ts): aggregation, sampling,
 * lazy decoding of the kept frames (by core's `decodeFrame`, as the
 * inspector reads them: push batches, Ajax timeouts, handshakes, replies
 * with their latency, bad frames), the users view, what a `"counts"` subscriber
 * is kept from, and the latency window, driven by a fake server tap and a
 * manual clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cancel, Clock } from "../../src/core/clock.js";
import { kw } from "../../src/core/edn/values.js";
import { createFrameDecoder } from "../../src/core/inspect/frame-decoder.js";
import type { WireEvent } from "../../src/core/inspect/types.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import type { Packer } from "../../src/core/packers/types.js";
import {
  encodeClientEvent,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePong,
  encodePush,
  encodeReply,
  encodeServerPing,
} from "../../src/core/protocol/codec.js";
import type { ClientInfo, ServerTapEvent, Uid } from "../../src/server/types.js";
import { ChskError } from "../../src/core/protocol/errors.js";
import { createDashboardFeed, type FeedSink, type FeedSource } from "../../src/server/dashboard/feed.js";
import type { DashboardAccessLevel, FeedMessages, FrameSample, TickMessage, UsersMessage } from "../../src/server/dashboard/feed-types.js";
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
  /** Timers armed and not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((x) => x.live).length;
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

function fakeServer(serverPacker: Packer = packer) {
  const listeners = new Set<(e: ServerTapEvent) => void>();
  const clients: ClientInfo[] = [];
  const uids = { ws: new Set<Uid>(), ajax: new Set<Uid>(), any: new Set<Uid>() };
  const server: FeedSource = {
    packer: serverPacker,
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
    f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "alice", clientId: "c1", data: "[[:demo/echo 1] \"abc123\"]", event: ["demo/echo", 1], cbId: "abc123", at });
    f.emit({ type: "frame:out", transport: "ws", channel: "ws", connId: "ws-1", uid: "alice", clientId: "c1", data: encodeReply(packer, 1, "abc123"), at: at + 1 });
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
    f.emit({ type: "frame:in", transport: "ajax", channel: "post", connId: "post-1", uid: "al", clientId: "c9", data: "…", event: ["demo/echo", [["demo/x"]]], cbId: "ajax", at });
    // The reply value looks like a push batch; the reply tap right after its frame says what it is.
    f.emit({ type: "frame:out", transport: "ajax", channel: "post-reply", connId: "post-1", uid: "al", clientId: "c9", data: encodeReply(packer, [[kw("demo/x")]], null), at });
    f.emit({ type: "reply", transport: "ajax", uid: "al", clientId: "c9", eventId: "demo/echo", latencyMs: 1, at });
    f.emit({ type: "frame:out", transport: "ajax", channel: "poll", connId: "get-2", uid: "al", clientId: "c9", data: encodePush(packer, [["demo/x"]]), at });
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
      f.emit({ type: "frame:in", transport: "ajax", channel: "post", connId: "post-1", uid: `u${i % 100}`, clientId: `c${i}`, data: "[[:demo/echo 1] nil]", event: ["demo/echo", 1], cbId: null, at: clock.now() });
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
    const out = (data: string | Uint8Array) => f.emit({ type: "frame:out", transport: "ws", channel: "ws", connId: "ws-1", uid: "bob", clientId: "c2", data, at });
    out(encodeHandshake(packer, "bob"));
    out(encodePush(packer, [["demo/msg", { text: "a" }], ["demo/msg", { text: "b" }], ["demo/other"]]));
    out(encodeServerPing(packer));
    f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "bob", clientId: "c2", data: "…", event: ["chsk/ws-ping"], cbId: "p1", at });
    out(encodePong(packer, "p1"));
    // A long-poll the server let time out (`:chsk/timeout` only ever answers Ajax requests).
    f.emit({ type: "frame:out", transport: "ajax", channel: "poll", connId: "get-1", uid: "bob", clientId: "c3", data: encodeLpTimeout(packer), status: 200, at });
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
      f.emit({ type: "conn:open", transport: "ws", connId: "ws-1", uid: "carol", clientId: `c${i}`, at: clock.now() });
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
    // The feed records only while watched: a first dashboard is open throughout.
    feed.subscribe(collect().sink);
    for (let s = 0; s < 8; s++) {
      f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "a", clientId: "c", data: "x", event: ["demo/echo"], cbId: null, at: clock.now() });
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
    // Some history before the counts dashboard arrives, for its hello (recorded for an admin's open page).
    feed.subscribe(collect("", "admin").sink);
    f.emit({ type: "conn:open", transport: "ws", connId: "ws-1", uid: "alice@example.com", clientId: "secret-client", at: clock.now() });
    f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "alice@example.com", clientId: "secret-client", data: encodeClientEvent(packer, ["demo/echo"], null), event: ["demo/echo"], cbId: null, at: clock.now() });
    clock.advance(1000);

    const counts = collect("alice", "counts");
    const reader = collect("", "read");
    feed.subscribe(counts.sink);
    feed.subscribe(reader.sink);
    f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "alice@example.com", clientId: "secret-client", data: encodeClientEvent(packer, ["demo/echo"], null), event: ["demo/echo"], cbId: null, at: clock.now() });
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

  it("taps the server only while a dashboard watches, and lingers lingerMs for a reload", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, lingerMs: 3000 });
    const frame = (): ServerTapEvent => ({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "a", clientId: "c", data: "x", event: ["demo/echo"], cbId: null, at: clock.now() });
    assert.equal(f.listeners, 0, "unwatched: no tap listener on the server");
    assert.equal(feed.tapping, false);
    assert.equal(clock.pending, 0, "unwatched: no timer either");

    const a = collect();
    const stopA = feed.subscribe(a.sink);
    assert.equal(f.listeners, 1, "the first dashboard starts the tap");
    assert.equal(feed.tapping, true);
    f.emit(frame());
    clock.advance(1000);
    assert.equal((a.last("tick") as TickMessage).rate.in, 1);
    const b = collect();
    const stopB = feed.subscribe(b.sink);
    assert.equal(f.listeners, 1, "one tap for every dashboard");
    stopA();
    stopB();
    assert.equal(f.listeners, 1, "still tapping for lingerMs after the last one left");
    clock.advance(2000);
    const reload = collect();
    const stopReload = feed.subscribe(reload.sink);
    assert.deepEqual(reload.last("hello")?.history.map((p) => p.in), [1, 0, 0], "a page back within lingerMs keeps the chart");
    stopReload();
    clock.advance(3000);
    assert.equal(f.listeners, 0, "lingerMs after the last dashboard left: untapped");
    assert.equal(feed.tapping, false);
    assert.equal(clock.pending, 0, "and no timer left");
    const ticks = reload.all("tick").length;
    f.emit(frame());
    clock.advance(5000);
    assert.equal(reload.all("tick").length, ticks, "nothing is sent once unsubscribed");

    const later = collect();
    feed.subscribe(later.sink);
    assert.equal(f.listeners, 1);
    assert.deepEqual(later.last("hello")?.history, [], "a new recording: the unwatched gap is not charted");
    assert.deepEqual(later.last("hello")?.frames, []);
    feed.close();
    assert.equal(f.listeners, 0);
    assert.equal(clock.pending, 0);
  });

  it("with lingerMs 0, the last dashboard leaving unhooks at once; close() too", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const feed = createDashboardFeed({ server: f.server, clock, lingerMs: 0 });
    const stop = feed.subscribe(collect().sink);
    assert.equal(f.listeners, 1);
    stop();
    stop();
    assert.equal(f.listeners, 0);
    assert.equal(clock.pending, 0);
    feed.subscribe(collect().sink);
    feed.close();
    assert.equal(f.listeners, 0);
    assert.equal(clock.pending, 0);
    feed.subscribe(collect().sink);
    assert.equal(f.listeners, 0, "a closed feed never taps again");
  });

  it("takes the app's error totals when it gives them (counted while nobody watched)", () => {
    const clock = new TestClock();
    const f = fakeServer();
    const app = { errors: 5, slowConsumers: 2 };
    const feed = createDashboardFeed({ server: f.server, clock, totals: () => ({ ...app }) });
    const c = collect();
    feed.subscribe(c.sink);
    assert.deepEqual(c.last("hello")?.totals, { errors: 5, slowConsumers: 2 });
    app.errors = 6;
    clock.advance(1000);
    assert.deepEqual((c.last("tick") as TickMessage).totals, { errors: 6, slowConsumers: 2 });
    feed.close();
  });

  it("counts errors and slow-consumer drops while it taps", () => {
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

describe("dashboard feed: kept frames read as chsk inspect reads them", () => {
  /** One second of taps through a feed: that second's tick frames. */
  function sampled(taps: (at: number) => ServerTapEvent[], serverPacker: Packer = packer): FrameSample[] {
    const clock = new TestClock();
    const f = fakeServer(serverPacker);
    const feed = createDashboardFeed({ server: f.server, clock });
    const c = collect();
    feed.subscribe(c.sink);
    for (const e of taps(clock.now())) f.emit(e);
    clock.advance(1000);
    // The feed goes on: the next second ticks too.
    f.emit({ type: "frame:in", transport: "ws", channel: "ws", connId: "ws-9", uid: null, clientId: "z", data: encodeClientEvent(packer, ["demo/next"], null), event: ["demo/next"], cbId: null, at: clock.now() });
    clock.advance(1000);
    assert.deepEqual((c.last("tick") as TickMessage).frames.map((x) => x.clientId), ["z"], "the next tick");
    feed.close();
    return (c.all("tick")[0] as TickMessage).frames;
  }

  type Out = Extract<ServerTapEvent, { type: "frame:out" }>;
  type In = Extract<ServerTapEvent, { type: "frame:in" }>;
  const wsOut = (data: string | Uint8Array, at: number, clientId = "c1"): Out => ({ type: "frame:out", transport: "ws", channel: "ws", connId: `ws-${clientId}`, uid: "u", clientId, data, at });
  const ajaxOut = (channel: "poll" | "post-reply", data: string | Uint8Array, at: number, clientId = "a1"): Out => ({
    type: "frame:out",
    transport: "ajax",
    channel,
    connId: `${channel === "poll" ? "get" : "post"}-${at}`,
    uid: "u",
    clientId,
    data,
    status: 200,
    at,
  });
  /** What a server taps for a client frame: the event it read (absent when it could not), and the cb id. */
  const wsIn = (ev: [string, unknown?], cbId: string | null, at: number, clientId = "c1"): In => ({
    type: "frame:in",
    transport: "ws",
    channel: "ws",
    connId: `ws-${clientId}`,
    uid: "u",
    clientId,
    data: encodeClientEvent(packer, ev as ["x"], cbId),
    event: ev as ["x"],
    cbId,
    at,
  });
  const row = (x: FrameSample) => [x.dir, x.kind, x.inspectKind, x.eventId, x.count, x.cb, x.error, x.latencyMs];

  it("a push batch: its events counted, the first ids listed, a bad event named by its code", () => {
    const frames = sampled((at) => [
      wsOut(encodePush(packer, [["demo/msg", { text: "a" }], ["demo/msg"], ["demo/a"], ["demo/b"], ["demo/c"]]), at),
      ajaxOut("poll", encodePush(packer, [["demo/x", 1]]), at),
      // Pushed events may not use the reserved namespace (Sente asserts it): the client routes it as :chsk/bad-event.
      wsOut(packer.pack([[[kw("demo/ok")], [kw("chsk/sneaky")]], null]), at),
    ]);
    assert.deepEqual(frames.map(row), [
      ["out", "push", "push", "demo/msg, demo/a, demo/b, …", 5, false, undefined, undefined],
      ["out", "push", "push", "demo/x", 1, false, undefined, undefined],
      ["out", "push", "push", "demo/ok, chsk/bad-event", 2, false, "CHSK_ERR_BAD_EVENT", undefined],
    ]);
  });

  it("an Ajax poll the server let time out, and a POST's timeout and accepted answers", () => {
    const frames = sampled((at) => [
      ajaxOut("poll", encodeLpTimeout(packer), at),
      ajaxOut("post-reply", encodeLpTimeout(packer), at),
      ajaxOut("post-reply", encodeDummyCb200(packer), at),
      // The same marker on a WS socket is no Sente message (a WS client never gets one).
      wsOut(encodeLpTimeout(packer), at),
    ]);
    assert.deepEqual(frames.map(row), [
      ["out", "control", "timeout", "chsk/timeout", 1, false, undefined, undefined],
      ["out", "control", "timeout", "chsk/timeout", 1, false, undefined, undefined],
      ["out", "control", "dummy", "chsk/dummy-cb-200", 1, false, undefined, undefined],
      ["out", "bad", "bad", "(undecodable)", 1, false, "CHSK_ERR_BAD_ENVELOPE", undefined],
    ]);
  });

  it("handshakes, over WS and as an Ajax handshake poll, and the ping and pong frames", () => {
    const frames = sampled((at) => [
      wsOut(encodeHandshake(packer, "bob", { theme: "dark" }), at),
      { ...ajaxOut("poll", encodeHandshake(packer, null), at), handshake: true },
      wsOut(encodeServerPing(packer), at),
      wsIn(["chsk/ws-pong"], null, at),
      wsIn(["chsk/ws-ping"], "p1", at),
      wsOut(encodePong(packer, "p1"), at),
    ]);
    assert.deepEqual(frames.map(row), [
      ["out", "control", "handshake", "chsk/handshake", 1, false, undefined, undefined],
      ["out", "control", "handshake", "chsk/handshake", 1, false, undefined, undefined],
      ["out", "control", "ping", "chsk/ws-ping", 1, false, undefined, undefined],
      ["in", "control", "pong", "chsk/ws-pong", 1, false, undefined, undefined],
      ["in", "control", "ping", "chsk/ws-ping", 1, true, undefined, undefined],
      ["out", "control", "pong", "chsk/ws-ping", 1, true, undefined, undefined],
    ]);
  });

  it("a WS reply names the call it answers and its latency, even a reply whose value is \"pong\"", () => {
    const frames = sampled((at) => [
      wsIn(["demo/echo", { a: 1 }], "cb-1", at),
      wsOut(encodeReply(packer, { a: 1 }, "cb-1"), at + 4),
      { type: "reply", transport: "ws", uid: "u", clientId: "c1", eventId: "demo/echo", latencyMs: 4.26, at: at + 4 },
      wsIn(["demo/ping-me"], "cb-2", at + 5),
      wsOut(encodeReply(packer, "pong", "cb-2"), at + 6),
      { type: "reply", transport: "ws", uid: "u", clientId: "c1", eventId: "demo/ping-me", latencyMs: 1, at: at + 6 },
      // A reply with no `reply` tap (the feed started after its call): still a reply.
      wsOut(encodeReply(packer, 7, "cb-0"), at + 7),
    ]);
    assert.deepEqual(frames.map(row), [
      ["in", "event", "event", "demo/echo", 1, true, undefined, undefined],
      ["out", "reply", "reply", "demo/echo", 1, true, undefined, 4.3],
      ["in", "event", "event", "demo/ping-me", 1, true, undefined, undefined],
      ["out", "reply", "reply", "demo/ping-me", 1, true, undefined, 1],
      ["out", "reply", "reply", "reply", 1, true, undefined, undefined],
    ]);
  });

  it("an undecodable frame shows as bad with its error code, and the feed goes on", () => {
    const throwing: Packer = {
      ...packer,
      unpack: () => {
        throw new Error("packer bug");
      },
    };
    const frames = sampled((at) => [
      // As the server taps a frame it could not decode: no event.
      { type: "frame:in", transport: "ws", channel: "ws", connId: "ws-1", uid: "u", clientId: "c1", data: "[[:demo/echo", at },
      { type: "frame:in", transport: "ajax", channel: "post", connId: "post-1", uid: "u", clientId: "a1", data: new Uint8Array([0xff, 0xfe, 0x00]), at },
      ajaxOut("poll", "<html><title>Bad gateway</title></html>", at),
    ]);
    assert.deepEqual(
      frames.map((x) => [x.dir, x.kind, x.inspectKind, x.eventId, x.error]),
      [
        ["in", "bad", "bad", "(undecodable)", "CHSK_ERR_EDN_SYNTAX"],
        ["in", "bad", "bad", "(undecodable)", "CHSK_ERR_UNPACK"],
        ["out", "bad", "bad", "(undecodable)", "CHSK_ERR_EDN_SYNTAX"],
      ],
    );
    // A packer that throws (a custom one's bug) costs the frame, not the feed.
    const broken = sampled((at) => [wsOut(encodeReply(packer, 1, "x"), at)], throwing);
    assert.deepEqual(broken.map((x) => [x.kind, x.error]), [["bad", "CHSK_ERR_UNPACK"]]);
  });

  it("does not decode a frame too large for the feed: the taps say what it was", () => {
    const big = "x".repeat(300 * 1024);
    const frames = sampled((at) => [
      { ...wsIn(["demo/upload", big], "cb-1", at) },
      wsOut(encodeReply(packer, big, "cb-1"), at + 2),
      { type: "reply", transport: "ws", uid: "u", clientId: "c1", eventId: "demo/upload", latencyMs: 2, at: at + 2 },
      wsOut(encodePush(packer, [["demo/big", big]]), at + 3),
    ]);
    assert.deepEqual(frames.map(row), [
      ["in", "unknown", undefined, "demo/upload", 1, true, undefined, undefined],
      ["out", "reply", undefined, "demo/upload", 1, true, undefined, 2],
      ["out", "unknown", undefined, "?", 1, false, undefined, undefined],
    ]);
  });

  it("gives every frame the kind and event id the inspector's decoder gives it", () => {
    const taps = (at: number): ServerTapEvent[] => [
      wsOut(encodeHandshake(packer, "u"), at),
      wsIn(["demo/echo", 1], "cb-1", at + 1),
      wsOut(encodeReply(packer, 1, "cb-1"), at + 2),
      { type: "reply", transport: "ws", uid: "u", clientId: "c1", eventId: "demo/echo", latencyMs: 1, at: at + 2 },
      wsIn(["demo/ask"], "cb-2", at + 3),
      wsOut(encodeReply(packer, "pong", "cb-2"), at + 4),
      { type: "reply", transport: "ws", uid: "u", clientId: "c1", eventId: "demo/ask", latencyMs: 1, at: at + 4 },
      wsOut(encodePush(packer, [["demo/a", 1], ["demo/b"]]), at + 5),
      wsOut(encodeServerPing(packer), at + 6),
      wsIn(["chsk/ws-pong"], null, at + 7),
      wsIn(["chsk/ws-ping"], "cb-3", at + 8),
      wsOut(encodePong(packer, "cb-3"), at + 9),
      wsIn(["demo/fire"], null, at + 10),
      { ...ajaxOut("poll", encodeHandshake(packer, null), at + 11), connId: "get-1", handshake: true },
      { ...ajaxOut("poll", encodePush(packer, [["demo/x"]]), at + 12), connId: "get-2" },
      { ...ajaxOut("poll", encodeLpTimeout(packer), at + 13), connId: "get-3" },
      { type: "frame:in", transport: "ajax", channel: "post", connId: "post-1", uid: "u", clientId: "a1", data: encodeClientEvent(packer, ["demo/q"], "ajax"), event: ["demo/q"], cbId: "ajax", at: at + 14 },
      { ...ajaxOut("post-reply", encodeReply(packer, [["demo/looks-like-a-batch"]], null), at + 15), connId: "post-1" },
      { type: "reply", transport: "ajax", uid: "u", clientId: "a1", eventId: "demo/q", latencyMs: 1, at: at + 15 },
      { type: "frame:in", transport: "ajax", channel: "post", connId: "post-2", uid: "u", clientId: "a1", data: encodeClientEvent(packer, ["demo/tell"], null), event: ["demo/tell"], cbId: null, at: at + 16 },
      { ...ajaxOut("post-reply", encodeDummyCb200(packer), at + 17), connId: "post-2" },
      { type: "frame:in", transport: "ws", channel: "ws", connId: "ws-c1", uid: "u", clientId: "c1", data: "[[:demo/echo", at: at + 18 },
    ];
    const fed = sampled(taps);
    const decoder = createFrameDecoder({ packer });
    const records = taps(0)
      .filter((t): t is In | Out => t.type === "frame:in" || t.type === "frame:out")
      .map((t) => {
        const ev: WireEvent = { type: "frame", at: t.at, dir: t.type === "frame:in" ? "c2s" : "s2c", transport: t.transport, channel: t.channel, connId: t.connId, clientId: t.clientId, data: t.data };
        return decoder.push(t.type === "frame:out" && t.status !== undefined ? { ...ev, status: t.status } : ev);
      });
    assert.equal(fed.length, records.length);
    fed.forEach((x, i) => {
      const r = records[i]!;
      const where = `frame ${i}: ${JSON.stringify(x)}`;
      assert.equal(x.inspectKind, r.kind, where);
      assert.equal(x.error, r.error?.code, where);
      if (r.kind === "push") assert.equal(x.count, r.events?.length, where);
      // A reply names what it answers; the others carry the record's event id.
      else if (r.kind !== "reply" && r.kind !== "bad" && !(r.kind === "pong" && r.dir === "s2c")) assert.equal(x.eventId, r.eventId, where);
      if (r.kind === "reply") assert.equal(r.pair !== undefined, true, `the decoder paired ${where}`);
    });
    assert.deepEqual(
      fed.filter((x) => x.kind === "reply").map((x) => x.eventId),
      ["demo/echo", "demo/ask", "demo/q"],
    );
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
