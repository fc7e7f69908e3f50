/**
 * Sente's gzip wrapper (`taoensso.sente.packers.gzip/wrap-packer`, Sente
 * 1.21+): one flag byte, then the inner packer's bytes, gzipped when they
 * are 1024 bytes or more (protocol.md §3.5, captured-frames §13-14).
 */
import { deflateSync } from "fflate";
import { ChskError, err, type Result } from "../protocol/errors.js";
import { crc32 } from "./crc32.js";
import { gunzipBounded } from "./gunzip-bounded.js";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

export interface GzipPackerOptions {
  /**
   * Inner bytes at least this long are compressed. Sente's threshold; a
   * peer reads either form whatever it is.
   * @default 1024
   */
  minCompressBytes?: number;
  /**
   * DEFLATE level, 1 (fast) to 9 (small). 6 is Java's and zlib's default,
   * with which chsk's frames match a Sente JVM server's byte for byte.
   * @default 6
   */
  level?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  /**
   * Limits used when `unpack` is called without its own. `maxBytes` applies
   * to the inflated bytes (inflation stops as soon as it is passed);
   * `maxDepth` is handed to the inner packer.
   * @default DEFAULT_DECODE_LIMITS (1 MiB, depth 64)
   */
  limits?: DecodeLimits;
}

const RAW = 0x00;
const GZIP = 0x01;
/** What Java's `GZIPOutputStream` writes: no mtime, no flags, OS "unknown". */
const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff);

/**
 * Wraps a packer as Sente's `wrap-packer` does (`name: "gzip+<inner>"`,
 * always `binary: true`). Writing: flag `00` + the inner bytes (a text
 * packer's UTF-8), or flag `01` + gzip when they are ≥ `minCompressBytes`.
 * The gzip header and trailer are the ones Java writes, so with the default
 * level chsk's frames equal a Sente JVM server's.
 *
 * Reading: flag `01` is gzip, any other flag byte raw (as in Sente). Text
 * input → `CHSK_ERR_UNPACK` (Sente's wrapper takes bytes only); corrupt gzip
 * (bad header, stream, CRC-32 or length) → `CHSK_ERR_UNPACK`; more than
 * `maxBytes` after inflating → `CHSK_ERR_FRAME_TOO_LARGE`, without
 * inflating the rest. Then the inner packer's errors. Never throws.
 *
 * @example
 * const p = gzipPacker(ednPacker());
 * p.pack([[kw("my/ev"), { a: 1 }], null]); // 00 5b 5b 3a 6d 79 2f 65 76 20 7b 3a 61 20 31 7d 5d 20 6e 69 6c 5d
 */
export function gzipPacker(inner: Packer, opts: GzipPackerOptions = {}): Packer {
  const defaults = { ...DEFAULT_DECODE_LIMITS, ...opts.limits };
  const minCompress = opts.minCompressBytes ?? 1024;
  const level = opts.level ?? 6;
  let encoder: TextEncoder | undefined;
  return {
    name: `gzip+${inner.name}`,
    binary: true,
    keywordsAsStrings: inner.keywordsAsStrings,
    pack(value: unknown): Uint8Array {
      const packed = inner.pack(value);
      const bytes = typeof packed === "string" ? (encoder ??= new TextEncoder()).encode(packed) : packed;
      if (bytes.length < minCompress) {
        const out = new Uint8Array(bytes.length + 1);
        out[0] = RAW;
        out.set(bytes, 1);
        return out;
      }
      return gzipFrame(bytes, level);
    },
    unpack(data: string | Uint8Array, limits?: DecodeLimits): Result<unknown> {
      const maxBytes = limits?.maxBytes ?? defaults.maxBytes;
      const maxDepth = limits?.maxDepth ?? defaults.maxDepth;
      if (typeof data === "string") {
        return err(new ChskError("CHSK_ERR_UNPACK", "gzip-wrapped frames are binary; got text"));
      }
      if (data.length === 0) return err(new ChskError("CHSK_ERR_UNPACK", "empty gzip-wrapped frame (no flag byte)"));
      let body = data.subarray(1);
      if (data[0] === GZIP) {
        const r = gunzipBounded(body, maxBytes);
        if (!r.ok) return r;
        body = r.value;
      }
      return inner.unpack(body, { maxBytes, maxDepth });
    },
  };
}

/** Flag `01`, then gzip as Java's `GZIPOutputStream` lays it out. */
function gzipFrame(bytes: Uint8Array, level: GzipPackerOptions["level"]): Uint8Array {
  const deflated = deflateSync(bytes, { level });
  const out = new Uint8Array(1 + GZIP_HEADER.length + deflated.length + 8);
  out[0] = GZIP;
  out.set(GZIP_HEADER, 1);
  out.set(deflated, 1 + GZIP_HEADER.length);
  const trailer = new DataView(out.buffer, out.length - 8, 8);
  trailer.setUint32(0, crc32(bytes), true);
  trailer.setUint32(4, bytes.length >>> 0, true);
  return out;
}
