/**
 * The server with other packers (vector 28's server side: transit frames),
 * and the JSON packer where keywords travel as strings.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonPacker, transitPacker } from "../../src/server/index.js";
import { ajaxGet, ajaxPost, openPeer, startServer } from "./server-helpers.js";

const echo = (msg: { id: string; data: unknown; reply?: (v: unknown) => boolean }) => {
  if (msg.id === "my/ev") msg.reply?.(msg.data);
};

describe("server with the transit packer", () => {
  it("handshake, reply, push and Ajax frames are transit-json", async () => {
    const srv = await startServer({ packer: transitPacker() }, echo);
    try {
      const { peer, handshake } = await openPeer(srv.port, "client-id=t1&uid=alice");
      assert.equal(handshake, '[["~:chsk/handshake",["alice",null,null]],null]');
      peer.send('[["~:my/ev",["^ ","~:a",1]],"3f2a1b"]');
      assert.equal(await peer.next(), '[["^ ","~:a",1],"3f2a1b"]');
      srv.chsk.send("alice", ["my/push", { n: 1 }]);
      srv.chsk.send("alice", ["my/push", { n: 2 }]);
      assert.equal(await peer.next(), '[[["~:my/push",["^ ","~:n",1]],["^0",["^ ","~:n",2]]],null]');
      const hs = await ajaxGet(srv.base, "client-id=t2&handshake%3F=1");
      assert.equal(hs.body, '[["~:chsk/handshake",["~:sente/nil-uid",null,null]],null]');
      const post = await ajaxPost(srv.base, { "client-id": "t2", ppstr: '[["~:my/ev",["^ ","~:a",1]],"~:ajax"]' });
      assert.equal(post.body, '[["^ ","~:a",1],null]');
      srv.chsk.send(null, ["my/push", "anon"], { flush: true });
      const poll = await ajaxGet(srv.base, "client-id=t2");
      assert.equal(poll.body, '[[["~:my/push","anon"]],null]');
      peer.close();
    } finally {
      await srv.stop();
    }
  });
});

describe("server with the JSON packer", () => {
  it("event ids and markers are strings", async () => {
    const srv = await startServer({ packer: jsonPacker(), sendBufMsWs: 0 }, echo);
    try {
      const { peer, handshake } = await openPeer(srv.port, "client-id=j1&uid=bob");
      assert.equal(handshake, '[["chsk/handshake",["bob",null,null]],null]');
      peer.send('[["my/ev",{"a":1}],"abc123"]');
      assert.equal(await peer.next(), '[{"a":1},"abc123"]');
      srv.chsk.send("bob", ["my/push", 1]);
      assert.equal(await peer.next(), '[[["my/push",1]],null]');
      peer.close();
    } finally {
      await srv.stop();
    }
  });
});

describe("server events API", () => {
  it("on('uidport:open'/'uidport:close'), on('event'), clients()", async () => {
    const srv = await startServer({ msAllowReconnectBeforeCloseWs: 50 });
    const opened: unknown[] = [];
    const closed: unknown[] = [];
    const seen: string[] = [];
    srv.chsk.on("uidport:open", (uid) => opened.push(uid));
    srv.chsk.on("uidport:close", (uid) => closed.push(uid));
    const stop = srv.chsk.on("event", (m) => void seen.push(m.id));
    try {
      const { peer } = await openPeer(srv.port, "client-id=e1&uid=eve");
      const info = srv.chsk.clients().find((c) => c.clientId === "e1");
      assert.ok(info);
      assert.equal(info.transport, "ws");
      assert.equal(info.connected, true);
      assert.equal(info.remoteAddress, "127.0.0.1");
      peer.send("[[:my/x] nil]");
      await srv.nextEvent((m) => m.id === "my/x");
      stop();
      peer.send("[[:my/y] nil]");
      await srv.nextEvent((m) => m.id === "my/y");
      assert.deepEqual(seen, ["chsk/uidport-open", "my/x"]);
      peer.close();
      await srv.nextEvent((m) => m.id === "chsk/uidport-close", 2000);
      assert.deepEqual(opened, ["eve"]);
      assert.deepEqual(closed, ["eve"]);
    } finally {
      await srv.stop();
    }
  });

  it("WS event-msgs keep headers/query/cookies; req.raw only with retainUpgradeRequest", async () => {
    const seenInHook: unknown[] = [];
    const srv = await startServer({ userId: (req) => (seenInHook.push(req.raw.url), req.query["uid"] ?? null) });
    try {
      const { peer } = await openPeer(srv.port, "client-id=r1&uid=ray");
      peer.send("[[:my/x] nil]");
      const m = await srv.nextEvent((m) => m.id === "my/x" && m.clientId === "r1");
      assert.deepEqual(seenInHook, ["/chsk?client-id=r1&uid=ray"]);
      assert.equal(m.req.query["uid"], "ray");
      assert.equal(m.req.headers["upgrade"], "websocket");
      assert.equal(m.req.remoteAddress, "127.0.0.1");
      assert.deepEqual({ ...m.req.cookies }, {});
      assert.throws(() => m.req.raw, /retainUpgradeRequest/);
      peer.close();
    } finally {
      await srv.stop();
    }
    const kept = await startServer({ retainUpgradeRequest: true });
    try {
      const { peer } = await openPeer(kept.port, "client-id=r2&uid=ray");
      peer.send("[[:my/x] nil]");
      const m = await kept.nextEvent((m) => m.id === "my/x");
      assert.equal(m.req.raw.url, "/chsk?client-id=r2&uid=ray");
      peer.close();
    } finally {
      await kept.stop();
    }
  });

  it("closeClient on an Ajax client drops its held poll (the client sees a network error)", async () => {
    const srv = await startServer({ lpTimeoutMs: 5000 });
    try {
      await ajaxGet(srv.base, "client-id=ax&uid=ax&handshake%3F=1");
      const p = ajaxGet(srv.base, "client-id=ax&uid=ax").then(
        () => "answered",
        () => "failed",
      );
      await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "ax");
      srv.chsk.closeClient("ax");
      assert.equal(await p, "failed");
    } finally {
      await srv.stop();
    }
  });
});
