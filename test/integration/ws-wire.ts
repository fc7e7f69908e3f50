/** Writing and reading RFC 6455 frames on a raw TCP byte stream, for the tests that check what is on the wire. */
import { randomBytes } from "node:crypto";

export interface FrameOptions {
  /** @default true */
  fin?: boolean;
  /** RSV1-3 as a 3-bit number. @default 0 */
  rsv?: number;
  /** Mask the payload (as a client must): with a random key, or this one. @default false (as a server sends) */
  mask?: boolean | Buffer;
}

/** One frame laid out as RFC 6455 §5.2 has it, for any payload length. */
export function wsFrame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
  const n = payload.length;
  const key = o.mask === true ? randomBytes(4) : o.mask === false || o.mask === undefined ? null : o.mask;
  const m = key === null ? 0 : 0x80;
  const head = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  if (n <= 125) head.push(m | n);
  else if (n <= 0xffff) head.push(m | 126, n >> 8, n & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  if (key === null) return Buffer.concat([Buffer.from(head), payload]);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

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
