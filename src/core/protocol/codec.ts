/**
 * Sente frames (protocol.md §3): every message is `pack([value, ?cbId])`.
 *
 * Encoders are total and write the 1.21+ format. Decoders never throw: they
 * read 1.21+ (2-element envelopes), 1.18-1.20 (1-element envelopes, Ajax cb
 * id `0`) and <=1.17 (`+`/`-` prefixed text), and return a `Result`.
 */
import { Keyword, kw } from "../edn/values.js";
import { writeEdn } from "../edn/writer.js";
import { packEdn } from "../packers/edn.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import { ChskError, err, ok, type Result } from "./errors.js";
import { asEvent, type ChskEvent, idString, Reserved, validateEvent } from "./events.js";

/** Sente's uid for anonymous users (`:sente/nil-uid`); chsk maps it to `null`. */
export const NIL_UID = "sente/nil-uid";
const LEGACY_NIL_UID = "taoensso.sente/nil-uid";

/** A keyword for packers that have them, its text for those that don't. */
function marker(packer: Packer, fqn: string): Keyword | string {
  return packer.keywordsAsStrings ? fqn : kw(fqn);
}

function isMarker(x: unknown, fqn: string, packer: Packer): boolean {
  if (x instanceof Keyword) return x.fqn === fqn;
  return packer.keywordsAsStrings && x === fqn;
}

/** An event as it goes on the wire: the id becomes a keyword. */
export function toWireEvent(ev: ChskEvent, packer: Packer): unknown[] {
  // Validated events may carry their id as a Keyword (`assertEvent` takes both).
  const id = marker(packer, eventId(ev));
  return ev.length >= 2 ? [id, ev[1]] : [id];
}

function uidToWire(uid: unknown, packer: Packer): unknown {
  return uid === null || uid === undefined ? marker(packer, NIL_UID) : uid;
}

/**
 * The uid from a handshake: `:sente/nil-uid` (any era) becomes `null`. With
 * a keyword-less packer (`keywordsAsStrings`) the marker arrives as a string.
 */
export function uidFromWire(x: unknown, keywordsAsStrings = false): unknown {
  const s = x instanceof Keyword ? x.fqn : keywordsAsStrings && typeof x === "string" ? x : undefined;
  if (s === NIL_UID || s === LEGACY_NIL_UID) return null;
  return x ?? null;
}

// ---------------------------------------------------------------------------
// Encoders (server → client)

export const encodeHandshake = (packer: Packer, uid: unknown, handshakeData: unknown = null) =>
  packer.pack([[marker(packer, Reserved.handshake), [uidToWire(uid, packer), null, handshakeData ?? null]], null]);

/** A push batch: always a vector of events, even for one. */
export const encodePush = (packer: Packer, events: readonly ChskEvent[]) =>
  packer.pack([events.map((e) => toWireEvent(e, packer)), null]);

/**
 * A reply. WS replies carry the client's cb id exactly as it was sent (Sente
 * echoes any truthy value, not only strings); Ajax POST replies carry nil.
 */
export const encodeReply = (packer: Packer, value: unknown, cbId: unknown) =>
  packer.pack([value ?? null, cbId ?? null]);

export const encodeServerPing = (packer: Packer) => packer.pack([marker(packer, Reserved.wsPing), null]);
export const encodePong = (packer: Packer, cbId: unknown) => packer.pack(["pong", cbId]);
export const encodeLpTimeout = (packer: Packer) => packer.pack([marker(packer, Reserved.timeout), null]);
export const encodeDummyCb200 = (packer: Packer) => packer.pack([marker(packer, Reserved.dummyCb200), null]);

// ---------------------------------------------------------------------------
// Encoders (client → server)

/**
 * A client event. `cbId` is the 6-char WS callback id, `"ajax"` for an Ajax
 * POST that wants a reply (written as the keyword `:ajax`), or null.
 */
export function encodeClientEvent(packer: Packer, ev: ChskEvent, cbId: string | null): string | Uint8Array {
  if (packer.pack === packEdn) return ednClientEvent(ev, cbId);
  const wireCb = cbId === AJAX_CB ? marker(packer, "ajax") : cbId;
  return packer.pack([toWireEvent(ev, packer), wireCb]);
}

/**
 * `writeEdn([[kw(id), data], cbId])` without the two arrays and the
 * writer's walk over them: every request a client sends comes through
 * here, and only its data needs the writer.
 */
function ednClientEvent(ev: ChskEvent, cbId: string | null): string {
  const cb = cbId === null ? "nil" : cbId === AJAX_CB ? ":ajax" : writeEdn(cbId);
  const id = eventId(ev);
  return ev.length >= 2 ? "[[:" + id + " " + writeEdn(ev[1]) + "] " + cb + "]" : "[[:" + id + "] " + cb + "]";
}

const eventId = (ev: ChskEvent): string => {
  const id: unknown = ev[0];
  return typeof id === "string" ? id : (idString(id) ?? String(id));
};
export const AJAX_CB = "ajax";

/** `[:chsk/ws-pong]`, the client's answer to a server ping. */
export const encodeClientPong = (packer: Packer) => encodeClientEvent(packer, [Reserved.wsPong], null);

// ---------------------------------------------------------------------------
// Envelope

export interface Envelope {
  value: unknown;
  /** The raw callback id: a string (WS), `:ajax`/`0` (Ajax), or null. */
  cbId: unknown;
}

/**
 * Unpack one message into `[value cbId]`, accepting all three eras. A
 * `-`-prefixed (≤1.17) message is an unwrapped value with no callback.
 */
export function unpackEnvelope(packer: Packer, data: string | Uint8Array, limits?: DecodeLimits): Result<Envelope> {
  let unwrapped = false;
  if (typeof data === "string" && data.length > 0) {
    const c = data.charCodeAt(0);
    if (c === 0x2b /* + */) data = data.slice(1);
    // Text envelopes (1.18+) always start with `[`, so a leading sign is a ≤1.17 prefix.
    else if (c === 0x2d /* - */) {
      data = data.slice(1);
      unwrapped = true;
    }
  } else if (typeof data !== "string" && !packer.binary && (data[0] === 0x2b || data[0] === 0x2d)) {
    // The same prefixes when a transport hands a text frame over as UTF-8 bytes.
    unwrapped = data[0] === 0x2d;
    data = data.subarray(1);
  }
  const r = packer.unpack(data, limits);
  if (!r.ok) return r;
  if (unwrapped) return ok({ value: r.value, cbId: null });
  const v = r.value;
  if (!Array.isArray(v) || v.length < 1 || v.length > 2) {
    return err(new ChskError("CHSK_ERR_BAD_ENVELOPE", "Expected a [value ?cb-id] envelope", { closeCode: 1002 }));
  }
  return ok({ value: v[0], cbId: v.length === 2 ? v[1] : null });
}

/** Sente tests an Ajax cb id only for truthiness: `:ajax`, `0`, `"x"` all want a reply. */
export const wantsReply = (cbId: unknown): boolean => cbId !== null && cbId !== undefined && cbId !== false;

// ---------------------------------------------------------------------------
// Decoders (server side)

export interface ClientMessage {
  /** The event, with `chsk/bad-event` substituted for invalid input. */
  event: ChskEvent;
  /** WS callback id (a string) or Ajax reply flag; null when no reply is wanted. */
  cbId: string | null;
  wantsReply: boolean;
}

/**
 * Decode what a client sent over WS or in an Ajax POST `ppstr`. If `wire` is
 * given, `wire.cbId` receives the cb id as it was on the wire (for echoing it
 * back unchanged in a WS reply).
 */
export function decodeClientMessage(
  packer: Packer,
  data: string | Uint8Array,
  limits?: DecodeLimits,
  wire?: { cbId: unknown },
): Result<ClientMessage> {
  const r = unpackEnvelope(packer, data, limits);
  if (!r.ok) return r;
  const { value, cbId } = r.value;
  if (wire !== undefined) wire.cbId = cbId;
  const wants = wantsReply(cbId);
  const cb = typeof cbId === "string" ? cbId : cbId instanceof Keyword ? cbId.fqn : wants ? String(cbId) : null;
  return ok({ event: asEvent(value, packer.keywordsAsStrings), cbId: cb, wantsReply: wants });
}

// ---------------------------------------------------------------------------
// Decoders (client side)

export type ServerMessage =
  /** `[:chsk/handshake [uid csrf-token? data?]]`: 2- and 3-element forms. */
  | { kind: "handshake"; uid: unknown; handshakeData: unknown }
  /** The server's keep-alive ping (`:chsk/ws-ping`). */
  | { kind: "ping" }
  /** A WS reply (`value` is `"pong"` for a ping reply). */
  | { kind: "reply"; cbId: string; value: unknown }
  /** A push batch; invalid events in it are reported in `bad`. */
  | { kind: "push"; events: ChskEvent[]; bad: unknown[] }
  /** The Ajax long-poll (or reply) timed out on the server (`:chsk/timeout`). */
  | { kind: "timeout" }
  /** An Ajax POST that wanted no reply was accepted (`:chsk/dummy-cb-200`). */
  | { kind: "accepted" }
  /** An Ajax POST reply value. */
  | { kind: "value"; value: unknown };

/** Where a message arrived: a WS frame, an Ajax poll body or an Ajax POST body. */
export type MessageContext = "ws" | "poll" | "post";

function asHandshake(value: unknown, packer: Packer): ServerMessage | undefined {
  if (!Array.isArray(value) || !isMarker(value[0], Reserved.handshake, packer)) return undefined;
  const body = value[1];
  // 0.8-0.14 sent `[:chsk/handshake :ws]`: no uid.
  if (!Array.isArray(body)) return { kind: "handshake", uid: null, handshakeData: null };
  return { kind: "handshake", uid: uidFromWire(body[0], packer.keywordsAsStrings), handshakeData: body.length > 2 ? (body[2] ?? null) : null };
}

function asPush(value: unknown, packer: Packer): Result<ServerMessage> {
  if (!Array.isArray(value)) {
    return err(new ChskError("CHSK_ERR_BAD_ENVELOPE", "Expected a vector of events", { closeCode: 1002 }));
  }
  const events: ChskEvent[] = [];
  const bad: unknown[] = [];
  for (const x of value) {
    // Pushed events may not use the reserved `chsk` namespace (Sente asserts this).
    const id = Array.isArray(x) ? idString(x[0]) : undefined;
    if (validateEvent(x, packer.keywordsAsStrings) === null && !id!.startsWith("chsk/")) {
      events.push(asEvent(x, packer.keywordsAsStrings));
    } else bad.push(x);
  }
  return ok({ kind: "push", events, bad });
}

/** Decode a server message, classified as Sente's client does (§3.1). */
export function decodeServerMessage(
  packer: Packer,
  data: string | Uint8Array,
  context: MessageContext,
  limits?: DecodeLimits,
): Result<ServerMessage> {
  const r = unpackEnvelope(packer, data, limits);
  if (!r.ok) return r;
  const { value, cbId } = r.value;
  if (context === "post") {
    if (isMarker(value, Reserved.dummyCb200, packer)) return ok({ kind: "accepted" });
    if (isMarker(value, Reserved.timeout, packer)) return ok({ kind: "timeout" });
    return ok({ kind: "value", value });
  }
  const hs = asHandshake(value, packer);
  if (hs) return ok(hs);
  if (context === "poll") {
    if (isMarker(value, Reserved.timeout, packer)) return ok({ kind: "timeout" });
    return asPush(value, packer);
  }
  if (isMarker(value, Reserved.wsPing, packer)) return ok({ kind: "ping" });
  if (wantsReply(cbId)) return ok({ kind: "reply", cbId: String(cbId instanceof Keyword ? cbId.fqn : cbId), value });
  return asPush(value, packer);
}
