import type { IncomingMessage, ServerResponse, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import type { Clock, Unsubscribe } from "../core/clock.js";
import type { ChskError } from "../core/protocol/errors.js";
import type { ChskEvent } from "../core/protocol/events.js";
import type { Packer } from "../core/packers/types.js";

/** A user id. `null` is Sente's anonymous `:sente/nil-uid` group. */
export type Uid = string | null;
export type Transport = "ws" | "ajax";

/**
 * The request as chsk's hooks see it: framework-neutral, parsed once.
 * `raw` is the Node request for anything else (sessions, TLS info). For
 * event-msgs of a WebSocket connection it is only kept with
 * `retainUpgradeRequest: true` (otherwise reading it throws a TypeError
 * saying so); the hooks that run during the upgrade always have it.
 */
export interface ChskRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names, as Node gives them. */
  headers: IncomingMessage["headers"];
  /** Cookies parsed from the Cookie header. */
  cookies: Record<string, string>;
  /** The `client-id` param (empty string if absent on POST). */
  clientId: string;
  /** Ajax POST form fields (`ppstr`, …); empty for GET/WS. */
  form: Record<string, string>;
  remoteAddress: string | undefined;
  raw: IncomingMessage;
}

/** A plain HTTP answer (rejections). */
export interface HttpAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** Returned by `csrfToken` to skip the CSRF check for a request (Sente's `:sente/skip-CSRF-check`). */
export const SKIP_CSRF = Symbol.for("chsk/skip-csrf-check");

type MaybePromise<T> = T | Promise<T>;

export interface ServerOptions {
  /** @default "/chsk" */
  path?: string;
  /** @default ednPacker() */
  packer?: Packer;
  /** The user behind a request. `null`/`undefined` → the anonymous group. @default () => null */
  userId?: (req: ChskRequest) => MaybePromise<Uid | undefined>;
  /**
   * The reference CSRF token for a request; the client's token (param
   * `csrf-token`, header `X-CSRF-Token` or `X-XSRF-Token`) must equal it.
   * No reference token rejects (Sente's rule). `null` turns the check off.
   * Required unless `null`: there is no session store to read a default from.
   */
  csrfToken: ((req: ChskRequest) => MaybePromise<string | null | undefined | typeof SKIP_CSRF>) | null;
  /** `"all"` or exact origins (`"https://site.com"`); checked against Origin, else Referer. @default "all" */
  allowedOrigins?: "all" | readonly string[];
  /** False → `unauthorized` answer. @default () => true */
  authorized?: (req: ChskRequest) => MaybePromise<boolean>;
  /** Sente 1.22's `:reject-fn`: runs first; a non-null answer is sent as is. */
  reject?: (req: ChskRequest) => MaybePromise<HttpAnswer | null | undefined>;
  /** @default { status: 403, body: "Bad CSRF token" } */
  badCsrf?: (req: ChskRequest) => HttpAnswer;
  /** @default { status: 403, body: "Unauthorized origin" } */
  badOrigin?: (req: ChskRequest) => HttpAnswer;
  /** @default { status: 401, body: "Unauthorized request" } */
  unauthorized?: (req: ChskRequest) => HttpAnswer;
  /** The 3rd element of the handshake. @default () => null */
  handshakeData?: (req: ChskRequest) => unknown;
  /** Server ping after this much WS idleness. @default 12_500 (Sente's 25 s, halved) */
  wsKaliveMs?: number;
  /** Close a pinged WS that stays silent this long. 0 disables. @default 10_000 */
  wsPingTimeoutMs?: number;
  /** Answer a held poll (or an unanswered POST) with `:chsk/timeout` after this. Must be < 60 000. @default 20_000 */
  lpTimeoutMs?: number;
  /** @default 30 */
  sendBufMsWs?: number;
  /** @default 100 */
  sendBufMsAjax?: number;
  /** Grace period before `chsk/uidport-close`. @default 2_500 */
  msAllowReconnectBeforeCloseWs?: number;
  /** @default 5_000 */
  msAllowReconnectBeforeCloseAjax?: number;
  /** Largest accepted frame / POST body in bytes. @default 1_048_576 */
  maxFrameBytes?: number;
  /** Deepest accepted nesting in a received frame. @default 64 */
  maxDepth?: number;
  /** Ajax polls a single client may hold open at once; more get 429. @default 2 */
  maxPendingPollsPerClient?: number;
  /** Ajax POSTs awaiting a reply per client; more get 429. @default 64 */
  maxPendingPostsPerClient?: number;
  /**
   * Received events kept while no router or `"event"` listener is attached
   * (Sente's sliding `recv-buf-or-n`); the oldest are dropped beyond this.
   * They are delivered, in order, to the first router started. @default 1000
   */
  recvBufferSize?: number;
  /**
   * Keep each WS connection's upgrade `IncomingMessage` for `req.raw` in its
   * event-msgs. Off by default: it costs about 1 KB per idle connection;
   * `headers`, `query`, `cookies` and `remoteAddress` stay available anyway.
   * @default false
   */
  retainUpgradeRequest?: boolean;
  /**
   * `close()` sends every WS a 1001 close frame and waits this long for the
   * peers' answers before cutting the remaining sockets. @default 1_000
   */
  closeTimeoutMs?: number;
  clock?: Clock;
  /** Aborting closes the server. */
  signal?: AbortSignal;
}

/** What a router handler receives: Sente's server event-msg. */
export interface ServerEventMsg {
  event: ChskEvent;
  id: string;
  data: unknown;
  uid: Uid;
  clientId: string;
  transport: Transport;
  /** The WS upgrade request (WS) or the POST (Ajax). */
  req: ChskRequest;
  /**
   * Present only when the client asked for a reply. Returns true if the
   * reply was (apparently) sent; Ajax replies are accepted once.
   */
  reply?: (value: unknown) => boolean;
}

export interface SendOptions {
  /** Skip the batching delay. @default false */
  flush?: boolean;
}

export interface ConnectedUids {
  ws: ReadonlySet<Uid>;
  ajax: ReadonlySet<Uid>;
  any: ReadonlySet<Uid>;
}

export interface ClientInfo {
  clientId: string;
  uid: Uid;
  transport: Transport;
  /** ms since epoch. */
  connectedAt: number;
  lastActivity: number;
  /** False while an Ajax client is between polls (or a WS is in its grace period). */
  connected: boolean;
  remoteAddress: string | undefined;
}

export type ServerTapEvent =
  | { type: "frame:in"; transport: Transport; uid: Uid; clientId: string; data: string | Uint8Array; event?: ChskEvent; cbId?: string | null; at: number }
  | { type: "frame:out"; transport: Transport; uid: Uid; clientId: string; data: string | Uint8Array; at: number }
  /** WS: the socket opened (after the handshake frame). Ajax: the client's entry was created by its handshake. */
  | { type: "conn:open"; transport: Transport; uid: Uid; clientId: string; at: number }
  /** WS: the socket closed. Ajax: the client's entry expired (no poll within the grace period). */
  | {
      type: "conn:close";
      transport: Transport;
      uid: Uid;
      clientId: string;
      /** WS close code (absent for Ajax polls). */
      code?: number;
      /** Why the server ended it, when it did: `"ping-timeout"`, `"bad-frame"`, `"closed-by-server"`, `"server-close"`. */
      reason?: string;
      at: number;
    }
  | { type: "uidport:open"; uid: Uid; at: number }
  | { type: "uidport:close"; uid: Uid; at: number }
  | { type: "reply"; transport: Transport; uid: Uid; clientId: string; eventId: string; latencyMs: number; at: number }
  | { type: "error"; error: ChskError; uid?: Uid; clientId?: string; at: number };

export interface ServerEvents {
  /** Every received event, including reserved ones (uidport, ping, bad-event). */
  event: (msg: ServerEventMsg) => void;
  "uidport:open": (uid: Uid) => void;
  "uidport:close": (uid: Uid) => void;
  error: (error: ChskError) => void;
}

export interface ChskServer {
  readonly path: string;
  readonly packer: Packer;
  /** Handles a request on `path` and returns true; returns false for any other path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Handles an upgrade on `path` and returns true; returns false (socket untouched) otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Routes `request`/`upgrade` events of `server` on `path` to chsk; other paths are left alone. */
  attach(server: HttpServer): Unsubscribe;
  /** Push to every client of `uid`, over both transports, batched. */
  send(uid: Uid, event: ChskEvent, options?: SendOptions): void;
  /** Push to one client (tab) only. */
  sendToClient(clientId: string, event: ChskEvent, options?: SendOptions): void;
  /** Push to every connected user. */
  broadcast(event: ChskEvent, options?: SendOptions): void;
  /** Sente's `[:chsk/close]`: close every connection of `uid`. */
  closeUser(uid: Uid, options?: SendOptions): void;
  /** Close one client's connection(s). */
  closeClient(clientId: string): void;
  /** Live view of connected users by transport. */
  readonly connectedUids: ConnectedUids;
  clients(): ClientInfo[];
  on<K extends keyof ServerEvents>(type: K, listener: ServerEvents[K]): Unsubscribe;
  /** Sente's server router; handler errors go to `onError` and never stop it. */
  startRouter(handler: (msg: ServerEventMsg) => void | Promise<void>, options?: { onError?: (e: unknown, msg: ServerEventMsg) => void }): Unsubscribe;
  tap(listener: (event: ServerTapEvent) => void): Unsubscribe;
  /** Closes every connection and timer. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
