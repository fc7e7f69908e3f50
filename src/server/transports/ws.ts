/**
 * The WebSocket transport, on `ws` in noServer mode.
 *
 * Upgrade: checks (protocol.md §1.4; a refusal is a plain HTTP response
 * on the raw socket, no 101) → `wss.handleUpgrade` → first frame is the
 * handshake → the connection enters the registry → `chsk/uidport-open` if
 * it is the uid's first.
 *
 * Keep-alive (§5.2) runs as ONE sweep over all sockets instead of a timer
 * per socket: every quarter of `min(wsKaliveMs, wsPingTimeoutMs)` each
 * socket is checked: idle for `wsKaliveMs` (no frame in or out) and not
 * already pinged → send `[:chsk/ws-ping nil]`; pinged and silent for
 * `wsPingTimeoutMs` → close with 4000 (`CloseCode.PING_TIMEOUT`). Any
 * inbound frame counts as the pong. A socket therefore pays two numbers of
 * state for keep-alive, and the server one timer.
 *
 * Per-socket listeners are shared functions (`this` is the socket; the
 * connection hangs off it under a symbol), so a connection allocates no
 * closures.
 *
 * Frames a connection sends in one tick (the replies to a burst of requests
 * read in one 'data' event, the handshake and the frames kept for it, a push
 * batch) leave in one `writev`: the first corks the TCP socket, and one
 * `process.nextTick` for all such sockets uncorks them once the code running
 * now is done. `ws` writes each frame with its own syscall otherwise, and on
 * loopback that syscall was half the server's CPU per echo. Bytes and order
 * are unchanged (a close frame queues behind the frames before it; `ws`
 * ends the socket, which flushes, only after it); only the TCP segmentation
 * is.
 *
 * Slow consumers: before each frame, a socket that still has more than
 * `maxBufferedBytesPerClient` unsent (`bufferedAmount`: a peer that stopped
 * reading) is cut with `terminate()`, not closed: a close frame would wait
 * behind the backlog the peer is not reading, and the backlog would stay in
 * memory until `closeTimeoutMs`. The peer sees the TCP connection end
 * without a close frame (1006) and reconnects; the server reports 4001
 * (`CloseCode.SLOW_CONSUMER`) on the `conn:close` tap and the error. Corked
 * bytes count in `bufferedAmount` although nothing waits for the peer yet,
 * so a socket over the limit while corked is flushed and looked at again:
 * only what the kernel would not take counts, as without corking.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { ChskError, type ChskErrorCode, CloseCode } from "../../core/protocol/errors.js";
import { decodeClientMessage, encodeHandshake, encodePong, encodeReply, encodeServerPing } from "../../core/protocol/codec.js";
import { type ChskEvent, Reserved } from "../../core/protocol/events.js";
import { chain, isThenable, type Admission, type ServerCore, type ServerTransport } from "../core.js";
import { Entry } from "../registry.js";
import { isBlank, Request, writeRawAnswer } from "../request.js";
import type { HttpAnswer, Transport, Uid } from "../types.js";

const kConn = Symbol("chsk:conn");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const OPEN = WebSocket.OPEN;
const TEXT = { binary: false } as const;
const CLOSED_ANSWER: HttpAnswer = { status: 503, body: "CHSK_ERR_SERVER_CLOSED: server is closing" };

type ChskSocket = WebSocket & { [kConn]?: WsConn };

/**
 * Sockets corked in this tick, one entry per `cork()` still owed; the first
 * entry schedules the one `process.nextTick` that uncorks them all. (A
 * socket `ws` ended meanwhile is already uncorked: `end()` flushes, and the
 * extra `uncork()` does nothing.)
 */
const corked: Duplex[] = [];
function uncorkAll(): void {
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
  corked.length = 0;
}

export class WsConn extends Entry {
  /**
   * A frame went in or out since the last keep-alive scan. The hot path
   * sets this flag instead of reading the clock; the scan turns it into
   * `lastActivity` (so that is precise to one scan period).
   */
  active = false;
  /** When the last ping went out without an answer yet; 0 when not waiting. */
  pingedAt = 0;
  /** Set when the server ends the connection (for taps / the close sweep). */
  closeReason: string | null = null;
  /** The code the server meant when it cut the socket (the socket itself reports 1006); 0 if it didn't. */
  cutCode = 0;

  constructor(
    readonly host: WsTransport,
    readonly ws: ChskSocket,
    /** The TCP socket under `ws` (corked while this tick's frames gather). */
    readonly socket: Duplex,
    uid: Uid,
    clientId: string,
    req: Request,
    now: number,
  ) {
    super(uid, clientId, req, now);
  }

  get transport(): Transport {
    return "ws";
  }

  get isConnected(): boolean {
    return this.ws.readyState === OPEN;
  }

  override activityAt(now: number): number {
    return this.active ? now : this.lastActivity;
  }

  /** `now` may be 0 when the caller didn't read the clock; it is only used for taps. */
  deliver(frame: string | Uint8Array, now: number, wire: string | Uint8Array): boolean {
    const ws = this.ws;
    if (ws.readyState !== OPEN) return false;
    const max = this.host.maxBuffered;
    let buffered = ws.bufferedAmount;
    if (buffered > max && this.socket.writableCorked !== 0) {
      // This tick's frames count as unsent while corked: hand them to the kernel, then look again.
      this.socket.uncork();
      this.socket.cork();
      buffered = ws.bufferedAmount;
    }
    if (buffered > max) {
      this.host.core.slowConsumer(this, buffered);
      return true;
    }
    this.send(wire);
    this.active = true;
    const core = this.host.core;
    const taps = core.taps;
    if (taps.on) {
      const at = now === 0 ? core.clock.now() : now;
      taps.emit({ type: "frame:out", transport: "ws", channel: "ws", connId: taps.idOf(this, "ws-"), uid: this.uid, clientId: this.clientId, data: frame, at });
    }
    return true;
  }

  /** Sends one frame, held with the rest of this tick's (see the module comment). */
  send(wire: string | Uint8Array): void {
    const socket = this.socket;
    if (socket.writableCorked === 0) {
      socket.cork();
      if (corked.push(socket) === 1) process.nextTick(uncorkAll);
    }
    if (typeof wire === "string" || this.host.binary) this.ws.send(wire);
    else this.ws.send(wire, TEXT);
  }

  cut(reason: string, code: number): void {
    this.closeReason ??= reason;
    this.cutCode = code;
    // Frames sent earlier this tick still get whatever room the kernel has, as they did before corking.
    if (this.socket.writableCorked !== 0) this.socket.uncork();
    this.ws.terminate();
  }

  close(): void {
    this.host.close(this, 1000, "closed by server", "closed-by-server");
  }
}

// Shared listeners: `this` is the socket.
function onMessage(this: ChskSocket, data: Buffer, isBinary: boolean): void {
  const conn = this[kConn];
  if (conn !== undefined && this.readyState === OPEN) conn.host.onMessage(conn, data, isBinary);
}
function onClose(this: ChskSocket, code: number): void {
  const conn = this[kConn];
  if (conn !== undefined) conn.host.onClose(conn, code);
}
function onError(this: ChskSocket, err: Error & { code?: string }): void {
  const conn = this[kConn];
  if (conn !== undefined) conn.host.onSocketError(conn, err);
}
function ignore(): void {}

export class WsTransport implements ServerTransport {
  readonly name = "ws" as const;
  readonly binary: boolean;
  /** `maxBufferedBytesPerClient`. */
  readonly maxBuffered: number;
  readonly #wss: WebSocketServer;
  /** Every open socket, current or replaced (both are kept alive and pinged). */
  readonly #live = new Set<WsConn>();
  /** Sockets the server is closing, in closing order; cut if the peer doesn't finish the close. */
  readonly #closing = new Map<WsConn, number>();
  readonly #scanEveryMs: number;
  #nextScanAt = Infinity;
  readonly #pingFrame: string | Uint8Array;
  #allClosed: (() => void) | null = null;

  constructor(readonly core: ServerCore) {
    const o = core.opts;
    this.binary = core.packer.binary;
    this.maxBuffered = o.maxBufferedBytesPerClient;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const periods = [o.wsKaliveMs, o.wsPingTimeoutMs].filter((x) => x > 0);
    this.#scanEveryMs = o.wsKaliveMs > 0 ? Math.max(1, Math.min(...periods) / 4) : Infinity;
    this.#pingFrame = encodeServerPing(core.packer);
    core.addTransport(this);
  }

  get size(): number {
    return this.#live.size;
  }

  // -------------------------------------------------------------------------
  // Upgrade

  upgrade(raw: IncomingMessage, socket: Duplex, head: Buffer): void {
    const core = this.core;
    const req = new Request(raw, null);
    if (core.closed) {
      this.#refuse(socket, req.clientId, CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED");
      return;
    }
    if (isBlank(req.clientId)) {
      const error = new ChskError("CHSK_ERR_NO_CLIENT_ID", "WebSocket upgrade without a client-id param", { status: 400 });
      this.#refuse(socket, undefined, { status: 400, body: "Missing client-id" }, error.code, error);
      return;
    }
    let admission: Admission | PromiseLike<Admission>;
    let handshakeData: unknown;
    try {
      admission = core.admit(req);
      handshakeData = chain(admission, (a) => (a.answer === null ? this.#handshakeData(req) : null));
    } catch (e) {
      this.#hookFailed(socket, req.clientId, e);
      return;
    }
    if (!isThenable(handshakeData)) {
      this.#admitted(admission as Admission, handshakeData, req, raw, socket, head);
      return;
    }
    // Async hooks: keep the socket from crashing the process while we wait.
    socket.on("error", ignore);
    Promise.all([admission, handshakeData]).then(
      ([a, hs]) => {
        socket.off("error", ignore);
        this.#admitted(a, hs, req, raw, socket, head);
      },
      (e: unknown) => {
        socket.off("error", ignore);
        this.#hookFailed(socket, req.clientId, e);
      },
    );
  }

  /** Answers the upgrade with a plain HTTP refusal (no 101) and reports it. */
  #refuse(socket: Duplex, clientId: string | undefined, answer: HttpAnswer, code: ChskErrorCode, error?: ChskError, cause?: unknown): void {
    const gone = socket.destroyed || !socket.writable;
    writeRawAnswer(socket, answer);
    if (gone) {
      if (error !== undefined) this.core.report(error, undefined, clientId);
      return;
    }
    this.core.refused({ transport: "ws", key: socket, prefix: "ws-", clientId, answer, code, error, cause });
  }

  #hookFailed(socket: Duplex, clientId: string, e: unknown): void {
    this.#refuse(socket, clientId, this.core.hookFailed(e), "CHSK_ERR_HOOK_FAILED", undefined, e);
  }

  #handshakeData(req: Request): unknown {
    const f = this.core.opts.handshakeData;
    return f === null ? null : f(req);
  }

  #admitted(a: Admission, handshakeData: unknown, req: Request, raw: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (a.answer !== null) {
      this.#refuse(socket, req.clientId, a.answer, a.code);
      return;
    }
    if (this.core.closed) {
      this.#refuse(socket, req.clientId, CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED");
      return;
    }
    if (socket.destroyed) return;
    const uid = a.uid;
    this.#wss.handleUpgrade(raw, socket, head, (ws) => this.#open(ws, socket, req, uid, handshakeData));
  }

  #open(ws: ChskSocket, socket: Duplex, req: Request, uid: Uid, handshakeData: unknown): void {
    const core = this.core;
    ws.on("error", onError);
    let hs: string | Uint8Array;
    try {
      hs = encodeHandshake(core.packer, uid, handshakeData);
    } catch (e) {
      core.report(asChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE", "Cannot pack the handshake data"), uid, req.clientId);
      ws.close(CloseCode.INTERNAL_ERROR, "bad handshake data");
      return;
    }
    if (core.closed) {
      ws.close(CloseCode.GOING_AWAY, "server closing");
      return;
    }
    const now = core.clock.now();
    const conn = new WsConn(this, ws, socket, uid, req.clientId, req, now);
    // ~1 KB per idle connection unless the app asked to keep it.
    if (!core.opts.retainUpgradeRequest) req.release();
    else void req.remoteAddress; // cache it while the socket is open
    ws[kConn] = conn;
    ws.on("message", onMessage);
    ws.on("close", onClose);
    // Corked: the frames kept for this client (drained below) leave with it.
    conn.send(hs);
    const taps = core.taps;
    if (taps.on) {
      const connId = taps.idOf(conn, "ws-");
      taps.emit({ type: "conn:open", transport: "ws", connId, uid, clientId: conn.clientId, at: now });
      taps.emit({ type: "frame:out", transport: "ws", channel: "ws", connId, uid, clientId: conn.clientId, data: hs, at: now });
    }
    this.#live.add(conn);
    if (this.#nextScanAt === Infinity && this.#scanEveryMs !== Infinity) {
      this.#nextScanAt = now + this.#scanEveryMs;
      core.sweeper.wake(this.#nextScanAt);
    }
    const reg = core.registry;
    const old = reg.put(conn);
    if (old !== undefined) core.outbox.pending.adopt(conn, old);
    reg.activate(conn);
    if (conn.pending !== null) core.outbox.pending.drainTo(conn, now);
    // Frames kept for this client while it reconnected (on any node) come here.
    if (core.cluster !== null) core.cluster.wsClientOpen(conn.clientId);
  }

  // -------------------------------------------------------------------------
  // Frames in

  onMessage(conn: WsConn, data: Buffer, isBinary: boolean): void {
    const core = this.core;
    // Any inbound frame is activity and answers a pending ping (no clock read here).
    conn.active = true;
    conn.pingedAt = 0;
    let input: string | Uint8Array;
    if (this.binary && isBinary) input = data;
    else if (!isBinary) input = data.toString(); // `ws` has already refused invalid UTF-8 in text frames (1007)
    else {
      // A binary frame to a text packer: its bytes must be UTF-8, not replaced with U+FFFD.
      try {
        input = strictUtf8.decode(data);
      } catch {
        if (core.taps.on) this.#tapIn(conn, data);
        this.#badFrame(conn, new ChskError("CHSK_ERR_UNPACK", "A binary frame that is not UTF-8 text, for a text packer", { closeCode: CloseCode.PROTOCOL_ERROR }));
        return;
      }
    }
    const wire = this.#wire;
    wire.cbId = null;
    const r = decodeClientMessage(core.packer, input, core.limits, wire);
    if (!r.ok) {
      // Still a frame in (without an event), so taps count every frame the peer sent.
      if (core.taps.on) this.#tapIn(conn, input);
      this.#badFrame(conn, r.error);
      return;
    }
    const m = r.value;
    const event = m.event;
    const id = event[0];
    if (core.taps.on) this.#tapIn(conn, input, event, m.cbId);
    let reply: ((value: unknown) => boolean) | undefined;
    if (id === Reserved.wsPing) {
      // Sente auto-replies "pong" to a ping that carries a callback id.
      if (m.cbId !== null) {
        const pong = encodePong(core.packer, wire.cbId);
        conn.deliver(pong, 0, pong);
      }
    } else if (m.cbId !== null && id !== Reserved.wsPong) {
      reply = this.#replyFn(conn, wire.cbId, id, core.taps.on ? performance.now() : 0);
    }
    core.route(core.eventMsg(event, conn.uid, conn.clientId, "ws", conn.req, reply));
  }

  /** Taps a received frame (`event` absent: it could not be decoded). */
  #tapIn(conn: WsConn, data: string | Uint8Array, event?: ChskEvent, cbId?: string | null): void {
    const taps = this.core.taps;
    const at = this.core.clock.now();
    const connId = taps.idOf(conn, "ws-");
    taps.emit(
      event === undefined
        ? { type: "frame:in", transport: "ws", channel: "ws", connId, uid: conn.uid, clientId: conn.clientId, data, at }
        : { type: "frame:in", transport: "ws", channel: "ws", connId, uid: conn.uid, clientId: conn.clientId, data, event, cbId: cbId ?? null, at },
    );
  }

  /** The cb id of the frame being decoded, as it was on the wire (Sente echoes it unchanged). */
  readonly #wire: { cbId: unknown } = { cbId: null };

  #replyFn(conn: WsConn, cbId: unknown, eventId: string, t0: number): (value: unknown) => boolean {
    return (value: unknown): boolean => {
      if (conn.ws.readyState !== OPEN) return false;
      const core = this.core;
      const frame = encodeReply(core.packer, value, cbId);
      const now = core.taps.on ? core.clock.now() : 0;
      conn.deliver(frame, now, frame);
      if (now !== 0 && t0 !== 0) {
        core.taps.emit({
          type: "reply",
          transport: "ws",
          uid: conn.uid,
          clientId: conn.clientId,
          eventId,
          latencyMs: performance.now() - t0,
          at: now,
        });
      }
      return true;
    };
  }

  #badFrame(conn: WsConn, error: ChskError): void {
    const code = error.code === "CHSK_ERR_FRAME_TOO_LARGE" ? CloseCode.MESSAGE_TOO_BIG : (error.closeCode ?? CloseCode.PROTOCOL_ERROR);
    this.core.report(error, conn.uid, conn.clientId);
    this.close(conn, code, error.code, "bad-frame");
  }

  onSocketError(conn: WsConn, err: Error & { code?: string }): void {
    // ws reports protocol violations here and closes the socket itself (1002 / 1007 / 1009).
    const tooBig = err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
    const error = new ChskError(tooBig ? "CHSK_ERR_FRAME_TOO_LARGE" : "CHSK_ERR_TRANSPORT", err.message, {
      closeCode: tooBig ? CloseCode.MESSAGE_TOO_BIG : CloseCode.PROTOCOL_ERROR,
      cause: err,
      detail: { wsCode: err.code },
    });
    conn.closeReason ??= "bad-frame";
    this.core.report(error, conn.uid, conn.clientId);
  }

  // -------------------------------------------------------------------------
  // Closing

  /** Server-initiated close; a peer that doesn't complete it within `closeTimeoutMs` is cut. */
  close(conn: WsConn, code: number, reason: string, why: string): void {
    const ws = conn.ws;
    if (ws.readyState === WebSocket.CLOSED || this.#closing.has(conn)) return;
    conn.closeReason ??= why;
    const now = this.core.clock.now();
    this.#closing.set(conn, now);
    ws.close(code, reason.length > 120 ? reason.slice(0, 120) : reason);
    this.core.sweeper.wake(now + this.core.opts.closeTimeoutMs);
  }

  onClose(conn: WsConn, code: number): void {
    if (!this.#live.delete(conn)) return;
    this.#closing.delete(conn);
    const core = this.core;
    const now = core.clock.now();
    conn.closedAt = now;
    if (core.taps.on) {
      if (conn.cutCode !== 0) code = conn.cutCode;
      const connId = core.taps.idOf(conn, "ws-");
      const e = { type: "conn:close" as const, transport: "ws" as const, connId, uid: conn.uid, clientId: conn.clientId, code, at: now };
      core.taps.emit(conn.closeReason === null ? e : { ...e, reason: conn.closeReason });
    }
    if (!core.closed) core.registry.markClosed(conn, now);
    if (this.#live.size === 0 && this.#allClosed !== null) this.#allClosed();
  }

  /** Keep-alive scan and close timeouts; returns the next due time. */
  sweep(now: number): number {
    let next = Infinity;
    const closeMs = this.core.opts.closeTimeoutMs;
    for (const [conn, since] of this.#closing) {
      if (since + closeMs > now) {
        next = since + closeMs;
        break;
      }
      this.#closing.delete(conn);
      conn.ws.terminate();
    }
    if (this.#live.size === 0) {
      this.#nextScanAt = Infinity;
      return next;
    }
    if (now >= this.#nextScanAt) {
      this.#scan(now);
      this.#nextScanAt = now + this.#scanEveryMs;
    }
    return Math.min(next, this.#nextScanAt);
  }

  #scan(now: number): void {
    const o = this.core.opts;
    const kalive = o.wsKaliveMs;
    const timeout = o.wsPingTimeoutMs;
    const taps = this.core.taps;
    for (const conn of this.#live) {
      if (conn.active) {
        conn.active = false;
        conn.lastActivity = now;
      }
      if (conn.pingedAt !== 0) {
        if (timeout > 0 && now - conn.pingedAt >= timeout && !this.#closing.has(conn)) {
          this.close(conn, CloseCode.PING_TIMEOUT, "ping timeout", "ping-timeout");
        }
      } else if (now - conn.lastActivity >= kalive && conn.ws.readyState === OPEN) {
        conn.pingedAt = now;
        // Not corked: an idle socket's one frame this tick; corking would only add a flush.
        conn.ws.send(this.#pingFrame);
        if (taps.on) {
          const connId = taps.idOf(conn, "ws-");
          taps.emit({ type: "frame:out", transport: "ws", channel: "ws", connId, uid: conn.uid, clientId: conn.clientId, data: this.#pingFrame, at: now });
        }
      }
    }
  }

  /** Closes every socket with 1001; resolves once all are closed (cut after `closeTimeoutMs`). */
  closeAll(): Promise<void> {
    for (const conn of this.#live) this.close(conn, CloseCode.GOING_AWAY, "server closing", "server-close");
    this.#wss.close();
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.core.clock.setTimer(this.core.opts.closeTimeoutMs, () => {
        for (const conn of this.#live) conn.ws.terminate();
      });
      this.#allClosed = () => {
        this.#allClosed = null;
        cancel();
        resolve();
      };
    });
  }

  /** Open sockets, for `closeUser` / `closeClient`. */
  *liveConns(): Generator<WsConn> {
    yield* this.#live;
  }
}

function asChskError(e: unknown, code: ChskError["code"], message: string): ChskError {
  return e instanceof ChskError ? e : new ChskError(code, `${message}: ${String(e)}`, { cause: e });
}
