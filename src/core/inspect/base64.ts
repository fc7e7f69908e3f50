/**
 * Base64 (RFC 4648, with padding) for recordings of binary frames, without
 * `Buffer` (core runs in browsers) and without `btoa`'s binary strings.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
/** Every 12-bit value as its two base64 characters: one lookup per 1.5 bytes. */
const PAIRS: string[] = [];
for (let i = 0; i < 4096; i++) PAIRS.push(ALPHABET[i >> 6]! + ALPHABET[i & 63]!);

/**
 * The base64 text of byte arrays decoded from it (a replay's binary frames),
 * so writing the record again does not encode what was just decoded.
 */
const known = new WeakMap<Uint8Array, string>();

/** Bytes as base64 text. */
export function toBase64(b: Uint8Array): string {
  const seen = known.get(b);
  if (seen !== undefined) return seen;
  const n = b.length;
  let out = "";
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += PAIRS[v >> 12]! + PAIRS[v & 4095]!;
  }
  if (i < n) {
    const v = (b[i]! << 16) | ((i + 1 < n ? b[i + 1]! : 0) << 8);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + (i + 1 < n ? ALPHABET[(v >> 6) & 63]! : "=") + "=";
  }
  return out;
}

const digit = (s: string, i: number): number => {
  const c = s.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
};

/** Base64 text as bytes; `undefined` if it is not base64 (whitespace is not allowed). */
export function fromBase64(s: string): Uint8Array | undefined {
  const len = s.length;
  if (len % 4 !== 0) return undefined;
  let pad = 0;
  if (len > 0 && s.charCodeAt(len - 1) === 0x3d) pad++;
  if (len > 1 && s.charCodeAt(len - 2) === 0x3d) pad++;
  const out = new Uint8Array((len / 4) * 3 - pad);
  const full = pad === 0 ? len : len - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = digit(s, i);
    const b = digit(s, i + 1);
    const c = digit(s, i + 2);
    const d = digit(s, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (pad > 0) {
    const i = len - 4;
    const a = digit(s, i);
    const b = digit(s, i + 1);
    const c = pad === 1 ? digit(s, i + 2) : 0;
    if ((a | b | c) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >> 16;
    if (pad === 1) out[o++] = (v >> 8) & 255;
  }
  known.set(out, s);
  return out;
}
