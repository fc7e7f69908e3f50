/**
 * The Node client's incoming WebSocket frames: the common ones read
 * straight off the socket's chunks, every other byte handed to `ws`.
 *
 * A final, unfragmented text or binary frame of up to
 * {@link MAX_DIRECT_PAYLOAD} bytes, unmasked (a server's), with no RSV
 * bits (no extension was negotiated) and, for text, valid UTF-8, is
 * delivered from here: its text decoded from the chunk it arrived in. Any
 * other frame (control frames, fragments, large or invalid frames), every
 * frame while `ws` does not count the connection open, and everything
 * after a close frame, goes to `ws`'s own receiver as the bytes
 * it would have read, whole frames or the stream from a frame's start, so
 * it answers pings, closes, and fails the connection exactly as before.
 * Per message this skips the receiver's stream machinery and its buffer
 * copies, which on a busy client cost more than reading the frame.
 */
import { isUtf8 } from "node:buffer";

/** Larger frames stream through `ws` rather than being gathered here. */
export const MAX_DIRECT_PAYLOAD = 64 * 1024;

type Utf8Slicer = Buffer & { utf8Slice(start: number, end: number): string };

export interface FrameSink {
  text(data: string): void;
  binary(data: Buffer): void;
  /** Bytes for `ws`'s receiver, in stream order. */
  passOn(bytes: Buffer): void;
  /**
   * False while `ws` does not treat the connection as open and reading (it
   * failed it over a frame passed on, either side is closing, or it paused
   * the socket): frames then go to `ws`, which knows what to do with them.
   */
  open(): boolean;
}

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxPayload: number;
  /** The start of a frame that has not fully arrived. */
  #partial: Buffer | null = null;
  /** Bytes still owed to `ws` for a frame it is reading. */
  #passing = 0;
  /** Inside a fragmented message (its continuation frames go to `ws`). */
  #fragmented = false;
  /** A close frame went by: `ws` reads everything after it. */
  #closed = false;

  constructor(sink: FrameSink, maxPayload: number) {
    this.#sink = sink;
    this.#maxPayload = maxPayload;
  }

  push(chunk: Buffer): void {
    let b = chunk;
    if (this.#partial !== null) {
      b = Buffer.concat([this.#partial, chunk]);
      this.#partial = null;
    }
    const sink = this.#sink;
    const n = b.length;
    let at = 0;
    /** Start of the run of bytes to hand to `ws`, or -1. */
    let passFrom = -1;
    if (this.#passing > 0) {
      const k = Math.min(this.#passing, n);
      this.#passing -= k;
      passFrom = 0;
      at = k;
    }
    while (at < n) {
      if (this.#closed) {
        if (passFrom < 0) passFrom = at;
        at = n;
        break;
      }
      if (n - at < 2) break;
      const b0 = b[at]!;
      const b1 = b[at + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (n - at < 4) break;
        len = (b[at + 2]! << 8) | b[at + 3]!;
        head = 4;
      } else if (len === 127) {
        if (n - at < 10) break;
        // Past 2^53 is absurd; `ws` rejects it, and so it goes there.
        len = b.readUIntBE(at + 4, 6) + b.readUInt16BE(at + 2) * 2 ** 48;
        head = 10;
      }
      // A masked frame (a server must not send one; `ws` will refuse it) carries its key.
      if ((b1 & 0x80) !== 0) head += 4;
      const opcode = b0 & 0x0f;
      const direct =
        (b0 & 0xf0) === 0x80 && // FIN, no RSV bits
        (opcode === 1 || opcode === 2) &&
        (b1 & 0x80) === 0 && // a server's frames are not masked
        !this.#fragmented &&
        len <= MAX_DIRECT_PAYLOAD &&
        len <= this.#maxPayload;
      const end = at + head + len;
      if (direct) {
        if (end > n) break; // wait for the rest of it
        const start = at + head;
        if (opcode === 1 && !isUtf8(b.subarray(start, end))) {
          // `ws` fails the connection (1007); let it.
          if (passFrom < 0) passFrom = at;
          at = end;
          continue;
        }
        if (passFrom >= 0) {
          sink.passOn(b.subarray(passFrom, at));
          passFrom = -1;
        }
        // Checked after `ws` has read what came before: it may have failed the connection over it.
        if (!sink.open()) {
          passFrom = at;
          at = end;
          continue;
        }
        if (opcode === 1) sink.text((b as Utf8Slicer).utf8Slice(start, end));
        // A view: a socket's chunks are never reused.
        else sink.binary(b.subarray(start, end));
        at = end;
        continue;
      }
      // Whatever `ws` reads, it reads from the frame's first byte.
      if (passFrom < 0) passFrom = at;
      if (opcode === 8) this.#closed = true;
      else if (opcode < 8) this.#fragmented = (b0 & 0x80) === 0;
      if (end > n) {
        this.#passing = end - n;
        at = n;
        break;
      }
      at = end;
    }
    if (passFrom >= 0) sink.passOn(b.subarray(passFrom, at));
    if (at < n) this.#partial = Buffer.from(b.subarray(at));
  }
}
