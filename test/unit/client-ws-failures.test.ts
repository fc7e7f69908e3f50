/**
 * The client over WS when something it can't use arrives or leaves (fake
 * socket, manual clock): an unreadable first frame, a 1009 close from the
 * server, an event the packer can't write; and which of its timers may keep
 * a Node process alive.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cancel, Clock, TimerOptions } from "../../src/core/clock.js";
import { createClient } from "../../src/core/client/create-client.js";
import type { ClientOptions, ClientTapEvent } from "../../src/core/client/types.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { jsonPacker } from "../../src/core/packers/json.js";
import { transitPacker } from "../../src/core/packers/transit.js";
import { encodeHandshake, encodeReply } from "../../src/core/protocol/codec.js";
import { type ChskError, isChskError } from "../../src/core/protocol/errors.js";
import { fakeFetch, fakeWsFactory, ManualClock } from "./client-fakes.js";

const packer = ednPacker();
const URL_ = "http://example.test/chsk";

function setup(opts: Partial<ClientOptions> = {}) {
  const clock = new ManualClock();
  const ws = fakeWsFactory();
  const ff = fakeFetch();
  const client = createClient({ url: URL_, type: "ws", clock, webSocket: ws.factory, fetch: ff.fetch, clientId: "cid", ...opts });
  const taps: ClientTapEvent[] = [];
  client.tap((e) => taps.push(e));
  const tapErrors = () => taps.flatMap((t) => (t.type === "error" ? [t.error.code] : []));
  return { client, clock, ws, ff, taps, tapErrors };
}

/** `depth` nested vectors around `x`. */
const nested = (depth: number, x: unknown = 1): unknown => (depth === 0 ? x : [nested(depth - 1, x)]);

describe("an unreadable frame before the handshake ends the attempt", () => {
  const cases: { name: string; frame: () => string; code: string; close: number; opts?: Partial<ClientOptions> }[] = [
    {
      name: "handshake data over limits.maxBytes",
      frame: () => encodeHandshake(packer, "alice", "h".repeat(2_000)) as string,
      code: "CHSK_ERR_FRAME_TOO_LARGE",
      close: 1009,
      opts: { limits: { maxBytes: 1_000 } },
    },
    {
      name: "handshake data nested deeper than 64",
      frame: () => encodeHandshake(packer, "alice", nested(80)) as string,
      code: "CHSK_ERR_EDN_DEPTH",
      close: 1002,
    },
    { name: "a syntax error", frame: () => "[[:chsk/handshake [", code: "CHSK_ERR_EDN_SYNTAX", close: 1002 },
    {
      name: "another packer's handshake (the mismatch check runs first)",
      frame: () => encodeHandshake(transitPacker(), "alice") as string,
      code: "CHSK_ERR_PACKER_MISMATCH",
      close: 1002,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.code} in lastError and on the tap, the socket closed ${c.close}, then Sente's retry and backoff`, () => {
      const { client, clock, ws, tapErrors } = setup({ backoffMs: () => 2500, ...c.opts });
      ws.last().open();
      ws.last().receive(c.frame());
      assert.equal(client.state.lastError?.code, c.code);
      assert.deepEqual(tapErrors(), [c.code]);
      assert.deepEqual(ws.sockets[0]!.closeCalls, [{ code: c.close, reason: "unreadable frame" }]);
      assert.equal(client.state.open, false);
      // Retry 1 is immediate; the same answer then waits for the backoff.
      assert.equal(ws.sockets.length, 2);
      ws.last().open();
      ws.last().receive(c.frame());
      assert.deepEqual(ws.sockets[1]!.closeCalls, [{ code: c.close, reason: "unreadable frame" }]);
      assert.equal(client.state.udtNextReconnect, clock.now() + 2500);
      // Its close event, our own code echoed, while the retry waits: not a refusal by the server.
      ws.sockets[1]!.serverClose(c.close, true);
      assert.equal(client.state.lastError?.code, c.code);
      assert.deepEqual(tapErrors(), [c.code, c.code]);
      clock.advance(2500);
      assert.equal(ws.sockets.length, 3);
      // The first socket's close event comes late: it changes nothing.
      ws.sockets[0]!.serverClose(c.close, true);
      assert.equal(ws.sockets.length, 3);
      assert.deepEqual(tapErrors(), [c.code, c.code]);
      // A readable handshake on the new socket opens the client.
      ws.last().open();
      ws.last().receive(encodeHandshake(packer, "alice"));
      assert.equal(client.state.open, true);
      void client.close();
    });
  }

  it('type "auto": no downgrade to Ajax (the server would send the same handshake there); the next attempt is WS again', async () => {
    const { client, ws, ff } = setup({ type: "auto", limits: { maxBytes: 1_000 } });
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice", "h".repeat(2_000)));
    assert.equal(client.state.lastError?.code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(ws.sockets.length, 2);
    assert.equal(ff.requests.length, 0);
    assert.equal(client.state.type, "auto");
    // It can still downgrade if WS itself then fails before ever opening.
    ws.last().fail("refused");
    assert.equal((await ff.next()).method, "GET");
    await client.close();
  });

  it("once open, an unreadable frame is still only reported and dropped: no lastError, the socket kept", () => {
    const { client, ws, tapErrors } = setup({ limits: { maxBytes: 1_000 } });
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    ws.last().receive(`[[[:my/push "${"x".repeat(2_000)}"]] nil]`);
    ws.last().receive("[[:unclosed");
    assert.deepEqual(tapErrors(), ["CHSK_ERR_FRAME_TOO_LARGE", "CHSK_ERR_EDN_SYNTAX"]);
    assert.equal(client.state.lastError, undefined);
    assert.deepEqual(ws.last().closeCalls, []);
    assert.equal(client.state.open, true);
    void client.close();
  });
});

describe("the server closing with 1009 (it refused a frame as too large)", () => {
  it("is said on the tap and in lastError (CHSK_ERR_FRAME_TOO_LARGE); the replies pending on that socket fail at once with it", async () => {
    const { client, ws, tapErrors } = setup();
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    const big = client.send(["demo/echo", "x".repeat(100)], 3000);
    const small = client.send(["demo/echo", 1], 3000);
    const errors: (ChskError | null)[] = [];
    client.send(["demo/echo", 2], 3000, (e) => errors.push(e));
    ws.last().serverClose(1009, true);
    await assert.rejects(big, (e) => isChskError(e, "CHSK_ERR_FRAME_TOO_LARGE") && /refused a frame as too large \(WebSocket close 1009\)/.test(e.message));
    await assert.rejects(small, (e) => isChskError(e, "CHSK_ERR_FRAME_TOO_LARGE"));
    assert.equal(errors[0]?.code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.deepEqual(tapErrors(), ["CHSK_ERR_FRAME_TOO_LARGE"]);
    assert.equal(client.state.lastError?.code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.deepEqual(client.state.lastWsClose && { code: client.state.lastWsClose.code }, { code: 1009 });
    // The client reconnects as for any close; a request on the new socket is unaffected.
    assert.equal(ws.sockets.length, 2);
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    const later = client.send(["demo/echo", 3], 3000);
    const id = /"([0-9a-f]{6})"\]$/.exec(String(ws.last().lastSent))![1]!;
    ws.last().receive(encodeReply(packer, 3, id));
    assert.equal(await later, 3);
    await client.close();
  });

  it("the close reason, when the server gives one, is in the message", async () => {
    const { client, ws } = setup();
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    ws.last().serverClose(1009, false, "Max payload size exceeded");
    assert.match(client.state.lastError?.message ?? "", /\(WebSocket close 1009 Max payload size exceeded\)/);
    await client.close();
  });

  it("other closes keep Sente's semantics: pending replies wait for their timeout, no lastError", async () => {
    const { client, ws, clock, tapErrors } = setup();
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    const p = client.send(["demo/echo", 1], 3000);
    ws.last().serverClose(1011, true);
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    clock.advance(3000);
    await assert.rejects(p, (e) => isChskError(e, "CHSK_ERR_TIMEOUT"));
    assert.deepEqual(tapErrors(), []);
    assert.equal(client.state.lastError, undefined);
    await client.close();
  });
});

describe("an event the packer can't write", () => {
  it("throws CHSK_ERR_UNSUPPORTED_VALUE from send(); nothing is sent or left pending, a callback is not called", () => {
    const { client, ws, clock } = setup({ packer: jsonPacker() });
    ws.last().open();
    ws.last().receive(jsonPacker().pack([["chsk/handshake", ["alice", null, null]], null]) as string);
    assert.equal(client.state.open, true);
    const calls: unknown[] = [];
    assert.throws(() => client.send(["demo/echo", 12345678901234567890n], 3000, (e) => calls.push(e)), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.throws(() => client.send(["demo/echo", 12345678901234567890n], 3000), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.throws(() => client.send(["demo/echo", 12345678901234567890n]), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    clock.advance(10_000);
    assert.deepEqual(calls, []);
    assert.equal(ws.last().sent.filter((f) => String(f).includes("demo/echo")).length, 0);
    void client.close();
  });
});

describe("which timers may keep a Node process alive", () => {
  /** A manual clock that records each timer's options. */
  class RecordingClock extends ManualClock implements Clock {
    readonly armed: { ms: number; ref: boolean }[] = [];
    override setTimer(ms: number, fn: () => void, options?: TimerOptions): Cancel {
      this.armed.push({ ms, ref: options?.ref === true });
      return super.setTimer(ms, fn);
    }
  }

  it("only the reconnect timer asks to be ref'd; keep-alive and reply timeouts don't", () => {
    const clock = new RecordingClock();
    const ws = fakeWsFactory();
    const client = createClient({ url: URL_, type: "ws", clock, webSocket: ws.factory, backoffMs: () => 2500, wsKaliveMs: 10_000 });
    ws.last().open();
    ws.last().receive(encodeHandshake(packer, "alice"));
    void client.send(["demo/echo", 1], 3000).catch(() => {});
    assert.deepEqual(clock.armed, [
      { ms: 10_000, ref: false },
      { ms: 3000, ref: false },
    ]);
    clock.armed.length = 0;
    ws.last().serverClose(1006);
    ws.last().serverClose(1006);
    assert.deepEqual(clock.armed, [{ ms: 2500, ref: true }]);
    void client.close();
  });
});
