/**
 * Pairing and stitching in the frame decoder: WS calls by cb id per socket,
 * Ajax POSTs by exchange, late / unanswered / orphan, pings and missed
 * pongs, Ajax polls and POSTs stitched into one connection per client id,
 * uids carried to later records, reconnects linked. Time is the events'
 * own `at` and `flush(now)`: no clock, no sleeps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createFrameDecoder, type FrameDecoder, type RecordChange } from "../../src/core/inspect/frame-decoder.js";
import type { FrameRecord, WireEvent } from "../../src/core/inspect/types.js";
import { ednPacker } from "../../src/core/packers/index.js";
import {
  encodeClientEvent,
  encodeClientPong,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePong,
  encodePush,
  encodeReply,
  encodeServerPing,
} from "../../src/core/protocol/codec.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";

const p = ednPacker();
const T = Date.UTC(2026, 0, 1);

/** Builders for the WireEvents a source reports. `at` is ms after T. */
const ws = {
  open: (at: number, connId: string, clientId?: string): WireEvent => ({ type: "open", at: T + at, transport: "ws", connId, ...(clientId ? { clientId } : {}) }),
  close: (at: number, connId: string, code = 1000): WireEvent => ({ type: "close", at: T + at, transport: "ws", connId, code }),
  c2s: (at: number, connId: string, data: string | Uint8Array): WireEvent => ({ type: "frame", at: T + at, dir: "c2s", transport: "ws", channel: "ws", connId, data }),
  s2c: (at: number, connId: string, data: string | Uint8Array): WireEvent => ({ type: "frame", at: T + at, dir: "s2c", transport: "ws", channel: "ws", connId, data }),
  call: (at: number, connId: string, ev: ChskEvent, cb: string | null) => ws.c2s(at, connId, encodeClientEvent(p, ev, cb)),
  reply: (at: number, connId: string, v: unknown, cb: string) => ws.s2c(at, connId, encodeReply(p, v, cb)),
};
const ajax = {
  poll: (at: number, xid: string, clientId: string, data: string | Uint8Array, handshake = false): WireEvent => ({
    type: "frame",
    at: T + at,
    dir: "s2c",
    transport: "ajax",
    channel: "poll",
    connId: xid,
    clientId,
    data,
    status: 200,
    ...(handshake ? { handshake: true } : {}),
  }),
  post: (at: number, xid: string, clientId: string | undefined, ev: ChskEvent, wantsReply: boolean): WireEvent => ({
    type: "frame",
    at: T + at,
    dir: "c2s",
    transport: "ajax",
    channel: "post",
    connId: xid,
    ...(clientId ? { clientId } : {}),
    data: encodeClientEvent(p, ev, wantsReply ? "ajax" : null),
  }),
  answer: (at: number, xid: string, data: string | Uint8Array, clientId?: string): WireEvent => ({
    type: "frame",
    at: T + at,
    dir: "s2c",
    transport: "ajax",
    channel: "post-reply",
    connId: xid,
    ...(clientId ? { clientId } : {}),
    data,
    status: 200,
  }),
};

/** A decoder that logs its updates. */
function decoder(opts: Parameters<typeof createFrameDecoder>[0] = {}): { d: FrameDecoder; updates: [number, RecordChange][] } {
  const updates: [number, RecordChange][] = [];
  const d = createFrameDecoder({ ...opts, onUpdate: (r, c) => updates.push([r.seq, c]) });
  return { d, updates };
}

const feed = (d: FrameDecoder, evs: WireEvent[]): FrameRecord[] => evs.map((e) => d.push(e));

describe("WS calls and replies", () => {
  it("pairs by cb id on the same socket, with the latency, both ways", () => {
    const { d, updates } = decoder();
    const [c1, c2, r2, r1] = feed(d, [
      ws.call(0, "s1", ["my/a", 1], "aaaaaa"),
      ws.call(5, "s1", ["my/b", 2], "bbbbbb"),
      ws.reply(12, "s1", "B", "bbbbbb"),
      ws.reply(40, "s1", "A", "aaaaaa"),
    ]);
    assert.deepEqual([r1!.kind, r1!.pair, r1!.latencyMs, c1!.pair], ["reply", c1!.seq, 40, r1!.seq]);
    assert.deepEqual([r2!.pair, r2!.latencyMs, c2!.pair], [c2!.seq, 7, r2!.seq]);
    assert.deepEqual(updates, [
      [c2!.seq, { kind: "paired" }],
      [c1!.seq, { kind: "paired" }],
    ]);
    assert.equal(r1!.flags, undefined);
  });

  it("a reply on another socket with the same cb id is an orphan, not a pair", () => {
    const { d } = decoder();
    const [call, other] = feed(d, [ws.call(0, "s1", ["my/a"], "cccccc"), ws.reply(1, "s2", 1, "cccccc")]);
    assert.deepEqual(other!.flags, ["orphan"]);
    assert.equal(other!.pair, undefined);
    assert.equal(call!.pair, undefined);
  });

  it("no reply within callTimeoutMs: unanswered (by a later event's time, or flush); a reply after that: late", () => {
    const { d, updates } = decoder({ callTimeoutMs: 1000 });
    const [call] = feed(d, [ws.call(0, "s1", ["my/slow"], "dddddd")]);
    assert.deepEqual(d.flush(T + 999), []);
    assert.deepEqual(d.flush(T + 1000), [call]);
    assert.deepEqual(call!.flags, ["unanswered"]);
    const reply = d.push(ws.reply(1500, "s1", "finally", "dddddd"));
    assert.deepEqual([reply.pair, reply.latencyMs, reply.flags], [call!.seq, 1500, ["late"]]);
    assert.deepEqual(call!.flags, ["late"]);
    assert.equal(call!.pair, reply.seq);
    assert.deepEqual(
      updates.map(([s, c]) => `${s}:${c.kind}:${"flag" in c ? c.flag : ""}`),
      [`${call!.seq}:flagged:unanswered`, `${call!.seq}:paired:`, `${call!.seq}:unflagged:unanswered`, `${call!.seq}:flagged:late`],
    );
    // Time also passes with the events themselves.
    const [c2] = feed(d, [ws.call(2000, "s1", ["my/x"], "eeeeee"), ws.c2s(3001, "s1", encodeClientPong(p))]);
    assert.deepEqual(c2!.flags, ["unanswered"]);
  });

  it("events without a cb id are never unanswered; a socket closing with calls pending fails them", () => {
    const { d } = decoder({ callTimeoutMs: 1000 });
    const [fire, call, close] = feed(d, [ws.call(0, "s1", ["my/fire"], null), ws.call(1, "s1", ["my/q"], "ffffff"), ws.close(10, "s1", 1006)]);
    assert.equal(fire!.flags, undefined);
    assert.deepEqual(call!.flags, ["unanswered"]);
    assert.deepEqual([close!.kind, close!.status, close!.error?.code], ["close", 1006, "ABNORMAL_CLOSURE"]);
    assert.deepEqual(d.flush(T + 60_000), []);
  });

  it("a replayed cb id keeps the newer call", () => {
    const { d } = decoder();
    const [a, b, r] = feed(d, [ws.call(0, "s1", ["my/a"], "gggggg"), ws.call(1, "s1", ["my/b"], "gggggg"), ws.reply(2, "s1", 1, "gggggg")]);
    assert.equal(r!.pair, b!.seq);
    assert.equal(a!.pair, undefined);
  });
});

describe("pings and pongs", () => {
  it("a client ping pairs with its pong; a client ping with no pong is a missed pong", () => {
    const { d } = decoder();
    const [ping, pong, ping2] = feed(d, [
      ws.call(0, "s1", ["chsk/ws-ping"], "p00001"),
      ws.s2c(3, "s1", encodePong(p, "p00001")),
      ws.call(10_000, "s1", ["chsk/ws-ping"], "p00002"),
    ]);
    assert.deepEqual([ping!.kind, pong!.kind, pong!.pair, pong!.latencyMs], ["ping", "pong", ping!.seq, 3]);
    d.flush(T + 14_999);
    assert.equal(ping2!.flags, undefined);
    d.flush(T + 15_000);
    assert.deepEqual(ping2!.flags, ["missed-pong"]);
  });

  it("a server ping is answered by any client frame; [:chsk/ws-pong] pairs with it", () => {
    const { d } = decoder();
    const [ping, pong, ping2, other, ping3] = feed(d, [
      ws.s2c(0, "s1", encodeServerPing(p)),
      ws.c2s(2, "s1", encodeClientPong(p)),
      ws.s2c(12_500, "s1", encodeServerPing(p)),
      ws.call(12_600, "s1", ["my/ev"], null),
      ws.s2c(25_000, "s1", encodeServerPing(p)),
    ]);
    assert.deepEqual([ping!.kind, ping!.dir, pong!.kind, pong!.pair, pong!.latencyMs, ping!.pair], ["ping", "s2c", "pong", ping!.seq, 2, pong!.seq]);
    assert.equal(other!.kind, "event");
    d.flush(T + 34_999);
    assert.equal(ping2!.flags, undefined);
    assert.equal(ping3!.flags, undefined);
    d.flush(T + 35_000);
    assert.deepEqual(ping3!.flags, ["missed-pong"]);
    assert.equal(ping2!.flags, undefined);
  });

  it("a socket the server closed for its ping timeout (4000) marks the ping at once", () => {
    const { d } = decoder();
    const [ping] = feed(d, [ws.s2c(0, "s1", encodeServerPing(p)), ws.close(9_000, "s1", 4000)]);
    assert.deepEqual(ping!.flags, ["missed-pong"]);
  });
});

describe("Ajax POSTs", () => {
  it("each answer pairs with its own POST by exchange, whatever the order", () => {
    const { d } = decoder();
    const [a, b, rb, ra] = feed(d, [
      ajax.post(0, "x1", "cid", ["my/a", 1], true),
      ajax.post(1, "x2", "cid", ["my/b", 2], true),
      ajax.answer(5, "x2", encodeReply(p, "B", null), "cid"),
      ajax.answer(9, "x1", encodeReply(p, "A", null), "cid"),
    ]);
    assert.deepEqual([a!.cbId, ra!.pair, ra!.latencyMs, rb!.pair, rb!.latencyMs], [":ajax", a!.seq, 9, b!.seq, 4]);
    assert.deepEqual([ra!.data, rb!.data], ['"A"', '"B"']);
    for (const r of [a, b, ra, rb]) assert.equal(r!.conn, "ajax:cid");
    assert.deepEqual([ra!.exchange, rb!.exchange], ["x1", "x2"]);
  });

  it("a POST without a cb is answered :chsk/dummy-cb-200 (paired, never unanswered)", () => {
    const { d } = decoder({ callTimeoutMs: 100 });
    const [post, dummy] = feed(d, [ajax.post(0, "x1", "cid", ["my/fire"], false), ajax.answer(1, "x1", encodeDummyCb200(p))]);
    assert.deepEqual([post!.cbId, dummy!.kind, dummy!.pair, dummy!.conn], [null, "dummy", post!.seq, "ajax:cid"]);
    d.flush(T + 10_000);
    assert.equal(post!.flags, undefined);
  });

  it("Sente's :chsk/timeout answer to a POST marks the call unanswered, paired with the timeout", () => {
    const { d } = decoder({ callTimeoutMs: 30_000 });
    const [post, timeout] = feed(d, [ajax.post(0, "x1", "cid", ["my/none"], true), ajax.answer(20_000, "x1", encodeLpTimeout(p))]);
    assert.deepEqual([timeout!.kind, timeout!.pair, timeout!.latencyMs, timeout!.flags], ["timeout", post!.seq, 20_000, undefined]);
    assert.deepEqual(post!.flags, ["unanswered"]);
    // With the default timeout (10 s) it was unanswered before Sente said so: no double flag, no `late`.
    const { d: d2 } = decoder();
    const [post2, timeout2] = feed(d2, [ajax.post(0, "x1", "cid", ["my/none"], true), ajax.answer(20_000, "x1", encodeLpTimeout(p))]);
    assert.deepEqual([post2!.flags, timeout2!.flags, timeout2!.pair], [["unanswered"], undefined, post2!.seq]);
  });

  it("a late POST reply, an orphan answer, a refused POST", () => {
    const { d } = decoder({ callTimeoutMs: 1000 });
    const [post, late, orphan, post2, refused] = feed(d, [
      ajax.post(0, "x1", "cid", ["my/slow"], true),
      ajax.answer(1500, "x1", encodeReply(p, 1, null)),
      ajax.answer(1600, "x9", encodeReply(p, 2, null), "cid"),
      ajax.post(1700, "x3", "cid", ["my/q"], true),
      { type: "refused", at: T + 1701, transport: "ajax", connId: "x3", status: 403, body: "Bad CSRF token" },
    ]);
    assert.deepEqual([late!.flags, post!.flags, late!.pair], [["late"], ["late"], post!.seq]);
    assert.deepEqual(orphan!.flags, ["orphan"]);
    assert.deepEqual([refused!.kind, refused!.pair, refused!.channel, refused!.conn, refused!.status, refused!.raw], ["refused", post2!.seq, "post-reply", "ajax:cid", 403, "Bad CSRF token"]);
    d.flush(T + 10_000);
    assert.equal(post2!.flags, undefined);
  });
});

describe("stitching", () => {
  it("an Ajax client's handshake, polls and POSTs are one connection, with the uid from its handshake", () => {
    const { d } = decoder();
    const rs = feed(d, [
      { type: "open", at: T, transport: "ajax", connId: "x0", clientId: "tab1", url: "/chsk?client-id=tab1&handshake%3F=1" },
      ajax.poll(1, "x0", "tab1", encodeHandshake(p, "alice"), true),
      ajax.poll(20_002, "x1", "tab1", encodeLpTimeout(p)),
      ajax.post(20_003, "x2", "tab1", ["my/ev", 1], true),
      ajax.answer(20_010, "x2", encodeReply(p, "ok", null)),
      ajax.poll(20_050, "x3", "tab1", encodePush(p, [["my/push", 1]])),
    ]);
    for (const r of rs) assert.equal(r.conn, "ajax:tab1", `seq ${r.seq}`);
    assert.deepEqual(
      rs.map((r) => r.uid),
      [undefined, '"alice"', '"alice"', '"alice"', '"alice"', '"alice"'],
    );
    assert.deepEqual(
      rs.map((r) => r.exchange),
      ["x0", "x0", "x1", "x2", "x2", "x3"],
    );
    assert.equal(rs[0]!.url, "/chsk?client-id=tab1&handshake%3F=1");
  });

  it("a WS socket keeps its own id; its open's client id and its handshake's uid go on every later frame", () => {
    const { d } = decoder();
    // A proxy reports both close frames (the server's, then the client's answer).
    const rs = feed(d, [
      ws.open(0, "ws-1", "tab2"),
      ws.s2c(1, "ws-1", encodeHandshake(p, null)),
      ws.call(2, "ws-1", ["my/ev"], null),
      { ...ws.close(3, "ws-1"), dir: "s2c" } as WireEvent,
      { ...ws.close(4, "ws-1"), dir: "c2s" } as WireEvent,
    ]);
    assert.deepEqual(
      rs.map((r) => [r.conn, r.clientId, r.uid ?? null]),
      [
        ["ws-1", "tab2", null],
        ["ws-1", "tab2", ":sente/nil-uid"],
        ["ws-1", "tab2", ":sente/nil-uid"],
        ["ws-1", "tab2", ":sente/nil-uid"],
        ["ws-1", "tab2", ":sente/nil-uid"],
      ],
    );
    assert.deepEqual(
      rs.slice(3).map((r) => r.dir),
      ["s2c", "c2s"],
    );
  });

  it("a uid the source knows (a server tap) goes on the record and the connection", () => {
    const { d } = decoder();
    const [a, b] = feed(d, [{ ...ws.call(0, "ws-9", ["my/ev"], null), uid: '"carol"' } as WireEvent, ws.call(1, "ws-9", ["my/ev"], null)]);
    assert.deepEqual([a!.uid, b!.uid], ['"carol"', '"carol"']);
  });

  it("an open of a client id seen before is a reconnect, linked to the previous open (across transports)", () => {
    const { d } = decoder();
    const [o1, , o2, o3, o4] = feed(d, [
      ws.open(0, "ws-1", "tab1"),
      ws.close(100, "ws-1", 1006),
      ws.open(2100, "ws-2", "tab1"),
      { type: "open", at: T + 5000, transport: "ajax", connId: "x7", clientId: "tab1" },
      ws.open(6000, "ws-3", "tab2"),
    ]);
    assert.equal(o1!.flags, undefined);
    assert.deepEqual([o2!.flags, o2!.prev], [["reconnect"], o1!.seq]);
    assert.deepEqual([o3!.flags, o3!.prev, o3!.conn], [["reconnect"], o2!.seq, "ajax:tab1"]);
    assert.equal(o4!.flags, undefined);
  });

  it("a POST whose answer the source saw without a client id stays on the client's connection", () => {
    const { d } = decoder();
    const [post, answer] = feed(d, [ajax.post(0, "x1", "tab5", ["my/ev"], true), ajax.answer(1, "x1", encodeReply(p, 1, null))]);
    assert.deepEqual([post!.conn, answer!.conn, answer!.clientId], ["ajax:tab5", "ajax:tab5", "tab5"]);
  });
});

describe("bounded state", () => {
  it("forgets the oldest pending calls beyond maxPending (their replies become orphans)", () => {
    const { d } = decoder({ maxPending: 2 });
    const calls = feed(d, [ws.call(0, "s", ["my/a"], "c1"), ws.call(0, "s", ["my/a"], "c2"), ws.call(0, "s", ["my/a"], "c3")]);
    const [r1, r3] = feed(d, [ws.reply(1, "s", 1, "c1"), ws.reply(1, "s", 3, "c3")]);
    assert.deepEqual(r1!.flags, ["orphan"]);
    assert.equal(r3!.pair, calls[2]!.seq);
  });

  it("seq numbers are consecutive from firstSeq, one record per event", () => {
    const d = createFrameDecoder({ firstSeq: 100 });
    const rs = feed(d, [ws.open(0, "a"), ws.call(1, "a", ["my/a"], null), ws.close(2, "a")]);
    assert.deepEqual(
      rs.map((r) => r.seq),
      [100, 101, 102],
    );
    assert.equal(d.nextSeq, 103);
  });
});
