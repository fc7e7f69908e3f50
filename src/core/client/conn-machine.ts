/**
 * The client's connection lifecycle as a pure reducer:
 * `step(state, input, ctx) → { state, effects }`.
 *
 * The reducer decides *what* happens (which transport to open, when to
 * retry, when to downgrade, what the public {@link ClientState} becomes);
 * `createClient` carries out the effects (sockets, fetches, timers, events).
 * Time and randomness come in through `ctx`, so tests drive it with plain
 * numbers and no sockets.
 *
 * ```text
 *                connect                     handshake
 *   ┌──────┐ ─────────────▶ ┌────────────┐ ───────────▶ ┌──────┐
 *   │ idle │                │ connecting │              │ open │◀─┐ handshake
 *   └──────┘         ┌────▶ └────────────┘ ◀─┐          └──────┘──┘ (re-handshake)
 *      ▲             │   retry │    │  │     │ reconnect  │  │
 *      │             │  timer  │    │  │     └────────────┼──┘ (ws-ping-timeout,
 *      │             │         │    │  │                  │     ws-error, requested-reconnect)
 *      │             │   ┌─────────┐ │  └─ ws error/close, never opened over WS,
 *      │             └── │ waiting │◀┘     type "auto": DOWNGRADE → close old
 *      │                 └─────────┘ ◀─────┘   socket (1000), open Ajax, stay on Ajax
 *      │                  ▲  closed            transport closed, or its first WS frame
 *      │                  │  / unreadable      unreadable (close 1009/1002, no downgrade):
 *      │                  │  (attempt n+1,     attempt 1 → retry now (0 ms)
 *      │                  │   backoff)         attempt n≥2 → backoffMs(n)
 *      │                  └─────────────────── (from connecting or open)
 *      │
 *   any state ── disconnect ──▶ stopped (close 1000 "CLOSE_NORMAL", no retry) ── connect ──▶ connecting
 *   any state ── dispose ─────▶ disposed (final; every later input is ignored)
 *   connecting/open ── break ─▶ WS: close(3000, "CLOSE_ABNORMAL"), the close event then retries;
 *                               Ajax: abort the poll = closed "unexpected" → retry
 * ```
 *
 * Transport events carry the `conn` number of the attempt that produced
 * them; an event from a superseded attempt (an old socket's late `onclose`)
 * is ignored — Sente's `own-conn?` / `own-socket?` checks.
 *
 * Sente details kept: `lastClose` is set only when an *open* client closes;
 * `udtNextReconnect` only before a delayed retry and removed on close or
 * handshake; the retry count resets on every handshake and on every explicit
 * connect/reconnect; `firstHandshake` is true once per client object.
 */
import type { ChskErrorCode } from "../protocol/errors.js";
import type { ClientState, ClientType, CloseReason, HandshakeInfo, Transport } from "./types.js";

export type Phase = "idle" | "connecting" | "open" | "waiting" | "stopped" | "disposed";

export interface ConnState {
  readonly phase: Phase;
  /** The transport in use, or the one the next attempt will use. */
  readonly transport: Transport;
  /** `type: "auto"` and never opened over WS yet: a WS failure still downgrades. */
  readonly canDowngrade: boolean;
  /** Number of the current transport attempt; transport inputs for other numbers are stale. */
  readonly conn: number;
  /** Reconnect attempts since the last handshake / explicit connect. */
  readonly attempt: number;
  /** The public state (a new object on every change; identity = "changed"). */
  readonly pub: ClientState;
}

export type ConnInput =
  | { type: "connect" }
  | { type: "disconnect" }
  /** `conn` set → only if that attempt is still current (keep-alive / send failures). */
  | { type: "reconnect"; reason: CloseReason; conn?: number }
  | { type: "break" }
  | { type: "dispose" }
  /** The retry timer fired. */
  | { type: "retry" }
  | { type: "handshake"; conn: number; uid: unknown; handshakeData: unknown }
  | { type: "ws-error"; conn: number; message: string }
  /** The attempt's transport is gone (WS `onclose`, Ajax poll failure). */
  | { type: "closed"; conn: number; reason: "clean" | "unexpected"; wsClose?: { code: number; reason: string; clean: boolean } }
  /**
   * A WS frame before the handshake could not be read (too large, too deep,
   * not this packer's): end the attempt, closing the socket with `code`.
   */
  | { type: "unreadable"; conn: number; code: number }
  /** Record a refusal / failure for `state.lastError`. */
  | { type: "error"; code: ChskErrorCode; message: string; status?: number };

export type ConnEffect =
  /** Start attempt `conn` on `transport`. */
  | { type: "open-transport"; transport: Transport; conn: number }
  /** Close attempt `conn`'s transport (WS: `close(code, reason)`; Ajax: abort the poll). */
  | { type: "close-transport"; transport: Transport; conn: number; code: number; reason: string }
  | { type: "arm-retry"; ms: number }
  | { type: "cancel-retry" }
  | { type: "handshake"; transport: Transport; conn: number; info: HandshakeInfo }
  /** An attempt ended (for taps). */
  | { type: "conn-ended"; transport: Transport; conn: number; reason: CloseReason; code?: number };

export interface StepContext {
  now: number;
  /** Delay for retry attempt n ≥ 2 (attempt 1 is always immediate). */
  backoffMs: (attempt: number) => number;
}

export interface StepResult {
  state: ConnState;
  effects: ConnEffect[];
}

export function initialConnState(type: ClientType, wsAvailable: boolean): ConnState {
  const transport: Transport = type === "ajax" || (type === "auto" && !wsAvailable) ? "ajax" : "ws";
  return {
    phase: "idle",
    transport,
    canDowngrade: type === "auto" && transport === "ws",
    conn: 0,
    attempt: 0,
    pub: { type, open: false, everOpened: false, uid: null, handshakeData: null },
  };
}

const isActive = (s: ConnState) => s.phase === "connecting" || s.phase === "open";

/** Sente's `chsk-state->closed`: open → false, `lastClose` only if it was open. */
function closedPub(pub: ClientState, reason: CloseReason, now: number): ClientState {
  if (!pub.open && pub.udtNextReconnect === undefined) return pub;
  const next: ClientState = { ...pub, open: false };
  delete next.udtNextReconnect;
  if (pub.open) next.lastClose = { udt: now, reason };
  return next;
}

function start(s: ConnState, fx: ConnEffect[], transport = s.transport): ConnState {
  const conn = s.conn + 1;
  fx.push({ type: "open-transport", transport, conn });
  return { ...s, phase: "connecting", transport, conn };
}

/** End the current attempt on request: close its transport and make its later events stale. */
function endActive(s: ConnState, fx: ConnEffect[], reason: CloseReason, now: number): ConnState {
  let pub = s.pub;
  if (isActive(s)) {
    fx.push({ type: "close-transport", transport: s.transport, conn: s.conn, code: 1000, reason: "CLOSE_NORMAL" });
    fx.push({ type: "conn-ended", transport: s.transport, conn: s.conn, reason, code: 1000 });
  } else if (s.phase === "waiting") {
    fx.push({ type: "cancel-retry" });
  }
  pub = closedPub(pub, reason, now);
  // Bumping `conn` turns the old attempt's late events into no-ops.
  return { ...s, phase: "stopped", conn: s.conn + 1, pub };
}

function downgrade(s: ConnState, fx: ConnEffect[], pub: ClientState, closeSocket: boolean, code: number | undefined, now: number): ConnState {
  if (closeSocket) {
    fx.push({ type: "close-transport", transport: "ws", conn: s.conn, code: 1000, reason: "CLOSE_NORMAL" });
  }
  fx.push({ type: "conn-ended", transport: "ws", conn: s.conn, reason: "downgrading-ws-to-ajax", ...(code === undefined ? {} : { code }) });
  const next: ConnState = { ...s, canDowngrade: false, attempt: 0, pub: closedPub(pub, "downgrading-ws-to-ajax", now) };
  return start(next, fx, "ajax");
}

/** The attempt ended on its own: retry, at once the first time, then with backoff (protocol.md §5.5). */
function retryLater(s: ConnState, fx: ConnEffect[], pub: ClientState, reason: "clean" | "unexpected", code: number | undefined, ctx: StepContext): ConnState {
  const now = ctx.now;
  fx.push({ type: "conn-ended", transport: s.transport, conn: s.conn, reason, ...(code === undefined ? {} : { code }) });
  pub = closedPub(pub, reason, now);
  const attempt = s.attempt + 1;
  const ms = attempt <= 1 ? 0 : Math.max(0, ctx.backoffMs(attempt));
  if (ms > 0) pub = { ...pub, udtNextReconnect: now + ms };
  fx.push({ type: "arm-retry", ms });
  return { ...s, phase: "waiting", attempt, pub };
}

/** Pure: never mutates `s`, never reads a clock or random source except through `ctx`. */
export function step(s: ConnState, input: ConnInput, ctx: StepContext): StepResult {
  const fx: ConnEffect[] = [];
  if (s.phase === "disposed") return { state: s, effects: fx };
  const now = ctx.now;
  // One instant per step: `lastWsClose` and the `lastClose` it caused share a udt (pages match them on it).
  ctx = { ...ctx, now };

  switch (input.type) {
    case "connect": {
      if (isActive(s)) return { state: s, effects: fx };
      if (s.phase === "waiting") fx.push({ type: "cancel-retry" });
      return { state: start({ ...s, attempt: 0 }, fx), effects: fx };
    }

    case "disconnect":
      return { state: endActive(s, fx, "requested-disconnect", now), effects: fx };

    case "reconnect": {
      if (input.conn !== undefined && (input.conn !== s.conn || !isActive(s))) return { state: s, effects: fx };
      const stopped = endActive(s, fx, input.reason, now);
      return { state: start({ ...stopped, attempt: 0 }, fx), effects: fx };
    }

    case "break": {
      if (!isActive(s)) return { state: s, effects: fx };
      if (s.transport === "ws") {
        // The socket's close event (same `conn`) then drives the retry.
        fx.push({ type: "close-transport", transport: "ws", conn: s.conn, code: 3000, reason: "CLOSE_ABNORMAL" });
        return { state: s, effects: fx };
      }
      // Ajax: aborting the poll is a failed poll.
      fx.push({ type: "close-transport", transport: "ajax", conn: s.conn, code: 3000, reason: "CLOSE_ABNORMAL" });
      const r = step(s, { type: "closed", conn: s.conn, reason: "unexpected" }, ctx);
      return { state: r.state, effects: fx.concat(r.effects) };
    }

    case "dispose": {
      const stopped = endActive(s, fx, "requested-disconnect", now);
      fx.push({ type: "cancel-retry" });
      return { state: { ...stopped, phase: "disposed" }, effects: fx };
    }

    case "retry":
      if (s.phase !== "waiting") return { state: s, effects: fx };
      return { state: start(s, fx), effects: fx };

    case "handshake": {
      if (input.conn !== s.conn || !isActive(s)) return { state: s, effects: fx };
      const firstHandshake = !s.pub.everOpened;
      const pub: ClientState = {
        ...s.pub,
        type: s.transport,
        open: true,
        everOpened: true,
        uid: input.uid,
        handshakeData: input.handshakeData,
      };
      delete pub.udtNextReconnect;
      fx.push({
        type: "handshake",
        transport: s.transport,
        conn: s.conn,
        info: { uid: input.uid, handshakeData: input.handshakeData, firstHandshake },
      });
      return {
        state: { ...s, phase: "open", attempt: 0, canDowngrade: s.transport === "ws" ? false : s.canDowngrade, pub },
        effects: fx,
      };
    }

    case "ws-error": {
      if (input.conn !== s.conn || !isActive(s) || s.transport !== "ws") return { state: s, effects: fx };
      const pub: ClientState = { ...s.pub, lastWsError: { udt: now, message: input.message } };
      if (s.canDowngrade) return { state: downgrade(s, fx, pub, true, undefined, now), effects: fx };
      // Otherwise the socket's close event follows and drives the retry.
      return { state: { ...s, pub }, effects: fx };
    }

    case "closed": {
      if (input.conn !== s.conn || !isActive(s)) return { state: s, effects: fx };
      let pub = s.pub;
      if (input.wsClose !== undefined) pub = { ...pub, lastWsClose: { udt: now, ...input.wsClose } };
      if (s.transport === "ws" && s.canDowngrade) {
        return { state: downgrade(s, fx, pub, false, input.wsClose?.code, now), effects: fx };
      }
      return { state: retryLater(s, fx, pub, input.reason, input.wsClose?.code, ctx), effects: fx };
    }

    case "unreadable": {
      if (input.conn !== s.conn || !isActive(s)) return { state: s, effects: fx };
      // The socket's own close event then finds the attempt over (phase "waiting").
      fx.push({ type: "close-transport", transport: s.transport, conn: s.conn, code: input.code, reason: "unreadable frame" });
      // No downgrade in auto mode: the server would send the same handshake over Ajax.
      return { state: retryLater(s, fx, s.pub, "unexpected", input.code, ctx), effects: fx };
    }

    case "error": {
      const lastError: NonNullable<ClientState["lastError"]> = { udt: now, code: input.code, message: input.message };
      if (input.status !== undefined) lastError.status = input.status;
      return { state: { ...s, pub: { ...s.pub, lastError } }, effects: fx };
    }
  }
}
