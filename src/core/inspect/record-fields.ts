/**
 * How the decoder writes a frame's fields: the cb id as on the wire, the
 * envelope era, a push batch as EDN, timestamps, close-code names.
 */
import { Keyword } from "../edn/values.js";
import type { Packer } from "../packers/types.js";
import { showEdn } from "./show-edn.js";
import type { FrameRecord } from "./types.js";

/** The cb id as written on the wire: `3f2a1b`, `:ajax`, `0`. */
export function cbText(cb: unknown): string {
  if (typeof cb === "string") return cb;
  if (cb instanceof Keyword) return `:${cb.fqn}`;
  if (typeof cb === "number" || typeof cb === "bigint" || typeof cb === "boolean") return String(cb);
  return showEdn(cb);
}

/** Sente's envelope era (protocol.md §3.7). */
export function eraOf(data: string | Uint8Array, packer: Packer, envelope: unknown): FrameRecord["envelope"] {
  const c0 = typeof data === "string" ? data.charCodeAt(0) : packer.binary ? -1 : data[0];
  if (c0 === 0x2b || c0 === 0x2d) return "1.17";
  if (!Array.isArray(envelope)) return undefined;
  if (envelope.length === 1) return "1.18";
  return envelope[1] === 0 ? "1.18" : "1.21";
}

export const isValidUtf8 = (() => {
  let fatal: TextDecoder | undefined;
  return (b: Uint8Array): string | undefined => {
    try {
      return (fatal ??= new TextDecoder("utf-8", { fatal: true })).decode(b);
    } catch {
      return undefined;
    }
  };
})();

export const CLOSE_NAMES: Record<number, string> = {
  1002: "PROTOCOL_ERROR",
  1003: "UNSUPPORTED_DATA",
  1006: "ABNORMAL_CLOSURE",
  1008: "POLICY_VIOLATION",
  1009: "MESSAGE_TOO_BIG",
  1011: "INTERNAL_ERROR",
  3000: "ABNORMAL",
  4000: "PING_TIMEOUT",
  4001: "SLOW_CONSUMER",
};

/** A push batch as EDN, from its events' texts. */
export function batchText(events: { eventId: string; data?: string }[]): string {
  let s = "[";
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    s += (i === 0 ? "[:" : " [:") + e.eventId + (e.data === undefined ? "]" : ` ${e.data}]`);
  }
  return s + "]";
}

let isoSecond = NaN;
let isoPrefix = "";

/**
 * ISO 8601 with milliseconds; a time no Date can hold becomes the epoch
 * rather than a throw. Frames of one second share the formatted prefix.
 */
export function isoOf(at: number): string {
  const ms = Math.floor(at);
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    const d = new Date(sec * 1000);
    if (!Number.isFinite(d.getTime())) return new Date(0).toISOString();
    const iso = d.toISOString();
    // Years beyond 9999 are written ±YYYYYY-: no fixed-width prefix to reuse.
    if (iso.length !== 24) return new Date(ms).toISOString();
    isoSecond = sec;
    isoPrefix = iso.slice(0, 20);
  }
  const frac = ms - sec * 1000;
  return isoPrefix + (frac < 10 ? "00" : frac < 100 ? "0" : "") + frac + "Z";
}
