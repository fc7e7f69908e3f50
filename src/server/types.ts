import type { IncomingMessage, ServerResponse, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import type { Clock, Unsubscribe } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { ChskError, ChskErrorCode } from "../core/protocol/errors.js";
import type { ChskEvent } from "../core/protocol/events.js";
import type {
  BivariantFn,
  ClientSentId,
  DefaultEventMap,
  EventData,
  EventMap,
  EventReply,
  EventTuple,
  IsUntypedMap,
  PushId,
  ReplyId,
  ServerReservedEvents,
  TypedEvent,
} from "../core/protocol/event-map.js";
import type { Packer } from "../core/packers/types.js";
import type { ClusterNodeInfo, ClusterOption, ClusterStats } from "./cluster/types.js";

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

/** Options of {@link ChskServer.handleRequest}. */
export interface HandleRequestOptions {
  /**
   * The request body as a framework or body parser already read it
   * (Express's `req.body`, Fastify's `request.body`): urlencoded form
   * fields (an object of strings), text (a string), or the raw bytes (a
   * `Buffer` / `Uint8Array`; the only form a `binary?` POST accepts).
   * Used only when the request stream was already consumed; an untouched
   * stream is read as usual and `body` ignored, so passing `req.body`
   * unconditionally is safe. A consumed stream without a usable `body` is
   * answered 500 `CHSK_ERR_BODY_CONSUMED` (never left hanging).
   * @default undefined
   */
  body?: unknown;
}

/** Options of {@link ChskServer.attach}. */
export interface AttachOptions {
  /**
   * Take the `request` events on `path` too. `false` leaves every request
   * to the server's other listeners and routes only WebSocket upgrades.
   * @default true
   */
  requests?: boolean;
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
   * Output one client may leave unread, in bytes: a WebSocket's unsent
   * bytes (`bufferedAmount`), or the push frames kept for an Ajax client
   * between polls (or a WS client reconnecting). A client still holding
   * more than this when the next frame is due is a slow consumer: it is
   * dropped (`CHSK_ERR_SLOW_CONSUMER`; the socket is cut at once, close
   * code 4001 on the server side; an Ajax client's next poll gets a fresh
   * handshake). Text frames count UTF-16 code units. @default 4_194_304 (4 MiB)
   */
  maxBufferedBytesPerClient?: number;
  /**
   * An Ajax POST body must have fully arrived this long after its headers;
   * a slower one is answered 408 `CHSK_ERR_BODY_TIMEOUT` and its connection
   * closed (Node alone would wait up to 300 s). @default 20_000
   */
  bodyTimeoutMs?: number;
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
  /**
   * Where the server logs what it cannot hand to you otherwise: a hook or
   * router handler that threw (once per kind), a tap listener that threw
   * (once), a peer error with no `"error"` listener (once per code and
   * client; at most 1000 such lines), and at `info` every refused request
   * that is no error (CSRF, origin, `authorized`, `reject`: the status and
   * `code`). `null` logs nothing; every one of these still reaches `tap()`.
   * Any `{ warn, error, info?, debug? }` fits (`console`, pino, the
   * reference server's logger).
   * @default consoleLogger(): `warn` and `error` to the console, `info` and `debug` dropped
   */
  logger?: Logger | null;
  clock?: Clock;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /**
   * Share users, presence and Ajax clients with other server processes
   * (`redisCluster({ url })`): `send`, `sendToClient` and `broadcast` reach
   * clients on every node, uidport events fire once for the cluster, and
   * an Ajax client's polls may land on any node. See the README's
   * scale-out recipe. @default null (this process alone)
   */
  cluster?: ClusterOption | null;
}

/** A clustered server's view of its cluster (`chsk.cluster`). */
export interface ServerCluster {
  readonly nodeId: string;
  /** Settles once the node has joined (rejects with `CHSK_ERR_CLUSTER` if the store is unreachable). */
  readonly ready: Promise<void>;
  /** This node's counters: batches published and received, queued frames, failures, lost events. */
  stats(): ClusterStats;
  /** Connected uids over the whole cluster (the `connectedUids` property is this node's). */
  connectedUids(): Promise<{ ws: Uid[]; ajax: Uid[]; any: Uid[] }>;
  /** The nodes alive, with what each reported in its last heartbeat. */
  nodes(): Promise<ClusterNodeInfo[]>;
}

/**
 * The server event-msg of one event `Ev` (a member of {@link ServerEventMsg});
 * `R` is the type of `reply`. Parameterised by the whole tuple so a typed
 * msg still fits an untyped one (`id` and `data` follow `Ev` covariantly).
 */
export interface ServerEventMsgOf<Ev extends readonly unknown[] = ChskEvent, R = BivariantFn<[value: unknown], boolean>> {
  event: Ev;
  id: Ev[0];
  data: Ev[1];
  uid: Uid;
  clientId: string;
  transport: Transport;
  /** The WS upgrade request (WS) or the POST (Ajax). */
  req: ChskRequest;
  /**
   * Present only when the client asked for a reply. Returns true if the
   * reply was (apparently) sent; Ajax replies are accepted once. With an
   * event map, typed `never` (reads as `undefined`, cannot be called) for
   * events that declare no `reply`.
   */
  reply?: R;
}

type ServerMsgs<M, K extends string> = K extends unknown
  ? ServerEventMsgOf<TypedEvent<M, K>, K extends ReplyId<M> ? BivariantFn<[value: EventReply<M, K>], boolean> : never>
  : never;

/**
 * What a router handler receives: Sente's server event-msg. With an event
 * map it is a union discriminated by `id`: the map's client→server events
 * (`from` `"client"` or `"both"`) and the reserved `chsk/uidport-open`,
 * `chsk/uidport-close`, `chsk/ws-ping`, `chsk/ws-pong`, `chsk/bad-event`.
 */
export type ServerEventMsg<E extends EventMap<E> = DefaultEventMap> =
  | ServerMsgs<E, ClientSentId<E>>
  | (IsUntypedMap<E> extends true ? never : ServerMsgs<ServerReservedEvents, keyof ServerReservedEvents>);

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

/**
 * Where a tapped frame travelled: a WebSocket frame (`ws`); for Ajax, the
 * answer to a long-poll or handshake GET (`poll`), the packed message a
 * POST carried (`post`), the POST's answer (`post-reply`). The inspector's
 * `WireChannel`.
 */
export type TapChannel = "ws" | "poll" | "post" | "post-reply";

/**
 * What `tap()` sees. Frame events map one to one onto what crossed the
 * wire: every frame the server sent or received is tapped exactly once
 * (handshakes, pushes, replies, pings, pongs, poll timeouts, dummy
 * replies), with the `connId` of its physical connection: `ws-N` for a
 * WebSocket, `get-N` / `post-N` for one Ajax HTTP exchange (a POST and its
 * answer share theirs). Ids are handed out on first use, so a server
 * nobody taps never makes one.
 */
export type ServerTapEvent =
  /** A frame received; `event` is absent when it could not be decoded (an `error` follows). */
  | {
      type: "frame:in";
      transport: Transport;
      channel: "ws" | "post";
      connId: string;
      uid: Uid;
      clientId: string;
      data: string | Uint8Array;
      event?: ChskEvent;
      cbId?: string | null;
      at: number;
    }
  | {
      type: "frame:out";
      transport: Transport;
      channel: "ws" | "poll" | "post-reply";
      connId: string;
      uid: Uid;
      clientId: string;
      data: string | Uint8Array;
      /** An Ajax GET answered with a handshake (it asked with `handshake?`, or the server didn't know the client). */
      handshake?: true;
      /** HTTP status of an Ajax answer (always 200: refusals are `refused` events). */
      status?: number;
      at: number;
    }
  /** WS: the socket opened (after the handshake frame). Ajax: the client's entry was created by its handshake (`connId`: that GET's). */
  | { type: "conn:open"; transport: Transport; connId: string; uid: Uid; clientId: string; at: number }
  /** WS: the socket closed. Ajax: the client's entry expired (no poll within the grace period). */
  | {
      type: "conn:close";
      transport: Transport;
      connId: string;
      uid: Uid;
      clientId: string;
      /** WS close code (absent for Ajax); for a socket the server cut, the code it meant (4001 slow consumer), the peer seeing 1006. */
      code?: number;
      /** Why the server ended it, when it did: `"ping-timeout"`, `"bad-frame"`, `"closed-by-server"`, `"server-close"`, `"slow-consumer"`. */
      reason?: string;
      at: number;
    }
  | { type: "uidport:open"; uid: Uid; at: number }
  | { type: "uidport:close"; uid: Uid; at: number }
  | { type: "reply"; transport: Transport; uid: Uid; clientId: string; eventId: string; latencyMs: number; at: number }
  | { type: "error"; error: ChskError; uid?: Uid; clientId?: string; at: number }
  /**
   * A request on the channel path answered with a refusal instead of a
   * connection or frame: the reject hook, CSRF, origin, `authorized`, a
   * missing client id, limits (too many polls or POSTs, a body too large
   * or too slow), a bad POST, a hook that threw (500), a closing server.
   * `code` says why; refusals caused by a peer's error also come as an
   * `error` event (before this one), the others only here.
   */
  | {
      type: "refused";
      transport: Transport;
      /** The refused exchange: `ws-N` (an upgrade answered without a 101), `get-N`, `post-N`. */
      connId: string;
      /** The `client-id` param, when the request had one. */
      clientId?: string;
      /** Known only for refusals after admission (limits, bad POSTs). */
      uid?: Uid;
      status: number;
      /** The answer's body (its first 1024 characters). */
      body: string;
      code: ChskErrorCode;
      /** For `CHSK_ERR_HOOK_FAILED`: what the hook threw. */
      cause?: unknown;
      at: number;
    };

export interface ServerEvents<E extends EventMap<E> = DefaultEventMap> {
  /** Every received event, including reserved ones (uidport, ping, bad-event). */
  event: (msg: ServerEventMsg<E>) => void;
  "uidport:open": (uid: Uid) => void;
  "uidport:close": (uid: Uid) => void;
  error: (error: ChskError) => void;
  /**
   * Once, when `close()` has closed every connection (before it resolves).
   * What is tied to the server ends here: a mounted dashboard ends its
   * feeds, so `await chsk.close(); http.close()` finds no stream holding on.
   */
  close: () => void;
}

/**
 * A chsk server.
 *
 * @typeParam E - The application's event map (see {@link EventMap}): the
 * router's `msg` is narrowed by `msg.id` to the event's data and reply, and
 * `send` / `sendToClient` / `broadcast` accept only its server pushes
 * (`from: "server"` or `"both"`). Without it, any `["ns/name", data]` goes.
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const chsk: ChskServer<Events> = createServer<Events>({ csrfToken: null });
 * chsk.startRouter((msg) => {
 *   if (msg.id === "chat/send") msg.reply?.({ id: 1 });
 * });
 * chsk.broadcast(["chat/message", { user: "bot", text: "hi" }]);
 */
export interface ChskServer<E extends EventMap<E> = DefaultEventMap> {
  readonly path: string;
  readonly packer: Packer;
  /**
   * Handles a request on `path` and returns true; returns false for any
   * other path. Behind a body parser, pass what it parsed as
   * `{ body: req.body }` (see {@link HandleRequestOptions}).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, options?: HandleRequestOptions): boolean;
  /** Handles an upgrade on `path` and returns true; returns false (socket untouched) otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Routes `request`/`upgrade` events of `server` on `path` to chsk; other
   * paths are left alone (an upgrade nobody else listens for is destroyed).
   * `{ requests: false }` takes the upgrades only: the WebSocket half when a
   * framework routes the Ajax requests (`expressAdapter`; `fastifyAdapter`
   * does it itself). Returns a function that detaches; `close()` detaches too.
   */
  attach(server: HttpServer, options?: AttachOptions): Unsubscribe;
  /** Push to every client of `uid`, over both transports, batched. */
  send<K extends PushId<E>>(uid: Uid, event: EventTuple<K, EventData<E, K>>, options?: SendOptions): void;
  /** Push to one client (tab) only. */
  sendToClient<K extends PushId<E>>(clientId: string, event: EventTuple<K, EventData<E, K>>, options?: SendOptions): void;
  /** Push to every connected user. */
  broadcast<K extends PushId<E>>(event: EventTuple<K, EventData<E, K>>, options?: SendOptions): void;
  /** Sente's `[:chsk/close]`: close every connection of `uid`. */
  closeUser(uid: Uid, options?: SendOptions): void;
  /** Close one client's connection(s). */
  closeClient(clientId: string): void;
  /** Live view of connected users by transport (this process's; see `cluster.connectedUids()`). */
  readonly connectedUids: ConnectedUids;
  /** The cluster this server is a node of, or null (the `cluster` option). */
  readonly cluster: ServerCluster | null;
  clients(): ClientInfo[];
  on<T extends keyof ServerEvents<E>>(type: T, listener: ServerEvents<E>[T]): Unsubscribe;
  /** Sente's server router; handler errors go to `onError` and never stop it. */
  startRouter(handler: (msg: ServerEventMsg<E>) => void | Promise<void>, options?: { onError?: (e: unknown, msg: ServerEventMsg<E>) => void }): Unsubscribe;
  tap(listener: (event: ServerTapEvent) => void): Unsubscribe;
  /** Closes every connection and timer. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
