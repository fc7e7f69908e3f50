/**
 * `chsk/client` for Node: the same API as the browser entry, with
 * WebSockets from the `ws` package (so `headers`, including `Cookie`, reach
 * the upgrade request) and Node's global `fetch` for Ajax (which also
 * accepts a `Cookie` header).
 */
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import { createClient as createCoreClient } from "./create-client.js";
import { nodeFetch } from "./http.node.js";
import { FrameReader } from "./ws-input.node.js";
import { FrameQueue, frameBound, MAX_SLAB_PAYLOAD } from "./ws-output.node.js";
import type { DefaultEventMap, EventMap } from "../protocol/event-map.js";
import type { Client, ClientOptions, WebSocketFactory, WebSocketLike } from "./types.js";

export * from "./index.js";
export { nodeFetch, type NodeHttpOptions } from "./http.node.js";
export { bootstrapSession, type Session, SESSION_DEFAULTS, type SessionOptions } from "./session.node.js";
export { CookieJar } from "./cookie-jar.js";
export { scrapeCsrfToken } from "./scrape-csrf-token.js";

export interface NodeWebSocketOptions {
  /** Offer permessage-deflate. Off by default: it costs ~300 KB of zlib state per socket. @default false */
  perMessageDeflate?: boolean;
  /** Largest accepted frame, bytes. @default 104_857_600 (ws default) */
  maxPayload?: number;
  /** Upgrade handshake timeout, ms. @default none */
  handshakeTimeout?: number;
  /** Extra `ws` client options (agent, TLS, …), passed to `new WebSocket(url, wsOptions)` as they are. */
  wsOptions?: WsClientOptions;
}

/**
 * The `ws` package's `ClientOptions`, described structurally (the fields
 * chsk reads or users reach for most, plus the rest untyped) so the
 * published types need neither `ws` types nor `@types/ws`.
 */
export interface WsClientOptions {
  /** Sent with the upgrade request; the client's own `headers` are merged over these. */
  headers?: Record<string, string>;
  origin?: string;
  rejectUnauthorized?: boolean;
  followRedirects?: boolean;
  /** Any other `ws` `ClientOptions` field (`agent`, `ca`, `cert`, `maxRedirects`, …). */
  [option: string]: unknown;
}

/**
 * `ws` frames a string as a header plus a separately masked copy (two
 * writes), but a caller's buffer as one masked copy with the header in
 * front (one write, so half the pieces in a corked `writev`, which cost
 * the kernel time); the bytes on the wire are the same.
 */
const TEXT_FRAME = { binary: false } as const;

/** `ws`'s own `maxPayload` default (100 MiB), which its receiver applies to the frames passed on to it. */
const WS_DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/**
 * Wraps a `ws` socket in the WHATWG shape chsk expects. A refused upgrade
 * (HTTP 401/403/500…) is read, and reported to `onerror` with `status` and
 * the first KiB of `body`, so `state.lastError` can say "HTTP 403 Bad CSRF token".
 */
class NodeWebSocket implements WebSocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  binaryType = "arraybuffer";
  readonly #ws: WebSocket;
  #refusal: { status: number; body: string; contentType: string | undefined } | null = null;
  /** Reused for every message: the client reads `data` synchronously. */
  readonly #msg: { data: unknown } = { data: null };
  /**
   * The TCP socket, once open, when frames may be written to it directly:
   * no extension was negotiated, so `ws` would write them as they are
   * (its sender queues only while compressing).
   */
  #direct: Duplex | null = null;
  /** This tick's frames, masked and laid end to end, written at the tick's end. */
  readonly #out = new FrameQueue();
  #tickPending = false;
  /** The TCP socket held corked until the end of the current tick, or null. */
  #corked: Duplex | null = null;
  readonly #endTick = () => {
    this.#tickPending = false;
    this.#flushQueued();
    const s = this.#corked;
    this.#corked = null;
    s?.uncork();
  };

  constructor(url: string, headers: Record<string, string> | undefined, o: NodeWebSocketOptions) {
    const opts: WebSocket.ClientOptions = { perMessageDeflate: o.perMessageDeflate ?? false, ...(o.wsOptions as WebSocket.ClientOptions | undefined) };
    if (headers !== undefined) opts.headers = { ...o.wsOptions?.headers, ...headers };
    if (o.maxPayload !== undefined) opts.maxPayload = o.maxPayload;
    if (o.handshakeTimeout !== undefined) opts.handshakeTimeout = o.handshakeTimeout;
    const ws = (this.#ws = new WebSocket(url, opts));
    ws.binaryType = "nodebuffer";
    ws.on("open", () => {
      // `ws` keeps its socket private; without one the frames are left to `ws`.
      const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
      if (ws.extensions === "" && socket != null && typeof socket.write === "function") {
        this.#direct = socket;
        this.#readDirectly(socket, o.maxPayload ?? WS_DEFAULT_MAX_PAYLOAD);
      }
      this.onopen?.({ type: "open" });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      // `utf8Slice` is what `toString()` calls after checking its (absent) arguments.
      this.#deliver(isBinary ? data : (data as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(0, data.length));
    });
    ws.on("error", (error: Error) => {
      const r = this.#refusal;
      this.onerror?.(
        r === null
          ? { type: "error", message: error.message, error }
          : { type: "error", message: `Unexpected server response: ${r.status}`, error, status: r.status, body: r.body, contentType: r.contentType },
      );
    });
    // The EventTarget close event computes `wasClean` (close frames sent and received).
    ws.addEventListener("close", (ev) => this.onclose?.({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean }));
    ws.on("unexpected-response", (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#refusal = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").slice(0, 1024), contentType: res.headers["content-type"] };
        res.destroy();
        ws.terminate(); // → error + close, like an unhandled unexpected-response
      };
      const timer = setTimeout(finish, 2_000);
      timer.unref?.();
      res.on("data", (c: Buffer) => {
        if (size < 1024) chunks.push(c);
        size += c.length;
        if (size >= 1024) finish();
      });
      res.on("end", finish);
      res.on("error", finish);
      void req;
    });
  }

  #deliver(data: string | Buffer): void {
    const ev = this.#msg;
    ev.data = data;
    this.onmessage?.(ev);
    ev.data = null;
  }

  /**
   * Reads the server's plain data frames off the socket here (see
   * {@link FrameReader}); `ws` keeps its own listener's job for the rest.
   * Left to `ws` entirely if its data listener cannot be found.
   */
  #readDirectly(socket: Duplex, maxPayload: number): void {
    const wsOnData = socket.listeners("data").find((f) => (f as { name?: string }).name === "socketOnData") as ((chunk: Buffer) => void) | undefined;
    // Its receiver fails a bad frame synchronously (`errored`) but closes the socket a tick later.
    const receiver = (this.#ws as unknown as { _receiver?: { errored?: unknown } })._receiver;
    if (wsOnData === undefined || receiver === undefined) return;
    const reader = new FrameReader(
      {
        text: (s) => this.#deliver(s),
        binary: (b) => this.#deliver(b),
        // After failing the connection `ws` stops listening for data; so does this.
        passOn: (bytes) => receiver.errored == null && wsOnData.call(socket, bytes),
        open: () => this.#ws.readyState === WebSocket.OPEN && receiver.errored == null && !socket.isPaused(),
      },
      maxPayload,
    );
    socket.removeListener("data", wsOnData);
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  /**
   * Frames sent together leave in one write. Sent while the socket is open,
   * a frame of up to {@link MAX_SLAB_PAYLOAD} bytes is masked into a shared
   * slab next to the frames this socket sent earlier in the tick, and they
   * are written as one buffer on `process.nextTick`, once the code running
   * now (a socket's data callback, or one round of promise continuations)
   * is done: replies read together, each answered with a request, go out
   * together. Other frames go through `ws` with the socket corked until
   * then, after the frames queued before them. The bytes and their order
   * are those `ws` would send; only their TCP segmentation differs.
   */
  send(data: string | ArrayBufferLike | Uint8Array): void {
    const ws = this.#ws;
    const frame = typeof data === "string" || data instanceof Uint8Array ? data : new Uint8Array(data);
    if (this.#direct !== null && ws.readyState === WebSocket.OPEN) {
      const bound = frameBound(frame);
      if (bound >= 0) {
        this.#out.push(frame, bound);
        this.#scheduleTickEnd();
        return;
      }
    }
    this.#flushQueued();
    if (this.#corked === null) {
      const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
      if (socket != null && typeof socket.cork === "function") {
        socket.cork();
        this.#corked = socket;
        this.#scheduleTickEnd();
      }
    }
    if (typeof frame === "string") ws.send(Buffer.from(frame), TEXT_FRAME);
    else ws.send(frame);
  }

  close(code?: number, reason?: string): void {
    // The close frame goes after this tick's frames; `ws` ends the socket (which flushes) only after it.
    this.#flushQueued();
    this.#ws.close(code, reason);
  }

  #scheduleTickEnd(): void {
    if (this.#tickPending) return;
    this.#tickPending = true;
    process.nextTick(this.#endTick);
  }

  #flushQueued(): void {
    if (this.#out.empty) return;
    // Closed meanwhile (the server's close frame arrived and `ws` answered
    // it): `ws` drops what is sent after that, and so does this.
    if (this.#ws.readyState === WebSocket.OPEN && this.#direct !== null) this.#out.flush(this.#direct);
    else this.#out.clear();
  }
}

/** A {@link WebSocketFactory} on the `ws` package. */
export function nodeWebSocketFactory(options: NodeWebSocketOptions = {}): WebSocketFactory {
  return (url, headers) => new NodeWebSocket(url, headers, options);
}

const defaultFactory = nodeWebSocketFactory();
let defaultFetch: typeof fetch | undefined;

/**
 * Create a client using `ws` and undici (see {@link nodeFetch}) unless the options give others.
 *
 * @typeParam E - The application's event map (see {@link EventMap}); without it, events are untyped.
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const client = createClient<Events>({ url: "http://localhost:8080/chsk" });
 * const { id } = await client.send(["chat/send", { text: "hi" }], 5000);
 */
export function createClient<E extends EventMap<E> = DefaultEventMap>(options: ClientOptions): Client<E> {
  const o: ClientOptions = { ...options };
  if (o.webSocket === undefined) o.webSocket = defaultFactory;
  // One keep-alive agent shared by every client of the process.
  if (o.fetch === undefined) o.fetch = defaultFetch ??= nodeFetch();
  return createCoreClient<E>(o);
}
