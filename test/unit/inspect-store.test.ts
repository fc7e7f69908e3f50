/**
 * The inspector's ring buffer: bounded memory, lazily refreshed filtered
 * views, batched notifications, and the incremental summaries.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FrameRecord } from "../../src/core/index.js";
import { FrameStore } from "../../src/inspector/store.js";
import { ManualClock } from "./client-fakes.js";

let seq = 0;
function rec(p: Partial<FrameRecord> = {}): FrameRecord {
  seq++;
  return {
    seq,
    ts: new Date(Date.UTC(2026, 11, 2, 10, 0, 0, seq % 1000)).toISOString(),
    dir: "c2s",
    transport: "ws",
    channel: "ws",
    conn: "ws-1",
    clientId: "c1",
    kind: "event",
    bytes: 10,
    raw: "",
    ...p,
  };
}

describe("FrameStore ring", () => {
  test("keeps at most `capacity` records, the newest, with stable positions", () => {
    const store = new FrameStore({ capacity: 3 });
    const rs = [rec(), rec(), rec(), rec(), rec()];
    for (const r of rs) store.push(r);
    assert.equal(store.total, 5);
    assert.equal(store.size, 3);
    assert.equal(store.first, 2);
    assert.equal(store.evicted, 2);
    assert.equal(store.get(1), undefined, "evicted");
    assert.equal(store.get(2), rs[2]);
    assert.equal(store.get(4), rs[4]);
    assert.equal(store.get(5), undefined, "not pushed yet");
  });

  test("options are validated", () => {
    assert.throws(() => new FrameStore({ capacity: 0 }), RangeError);
    assert.throws(() => new FrameStore({ capacity: 1.5 }), TypeError);
    assert.throws(() => new FrameStore({ notifyIntervalMs: -1 }), RangeError);
    assert.equal(new FrameStore().capacity, 10_000);
  });
});

describe("FrameView", () => {
  test("a view indexes only matching records and catches up on refresh, without rescanning", () => {
    const store = new FrameStore({ capacity: 100 });
    let calls = 0;
    const view = store.view((r) => {
      calls++;
      return r.kind === "reply";
    });
    for (let i = 0; i < 10; i++) store.push(rec({ kind: i % 2 === 0 ? "event" : "reply" }));
    assert.equal(view.length, 0, "lazy: nothing until refresh");
    view.refresh();
    assert.equal(view.length, 5);
    assert.equal(calls, 10);
    view.refresh();
    assert.equal(calls, 10, "no new records: no predicate calls");
    store.push(rec({ kind: "reply" }));
    view.refresh();
    assert.equal(calls, 11, "only the new record is examined");
    assert.equal(view.length, 6);
    assert.deepEqual(
      view.window(0, 3).map((w) => w.pos),
      [1, 3, 5],
    );
  });

  test("evicted records leave the view; a view that fell behind by more than the ring skips ahead", () => {
    const store = new FrameStore({ capacity: 4 });
    const view = store.view();
    for (let i = 0; i < 3; i++) store.push(rec());
    view.refresh();
    assert.equal(view.length, 3);
    for (let i = 0; i < 100; i++) store.push(rec());
    let calls = 0;
    const counting = store.view(() => (calls++, true));
    counting.refresh();
    assert.equal(calls, 4, "a new view scans the ring, not the history");
    view.refresh();
    assert.equal(view.length, 4);
    assert.equal(view.posAt(0), store.first);
  });

  test("refresh(until) freezes the view at a total (pause)", () => {
    const store = new FrameStore({ capacity: 100 });
    const view = store.view();
    for (let i = 0; i < 5; i++) store.push(rec());
    const frozenAt = store.total;
    for (let i = 0; i < 5; i++) store.push(rec());
    view.refresh(frozenAt);
    assert.equal(view.length, 5);
    view.refresh();
    assert.equal(view.length, 10);
  });

  test("indexAtOrAfter finds a position or the next match", () => {
    const store = new FrameStore({ capacity: 100 });
    for (let i = 0; i < 10; i++) store.push(rec({ kind: i % 3 === 0 ? "reply" : "event" }));
    const view = store.view((r) => r.kind === "reply").refresh(); // positions 0, 3, 6, 9
    assert.equal(view.indexAtOrAfter(3), 1);
    assert.equal(view.indexAtOrAfter(4), 2);
    assert.equal(view.indexAtOrAfter(10), 4, "past the end: length");
  });

  test("memory stays bounded over a long run (positions compacted)", () => {
    const store = new FrameStore({ capacity: 50 });
    const view = store.view();
    for (let i = 0; i < 20_000; i++) {
      store.push(rec());
      if (i % 7 === 0) view.refresh();
    }
    view.refresh();
    assert.equal(view.length, 50);
    assert.equal(store.size, 50);
  });
});

describe("FrameStore notifications", () => {
  test("are batched: a burst is one notification per interval", () => {
    const clock = new ManualClock();
    const store = new FrameStore({ capacity: 1000, notifyIntervalMs: 50, clock });
    const updates: { added: number; evicted: number }[] = [];
    store.subscribe((u) => updates.push({ added: u.added, evicted: u.evicted }));
    for (let i = 0; i < 5000; i++) store.push(rec());
    assert.equal(clock.pending, 1, "one timer for the whole burst");
    clock.advance(0);
    assert.deepEqual(updates, [{ added: 5000, evicted: 4000 }]);
  });

  test("5,000 records/s for one second give at most ~20 notifications", () => {
    const clock = new ManualClock();
    const store = new FrameStore({ notifyIntervalMs: 50, clock });
    let notes = 0;
    let added = 0;
    store.subscribe((u) => {
      notes++;
      added += u.added;
    });
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 5; i++) store.push(rec());
      clock.advance(1);
    }
    clock.advance(50);
    assert.equal(added, 5000);
    assert.ok(notes <= 21, `${notes} notifications`);
    assert.ok(notes >= 19, `${notes} notifications`);
  });

  test("flush reports now; close stops timers and listeners", () => {
    const clock = new ManualClock();
    const store = new FrameStore({ clock });
    let notes = 0;
    const off = store.subscribe(() => notes++);
    store.push(rec());
    store.flush();
    assert.equal(notes, 1);
    assert.equal(clock.pending, 0);
    off();
    store.push(rec());
    clock.advance(100);
    assert.equal(notes, 1, "unsubscribed");
    store.subscribe(() => notes++);
    store.push(rec());
    store.close();
    assert.equal(clock.pending, 0);
    store.push(rec());
    assert.equal(store.total, 3, "closed: pushes ignored");
  });
});

describe("summaries (chsk/core session model)", () => {
  test("every record pushed is counted, also after it left the ring; update() corrects flags and notifies", () => {
    const clock = new ManualClock();
    const store = new FrameStore({ capacity: 2, clock });
    const notes: { changed: number }[] = [];
    store.subscribe((u) => notes.push({ changed: u.changed }));
    store.push(rec({ conn: "ws-1", kind: "handshake", dir: "s2c", uid: '"alice"' }));
    const call = rec({ conn: "ws-1", kind: "event", cbId: '"c1"' });
    store.push(call);
    for (let i = 1; i <= 5; i++) store.push(rec({ conn: "ws-1", kind: "reply", dir: "s2c", latencyMs: 10, pair: 1 }));
    clock.advance(100);
    const ws1 = store.summaries.conn("ws-1")!;
    assert.equal(ws1.frames, 7, "counted although the ring holds 2");
    assert.equal(ws1.calls, 1);
    assert.equal(ws1.replies, 5);
    assert.equal(store.summaries.user('"alice"')!.calls, 1);
    // When: the decoder flags the call later
    const before = store.revision;
    call.flags = ["unanswered"];
    store.update(call, { kind: "flagged", flag: "unanswered" });
    clock.advance(100);
    // Then
    assert.equal(store.summaries.conn("ws-1")!.unanswered, 1);
    assert.equal(store.revision, before + 1);
    assert.deepEqual(notes.at(-1), { changed: 1 });
  });

  test("the tables are bounded", () => {
    const store = new FrameStore({ maxConns: 3 });
    for (let i = 0; i < 10; i++) store.push(rec({ conn: `c${i}` }));
    assert.equal(store.summaries.conns().length, 3);
  });
});
