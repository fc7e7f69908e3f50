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
  /** The TCP socket held corked until the end of the current tick, or null. */
  #corked: Duplex | null = null;
  readonly #uncork = () => {
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
    ws.on("open", () => this.onopen?.({ type: "open" }));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const ev = this.#msg;
      ev.data = isBinary ? data : data.toString();
      this.onmessage?.(ev);
      ev.data = null;
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

  get readyState(): number {
    return this.#ws.readyState;
  }

  /**
   * Frames sent together leave in one `writev`: the socket is corked at the
   * first send and uncorked on `process.nextTick`, once the code running
   * now (a socket's data callback, or one round of promise continuations)
   * is done. `ws` writes each frame with its own syscall, and on loopback
   * that syscall (TCP for both ends) was half of a busy client's CPU:
   * replies read together, each answered with a request, now go out
   * together. The bytes and their order are unchanged; only their TCP
   * segmentation is.
   */
  send(data: string | ArrayBufferLike | Uint8Array): void {
    if (this.#corked === null) {
      // `ws` keeps its socket private; without one (not yet open) it is left to `ws`.
      const socket = (this.#ws as unknown as { _socket?: Duplex | null })._socket;
      if (socket != null && typeof socket.cork === "function") {
        socket.cork();
        this.#corked = socket;
        process.nextTick(this.#uncork);
      }
    }
    if (typeof data === "string") this.#ws.send(Buffer.from(data), TEXT_FRAME);
    else this.#ws.send(data);
  }

  close(code?: number, reason?: string): void {
    // Still corked, the close frame queues behind this tick's frames; `ws` ends the socket (which flushes) only after it.
    this.#ws.close(code, reason);
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
