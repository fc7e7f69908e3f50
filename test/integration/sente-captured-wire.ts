/**
 * A raw TCP peer for replaying captured Sente exchanges byte for byte: an
 * HTTP/1.1 request as written (our headers, in our order), its response
 * read to the last byte, and after a 101 a WebSocket whose server frames
 * are kept whole (header bytes, opcode, payload) and whose client frames
 * go out masked, several in one write when asked.
 */
import { connect, type Socket } from "node:net";
import { withTimeout } from "./server-helpers.js";
import { takeFrame, wsFrame } from "./ws-wire.js";

export interface RawResponse {
  status: number;
  reason: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body?: Buffer | null;
}

function serialise(req: RawRequest): Buffer {
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`;
  for (const [k, v] of req.headers) head += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(head + "\r\n", "latin1"), req.body ?? Buffer.alloc(0)]);
}

function parseHead(head: string): Omit<RawResponse, "body"> {
  const [start, ...lines] = head.split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(start ?? "");
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(start)}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(":");
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(m[1]), reason: m[2] ?? "", headers };
}

/**
 * Sends one request on a fresh connection and reads the response (by
 * Content-Length, or to the end of the connection). A 101 resolves with
 * the socket and whatever bytes followed the head, for {@link RawWs}.
 */
export function rawRequest(port: number, req: RawRequest, timeoutMs = 5000): Promise<RawResponse & { socket: Socket; rest: Buffer }> {
  return withTimeout(
    new Promise<RawResponse & { socket: Socket; rest: Buffer }>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let buf = Buffer.alloc(0);
      let head: Omit<RawResponse, "body"> | null = null;
      let bodyStart = 0;
      const finish = (body: Buffer, rest: Buffer) => {
        socket.off("data", onData);
        socket.off("end", onEnd);
        resolve({ ...head!, body, socket, rest });
      };
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (head === null) {
          const end = buf.indexOf("\r\n\r\n");
          if (end === -1) return;
          head = parseHead(buf.subarray(0, end).toString("latin1"));
          bodyStart = end + 4;
          if (head.status === 101) return finish(Buffer.alloc(0), buf.subarray(bodyStart));
        }
        const cl = head.headers["content-length"];
        if (cl !== undefined && buf.length - bodyStart >= Number(cl)) {
          finish(buf.subarray(bodyStart, bodyStart + Number(cl)), buf.subarray(bodyStart + Number(cl)));
        }
      };
      const onEnd = () => {
        if (head === null) reject(new Error(`connection closed before a response (${buf.length} bytes)`));
        else finish(buf.subarray(bodyStart), Buffer.alloc(0));
      };
      socket.on("data", onData);
      socket.on("end", onEnd);
      socket.on("error", reject);
      socket.write(serialise(req));
    }),
    timeoutMs,
    `the answer to ${req.method} ${req.target}`,
  ).then((r) => {
    if (r.status !== 101) r.socket.destroy();
    return r;
  });
}

export interface WsFrame {
  fin: boolean;
  opcode: number;
  /** The first two header bytes, hex (`8129`), as the capture shows them. */
  header: string;
  payload: Buffer;
}

/** A WebSocket over a socket that already got its 101. */
export class RawWs {
  readonly frames: WsFrame[] = [];
  #buf: Buffer;
  #waiters: ((f: WsFrame) => void)[] = [];
  #closed = false;
  readonly ended: Promise<void>;

  constructor(readonly socket: Socket, rest: Buffer) {
    this.#buf = rest;
    socket.on("data", (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      this.#parse();
    });
    socket.on("error", () => {});
    this.ended = new Promise((resolve) => socket.once("close", () => ((this.#closed = true), resolve())));
    this.#parse();
  }

  /** False once the socket ended or the server sent a close frame. */
  get isOpen(): boolean {
    return !this.#closed && !this.#closeFrame && !this.socket.destroyed;
  }
  #closeFrame = false;

  #parse(): void {
    for (;;) {
      const t = takeFrame(this.#buf);
      if (t === null) return;
      if (t.frame.masked) throw new Error("a server frame must not be masked");
      const { fin, opcode, header, payload } = t.frame;
      const f: WsFrame = { fin, opcode, header, payload };
      this.#buf = this.#buf.subarray(t.size);
      if (f.opcode === 8) this.#closeFrame = true;
      const w = this.#waiters.shift();
      if (w) w(f);
      else this.frames.push(f);
    }
  }

  /** The next frame (queued or future). */
  next(timeoutMs = 5000, what = "a frame"): Promise<WsFrame> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    let w!: (f: WsFrame) => void;
    const p = new Promise<WsFrame>((resolve) => this.#waiters.push((w = resolve)));
    return withTimeout(p, timeoutMs, what).catch((e: unknown) => {
      this.#waiters = this.#waiters.filter((x) => x !== w);
      throw e;
    });
  }

  /** Client frames, masked, all in ONE socket write (Sente's capture sent a batch that way). */
  send(frames: { opcode: number; payload: Buffer }[]): void {
    const parts = frames.map(({ opcode, payload }) => wsFrame(opcode, payload, { mask: true }));
    this.socket.write(Buffer.concat(parts));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The close code of a close frame (1005 if it carries none). */
export function closeCode(f: WsFrame): number {
  return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
}
