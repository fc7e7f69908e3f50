/**
 * The Node client's WS transport sends the frames of one tick in one
 * `writev` (the socket is corked until `process.nextTick`). Real sockets on
 * 127.0.0.1: a raw `ws` server that answers the handshake, records every
 * frame as it arrived, and replies to requests.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { createClient } from "../../src/core/client/index.node.js";
import { MAX_SLAB_PAYLOAD } from "../../src/core/client/ws-output.node.js";
import type { Client } from "../../src/core/client/types.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { msgpackPacker } from "../../src/core/packers/index.js";
import type { Packer } from "../../src/core/packers/types.js";
import { decodeClientMessage, encodeClientEvent, encodeHandshake, encodeReply } from "../../src/core/protocol/codec.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { takeFrame, type WireFrame, wsFrame } from "./ws-wire.js";

interface Frame {
  data: Buffer;
  binary: boolean;
}

interface Server {
  url: string;
  port: number;
  frames: Frame[];
  /** Resolves once `n` frames (after the client's first) have arrived, or rejects after `ms`. */
  waitFrames(n: number, ms?: number): Promise<void>;
  closed: Promise<number>;
  close(): Promise<void>;
}

async function startServer(packer: Packer): Promise<Server> {
  const wss = new WebSocketServer({ noServer: true });
  const frames: Frame[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  let onClosed!: (code: number) => void;
  const closed = new Promise<number>((r) => (onClosed = r));
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  httpServer.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(encodeHandshake(packer, "u1"));
      ws.on("message", (data: Buffer, binary) => {
        frames.push({ data: Buffer.from(data), binary });
        const m = decodeClientMessage(packer, binary ? new Uint8Array(data) : data.toString("utf8"));
        if (m.ok && m.value.cbId !== null) ws.send(encodeReply(packer, m.value.event[1], m.value.cbId));
        waiters = waiters.filter((w) => (frames.length >= w.n ? (w.resolve(), false) : true));
      });
      ws.on("close", (code) => onClosed(code));
    });
  });
  httpServer.listen(0, "127.0.0.1");
  await once(httpServer, "listening");
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/chsk`,
    port,
    frames,
    closed,
    waitFrames: (n, ms = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (frames.length >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`${frames.length} of ${n} frames arrived`)), ms);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}

function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function connected(packer: Packer): Promise<{ server: Server; client: Client }> {
  const server = await startServer(packer);
  const client = createClient({ url: server.url, packer, type: "ws", csrfToken: null, backoffMs: () => 100 });
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  await within(client.whenOpen(), "the handshake");
  return { server, client };
}

const events = (n: number): ChskEvent[] => Array.from({ length: n }, (_, i) => ["my/n", { i, text: `frame ${i} ✓` }] as ChskEvent);
const T = { timeout: 15_000 };

describe("client WS transport: one tick's frames, one write", () => {
  for (const packer of [ednPacker(), msgpackPacker()]) {
    it(`${packer.name}: frames sent in one tick arrive as separate frames, in order, byte for byte`, T, async () => {
      const { server, client } = await connected(packer);
      const evs = events(40);
      for (const ev of evs) assert.equal(client.send(ev), true);
      await server.waitFrames(evs.length);
      assert.equal(server.frames.length, evs.length);
      evs.forEach((ev, i) => {
        const want = encodeClientEvent(packer, ev, null);
        const got = server.frames[i]!;
        assert.equal(got.binary, packer.binary, `frame ${i}: opcode`);
        assert.deepEqual(got.data, Buffer.from(typeof want === "string" ? Buffer.from(want, "utf8") : want), `frame ${i}: bytes`);
      });
    });
  }

  it("requests sent in one tick each get their own reply, and their frames keep their cb ids", T, async () => {
    const { server, client } = await connected(ednPacker());
    const evs = events(25);
    const replies = await Promise.all(evs.map((ev) => client.send(ev, 5_000)));
    assert.deepEqual(replies, evs.map((ev) => ev[1]));
    const cbIds = server.frames.map((f) => {
      const m = decodeClientMessage(ednPacker(), f.data.toString("utf8"));
      assert.ok(m.ok);
      return m.value.cbId;
    });
    assert.equal(new Set(cbIds).size, evs.length);
    for (const id of cbIds) assert.match(String(id), /^[0-9a-f]{6}$/);
  });

  it("one tick's frames leave the client in one socket write", T, async () => {
    const { server, client } = await connected(ednPacker());
    // Every write or writev of a net.Socket goes through _writeGeneric; count the client's.
    const proto = net.Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown };
    const original = proto._writeGeneric;
    let writes = 0;
    proto._writeGeneric = function (this: net.Socket, ...a: unknown[]) {
      if (this.remotePort === server.port) writes++;
      return original.apply(this, a);
    };
    try {
      for (const ev of events(20)) client.send(ev);
      await server.waitFrames(20);
    } finally {
      proto._writeGeneric = original;
    }
    assert.equal(writes, 1);
  });

  it("frames sent just before close() still reach the server, ahead of the close frame", T, async () => {
    const { server, client } = await connected(ednPacker());
    const evs = events(5);
    for (const ev of evs) client.send(ev);
    const closing = client.close();
    assert.equal(await within(server.closed, "the close"), 1000);
    await closing;
    assert.deepEqual(
      server.frames.map((f) => f.data.toString("utf8")),
      evs.map((ev) => encodeClientEvent(ednPacker(), ev, null)),
    );
  });

  // The client masks frames into a shared slab itself (ws-output.node.ts); `ws`'s
  // server checks every frame (mask bit, lengths, UTF-8) as it reads them.
  const sized = (n: number, unit = "a"): ChskEvent => ["my/s", unit.repeat(n)];
  const sizes: ChskEvent[] = [
    ["my/e"],
    sized(1),
    sized(100), // a 7-bit length
    sized(30, "✓"), // the 3-byte bound needs an extended length, the payload does not
    sized(120), // around 125: the last 7-bit lengths and the first 16-bit ones
    sized(130),
    sized(1_000, "é"),
    sized(Math.floor(MAX_SLAB_PAYLOAD / 3) - 20, "€"), // the largest bound the slab takes
    sized(MAX_SLAB_PAYLOAD), // past the slab bound: through `ws`
    sized(70_000), // a 64-bit length, through `ws`
    sized(10),
  ];

  for (const packer of [ednPacker(), msgpackPacker()]) {
    it(`${packer.name}: frames of every length class, sent in one tick, arrive whole and in order`, T, async () => {
      const { server, client } = await connected(packer);
      for (const ev of sizes) client.send(ev);
      await server.waitFrames(sizes.length);
      sizes.forEach((ev, i) => {
        const want = encodeClientEvent(packer, ev, null);
        assert.deepEqual(server.frames[i]!.data, Buffer.from(typeof want === "string" ? Buffer.from(want, "utf8") : want), `frame ${i}`);
      });
    });
  }

  it("frames past one slab (64 KiB in one tick) and two clients taking turns keep each client's order", T, async () => {
    const a = await connected(ednPacker());
    const b = await connected(ednPacker());
    const evs = Array.from({ length: 30 }, (_, i) => sized(5_000 + i) as ChskEvent);
    for (const ev of evs) {
      a.client.send(ev);
      b.client.send(ev);
    }
    await a.server.waitFrames(evs.length);
    await b.server.waitFrames(evs.length);
    const want = evs.map((ev) => encodeClientEvent(ednPacker(), ev, null));
    assert.deepEqual(a.server.frames.map((f) => f.data.toString("utf8")), want);
    assert.deepEqual(b.server.frames.map((f) => f.data.toString("utf8")), want);
  });

  /** A client on a bare-TCP server, open, with the data of the pushes it receives. */
  async function rawConnected(retryMs: number) {
    const raw = await startRawServer();
    cleanups.push(() => raw.close());
    const client = createClient({ url: raw.url, packer: ednPacker(), type: "ws", csrfToken: null, backoffMs: () => retryMs });
    cleanups.push(() => client.close());
    const pushes: unknown[] = [];
    client.on("recv", (ev) => pushes.push(ev[1]));
    await within(client.whenOpen(), "the handshake");
    return { raw, client, pushes };
  }

  it("every frame is masked with its own random key (RFC 6455 §5.3), read off the raw TCP stream", T, async () => {
    const { raw, client } = await rawConnected(100);
    const evs = events(200);
    for (const ev of evs) client.send(ev);
    const frames = await within(raw.frames(evs.length), "200 frames");
    const keys = new Set<string>();
    frames.forEach((f, i) => {
      assert.equal(f.fin && f.opcode === 1 && f.masked, true, `frame ${i}: FIN, text, masked`);
      keys.add(f.key.toString("hex"));
      assert.equal(f.payload.toString("utf8"), encodeClientEvent(ednPacker(), evs[i]!, null));
    });
    // 200 draws of 32 random bits: a repeat has a chance of about 5 in a million.
    assert.ok(keys.size >= 199, `${keys.size} distinct keys`);
  });

  // Server frames: plain data frames are read off the socket by the client
  // (ws-input.node.ts), the rest by `ws`, which must still answer and fail as before.
  const serverFrame = (opcode: number, payload: Buffer, fin = true) => wsFrame(opcode, payload, { fin });
  const pushText = (ev: string) => Buffer.from(`[[[:my/push ${JSON.stringify(ev)}]] nil]`);


  it("server frames: a fragmented push, a ping and a plain push, cut mid-frame, arrive in order; the ping is answered", T, async () => {
    const { raw, pushes } = await rawConnected(100);
    const first = pushText("fragmented");
    const stream = Buffer.concat([
      serverFrame(1, first.subarray(0, 9), false),
      serverFrame(0, first.subarray(9)),
      serverFrame(9, Buffer.from("hi")),
      serverFrame(1, pushText("plain")),
    ]);
    for (const [a, b] of [[0, 5], [5, 13], [13, 40], [40, stream.length]] as const) {
      raw.write(stream.subarray(a, b));
      await new Promise((r) => setTimeout(r, 10));
    }
    const [pong] = await within(raw.frames(1), "the pong");
    assert.equal(pong!.opcode, 10);
    assert.equal(pong!.payload.toString(), "hi");
    assert.deepEqual(pushes, ["fragmented", "plain"]);
  });

  for (const [what, frame, code] of [
    ["a close frame (4001) is answered and closes the client", serverFrame(8, Buffer.from([0x0f, 0xa1])), 4001],
    ["invalid UTF-8 in a text frame fails the connection (1007)", serverFrame(1, Buffer.from([0x5b, 0xc3, 0x5d])), 1007],
  ] as const) {
    it(`server frames: ${what}`, T, async () => {
      const { raw, client, pushes } = await rawConnected(60_000);
      // It reconnects at once (Sente's first retry is immediate): watch for the close itself.
      const closed = new Promise<void>((resolve) => client.on("state", (c) => c.closed === true && resolve()));
      raw.write(Buffer.concat([serverFrame(1, pushText("before")), frame, serverFrame(1, pushText("after"))]));
      const [close] = await within(raw.frames(1), "the client's close frame");
      assert.equal(close!.opcode, 8);
      assert.equal(close!.payload.readUInt16BE(0), code);
      await within(closed, "the client to see the close");
      assert.deepEqual(pushes, ["before"]);
    });
  }
});

/** A WebSocket server on a bare TCP socket: answers the upgrade and the chsk handshake, then parses what arrives. */
async function startRawServer(): Promise<{ url: string; frames(n: number): Promise<WireFrame[]>; write(bytes: Buffer): void; close(): Promise<void> }> {
  let buf = Buffer.alloc(0);
  const got: WireFrame[] = [];
  let waiter: { n: number; resolve: (f: WireFrame[]) => void } | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let upgraded = false;
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString("latin1"))![1]!;
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        const hs = Buffer.from(encodeHandshake(ednPacker(), "u1") as string);
        socket.write(wsFrame(1, hs));
        buf = buf.subarray(end + 4);
        upgraded = true;
      }
      for (let t = takeFrame(buf); t !== null; t = takeFrame(buf)) {
        got.push(t.frame);
        buf = buf.subarray(t.size);
        // The closing handshake's last step, as a real server takes it: close the TCP connection.
        if (t.frame.opcode === 8) socket.end();
      }
      if (waiter !== null && got.length >= waiter.n) waiter.resolve(got.slice(0, waiter.n));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/chsk`,
    frames: (n) => new Promise((resolve) => (got.length >= n ? resolve(got.slice(0, n)) : (waiter = { n, resolve }))),
    write(bytes) {
      for (const s of sockets) s.write(bytes);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
