/**
 * Session summaries (src/core/inspect/summary.ts) fed by the decoder:
 * per-connection and per-user counts, reply latency percentiles, heartbeat
 * cadence, missed pongs, reconnects, users across WS and Ajax; bounded
 * memory; and the latency histogram's error bounds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createFrameDecoder } from "../../src/core/inspect/frame-decoder.js";
import { LatencyHistogram } from "../../src/core/inspect/latency-histogram.js";
import { createSessionModel, summarize } from "../../src/core/inspect/summary.js";
import type { FrameRecord, WireEvent } from "../../src/core/inspect/types.js";
import { ednPacker } from "../../src/core/packers/index.js";
import {
  encodeClientEvent,
  encodeClientPong,
  encodeHandshake,
  encodePush,
  encodeReply,
  encodeServerPing,
} from "../../src/core/protocol/codec.js";
import { capturedRuns } from "./inspect-fixtures.js";

const p = ednPacker();
const T = Date.UTC(2026, 0, 1);
const frame = (at: number, dir: "c2s" | "s2c", connId: string, data: string | Uint8Array, extra: Partial<WireEvent> = {}): WireEvent =>
  ({ type: "frame", at: T + at, dir, transport: "ws", channel: "ws", connId, data, ...extra }) as WireEvent;
const ajaxFrame = (at: number, dir: "c2s" | "s2c", xid: string, clientId: string, channel: "poll" | "post" | "post-reply", data: string | Uint8Array): WireEvent => ({
  type: "frame",
  at: T + at,
  dir,
  transport: "ajax",
  channel,
  connId: xid,
  clientId,
  data,
  ...(dir === "s2c" ? { status: 200 } : {}),
});

/** Decoder + model, wired as the inspector wires them. */
function session(opts: Parameters<typeof createFrameDecoder>[0] = {}) {
  const model = createSessionModel();
  const d = createFrameDecoder({ ...opts, onUpdate: (r, c) => model.update(r, c) });
  const records: FrameRecord[] = [];
  return {
    model,
    d,
    records,
    push(...evs: WireEvent[]) {
      for (const e of evs) {
        const r = d.push(e);
        records.push(r);
        model.add(r);
      }
    },
  };
}

describe("per-connection summaries", () => {
  it("counts calls, replies, pushes, errors and reply latency percentiles", () => {
    const s = session();
    s.push({ type: "open", at: T, transport: "ws", connId: "ws-1", clientId: "tab1" }, frame(1, "s2c", "ws-1", encodeHandshake(p, "alice")));
    // 100 calls answered in 1..100 ms.
    for (let i = 1; i <= 100; i++) {
      const cb = `c${i}`;
      s.push(frame(i * 1000, "c2s", "ws-1", encodeClientEvent(p, ["my/ev", i], cb)), frame(i * 1000 + i, "s2c", "ws-1", encodeReply(p, i, cb)));
    }
    s.push(frame(200_000, "s2c", "ws-1", encodePush(p, [["my/push", 1], ["my/push", 2], ["my/push", 3]])));
    s.push(frame(200_001, "c2s", "ws-1", "[[:my/ev"), frame(200_002, "c2s", "ws-1", encodeClientEvent(p, ["my/fire"], null)));
    const c = s.model.conn("ws-1")!;
    assert.deepEqual(
      [c.calls, c.events, c.replies, c.pushes, c.pushBatches, c.bad, c.errors, c.unanswered, c.orphans, c.uid, c.clientId, c.transport],
      [100, 101, 100, 3, 1, 1, 1, 0, 0, '"alice"', "tab1", "ws"],
    );
    assert.equal(c.latency!.count, 100);
    assert.ok(Math.abs(c.latency!.p50 - 50) <= 50 * 0.1, `p50 ${c.latency!.p50}`);
    assert.ok(Math.abs(c.latency!.p99 - 99) <= 99 * 0.1, `p99 ${c.latency!.p99}`);
    assert.deepEqual([c.latency!.min, c.latency!.max, c.latency!.mean], [1, 100, 50.5]);
    assert.equal(c.frames, 1 + 200 + 1 + 2);
    assert.ok(c.bytesC2s > 0 && c.bytesS2c > 0);
  });

  it("heartbeat cadence is the median gap between pings; missed pongs are counted when flagged", () => {
    const s = session();
    const gaps = [12_500, 12_500, 12_600, 40_000, 12_400];
    let t = 0;
    for (const g of [0, ...gaps]) {
      t += g;
      s.push(frame(t, "s2c", "ws-1", encodeServerPing(p)), frame(t + 5, "c2s", "ws-1", encodeClientPong(p)));
    }
    s.push(frame(t + 12_500, "s2c", "ws-1", encodeServerPing(p)));
    assert.equal(s.model.conn("ws-1")!.missedPongs, 0);
    s.d.flush(T + t + 12_500 + 10_000);
    const c = s.model.conn("ws-1")!;
    assert.equal(c.heartbeat.serverPingMs, 12_500);
    assert.equal(c.heartbeat.clientPingMs, null);
    assert.equal(c.pings, 7);
    assert.equal(c.missedPongs, 1);
    assert.equal(s.model.totals().missedPongs, 1);
  });

  it("late replies move a call from unanswered to late", () => {
    const s = session({ callTimeoutMs: 100 });
    s.push(frame(0, "c2s", "ws-1", encodeClientEvent(p, ["my/ev"], "x1")), frame(150, "c2s", "ws-1", encodeClientEvent(p, ["my/ev"], "x2")));
    assert.equal(s.model.conn("ws-1")!.unanswered, 1);
    s.push(frame(160, "s2c", "ws-1", encodeReply(p, 1, "x1")), frame(170, "s2c", "ws-1", encodeReply(p, 1, "nobody")));
    const c = s.model.conn("ws-1")!;
    assert.deepEqual([c.unanswered, c.late, c.orphans, c.replies], [0, 1, 1, 2]);
    assert.equal(c.latency!.count, 1, "an orphan has no latency");
  });
});

describe("per-user summaries", () => {
  it("groups a user's WS sockets and Ajax clients, counts reconnects and open connections", () => {
    const s = session();
    s.push(
      { type: "open", at: T, transport: "ws", connId: "ws-1", clientId: "tab1" },
      frame(1, "s2c", "ws-1", encodeHandshake(p, "alice")),
      { type: "close", at: T + 10, transport: "ws", connId: "ws-1", code: 1006 },
      { type: "open", at: T + 20, transport: "ws", connId: "ws-2", clientId: "tab1" },
      frame(21, "s2c", "ws-2", encodeHandshake(p, "alice")),
      ajaxFrame(30, "s2c", "x1", "tab2", "poll", encodeHandshake(p, "alice")),
      ajaxFrame(40, "c2s", "x2", "tab2", "post", encodeClientEvent(p, ["my/ev", 1], "ajax")),
      ajaxFrame(45, "s2c", "x2", "tab2", "post-reply", encodeReply(p, 1, null)),
      ajaxFrame(50, "s2c", "x3", "tab3", "poll", encodeHandshake(p, "bob")),
    );
    const alice = s.model.user('"alice"')!;
    assert.deepEqual(
      [alice.conns, alice.openConns, alice.clients, alice.transports.sort(), alice.reconnects, alice.calls, alice.replies],
      [3, 2, 2, ["ajax", "ws"], 1, 1, 1],
    );
    assert.equal(alice.latency!.count, 1);
    assert.deepEqual(
      s.model.users().map((u) => u.uid),
      ['"alice"', '"bob"'],
    );
    assert.equal(s.model.conn("ws-1")!.open, false);
    assert.equal(s.model.conn("ws-1")!.closeCode, 1006);
    assert.equal(s.model.totals().users, 2);
    assert.equal(s.model.totals().conns, 4);
  });

  it("an Ajax client that logs in moves to its new user from then on", () => {
    const s = session();
    s.push(
      ajaxFrame(0, "s2c", "x1", "tab", "poll", encodeHandshake(p, null)),
      ajaxFrame(1, "c2s", "x2", "tab", "post", encodeClientEvent(p, ["my/ev"], null)),
      ajaxFrame(2, "s2c", "x3", "tab", "poll", encodeHandshake(p, "alice")),
      ajaxFrame(3, "c2s", "x4", "tab", "post", encodeClientEvent(p, ["my/ev"], null)),
    );
    assert.equal(s.model.conn("ajax:tab")!.uid, '"alice"');
    assert.deepEqual([s.model.user(":sente/nil-uid")!.events, s.model.user('"alice"')!.events], [1, 1]);
    assert.equal(s.model.user(":sente/nil-uid")!.conns, 0);
  });
});

describe("bounded memory", () => {
  it("keeps at most maxConns connections, closed ones forgotten first", () => {
    const m = createSessionModel({ maxConns: 10 });
    const d = createFrameDecoder();
    for (let i = 0; i < 100; i++) {
      m.add(d.push({ type: "open", at: T + i, transport: "ws", connId: `ws-${i}` }));
      if (i % 2 === 0) m.add(d.push({ type: "close", at: T + i, transport: "ws", connId: `ws-${i}` }));
    }
    assert.equal(m.conns().length, 10);
    assert.equal(m.totals().records, 150);
    // The open ones survive the closed ones.
    assert.ok(m.conns().every((c) => c.open));
    assert.throws(() => createSessionModel({ maxConns: 0 }), RangeError);
  });
});

it("summarize() over the real Sente captures: every packer's users and calls", () => {
  for (const run of capturedRuns()) {
    const d = createFrameDecoder();
    const records = run.events.map((e) => d.push(e));
    d.flush(Infinity);
    const { conns, users, totals } = summarize(records);
    assert.ok(users.length >= 1, run.packer);
    assert.ok(conns.some((c) => c.transport === "ajax") && conns.some((c) => c.transport === "ws"), run.packer);
    assert.equal(totals.records, records.length);
    assert.ok(totals.calls >= 2 && totals.replies >= 2, `${run.packer}: ${totals.calls} calls`);
    assert.ok(totals.latency !== null);
    // Flags already on the records are counted.
    assert.equal(totals.unanswered + totals.missedPongs, records.filter((r) => r.flags?.includes("unanswered") || r.flags?.includes("missed-pong")).length);
  }
});

describe("LatencyHistogram", () => {
  it("percentiles within the bucket error (±5 %), exact min / max / mean, mergeable", () => {
    const h = new LatencyHistogram();
    const xs: number[] = [];
    for (let i = 0; i < 10_000; i++) xs.push(0.05 + ((i * 7919) % 10_000) * 0.37);
    for (const x of xs) h.record(x);
    xs.sort((a, b) => a - b);
    for (const q of [50, 90, 99, 99.9]) {
      const exact = xs[Math.ceil((q / 100) * xs.length) - 1]!;
      const got = h.percentile(q);
      assert.ok(Math.abs(got - exact) / exact <= 0.06, `p${q}: ${got} vs ${exact}`);
    }
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(1);
    b.record(1000);
    b.record(-1);
    b.record(NaN);
    a.add(b);
    assert.deepEqual([a.count, a.stats()!.min, a.stats()!.max], [2, 1, 1000]);
    assert.equal(new LatencyHistogram().stats(), null);
  });
});
