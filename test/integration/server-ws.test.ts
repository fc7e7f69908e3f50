/**
 * WebSocket transport against a raw `ws` peer (protocol.md §11.1 vectors
 * 2, 6, 7, 9, 10, 13, 14, 26, plus bad frames, targeting and the router).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CloseCode } from "../../src/core/protocol/errors.js";
import { openPeer, Peer, sleep, startServer, type TestServer, withTimeout } from "./server-helpers.js";

describe("server WS transport", () => {
  let srv: TestServer;
  const peers: Peer[] = [];
  const open = async (query: string) => {
    const r = await openPeer(srv.port, query);
    peers.push(r.peer);
    return r;
  };

  before(async () => {
    srv = await startServer(
      {
        handshakeData: (req) => (req.query["hs"] ? { hello: "world" } : null),
        maxFrameBytes: 4096,
        maxDepth: 32,
      },
      (msg) => {
        if (msg.id === "my/ev" && msg.reply) msg.reply({ ok: 1 });
        if (msg.id === "my/echo") msg.reply?.(msg.data);
      },
    );
  });
  after(async () => {
    for (const p of peers) p.close();
    await srv.stop();
  });

  it("vector 6: first frame is the handshake, then uidport-open for the uid's first conn", async () => {
    const { handshake } = await open("client-id=c-alice-1&uid=alice");
    assert.equal(handshake, '[[:chsk/handshake ["alice" nil nil]] nil]');
    const m = await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "alice");
    assert.deepEqual(m.event, ["chsk/uidport-open", "alice"]);
    assert.equal(m.uid, "alice");
    assert.equal(m.clientId, "c-alice-1");
    assert.equal(m.transport, "ws");
    assert.equal(m.req.query["client-id"], "c-alice-1");
    assert.ok(srv.chsk.connectedUids.ws.has("alice"));
    assert.ok(srv.chsk.connectedUids.any.has("alice"));
  });

  it("vector 7: anonymous handshake uses :sente/nil-uid", async () => {
    const { handshake } = await open("client-id=c-anon");
    assert.equal(handshake, "[[:chsk/handshake [:sente/nil-uid nil nil]] nil]");
    assert.ok(srv.chsk.connectedUids.any.has(null));
  });

  it("vector 8 (server side): handshake data is the 3rd element", async () => {
    const { handshake } = await open("client-id=c-bob&uid=bob&hs=1");
    assert.equal(handshake, '[[:chsk/handshake ["bob" nil {:hello "world"}]] nil]');
  });

  it("vector 2: a WS upgrade without client-id gets 400, no handshake", async () => {
    const p = new Peer(srv.port, "uid=x");
    await assert.rejects(p.opened);
    assert.equal(p.rejected?.status, 400);
    assert.equal(p.rejected?.body, "Missing client-id");
  });

  it("vector 9: event with cb id → routed with reply → [reply cb-id]", async () => {
    const { peer } = await open("client-id=c-9&uid=u9");
    peer.send('[[:my/ev {:a 1}] "3f2a1b"]');
    assert.equal(await peer.next(), '[{:ok 1} "3f2a1b"]');
    const m = await srv.nextEvent((m) => m.id === "my/ev" && m.clientId === "c-9");
    assert.deepEqual(m.data, { a: 1 });
    assert.equal(typeof m.reply, "function");
    assert.equal(m.uid, "u9");
  });

  it("vector 10: event without cb id → no reply fn; 1-element envelopes too", async () => {
    const { peer } = await open("client-id=c-10&uid=u10");
    peer.send("[[:my/ev {:a 1}] nil]");
    peer.send("[[:my/ev {:a 2}]]");
    const m1 = await srv.nextEvent((m) => m.id === "my/ev" && m.clientId === "c-10");
    const m2 = await srv.nextEvent((m) => m.id === "my/ev" && m.clientId === "c-10" && m !== m1);
    assert.equal(m1.reply, undefined);
    assert.equal("reply" in m1, false);
    assert.deepEqual(m2.data, { a: 2 });
    assert.ok(await peer.silentFor(100));
  });

  it("client ping with cb → [\"pong\" id] and [:chsk/ws-ping] routed; pong routed", async () => {
    const { peer } = await open("client-id=c-ping&uid=uping");
    peer.send('[[:chsk/ws-ping] "a1b2c3"]');
    assert.equal(await peer.next(), '["pong" "a1b2c3"]');
    const m = await srv.nextEvent((m) => m.id === "chsk/ws-ping" && m.clientId === "c-ping");
    assert.equal(m.reply, undefined);
    peer.send("[[:chsk/ws-pong] nil]");
    await srv.nextEvent((m) => m.id === "chsk/ws-pong" && m.clientId === "c-ping");
  });

  it("vector 13: two sends within 30 ms → ONE frame on every socket of the uid", async () => {
    const a = await open("client-id=c13a&uid=u13");
    const b = await open("client-id=c13b&uid=u13");
    const t0 = Date.now();
    srv.chsk.send("u13", ["my/push", { n: 1 }]);
    srv.chsk.send("u13", ["my/push", { n: 2 }]);
    const expected = "[[[:my/push {:n 1}] [:my/push {:n 2}]] nil]";
    assert.equal(await a.peer.next(), expected);
    assert.ok(Date.now() - t0 >= 20, "batched for ~30 ms");
    assert.equal(await b.peer.next(), expected);
    assert.ok(await a.peer.silentFor(80));
  });

  it("vector 14: {flush: true} goes out at once in its own frame", async () => {
    // A 60 s batch window makes "at once" observable without racing the clock:
    // the flushed push arrives, the batched one is still held.
    const slow = await startServer({ sendBufMsWs: 60_000 }, () => {});
    const { peer } = await openPeer(slow.port, "client-id=c14&uid=u14");
    try {
      slow.chsk.send("u14", ["my/push", { n: 0 }]);
      slow.chsk.send("u14", ["my/push", { n: 1 }], { flush: true });
      assert.equal(await withTimeout(peer.next(), 5000, "flushed push"), "[[[:my/push {:n 0}] [:my/push {:n 1}]] nil]");
      slow.chsk.send("u14", ["my/push", { n: 2 }]);
      assert.ok(await peer.silentFor(300), "an unflushed push waits for its batch window");
    } finally {
      peer.close();
      await slow.stop();
    }
  });

  it("vector 26: legacy `+` and `-` prefixed frames are accepted", async () => {
    const { peer } = await open("client-id=c26&uid=u26");
    peer.send('+[[:my/echo 1] "abc"]');
    assert.equal(await peer.next(), '[1 "abc"]');
    peer.send("-[:my/ev 7]");
    const m = await srv.nextEvent((m) => m.id === "my/ev" && m.clientId === "c26");
    assert.equal(m.data, 7);
    assert.equal(m.reply, undefined);
  });

  it("sendToClient reaches only that tab", async () => {
    const a = await open("client-id=tab-a&uid=multi");
    const b = await open("client-id=tab-b&uid=multi");
    srv.chsk.sendToClient("tab-a", ["my/only", 1]);
    assert.equal(await a.peer.next(), "[[[:my/only 1]] nil]");
    assert.ok(await b.peer.silentFor(100));
  });

  it("broadcast reaches every connected uid, packed once", async () => {
    const a = await open("client-id=bc-a&uid=bc1");
    const b = await open("client-id=bc-b&uid=bc2");
    const c = await open("client-id=bc-c");
    srv.chsk.broadcast(["my/all", "x"]);
    for (const p of [a, b, c]) assert.equal(await p.peer.next(), '[[[:my/all "x"]] nil]');
  });

  it("a client may not fake uidport events: they arrive as chsk/bad-event", async () => {
    const { peer } = await open("client-id=c-spoof&uid=spoof");
    peer.send('[[:chsk/uidport-close "alice"] nil]');
    const m = await srv.nextEvent((m) => m.clientId === "c-spoof" && m.id === "chsk/bad-event");
    assert.deepEqual(m.data, ["chsk/uidport-close", "alice"]);
  });

  it("an oversize frame closes THAT socket with 1009; others keep working", async () => {
    const victim = await open("client-id=big&uid=big");
    const other = await open("client-id=ok1&uid=ok1");
    victim.peer.send(`[[:my/ev "${"x".repeat(5000)}"] nil]`);
    const { code } = await withTimeout(victim.peer.closed, 3000, "close");
    assert.equal(code, CloseCode.MESSAGE_TOO_BIG);
    other.peer.send('[[:my/ev {:a 1}] "zzz111"]');
    assert.equal(await other.peer.next(), '[{:ok 1} "zzz111"]');
    assert.ok(srv.taps.some((t) => t.type === "error" && t.error.code === "CHSK_ERR_FRAME_TOO_LARGE" && t.clientId === "big"));
  });

  it("a nesting bomb closes with 1002 (CHSK_ERR_EDN_DEPTH); the server keeps serving", async () => {
    const victim = await open("client-id=bomb&uid=bomb");
    victim.peer.send(`[${"[".repeat(1000)}${"]".repeat(1000)} nil]`);
    const { code } = await withTimeout(victim.peer.closed, 3000, "close");
    assert.equal(code, CloseCode.PROTOCOL_ERROR);
    assert.ok(srv.taps.some((t) => t.type === "error" && t.error.code === "CHSK_ERR_EDN_DEPTH" && t.clientId === "bomb"));
    const fresh = await open("client-id=after-bomb&uid=after");
    fresh.peer.send('[[:my/ev {:a 1}] "aaa111"]');
    assert.equal(await fresh.peer.next(), '[{:ok 1} "aaa111"]');
  });

  it("an unparseable frame closes with 1002 (CHSK_ERR_EDN_SYNTAX)", async () => {
    const victim = await open("client-id=garbage&uid=g");
    victim.peer.send("[[:my/ev {:a 1] nil]");
    const { code } = await withTimeout(victim.peer.closed, 3000, "close");
    assert.equal(code, CloseCode.PROTOCOL_ERROR);
    assert.ok(srv.taps.some((t) => t.type === "error" && t.error.code === "CHSK_ERR_EDN_SYNTAX"));
  });

  it("closeUser closes every socket of the uid; closeClient just the one", async () => {
    const a = await open("client-id=cu-a&uid=cu");
    const b = await open("client-id=cu-b&uid=cu");
    const c = await open("client-id=cc-c&uid=cc");
    const d = await open("client-id=cc-d&uid=cc");
    srv.chsk.closeUser("cu");
    assert.equal((await withTimeout(a.peer.closed, 3000, "close")).code, 1000);
    assert.equal((await withTimeout(b.peer.closed, 3000, "close")).code, 1000);
    srv.chsk.closeClient("cc-c");
    assert.equal((await withTimeout(c.peer.closed, 3000, "close")).code, 1000);
    d.peer.send('[[:my/ev {:a 1}] "ddd111"]');
    assert.equal(await d.peer.next(), '[{:ok 1} "ddd111"]');
  });

  it("send() with [:chsk/close] is Sente's close command", async () => {
    const a = await open("client-id=sc-a&uid=sc");
    srv.chsk.send("sc", ["chsk/close"]);
    assert.equal((await withTimeout(a.peer.closed, 3000, "close")).code, 1000);
  });

  it("taps: frame:in/out, conn:open, reply with latency", async () => {
    const { peer } = await open("client-id=tap1&uid=tapper");
    peer.send('[[:my/ev {:a 1}] "tap111"]');
    await peer.next();
    const mine = srv.taps.filter((t) => "clientId" in t && t.clientId === "tap1");
    assert.ok(mine.some((t) => t.type === "conn:open" && t.transport === "ws"));
    assert.ok(mine.some((t) => t.type === "frame:in" && t.data === '[[:my/ev {:a 1}] "tap111"]' && t.cbId === "tap111"));
    assert.ok(mine.some((t) => t.type === "frame:out" && t.data === '[{:ok 1} "tap111"]'));
    const reply = mine.find((t) => t.type === "reply");
    assert.ok(reply && reply.type === "reply");
    assert.equal(reply.eventId, "my/ev");
    assert.ok(reply.latencyMs >= 0 && reply.latencyMs < 1000);
  });

  it("invalid pushes throw at send()", () => {
    assert.throws(() => srv.chsk.send("x", ["nonamespace", 1] as never), { code: "CHSK_ERR_BAD_EVENT" });
    assert.throws(() => srv.chsk.send(undefined as never, ["my/ev"]), TypeError);
  });
});

describe("server router", () => {
  it("survives throwing and rejecting handlers, in order", async () => {
    const errors: [unknown, string][] = [];
    const srv = await startServer();
    const seen: string[] = [];
    const stop = srv.chsk.startRouter(
      (msg) => {
        if (msg.clientId !== "r1") return;
        seen.push(msg.id);
        if (msg.id === "my/boom") throw new Error("boom");
        if (msg.id === "my/reject") return Promise.reject(new Error("nope"));
        if (msg.id === "my/ev") msg.reply?.("still here");
      },
      { onError: (e, msg) => errors.push([e, msg.id]) },
    );
    try {
      const { peer } = await openPeer(srv.port, "client-id=r1&uid=r");
      peer.send("[[:my/boom] nil]");
      peer.send("[[:my/reject] nil]");
      peer.send('[[:my/ev] "rrr111"]');
      assert.equal(await peer.next(), '["still here" "rrr111"]');
      await sleep(10);
      assert.deepEqual(seen, ["chsk/uidport-open", "my/boom", "my/reject", "my/ev"]);
      assert.deepEqual(
        errors.map(([e, id]) => [(e as Error).message, id]),
        [
          ["boom", "my/boom"],
          ["nope", "my/reject"],
        ],
      );
      peer.close();
    } finally {
      stop();
      await srv.stop();
    }
  });

  it("events received before any router are delivered to the first one, in order", async () => {
    const { createServer } = await import("../../src/server/index.js");
    const chsk = createServer({ csrfToken: null });
    const { createServer: createHttp } = await import("node:http");
    const http = createHttp();
    chsk.attach(http);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as { port: number }).port;
    try {
      const { peer } = await openPeer(port, "client-id=early");
      peer.send("[[:my/a] nil]");
      peer.send("[[:my/b] nil]");
      await sleep(50);
      const ids: string[] = [];
      const done = new Promise<void>((resolve) => {
        chsk.startRouter((m) => {
          ids.push(m.id);
          if (m.id === "my/c") resolve();
        });
      });
      peer.send("[[:my/c] nil]");
      await withTimeout(done, 2000, "my/c");
      assert.deepEqual(ids, ["chsk/uidport-open", "my/a", "my/b", "my/c"]);
      peer.close();
    } finally {
      await chsk.close();
      http.closeAllConnections();
      http.close();
    }
  });
});

describe("server WS transport wired twice", () => {
  it("an upgrade that reaches handleUpgrade twice (attach plus a hand-written listener) opens once, without crashing", async () => {
    const srv = await startServer();
    // startServer attached chsk; an app adds its own upgrade listener on top.
    srv.http.on("upgrade", (req, socket, head) => {
      srv.chsk.handleUpgrade(req, socket, head);
    });
    try {
      const { peer, handshake } = await openPeer(srv.port, "client-id=twice&uid=alice");
      assert.equal(handshake, '[[:chsk/handshake ["alice" nil nil]] nil]');
      peer.send('[[:my/ev 1] nil]');
      const m = await srv.nextEvent((e) => e.id === "my/ev");
      assert.equal(m.clientId, "twice");
      assert.equal(srv.chsk.clients().filter((c) => c.clientId === "twice").length, 1);
      peer.close();
    } finally {
      await srv.stop();
    }
  });
});

describe("server WS transport: binary frames to a text packer", () => {
  it("UTF-8 bytes are read as text; bytes that are not UTF-8 close the socket with 1002 CHSK_ERR_UNPACK", async () => {
    const srv = await startServer({}, (m) => {
      if (m.id === "my/echo") m.reply?.(m.data);
    });
    try {
      const { peer } = await openPeer(srv.port, "client-id=bin1");
      peer.ws.send(Buffer.from('[[:my/echo "é"] "c1"]', "utf8"), { binary: true });
      assert.equal(await peer.next(), '["é" "c1"]');
      peer.ws.send(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), { binary: true });
      const closed = await withTimeout(peer.closed, 3000, "close");
      assert.deepEqual(closed, { code: CloseCode.PROTOCOL_ERROR, reason: "CHSK_ERR_UNPACK" });
      assert.ok(srv.errors.some((e) => e.code === "CHSK_ERR_UNPACK"));
    } finally {
      await srv.stop();
    }
  });
});
