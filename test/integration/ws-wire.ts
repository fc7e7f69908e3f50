/** Reading RFC 6455 frames off a raw TCP byte stream, for the tests that check what is on the wire. */

export interface WireFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  /** The masking key (empty when not masked). */
  key: Buffer;
  /** Unmasked, copied out of the stream. */
  payload: Buffer;
  /** The first two header bytes, hex (`8129`). */
  header: string;
}

/** The first whole frame at the start of `b` and its size in bytes, or null if `b` holds only part of one. */
export function takeFrame(b: Buffer): { frame: WireFrame; size: number } | null {
  if (b.length < 2) return null;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    len = Number(b.readBigUInt64BE(2));
    at = 10;
  }
  const masked = (b[1]! & 0x80) !== 0;
  const key = Buffer.from(b.subarray(at, masked ? at + 4 : at));
  if (masked) at += 4;
  if (b.length < at + len) return null;
  const payload = Buffer.from(b.subarray(at, at + len));
  if (masked) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
  const frame = { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, masked, key, payload, header: b.subarray(0, 2).toString("hex") };
  return { frame, size: at + len };
}
