/**
 * The client tap against a real chsk server, on both transports: a
 * scripted session (handshake, a call and its reply, a fire-and-forget
 * send, a push, keep-alive pings and pongs, Ajax poll timeouts) is tapped
 * completely, once per frame, in order, with channel / connId / kind /
 * cbId / latency; the server's tap describes the same frames in the
 * opposite direction; and the client writes nothing to the console.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientOptions, ClientTapEvent, Transport } from "../../src/core/client/types.js";
import type { ServerTapEvent } from "../../src/server/types.js";
import { startServer, type TestServer, until, withTimeout } from "./server-helpers.js";

type TapFrame = Extract<ClientTapEvent, { type: "frame:in" | "frame:out" }>;
type ServerFrame = Extract<ServerTapEvent, { type: "frame:in" | "frame:out" }>;

const text = (d: string | Uint8Array) => (typeof d === "string" ? d : Buffer.from(d).toString("hex"));

/** A client that records its tap, with a way to wait for a tap event. */
function tappedClient(server: TestServer, uid: string, options: Partial<ClientOptions>) {
  const taps: ClientTapEvent[] = [];
  const waiters = new Set<{ pred: (e: ClientTapEvent) => boolean; resolve: () => void }>();
  const client: Client = createClient({ url: `${server.base}/chsk`, params: { uid }, autoConnect: false, ...options });
  client.tap((e) => {
    taps.push(e);
    for (const w of waiters) if (w.pred(e)) (waiters.delete(w), w.resolve());
  });
  const frames = () => taps.filter((t): t is TapFrame => t.type === "frame:in" || t.type === "frame:out");
  return {
    client,
    taps,
    frames,
    /** Resolves once a tap event matching `pred` has been seen (before or after the call). */
    seen(pred: (e: ClientTapEvent) => boolean, what: string) {
      if (taps.some(pred)) return Promise.resolve();
      return withTimeout(new Promise<void>((resolve) => waiters.add({ pred, resolve })), 5000, what);
    },
  };
}

/** The server's frames of one client. */
const serverFrames = (server: TestServer, clientId: string) =>
  server.taps.filter((t): t is ServerFrame => (t.type === "frame:in" || t.type === "frame:out") && t.clientId === clientId);

/**
 * Both sides' frames as comparable lines: the client's `out` is the
 * server's `in`, on the same channel (a POST's body is the server's `post`,
 * its answer the server's `post-reply`), with the same payload.
 */
function sameFrames(client: TapFrame[], server: ServerFrame[]): { client: string[]; server: string[] } {
  const c = client.map((f) => `${f.type === "frame:out" ? "c2s" : "s2c"} ${f.channel} ${text(f.data)}`).sort();
  const s = server.map((f) => `${f.type === "frame:in" ? "c2s" : "s2c"} ${f.channel} ${text(f.data)}`).sort();
  return { client: c, server: s };
}

/** No console output from the client: every console method is watched during a test. */
const consoleCalls: string[] = [];
const saved: Partial<Record<"log" | "info" | "warn" | "error" | "debug", unknown>> = {};
beforeEach(() => {
  consoleCalls.length = 0;
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    saved[m] = console[m];
    console[m] = (...args: unknown[]) => void consoleCalls.push(`${m}: ${args.map(String).join(" ")}`);
  }
});
afterEach(() => {
  for (const m of ["log", "info", "warn", "error", "debug"] as const) console[m] = saved[m] as never;
});

for (const transport of ["ws", "ajax"] as const satisfies readonly Transport[]) {
  describe(`client tap over ${transport}, against a chsk server`, () => {
    test("a scripted session: every frame once, in order, described; the server's tap agrees", { timeout: 20_000 }, async () => {
      const server = await startServer({ lpTimeoutMs: 300, logger: null }, (msg) => {
        if (msg.id === "demo/echo") msg.reply?.(msg.data);
        if (msg.id === "demo/boom") throw new Error("server handler failure is not the client's business");
      });
      const t = tappedClient(server, "alice", { type: transport, wsKaliveMs: transport === "ws" ? 150 : 0 });
      try {
        // The client's router throws: no onError, no logger — it must stay off the console.
        t.client.startRouter((msg) => {
          if (msg.id === "demo/push") throw new Error("router boom");
        });
        t.client.connect();
        await t.client.whenOpen();
        assert.deepEqual(await t.client.send(["demo/echo", { a: 1 }], 5000), { a: 1 });
        const echoed = t.frames().find((f) => f.type === "frame:in" && f.kind === "reply");
        assert.ok(echoed?.type === "frame:in" && typeof echoed.latencyMs === "number" && echoed.latencyMs >= 0, "the reply carries its latency");
        assert.equal(t.client.send(["demo/note", 2]), true);
        await server.nextEvent((m) => m.id === "demo/note");
        if (transport === "ajax") await t.seen((e) => e.type === "frame:in" && e.kind === "dummy", "the POST's dummy answer");
        server.chsk.send("alice", ["demo/push", 3], { flush: true });
        await t.seen((e) => e.type === "frame:in" && e.kind === "push", "the push");
        await t.seen((e) => e.type === "error" && e.error.code === "CHSK_ERR_HANDLER", "the router failure on the tap");
        // Idle: WS keep-alive ping (the client's) and its "pong"; Ajax: a poll answered :chsk/timeout.
        if (transport === "ws") {
          await t.seen((e) => e.type === "frame:out" && e.kind === "ping", "a client ping");
          await t.seen((e) => e.type === "frame:in" && e.kind === "reply" && e.cbId === t.frames().find((f) => f.kind === "ping")?.cbId, "its pong");
        } else {
          await t.seen((e) => e.type === "frame:in" && e.kind === "timeout", "a poll timeout");
        }

        const frames = t.frames();
        const clientId = t.client.clientId;
        for (const f of frames) {
          assert.equal(f.transport, transport);
          assert.equal(f.clientId, clientId);
        }

        // Order of the scripted frames (keep-alive traffic and poll timeouts aside).
        const scripted = frames
          .filter((f) => f.kind !== "ping" && f.kind !== "timeout" && !(f.kind === "reply" && f.cbId !== null && f.cbId !== "ajax" && frames.some((p) => p.kind === "ping" && p.cbId === f.cbId)))
          .map((f) => `${f.type} ${f.channel} ${f.kind} ${f.eventId ?? "-"}`);
        assert.deepEqual(
          scripted,
          transport === "ws"
            ? [
                "frame:in ws handshake chsk/handshake",
                "frame:out ws event demo/echo",
                "frame:in ws reply -",
                "frame:out ws event demo/note",
                "frame:in ws push demo/push",
              ]
            : [
                "frame:in poll handshake chsk/handshake",
                "frame:out post event demo/echo",
                "frame:in post-reply reply -",
                "frame:out post event demo/note",
                "frame:in post-reply dummy chsk/dummy-cb-200",
                "frame:in poll push demo/push",
              ],
        );

        // connIds: one per WS attempt; one per Ajax exchange, shared by a POST and its answer.
        if (transport === "ws") {
          assert.equal(new Set(frames.map((f) => f.connId)).size, 1);
          assert.match(frames[0]!.connId, /^ws-\d+$/);
        } else {
          const polls = frames.filter((f) => f.channel === "poll");
          assert.equal(new Set(polls.map((f) => f.connId)).size, polls.length, "each poll its own exchange");
          assert.ok(polls.every((f) => /^get-\d+$/.test(f.connId)));
          assert.equal(polls[0]!.type === "frame:in" && polls[0]!.handshake, true);
          assert.ok(polls.slice(1).every((f) => f.type === "frame:in" && f.handshake === undefined));
          const posts = frames.filter((f) => f.channel === "post");
          for (const p of posts) {
            assert.match(p.connId, /^post-\d+$/);
            const answers = frames.filter((f) => f.channel === "post-reply" && f.connId === p.connId);
            assert.equal(answers.length, 1, "one answer per POST, under its exchange id");
          }
          assert.ok(frames.every((f) => f.type === "frame:out" || f.status === 200));
        }

        // The server's tap: the same frames, the other way round (once both sides are quiet).
        await until(() => {
          const s = sameFrames(t.frames(), serverFrames(server, clientId));
          return s.client.join("\n") === s.server.join("\n");
        }, 5000, "client and server taps to agree").catch(() => {
          const s = sameFrames(t.frames(), serverFrames(server, clientId));
          assert.deepEqual(s.client, s.server);
        });
        const s = sameFrames(t.frames(), serverFrames(server, clientId));
        assert.ok(s.client.length >= (transport === "ws" ? 7 : 7));
        // WS: the server's connection ids line up with the client's attempts one to one.
        if (transport === "ws") assert.equal(new Set(serverFrames(server, clientId).map((f) => f.connId)).size, 1);

        await t.client.close();
        const close = t.taps.at(-1)!;
        assert.equal(close.type, "conn:close");
        assert.deepEqual(consoleCalls, [], "the client logged nothing to the console");
      } finally {
        await t.client.close();
        await server.stop();
      }
    });
  });
}

test("a server ping over WS: tapped in, the pong tapped out, once each, as the server tapped them", { timeout: 20_000 }, async () => {
  const server = await startServer({ wsKaliveMs: 100, logger: null });
  const t = tappedClient(server, "bob", { type: "ws", wsKaliveMs: 0 });
  try {
    t.client.connect();
    await t.client.whenOpen();
    await t.seen((e) => e.type === "frame:out" && e.kind === "pong", "the pong");
    const ping = t.frames().find((f) => f.kind === "ping")!;
    assert.equal(ping.type, "frame:in");
    assert.equal(ping.eventId, "chsk/ws-ping");
    const pong = t.frames().find((f) => f.kind === "pong")!;
    assert.deepEqual([pong.eventId, pong.cbId, text(pong.data)], ["chsk/ws-pong", null, "[[:chsk/ws-pong] nil]"]);
    const clientId = t.client.clientId;
    await until(() => serverFrames(server, clientId).some((f) => f.type === "frame:in" && text(f.data) === "[[:chsk/ws-pong] nil]"), 5000, "the server to tap the pong");
    const onServer = serverFrames(server, clientId).filter((f) => /chsk\/ws-p[io]ng/.test(text(f.data)));
    const onClient = t.frames().filter((f) => f.kind === "ping" || f.kind === "pong");
    assert.deepEqual(
      sameFrames(onClient.slice(0, 2), onServer.slice(0, 2)).client,
      sameFrames(onClient.slice(0, 2), onServer.slice(0, 2)).server,
    );
    assert.deepEqual(consoleCalls, []);
  } finally {
    await t.client.close();
    await server.stop();
  }
});

test("refusals are no frames: an `error` with the status and the exchange's connId, on both transports", { timeout: 20_000 }, async () => {
  const server = await startServer({ csrfToken: () => "right", logger: null });
  try {
    for (const type of ["ws", "ajax"] as const) {
      const t = tappedClient(server, "carol", { type, csrfToken: "wrong", backoffMs: () => 60_000 });
      t.client.connect();
      await t.seen((e) => e.type === "error" && e.error.code === "CHSK_ERR_HTTP_STATUS", `${type} refusal`);
      await t.client.close();
      const refusal = t.taps.find((e) => e.type === "error")!;
      assert.ok(refusal.type === "error");
      assert.equal(refusal.error.status, 403);
      assert.equal(refusal.error.detail?.["body"], "Bad CSRF token");
      assert.match(refusal.connId ?? "", type === "ws" ? /^ws-\d+$/ : /^get-\d+$/);
      assert.equal(t.frames().length, 0, "no frame crossed the wire");
    }
    assert.deepEqual(consoleCalls, []);
  } finally {
    await server.stop();
  }
});

describe("tap({ frames: false }) and traffic()", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer({}, (msg) => {
      if (msg.id === "test/echo") msg.reply?.(msg.data);
    });
  });
  afterEach(async () => {
    await server.stop();
  });
  for (const type of ["ws", "ajax"] as const) {
    test(`${type}: a frames:false listener sees connections but no frame; traffic() counts every frame and byte both ways`, async () => {
      const all = tappedClient(server, "tina", { type });
      const quiet: ClientTapEvent[] = [];
      const off = all.client.tap((e) => quiet.push(e), { frames: false });
      all.client.connect();
      await all.client.whenOpen();
      for (let i = 0; i < 3; i++) assert.equal(await all.client.send(["test/echo", i], 5000), i);
      await all.seen((e) => e.type === "frame:in" && e.kind === "reply", "a reply frame on the full tap");
      assert.ok(quiet.some((e) => e.type === "conn:open"), "the quiet listener sees conn:open");
      assert.deepEqual(quiet.filter((e) => e.type === "frame:in" || e.type === "frame:out"), [], "and no frame");
      // traffic() is what the full tap saw, frame for frame and byte for byte.
      const t = all.client.traffic();
      const frames = all.frames();
      const size = (d: string | Uint8Array) => (typeof d === "string" ? d.length : d.byteLength);
      const out = frames.filter((f) => f.type === "frame:out");
      const inn = frames.filter((f) => f.type === "frame:in");
      assert.equal(t.framesOut, out.length);
      assert.equal(t.framesIn, inn.length);
      assert.equal(t.bytesOut, out.reduce((n, f) => n + size(f.data), 0));
      assert.equal(t.bytesIn, inn.reduce((n, f) => n + size(f.data), 0));
      assert.ok(t.framesOut >= 3 && t.framesIn >= 4);
      off();
      await all.client.close();
    });
  }
  test("with only frames:false listeners the client builds no frame events; traffic() still counts", async () => {
    const client = createClient({ url: `${server.base}/chsk`, params: { uid: "una" }, type: "ws", autoConnect: false });
    const seen: string[] = [];
    client.tap((e) => seen.push(e.type), { frames: false });
    client.connect();
    await client.whenOpen();
    assert.equal(await client.send(["test/echo", "x"], 5000), "x");
    assert.ok(!seen.includes("frame:in") && !seen.includes("frame:out"));
    assert.equal(client.traffic().framesOut, 1);
    assert.equal(client.traffic().framesIn, 2, "the handshake and the reply");
    await client.close();
  });
});
