import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AckTable, Pending, PendingSet, randomCbId } from "../../src/core/client/ack-table.js";
import { ChskError, isChskError } from "../../src/core/protocol/errors.js";
import { ManualClock } from "./client-fakes.js";

describe("client ack table", () => {
  it("ids are 6 hex chars", () => {
    for (let i = 0; i < 50; i++) assert.match(randomCbId(), /^[0-9a-f]{6}$/);
  });

  it("ids stay random across refills of the random pool (1,024 ids each)", () => {
    const ids = Array.from({ length: 5000 }, randomCbId);
    for (const id of ids) assert.match(id, /^[0-9a-f]{6}$/);
    // 5,000 draws from 16.7M: a handful of repeats at most, and every hex digit in every place.
    assert.ok(new Set(ids).size > 4990);
    for (let place = 0; place < 6; place++) assert.equal(new Set(ids.map((id) => id[place])).size, 16);
  });

  it("resolves a callback once; a second reply is reported as unknown", () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const got: unknown[] = [];
    const id = t.add(5000, (e, v) => got.push(e ?? v));
    assert.equal(t.size, 1);
    assert.equal(t.resolve(id, { ok: 1 }), true);
    assert.equal(t.resolve(id, { ok: 2 }), false);
    assert.deepEqual(got, [{ ok: 1 }]);
    assert.equal(t.size, 0);
    clock.advance(10_000);
    assert.equal(got.length, 1, "no timeout after the reply");
  });

  it("times out exactly at the deadline with CHSK_ERR_TIMEOUT; a late reply is ignored", () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const got: unknown[] = [];
    const id = t.add(5000, (e) => got.push(e));
    clock.advance(4999);
    assert.equal(got.length, 0);
    clock.advance(1);
    assert.equal(got.length, 1);
    assert.ok(isChskError(got[0], "CHSK_ERR_TIMEOUT"));
    assert.equal(t.resolve(id, "late"), false);
    assert.equal(got.length, 1);
  });

  it("promises resolve and reject", async () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const a = t.addPromise(1000);
    const b = t.addPromise(1000);
    t.resolve(a.id, 42);
    assert.equal(await a.promise, 42);
    clock.advance(1000);
    await assert.rejects(b.promise, (e) => isChskError(e, "CHSK_ERR_TIMEOUT"));
  });

  it("keeps a single timer, armed for the earliest deadline", () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const order: string[] = [];
    t.add(3000, () => order.push("3000"));
    t.add(1000, () => order.push("1000"));
    t.add(2000, () => order.push("2000"));
    for (let i = 0; i < 100; i++) t.add(5000, () => {});
    assert.equal(clock.pending, 1, "re-arming cancels the previous timer");
    clock.advance(1000);
    assert.deepEqual(order, ["1000"]);
    clock.advance(1000);
    assert.deepEqual(order, ["1000", "2000"]);
    clock.advance(1000);
    assert.deepEqual(order, ["1000", "2000", "3000"]);
    clock.advance(2000);
    assert.equal(t.size, 0);
    assert.equal(clock.pending, 0);
  });

  it("rejectAll settles everything and cancels the timer", async () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const got: unknown[] = [];
    t.add(1000, (e) => got.push(e));
    const p = t.addPromise(1000);
    t.rejectAll(new ChskError("CHSK_ERR_CLOSED", "closed"));
    await assert.rejects(p.promise, (e) => isChskError(e, "CHSK_ERR_CLOSED"));
    assert.ok(isChskError(got[0], "CHSK_ERR_CLOSED"));
    assert.equal(clock.pending, 0);
  });

  it("regenerates colliding ids", () => {
    const clock = new ManualClock();
    const ids = ["aaaaaa", "aaaaaa", "bbbbbb"];
    const t = new AckTable(clock, { newId: () => ids.shift()! });
    assert.equal(t.add(1000, () => {}), "aaaaaa");
    assert.equal(t.add(1000, () => {}), "bbbbbb");
  });

  it("any id string works, hex or not: each reply settles exactly its own request", () => {
    const clock = new ManualClock();
    // Our own ids are kept as numbers; every other string as itself. None may meet another.
    const ids = ["00000a", "a", "00000A", "0000a", "g00000", "ffffff", "000000", "abc123 ", "é12345"];
    const queue = [...ids];
    const t = new AckTable(clock, { newId: () => queue.shift()! });
    const got: string[] = [];
    for (const id of ids) assert.equal(t.add(1000, (_e, v) => got.push(`${id}=${String(v)}`)), id);
    assert.equal(t.size, ids.length);
    assert.equal(t.resolve("00000b", 0), false);
    assert.equal(t.resolve("10", 0), false);
    for (const id of [...ids].reverse()) {
      assert.equal(t.has(id), true);
      assert.equal(t.resolve(id, id.length), true, id);
      assert.equal(t.has(id), false);
    }
    assert.deepEqual(got, [...ids].reverse().map((id) => `${id}=${id.length}`));
    assert.equal(t.size, 0);
  });

  it("a throwing callback goes to onCallbackError, not to the caller", () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const t = new AckTable(clock, { onCallbackError: (e) => errors.push(e) });
    const id = t.add(1000, () => {
      throw new Error("user bug");
    });
    assert.equal(t.resolve(id, 1), true);
    assert.equal(errors.length, 1);
  });
  it("rejectOwned settles only the requests tagged with that owner, at once; forget drops one unsettled", async () => {
    const clock = new ManualClock();
    const t = new AckTable(clock);
    const got: string[] = [];
    t.add(5000, (e) => got.push(`a:${e?.code}`), 1);
    const { promise } = t.addPromise(5000, 1);
    t.add(5000, (e) => got.push(`b:${e?.code}`), 2);
    t.add(5000, (e) => got.push(`c:${e?.code}`));
    const gone = t.add(5000, (e) => got.push(`d:${e?.code}`), 1);
    t.forget(gone);
    t.rejectOwned(1, new ChskError("CHSK_ERR_FRAME_TOO_LARGE", "refused"));
    await assert.rejects(promise, (e) => isChskError(e, "CHSK_ERR_FRAME_TOO_LARGE"));
    assert.deepEqual(got, ["a:CHSK_ERR_FRAME_TOO_LARGE"]);
    assert.equal(t.size, 2);
    clock.advance(5000);
    assert.deepEqual(got, ["a:CHSK_ERR_FRAME_TOO_LARGE", "b:CHSK_ERR_TIMEOUT", "c:CHSK_ERR_TIMEOUT"]);
    t.rejectOwned(2, new ChskError("CHSK_ERR_FRAME_TOO_LARGE", "refused"));
    assert.equal(got.length, 3);
    assert.equal(clock.pending, 0);
  });
});

describe("the pending set (open addressing for our ids, a Map for others)", () => {
  it("behaves as a Map under any mix of adds and takes, colliding probe runs and wrap-around included", () => {
    // A small pool (so takes find what was added) with few distinct low bits, so keys
    // share home slots and probe runs wrap past the table's end, before and after it grows.
    const keyArb = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(0, 1, 2, 14, 15, 31)).map(([hi, lo]) => (hi << 12) | lo),
      fc.constantFrom("cb-1", "x", "ABCDEF"),
    );
    const opArb = fc.oneof(
      fc.record({ op: fc.constant("add" as const), key: keyArb }),
      fc.record({ op: fc.constant("take" as const), key: keyArb }),
      fc.record({ op: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300, size: "max" }), (ops) => {
        const set = new PendingSet();
        const model = new Map<number | string, Pending>();
        let seq = 0;
        for (const o of ops) {
          if (o.op === "clear") {
            set.clear();
            model.clear();
          } else if (o.op === "add") {
            if (model.has(o.key)) continue; // the table never adds a key it holds
            const p = new Pending(seq++, String(o.key), o.key, 0, 0, null, null, null, undefined);
            set.add(p);
            model.set(o.key, p);
          } else {
            assert.equal(set.take(o.key), model.get(o.key));
            model.delete(o.key);
          }
          assert.equal(set.size, model.size);
          for (const [k, p] of model) assert.equal(set.get(k), p);
        }
        assert.deepEqual(set.values(), [...model.values()]);
      }),
      { numRuns: 500 },
    );
  });
});
