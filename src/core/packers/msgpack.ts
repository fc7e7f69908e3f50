/**
 * Sente's MessagePack packer (`taoensso.sente.packers.msgpack/get-packer`,
 * Sente 1.21+): binary frames in Sente's own dialect, read and written by
 * chsk's codec (`msgpack-reader.ts`, `msgpack-writer.ts`). Neither npm
 * msgpack library can write or read that dialect as is; the README's
 * "Packers" section has the comparison.
 */
import { ChskError, err, type Result } from "../protocol/errors.js";
import { readMsgpack } from "./msgpack-reader.js";
import { createMsgpackWriter } from "./msgpack-writer.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

export interface MsgpackPackerOptions {
  /**
   * Limits used when `unpack` is called without its own. Per-call limits
   * override these field by field. `maxBytes` is the input's length
   * (trailing bytes included); `maxDepth` counts arrays, maps, sets and
   * ratios.
   * @default DEFAULT_DECODE_LIMITS (1 MiB, depth 64)
   */
  limits?: DecodeLimits;
}

/**
 * The msgpack packer (`name: "msgpack"`, `binary: true`). Its frames are
 * byte-identical to a Sente JVM server's for the same data (captured-frames
 * §12), and it reads everything Sente's JVM and ClojureScript sides write,
 * including the zero-padded Ajax bodies of Sente's ClojureScript client
 * (bytes after the first value are ignored).
 *
 * `pack` throws `CHSK_ERR_UNSUPPORTED_VALUE` for what Sente can't write
 * either (a `bigint` beyond int64, an invalid Date, a {@link Tagged}, other
 * classes). `unpack` never throws: text input, truncated or malformed bytes
 * → `CHSK_ERR_UNPACK`; input over `maxBytes` → `CHSK_ERR_FRAME_TOO_LARGE`;
 * nesting over `maxDepth` → `CHSK_ERR_EDN_DEPTH`.
 *
 * @example
 * const p = msgpackPacker();
 * p.pack([[kw("my/ev"), { a: 1 }], "3f2a1b"]);
 * // 92 92 c7 05 00 6d 79 2f 65 76 81 d4 00 61 01 a6 33 66 32 61 31 62
 */
export function msgpackPacker(opts: MsgpackPackerOptions = {}): Packer {
  const defaults = { ...DEFAULT_DECODE_LIMITS, ...opts.limits };
  const write = createMsgpackWriter();
  return {
    name: "msgpack",
    binary: true,
    keywordsAsStrings: false,
    pack: write,
    unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
      const maxBytes = limits?.maxBytes ?? defaults.maxBytes;
      const maxDepth = limits?.maxDepth ?? defaults.maxDepth;
      if (typeof data === "string") {
        // Sente: "Unexpected unpack `input` type" (a text frame or a form POST).
        return err(new ChskError("CHSK_ERR_UNPACK", "msgpack frames are binary; got text"));
      }
      if (data.byteLength > maxBytes) {
        return err(
          new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `msgpack frame larger than maxBytes ${maxBytes}`, {
            detail: { maxBytes, bytes: data.byteLength },
          }),
        );
      }
      return readMsgpack(data, maxDepth);
    },
  };
}
