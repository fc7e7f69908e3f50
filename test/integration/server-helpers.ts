/**
 * Plumbing for the server integration tests: a chsk server on 127.0.0.1
 * port 0, a raw `ws` peer that queues what it receives, fetch helpers for
 * Ajax, and a recorder of routed event-msgs. Everything is bounded by
 * timeouts and torn down by `stop()`.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import WebSocket from "ws";
import type { ChskError } from "../../src/core/protocol/errors.js";
import { createServer } from "../../src/server/index.js";
import type { ChskServer, ServerEventMsg, ServerOptions, ServerTapEvent } from "../../src/server/types.js";

export interface TestServer {
  chsk: ChskServer;
  http: HttpServer;
  port: number;
  base: string;
  /** Every routed event-msg, in order. */
  events: ServerEventMsg[];
  taps: ServerTapEvent[];
  /** Errors reported through the "error" event (so nothing is logged). */
  errors: ChskError[];
  /** Resolves with the first routed msg (already routed or future) matching. */
  nextEvent(pred: (m: ServerEventMsg) => boolean, timeoutMs?: number): Promise<ServerEventMsg>;
  stop(): Promise<void>;
}

export async function startServer(
  options: Partial<ServerOptions> = {},
  handler?: (msg: ServerEventMsg) => void | Promise<void>,
): Promise<TestServer> {
  const chsk = createServer({ csrfToken: null, userId: (req) => req.query["uid"] ?? null, ...options } as ServerOptions);
  const events: ServerEventMsg[] = [];
  const taps: ServerTapEvent[] = [];
  const waiters = new Set<{ pred: (m: ServerEventMsg) => boolean; resolve: (m: ServerEventMsg) => void }>();
  chsk.startRouter((msg) => {
    events.push(msg);
    for (const w of waiters) {
      if (w.pred(msg)) {
        waiters.delete(w);
        w.resolve(msg);
      }
    }
    return handler?.(msg);
  });
  chsk.tap((e) => taps.push(e));
  const errors: ChskError[] = [];
  chsk.on("error", (e) => errors.push(e));
  const http = createHttpServer();
  chsk.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    chsk,
    http,
    port,
    base: `http://127.0.0.1:${port}`,
    events,
    taps,
    errors,
    nextEvent(pred, timeoutMs = 3000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return withTimeout(
        new Promise<ServerEventMsg>((resolve) => waiters.add({ pred, resolve })),
        timeoutMs,
        "event",
      );
    },
    async stop() {
      await chsk.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Polls `pred` every 10 ms until it holds. */
export async function until(pred: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw WebSocket peer that queues incoming frames as text. */
export class Peer {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Set if the upgrade was refused: the HTTP status and body. */
  rejected: { status: number; body: string } | undefined;
  #waiters: ((f: string) => void)[] = [];

  constructor(port: number, query: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/chsk?${query}`, { headers });
    this.ws.on("message", (data) => {
      const f = data.toString();
      const w = this.#waiters.shift();
      if (w) w(f);
      else this.frames.push(f);
    });
    this.ws.on("error", () => {});
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          this.rejected = { status: res.statusCode ?? 0, body };
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), this.rejected));
        });
      });
      this.ws.once("close", () => reject(new Error("closed before open")));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** The next frame (queued or future). */
  next(timeoutMs = 3000): Promise<string> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    return withTimeout(new Promise<string>((resolve) => this.#waiters.push(resolve)), timeoutMs, "a frame");
  }

  /** Resolves true if no frame arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    if (this.frames.length > 0) return false;
    try {
      const f = await this.next(ms);
      this.frames.unshift(f);
      return false;
    } catch {
      this.#waiters = [];
      return true;
    }
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a peer and consumes its handshake frame. */
export async function openPeer(port: number, query: string): Promise<{ peer: Peer; handshake: string }> {
  const peer = new Peer(port, query);
  await withTimeout(peer.opened, 3000, "ws open");
  const handshake = await peer.next();
  return { peer, handshake };
}

export interface AjaxAnswer {
  status: number;
  body: string;
  headers: Headers;
}

export async function ajaxGet(base: string, query: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<AjaxAnswer> {
  const res = await fetch(`${base}/chsk?${query}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export async function ajaxPost(
  base: string,
  form: Record<string, string>,
  opts: { query?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AjaxAnswer> {
  const res = await fetch(`${base}/chsk${opts.query ? `?${opts.query}` : ""}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8", ...opts.headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/**
 * A raw TCP client speaking HTTP/1.1 by hand, for what `fetch` can't do:
 * trickling a request a byte at a time, or sending nothing at all.
 * `trickle(bytes, everyMs)` writes one byte per tick until done or closed.
 */
export class RawHttp {
  readonly socket: Socket;
  /** Everything received, as text. */
  received = "";
  /** Resolves when the server closes (or resets) the connection. */
  readonly closed: Promise<void>;
  #timer: NodeJS.Timeout | undefined;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.setEncoding("utf8");
    this.socket.on("data", (s: string) => (this.received += s));
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
    void this.closed.then(() => clearInterval(this.#timer));
  }

  write(text: string): void {
    this.socket.write(text);
  }

  trickle(bytes: string, everyMs: number): void {
    let i = 0;
    this.#timer = setInterval(() => {
      if (i >= bytes.length || this.socket.destroyed) return clearInterval(this.#timer);
      this.socket.write(bytes[i++]!);
    }, everyMs);
  }

  /** The status line's code, once something arrived. */
  get status(): number | undefined {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return m ? Number(m[1]) : undefined;
  }

  destroy(): void {
    clearInterval(this.#timer);
    this.socket.destroy();
  }
}
