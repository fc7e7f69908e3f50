/**
 * Sente's default packer: envelopes as Clojure `pr` text, read back with
 * `clojure.edn` semantics.
 */
import { readEdn } from "../edn/reader.js";
import type { EdnValue } from "../edn/values.js";
import { writeEdn } from "../edn/writer.js";
import { ChskError, type Result } from "../protocol/errors.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

export interface EdnPackerOptions {
  /**
   * Limits used when `unpack` is called without its own. Per-call limits
   * override these field by field.
   * @default DEFAULT_DECODE_LIMITS (1 MiB, depth 64)
   */
  limits?: DecodeLimits;
  /**
   * Readers for application tagged literals (`#my/point [1 2]`), keyed by
   * tag without `#`. Unhandled tags read as `Tagged`.
   */
  tagHandlers?: Record<string, (value: EdnValue) => unknown>;
}

/** Every EDN packer's `pack`: the codec recognises it and writes client events without building their envelope. */
export function packEdn(value: unknown): string {
  return writeEdn(value);
}

/**
 * The EDN packer (`name: "edn"`, text frames). `pack` throws
 * `CHSK_ERR_UNSUPPORTED_VALUE`; `unpack` never throws and accepts text or
 * UTF-8 bytes (invalid UTF-8 → `CHSK_ERR_UNPACK`).
 *
 * @example
 * const p = ednPacker();
 * p.pack([[kw("my/ev"), { a: 1 }], "3f2a1b"]); // '[[:my/ev {:a 1}] "3f2a1b"]'
 */
export function ednPacker(opts: EdnPackerOptions = {}): Packer {
  const defaults = { ...DEFAULT_DECODE_LIMITS, ...opts.limits };
  const tagHandlers = opts.tagHandlers;
  let decoder: TextDecoder | undefined;
  const textDefaults = { maxDepth: defaults.maxDepth, maxBytes: defaults.maxBytes, ...(tagHandlers === undefined ? {} : { tagHandlers }) };
  return {
    name: "edn",
    binary: false,
    keywordsAsStrings: false,
    pack: packEdn,
    unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
      const maxBytes = limits?.maxBytes ?? defaults.maxBytes;
      const maxDepth = limits?.maxDepth ?? defaults.maxDepth;
      let text: string;
      if (typeof data === "string") {
        text = data;
      } else {
        if (data.byteLength > maxBytes) {
          return {
            ok: false,
            error: new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `EDN frame larger than maxBytes ${maxBytes}`, {
              detail: { maxBytes, bytes: data.byteLength },
            }),
          };
        }
        decoder ??= new TextDecoder("utf-8", { fatal: true });
        try {
          text = decoder.decode(data);
        } catch (e) {
          return { ok: false, error: new ChskError("CHSK_ERR_UNPACK", "EDN frame is not valid UTF-8", { cause: e }) };
        }
      }
      // Without per-call limits (every frame of a client or server with its
      // packer's defaults), the read options are built once.
      if (limits === undefined && typeof data === "string") return readEdn(text, textDefaults);
      return readEdn(text, {
        maxDepth,
        // Bytes were measured exactly above; don't measure the decoded text again.
        maxBytes: typeof data === "string" ? maxBytes : Infinity,
        ...(tagHandlers === undefined ? {} : { tagHandlers }),
      });
    },
  };
}
