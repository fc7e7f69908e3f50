/**
 * `mountInspector(chsk, { token })`: the server's own view of its traffic,
 * streamed to an admin (`chsk inspect --attach URL`): every client's frames
 * both ways, connections opening and closing, refused requests and peer
 * errors, as JSON lines (see `./stream-lines.ts`), starting with a snapshot
 * of every connection the server has. No proxy, no client change.
 *
 * It is an admin feature, so it is off until mounted and every request
 * needs the token (`Authorization: Bearer T`, compared in constant time;
 * 401 without it, 403 with another). Nothing else is served: no page, no
 * query-string token (URLs end up in logs and histories).
 *
 * Cost: nothing while nobody watches (the server tap is added with the
 * first subscriber and removed with the last); while someone does, each
 * tapped event is turned into JSON once for all subscribers. A subscriber
 * that stops reading is dropped once it leaves more than
 * `maxBufferedBytes` unread (its connection is cut), so it can never grow
 * the server's memory; at most `maxSubscribers` watch at once (503 beyond).
 *
 * @example
 * // node:http
 * const inspector = mountInspector(chsk, { token: process.env.CHSK_INSPECT_TOKEN! });
 * http.createServer((req, res) => {
 *   if (chsk.handleRequest(req, res) || inspector.handleRequest(req, res)) return;
 *   app(req, res);
 * });
 * // Express: app.use(inspector.middleware)
 * // Fastify: fastify.addHook("onRequest", (req, reply, done) => { if (inspector.handleRequest(req.raw, reply.raw)) reply.hijack(); else done(); });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Unsubscribe } from "../../core/clock.js";
import type { Logger } from "../../core/logger.js";
import { kTapView, type TappedClient } from "../create-server.js";
import { constantTimeEqual } from "../security.js";
import type { ChskServer, ServerTapEvent } from "../types.js";
import { requestTarget } from "../web/request-target.js";
import { INSPECTOR_STREAM_VERSION, type InspectorHello, tapLine, uidText } from "./stream-lines.js";

/** Where `mountInspector` answers unless told otherwise. */
export const DEFAULT_INSPECTOR_PATH = "/chsk-inspect";

export interface InspectorOptions {
  /**
   * The secret every request must carry as `Authorization: Bearer <token>`:
   * at least 16 characters, no whitespace. Required: the stream shows every
   * user's traffic. Generate one (`crypto.randomBytes(24).toString("base64url")`).
   */
  token: string;
  /** The stream's URL path (exactly; a query string is ignored). @default "/chsk-inspect" */
  path?: string;
  /** Subscribers that may watch at once; more get 503. @default 4 */
  maxSubscribers?: number;
  /**
   * Output one subscriber may leave unread before it is dropped (its
   * connection is cut, the others go on): bytes the socket holds plus lines
   * not yet handed to it (counted in UTF-16 code units), at most one line
   * over. @default 4_194_304 (4 MiB)
   */
  maxBufferedBytes?: number;
  /** A `heartbeat` line after this long without one, so idle streams stay up behind proxies. @default 15_000 */
  heartbeatMs?: number;
  /** Subscribers coming and going (`info`), dropped ones (`warn`). @default silent */
  logger?: Logger;
  /** Aborting closes the inspector. @default none */
  signal?: AbortSignal;
}

export interface Inspector {
  /** The path it answers. */
  readonly path: string;
  /** Subscribers watching now. */
  readonly subscribers: number;
  /**
   * Answers `req` and returns true when its path is the inspector's (the
   * stream may run long after); returns false, touching nothing, otherwise.
   * Reads `req.originalUrl` when a framework rewrote `req.url`.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Connect / Express middleware: `app.use(inspector.middleware)`. */
  middleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Ends every stream and stops the tap; `chsk.close()` calls it too. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const silent: Logger = { warn() {}, error() {} };

/** One watcher: lines wait in `chunks` until the next turn of the event loop writes them in one go. */
class Subscriber {
  chunks: string[] = [];
  /** Characters waiting in `chunks`. */
  waiting = 0;
  scheduled = false;
  gone = false;
  lastWrite = 0;

  constructor(
    readonly res: ServerResponse,
    readonly max: number,
    readonly dropped: (s: Subscriber, buffered: number) => void,
  ) {}

  push(line: string): void {
    if (this.gone) return;
    const buffered = this.waiting + this.res.writableLength;
    // One line always goes to a subscriber that has nothing pending, however long.
    if (buffered > 0 && buffered + line.length + 1 > this.max) {
      this.dropped(this, buffered);
      return;
    }
    this.chunks.push(line);
    this.waiting += line.length + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.gone || this.chunks.length === 0) return;
    const text = `${this.chunks.join("\n")}\n`;
    this.chunks = [];
    this.waiting = 0;
    this.lastWrite = Date.now();
    this.res.write(text);
  }
}

function normalisePath(path: string): string {
  if (typeof path !== "string" || !path.startsWith("/") || /[?#\s]/.test(path) || path === "/") {
    throw new TypeError(`mountInspector: path must be a URL path of its own starting with "/", got ${JSON.stringify(path)}`);
  }
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`mountInspector: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** The request's path, before any framework stripped a mount prefix. */
const pathOfReq = (req: IncomingMessage): string => requestTarget((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url).path;

/** The registry with tap ids; a server from elsewhere (no internal view) gets ids from client ids. */
function snapshotOf(chsk: ChskServer): TappedClient[] {
  const view = (chsk as { [kTapView]?: () => TappedClient[] })[kTapView];
  if (typeof view === "function") return view.call(chsk);
  return chsk.clients().map((c) => ({ ...c, connId: `${c.transport}:${c.clientId}` }));
}

/** Mounts the inspector stream on `chsk` (see the module comment); answer requests with `handleRequest` or `middleware`. */
export function mountInspector(chsk: ChskServer, options: InspectorOptions): Inspector {
  if (options === null || typeof options !== "object") throw new TypeError("mountInspector(chsk, { token }): options are required");
  const token = options.token;
  if (typeof token !== "string" || token.length < 16 || /\s/.test(token)) {
    throw new TypeError("mountInspector: token must be a string of at least 16 characters without whitespace (the stream shows every user's traffic)");
  }
  const path = normalisePath(options.path ?? DEFAULT_INSPECTOR_PATH);
  const maxSubscribers = positiveInt("maxSubscribers", options.maxSubscribers, 4);
  const maxBuffered = positiveInt("maxBufferedBytes", options.maxBufferedBytes, 4 * 1024 * 1024);
  const heartbeatMs = positiveInt("heartbeatMs", options.heartbeatMs, 15_000);
  const log = options.logger ?? silent;

  const subs = new Set<Subscriber>();
  let untap: Unsubscribe | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let closed = false;

  const onTap = (ev: ServerTapEvent): void => {
    const line = tapLine(ev);
    if (line === null) return;
    for (const s of subs) s.push(line);
  };

  function remove(s: Subscriber): void {
    if (s.gone) return;
    s.gone = true;
    s.chunks = [];
    subs.delete(s);
    if (subs.size === 0) {
      untap?.();
      untap = null;
      if (heartbeat !== null) clearInterval(heartbeat);
      heartbeat = null;
    }
  }

  function dropped(s: Subscriber, buffered: number): void {
    log.warn("inspector: dropped a subscriber that stopped reading", { bufferedBytes: buffered, maxBufferedBytes: maxBuffered });
    remove(s);
    s.res.destroy();
  }

  function beat(): void {
    const now = Date.now();
    const line = JSON.stringify({ type: "heartbeat", at: now });
    for (const s of subs) if (now - s.lastWrite >= heartbeatMs) s.push(line);
  }

  function subscribe(req: IncomingMessage, res: ServerResponse): void {
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store, no-transform",
      "x-accel-buffering": "no",
      "x-content-type-options": "nosniff",
    });
    const s = new Subscriber(res, maxBuffered, dropped);
    subs.add(s);
    // Tap first, snapshot in the same turn: nothing between them is missed or seen twice.
    untap ??= chsk.tap(onTap);
    if (heartbeat === null) {
      heartbeat = setInterval(beat, Math.max(1, Math.floor(heartbeatMs / 2)));
      heartbeat.unref();
    }
    const clients = snapshotOf(chsk);
    const at = Date.now();
    const hello: InspectorHello = { type: "hello", version: INSPECTOR_STREAM_VERSION, at, packer: chsk.packer.name, path: chsk.path, clients: clients.length };
    s.push(JSON.stringify(hello));
    for (const c of clients) {
      s.push(
        JSON.stringify({
          type: "open",
          at,
          transport: c.transport,
          connId: c.connId,
          clientId: c.clientId,
          uid: uidText(c.uid),
          snapshot: true,
          connected: c.connected,
          connectedAt: c.connectedAt,
        }),
      );
    }
    log.info?.("inspector: subscriber connected", { subscribers: subs.size, clients: clients.length });
    const done = () => {
      if (s.gone) return;
      remove(s);
      log.info?.("inspector: subscriber left", { subscribers: subs.size });
    };
    // Not the request's "close": that fires once its (empty) body is read.
    res.on("close", done);
  }

  function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (pathOfReq(req) !== path) return false;
    // Whatever the answer, a body is never read.
    req.resume();
    if (req.method !== "GET") {
      answer(res, 405, "Method Not Allowed", { allow: "GET" });
      return true;
    }
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (bearer === undefined) {
      answer(res, 401, "The inspector needs its token: Authorization: Bearer <token>", { "www-authenticate": 'Bearer realm="chsk-inspect"' });
      return true;
    }
    if (!constantTimeEqual(bearer, token)) {
      answer(res, 403, "Wrong inspector token");
      return true;
    }
    if (closed || subs.size >= maxSubscribers) {
      answer(res, 503, closed ? "The inspector is closed" : `Too many inspectors are watching this server (at most ${maxSubscribers})`);
      return true;
    }
    subscribe(req, res);
    return true;
  }

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopOnServerClose();
    options.signal?.removeEventListener("abort", onAbort);
    for (const s of [...subs]) {
      s.flush();
      remove(s);
      s.res.end();
    }
  };
  const onAbort = () => void close();
  // Its tap lives off this server: once the server is gone, so are the streams (none holds the HTTP server open).
  const stopOnServerClose = chsk.on("close", () => void close());
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    path,
    get subscribers() {
      return subs.size;
    },
    handleRequest,
    middleware(req, res, next) {
      if (!handleRequest(req, res)) next();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
