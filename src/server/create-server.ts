/**
 * `createServer()`: a Sente-compatible channel-socket server (protocol.md).
 *
 * The returned object is framework-neutral: hand it requests and upgrades
 * with `handleRequest` / `handleUpgrade`, or let `attach(httpServer)` do
 * it. Everything it needs (sockets, polls, timers) is released by
 * `close()`.
 *
 * @example
 * const chsk = createServer({ csrfToken: null, userId: (req) => req.cookies.uid ?? null });
 * chsk.startRouter((msg) => {
 *   if (msg.id === "my/echo") msg.reply?.(msg.data);
 * });
 * chsk.attach(httpServer);
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Unsubscribe } from "../core/clock.js";
import { ChskError } from "../core/protocol/errors.js";
import { type ChskEvent, Reserved } from "../core/protocol/events.js";
import type { Packer } from "../core/packers/types.js";
import type { DefaultEventMap, EventMap } from "../core/protocol/event-map.js";
import { ServerCore } from "./core.js";
import { resolveOptions } from "./options.js";
import type { Entry } from "./registry.js";
import { parseParams, pathOf, writeAnswer } from "./request.js";
import type { HandlerErrorFn } from "./router.js";
import { AjaxTransport } from "./transports/ajax.js";
import { WsTransport } from "./transports/ws.js";
import type {
  AttachOptions,
  ChskServer,
  HandleRequestOptions,
  ClientInfo,
  HttpAnswer,
  ConnectedUids,
  SendOptions,
  ServerEventMsg,
  ServerEvents,
  ServerOptions,
  ServerCluster,
  ServerTapEvent,
  Uid,
} from "./types.js";

/** Internal key: `server[kReport](error)` reports through the server's `error` event and taps. */
export const kReport = Symbol("chsk:report");
/** Internal key: `server[kRefused](error, res, answer)` reports a request an adapter refused (`error` and `refused` taps). */
export const kRefused = Symbol("chsk:refused");
/** Internal key: `server[kTapView]()` lists the registry with the connections' tap ids (the inspector's snapshot). */
export const kTapView = Symbol("chsk:tap-view");

/** A client as the inspector's snapshot shows it: {@link ClientInfo} and the `connId` its taps carry. */
export interface TappedClient extends ClientInfo {
  connId: string;
}

const kTaken = Symbol("chsk:upgrade-taken");

class Server implements ChskServer {
  readonly path: string;
  readonly packer: Packer;
  readonly connectedUids: ConnectedUids;
  readonly cluster: ServerCluster | null;
  readonly #core: ServerCore;
  readonly #ws: WsTransport;
  readonly #ajax: AjaxTransport;
  readonly #detachers = new Set<() => void>();
  /** Servers attached to: a second attach would hand every upgrade to `ws` twice (it throws, uncaught). */
  readonly #attachedTo = new WeakSet<HttpServer>();
  #closing: Promise<void> | null = null;
  #onAbort: (() => void) | null = null;

  constructor(options: ServerOptions) {
    const opts = resolveOptions(options);
    const core = new ServerCore(opts);
    this.#core = core;
    this.path = opts.path;
    this.packer = opts.packer;
    this.connectedUids = core.registry.connected;
    const link = core.cluster;
    this.cluster =
      link === null
        ? null
        : Object.freeze({
            nodeId: link.nodeId,
            ready: link.ready,
            stats: () => link.stats(),
            connectedUids: () => link.connectedUids(),
            nodes: () => link.nodes(),
          });
    this.#ws = new WsTransport(core);
    this.#ajax = new AjaxTransport(core);
    const signal = opts.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else {
        this.#onAbort = () => void this.close();
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
  }

  // -------------------------------------------------------------------------
  // HTTP entry points

  handleRequest(req: IncomingMessage, res: ServerResponse, options?: HandleRequestOptions): boolean {
    if (pathOf(req.url) !== this.path) return false;
    const method = req.method;
    if (method === "GET") this.#ajax.get(req, res);
    else if (method === "POST") this.#ajax.post(req, res, options?.body);
    else {
      req.resume();
      const answer = { status: 405, body: "Method Not Allowed", headers: { allow: "GET, POST" } };
      writeAnswer(res, answer);
      const q = req.url?.indexOf("?") ?? -1;
      const clientId = q === -1 ? undefined : parseParams(req.url!.slice(q + 1))["client-id"];
      this.#core.refused({ transport: "ajax", key: res, prefix: "req-", clientId, answer, code: "CHSK_ERR_METHOD_NOT_ALLOWED" });
    }
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (pathOf(req.url) !== this.path) return false;
    // Wired twice (attach() and a hand-written upgrade listener), the same
    // socket would reach `ws` twice, which throws out of the event loop.
    const s = socket as Duplex & { [kTaken]?: true };
    if (s[kTaken]) return true;
    s[kTaken] = true;
    this.#ws.upgrade(req, socket, head);
    return true;
  }

  attach(server: HttpServer, options?: AttachOptions): Unsubscribe {
    if (this.#core.closed) throw new ChskError("CHSK_ERR_SERVER_CLOSED", "attach() after close()");
    const requests = options?.requests ?? true;
    if (typeof requests !== "boolean") throw new TypeError(`attach(server, { requests }): requests must be a boolean, got ${typeof requests}`);
    if (this.#attachedTo.has(server)) throw new TypeError("attach(server): chsk is already attached to this server (fastifyAdapter attaches itself)");
    this.#attachedTo.add(server);
    // Like engine.io: take over the request listeners so /chsk never reaches them.
    const previous = requests ? (server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[]) : [];
    if (requests) server.removeAllListeners("request");
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (this.handleRequest(req, res)) return;
      if (previous.length === 0 && server.listenerCount("request") === 1) {
        writeAnswer(res, { status: 404, body: "Not Found" });
        return;
      }
      for (const l of previous) l.call(server, req, res);
    };
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (this.handleUpgrade(req, socket, head)) return;
      // Nobody else handles upgrades: don't leave the socket hanging.
      if (server.listenerCount("upgrade") === 1) socket.destroy();
    };
    if (requests) server.on("request", onRequest);
    server.on("upgrade", onUpgrade);
    let attached = true;
    const detach = (): void => {
      if (!attached) return;
      attached = false;
      this.#detachers.delete(detach);
      this.#attachedTo.delete(server);
      server.off("request", onRequest);
      server.off("upgrade", onUpgrade);
      const now = server.listeners("request");
      for (const l of previous) if (!now.includes(l)) server.on("request", l);
    };
    this.#detachers.add(detach);
    return detach;
  }

  /** For the framework adapters: report like the transports do (`error` event, taps). */
  [kReport](error: ChskError): void {
    this.#core.report(error);
  }

  /** For the framework adapters: a request they answered with `answer` because of `error`. */
  [kRefused](error: ChskError, res: ServerResponse, answer: HttpAnswer): void {
    const prefix = res.req?.method === "POST" ? "post-" : "get-";
    this.#core.refused({ transport: "ajax", key: res, prefix, answer, code: error.code, error });
  }

  [kTapView](): TappedClient[] {
    const core = this.#core;
    const now = core.clock.now();
    const out: TappedClient[] = [];
    for (const e of core.registry.entries()) {
      out.push({
        clientId: e.clientId,
        uid: e.uid,
        transport: e.transport,
        connectedAt: e.connectedAt,
        lastActivity: e.activityAt(now),
        connected: e.isConnected,
        remoteAddress: e.req.remoteAddress,
        connId: core.taps.idOf(e, e.transport === "ws" ? "ws-" : "ajax-"),
      });
    }
    return out;
  }

  // -------------------------------------------------------------------------
  // Pushes

  send(uid: Uid, event: ChskEvent, options?: SendOptions): void {
    if (uid === undefined) throw new TypeError("send(uid, event): uid is undefined (use null for the anonymous group)");
    if (this.#core.closed) return;
    if (Array.isArray(event) && event[0] === Reserved.close) {
      this.closeUser(uid, options);
      return;
    }
    this.#core.outbox.send(uid, event, options?.flush === true);
  }

  sendToClient(clientId: string, event: ChskEvent, options?: SendOptions): void {
    if (typeof clientId !== "string") throw new TypeError("sendToClient(clientId, event): clientId must be a string");
    if (this.#core.closed) return;
    this.#core.outbox.sendToClient(clientId, event, options?.flush === true);
  }

  broadcast(event: ChskEvent, options?: SendOptions): void {
    if (this.#core.closed) return;
    this.#core.outbox.broadcast(event, options?.flush === true);
  }

  closeUser(uid: Uid, options?: SendOptions): void {
    const core = this.#core;
    if (core.closed) return;
    if (options?.flush) core.outbox.flushUid(uid);
    for (const t of ["ws", "ajax"] as const) {
      const g = core.registry.group(t, uid);
      if (g === undefined) continue;
      for (const e of g instanceof Map ? [...g.values()] : [g]) e.close();
    }
  }

  closeClient(clientId: string): void {
    const core = this.#core;
    if (core.closed) return;
    for (const t of ["ws", "ajax"] as const) {
      const e = core.registry.byClient[t].get(clientId);
      if (e !== undefined) e.close();
    }
  }


  // -------------------------------------------------------------------------
  // Introspection, events

  clients(): ClientInfo[] {
    const out: ClientInfo[] = [];
    const now = this.#core.clock.now();
    for (const e of this.#core.registry.entries()) {
      out.push({
        clientId: e.clientId,
        uid: e.uid,
        transport: e.transport,
        connectedAt: e.connectedAt,
        lastActivity: e.activityAt(now),
        connected: e.isConnected,
        remoteAddress: e.req.remoteAddress,
      });
    }
    return out;
  }

  on<K extends keyof ServerEvents>(type: K, listener: ServerEvents[K]): Unsubscribe {
    if (type === "event") return this.#core.dispatcher.subscribe(listener as ServerEvents["event"]);
    return this.#core.events.on(type, listener);
  }

  startRouter(handler: (msg: ServerEventMsg) => void | Promise<void>, options?: { onError?: HandlerErrorFn }): Unsubscribe {
    if (typeof handler !== "function") throw new TypeError("startRouter(handler): handler must be a function");
    return this.#core.dispatcher.subscribe(handler, options?.onError);
  }

  tap(listener: (event: ServerTapEvent) => void): Unsubscribe {
    if (typeof listener !== "function") throw new TypeError("tap(listener): listener must be a function");
    return this.#core.taps.add(listener);
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const core = this.#core;
    if (this.#onAbort !== null) {
      core.opts.signal?.removeEventListener("abort", this.#onAbort);
      this.#onAbort = null;
    }
    // Buffered pushes still go out, ahead of the close frames / poll answers.
    core.outbox.flushAll();
    core.closed = true;
    for (const detach of [...this.#detachers]) detach();
    core.dispatcher.close();
    this.#ajax.closeAll();
    core.sweeper.stop();
    core.outbox.stop();
    this.#closing = Promise.all([this.#ws.closeAll(), core.cluster?.close()]).then(() => {
      core.registry.clear();
      core.taps.clear();
      // A throwing listener must not stop close() from settling (nor the other listeners).
      core.events.emit("close", [], (err) => core.hookFailed(err));
      core.events.clear();
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a chsk server. `csrfToken` is required (a function, or `null` to
 * turn the CSRF check off); everything else has Sente's defaults.
 *
 * @typeParam E - The application's event map (see {@link EventMap}), for
 * typed routers and pushes; types only, the server is the same either way.
 * Without it, events are untyped (`ChskEvent`).
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const chsk = createServer<Events>({ csrfToken: null });
 * chsk.startRouter((msg) => {
 *   if (msg.id === "chat/send") msg.reply?.({ id: 1 }); // msg.data: { text: string }
 * });
 * chsk.broadcast(["chat/message", { user: "bot", text: "hi" }]);
 *
 * @throws TypeError / RangeError for invalid options.
 */
export function createServer<E extends EventMap<E> = DefaultEventMap>(options: ServerOptions): ChskServer<E>;
// The event map is a compile-time view: one untyped implementation serves every E.
export function createServer(options: ServerOptions): ChskServer {
  return new Server(options);
}
