import type { Result } from "../protocol/errors.js";

/** Limits applied while unpacking peer input. */
export interface DecodeLimits {
  /**
   * Largest accepted input, in bytes (UTF-8 length for text; a string's
   * `length` is used as a cheap lower bound first).
   * @default 1_048_576
   */
  maxBytes?: number;
  /**
   * Deepest accepted nesting of collections (and tagged values).
   * @default 64
   */
  maxDepth?: number;
}

export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxBytes: 1024 * 1024,
  maxDepth: 64,
};

/**
 * Turns whole envelopes into wire data and back. Sente's packers are
 * callback based; ours are synchronous because every format we ship is.
 *
 * `unpack` must never throw on peer input: it returns an error result with
 * a stable code (`CHSK_ERR_EDN_SYNTAX`, `CHSK_ERR_EDN_DEPTH`,
 * `CHSK_ERR_FRAME_TOO_LARGE`, `CHSK_ERR_UNPACK`). `pack` throws
 * `ChskError("CHSK_ERR_UNSUPPORTED_VALUE")` for values the format can't hold.
 *
 * Values use the model of `core/edn/values.ts` (Keyword, EdnSet, …), except
 * where {@link Packer.keywordsAsStrings} says keywords arrive as strings.
 */
export interface Packer {
  /** `"edn"`, `"transit"`, `"msgpack"`, `"gzip+<inner>"`, `"json"`, or a custom name. */
  readonly name: string;
  /** True if `pack` returns bytes (sent as binary WS frames / octet-stream POSTs). */
  readonly binary: boolean;
  /**
   * True for formats without keywords (plain JSON): event ids and Sente's
   * reserved markers (`chsk/ws-ping`, …) then travel as strings.
   */
  readonly keywordsAsStrings: boolean;
  pack(value: unknown): string | Uint8Array;
  unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown>;
}
