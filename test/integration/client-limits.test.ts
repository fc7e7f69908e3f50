/**
 * Our client against a real server when a frame is over a limit, on
 * loopback sockets:
 *
 * - a handshake the client can't read (over its `limits`) ends the attempt
 *   with `state.lastError`, and the client keeps retrying (Sente's backoff,
 *   no downgrade) until the server sends one it can read; the same on both
 *   transports;
 * - an event over the server's `maxFrameBytes` sent over WS (the server
 *   closes 1009) is said on the tap and in `state.lastError`, and its
 *   reply fails at once with CHSK_ERR_FRAME_TOO_LARGE instead of timing out.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientTapEvent } from "../../src/core/client/types.js";
import { type ChskError, isChskError } from "../../src/core/protocol/errors.js";
import { startServer, until, withTimeout } from "./server-helpers.js";

/** `depth` nested vectors around 1. */
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

function record(client: Client) {
  const taps: ClientTapEvent[] = [];
  client.tap((e) => taps.push(e));
  return {
    taps,
    errors: () => taps.flatMap((t) => (t.type === "error" ? [t.error] : [])),
    closes: () => taps.flatMap((t) => (t.type === "conn:close" ? [t] : [])),
  };
}

describe("a handshake the client can't read", () => {
  const bad = [
    { name: "2 MB of handshake data", data: "h".repeat(2_000_000), code: "CHSK_ERR_FRAME_TOO_LARGE", close: 1009 },
    { name: "handshake data nested deeper than 64", data: nested(80), code: "CHSK_ERR_EDN_DEPTH", close: 1002 },
  ];
  for (const b of bad) {
    for (const type of ["auto", "ws", "ajax"] as const) {
      test(`${type}: ${b.name} → ${b.code} in lastError, the attempt ends, retries until the server's handshake is readable`, { timeout: 30_000 }, async () => {
        let handshakeData: unknown = b.data;
        const srv = await startServer({ handshakeData: () => handshakeData });
        const client = createClient({ url: `${srv.base}/chsk`, type, backoffMs: () => 50 });
        const r = record(client);
        try {
          // Two failed attempts: the first, and Sente's immediate retry 1.
          await until(() => r.errors().filter((e) => e.code === b.code).length >= 2, 15_000, `two ${b.code} errors`);
          assert.equal(client.state.open, false);
          assert.equal(client.state.lastError?.code, b.code);
          const closes = r.closes();
          assert.ok(closes.length >= 2, `${closes.length} attempts ended`);
          // Auto mode stays on WS: Ajax would bring the same handshake.
          assert.ok(closes.every((c) => c.reason === "unexpected" && c.transport === (type === "ajax" ? "ajax" : "ws")), JSON.stringify(closes));
          if (type !== "ajax") assert.equal(closes[0]!.code, b.close);

          handshakeData = { ok: 1 };
          const hs = await withTimeout(client.whenOpen(), 15_000, "the client to open");
          assert.deepEqual(hs?.handshakeData, { ok: 1 });
          assert.equal(client.state.type, type === "ajax" ? "ajax" : "ws");
        } finally {
          await client.close();
          await srv.stop();
        }
      });
    }
  }
});

describe("an event over the server's maxFrameBytes", () => {
  const event: [string, string] = ["test/echo", "\u0001".repeat(200_000)]; // 1.2 MB of EDN

  test("ws: the 1009 close is said (tap + lastError); the reply fails at once with CHSK_ERR_FRAME_TOO_LARGE; the client reconnects", { timeout: 30_000 }, async () => {
    const srv = await startServer({}, (msg) => {
      if (msg.id === "test/echo") msg.reply?.(msg.data);
    });
    const client = createClient({ url: `${srv.base}/chsk`, type: "ws", backoffMs: () => 50 });
    const r = record(client);
    try {
      await withTimeout(client.whenOpen(), 5_000, "open");
      // A reply timeout far beyond the test's own: only an immediate failure passes.
      const e = await client.send(event, 600_000).then(
        () => assert.fail("the oversize event was answered"),
        (err: unknown) => err as ChskError,
      );
      assert.ok(isChskError(e, "CHSK_ERR_FRAME_TOO_LARGE"), String(e));
      assert.match(e.message, /server refused a frame as too large \(WebSocket close 1009/);
      assert.equal(client.state.lastError?.code, "CHSK_ERR_FRAME_TOO_LARGE");
      assert.equal(client.state.lastWsClose?.code, 1009);
      assert.deepEqual(
        r.errors().map((x) => x.code),
        ["CHSK_ERR_FRAME_TOO_LARGE"],
      );
      await withTimeout(client.whenOpen(), 5_000, "reopen");
      assert.equal(await client.send(["test/echo", "small"], 5_000), "small");
    } finally {
      await client.close();
      await srv.stop();
    }
  });

  test("ajax: the 413 is said the same way (lastError), and the send fails at once", { timeout: 30_000 }, async () => {
    const srv = await startServer({}, (msg) => {
      if (msg.id === "test/echo") msg.reply?.(msg.data);
    });
    const client = createClient({ url: `${srv.base}/chsk`, type: "ajax" });
    try {
      await withTimeout(client.whenOpen(), 5_000, "open");
      await assert.rejects(client.send(event, 600_000), (e) => isChskError(e) && e.status === 413);
      assert.equal(client.state.lastError?.status, 413);
      assert.equal(client.state.open, true);
    } finally {
      await client.close();
      await srv.stop();
    }
  });
});
