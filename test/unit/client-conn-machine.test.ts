import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ConnInput, type ConnState, initialConnState, step, type StepContext } from "../../src/core/client/conn-machine.js";

const ctx = (now = 1000, backoff = (n: number) => n * 1000): StepContext => ({ now, backoffMs: backoff });

function run(s: ConnState, ...inputs: ConnInput[]) {
  let effects: ReturnType<typeof step>["effects"] = [];
  for (const i of inputs) {
    const r = step(s, i, ctx());
    s = r.state;
    effects = effects.concat(r.effects);
  }
  return { s, effects };
}

describe("client connection reducer", () => {
  it("picks the first transport from type and WebSocket availability", () => {
    assert.equal(initialConnState("auto", true).transport, "ws");
    assert.equal(initialConnState("auto", true).canDowngrade, true);
    assert.equal(initialConnState("auto", false).transport, "ajax");
    assert.equal(initialConnState("auto", false).canDowngrade, false);
    assert.equal(initialConnState("ajax", true).transport, "ajax");
    assert.equal(initialConnState("ws", true).canDowngrade, false);
    assert.equal(initialConnState("auto", true).pub.type, "auto");
  });

  it("connect → open-transport; handshake → open with firstHandshake; no state object mutation", () => {
    const s0 = initialConnState("ws", true);
    const frozen = JSON.stringify(s0);
    const { s, effects } = run(s0, { type: "connect" }, { type: "handshake", conn: 1, uid: "alice", handshakeData: { a: 1 } });
    assert.equal(JSON.stringify(s0), frozen);
    assert.equal(s.phase, "open");
    assert.deepEqual(
      effects.map((e) => e.type),
      ["open-transport", "handshake"],
    );
    assert.deepEqual(effects[1], { type: "handshake", transport: "ws", conn: 1, info: { uid: "alice", handshakeData: { a: 1 }, firstHandshake: true } });
    assert.equal(s.pub.open, true);
    assert.equal(s.pub.everOpened, true);
    assert.equal(s.pub.uid, "alice");
    assert.equal(s.pub.type, "ws");
  });

  it("unreadable (a first WS frame the client can't read): close it with the code, retry, backoff from attempt 2, never downgrade; stale ones ignored", () => {
    let { s } = run(initialConnState("auto", true), { type: "connect" });
    let r = step(s, { type: "unreadable", conn: 1, code: 1009 }, ctx(5000));
    assert.deepEqual(r.effects, [
      { type: "close-transport", transport: "ws", conn: 1, code: 1009, reason: "unreadable frame" },
      { type: "conn-ended", transport: "ws", conn: 1, reason: "unexpected", code: 1009 },
      { type: "arm-retry", ms: 0 },
    ]);
    s = r.state;
    assert.equal(s.phase, "waiting");
    assert.equal(s.canDowngrade, true, "a later WS failure may still downgrade");
    assert.equal(s.pub.lastClose, undefined, "it never opened");
    // The socket's own close event afterwards changes nothing.
    assert.deepEqual(step(s, { type: "closed", conn: 1, reason: "clean", wsClose: { code: 1009, reason: "", clean: true } }, ctx()).effects, []);
    s = step(s, { type: "retry" }, ctx()).state;
    assert.equal(s.transport, "ws");
    r = step(s, { type: "unreadable", conn: 2, code: 1002 }, ctx(6000));
    assert.deepEqual(r.effects.at(-1), { type: "arm-retry", ms: 2000 });
    assert.equal(r.state.pub.udtNextReconnect, 8000);
    assert.deepEqual(step(r.state, { type: "unreadable", conn: 1, code: 1002 }, ctx()).effects, [], "stale");
  });

  it("connect while connecting/open is a no-op", () => {
    const { s } = run(initialConnState("ws", true), { type: "connect" });
    const r = step(s, { type: "connect" }, ctx());
    assert.equal(r.state, s);
    assert.deepEqual(r.effects, []);
  });

  it("a drop from open: lastClose, retry 1 immediate, retry 2 with backoff(2), reset on handshake", () => {
    let { s } = run(initialConnState("ws", true), { type: "connect" }, { type: "handshake", conn: 1, uid: "u", handshakeData: null });
    let r = step(s, { type: "closed", conn: 1, reason: "unexpected", wsClose: { code: 1006, reason: "", clean: false } }, ctx(5000));
    s = r.state;
    assert.equal(s.phase, "waiting");
    assert.equal(s.pub.open, false);
    assert.deepEqual(s.pub.lastClose, { udt: 5000, reason: "unexpected" });
    assert.deepEqual(s.pub.lastWsClose, { udt: 5000, code: 1006, reason: "", clean: false });
    assert.equal(s.pub.udtNextReconnect, undefined, "no udt-next-reconnect for the immediate retry");
    assert.deepEqual(r.effects.at(-1), { type: "arm-retry", ms: 0 });
    s = step(s, { type: "retry" }, ctx()).state;
    assert.equal(s.phase, "connecting");
    assert.equal(s.conn, 2);
    r = step(s, { type: "closed", conn: 2, reason: "unexpected" }, ctx(6000, () => 2500));
    s = r.state;
    assert.deepEqual(r.effects.at(-1), { type: "arm-retry", ms: 2500 });
    assert.equal(s.pub.udtNextReconnect, 8500);
    assert.deepEqual(s.pub.lastClose, { udt: 5000, reason: "unexpected" }, "lastClose only changes when an open client closes");
    s = step(s, { type: "retry" }, ctx()).state;
    r = step(s, { type: "handshake", conn: 3, uid: "u", handshakeData: null }, ctx());
    assert.equal(r.state.attempt, 0);
    assert.equal(r.state.pub.udtNextReconnect, undefined);
    assert.equal((r.effects[0] as { info: { firstHandshake: boolean } }).info.firstHandshake, false);
  });

  it("events from a superseded attempt are ignored", () => {
    const { s } = run(initialConnState("ws", true), { type: "connect" }, { type: "reconnect", reason: "requested-reconnect" });
    assert.equal(s.conn, 3);
    for (const i of [
      { type: "handshake", conn: 1, uid: "x", handshakeData: null },
      { type: "closed", conn: 1, reason: "clean" },
      { type: "ws-error", conn: 1, message: "x" },
      { type: "reconnect", reason: "ws-ping-timeout", conn: 1 },
    ] as ConnInput[]) {
      const r = step(s, i, ctx());
      assert.equal(r.state, s, i.type);
      assert.deepEqual(r.effects, []);
    }
  });

  it("auto: a WS error before any open downgrades to Ajax for good", () => {
    const { s, effects } = run(initialConnState("auto", true), { type: "connect" }, { type: "ws-error", conn: 1, message: "refused" });
    assert.equal(s.transport, "ajax");
    assert.equal(s.canDowngrade, false);
    assert.equal(s.phase, "connecting");
    assert.equal(s.pub.lastWsError?.message, "refused");
    assert.deepEqual(effects.slice(1), [
      { type: "close-transport", transport: "ws", conn: 1, code: 1000, reason: "CLOSE_NORMAL" },
      { type: "conn-ended", transport: "ws", conn: 1, reason: "downgrading-ws-to-ajax" },
      { type: "open-transport", transport: "ajax", conn: 2 },
    ]);
    // The socket's close afterwards is stale; Ajax failures retry on Ajax.
    const r = run(s, { type: "closed", conn: 1, reason: "unexpected" }, { type: "closed", conn: 2, reason: "unexpected" }, { type: "retry" });
    assert.equal(r.s.transport, "ajax");
    assert.deepEqual(r.effects.at(-1), { type: "open-transport", transport: "ajax", conn: 3 });
    // Even an explicit reconnect stays on Ajax.
    assert.equal(run(r.s, { type: "reconnect", reason: "requested-reconnect" }).s.transport, "ajax");
  });

  it("auto: a close (no error) before any open also downgrades", () => {
    const { s } = run(initialConnState("auto", true), { type: "connect" }, { type: "closed", conn: 1, reason: "unexpected" });
    assert.equal(s.transport, "ajax");
  });

  it("auto: an error after WS opened once never downgrades", () => {
    const { s } = run(
      initialConnState("auto", true),
      { type: "connect" },
      { type: "handshake", conn: 1, uid: null, handshakeData: null },
      { type: "closed", conn: 1, reason: "unexpected" },
      { type: "retry" },
      { type: "ws-error", conn: 2, message: "refused" },
      { type: "closed", conn: 2, reason: "unexpected" },
    );
    assert.equal(s.transport, "ws");
    assert.equal(s.phase, "waiting");
    assert.equal(s.pub.type, "ws");
  });

  it("type ws never downgrades", () => {
    const { s } = run(initialConnState("ws", true), { type: "connect" }, { type: "ws-error", conn: 1, message: "x" }, { type: "closed", conn: 1, reason: "unexpected" });
    assert.equal(s.transport, "ws");
    assert.equal(s.phase, "waiting");
  });

  it("disconnect closes 1000 and stops retrying; reconnect records its reason", () => {
    const opened = run(initialConnState("ws", true), { type: "connect" }, { type: "handshake", conn: 1, uid: 1, handshakeData: null }).s;
    const d = run(opened, { type: "disconnect" });
    assert.equal(d.s.phase, "stopped");
    assert.deepEqual(d.effects[0], { type: "close-transport", transport: "ws", conn: 1, code: 1000, reason: "CLOSE_NORMAL" });
    assert.equal(d.s.pub.lastClose?.reason, "requested-disconnect");
    assert.equal(run(d.s, { type: "closed", conn: 1, reason: "clean" }).effects.length, 0, "no retry");
    assert.equal(run(d.s, { type: "retry" }).effects.length, 0);
    const rc = run(opened, { type: "reconnect", reason: "ws-ping-timeout", conn: 1 });
    assert.equal(rc.s.pub.lastClose?.reason, "ws-ping-timeout");
    assert.equal(rc.s.phase, "connecting");
    assert.deepEqual(rc.effects.at(-1), { type: "open-transport", transport: "ws", conn: 3 });
  });

  it("disconnect while waiting cancels the retry timer", () => {
    const w = run(initialConnState("ws", true), { type: "connect" }, { type: "closed", conn: 1, reason: "unexpected" }).s;
    assert.equal(w.phase, "waiting");
    const d = run(w, { type: "disconnect" });
    assert.deepEqual(d.effects, [{ type: "cancel-retry" }]);
  });

  it("break: WS closes 3000 and waits for the close event; Ajax fails the poll at once", () => {
    const ws = run(initialConnState("ws", true), { type: "connect" }, { type: "handshake", conn: 1, uid: 1, handshakeData: null }).s;
    const b = run(ws, { type: "break" });
    assert.deepEqual(b.effects, [{ type: "close-transport", transport: "ws", conn: 1, code: 3000, reason: "CLOSE_ABNORMAL" }]);
    assert.equal(b.s.phase, "open");
    const after = run(b.s, { type: "closed", conn: 1, reason: "clean", wsClose: { code: 3000, reason: "CLOSE_ABNORMAL", clean: true } });
    assert.equal(after.s.pub.lastClose?.reason, "clean");
    assert.deepEqual(after.effects.at(-1), { type: "arm-retry", ms: 0 });

    const aj = run(initialConnState("ajax", false), { type: "connect" }, { type: "handshake", conn: 1, uid: 1, handshakeData: null }).s;
    const ab = run(aj, { type: "break" });
    assert.equal(ab.s.phase, "waiting");
    assert.equal(ab.s.pub.lastClose?.reason, "unexpected");
    assert.deepEqual(ab.effects.at(-1), { type: "arm-retry", ms: 0 });
  });

  it("dispose is final", () => {
    const { s, effects } = run(initialConnState("ws", true), { type: "connect" }, { type: "dispose" });
    assert.equal(s.phase, "disposed");
    assert.ok(effects.some((e) => e.type === "close-transport"));
    for (const i of [{ type: "connect" }, { type: "retry" }, { type: "reconnect", reason: "requested-reconnect" }] as ConnInput[]) {
      const r = step(s, i, ctx());
      assert.equal(r.state, s);
      assert.deepEqual(r.effects, []);
    }
  });

  it("error records lastError (with status)", () => {
    const { s } = run(initialConnState("ajax", false), { type: "error", code: "CHSK_ERR_HTTP_STATUS", message: "HTTP 403 Bad CSRF token", status: 403 });
    assert.deepEqual(s.pub.lastError, { udt: 1000, code: "CHSK_ERR_HTTP_STATUS", message: "HTTP 403 Bad CSRF token", status: 403 });
  });

  it("a close reads the clock once: lastWsClose and the lastClose it caused share a udt, however the clock moves", () => {
    let t = 5000;
    // A clock that moves on every read, as a busy machine's does between two reads.
    const ticking: StepContext = { get now() { return t++; }, backoffMs: (n) => n * 1000 };
    let s = initialConnState("ws", true);
    s = step(s, { type: "connect" }, ticking).state;
    s = step(s, { type: "handshake", conn: 1, uid: "alice", handshakeData: null }, ticking).state;
    s = step(s, { type: "closed", conn: 1, reason: "clean", wsClose: { code: 1001, reason: "server closing", clean: true } }, ticking).state;
    assert.ok(s.pub.lastClose && s.pub.lastWsClose);
    assert.equal(s.pub.lastClose.udt, s.pub.lastWsClose.udt);
  });
});
