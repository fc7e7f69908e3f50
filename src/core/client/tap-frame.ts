/**
 * What a tapped frame is: the client's decode result turned into the
 * {@link ClientTapFrame} description fields. Only called while something is
 * tapping, so an untapped client never builds these.
 */
import type { Result } from "../protocol/errors.js";
import type { ServerMessage } from "../protocol/codec.js";
import { Reserved } from "../protocol/events.js";
import type { WireChannel } from "../inspect/types.js";
import type { ClientFrameKind } from "./types.js";

/** The description of an inbound frame. */
export interface InDescription {
  kind: ClientFrameKind;
  eventId?: string;
  cbId?: string | null;
}

/** Describe a decoded server message (`r`) that arrived on `channel`. */
export function describeIn(r: Result<ServerMessage>, channel: WireChannel): InDescription {
  if (!r.ok) return { kind: "bad" };
  const m = r.value;
  switch (m.kind) {
    case "handshake":
      return { kind: "handshake", eventId: Reserved.handshake };
    case "ping":
      return { kind: "ping", eventId: Reserved.wsPing };
    case "reply":
      return { kind: "reply", cbId: m.cbId };
    case "push": {
      const first = m.events[0];
      return first === undefined ? { kind: "push" } : { kind: "push", eventId: first[0] };
    }
    case "timeout":
      return channel === "post-reply" ? { kind: "timeout", eventId: Reserved.timeout, cbId: "ajax" } : { kind: "timeout", eventId: Reserved.timeout };
    case "accepted":
      return { kind: "dummy", eventId: Reserved.dummyCb200 };
    case "value":
      return { kind: "reply", cbId: "ajax" };
  }
}

let lastConnId = 0;

/**
 * A process-unique id for a WS attempt (`ws-3`) or an Ajax exchange: a poll
 * (`get-7`), a POST and its answer (`post-8`); the server's tap names its
 * side of them the same way.
 */
export const newConnId = (prefix: "ws" | "get" | "post"): string => `${prefix}-${++lastConnId}`;
