/**
 * State and helpers shared by both transports: options, packer, the
 * connection registry, the outbox, the sweeper, event routing, taps and
 * the admission pipeline (checks → uid).
 */
import { Emitter } from "../core/clock.js";
import { ChskError, type ChskErrorCode, CloseCode } from "../core/protocol/errors.js";
import { encodeLpTimeout, encodeDummyCb200 } from "../core/protocol/codec.js";
import { type ChskEvent, Reserved } from "../core/protocol/events.js";
import type { DecodeLimits } from "../core/packers/types.js";
import type { ResolvedOptions } from "./options.js";
import { type Entry, Registry } from "./registry.js";
import type { Request } from "./request.js";
import { Dispatcher } from "./router.js";
import { allowOrigin, validCsrfToken } from "./security.js";
import { Outbox } from "./outbox.js";
import { retryWindowMs } from "./pending-frames.js";
import { ClusterLink, type ClusterHost } from "./cluster/link.js";
import type { Frame } from "./cluster/types.js";
import type { PresenceEffect } from "./presence.js";
import { Sweeper } from "./scheduler.js";
import { ErrorReporter, Taps } from "./taps.js";
import type { ChskRequest, HttpAnswer, ServerEventMsg, ServerEvents, ServerTapEvent, Transport, Uid } from "./types.js";

type Thenable<T> = PromiseLike<T>;
type MaybePromise<T> = T | Thenable<T>;

export function isThenable<T>(x: unknown): x is Thenable<T> {
  return x !== null && (typeof x === "object" || typeof x === "function") && typeof (x as Thenable<T>).then === "function";
}

/** `f(v)` now if `v` is a plain value, after it settles if it is a promise. */
export function chain<A, B>(v: MaybePromise<A>, f: (a: A) => MaybePromise<B>): MaybePromise<B> {
  return isThenable<A>(v) ? Promise.resolve(v).then(f) : f(v);
}

/** A refused request: the answer, and the code naming why. */
export interface Refusal {
  answer: HttpAnswer;
  code: ChskErrorCode;
  uid?: undefined;
}

/** What admission decided: refuse with an answer, or go ahead as `uid`. */
export type Admission = Refusal | { answer: null; uid: Uid };
const ANONYMOUS: Admission = Object.freeze({ answer: null, uid: null });

/** What {@link ServerCore.refused} reports. */
export interface RefusalReport {
  transport: Transport;
  /** What the refused exchange's tap id hangs off (the upgrade socket, the response). */
  key: object;
  /** `ws-`, `get-` or `post-`. */
  prefix: string;
  clientId?: string | undefined;
  uid?: Uid | undefined;
  answer: HttpAnswer;
  code: ChskErrorCode;
  /** The peer's error behind the refusal, reported as such. */
  error?: ChskError | undefined;
  /** What a hook threw (`CHSK_ERR_HOOK_FAILED`). */
  cause?: unknown;
}

const MAX_REFUSAL_BODY = 1024;

/** The reject hook's answer, if any, as a refusal (module-level: the passing path allocates nothing). */
const rejected = (a: HttpAnswer | null | undefined): Refusal | null => (a === null || a === undefined ? null : { answer: a, code: "CHSK_ERR_REJECTED" });

/**
 * `chsk/uidport-open` / `chsk/uidport-close` from a client would pass for
 * the server's own events. Sente routes them as sent; we route them as
 * `chsk/bad-event`.
 */
const isServerOnlyId = (id: string): boolean =>
  id.length > 13 && id.charCodeAt(0) === 0x63 /* c */ && (id === Reserved.uidportOpen || id === Reserved.uidportClose);

/**
 * Users are looked up by their uid (a Map key): an object or array uid
 * would handshake, then never receive a push, since `send()` can't name the
 * same object. Such a `userId` result fails the request (500, logged)
 * instead. Numbers pass (JS apps with numeric ids, Sente's JVM apps alike).
 */
function checkedUid(u: unknown): Uid {
  if (u === undefined || u === null) return null;
  if (typeof u === "string" || (typeof u === "number" && Number.isFinite(u))) return u as Uid;
  throw new TypeError(`userId must return a string (or a number) or null/undefined, got ${Array.isArray(u) ? "an array" : typeof u}`);
}

/**
 * The request of a uidport event the cluster decided with no connection
 * here (a node died, an Ajax client stopped polling elsewhere).
 */
const CLUSTER_REQUEST: ChskRequest = Object.freeze({
  method: "GET",
  path: "",
  query: {},
  headers: {},
  cookies: {},
  clientId: "",
  form: {},
  remoteAddress: undefined,
  get raw(): never {
    throw new TypeError("This uidport event was decided by the cluster, not by a request on this node: it has no raw request");
  },
});

/**
 * What a transport hands the core (engine.io's `Transport`, Sente's
 * `IServerChan` adapter): its timeouts swept with the server's, and
 * cluster wake-ups. Its connections are registry {@link Entry}s, which
 * carry the per-connection contract (deliver, close, cut).
 */
export interface ServerTransport {
  readonly name: Transport;
  /** Times out what is due; returns the next due time. */
  sweep(now: number): number;
  /** A frame was queued in the cluster for `clientId`, which may be held here. */
  wake?(clientId: string): void;
}

export class ServerCore {
  readonly opts: ResolvedOptions;
  readonly packer: ResolvedOptions["packer"];
  readonly clock: ResolvedOptions["clock"];
  readonly limits: DecodeLimits;
  readonly taps: Taps;
  readonly events = new Emitter<ServerEvents>();
  readonly errors: ErrorReporter;
  readonly dispatcher: Dispatcher;
  readonly registry: Registry;
  readonly outbox: Outbox;
  readonly sweeper: Sweeper;
  readonly #transports: ServerTransport[] = [];
  /** Pre-packed constant frames. */
  readonly lpTimeoutFrame: string | Uint8Array;
  readonly dummyCb200Frame: string | Uint8Array;
  closed = false;
  readonly startedAt = Date.now();
  /** The cluster this server is a node of (the `cluster` option), or null. */
  readonly cluster: ClusterLink | null;

  #hookFailureLogged = false;

  constructor(opts: ResolvedOptions) {
    this.opts = opts;
    this.packer = opts.packer;
    this.clock = opts.clock;
    this.limits = { maxBytes: opts.maxFrameBytes, maxDepth: opts.maxDepth };
    this.lpTimeoutFrame = encodeLpTimeout(this.packer);
    this.dummyCb200Frame = encodeDummyCb200(this.packer);
    this.taps = new Taps(opts.logger);
    this.errors = new ErrorReporter(this.taps, this.events, () => this.clock.now(), opts.logger);
    this.dispatcher = new Dispatcher(opts.recvBufferSize, opts.logger);

    const positive = [
      opts.wsKaliveMs,
      opts.wsPingTimeoutMs,
      opts.lpTimeoutMs,
      opts.msAllowReconnectBeforeCloseWs,
      opts.msAllowReconnectBeforeCloseAjax,
      opts.closeTimeoutMs,
      opts.bodyTimeoutMs,
    ].filter((x) => x > 0);
    const quantum = Math.min(100, Math.max(1, Math.floor(Math.min(...positive) / 10)));
    this.sweeper = new Sweeper(this.clock, quantum, (now) => this.#sweep(now));

    this.cluster = opts.cluster === null ? null : new ClusterLink(opts.cluster, this.#clusterHost());
    this.registry = new Registry(opts.msAllowReconnectBeforeCloseWs, opts.msAllowReconnectBeforeCloseAjax, {
      presence: (fx, e) => this.#presence(fx, e),
      removed: (e) => {
        this.outbox.pending.forget(e);
        if (this.cluster !== null && e.transport === "ws" && !this.closed) this.cluster.wsClientGone(e.clientId);
        e.removed();
      },
      wake: (at) => this.sweeper.wake(at),
    });

    this.outbox = new Outbox({
      cluster: this.cluster,
      packer: this.packer,
      clock: this.clock,
      registry: this.registry,
      bufMs: { ws: opts.sendBufMsWs, ajax: opts.sendBufMsAjax },
      dropped: (error, entry) => {
        if (this.taps.on) {
          this.taps.emit({ type: "error", error, uid: entry?.uid ?? null, clientId: entry?.clientId ?? "", at: this.clock.now() });
        }
      },
      packFailed: (error, uid) => this.errors.report(error, uid),
      wake: (at) => this.sweeper.wake(at),
      maxBufferedBytes: opts.maxBufferedBytesPerClient,
      overflow: (entry) => this.slowConsumer(entry, entry.pendingBytes),
    });
  }

  /**
   * Drops a client that leaves more than `maxBufferedBytesPerClient` unread
   * (WS: unsent socket bytes; Ajax / reconnecting WS: kept push frames).
   * Its connection is cut at once (a close frame would queue behind the
   * backlog), its kept frames are let go, it leaves the registry (so no
   * further push is kept for it) and the error is reported once.
   */
  slowConsumer(entry: Entry, bufferedBytes: number): void {
    const max = this.opts.maxBufferedBytesPerClient;
    const error = new ChskError("CHSK_ERR_SLOW_CONSUMER", `Client ${entry.clientId} left more than ${max} bytes unread`, {
      closeCode: CloseCode.SLOW_CONSUMER,
      detail: { transport: entry.transport, bufferedBytes, maxBufferedBytes: max },
    });
    this.errors.report(error, entry.uid, entry.clientId);
    this.outbox.pending.release(entry);
    entry.cut("slow-consumer", CloseCode.SLOW_CONSUMER);
    this.registry.remove(entry, true);
  }

  addTransport(t: ServerTransport): void {
    this.#transports.push(t);
  }

  #sweep(now: number): number {
    let next = this.registry.sweep(now);
    next = Math.min(next, this.outbox.pending.sweep(now));
    for (const t of this.#transports) next = Math.min(next, t.sweep(now));
    return next;
  }

  // -------------------------------------------------------------------------
  // Routing

  /** Builds the event-msg a router sees; `reply` only when the client asked for one. */
  eventMsg(
    event: ChskEvent,
    uid: Uid,
    clientId: string,
    transport: Transport,
    req: Request,
    reply: ((value: unknown) => boolean) | undefined,
  ): ServerEventMsg {
    if (isServerOnlyId(event[0])) event = [Reserved.badEvent, event];
    return reply === undefined
      ? { event, id: event[0], data: event[1], uid, clientId, transport, req }
      : { event, id: event[0], data: event[1], uid, clientId, transport, req, reply };
  }

  route(msg: ServerEventMsg): void {
    if (this.closed) return;
    this.dispatcher.dispatch(msg);
  }

  /**
   * Carries out presence effects (see `presence.ts`). Alone, this server
   * decides uidport events; clustered, its WS changes go to the cluster,
   * which decides for every node (Ajax presence follows the polls there),
   * and the local decision only stands in while the cluster is unreachable.
   */
  #presence(effects: readonly PresenceEffect[], e: Entry): void {
    const cluster = this.cluster;
    if (cluster === null) {
      for (const fx of effects) {
        if (fx.type === "uidport-open") this.uidport(true, fx.uid, e);
        else if (fx.type === "uidport-close" && fx.notified) this.uidport(false, fx.uid, e);
      }
      return;
    }
    if (e.transport !== "ws") return;
    const first = effects[0]!;
    if (first.type !== "transport-up" && first.type !== "transport-down") return;
    const up = first.type === "transport-up";
    const local = effects.some((fx) => fx.type === (up ? "uidport-open" : "uidport-close"));
    cluster.wsPresence(up, first.uid, e, local);
  }

  /** Routes `chsk/uidport-open` / `-close` (and the events of the same names); `e` is null when the cluster decided without a local connection. */
  uidport(open: boolean, uid: Uid, e: Entry | null): void {
    if (this.closed) return;
    const id = open ? Reserved.uidportOpen : Reserved.uidportClose;
    const type = open ? "uidport:open" : "uidport:close";
    if (this.taps.on) this.taps.emit({ type, uid, at: this.clock.now() });
    this.route({
      event: [id, uid],
      id,
      data: uid,
      uid,
      clientId: e?.clientId ?? "",
      transport: e?.transport ?? "ws",
      req: e?.req ?? CLUSTER_REQUEST,
    });
    if (this.events.has(type)) this.events.emit(type, [uid], (err) => this.hookFailed(err));
  }

  #clusterHost(): ClusterHost {
    const o = this.opts;
    return {
      now: () => this.clock.now(),
      setTimer: (ms, fn) => this.clock.setTimer(ms, fn),
      graceMs: { ws: o.msAllowReconnectBeforeCloseWs, ajax: o.msAllowReconnectBeforeCloseAjax },
      lpTimeoutMs: o.lpTimeoutMs,
      frameWindowMs: () => retryWindowMs(),
      deliverUser: (uid, frame) => this.outbox.deliverUser("ws", uid, frame, this.clock.now()),
      deliverClient: (clientId, frame) => {
        const entry = this.registry.byClient.ws.get(clientId);
        if (entry !== undefined) this.outbox.deliver(entry, frame, this.clock.now());
      },
      deliverBroadcast: (frame) => this.outbox.deliverAll("ws", frame, this.clock.now()),
      wake: (clientId) => {
        const ws = this.registry.byClient.ws.get(clientId);
        // A WS client that opened here before a frame was kept for it elsewhere takes it now.
        if (ws !== undefined && ws.isConnected) this.cluster?.wsClientOpen(clientId);
        for (const t of this.#transports) t.wake?.(clientId);
      },
      drain: (clientId, frames: Frame[]) => {
        const entry = this.registry.byClient.ws.get(clientId);
        const now = this.clock.now();
        for (const f of frames) {
          if (entry !== undefined) this.outbox.deliver(entry, f, now);
        }
      },
      uidport: (open, uid, e) => this.uidport(open, uid, e),
      report: (error) => this.errors.report(error),
      warn: (message, fields) => this.opts.logger.warn(message, fields),
      snapshot: () => {
        let ws = 0;
        let ajax = 0;
        const wsClients: string[] = [];
        const heldAjax: { clientId: string; uid: Uid }[] = [];
        for (const e of this.registry.entries()) {
          if (!e.isConnected) continue;
          if (e.transport === "ws") {
            ws++;
            wsClients.push(e.clientId);
          } else {
            ajax++;
            heldAjax.push({ clientId: e.clientId, uid: e.uid });
          }
        }
        return {
          wsUids: [...this.registry.connected.ws],
          wsClients,
          heldAjax,
          report: { users: this.registry.connected.any.size, clients: { ws, ajax }, startedAt: this.startedAt, pid: process.pid },
        };
      },
    };
  }

  // -------------------------------------------------------------------------
  // Admission: reject hook → CSRF → origin → authorized → uid (protocol.md §1.4)

  admit(req: Request): MaybePromise<Admission> {
    // Written out (no `chain`) so the all-sync path allocates no closures.
    const refusal = this.#checks(req, 0);
    if (isThenable<Refusal | null>(refusal)) {
      return Promise.resolve(refusal).then((r) => (r === null ? this.#uid(req) : r));
    }
    return refusal === null ? this.#uid(req) : refusal;
  }

  #uid(req: Request): MaybePromise<Admission> {
    const f = this.opts.userId;
    if (f === null) return ANONYMOUS;
    const uid = f(req);
    if (isThenable<Uid | undefined>(uid)) return Promise.resolve(uid).then((u) => ({ answer: null, uid: checkedUid(u) }));
    return { answer: null, uid: checkedUid(uid) };
  }

  #checks(req: Request, step: number): MaybePromise<Refusal | null> {
    const o = this.opts;
    for (; step < 4; step++) {
      let r: MaybePromise<Refusal | null>;
      switch (step) {
        case 0:
          r = o.reject === null ? null : chain(o.reject(req), rejected);
          break;
        case 1: {
          const f = o.csrfToken;
          if (f === null) continue;
          r = chain(f(req), (ref) => (validCsrfToken(ref, req) ? null : { answer: o.badCsrf(req), code: "CHSK_ERR_BAD_CSRF" }));
          break;
        }
        case 2:
          r = allowOrigin(o.allowedOrigins, req.headers) ? null : { answer: o.badOrigin(req), code: "CHSK_ERR_BAD_ORIGIN" };
          break;
        default: {
          const f = o.authorized;
          if (f === null) continue;
          r = chain(f(req), (ok) => (ok ? null : { answer: o.unauthorized(req), code: "CHSK_ERR_UNAUTHORIZED" }));
        }
      }
      if (r === null) continue;
      if (isThenable<Refusal | null>(r)) {
        const next = step + 1;
        return Promise.resolve(r).then((a) => (a === null ? this.#checks(req, next) : a));
      }
      return r;
    }
    return null;
  }

  /** A hook (userId, csrfToken, …) threw: the request gets a 500 and the app one log line. */
  hookFailed(e: unknown): HttpAnswer {
    if (!this.#hookFailureLogged) {
      this.#hookFailureLogged = true;
      this.opts.logger.error("a server hook threw (further failures are not logged)", { error: e });
    }
    return { status: 500, body: "Internal Server Error" };
  }

  /**
   * A request on the channel path was refused; the caller has answered it.
   * Its peer error, if any, is reported first (tap `error`, the `"error"`
   * event or one `warn`); then the `refused` tap; and a refusal that is no
   * error nor a hook failure (logged by {@link hookFailed}) is logged at
   * `info`. Refusals are rare: this path may allocate.
   */
  refused(r: RefusalReport): void {
    if (r.error !== undefined) this.errors.report(r.error, r.uid, r.clientId);
    const status = r.answer.status;
    const taps = this.taps;
    if (taps.on) {
      const body = r.answer.body ?? "";
      const e: ServerTapEvent = {
        type: "refused",
        transport: r.transport,
        connId: taps.idOf(r.key, r.prefix),
        status,
        body: body.length > MAX_REFUSAL_BODY ? body.slice(0, MAX_REFUSAL_BODY) : body,
        code: r.code,
        at: this.clock.now(),
      };
      if (r.clientId !== undefined && r.clientId !== "") e.clientId = r.clientId;
      if (r.uid !== undefined) e.uid = r.uid;
      if (r.cause !== undefined) e.cause = r.cause;
      taps.emit(e);
    }
    const info = this.opts.logger.info;
    if (r.error === undefined && r.code !== "CHSK_ERR_HOOK_FAILED" && info !== undefined) {
      const fields: Record<string, unknown> = { transport: r.transport, status, code: r.code };
      if (r.clientId) fields["clientId"] = r.clientId;
      info.call(this.opts.logger, `refused a ${r.transport === "ws" ? "WebSocket upgrade" : "request"}: ${status} ${r.code}`, fields);
    }
  }

  report(error: ChskError, uid?: Uid, clientId?: string): void {
    this.errors.report(error, uid, clientId);
  }
}
