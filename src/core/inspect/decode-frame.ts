/**
 * `decodeFrame`: one frame in, what it is out. Pure and stateless: the
 * same bytes on the same channel always give the same answer, so every
 * reader of chsk traffic classifies frames alike. `createFrameDecoder`
 * (the inspector, replay) adds pairing and stitching on top of it; the
 * dashboard feed calls it on the few frames it keeps each second.
 *
 * Decoding uses the frame codec (`decodeClientMessage` for what a client
 * sent, `decodeServerMessage` for what a server sent, classified as
 * Sente's client does), so frames are read exactly as chsk reads them.
 *
 * What needs state is left to the caller, with what it needs to do it:
 * `callId` on a frame that asks for a reply, `replyTo` on a WS reply. A
 * server reply whose value is `"pong"` is a `pong` here; a caller that
 * tracks calls makes it a `reply` when it answers a pending call (and a
 * reply to a pending client ping a `pong`, whatever its value).
 */
import { packerWireFormat, readsFormat, sniffFrame, isWireFormat } from "../packers/sniff.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import { decodeClientMessage, decodeServerMessage, uidFromWire, type MessageContext } from "../protocol/codec.js";
import type { ChskError, Result } from "../protocol/errors.js";
import { Reserved } from "../protocol/events.js";
import { toBase64 } from "./base64.js";
import { createPackerDetector } from "./packer-detector.js";
import { batchText, cbText, eraOf, isValidUtf8 } from "./record-fields.js";
import { showEdn } from "./show-edn.js";
import type { Direction, FrameKind, FrameRecord, WireChannel } from "./types.js";
import { utf8Length } from "./utf8.js";

/** What a frame can be (a record's other kinds are lifecycle events). */
export type DecodedFrameKind = Extract<FrameKind, "handshake" | "event" | "push" | "reply" | "ping" | "pong" | "timeout" | "dummy" | "bad">;

/** One frame as it crossed the wire (a {@link WireEvent} `frame`, less what locates it). */
export interface FrameInput {
  dir: Direction;
  channel: WireChannel;
  data: string | Uint8Array;
  /** The payload's size on the wire when `data` holds less of it. @default data's length */
  bytes?: number;
  /** HTTP status of an Ajax answer: outside 2xx the frame is `bad`. */
  status?: number;
  /** The source could not capture the payload: the frame is `bad` with this error. */
  error?: { code: string; message: string };
}

/** What {@link decodeFrame} found: the frame's fields of a {@link FrameRecord}, and what pairing needs. */
export interface DecodedFrame
  extends Pick<FrameRecord, "bytes" | "raw" | "binary" | "packer" | "envelope" | "eventId" | "cbId" | "data" | "events" | "error" | "status"> {
  kind: DecodedFrameKind;
  /** A handshake's uid as EDN text (`"alice"`, `:sente/nil-uid`). */
  uid?: string;
  /** A client frame that asks for a reply: the cb id (as the codec reads it) its reply will carry; `ajax` for an Ajax POST. */
  callId?: string;
  /** A server's WS reply (or pong): the cb id of the call it answers. */
  replyTo?: string;
}

const NIL_UID_TEXT = ":sente/nil-uid";

/** A packer that keeps the last value it unpacked: the raw envelope, for its era and cb id. */
class Spy implements Packer {
  last: unknown;
  readonly name: string;
  readonly binary: boolean;
  readonly keywordsAsStrings: boolean;
  constructor(readonly inner: Packer) {
    this.name = inner.name;
    this.binary = inner.binary;
    this.keywordsAsStrings = inner.keywordsAsStrings;
  }
  pack(value: unknown): string | Uint8Array {
    return this.inner.pack(value);
  }
  unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
    const r = this.inner.unpack(data, limits);
    this.last = r.ok ? r.value : undefined;
    return r;
  }
}

/** One spy per packer: `last` is read right after the decode that set it, so sharing is safe. */
const spies = new WeakMap<Packer, Spy>();
/** A stream's frames come with one packer: the last spy skips the WeakMap. */
let lastSpy: Spy | undefined;

function spyOn(p: Packer): Spy {
  let s = lastSpy;
  if (s === undefined || s.inner !== p) {
    s = spies.get(p);
    if (s === undefined) spies.set(p, (s = new Spy(p)));
    lastSpy = s;
  }
  s.last = undefined;
  return s;
}

/**
 * Decode and classify one frame with `packer` (undefined: no packer reads
 * it, e.g. a detector found an HTML page). Never throws on any input: a
 * frame it cannot read is `bad`, with a `CHSK_ERR_*` code saying why.
 */
export function decodeFrame(input: FrameInput, packer: Packer | undefined, limits?: DecodeLimits): DecodedFrame {
  const data = input.data;
  const isText = typeof data === "string";
  if (!isText && !(data instanceof Uint8Array)) {
    return { kind: "bad", bytes: 0, raw: "", error: { code: "CHSK_ERR_UNPACK", message: "frame data is neither text nor bytes" } };
  }
  const bytes = typeof input.bytes === "number" ? input.bytes : isText ? utf8Length(data) : data.byteLength;
  // Every field from the start: one object shape for every frame keeps the decode and its readers fast.
  const d: DecodedFrame = {
    kind: "bad",
    bytes,
    raw: "",
    binary: undefined,
    packer: undefined,
    envelope: undefined,
    eventId: undefined,
    cbId: undefined,
    data: undefined,
    events: undefined,
    error: undefined,
    status: input.status,
    uid: undefined,
    callId: undefined,
    replyTo: undefined,
  };
  setRaw(d, data, packer);
  if (input.error !== undefined) return bad(d, String(input.error.code), String(input.error.message));
  if (input.status !== undefined && (input.status < 200 || input.status > 299)) {
    return bad(d, "CHSK_ERR_HTTP_STATUS", `HTTP ${input.status}: ${sniffFrame(data).excerpt}`);
  }
  if (packer === undefined) {
    const s = sniffFrame(data);
    return bad(d, "CHSK_ERR_NOT_SENTE", `not a Sente message (${s.format})${s.excerpt ? `: ${s.excerpt}` : ""}`);
  }
  d.packer = packer.name;
  try {
    if (input.dir === "s2c") serverFrame(d, input.channel, data, spyOn(packer), limits);
    else clientFrame(d, input.channel, data, spyOn(packer), limits);
  } catch (e) {
    // A custom packer's bug or a hostile value must not take a viewer down: the frame is bad.
    bad(d, "CHSK_ERR_UNPACK", `decoder failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return d;
}

function bad(d: DecodedFrame, code: string, message: string): DecodedFrame {
  d.kind = "bad";
  d.error = { code, message };
  return d;
}

/** Text as text; bytes as text for a text packer when they are UTF-8, else base64. */
function setRaw(d: DecodedFrame, data: string | Uint8Array, packer: Packer | undefined): void {
  if (typeof data === "string") {
    d.raw = data;
    return;
  }
  if (packer !== undefined && !packer.binary) {
    const text = isValidUtf8(data);
    if (text !== undefined) {
      d.raw = text;
      return;
    }
  }
  d.raw = toBase64(data);
  d.binary = true;
}

/**
 * A decode error, named a packer mismatch when the frame is another
 * format's and that format's packer reads it (`[]` is JSON and EDN alike:
 * no mismatch, just a bad envelope).
 */
function decodeError(
  d: DecodedFrame,
  e: ChskError,
  data: string | Uint8Array,
  packer: Packer,
  limits: DecodeLimits | undefined,
  retry: (p: Packer) => boolean,
): void {
  const expected = packerWireFormat(packer.name);
  if (expected !== undefined) {
    const s = sniffFrame(data);
    if (isWireFormat(s.format) && !readsFormat(expected, s.format)) {
      const other = createPackerDetector(undefined, limits).guess(data).packer;
      if (other !== undefined && retry(other)) {
        bad(d, "CHSK_ERR_PACKER_MISMATCH", `looks like ${other.name}, decoded as ${packer.name}: ${e.message}`);
        return;
      }
    }
  }
  bad(d, e.code, e.message);
}

function clientFrame(d: DecodedFrame, channel: WireChannel, data: string | Uint8Array, spy: Spy, limits: DecodeLimits | undefined): void {
  const wire = { cbId: undefined as unknown };
  const r = decodeClientMessage(spy, data, limits, wire);
  if (!r.ok) return decodeError(d, r.error, data, spy.inner, limits, (p) => decodeClientMessage(p, data, limits).ok);
  const m = r.value;
  const env = eraOf(data, spy, spy.last);
  if (env !== undefined) d.envelope = env;
  const id = m.event[0];
  d.eventId = id;
  if (m.event.length > 1) d.data = showEdn(m.event[1]);
  d.cbId = wire.cbId === null || wire.cbId === undefined ? null : spy.keywordsAsStrings && wire.cbId === "ajax" && channel === "post" ? ":ajax" : cbText(wire.cbId);
  if (id === Reserved.badEvent) d.error = { code: "CHSK_ERR_BAD_EVENT", message: "not a valid event [ns/name ?data]: Sente routes it as :chsk/bad-event" };
  if (m.wantsReply) d.callId = m.cbId as string;
  // A client ping asks for a "pong" (WS only); any other frame is an event, or the answer to a server ping.
  d.kind = id === Reserved.wsPong ? "pong" : channel === "ws" && id === Reserved.wsPing && m.wantsReply ? "ping" : "event";
}

function serverFrame(d: DecodedFrame, channel: WireChannel, data: string | Uint8Array, spy: Spy, limits: DecodeLimits | undefined): void {
  const context: MessageContext = channel === "ws" ? "ws" : channel === "poll" ? "poll" : "post";
  const r = decodeServerMessage(spy, data, context, limits);
  if (!r.ok) return decodeError(d, r.error, data, spy.inner, limits, (p) => decodeServerMessage(p, data, context, limits).ok);
  const envelope = spy.last;
  const env = eraOf(data, spy, envelope);
  if (env !== undefined) d.envelope = env;
  // The value slot: the envelope's first element, or the whole value of a `-`-prefixed (≤1.16) message.
  const unwrapped = typeof data === "string" ? data.charCodeAt(0) === 0x2d : !spy.binary && data[0] === 0x2d;
  const value: unknown = unwrapped ? envelope : Array.isArray(envelope) ? envelope[0] : undefined;
  const rawCb: unknown = !unwrapped && Array.isArray(envelope) && envelope.length > 1 ? envelope[1] : null;
  d.cbId = rawCb === null || rawCb === undefined ? null : cbText(rawCb);
  const m = r.value;
  switch (m.kind) {
    case "handshake": {
      d.kind = "handshake";
      d.eventId = Reserved.handshake;
      const body = Array.isArray(value) ? (value as unknown[])[1] : undefined;
      if (body !== undefined) d.data = showEdn(body);
      d.uid = m.uid === null || m.uid === undefined ? NIL_UID_TEXT : showEdn(uidFromWire(m.uid, spy.keywordsAsStrings));
      return;
    }
    case "ping":
      d.kind = "ping";
      d.eventId = Reserved.wsPing;
      return;
    case "reply":
      d.kind = m.value === "pong" ? "pong" : "reply";
      d.data = showEdn(m.value);
      d.replyTo = m.cbId;
      return;
    case "push": {
      d.kind = "push";
      const events: { eventId: string; data?: string }[] = [];
      for (const e of m.events) events.push(e.length > 1 ? { eventId: e[0], data: showEdn(e[1]) } : { eventId: e[0] });
      for (const x of m.bad) events.push({ eventId: Reserved.badEvent, data: showEdn(x) });
      d.events = events;
      if (events.length > 0) d.eventId = events[0]!.eventId;
      // The batch as EDN: written from its events (ids as keywords whatever the packer), or as it came when some are bad.
      d.data = m.bad.length === 0 ? batchText(events) : showEdn(value);
      if (m.bad.length > 0) d.error = { code: "CHSK_ERR_BAD_EVENT", message: `${m.bad.length} of ${m.bad.length + m.events.length} pushed events are not valid events` };
      return;
    }
    case "timeout":
      d.kind = "timeout";
      d.eventId = Reserved.timeout;
      return;
    case "accepted":
      d.kind = "dummy";
      d.eventId = Reserved.dummyCb200;
      return;
    case "value":
      d.kind = "reply";
      d.data = showEdn(m.value);
      return;
  }
}
