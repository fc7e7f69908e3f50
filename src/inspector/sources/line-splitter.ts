/**
 * Splits a byte stream into `\n`-terminated UTF-8 lines (JSONL / NDJSON)
 * with bounded memory: a line longer than `maxLineBytes` is never held
 * whole. Only its first `headBytes` and last `tailBytes` are kept and
 * reported with its size, so a reader can still say what it was (the
 * attach source rebuilds an oversized frame's fields from them).
 *
 * Splitting on the byte 0x0A is safe in UTF-8: no multi-byte sequence
 * contains it, so a character split across chunks is joined before decoding.
 */

/** An over-long line, as much of it as was kept. */
export interface LongLine {
  /** The line's full length in bytes (without its `\n`). */
  bytes: number;
  /** Its first `headBytes` bytes, decoded (a character cut at the end shows as U+FFFD). */
  head: string;
  /** Its last `tailBytes` bytes, decoded (likewise at the start). */
  tail: string;
}

export interface LineSplitterOptions {
  /** Longest line passed on whole, bytes. */
  maxLineBytes: number;
  /** Called with each line (without its `\n`; a `\r` before it stays). */
  onLine: (line: string) => void;
  /** Called with each line over `maxLineBytes` instead. */
  onLongLine: (line: LongLine) => void;
  /** @default 4096 */
  headBytes?: number;
  /** @default 256 */
  tailBytes?: number;
}

export class LineSplitter {
  readonly #o: Required<LineSplitterOptions>;
  /** The current line's pieces, while it fits. */
  #parts: Uint8Array[] = [];
  #size = 0;
  /** Set once the current line went over the limit: only its ends are kept. */
  #long: { head: Uint8Array; tail: Uint8Array } | null = null;

  constructor(options: LineSplitterOptions) {
    const max = options.maxLineBytes;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${String(max)}`);
    this.#o = { headBytes: 4096, tailBytes: 256, ...options };
  }

  /** Bytes of an unfinished line held now. */
  get pending(): number {
    return this.#size;
  }

  /** Feeds a chunk; complete lines are reported synchronously, in order. */
  push(chunk: Uint8Array): void {
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (end > start) this.#take(chunk.subarray(start, end));
      if (nl === -1) {
        // The one piece that outlives this call gets its own copy, so a
        // kept sliver never pins a whole chunk (or a buffer its owner reuses).
        const last = this.#parts.length - 1;
        if (last >= 0 && end > start) this.#parts[last] = new Uint8Array(this.#parts[last]!);
        return;
      }
      this.#endLine();
      start = nl + 1;
    }
  }

  /** Forgets an unfinished line (the stream broke in the middle of it); returns its size in bytes. */
  reset(): number {
    const size = this.#size;
    this.#parts = [];
    this.#size = 0;
    this.#long = null;
    return size;
  }

  #take(piece: Uint8Array): void {
    const size = this.#size + piece.length;
    if (this.#long !== null) {
      this.#long.tail = lastBytes([this.#long.tail, piece], this.#o.tailBytes);
    } else if (size > this.#o.maxLineBytes) {
      const all = [...this.#parts, piece];
      this.#long = { head: firstBytes(all, this.#o.headBytes), tail: lastBytes(all, this.#o.tailBytes) };
      this.#parts = [];
    } else {
      this.#parts.push(piece);
    }
    this.#size = size;
  }

  #endLine(): void {
    const long = this.#long;
    const parts = this.#parts;
    const size = this.reset();
    if (long !== null) {
      this.#o.onLongLine({ bytes: size, head: decode(long.head), tail: decode(long.tail) });
      return;
    }
    this.#o.onLine(parts.length === 1 ? decode(parts[0]!) : decode(Buffer.concat(parts, size)));
  }
}

const decode = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

function firstBytes(parts: Uint8Array[], n: number): Uint8Array {
  return new Uint8Array(Buffer.concat(parts).subarray(0, n));
}

function lastBytes(parts: Uint8Array[], n: number): Uint8Array {
  const all = Buffer.concat(parts);
  return new Uint8Array(all.subarray(Math.max(0, all.length - n)));
}
