/**
 * `createClient()`: Sente's `make-channel-socket-client!` for TypeScript.
 *
 * The lifecycle decisions live in the pure reducer of `conn-machine.ts`;
 * this file wires it to transports (`ws.ts`, `ajax.ts`), timers (the
 * injected {@link Clock}), the ack table, listeners, routers and taps.
 * It is isomorphic: the platform entries (`index.ts` for browsers,
 * `index.node.ts` for Node) only fill in `webSocket` and `fetch`.
 */
import { type Cancel, type Clock, systemClock, type TimerOptions, type Unsubscribe } from "../clock.js";
import { ednPacker } from "../packers/edn.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import { AJAX_CB, encodeClientEvent, encodeClientPong } from "../protocol/codec.js";
import type { Logger } from "../logger.js";
import { ChskError } from "../protocol/errors.js";
import type { DefaultEventMap, EventMap } from "../protocol/event-map.js";
import { assertEvent, type ChskEvent, Reserved } from "../protocol/events.js";
import { AckTable } from "./ack-table.js";
import { type AjaxHost, AjaxPoller, ajaxPost } from "./ajax.js";
import { expBackoff } from "./backoff.js";
import { type ConnEffect, type ConnInput, type ConnState, initialConnState, step, type StepContext } from "./conn-machine.js";
import type {
  Client,
  ClientEventMsg,
  ClientEvents,
  ClientOptions,
  ClientState,
  ClientTapEvent,
  ClientTraffic,
  TapOptions,
  ClientType,
  HandshakeInfo,
  ReplyCallback,
  SendOptions,
  StateChange,
  Transport,
  WebSocketFactory,
} from "./types.js";
import { newConnId } from "./tap-frame.js";
import { appendQuery, formatQuery, resolveEndpoints } from "./url.js";
import { WsConn, type WsHost } from "./ws.js";

export const CLIENT_DEFAULTS = {
  type: "auto" as ClientType,
  wsKaliveMs: 10_000,
  wsPingTimeoutMs: 5_000,
  ajaxTimeoutMs: 60_000,
};

const KEEP_PROCESS: TimerOptions = { ref: true };

const WS_RESERVED = new Set(["client-id", "csrf-token"]);
const AJAX_RESERVED = new Set(["udt", "client-id", "handshake?"]);
const CLIENT_TYPES: ReadonlySet<string> = new Set(["auto", "ws", "ajax"]);

type Fn = (...args: never[]) => unknown;

/** A copy-on-write listener list: emitting never allocates. */
class Listeners<F extends Fn> {
  list: readonly F[] = [];
  add(f: F): Unsubscribe {
    this.list = [...this.list, f];
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const i = this.list.indexOf(f);
      if (i >= 0) this.list = [...this.list.slice(0, i), ...this.list.slice(i + 1)];
    };
  }
}

const rethrowLater = (e: unknown) =>
  queueMicrotask(() => {
    throw e;
  });

interface Router {
  handler: (msg: ClientEventMsg) => void | Promise<void>;
  onError: (e: unknown, msg: ClientEventMsg) => void;
}

function checkMs(name: string, v: number | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || Number.isNaN(v)) throw new TypeError(`chsk client: ${name} must be a number`);
  if (v < 0 || (!allowZero && v === 0) || !Number.isFinite(v)) throw new RangeError(`chsk client: ${name} out of range: ${v}`);
  return v;
}

/**
 * Create a client. With `autoConnect` (the default) it starts connecting at once.
 *
 * @typeParam E - The application's event map (see {@link EventMap}), for
 * typed sends, replies and pushes; types only, the client is the same
 * either way. Without it, events are untyped (`ChskEvent`).
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const client = createClient<Events>({ url: "/chsk" });
 * const { id } = await client.send(["chat/send", { text: "hi" }], 5000);
 */
export function createClient<E extends EventMap<E> = DefaultEventMap>(options: ClientOptions): Client<E>;
// The event map is a compile-time view: one untyped implementation serves every E.
export function createClient(options: ClientOptions): Client {
  return new ChskClient(options);
}

class ChskClient implements Client, WsHost, AjaxHost {
  readonly clientId: string;
  readonly packer: Packer;
  readonly clock: Clock;
  readonly limits: DecodeLimits | undefined;
  readonly acks: AckTable;
  readonly pongFrame: string | Uint8Array;
  readonly fetch: typeof fetch;
  readonly ajaxTimeoutMs: number;
  readonly credentials: RequestCredentials | undefined;
  readonly ajaxUrl: string;
  readonly encodedClientId: string;

  readonly #wsFactory: WebSocketFactory | null;
  readonly #wsUrlBase: string;
  readonly #pollBase: string;
  readonly #csrf: ClientOptions["csrfToken"];
  readonly #userHeaders: Record<string, string> | undefined;
  readonly #wsKaliveMs: number;
  readonly #wsPingTimeoutMs: number;
  readonly #ctx: StepContext;
  readonly #signal: AbortSignal | undefined;
  readonly #logger: Logger | undefined;
  #staticPollHeaders: Record<string, string> | null = null;

  #state: ConnState;
  readonly #queue: ConnInput[] = [];
  #busy = false;
  #retryCancel: Cancel | null = null;
  #ws: WsConn | null = null;
  #poller: AjaxPoller | null = null;
  readonly #posts = new Set<AbortController>();
  /** Ajax POSTs not yet settled, for `whenSent()`. */
  readonly #postsInFlight = new Set<Promise<void>>();
  #handshake: HandshakeInfo | undefined;
  #openWaiters: { resolve: (h: HandshakeInfo | undefined) => void; reject: (e: unknown) => void }[] = [];
  #closed = false;

  readonly #on = {
    recv: new Listeners<ClientEvents["recv"]>(),
    handshake: new Listeners<ClientEvents["handshake"]>(),
    state: new Listeners<ClientEvents["state"]>(),
    ping: new Listeners<ClientEvents["ping"]>(),
  };
  readonly #taps = new Listeners<(e: ClientTapEvent) => void>();
  /** The listeners of #taps that want frame events (all but those added with `{ frames: false }`). */
  readonly #frameTaps = new Listeners<(e: ClientTapEvent) => void>();
  readonly #traffic: ClientTraffic = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  readonly #routers = new Listeners<(event: ChskEvent) => void>();

  readonly #onRetry = () => {
    this.#retryCancel = null;
    this.dispatch({ type: "retry" });
  };
  readonly #onAbort = () => void this.close();

  constructor(o: ClientOptions) {
    if (o === null || typeof o !== "object") throw new TypeError("chsk client: options object required");
    if (typeof o.url !== "string" || o.url.length === 0) throw new TypeError("chsk client: `url` is required");
    const type = o.type ?? CLIENT_DEFAULTS.type;
    if (!CLIENT_TYPES.has(type)) throw new TypeError(`chsk client: type must be "auto", "ws" or "ajax", not ${JSON.stringify(type)}`);
    this.#wsFactory = o.webSocket ?? null;
    if (type === "ws" && this.#wsFactory === null) throw new TypeError('chsk client: type "ws" needs a WebSocket implementation (options.webSocket)');
    const f = o.fetch ?? null;
    if (type === "ajax" && f === null) throw new TypeError('chsk client: type "ajax" needs a fetch implementation (options.fetch)');
    this.fetch =
      f ??
      ((() => Promise.reject(new TypeError("chsk client: no fetch implementation (options.fetch)"))) as unknown as typeof fetch);
    if (o.csrfToken !== undefined && o.csrfToken !== null && typeof o.csrfToken !== "string" && typeof o.csrfToken !== "function") {
      throw new TypeError("chsk client: csrfToken must be a string, a function or null");
    }
    if (o.clientId !== undefined && (typeof o.clientId !== "string" || o.clientId.trim() === "")) {
      throw new TypeError("chsk client: clientId must be a non-blank string");
    }
    if (o.backoffMs !== undefined && typeof o.backoffMs !== "function") throw new TypeError("chsk client: backoffMs must be a function");
    if (o.logger !== undefined && (o.logger === null || typeof o.logger.warn !== "function" || typeof o.logger.error !== "function")) {
      throw new TypeError("chsk client: logger needs warn and error functions");
    }
    this.#logger = o.logger;

    this.#wsKaliveMs = checkMs("wsKaliveMs", o.wsKaliveMs, CLIENT_DEFAULTS.wsKaliveMs, true);
    this.#wsPingTimeoutMs = checkMs("wsPingTimeoutMs", o.wsPingTimeoutMs, CLIENT_DEFAULTS.wsPingTimeoutMs);
    this.ajaxTimeoutMs = checkMs("ajaxTimeoutMs", o.ajaxTimeoutMs, CLIENT_DEFAULTS.ajaxTimeoutMs);

    const base = (globalThis as { location?: { href?: string } }).location?.href;
    const ends = resolveEndpoints(o.url, typeof base === "string" ? base : undefined);
    this.ajaxUrl = ends.ajax;
    this.#wsUrlBase = appendQuery(ends.ws, o.params ? formatQuery(o.params, true, WS_RESERVED) : "");
    this.#pollBase = appendQuery(ends.ajax, o.params ? formatQuery(o.params, false, AJAX_RESERVED) : "");

    this.clientId = o.clientId ?? globalThis.crypto.randomUUID();
    this.encodedClientId = encodeURIComponent(this.clientId);
    this.packer = o.packer ?? ednPacker();
    this.clock = o.clock ?? systemClock;
    this.limits = o.limits;
    this.credentials = o.withCredentials ? "include" : undefined;
    this.#csrf = o.csrfToken;
    this.#userHeaders = o.headers;
    this.pongFrame = encodeClientPong(this.packer);
    this.acks = new AckTable(this.clock);
    const backoff = o.backoffMs ?? expBackoff;
    const clock = this.clock;
    this.#ctx = {
      get now() {
        return clock.now();
      },
      backoffMs: (n: number) => backoff(n),
    };
    this.#state = initialConnState(type, this.#wsFactory !== null);

    this.#signal = o.signal;
    if (o.signal?.aborted) {
      void this.close();
      return;
    }
    o.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (o.autoConnect ?? true) this.connect();
  }

  // -------------------------------------------------------------------------
  // Public API

  get state(): Readonly<ClientState> {
    return this.#state.pub;
  }

  /** Internal, for tests and the inspector: the lifecycle phase. */
  get phase(): ConnState["phase"] {
    return this.#state.phase;
  }

  send(event: ChskEvent): boolean;
  send(event: ChskEvent, options: SendOptions & { timeoutMs?: undefined }): boolean;
  send(event: ChskEvent, options: SendOptions & { timeoutMs: number }): Promise<unknown>;
  send(event: ChskEvent, timeoutMs: number): Promise<unknown>;
  send(event: ChskEvent, timeoutMs: number, cb: ReplyCallback): boolean;
  send(event: ChskEvent, a?: number | SendOptions, cb?: ReplyCallback): boolean | Promise<unknown> {
    assertEvent(event);
    let timeoutMs: number | undefined;
    if (typeof a === "number") timeoutMs = a;
    else if (a !== undefined && a !== null) {
      if (typeof a !== "object") throw new TypeError("chsk send: 2nd argument must be a timeout (ms) or an options object");
      timeoutMs = a.timeoutMs;
    }
    if (cb !== undefined && typeof cb !== "function") throw new TypeError("chsk send: callback must be a function");
    if (cb !== undefined && timeoutMs === undefined) throw new TypeError("chsk send: a callback requires a timeout");
    if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs >= 0 && Number.isFinite(timeoutMs))) {
      throw new RangeError(`chsk send: timeoutMs must be a non-negative number, not ${String(timeoutMs)}`);
    }
    const wantsPromise = timeoutMs !== undefined && cb === undefined;

    const s = this.#state;
    if (!s.pub.open) {
      const e = new ChskError("CHSK_ERR_CLOSED", "The client is not open");
      if (cb !== undefined) {
        cb(e);
        return false;
      }
      return wantsPromise ? Promise.reject(e) : false;
    }
    return s.transport === "ws" ? this.#sendWs(event, timeoutMs, cb, wantsPromise) : this.#sendAjax(event, timeoutMs, cb, wantsPromise);
  }

  #sendWs(event: ChskEvent, timeoutMs: number | undefined, cb: ReplyCallback | undefined, wantsPromise: boolean): boolean | Promise<unknown> {
    const ws = this.#ws;
    if (timeoutMs === undefined) {
      const frame = encodeClientEvent(this.packer, event, null);
      if (ws !== null && ws.send(frame, "event", event[0], null)) return true;
      this.dispatch({ type: "reconnect", reason: "ws-error", conn: this.#state.conn });
      return false;
    }
    let id: string;
    let promise: Promise<unknown> | undefined;
    // Tagged with the attempt: a 1009 close fails the replies pending on that socket.
    const owner = ws?.conn;
    if (cb !== undefined) id = this.acks.add(timeoutMs, cb, owner);
    else ({ id, promise } = this.acks.addPromise(timeoutMs, owner));
    let frame: string | Uint8Array;
    try {
      frame = encodeClientEvent(this.packer, event, id);
    } catch (e) {
      // Unpackable data is a programming error: nothing was sent, so nothing is pending
      // (the callback is not called, the promise never returned); throw now.
      this.acks.forget(id);
      throw e;
    }
    if (ws !== null && ws.send(frame, "event", event[0], id)) return wantsPromise ? promise! : true;
    // Sente: cb(:chsk/error), then reconnect with reason :ws-error.
    this.acks.reject(id, new ChskError("CHSK_ERR_TRANSPORT", "WebSocket send failed"));
    this.dispatch({ type: "reconnect", reason: "ws-error", conn: this.#state.conn });
    return wantsPromise ? promise! : false;
  }

  #sendAjax(event: ChskEvent, timeoutMs: number | undefined, cb: ReplyCallback | undefined, wantsPromise: boolean): boolean | Promise<unknown> {
    const id = event[0];
    if (timeoutMs === undefined) {
      this.#track(ajaxPost(this, encodeClientEvent(this.packer, event, null), this.ajaxTimeoutMs, null, this.#posts, id, null));
      return true;
    }
    const frame = encodeClientEvent(this.packer, event, AJAX_CB);
    if (!wantsPromise) {
      this.#track(ajaxPost(this, frame, timeoutMs, cb!, this.#posts, id, AJAX_CB));
      return true;
    }
    return new Promise((resolve, reject) => {
      this.#track(ajaxPost(this, frame, timeoutMs, (e, v) => (e === null ? resolve(v) : reject(e)), this.#posts, id, AJAX_CB));
    });
  }

  #track(post: Promise<void>): void {
    // ajaxPost reports its own failures; a rejection here would be a bug, kept loud.
    const settled = post.then(
      () => void this.#postsInFlight.delete(settled),
      (e: unknown) => {
        this.#postsInFlight.delete(settled);
        rethrowLater(e);
      },
    );
    this.#postsInFlight.add(settled);
  }

  whenSent(): Promise<void> {
    return Promise.all(this.#postsInFlight).then(() => {});
  }

  on<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): Unsubscribe {
    const l = this.#on[type] as unknown as Listeners<ClientEvents[K]> | undefined;
    if (l === undefined) throw new TypeError(`chsk client: unknown event ${JSON.stringify(type)}`);
    return l.add(listener);
  }

  tap(listener: (event: ClientTapEvent) => void, options?: TapOptions): Unsubscribe {
    if (typeof listener !== "function") throw new TypeError("chsk tap(listener): listener must be a function");
    const off = this.#taps.add(listener);
    if (options?.frames === false) return off;
    const offFrames = this.#frameTaps.add(listener);
    return () => {
      off();
      offFrames();
    };
  }

  traffic(): ClientTraffic {
    return { ...this.#traffic };
  }

  startRouter(
    handler: (msg: ClientEventMsg) => void | Promise<void>,
    options?: { onError?: (e: unknown, msg: ClientEventMsg) => void },
  ): Unsubscribe {
    const router: Router = { handler, onError: options?.onError ?? this.#onRouterError };
    const run = (event: ChskEvent) => {
      const msg: ClientEventMsg = { event, id: event[0], data: event[1], client: this };
      try {
        const r = router.handler(msg);
        if (r !== undefined && r !== null && typeof (r as Promise<void>).then === "function") {
          (r as Promise<void>).then(undefined, (e: unknown) => this.#routerError(router, e, msg));
        }
      } catch (e) {
        this.#routerError(router, e, msg);
      }
    };
    return this.#routers.add(run);
  }

  /** The default `onError`: the tap and the logger, never the console. */
  readonly #onRouterError = (e: unknown, msg: ClientEventMsg) => {
    const message = `Router handler failed on ${msg.id}: ${e instanceof Error ? e.message : String(e)}`;
    const error = new ChskError("CHSK_ERR_HANDLER", message, { cause: e, detail: { eventId: msg.id } });
    if (this.#taps.list.length > 0) this.#tap({ type: "error", error, clientId: this.clientId, at: this.clock.now() });
    this.#logger?.error(`chsk client: ${message}`, { code: error.code, clientId: this.clientId, eventId: msg.id, error: e });
  };

  #routerError(router: Router, e: unknown, msg: ClientEventMsg): void {
    try {
      router.onError(e, msg);
    } catch (e2) {
      rethrowLater(e2);
    }
  }

  connect(): void {
    this.dispatch({ type: "connect" });
  }

  disconnect(): void {
    this.dispatch({ type: "disconnect" });
  }

  reconnect(): void {
    this.dispatch({ type: "reconnect", reason: "requested-reconnect" });
  }

  breakConnection(): void {
    this.dispatch({ type: "break" });
  }

  whenOpen(): Promise<HandshakeInfo | undefined> {
    if (this.#closed) return Promise.reject(new ChskError("CHSK_ERR_CLOSED", "Client closed"));
    if (this.#state.pub.open) return Promise.resolve(this.#handshake);
    return new Promise((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    // The reducer closes the live transport (1000) and cancels the retry timer.
    this.dispatch({ type: "dispose" });
    for (const c of this.#posts) c.abort();
    this.#posts.clear();
    const closedErr = new ChskError("CHSK_ERR_CLOSED", "Client closed");
    this.acks.rejectAll(closedErr);
    const waiters = this.#openWaiters;
    this.#openWaiters = [];
    for (const w of waiters) w.reject(closedErr);
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -------------------------------------------------------------------------
  // The reducer loop

  /** Feed an input to the state machine. Re-entrant calls are queued (run-to-completion). */
  dispatch(input: ConnInput): void {
    this.#queue.push(input);
    if (this.#busy) return;
    this.#busy = true;
    try {
      let next: ConnInput | undefined;
      while ((next = this.#queue.shift()) !== undefined) {
        const old = this.#state;
        const r = step(old, next, this.#ctx);
        this.#state = r.state;
        if (r.state.pub !== old.pub) this.#emitState(old.pub, r.state.pub);
        for (const fx of r.effects) this.#run(fx);
      }
    } finally {
      this.#busy = false;
    }
  }

  #run(fx: ConnEffect): void {
    switch (fx.type) {
      case "open-transport":
        if (fx.transport === "ws") {
          this.#poller?.stop();
          this.#poller = null;
          const c = new WsConn(this, fx.conn, this.#wsKaliveMs, this.#wsPingTimeoutMs);
          this.#ws = c;
          c.open(this.#wsFactory!, this.#wsUrl(), this.#userHeaders);
        } else {
          this.#ws = null;
          const p = new AjaxPoller(this, fx.conn);
          this.#poller = p;
          p.start();
        }
        return;
      case "close-transport":
        if (fx.transport === "ws") {
          if (this.#ws !== null && this.#ws.conn === fx.conn) this.#ws.close(fx.code, fx.reason);
        } else if (this.#poller !== null && this.#poller.conn === fx.conn) {
          this.#poller.stop();
        }
        return;
      case "arm-retry":
        this.#retryCancel?.();
        this.#retryCancel = null;
        // Sente's retry 1 is a direct call, not a timer.
        if (fx.ms <= 0) this.#queue.push({ type: "retry" });
        // Ref'd: between attempts nothing else holds a Node process, and a client
        // that means to be connected must not let it exit (close() cancels it).
        else this.#retryCancel = this.clock.setTimer(fx.ms, this.#onRetry, KEEP_PROCESS);
        return;
      case "cancel-retry":
        this.#retryCancel?.();
        this.#retryCancel = null;
        return;
      case "handshake": {
        const info = fx.info;
        this.#handshake = info;
        if (fx.transport === "ws" && this.#ws?.conn === fx.conn) this.#ws.opened();
        if (this.#taps.list.length > 0) {
          this.#tap({ type: "conn:open", transport: fx.transport, connId: this.#connIdOf(fx.transport, fx.conn), clientId: this.clientId, at: this.clock.now() });
        }
        this.#logger?.info?.(`chsk client: open (${fx.transport})`, { clientId: this.clientId, uid: info.uid });
        this.#emit(this.#on.handshake.list, info);
        this.#route([Reserved.handshake, [info.uid, null, info.handshakeData, info.firstHandshake]]);
        const waiters = this.#openWaiters;
        if (waiters.length > 0) {
          this.#openWaiters = [];
          for (const w of waiters) w.resolve(info);
        }
        return;
      }
      case "conn-ended":
        if (this.#taps.list.length > 0) {
          const connId = this.#connIdOf(fx.transport, fx.conn);
          const base = { type: "conn:close", transport: fx.transport, connId, clientId: this.clientId, reason: fx.reason, at: this.clock.now() } as const;
          this.#tap(fx.code === undefined ? base : { ...base, code: fx.code });
        }
        this.#logger?.info?.(`chsk client: closed (${fx.transport}, ${fx.reason}${fx.code === undefined ? "" : ` ${fx.code}`})`, {
          clientId: this.clientId,
          reason: fx.reason,
          code: fx.code,
        });
        return;
    }
  }

  #emitState(old: ClientState, neu: ClientState): void {
    const openChanged = old.open !== neu.open;
    const change: StateChange = { old, new: neu, openChanged };
    if (openChanged) {
      change.opened = neu.open;
      change.closed = !neu.open;
      change.firstOpen = neu.open && !old.everOpened;
    }
    this.#emit(this.#on.state.list, change);
    if (this.#routers.list.length > 0) {
      // Sente adds the transition keys to the new-state map it routes (not to the stored state).
      const routed = openChanged
        ? { ...neu, openChanged: true, opened: change.opened, closed: change.closed, firstOpen: change.firstOpen }
        : neu;
      this.#route([Reserved.state, [old, routed, openChanged]]);
    }
  }

  // -------------------------------------------------------------------------
  // Emission helpers

  #emit<A>(list: readonly ((a: A) => void)[], arg: A): void {
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(arg);
      } catch (e) {
        rethrowLater(e);
      }
    }
  }

  #route(event: ChskEvent): void {
    const list = this.#routers.list;
    for (let i = 0; i < list.length; i++) list[i]!(event);
  }

  #tap(ev: ClientTapEvent): void {
    this.#emit(this.#taps.list, ev);
  }

  /** The tap id of attempt `conn`: its WS socket's, or its latest poll exchange's. */
  #connIdOf(transport: Transport, conn: number): string {
    if (transport === "ws") return this.#ws !== null && this.#ws.conn === conn ? this.#ws.connId : newConnId("ws");
    return (this.#poller !== null && this.#poller.conn === conn ? this.#poller.connId : undefined) ?? newConnId("get");
  }

  // -------------------------------------------------------------------------
  // Transport hosts (WsHost & AjaxHost). Internal: not part of the `Client`
  // type; the transports call these, nothing else should.

  isOpen(): boolean {
    return this.#state.pub.open;
  }

  isCurrent(conn: number): boolean {
    return this.#state.conn === conn && !this.#closed;
  }

  tapping(): boolean {
    return this.#taps.list.length > 0;
  }

  tappingFrames(): boolean {
    return this.#frameTaps.list.length > 0;
  }

  emitTap(ev: ClientTapEvent): void {
    this.#emit(ev.type === "frame:in" || ev.type === "frame:out" ? this.#frameTaps.list : this.#taps.list, ev);
  }

  count(dir: "in" | "out", data: string | Uint8Array): void {
    const t = this.#traffic;
    if (dir === "in") {
      t.framesIn++;
      t.bytesIn += typeof data === "string" ? data.length : data.byteLength;
    } else {
      t.framesOut++;
      t.bytesOut += typeof data === "string" ? data.length : data.byteLength;
    }
  }

  report(error: ChskError, record: boolean, connId?: string): void {
    if (this.#taps.list.length > 0) {
      this.#tap(connId === undefined ? { type: "error", error, clientId: this.clientId, at: this.clock.now() } : { type: "error", error, connId, clientId: this.clientId, at: this.clock.now() });
    }
    this.#logger?.warn(`chsk client: ${error.code}: ${error.message}`, { code: error.code, clientId: this.clientId, status: error.status });
    if (record && !this.#closed) {
      this.dispatch(
        error.status === undefined
          ? { type: "error", code: error.code, message: error.message }
          : { type: "error", code: error.code, message: error.message, status: error.status },
      );
    }
  }

  serverPing(): void {
    this.#emit(this.#on.ping.list, undefined as never);
    if (this.#routers.list.length > 0) this.#route([Reserved.wsPing]);
  }

  lateReply(cbId: string, value: unknown): void {
    // Sente: "cb reply w/o local cb-fn" warning.
    this.report(
      new ChskError("CHSK_ERR_TIMEOUT", `Reply for unknown or expired callback id ${JSON.stringify(cbId)}`, {
        detail: { cbId, reply: value, late: true },
      }),
      false,
    );
  }

  deliver(events: ChskEvent[], bad: unknown[]): void {
    for (let i = 0; i < bad.length; i++) {
      this.report(
        new ChskError("CHSK_ERR_BAD_EVENT", "Server pushed an invalid or chsk/-namespaced event; dropped", { detail: { event: bad[i] } }),
        false,
      );
    }
    const recv = this.#on.recv.list;
    const routing = this.#routers.list.length > 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      if (recv.length > 0) this.#emit(recv, ev);
      if (routing) this.#route(ev);
    }
  }

  pollUrl(handshake: boolean): string {
    return appendQuery(
      this.#pollBase,
      handshake
        ? `udt=${this.clock.now()}&client-id=${this.encodedClientId}&handshake%3F=1`
        : `udt=${this.clock.now()}&client-id=${this.encodedClientId}`,
    );
  }

  headers(contentType: string | undefined): Record<string, string> {
    const dynamic = typeof this.#csrf === "function";
    if (contentType === undefined && !dynamic && this.#staticPollHeaders !== null) return this.#staticPollHeaders;
    const h: Record<string, string> = { ...this.#userHeaders };
    const token = this.#csrfToken();
    // Sente's poll `assoc`s the header even when nil; its POST uses `assoc-some`, which drops it.
    if (token !== null) h["X-CSRF-Token"] = token;
    else if (contentType === undefined) h["X-CSRF-Token"] = "";
    h["X-Requested-With"] = "XMLHTTPRequest";
    if (contentType !== undefined) h["Content-Type"] = contentType;
    else if (!dynamic) this.#staticPollHeaders = h;
    return h;
  }

  /** Sente's `get-client-csrf-token-str`: the (re-read) token, or null when nil/blank. */
  #csrfToken(): string | null {
    const c = this.#csrf;
    const v = typeof c === "function" ? c() : c;
    return typeof v === "string" && v.trim() !== "" ? v : null;
  }

  #wsUrl(): string {
    const token = this.#csrfToken();
    const q = formatQuery(token === null ? { "client-id": this.clientId } : { "client-id": this.clientId, "csrf-token": token });
    return appendQuery(this.#wsUrlBase, q);
  }
}
