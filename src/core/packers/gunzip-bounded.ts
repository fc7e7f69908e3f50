/**
 * gzip decompression that never produces more than a limit: the guard
 * against a small frame that inflates to gigabytes.
 */
import { Inflate } from "fflate";
import { ChskError, err, ok, type Result } from "../protocol/errors.js";
import { crc32 } from "./crc32.js";

/** DEFLATE's best case: one input byte can stand for at most ~1032 output bytes. */
const MAX_RATIO = 1032;
/**
 * Smallest slice of input fed at once. Output is checked after each slice,
 * so this bounds how far past the limit inflation can get (~66 KB).
 */
const MIN_STEP = 64;
const FTEXT_FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

const corrupt = (why: string, cause?: unknown): Result<never> =>
  err(new ChskError("CHSK_ERR_UNPACK", `corrupt gzip: ${why}`, cause === undefined ? {} : { cause }));

const tooLarge = (maxBytes: number, inflated: number): Result<never> =>
  err(
    new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `gzip frame inflates to more than maxBytes ${maxBytes}`, {
      detail: { maxBytes, inflated },
    }),
  );

/**
 * Inflates one gzip member (RFC 1952), checking its CRC-32 and length as
 * Java's `GZIPInputStream` and browsers' `DecompressionStream` do.
 *
 * The input is fed to the inflater in slices sized so that even at DEFLATE's
 * maximum ratio a slice can't go far past what is left of `maxBytes`, and
 * inflation stops after the first slice that passes it.
 *
 * Errors: `CHSK_ERR_FRAME_TOO_LARGE` (detail `inflated`: bytes produced
 * before stopping), `CHSK_ERR_UNPACK` for anything malformed. Never throws.
 */
export function gunzipBounded(gz: Uint8Array, maxBytes: number): Result<Uint8Array> {
  const len = gz.length;
  if (len < 18) return corrupt("shorter than a gzip header and trailer");
  if (gz[0] !== 0x1f || gz[1] !== 0x8b) return corrupt("bad magic bytes");
  if (gz[2] !== 8) return corrupt(`unknown compression method ${gz[2]}`);
  const flags = gz[3]!;
  const bodyEnd = len - 8;
  let p = 10;
  if (flags & FEXTRA) p += 2 + (gz[p]! | (gz[p + 1]! << 8));
  if (flags & FNAME) p = skipZeroTerminated(gz, p, bodyEnd);
  if (flags & FCOMMENT) p = skipZeroTerminated(gz, p, bodyEnd);
  if (flags & FTEXT_FHCRC) p += 2;
  if (p > bodyEnd) return corrupt("header runs into the trailer");
  const view = new DataView(gz.buffer, gz.byteOffset, len);
  const crc = view.getUint32(bodyEnd, true);
  const size = view.getUint32(bodyEnd + 4, true);
  // The trailer's size is not trusted to refuse early: in a truncated frame it is
  // compressed data, and the frame must read as corrupt, not as too large.

  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk: Uint8Array) => {
    total += chunk.length;
    chunks.push(chunk);
  });
  try {
    let at = p;
    do {
      const step = Math.max(MIN_STEP, Math.ceil((maxBytes - total) / MAX_RATIO));
      const next = Math.min(bodyEnd, at + step);
      inflater.push(gz.subarray(at, next), next === bodyEnd);
      at = next;
      if (total > maxBytes) return tooLarge(maxBytes, total);
    } while (at < bodyEnd);
  } catch (e) {
    return corrupt((e as Error)?.message ?? String(e), e);
  }
  const out = chunks.length === 1 ? chunks[0]! : concat(chunks, total);
  if (total !== size || crc32(out) !== crc) return corrupt("CRC-32 or length does not match the trailer");
  return ok(out);
}

function skipZeroTerminated(b: Uint8Array, p: number, stop: number): number {
  while (p < stop && b[p] !== 0) p++;
  return p + 1;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
