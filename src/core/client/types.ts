import type { Clock, Unsubscribe } from "../clock.js";
import type { WireChannel } from "../inspect/types.js";
import type { Logger } from "../logger.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import type { ChskError, ChskErrorCode } from "../protocol/errors.js";
import type { ChskEvent } from "../protocol/events.js";
import type {
  ClientReservedEvents,
  ClientSentId,
  DefaultEventMap,
  EventData,
  EventMap,
  EventReply,
  EventTuple,
  IsUntypedMap,
  PushEvent,
  PushId,
  ReplyId,
  TypedEvent,
} from "../protocol/event-map.js";

export type ClientType = "auto" | "ws" | "ajax";
export type Transport = "ws" | "ajax";

/** Sente's `:last-close :reason` values. */
export type CloseReason =
  | "clean"
  | "unexpected"
  | "requested-disconnect"
  | "requested-reconnect"
  | "downgrading-ws-to-ajax"
  | "ws-ping-timeout"
  | "ws-error";

/** Sente's client state map (protocol.md §2.3), camel-cased. */
export interface ClientState {
  /** `"auto"` until the first handshake fixes the transport. */
  type: ClientType;
  open: boolean;
  everOpened: boolean;
  /** From the last handshake; `null` for Sente's `:sente/nil-uid`. */
  uid: unknown;
  handshakeData: unknown;
  lastWsError?: { udt: number; message: string };
  lastWsClose?: { udt: number; code: number; reason: string; clean: boolean };
  lastClose?: { udt: number; reason: CloseReason };
  /** Approximate time (ms since epoch) of the next reconnect attempt. */
  udtNextReconnect?: number;
  /**
   * chsk addition: the last refusal or transport failure, e.g. an HTTP 403
   * `Bad CSRF token` on an Ajax request or a WS upgrade. Not cleared by a
   * later success; compare `udt` with the last open if that matters.
   */
  lastError?: { udt: number; code: ChskErrorCode; status?: number; message: string };
}

export interface StateChange {
  old: ClientState;
  new: ClientState;
  openChanged: boolean;
  /** Only when `openChanged`: this change opened / closed the client. */
  opened?: boolean;
  closed?: boolean;
  firstOpen?: boolean;
}

export interface HandshakeInfo {
  uid: unknown;
  handshakeData: unknown;
  /** True only on the first handshake this client object ever completed. */
  firstHandshake: boolean;
}

/** A WebSocket constructor with the WHATWG shape (browser global, `ws`, undici). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null;
}
export type WebSocketFactory = (url: string, headers: Record<string, string> | undefined) => WebSocketLike;

/**
 * What a tapped frame is, as the client knows it after packing or decoding
 * it (the frame kinds of the inspector's `FrameKind`). Out: `event` (a call
 * or a fire-and-forget send), `ping` (the client's keep-alive), `pong` (its
 * answer to a server ping). In: `handshake`, `ping` (the server's), `reply`
 * (a WS reply, a ping's `"pong"` among them, or an Ajax POST's reply value),
 * `push` (a batch), `timeout` (`:chsk/timeout`, a poll's or a POST's),
 * `dummy` (`:chsk/dummy-cb-200`, a POST that wanted no reply), `bad` (could
 * not be decoded; an `error` tap event follows).
 */
export type ClientFrameKind = "handshake" | "event" | "push" | "reply" | "ping" | "pong" | "timeout" | "dummy" | "bad";

/** The fields every tapped frame has; see {@link ClientTapEvent}. */
export interface ClientTapFrame {
  transport: Transport;
  /** `ws`; Ajax: `poll` (a long-poll's answer), `post` (a POST's packed event), `post-reply` (its answer). */
  channel: WireChannel;
  /**
   * Unique in the process: the WS connection attempt (`ws-3`); for Ajax the
   * HTTP exchange: a poll (`get-7`), a POST and its answer (`post-8`).
   */
  connId: string;
  clientId: string;
  /** The payload as it crossed the wire: a WS frame, a poll's or POST's answer body, a POST's packed event (`ppstr`, or the `binary?` body). */
  data: string | Uint8Array;
  /** ms since epoch. */
  at: number;
  kind: ClientFrameKind;
  /** `ns/name` of the event: a sent event's, a push batch's first, or the reserved one (`chsk/handshake`, `chsk/ws-ping`, `chsk/timeout`…). */
  eventId?: string;
  /** Out: the cb id sent (`"3f2a1b"`, `"ajax"` for an Ajax call), or null for no reply. In: a reply's cb id (`"ajax"` on a POST's answer). */
  cbId?: string | null;
}

/**
 * Observes every frame and lifecycle change; the inspector and bench use
 * this. Each frame that crosses the wire, in or out, on either transport,
 * is tapped exactly once, in wire order (a frame's own effects, such as
 * `conn:open` after a handshake, follow it). An Ajax refusal (a non-200
 * answer) is not a frame: it is an `error` with the status. Frame fields
 * map 1:1 onto the inspector's `WireEvent`.
 */
export type ClientTapEvent =
  | ({ type: "frame:out" } & ClientTapFrame)
  | ({
      type: "frame:in";
      /** On a handshake poll's answer (the GET carried `handshake?`). */
      handshake?: boolean;
      /** HTTP status of an Ajax answer (`poll`, `post-reply`). */
      status?: number;
      /** On a reply the client paired with its call: ms since the call went out. */
      latencyMs?: number;
    } & ClientTapFrame)
  /** The handshake opened the connection (it follows the handshake's `frame:in`). */
  | { type: "conn:open"; transport: Transport; connId: string; clientId: string; at: number }
  | { type: "conn:close"; transport: Transport; connId: string; clientId: string; reason: CloseReason; code?: number; at: number }
  /**
   * A problem: a refusal (`CHSK_ERR_HTTP_STATUS`, with `status` and
   * `detail.body`), an unreadable frame, a late reply, a router handler
   * that threw (`CHSK_ERR_HANDLER`). `connId` names the connection or
   * exchange it happened on, when there is one.
   */
  | { type: "error"; error: ChskError; connId?: string; clientId: string; at: number };

export interface ClientOptions {
  /**
   * The chsk endpoint, `http(s)://host:port/chsk` (the WS URL is derived),
   * or a path (`/chsk`) resolved against `location` in a browser.
   */
  url: string;
  /** @default "auto" — WS first, Ajax if WS errors before it ever opened. */
  type?: ClientType;
  /** @default ednPacker() */
  packer?: Packer;
  /** Sent as the `csrf-token` WS param and `X-CSRF-Token` header; a function is re-read per request. */
  csrfToken?: string | null | (() => string | null | undefined);
  /** Extra query params on WS connects and Ajax GETs. */
  params?: Record<string, string | number | boolean>;
  /** Extra headers (Node only for WS; Ajax everywhere the platform allows). */
  headers?: Record<string, string>;
  /** @default a random UUID */
  clientId?: string;
  /** Idle time before the client pings. @default 10_000 (Sente's 20 s, halved) */
  wsKaliveMs?: number;
  /** @default 5_000 */
  wsPingTimeoutMs?: number;
  /** Ajax request timeout (long-polls and POSTs). @default 60_000 */
  ajaxTimeoutMs?: number;
  /** Send cookies on cross-origin Ajax requests (fetch `credentials: "include"`; Sente's `:with-credentials?`). @default false */
  withCredentials?: boolean;
  /** Delay before reconnect attempt n (n ≥ 2; attempt 1 is immediate). @default Sente's exp backoff */
  backoffMs?: (attempt: number) => number;
  /** @default true */
  autoConnect?: boolean;
  /** Limits on decoding server frames. */
  limits?: DecodeLimits;
  /** Platform hooks; the Node and browser entries fill these in. */
  webSocket?: WebSocketFactory | null;
  fetch?: typeof fetch;
  /**
   * Where the client's timers come from. With the default, a Node client
   * that is waiting to reconnect keeps its process alive (its retry timer is
   * ref'd) until it opens, or until `disconnect()` / `close()`; its other
   * timers never hold the process.
   * @default systemClock
   */
  clock?: Clock;
  /** Aborting disconnects the client for good. */
  signal?: AbortSignal;
  /**
   * Where the client logs: connections opening and closing (`info`), the
   * problems it reports on the tap (`warn`: refusals, unreadable frames,
   * late replies), router handlers that fail without an `onError`
   * (`error`). The client never writes to `console` itself.
   * @default none: problems go to the tap only
   */
  logger?: Logger;
}

/** What `send` with a callback receives: the reply (of type `R`), or the failure. */
export type ReplyCallback<R = unknown> = (error: ChskError | null, reply?: R) => void;

export interface SendOptions {
  /** Ask for a reply, failing with CHSK_ERR_TIMEOUT after this long. */
  timeoutMs?: number;
  /** Accepted for Sente parity; chsk clients never buffer sends. */
  flush?: boolean;
}

export interface ClientEvents<E extends EventMap<E> = DefaultEventMap> {
  /** A server push (one event of a batch); with an event map, a union discriminated by the id. */
  recv: (event: PushEvent<E>) => void;
  handshake: (info: HandshakeInfo) => void;
  state: (change: StateChange) => void;
  /** The server pinged us (already answered). */
  ping: () => void;
}

/**
 * The client event-msg of one event `Ev` (a member of {@link ClientEventMsg}).
 * Parameterised by the whole tuple so a typed msg still fits an untyped one
 * (`id` and `data` follow `Ev` covariantly).
 */
export interface ClientEventMsgOf<Ev extends readonly unknown[] = ChskEvent, C = Client> {
  event: Ev;
  id: Ev[0];
  data: Ev[1];
  client: C;
}

type ClientMsgs<E extends EventMap<E>, M, K extends string> = K extends unknown ? ClientEventMsgOf<TypedEvent<M, K>, Client<E>> : never;

/**
 * Router handlers get Sente's client event-msg. With an event map it is a
 * union discriminated by `id`: the map's server pushes (`from: "server"` or
 * `"both"`) and the reserved `chsk/handshake`, `chsk/state`, `chsk/ws-ping`.
 */
export type ClientEventMsg<E extends EventMap<E> = DefaultEventMap> =
  | ClientMsgs<E, E, PushId<E>>
  | (IsUntypedMap<E> extends true ? never : ClientMsgs<E, ClientReservedEvents, keyof ClientReservedEvents>);

/**
 * A chsk client.
 *
 * @typeParam E - The application's event map (see {@link EventMap}): `send`
 * accepts only its client→server events and resolves to their declared
 * reply; `on("recv")` and the router see its server pushes. Without it,
 * any `["ns/name", data]` goes and replies are `unknown`.
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const client: Client<Events> = createClient<Events>({ url: "/chsk" });
 * const { id } = await client.send(["chat/send", { text: "hi" }], 5000);
 */
export interface Client<E extends EventMap<E> = DefaultEventMap> {
  readonly clientId: string;
  /** A snapshot of the current state. */
  readonly state: Readonly<ClientState>;
  /** Fire and forget. False (and nothing sent) when not open. */
  send<K extends ClientSentId<E>>(event: EventTuple<K, EventData<E, K>>): boolean;
  /** Fire and forget with options (`{ flush }`) but no `timeoutMs`. */
  send<K extends ClientSentId<E>>(event: EventTuple<K, EventData<E, K>>, options: SendOptions & { timeoutMs?: undefined }): boolean;
  /**
   * Request/reply: resolves with the reply; rejects with CHSK_ERR_CLOSED / _TIMEOUT / _TRANSPORT,
   * or CHSK_ERR_FRAME_TOO_LARGE when the server closes the WebSocket with 1009 before replying.
   * With an event map, only events that declare a `reply` can be sent this way.
   */
  send<K extends ReplyId<E>>(event: EventTuple<K, EventData<E, K>>, options: SendOptions & { timeoutMs: number }): Promise<EventReply<E, K>>;
  send<K extends ReplyId<E>>(event: EventTuple<K, EventData<E, K>>, timeoutMs: number): Promise<EventReply<E, K>>;
  /** Sente's `(send-fn ev timeout-ms cb)`: the callback gets the reply or the error. */
  send<K extends ReplyId<E>>(event: EventTuple<K, EventData<E, K>>, timeoutMs: number, cb: ReplyCallback<EventReply<E, K>>): boolean;
  on<T extends keyof ClientEvents<E>>(type: T, listener: ClientEvents<E>[T]): Unsubscribe;
  /**
   * Sente's client router: `handler` sees every event Sente puts on
   * `ch-recv` (`chsk/handshake`, `chsk/state`, `chsk/ws-ping` and pushes).
   * Handler errors go to `onError` and never stop the router; without one,
   * to the tap (`error`, `CHSK_ERR_HANDLER`) and the `logger`'s `error`.
   */
  startRouter(handler: (msg: ClientEventMsg<E>) => void | Promise<void>, options?: { onError?: (e: unknown, msg: ClientEventMsg<E>) => void }): Unsubscribe;
  /**
   * Every tap event as it happens. `{ frames: false }`: this listener gets
   * no `frame:in` / `frame:out` (connections, errors and refusals only),
   * and a client whose every listener says so builds no frame events at
   * all, which costs it nothing per frame.
   */
  tap(listener: (event: ClientTapEvent) => void, options?: TapOptions): Unsubscribe;
  /**
   * Frames and their sizes (bytes; UTF-16 code units for text frames) sent
   * and received since the client was created, over every transport and
   * connection. Counted whether or not anything taps.
   */
  traffic(): ClientTraffic;
  connect(): void;
  /** Sente's `chsk-disconnect!`: closes with 1000 and stops retrying (in Node, the process may then exit). */
  disconnect(): void;
  /** Sente's `chsk-reconnect!`. */
  reconnect(): void;
  /** Test helper, Sente's `chsk-break-connection!`: closes with 3000 and lets the client retry. */
  breakConnection(): void;
  /** Resolves at the next open (now, if open); rejects on close(). */
  whenOpen(): Promise<HandshakeInfo | undefined>;
  /**
   * Resolves once everything sent so far has left this client: at once on
   * WS (frames go straight to the socket, and closing sends them first), and
   * when every Ajax POST in flight has been answered or has failed. Await it
   * before `close()` after fire-and-forget sends over Ajax, which `close()`
   * would abort.
   */
  whenSent(): Promise<void>;
  /**
   * Close for good: the transport, the retry timer, pending replies
   * (CHSK_ERR_CLOSED). Until then (or `disconnect()`), a Node client that
   * is connected or waiting to reconnect keeps its process alive.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link Client.tap}. */
export interface TapOptions {
  /** Deliver `frame:in` / `frame:out` events to this listener. @default true */
  frames?: boolean;
}

/** What {@link Client.traffic} counts. */
export interface ClientTraffic {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}
