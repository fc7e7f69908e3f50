/**
 * Watches one proxied WebSocket in both directions: a {@link WsFrameReader}
 * per direction, permessage-deflate undone when the 101 negotiated it, and
 * the messages reported in wire order per direction. Fed copies of the
 * forwarded chunks; it never delays or alters them.
 */
import { constants as zlibConstants, createInflateRaw, type InflateRaw } from "node:zlib";
import type { Direction } from "../../core/index.js";
import { tooLargeError } from "./channel-sink.js";
import { type WsMessage, WsFrameReader } from "./ws-frame-reader.js";

/** What the 101's `Sec-WebSocket-Extensions` agreed on, for reading (RFC 7692). */
export interface DeflateParams {
  /** The server resets its compressor after every message. */
  serverNoContextTakeover: boolean;
  /** The client resets its compressor after every message. */
  clientNoContextTakeover: boolean;
}

/** `permessage-deflate` from a 101's `Sec-WebSocket-Extensions` value; null when not negotiated. */
export function parseDeflate(header: string | undefined): DeflateParams | null {
  if (header === undefined) return null;
  for (const ext of header.split(",")) {
    const [name, ...params] = ext.split(";").map((s) => s.trim().toLowerCase());
    if (name !== "permessage-deflate") continue;
    return {
      serverNoContextTakeover: params.includes("server_no_context_takeover"),
      clientNoContextTakeover: params.includes("client_no_context_takeover"),
    };
  }
  return null;
}

export interface ObservedError {
  code: string;
  message: string;
}

export interface WsObserverHandlers {
  /**
   * One message. `data` is the text of a text message, the bytes of a
   * binary one (empty with `error`); `size` its payload size on the wire.
   */
  message(dir: Direction, at: number, data: string | Uint8Array, size: number, error?: ObservedError): void;
  /** A close frame. */
  close(dir: Direction, at: number, code: number | undefined, reason: string): void;
  /** A direction stopped parsing (see {@link WsFrameReader}). */
  broken(dir: Direction, message: string): void;
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A plain `Uint8Array` over a Buffer's bytes (no copy): what sources report, whatever Node handed them. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

type Item = { kind: "message"; at: number; m: WsMessage } | { kind: "close"; at: number; code: number | undefined; reason: string };

/** One direction: its reader, its inflater, and a queue that keeps order while a message inflates. */
class Lane {
  readonly reader: WsFrameReader;
  readonly #dir: Direction;
  readonly #max: number;
  readonly #deflate: boolean;
  readonly #noContext: boolean;
  readonly #on: WsObserverHandlers;
  readonly #queue: Item[] = [];
  #busy = false;
  #inflate: InflateRaw | null = null;
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(dir: Direction, max: number, deflate: DeflateParams | null, on: WsObserverHandlers) {
    this.#dir = dir;
    this.#max = max;
    this.#deflate = deflate !== null;
    this.#noContext = dir === "c2s" ? deflate?.clientNoContextTakeover === true : deflate?.serverNoContextTakeover === true;
    this.#on = on;
    this.reader = new WsFrameReader(max, {
      message: (m) => {
        // The common case, reported at once: nothing inflating ahead of it.
        if (!this.#busy && !(m.compressed && this.#deflate)) return this.#reportMessage(Date.now(), m);
        // Queued behind an inflation: a borrowed payload must be copied before the chunk moves on.
        this.#enqueue({ kind: "message", at: Date.now(), m: m.borrowed ? { ...m, payload: Buffer.from(m.payload), borrowed: false } : m });
      },
      close: (code, reason) => this.#enqueue({ kind: "close", at: Date.now(), code, reason }),
      error: (message) => on.broken(dir, message),
    });
  }

  #enqueue(item: Item): void {
    if (!this.#busy && item.kind === "close") return this.#report(item);
    this.#queue.push(item);
    if (!this.#busy) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
      if (this.#closed) break;
      if (item.kind === "message" && item.m.compressed && this.#deflate) await this.#reportInflated(item.at, item.m);
      else this.#report(item);
    }
    this.#queue.length = 0;
    this.#busy = false;
    for (const f of this.#idle.splice(0)) f();
  }

  #report(item: Item): void {
    if (item.kind === "close") this.#on.close(this.#dir, item.at, item.code, item.reason);
    else this.#reportMessage(item.at, item.m);
  }

  #reportMessage(at: number, m: WsMessage): void {
    const text = m.opcode === 1;
    if (m.tooLarge) {
      return this.#on.message(this.#dir, at, text ? "" : new Uint8Array(0), m.size, tooLarge(m.size, this.#max));
    }
    if (text && !m.compressed) return this.#on.message(this.#dir, at, m.payload.toString("utf8"), m.size);
    // The listener may keep `data`: a borrowed payload is copied.
    const bytes = m.borrowed ? new Uint8Array(m.payload) : plain(m.payload);
    if (!m.compressed) return this.#on.message(this.#dir, at, bytes, m.size);
    this.#on.message(this.#dir, at, bytes, m.size, { code: "CHSK_ERR_UNPACK", message: "RSV1 set, but no permessage-deflate was negotiated" });
  }

  async #reportInflated(at: number, m: WsMessage): Promise<void> {
    const text = m.opcode === 1;
    if (m.tooLarge && !this.#noContext) {
      // The skipped message is missing from the shared window: start afresh, so a later message that
      // refers back into it fails to inflate ("invalid distance") instead of inflating to wrong bytes.
      this.#inflate?.close();
      this.#inflate = null;
    }
    const r = m.tooLarge ? { error: tooLarge(m.size, this.#max) } : await this.#inflateOne(m.payload);
    if (this.#closed) return;
    if ("error" in r) return this.#on.message(this.#dir, at, text ? "" : new Uint8Array(0), m.size, r.error);
    this.#on.message(this.#dir, at, text ? r.data.toString("utf8") : plain(r.data), m.size);
  }

  /** Inflates one message with this direction's (context-keeping) inflater; bounded by the decode limit. */
  #inflateOne(payload: Uint8Array): Promise<{ data: Buffer } | { error: ObservedError }> {
    const z = (this.#inflate ??= createInflateRaw({ windowBits: 15 }));
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const onData = (c: Buffer) => {
        total += c.length;
        if (total <= this.#max) chunks.push(c);
      };
      const onError = (e: Error) => {
        z.off("data", onData);
        // The shared window is lost with it: the next message starts a fresh inflater.
        this.#inflate = null;
        z.close();
        resolve({ error: { code: "CHSK_ERR_UNPACK", message: `permessage-deflate: ${e.message}` } });
      };
      z.on("data", onData);
      z.once("error", onError);
      z.write(payload);
      z.write(TRAILER);
      z.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        z.off("data", onData);
        z.off("error", onError);
        if (this.#noContext) z.reset();
        if (total > this.#max) resolve({ error: tooLarge(total, this.#max, "inflated ") });
        else resolve({ data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) });
      });
    });
  }

  /** Resolves once nothing is queued. */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  dispose(): void {
    this.#closed = true;
    this.#inflate?.close();
    this.#inflate = null;
    for (const f of this.#idle.splice(0)) f();
  }
}

const tooLarge = (size: number, max: number, what = ""): ObservedError => tooLargeError(size, max, `${what}message`);

export class WsObserver {
  readonly #c2s: Lane;
  readonly #s2c: Lane;

  /** `maxBytes`: the largest message decoded (larger ones are reported as too large). */
  constructor(maxBytes: number, deflate: DeflateParams | null, handlers: WsObserverHandlers) {
    this.#c2s = new Lane("c2s", maxBytes, deflate, handlers);
    this.#s2c = new Lane("s2c", maxBytes, deflate, handlers);
  }

  /** Bytes the browser sent (masked frames). */
  c2s(chunk: Buffer): void {
    this.#c2s.reader.push(chunk);
  }

  /** Bytes the server sent. */
  s2c(chunk: Buffer): void {
    this.#s2c.reader.push(chunk);
  }

  /** Resolves once every message seen so far has been reported (inflation is asynchronous). */
  idle(): Promise<void> {
    return Promise.all([this.#c2s.idle(), this.#s2c.idle()]).then(() => {});
  }

  /** Stops reporting and frees the inflaters. */
  dispose(): void {
    this.#c2s.dispose();
    this.#s2c.dispose();
  }
}
