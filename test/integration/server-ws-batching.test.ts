/**
 * The server's WS transport sends the frames of one tick in one `writev`
 * (the socket is corked until `process.nextTick`). Real sockets on
 * 127.0.0.1, and a raw TCP WebSocket client written here, so that a burst
 * of requests reaches the server in one TCP write (one 'data' event) and
 * every byte the server sends back is seen as it is on the wire.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { describe, it } from "node:test";
import { ednPacker } from "../../src/core/packers/edn.js";
import { msgpackPacker } from "../../src/core/packers/index.js";
import type { Packer } from "../../src/core/packers/types.js";
import { encodeClientEvent, encodeHandshake, encodeReply } from "../../src/core/protocol/codec.js";
import { type TestServer, startServer, withTimeout } from "./server-helpers.js";
import { takeFrame, wsFrame } from "./ws-wire.js";

const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;

interface Frame {
  opcode: number;
  payload: Buffer;
}

const serverFrame = (opcode: number, payload: Buffer) => wsFrame(opcode, payload);
const clientFrame = (opcode: number, payload: Buffer) => wsFrame(opcode, payload, { mask: true });

const wireBytes = (x: string | Uint8Array): Buffer => (typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from(x));

/** A WebSocket client on a bare TCP socket: writes what it is given in one write, keeps every byte it receives. */
class RawWs {
  readonly socket: net.Socket;
  /** Everything received after the 101 response. */
  bytes = Buffer.alloc(0);
  readonly frames: Frame[] = [];
  readonly ended: Promise<void>;
  #parsed = 0;
  #head: Buffer | null = Buffer.alloc(0);
  #wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => {});
    this.ended = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.ended.then(() => this.#wake?.());
  }

  static async open(port: number, query: string): Promise<RawWs> {
    const socket = net.connect(port, "127.0.0.1");
    const c = new RawWs(socket);
    socket.write(
      `GET /chsk?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await c.waitFor(() => c.#head === null, "the 101 response");
    return c;
  }

  #onData(chunk: Buffer): void {
    if (this.#head !== null) {
      const all = Buffer.concat([this.#head, chunk]);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) {
        this.#head = all;
        return;
      }
      assert.match(all.subarray(0, end).toString("latin1"), /^HTTP\/1\.1 101 /);
      this.#head = null;
      chunk = all.subarray(end + 4);
    }
    this.bytes = Buffer.concat([this.bytes, chunk]);
    for (let t = takeFrame(this.bytes.subarray(this.#parsed)); t !== null; t = takeFrame(this.bytes.subarray(this.#parsed))) {
      assert.equal(t.frame.masked, false, "server frames are not masked");
      this.frames.push({ opcode: t.frame.opcode, payload: t.frame.payload });
      this.#parsed += t.size;
    }
    this.#wake?.();
  }

  /** Sends every frame in one TCP write. */
  write(frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  async waitFor(pred: () => boolean, what: string, ms = 5_000): Promise<void> {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (pred() || this.socket.destroyed) {
            this.#wake = null;
            resolve();
          }
        };
        this.#wake = check;
        check();
      }),
      ms,
      what,
    );
    assert.ok(pred(), `${what}: the connection ended first`);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Counts the server side's socket writes (a `write` or a `writev` each: both go through `_writeGeneric`). */
function countServerWrites(port: number): { readonly count: number; stop(): void } {
  const proto = net.Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown };
  const original = proto._writeGeneric;
  const counter = { count: 0, stop: () => void (proto._writeGeneric = original) };
  proto._writeGeneric = function (this: net.Socket, ...a: unknown[]) {
    if (this.localPort === port) counter.count++;
    return original.apply(this, a);
  };
  return counter;
}

/** Strings of growing size (short, 16-bit lengths), non-ASCII, so byte lengths differ from string lengths. */
const value = (i: number): string => `${i}:${"é✓".repeat(i * 3)}`;
const cbIdOf = (i: number): string => i.toString(16).padStart(6, "0");

async function echoServer(packer: Packer, extra?: (clientId: string, srv: TestServer) => void): Promise<TestServer> {
  const holder: { srv?: TestServer } = {};
  const srv = await startServer({ packer, sendBufMsWs: 0 }, (msg) => {
    if (msg.id === "my/echo") msg.reply?.(msg.data);
    else if (msg.id === "my/bye") extra?.(msg.clientId, holder.srv!);
  });
  holder.srv = srv;
  return srv;
}

const T = { timeout: 20_000 };

describe("server WS transport: one tick's frames, one write", () => {
  for (const packer of [ednPacker(), msgpackPacker()]) {
    it(`${packer.name}: N requests in one client write get N replies, in order and byte for byte, in fewer than N server writes`, T, async () => {
      const N = 60;
      const srv = await echoServer(packer);
      const c = await RawWs.open(srv.port, "client-id=b1&uid=u1");
      try {
        await c.waitFor(() => c.frames.length >= 1, "the handshake");
        const op = packer.binary ? OP_BINARY : OP_TEXT;
        const requests = Array.from({ length: N }, (_, i) => clientFrame(op, wireBytes(encodeClientEvent(packer, ["my/echo", value(i)], cbIdOf(i)))));
        const writes = countServerWrites(srv.port);
        try {
          c.write(requests);
          await c.waitFor(() => c.frames.length >= 1 + N, `${N} replies`);
        } finally {
          writes.stop();
        }
        // Every byte the server sent: the handshake, then each reply framed as alone, in request order.
        const expected = [encodeHandshake(packer, "u1"), ...Array.from({ length: N }, (_, i) => encodeReply(packer, value(i), cbIdOf(i)))];
        assert.deepEqual(
          c.bytes,
          Buffer.concat(expected.map((x) => serverFrame(op, wireBytes(x)))),
        );
        assert.equal(c.frames.length, 1 + N);
        assert.ok(writes.count > 0 && writes.count < N, `${writes.count} server writes for ${N} replies`);
      } finally {
        c.destroy();
        await srv.stop();
      }
    });
  }

  it("a close right after a burst of replies reaches the client after them", T, async () => {
    const N = 30;
    const packer = ednPacker();
    const srv = await echoServer(packer, (clientId, s) => s.chsk.closeClient(clientId));
    const c = await RawWs.open(srv.port, "client-id=b2&uid=u2");
    try {
      await c.waitFor(() => c.frames.length >= 1, "the handshake");
      const requests = Array.from({ length: N }, (_, i) => clientFrame(OP_TEXT, wireBytes(encodeClientEvent(packer, ["my/echo", value(i)], cbIdOf(i)))));
      // The close is decided in the same tick as the replies, while the socket is corked.
      c.write([...requests, clientFrame(OP_TEXT, wireBytes(encodeClientEvent(packer, ["my/bye"], null)))]);
      await c.waitFor(() => c.frames.some((f) => f.opcode === OP_CLOSE), "the close frame");
      const frames = c.frames.slice(1);
      assert.deepEqual(
        frames.map((f) => f.opcode),
        [...Array<number>(N).fill(OP_TEXT), OP_CLOSE],
      );
      frames.slice(0, N).forEach((f, i) => assert.equal(f.payload.toString("utf8"), encodeReply(packer, value(i), cbIdOf(i)), `reply ${i}`));
      assert.equal(frames[N]!.payload.readUInt16BE(0), 1000);
      // Answer the close: the server then ends the TCP connection.
      c.socket.write(clientFrame(OP_CLOSE, frames[N]!.payload.subarray(0, 2)));
      await withTimeout(c.ended, 5_000, "the server to end the connection");
    } finally {
      c.destroy();
      await srv.stop();
    }
  });

  it("a burst over maxBufferedBytesPerClient to a peer that reads is not a slow consumer", T, async () => {
    // 40 pushes of ~500 bytes in one tick: 20 KB, well within what the kernel takes at once, but
    // over the 8 KiB limit while corked. Only bytes the kernel would not take count against it.
    const srv = await startServer({ maxBufferedBytesPerClient: 8 * 1024, sendBufMsWs: 0 });
    const c = await RawWs.open(srv.port, "client-id=b3&uid=u3");
    try {
      await c.waitFor(() => c.frames.length >= 1, "the handshake");
      for (let i = 0; i < 40; i++) srv.chsk.send("u3", ["my/push", { i, pad: "p".repeat(480) }]);
      await c.waitFor(() => c.frames.length >= 41, "40 pushes");
      assert.deepEqual(srv.errors.map((e) => e.code), []);
      c.frames.slice(1).forEach((f, i) => assert.match(f.payload.toString("utf8"), new RegExp(`^\\[\\[\\[:my/push \\{:i ${i}, `)));
    } finally {
      c.destroy();
      await srv.stop();
    }
  });
});
