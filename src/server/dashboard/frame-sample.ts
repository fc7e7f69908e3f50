/**
 * A kept frame as the dashboard shows it. The frame is read by core's
 * `decodeFrame`, the same reading `chsk inspect` and replay give it, so a
 * frame is the same kind, event id and batch everywhere. What only the
 * server knows comes from its taps: which call a reply answers and how
 * long that took (the `reply` tap right after the reply's frame).
 *
 * Called on the few frames the feed keeps each second (`sampleLimit`),
 * never per frame: decoding costs, counting doesn't.
 */
import { decodeFrame, type DecodedFrame, type DecodedFrameKind } from "../../core/inspect/decode-frame.js";
import type { DecodeLimits, Packer } from "../../core/packers/types.js";
import { Reserved } from "../../core/protocol/events.js";
import type { TapChannel } from "../types.js";
import type { FrameKind, FrameSample, InspectFrameKind, Transport } from "./feed-types.js";

/** A frame as the tap saw it, undecoded. */
export interface KeptFrame {
  at: number;
  dir: "in" | "out";
  transport: Transport;
  channel: TapChannel;
  uid: string | null;
  clientId: string;
  bytes: number;
  data: string | Uint8Array;
  /** HTTP status of an Ajax answer. */
  status?: number | undefined;
  /** In-frames: the event id the server read, shown when the frame is too large for the feed to decode. */
  tapEventId?: string | undefined;
  /** In-frames: whether the server saw a cb id (same use). */
  tapCb?: boolean | undefined;
  /** Out-frames: the event this frame answers, from the `reply` tap that follows it. */
  replyTo?: string | undefined;
  /** Out-frames: that reply's latency, as the server measured it (ms). */
  latencyMs?: number | undefined;
}

/**
 * Frames larger than this are not decoded for the page (up to
 * `sampleLimit` decodes a second must stay cheap); they show as `unknown`
 * with what the taps said.
 */
export const SAMPLE_DECODE_LIMITS: Required<DecodeLimits> = { maxBytes: 256 * 1024, maxDepth: 64 };

/** The page's colour for each of `decodeFrame`'s kinds (typed twice: the page's copy of the kinds must match core's). */
const PAGE_KIND: Record<DecodedFrameKind, FrameKind> & Record<InspectFrameKind, FrameKind> = {
  handshake: "control",
  event: "event",
  push: "push",
  reply: "reply",
  ping: "control",
  pong: "control",
  timeout: "control",
  dummy: "control",
  bad: "bad",
};

/** A batch's distinct event ids, the first three. */
function batchIds(d: DecodedFrame): string {
  const ids = new Set((d.events ?? []).map((e) => e.eventId));
  if (ids.size === 0) return "?";
  return [...ids].slice(0, 3).join(", ") + (ids.size > 3 ? ", …" : "");
}

type Described = Pick<FrameSample, "eventId" | "kind" | "count" | "cb" | "inspectKind" | "error" | "latencyMs">;

/** What the page shows of a kept frame; decodes it with the server's packer. */
export function describeFrame(f: KeptFrame, packer: Packer): FrameSample {
  const base = { at: f.at, dir: f.dir, transport: f.transport, uid: f.uid, clientId: f.clientId, bytes: f.bytes };
  return { ...base, ...(f.bytes > SAMPLE_DECODE_LIMITS.maxBytes ? undecoded(f) : decoded(f, packer)) };
}

function undecoded(f: KeptFrame): Described {
  if (f.replyTo !== undefined) return withLatency({ eventId: f.replyTo, kind: "reply", count: 1, cb: true }, f);
  return { eventId: f.tapEventId ?? "?", kind: "unknown", count: 1, cb: f.tapCb ?? false };
}

function decoded(f: KeptFrame, packer: Packer): Described {
  const d = decodeFrame({ dir: f.dir === "in" ? "c2s" : "s2c", channel: f.channel, data: f.data, status: f.status }, packer, SAMPLE_DECODE_LIMITS);
  const out: Described = { eventId: d.eventId ?? "?", kind: PAGE_KIND[d.kind], count: 1, cb: false, inspectKind: d.kind };
  if (d.error !== undefined) out.error = d.error.code;
  if (d.kind === "bad" && d.eventId === undefined) out.eventId = "(undecodable)";
  if (f.dir === "in") {
    out.cb = d.callId !== undefined;
    return out;
  }
  switch (d.kind) {
    case "push":
      out.eventId = batchIds(d);
      out.count = d.events?.length ?? 0;
      return out;
    case "pong":
      // A "pong" the server's `reply` tap vouches for answers a call (the inspector pairs it so too).
      if (f.replyTo !== undefined) break;
      // The answer to a client's `[[:chsk/ws-ping] cb]`: named for what it answers, like a reply.
      out.eventId = Reserved.wsPing;
      out.cb = true;
      return out;
    case "reply":
      break;
    default:
      return out;
  }
  // What a reply answers comes from the server's `reply` tap: an Ajax answer carries no cb id, and a cb id names no event.
  out.kind = "reply";
  out.inspectKind = "reply";
  out.eventId = f.replyTo ?? "reply";
  out.cb = true;
  return withLatency(out, f);
}

function withLatency(out: Described, f: KeptFrame): Described {
  if (f.latencyMs !== undefined) out.latencyMs = Math.round(f.latencyMs * 10) / 10;
  return out;
}
