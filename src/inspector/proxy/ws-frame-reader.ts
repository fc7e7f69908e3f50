/**
 * A passive WebSocket frame reader (RFC 6455 §5.2) for one direction of a
 * proxied connection: it is handed a copy of the bytes the proxy forwards
 * and reports the messages in them. It never writes, never throws, and
 * never touches the chunks it is given (masked payloads are unmasked into
 * its own buffer), so the forwarded bytes are exactly the bytes received.
 *
 * Not `ws`'s `Receiver`: that one unmasks in place (the proxy would have
 * to copy every chunk before forwarding it), stops for good at the first
 * message over `maxPayload`, and validates as an endpoint must. An
 * observer has to skip an oversized message and read on, and report a
 * malformed one without judging the stream.
 *
 * The parser is an explicit state loop over whatever bytes have arrived,
 * like `ws`'s: HEAD (2 bytes) → EXT (extended length and mask key) →
 * PAYLOAD, then back to HEAD.
 */

/** One data message (text or binary), reassembled from its frames. */
export interface WsMessage {
  /** `1` text, `2` binary. */
  opcode: 1 | 2;
  /**
   * The payload, unmasked (still compressed when `compressed`). Empty when
   * `tooLarge`. In a buffer of the reader's own, except when `borrowed`.
   */
  payload: Buffer;
  /**
   * `payload` is a view of the chunk being forwarded (an unmasked message
   * that arrived whole in one chunk: no copy made). Valid only during the
   * callback; copy what you keep.
   */
  borrowed: boolean;
  /** Payload bytes on the wire, over all its frames. */
  size: number;
  /** RSV1 was set on its first frame: permessage-deflate compressed. */
  compressed: boolean;
  /** Over `maxMessageBytes`: skipped, not kept. */
  tooLarge: boolean;
}

export interface WsFrameReaderHandlers {
  message(message: WsMessage): void;
  /** A close frame: its code (absent when the frame had no body) and reason. */
  close(code: number | undefined, reason: string): void;
  /**
   * The bytes stopped making sense as WebSocket frames (an unknown opcode,
   * a length over 2^53). Nothing more is reported for this direction; the
   * proxy keeps forwarding.
   */
  error(message: string): void;
}

const HEAD = 0;
const EXT = 1;
const PAYLOAD = 2;
const FAILED = 3;

let utf8: TextDecoder | undefined;

export class WsFrameReader {
  readonly #max: number;
  readonly #on: WsFrameReaderHandlers;
  #state = HEAD;
  /** Header bytes gathered so far (a header may straddle chunks). */
  readonly #head = new Uint8Array(14);
  #headLen = 0;
  #headNeed = 2;
  // The current frame.
  #fin = false;
  #opcode = 0;
  #masked = false;
  readonly #mask = new Uint8Array(4);
  #left = 0;
  #done = 0;
  // The current data message (across continuation frames).
  #msgOpcode: 0 | 1 | 2 = 0;
  #msgCompressed = false;
  #msgSize = 0;
  #msgTooLarge = false;
  #parts: Buffer[] = [];
  /** The frame's payload is kept (a data frame, not over the limit, not empty). */
  #keep = false;
  /** The frame's payload buffer, once its first bytes came. */
  #buf: Buffer | null = null;
  /** The frame's payload lent from the chunk (see `WsMessage.borrowed`). */
  #lent: Buffer | null = null;
  /** A control frame's payload (≤ 125 bytes). */
  readonly #control = new Uint8Array(125);

  /** `maxMessageBytes`: the largest message kept for decoding; larger ones are skipped. */
  constructor(maxMessageBytes: number, handlers: WsFrameReaderHandlers) {
    this.#max = maxMessageBytes;
    this.#on = handlers;
  }

  /** Whether the stream was given up on (see `error`). */
  get failed(): boolean {
    return this.#state === FAILED;
  }

  /** Reads `chunk` (a copy of what was forwarded; never modified). */
  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && this.#state !== FAILED) {
      if (this.#state === HEAD || this.#state === EXT) {
        const take = Math.min(this.#headNeed - this.#headLen, n - i);
        for (let k = 0; k < take; k++) this.#head[this.#headLen + k] = chunk[i + k]!;
        this.#headLen += take;
        i += take;
        if (this.#headLen === this.#headNeed) this.#onHeadBytes();
      } else {
        const take = Math.min(this.#left, n - i);
        // A whole unmasked single-frame message in this chunk (what a server sends): lend it, don't copy.
        if (take === this.#left && this.#done === 0 && this.#keep && this.#fin && !this.#masked && this.#opcode !== 0 && !this.#msgCompressed) {
          this.#lent = chunk.subarray(i, i + take);
        } else this.#payload(chunk, i, take);
        i += take;
        this.#left -= take;
        if (this.#left === 0) this.#endFrame();
      }
    }
  }

  #fail(message: string): void {
    this.#state = FAILED;
    this.#parts = [];
    this.#buf = null;
    this.#on.error(message);
  }

  #onHeadBytes(): void {
    const h = this.#head;
    if (this.#state === HEAD) {
      const len7 = h[1]! & 0x7f;
      const ext = (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
      if (ext > 0) {
        this.#state = EXT;
        this.#headNeed = 2 + ext;
        return;
      }
    }
    const b0 = h[0]!;
    const b1 = h[1]!;
    this.#fin = (b0 & 0x80) !== 0;
    this.#opcode = b0 & 0x0f;
    this.#masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let at = 2;
    if (len === 126) {
      len = (h[2]! << 8) | h[3]!;
      at = 4;
    } else if (len === 127) {
      const hi = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      const lo = ((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0;
      if (hi > 0x1fffff) return this.#fail("frame length over 2^53 bytes");
      len = hi * 2 ** 32 + lo;
      at = 10;
    }
    if (this.#masked) this.#mask.set(h.subarray(at, at + 4));
    this.#state = PAYLOAD;
    this.#headLen = 0;
    this.#headNeed = 2;
    this.#left = len;
    this.#done = 0;
    this.#buf = null;
    this.#keep = false;

    const op = this.#opcode;
    if (op >= 8) {
      if (op > 10) return this.#fail(`unknown control opcode ${op}`);
      if (len > 125) return this.#fail(`control frame of ${len} bytes (at most 125)`);
    } else if (op === 1 || op === 2) {
      // A new message; one still open (no FIN seen) is dropped unreported.
      this.#msgOpcode = op;
      this.#msgCompressed = (b0 & 0x40) !== 0;
      this.#msgSize = 0;
      this.#msgTooLarge = false;
      this.#parts = [];
    } else if (op === 0) {
      if (this.#msgOpcode === 0) return this.#fail("continuation frame without a message to continue");
    } else {
      return this.#fail(`unknown opcode ${op}`);
    }
    if (op < 8) {
      this.#msgSize += len;
      if (this.#msgSize > this.#max) {
        this.#msgTooLarge = true;
        this.#parts = [];
      } else this.#keep = len > 0;
    }
    if (len === 0) this.#endFrame();
  }

  /** Takes `take` payload bytes of `chunk` from `i`. */
  #payload(chunk: Buffer, i: number, take: number): void {
    let dst: Uint8Array;
    if (this.#opcode >= 8) dst = this.#control;
    else if (!this.#keep) return; // skipped (too large)
    else dst = this.#buf ??= Buffer.allocUnsafe(this.#done + this.#left);
    const off = this.#done;
    if (this.#masked) {
      const m = this.#mask;
      for (let k = 0; k < take; k++) dst[off + k] = chunk[i + k]! ^ m[(off + k) & 3]!;
    } else {
      dst.set(chunk.subarray(i, i + take), off);
    }
    this.#done += take;
  }

  #endFrame(): void {
    this.#state = HEAD;
    const op = this.#opcode;
    if (op >= 8) {
      if (op === 8) {
        const body = this.#control.subarray(0, this.#done);
        const code = body.length >= 2 ? (body[0]! << 8) | body[1]! : undefined;
        const reason = body.length > 2 ? (utf8 ??= new TextDecoder()).decode(body.subarray(2)) : "";
        this.#on.close(code, reason);
      }
      return; // ping / pong: Sente keeps alive in-band; transport pings are not frames of its protocol
    }
    const lent = this.#lent;
    this.#lent = null;
    if (this.#buf !== null) this.#parts.push(this.#buf);
    this.#buf = null;
    if (!this.#fin) return;
    const parts = this.#parts;
    this.#parts = [];
    const payload = lent ?? (this.#msgTooLarge || parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#msgSize));
    const message: WsMessage = {
      opcode: this.#msgOpcode as 1 | 2,
      payload,
      borrowed: lent !== null,
      size: this.#msgSize,
      compressed: this.#msgCompressed,
      tooLarge: this.#msgTooLarge,
    };
    this.#msgOpcode = 0;
    this.#on.message(message);
  }
}

const EMPTY = Buffer.alloc(0);
