/**
 * The server with other packers (vector 28's server side: transit frames),
 * the JSON packer where keywords travel as strings, and Sente's binary
 * packers (msgpack, gzip+edn, gzip+msgpack) end to end: chsk client ↔ chsk
 * server over WS and forced Ajax, raw binary POSTs as Sente's ClojureScript
 * client sends them, and the spawned `chsk serve` / `chsk call`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { createClient } from "../../src/core/client/index.node.js";
import { double, EdnSet, Instant, kw, Uuid, writeEdn } from "../../src/core/edn/index.js";
import { msgpackPacker, PACKER_NAMES, packerByName } from "../../src/core/packers/index.js";
import { jsonPacker, transitPacker } from "../../src/server/index.js";
import type { ServerTapEvent } from "../../src/server/types.js";
import { runCli, serve } from "../e2e/cli.js";
import { CAPTURED } from "../unit/packers-captured.js";
import { ajaxGet, ajaxPost, openPeer, startServer, withTimeout } from "./server-helpers.js";

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

// ---------------------------------------------------------------------------
// Sente's binary packers: msgpack and the gzip wrapper, chsk client ↔ chsk
// server over WS and over (forced) Ajax, and the real CLIs.

const BINARY_PACKERS = ["msgpack", "gzip+edn", "gzip+msgpack"] as const;

const binaryEcho = (msg: { id: string; data: unknown; reply?: (v: unknown) => boolean }) => {
  if (msg.id === "my/ev" || msg.id === "demo/echo") msg.reply?.(msg.data);
};

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

type FrameTap = Extract<ServerTapEvent, { type: "frame:in" | "frame:out" }>;
const frames = (taps: ServerTapEvent[], type: FrameTap["type"]) => taps.filter((e): e is FrameTap => e.type === type);

/** A raw binary Ajax POST, as Sente's ClojureScript client sends one. */
async function binaryPost(base: string, query: string, body: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
  const res = await fetch(`${base}/chsk?${query}&binary%3F=true`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: body as unknown as BodyInit,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}

for (const name of BINARY_PACKERS) {
  for (const type of ["ws", "ajax"] as const) {
    describe(`${name} over ${type}: chsk client ↔ chsk server`, () => {
      it("handshake, rich replies, a >1024-byte message both ways, a push batch", async () => {
        const packer = packerByName(name);
        const srv = await startServer({ packer }, binaryEcho);
        const client = createClient({ url: `${srv.base}/chsk`, type, packer: packerByName(name), params: { uid: "alice" }, backoffMs: () => 50 });
        try {
          const hs = await withTimeout(client.whenOpen(), 5000, "open");
          assert.equal(hs?.uid, "alice");
          assert.equal(client.state.type, type);

          const rich = {
            a: 1,
            big: 9007199254740993n,
            d: double(2),
            set: new EdnSet([kw("k"), "s"]),
            id: new Uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            when: name === "gzip+edn" ? new Date(1_700_000_000_123) : new Instant(1_700_000_000, 123_456_789),
            keys: [{ x: 1, "not a kw": 2 }, { x: 3, "not a kw": 4 }],
          };
          const reply = await client.send(["my/ev", rich], { timeoutMs: 5000 });
          assert.equal(writeEdn(reply), writeEdn(rich));
          if (name !== "gzip+edn") assert.equal((reply as { when: Instant }).when.nanos, 123_456_789);

          // Over 1024 packed bytes: gzipped by the client and by the server.
          const large = { text: "lorem ipsum ".repeat(300), n: [1, 2, 3] };
          const t0 = srv.taps.length;
          assert.deepEqual(await client.send(["my/ev", large], { timeoutMs: 5000 }), large);
          const tapped = srv.taps.slice(t0);
          const inBig = frames(tapped, "frame:in").find((e) => e.data.length > 0 && e.type === "frame:in" && e.event?.[0] === "my/ev")!;
          const outBig = frames(tapped, "frame:out").find((e) => e.data.length > 0)!;
          assert.ok(inBig.data instanceof Uint8Array && outBig.data instanceof Uint8Array);
          if (name.startsWith("gzip+")) {
            for (const d of [inBig.data, outBig.data] as Uint8Array[]) {
              assert.equal(d[0], 0x01, "gzip flag");
              assert.ok(d.length < 400, `compressed to ${d.length} bytes`);
            }
          } else {
            assert.ok(outBig.data.length > 3600);
          }

          // Two pushes within the send buffer arrive as one batch frame.
          const got: unknown[] = [];
          const two = new Promise<void>((resolve) => {
            const off = client.on("recv", (ev) => {
              got.push(ev);
              if (got.length === 2) (off(), resolve());
            });
          });
          const t1 = srv.taps.length;
          srv.chsk.send("alice", ["my/push", { n: 1 }]);
          srv.chsk.send("alice", ["my/push", { n: 2 }]);
          await withTimeout(two, 5000, "two pushes");
          assert.deepEqual(got, [
            ["my/push", { n: 1 }],
            ["my/push", { n: 2 }],
          ]);
          const batch = frames(srv.taps.slice(t1), "frame:out")[0]!;
          assert.equal(hex(batch.data as Uint8Array), hex(packer.pack([[[kw("my/push"), { n: 1 }], [kw("my/push"), { n: 2 }]], null]) as Uint8Array));
          if (name === "msgpack") {
            // protocol.md §3.4 F7: the second {:n …} key is the cached d4 08 00.
            assert.equal(hex(batch.data as Uint8Array), "929292c707006d792f7075736881d4006e0192c707006d792f7075736881d4080002c0");
          }
        } finally {
          await client.close();
          await srv.stop();
        }
      });
    });
  }
}

describe("binary Ajax POSTs as Sente's ClojureScript client sends them", () => {
  // captured-frames §12.5: [[:demo/echo {:a 1, :b [1 2 "x"], :c #{:k}, :d 9007199254740993}] :ajax] and its answer.
  const POST = CAPTURED.find((f) => f.id === "§12.5 client #1")!.hex.replace(/ /g, "");
  const ANSWER = CAPTURED.find((f) => f.id === "§12.5 server #1")!.hex.replace(/ /g, "");

  it("msgpack: the 54-byte body with 970 trailing zero bytes (1024 in all) is answered like the 54 bytes", async () => {
    const srv = await startServer({ packer: packerByName("msgpack") }, binaryEcho);
    try {
      const body = new Uint8Array(1024);
      body.set(Buffer.from(POST, "hex"));
      assert.equal(body.length - 54, 970);
      const padded = await binaryPost(srv.base, "client-id=pad1&uid=bob", body);
      assert.equal(padded.status, 200);
      assert.equal(hex(padded.body), ANSWER);
      const exact = await binaryPost(srv.base, "client-id=pad1&uid=bob", Buffer.from(POST, "hex"));
      assert.equal(hex(exact.body), ANSWER);
      // A form POST (text) to a binary packer is refused, as Sente refuses it.
      const form = await ajaxPost(srv.base, { "client-id": "pad1", ppstr: "[[:demo/echo 5] :ajax]" });
      assert.notEqual(form.status, 200);
    } finally {
      await srv.stop();
    }
  });

  it("gzip+msgpack: flag 00 + the body + zero padding, and a gzipped POST", async () => {
    const srv = await startServer({ packer: packerByName("gzip+msgpack") }, binaryEcho);
    try {
      const body = new Uint8Array(1024);
      body.set(Buffer.from("00" + POST, "hex"));
      const r = await binaryPost(srv.base, "client-id=pad2&uid=bob", body);
      assert.equal(r.status, 200);
      assert.equal(hex(r.body), "00" + ANSWER);
      // node zlib's gzip, as captured-frames §14.2's client sent it.
      const big = msgpackPacker().pack([[kw("demo/echo"), "b".repeat(3000)], kw("ajax")]) as Uint8Array;
      const gz = await binaryPost(srv.base, "client-id=pad2&uid=bob", Buffer.concat([Buffer.of(1), gzipSync(big)]));
      assert.equal(gz.status, 200);
      assert.equal(gz.body[0], 1);
      const back = packerByName("gzip+msgpack").unpack(gz.body);
      assert.ok(back.ok);
      assert.deepEqual(back.value, ["b".repeat(3000), null]);
    } finally {
      await srv.stop();
    }
  });
});

describe("chsk serve / chsk call with the binary packers (spawned CLIs)", () => {
  it("--help lists every packer name", async () => {
    for (const cmd of ["serve", "call"]) {
      const r = await runCli([cmd, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      for (const name of PACKER_NAMES) assert.ok(r.stdout.includes(`"${name}"`), `${cmd} --help lacks ${name}`);
    }
  });

  for (const name of [...BINARY_PACKERS, "gzip+transit"]) {
    it(`serve --packer ${name}: call --packer ${name} echoes over ws and ajax`, async () => {
      const srv = await serve(["--packer", name, "--quiet"]);
      try {
        for (const transport of ["ws", "ajax"]) {
          const big = "c".repeat(1500);
          const r = await runCli(["call", "--packer", name, "--transport", transport, `${srv.url}/chsk`, `[:demo/echo {:a 1, :b "${big}"}]`]);
          assert.equal(r.stderr, "");
          assert.equal(r.stdout, `{:a 1, :b "${big}"}\n`);
          assert.equal(r.code, 0);
        }
      } finally {
        const f = await srv.stop();
        assert.equal(f.code, 0, f.stderr);
      }
    });
  }
});
