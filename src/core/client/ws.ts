/**
 * The WebSocket transport: one {@link WsConn} per connection attempt.
 *
 * It owns the socket and the client keep-alive loop (protocol.md §5.3) and
 * classifies inbound frames (§3.1): handshake → the state machine; server
 * ping → immediate `[[:chsk/ws-pong] nil]`; reply → the ack table; anything
 * else → a push batch. The client is "open" only on the handshake, never on
 * the socket's `onopen`.
 */
import type { Cancel, Clock } from "../clock.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import { decodeServerMessage, encodeClientEvent } from "../protocol/codec.js";
import { packerMismatch } from "./first-frame.js";
import { ChskError, CloseCode } from "../protocol/errors.js";
import { type ChskEvent, Reserved } from "../protocol/events.js";
import type { AckTable } from "./ack-table.js";
import type { ConnInput } from "./conn-machine.js";
import { describeIn, newConnId } from "./tap-frame.js";
import type { ClientFrameKind, ClientTapEvent, ReplyCallback, WebSocketFactory, WebSocketLike } from "./types.js";

/** What a {@link WsConn} needs from its client. */
export interface WsHost {
  readonly packer: Packer;
  readonly clock: Clock;
  readonly limits: DecodeLimits | undefined;
  readonly acks: AckTable;
  /** `[[:chsk/ws-pong] nil]`, packed once. */
  readonly pongFrame: string | Uint8Array;
  dispatch(input: ConnInput): void;
  /** Is `conn` the client's current attempt? Frames from older sockets are dropped. */
  isCurrent(conn: number): boolean;
  /** Has a handshake opened the client? Before it, a stray frame is checked for a packer mismatch. */
  isOpen(): boolean;
  readonly clientId: string;
  /** Is anything tapping? Tap events are built only then. */
  tapping(): boolean;
  /** Does a tap listener want frame events? They are built only then. */
  tappingFrames(): boolean;
  /** Counts a frame for {@link Client.traffic}. */
  count(dir: "in" | "out", data: string | Uint8Array): void;
  emitTap(event: ClientTapEvent): void;
  /** Report a problem on the tap (and optionally on `state.lastError`); `connId`: where it happened. */
  report(error: ChskError, record: boolean, connId?: string): void;
  serverPing(): void;
  lateReply(cbId: string, value: unknown): void;
  deliver(events: ChskEvent[], bad: unknown[]): void;
}

/** An error event as the platforms deliver it (browser Event, `ws` ErrorEvent, or chsk's Node wrapper). */
interface ErrorLike {
  message?: unknown;
  error?: { message?: unknown };
  /** Set by chsk's Node factory when the upgrade got a non-101 answer. */
  status?: unknown;
  body?: unknown;
  contentType?: unknown;
}

const PING_EVENT: ChskEvent = [Reserved.wsPing];

/** Normalise a `MessageEvent.data`: text stays text, binary becomes a `Uint8Array` view. */
export function frameData(d: unknown): string | Uint8Array | null {
  if (typeof d === "string" || d instanceof Uint8Array) return d;
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return null;
}

export class WsConn {
  readonly conn: number;
  #connId: string | undefined;
  readonly #host: WsHost;
  readonly #kaliveMs: number;
  readonly #pingTimeoutMs: number;
  #socket: WebSocketLike | null = null;
  /** Anything sent or received since the last keep-alive check. */
  #activity = false;
  #kalive: Cancel | null = null;
  #closed = false;

  readonly #onKalive = () => this.#kaliveTick();
  readonly #onPingReply: ReplyCallback = (error, reply) => {
    if (error !== null || reply !== "pong") {
      this.#host.dispatch({ type: "reconnect", reason: "ws-ping-timeout", conn: this.conn });
    }
  };

  /** The attempt's id on the tap, handed out on first use: an untapped client never makes one. */
  get connId(): string {
    return (this.#connId ??= newConnId("ws"));
  }

  constructor(host: WsHost, conn: number, kaliveMs: number, pingTimeoutMs: number) {
    this.#host = host;
    this.conn = conn;
    this.#kaliveMs = kaliveMs;
    this.#pingTimeoutMs = pingTimeoutMs;
  }

  /** Create the socket. Reports a throwing factory as a WS error followed by a close. */
  open(factory: WebSocketFactory, url: string, headers: Record<string, string> | undefined): void {
    let s: WebSocketLike;
    try {
      s = factory(url, headers);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.#host.report(new ChskError("CHSK_ERR_TRANSPORT", `WebSocket constructor failed: ${message}`, { cause: e }), true, this.connId);
      this.#host.dispatch({ type: "ws-error", conn: this.conn, message });
      this.#host.dispatch({ type: "closed", conn: this.conn, reason: "unexpected" });
      return;
    }
    this.#socket = s;
    s.binaryType = "arraybuffer";
    s.onmessage = (ev) => this.#onMessage(ev.data);
    s.onerror = (ev) => this.#onError(ev as ErrorLike);
    s.onclose = (ev) => this.#onClose(ev);
  }

  /**
   * Send one frame. False (nothing sent) if the socket is missing or `send`
   * threw. `kind`, `eventId` and `cbId` describe it on the tap.
   */
  send(frame: string | Uint8Array, kind: ClientFrameKind, eventId: string, cbId: string | null): boolean {
    const s = this.#socket;
    if (s === null) return false;
    const host = this.#host;
    try {
      s.send(frame);
    } catch (e) {
      host.report(new ChskError("CHSK_ERR_TRANSPORT", `WebSocket send failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e }), false, this.connId);
      return false;
    }
    this.#activity = true;
    host.count("out", frame);
    if (host.tappingFrames()) {
      host.emitTap({ type: "frame:out", transport: "ws", channel: "ws", connId: this.connId, clientId: host.clientId, data: frame, at: host.clock.now(), kind, eventId, cbId });
    }
    return true;
  }

  /** The handshake arrived: start the keep-alive loop. */
  opened(): void {
    if (this.#kalive === null && this.#kaliveMs > 0 && !this.#closed) {
      this.#activity = false;
      this.#kalive = this.#host.clock.setTimer(this.#kaliveMs, this.#onKalive);
    }
  }

  close(code: number, reason: string): void {
    this.#stopKalive();
    this.#closed = true;
    const s = this.#socket;
    if (s === null) return;
    try {
      s.close(code, reason);
    } catch {
      // Already closed / closing.
    }
  }

  #stopKalive(): void {
    this.#kalive?.();
    this.#kalive = null;
  }

  /** Sente: every kalive ms, if nothing was sent or received in the window, ping with a reply timeout. */
  #kaliveTick(): void {
    this.#kalive = null;
    if (this.#closed || !this.#host.isCurrent(this.conn)) return;
    if (!this.#activity) {
      const host = this.#host;
      const id = host.acks.add(this.#pingTimeoutMs, this.#onPingReply, this.conn);
      if (!this.send(encodeClientEvent(host.packer, PING_EVENT, id), "ping", Reserved.wsPing, id)) {
        host.acks.reject(id, new ChskError("CHSK_ERR_TRANSPORT", "Keep-alive ping could not be sent"));
        return;
      }
    }
    // The ping itself does not count as activity for the next window.
    this.#activity = false;
    this.#kalive = this.#host.clock.setTimer(this.#kaliveMs, this.#onKalive);
  }

  #onMessage(raw: unknown): void {
    const host = this.#host;
    // Frames from a superseded socket (closing in the background) are dropped.
    if (!host.isCurrent(this.conn)) return;
    const data = frameData(raw);
    if (data === null) {
      host.report(new ChskError("CHSK_ERR_UNPACK", "Unsupported WebSocket message data (Blob?)"), false, this.connId);
      return;
    }
    this.#activity = true;
    host.count("in", data);
    const r = decodeServerMessage(host.packer, data, "ws", host.limits);
    // Tapped before anything the frame causes (its error, the handshake's conn:open, a reply's callback).
    if (host.tappingFrames()) this.#tapIn(data, r);
    if (!host.isOpen() && (!r.ok || r.value.kind !== "handshake")) {
      // Before the handshake the socket is useless until a frame can be read:
      // end the attempt (as a failed Ajax poll does) instead of waiting forever.
      const failure = packerMismatch(host.packer, data) ?? (r.ok ? null : r.error);
      if (failure !== null) {
        host.report(failure, true, this.connId);
        host.dispatch({ type: "unreadable", conn: this.conn, code: failure.code === "CHSK_ERR_FRAME_TOO_LARGE" ? CloseCode.MESSAGE_TOO_BIG : CloseCode.PROTOCOL_ERROR });
        return;
      }
    }
    if (!r.ok) {
      // Once open, an unreadable frame is dropped and the connection kept (Sente logs it).
      host.report(r.error, false, this.connId);
      return;
    }
    const m = r.value;
    switch (m.kind) {
      case "handshake":
        host.dispatch({ type: "handshake", conn: this.conn, uid: m.uid, handshakeData: m.handshakeData });
        return;
      case "ping":
        this.send(host.pongFrame, "pong", Reserved.wsPong, null);
        host.serverPing();
        return;
      case "reply":
        if (!host.acks.resolve(m.cbId, m.value)) host.lateReply(m.cbId, m.value);
        return;
      case "push":
        host.deliver(m.events, m.bad);
        return;
      default:
        // "timeout" / "accepted" / "value" are Ajax-only classifications.
        return;
    }
  }

  #tapIn(data: string | Uint8Array, r: ReturnType<typeof decodeServerMessage>): void {
    const host = this.#host;
    const d = describeIn(r, "ws");
    const at = host.clock.now();
    const ev: Extract<ClientTapEvent, { type: "frame:in" }> = { type: "frame:in", transport: "ws", channel: "ws", connId: this.connId, clientId: host.clientId, data, at, kind: d.kind };
    if (d.eventId !== undefined) ev.eventId = d.eventId;
    if (d.cbId !== undefined) {
      ev.cbId = d.cbId;
      const sentAt = d.cbId === null ? undefined : host.acks.sentAt(d.cbId);
      if (sentAt !== undefined) ev.latencyMs = at - sentAt;
    }
    host.emitTap(ev);
  }

  #onError(ev: ErrorLike | null | undefined): void {
    const host = this.#host;
    if (!host.isCurrent(this.conn)) return;
    const msg = ev?.message ?? ev?.error?.message;
    // A bare error event has no message; "WebSocket error: WebSocket error" says nothing twice.
    const message = typeof msg === "string" && msg.length > 0 ? msg : "the connection failed";
    if (typeof ev?.status === "number") {
      const body = typeof ev.body === "string" ? ev.body : "";
      const detail: Record<string, unknown> = { status: ev.status, body, transport: "ws" };
      if (typeof ev.contentType === "string" && ev.contentType !== "") detail["contentType"] = ev.contentType;
      host.report(new ChskError("CHSK_ERR_HTTP_STATUS", `HTTP ${ev.status}${body ? " " + body : ""}`, { status: ev.status, detail }), true, this.connId);
    } else {
      host.report(new ChskError("CHSK_ERR_TRANSPORT", `WebSocket error: ${message}`), true, this.connId);
    }
    host.dispatch({ type: "ws-error", conn: this.conn, message });
  }

  #onClose(ev: { code: number; reason: string; wasClean: boolean }): void {
    // Closed by us (disconnect, an unreadable frame): a 1009 is then our own code echoed.
    const closedByUs = this.#closed;
    this.#stopKalive();
    this.#closed = true;
    this.#socket = null;
    const code = typeof ev?.code === "number" ? ev.code : 1006;
    const clean = Boolean(ev?.wasClean);
    const reason = typeof ev?.reason === "string" ? ev.reason : "";
    if (code === CloseCode.MESSAGE_TOO_BIG && !closedByUs && this.#host.isCurrent(this.conn)) this.#refusedAsTooLarge(reason);
    this.#host.dispatch({
      type: "closed",
      conn: this.conn,
      reason: clean ? "clean" : "unexpected",
      wsClose: { code, reason, clean },
    });
  }

  /**
   * The server closed with 1009: it refused a frame of ours as too large.
   * Said on the tap and in `state.lastError`, and the replies pending on this
   * socket fail now with that error: their requests (the big one among them)
   * died with the socket, and a reply never comes over another one. (Sente
   * lets them time out; so does chsk for any other close.)
   */
  #refusedAsTooLarge(reason: string): void {
    const error = new ChskError(
      "CHSK_ERR_FRAME_TOO_LARGE",
      `The server refused a frame as too large (WebSocket close 1009${reason === "" ? "" : ` ${reason}`})`,
      { closeCode: CloseCode.MESSAGE_TOO_BIG },
    );
    this.#host.report(error, true, this.connId);
    this.#host.acks.rejectOwned(this.conn, error);
  }
}
