/**
 * Options of {@link createFrameDecoder}, validated once: `TypeError` for a
 * wrong kind of value, `RangeError` for a bad number (as `createServer`).
 */
import type { DecodeLimits, Packer } from "../packers/types.js";
import type { FrameFlag, FrameRecord } from "./types.js";

/** What changed on a record the decoder had already returned. */
export type RecordChange =
  /** Its reply arrived: `pair` (and on replies `latencyMs`) is set now. */
  | { kind: "paired" }
  /** A flag was added (`unanswered`, `missed-pong`, `late`). */
  | { kind: "flagged"; flag: FrameFlag }
  /** A flag was taken back (`unanswered` once a late reply came). */
  | { kind: "unflagged"; flag: FrameFlag };

export interface FrameDecoderOptions {
  /**
   * Decode every frame with this packer (chsk's, or a custom one: the CLI's
   * `--packer-module`). Without it the packer is detected from the first
   * decisive frames (EDN, transit, JSON, msgpack, gzip+…) and kept.
   * @default undefined (detect)
   */
  packer?: Packer | undefined;
  /**
   * A call (an event with a cb id, an Ajax POST asking for a reply) with no
   * reply this long after it is flagged `unanswered`; a reply after that is
   * `late`. Sente's callers choose a timeout per call; 10 s is the
   * server's ping timeout and twice the client's ping timeout, longer than
   * most app timeouts (chsk call: 5 s). Sente answers an Ajax POST
   * `:chsk/timeout` after `lp-timeout-ms` (20 s), which is also flagged.
   * @default 10_000
   */
  callTimeoutMs?: number;
  /**
   * A server ping (`[:chsk/ws-ping nil]`) with no frame from the client on
   * that socket this long after it is flagged `missed-pong` (Sente's
   * server-side `:ws-ping-timeout-ms`).
   * @default 10_000
   */
  serverPingTimeoutMs?: number;
  /**
   * A client ping (`[[:chsk/ws-ping] cb]`) with no `"pong"` this long after
   * it is flagged `missed-pong` (Sente's client-side `:ws-ping-timeout-ms`).
   * @default 5_000
   */
  clientPingTimeoutMs?: number;
  /**
   * Decode limits for every frame. Larger than a server's: a debugger should
   * show a big frame rather than call it bad.
   * @default { maxBytes: 16 MiB, maxDepth: 64 }
   */
  limits?: DecodeLimits;
  /**
   * Calls, pings and POSTs awaiting an answer that are tracked at once (and
   * as many timed-out ones, for `late`). Beyond it the oldest is forgotten
   * (its answer then shows as `orphan`). Bounds the decoder's memory.
   * @default 10_000
   */
  maxPending?: number;
  /**
   * Connections and client ids remembered for stitching (uid, reconnects).
   * Beyond it the least recently opened is forgotten.
   * @default 10_000
   */
  maxTracked?: number;
  /** The `seq` of the first record. @default 1 */
  firstSeq?: number;
  /**
   * Called when a record already returned changes (its reply arrived, it
   * timed out). The record is changed in place; a view redraws it, a
   * summary counts the flag.
   * @default undefined
   */
  onUpdate?: ((record: FrameRecord, change: RecordChange) => void) | undefined;
}

export interface ResolvedDecoderOptions {
  packer: Packer | undefined;
  callTimeoutMs: number;
  serverPingTimeoutMs: number;
  clientPingTimeoutMs: number;
  limits: Required<DecodeLimits>;
  maxPending: number;
  maxTracked: number;
  firstSeq: number;
  onUpdate: ((record: FrameRecord, change: RecordChange) => void) | undefined;
}

export const INSPECT_DECODE_LIMITS: Required<DecodeLimits> = { maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

function num(name: string, v: unknown, dflt: number, min: number, integer: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new TypeError(`The "${name}" option must be a number, got ${typeof v}`);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new RangeError(`The "${name}" option must be a finite ${integer ? "integer" : "number"} >= ${min}, got ${v}`);
  }
  return v;
}

function isPacker(p: unknown): p is Packer {
  const x = p as Partial<Packer> | null;
  return typeof x === "object" && x !== null && typeof x.name === "string" && typeof x.unpack === "function" && typeof x.pack === "function";
}

export function resolveDecoderOptions(o: FrameDecoderOptions = {}): ResolvedDecoderOptions {
  if (typeof o !== "object" || o === null) throw new TypeError("createFrameDecoder(options): options must be an object");
  if (o.packer !== undefined && !isPacker(o.packer)) {
    throw new TypeError('The "packer" option must be a Packer ({ name, binary, keywordsAsStrings, pack, unpack })');
  }
  if (o.onUpdate !== undefined && typeof o.onUpdate !== "function") throw new TypeError('The "onUpdate" option must be a function');
  if (o.limits !== undefined && (typeof o.limits !== "object" || o.limits === null)) throw new TypeError('The "limits" option must be an object');
  return {
    packer: o.packer,
    callTimeoutMs: num("callTimeoutMs", o.callTimeoutMs, 10_000, 1, false),
    serverPingTimeoutMs: num("serverPingTimeoutMs", o.serverPingTimeoutMs, 10_000, 1, false),
    clientPingTimeoutMs: num("clientPingTimeoutMs", o.clientPingTimeoutMs, 5_000, 1, false),
    limits: {
      maxBytes: num("limits.maxBytes", o.limits?.maxBytes, INSPECT_DECODE_LIMITS.maxBytes, 1, true),
      maxDepth: num("limits.maxDepth", o.limits?.maxDepth, INSPECT_DECODE_LIMITS.maxDepth, 1, true),
    },
    maxPending: num("maxPending", o.maxPending, 10_000, 1, true),
    maxTracked: num("maxTracked", o.maxTracked, 10_000, 1, true),
    firstSeq: num("firstSeq", o.firstSeq, 1, 1, true),
    onUpdate: o.onUpdate,
  };
}
