/**
 * The Node client's outgoing WebSocket data frames, masked (RFC 6455 §5.3)
 * and laid end to end in a shared slab, so the frames a socket sends in one
 * tick reach it as ONE buffer: one `socket.write` instead of, per frame, a
 * `Buffer.from` of the text, `ws`'s header and masked copy, and a stream
 * chunk of its own. A busy client (a load generator's thousand devices, a
 * backend fanning requests out) sends many small frames per tick, and that
 * per-frame machinery cost more than the frame.
 *
 * Only what `ws` itself would put on the wire is written: a final frame,
 * opcode 1 (text) or 2 (binary), no RSV bits, a fresh random mask. Sockets
 * with an extension (permessage-deflate) and large frames keep going
 * through `ws`; see {@link FrameQueue}.
 */
import type { Duplex } from "node:stream";

/** Frames whose payload may exceed this (bytes) go through `ws`, which needs no bound. */
export const MAX_SLAB_PAYLOAD = 16 * 1024;
const SLAB_SIZE = 64 * 1024;

// Frames are carved out of the slab and handed to sockets as views, never
// rewritten: a full slab is replaced, and lives on while its views are queued.
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabAt = 0;

// Masking keys are drawn in bulk, as `ws` does: one `getRandomValues` per 1,024 frames.
const masks = new Uint8Array(4 * 1024);
let maskAt = masks.length;

/** Room for a header (≤ 8 bytes below MAX_SLAB_PAYLOAD, with the mask) and `payloadBound` bytes. */
function reserve(payloadBound: number): void {
  if (slabAt + payloadBound + 8 > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabAt = 0;
  }
}

/**
 * Writes one masked frame at the slab's end and returns its end offset. The
 * caller has checked that it fits ({@link frameBound}).
 */
function writeFrame(data: string | Uint8Array): number {
  const start = slabAt;
  let payloadAt = start + 6;
  let n: number;
  if (typeof data === "string") {
    // UTF-8 is at most 3 bytes per UTF-16 unit: when that bound fits the
    // 7-bit length, the header is 2 + 4 bytes; otherwise write after an
    // extended one and move the payload back if it turned out short.
    if (data.length * 3 > 125) payloadAt += 2;
    n = slab.write(data, payloadAt);
    if (n <= 125 && payloadAt !== start + 6) {
      slab.copyWithin(start + 6, payloadAt, payloadAt + n);
      payloadAt = start + 6;
    }
  } else {
    n = data.byteLength;
    if (n > 125) payloadAt += 2;
    slab.set(data, payloadAt);
  }
  slab[start] = typeof data === "string" ? 0x81 : 0x82;
  if (n <= 125) slab[start + 1] = 0x80 | n;
  else {
    slab[start + 1] = 0x80 | 126;
    slab[start + 2] = n >>> 8;
    slab[start + 3] = n & 0xff;
  }
  if (maskAt === masks.length) {
    globalThis.crypto.getRandomValues(masks);
    maskAt = 0;
  }
  const m0 = masks[maskAt]!;
  const m1 = masks[maskAt + 1]!;
  const m2 = masks[maskAt + 2]!;
  const m3 = masks[maskAt + 3]!;
  maskAt += 4;
  const k = payloadAt - 4;
  slab[k] = m0;
  slab[k + 1] = m1;
  slab[k + 2] = m2;
  slab[k + 3] = m3;
  const end = payloadAt + n;
  let i = payloadAt;
  for (; i + 4 <= end; i += 4) {
    slab[i] ^= m0;
    slab[i + 1] ^= m1;
    slab[i + 2] ^= m2;
    slab[i + 3] ^= m3;
  }
  if (i < end) slab[i++] ^= m0;
  if (i < end) slab[i++] ^= m1;
  if (i < end) slab[i] ^= m2;
  slabAt = end;
  return end;
}

/** An upper bound of the payload's size in bytes, or -1 if it is too large for the slab. */
export function frameBound(data: string | Uint8Array): number {
  const bound = typeof data === "string" ? data.length * 3 : data.byteLength;
  return bound <= MAX_SLAB_PAYLOAD ? bound : -1;
}

/**
 * One socket's frames of the current tick: a run of adjacent slab bytes
 * (the common case), or several when other sockets' frames came in
 * between. {@link flush} hands them to the socket in order.
 */
export class FrameQueue {
  #slab: Buffer | null = null;
  #runStart = 0;
  #runEnd = 0;
  /** Earlier runs of this tick, when the current one could not be extended. */
  #done: Buffer[] | null = null;

  get empty(): boolean {
    return this.#slab === null;
  }

  /** Masks and frames `data` (which must fit: {@link frameBound}) after this tick's earlier frames. */
  push(data: string | Uint8Array, bound: number): void {
    reserve(bound);
    if (this.#slab !== slab || this.#runEnd !== slabAt) {
      if (this.#slab !== null) (this.#done ??= []).push(this.#slab.subarray(this.#runStart, this.#runEnd));
      this.#slab = slab;
      this.#runStart = slabAt;
    }
    this.#runEnd = writeFrame(data);
  }

  /** Writes the queued frames to `socket`, in order, and empties the queue. */
  flush(socket: Duplex): void {
    const s = this.#slab;
    if (s === null) return;
    const done = this.#done;
    this.#slab = null;
    this.#done = null;
    if (done !== null) for (const b of done) socket.write(b);
    socket.write(s.subarray(this.#runStart, this.#runEnd));
  }

  /** Forgets the queued frames (the socket is closing: `ws` would drop them too). */
  clear(): void {
    this.#slab = null;
    this.#done = null;
  }
}
