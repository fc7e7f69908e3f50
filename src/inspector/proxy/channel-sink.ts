/**
 * What the channel path's observers share: where their {@link WireEvent}s
 * go, a bounded byte capture, and how an answer's body becomes a frame's
 * `data` or a refusal's text.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import type { WireEvent, WireTransport } from "../../core/index.js";

export interface ChannelSink {
  emit(event: WireEvent): void;
  /** A fresh id for a WS socket or an Ajax exchange: `ws-1`, `ajax-2`. */
  connId(transport: WireTransport): string;
  /** True the first time a client id is seen on Ajax (its `open`). */
  firstSight(clientId: string): boolean;
  /** The largest payload kept for decoding, bytes. */
  readonly maxDecodeBytes: number;
  /** Something worth saying that is not a frame. */
  notice(level: "info" | "warn" | "error", message: string, code?: string): void;
}

/** How much of a refusal's body is kept. */
export const REFUSAL_BODY_BYTES = 1024;

/** Collects up to `max` bytes of a stream; past that, only counts. */
export class Capture {
  readonly #max: number;
  #chunks: Buffer[] = [];
  size = 0;
  over = false;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.over) return;
    if (this.size > this.#max) {
      this.over = true;
      this.#chunks = [];
      return;
    }
    this.#chunks.push(chunk);
  }

  /** A copy of what was kept (the chunks were forwarded; the copy is ours). */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks, this.over ? 0 : this.size);
  }
}

/** Like {@link Capture}, keeping only the first `max` bytes (a refusal's start). */
export class HeadCapture {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #kept = 0;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): void {
    if (this.#kept >= this.#max) return;
    const part = chunk.length <= this.#max - this.#kept ? chunk : chunk.subarray(0, this.#max - this.#kept);
    this.#chunks.push(Buffer.from(part));
    this.#kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#kept).toString("utf8");
  }
}

/** The bodies of Sente's (and chsk's) default refusals. */
const SENTE_REFUSALS: Record<string, string> = {
  "Bad CSRF token": "CHSK_ERR_BAD_CSRF",
  "Unauthorized origin": "CHSK_ERR_BAD_ORIGIN",
  "Unauthorized request": "CHSK_ERR_UNAUTHORIZED",
  "Missing client-id": "CHSK_ERR_NO_CLIENT_ID",
};

/** The error code a refusal's body names: chsk's `CHSK_ERR_…: message`, or Sente's default texts. */
export function refusalCode(body: string): string | undefined {
  const chsk = /^(CHSK_ERR_[A-Z_]+):/.exec(body);
  if (chsk) return chsk[1];
  return SENTE_REFUSALS[body.trim()];
}

const TEXT_TYPE = /^\s*(?:text\/|application\/(?:json|edn|x-edn|transit\+json|javascript|x-www-form-urlencoded)\b)/i;

/**
 * An answer body as a frame's `data`: text when it says it is text (or says
 * nothing) and is valid UTF-8, else the bytes. A compressed answer
 * (`Content-Encoding`) is inflated, bounded by `max`. `body` is ours.
 */
export function answerData(
  body: Buffer,
  contentType: string | undefined,
  contentEncoding: string | undefined,
  max: number,
): { data: string | Uint8Array } | { error: { code: string; message: string } } {
  let bytes: Buffer = body;
  const enc = (contentEncoding ?? "").trim().toLowerCase();
  if (enc !== "" && enc !== "identity") {
    try {
      const opts = { maxOutputLength: max };
      if (enc === "gzip" || enc === "x-gzip") bytes = gunzipSync(body, opts);
      else if (enc === "deflate") bytes = inflateSync(body, opts);
      else if (enc === "br") bytes = brotliDecompressSync(body, opts);
      else return { error: { code: "CHSK_ERR_UNPACK", message: `answer in Content-Encoding ${enc}, which the proxy cannot read` } };
    } catch (e) {
      const tooBig = (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
      return tooBig
        ? { error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: `answer inflates past the proxy's decode limit of ${max} bytes` } }
        : { error: { code: "CHSK_ERR_UNPACK", message: `answer in Content-Encoding ${enc}: ${(e as Error).message}` } };
    }
  }
  if (contentType === undefined || TEXT_TYPE.test(contentType)) {
    const text = strictUtf8(bytes);
    if (text !== undefined) return { data: text };
  }
  return { data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

let fatalUtf8: TextDecoder | undefined;

function strictUtf8(b: Uint8Array): string | undefined {
  try {
    return (fatalUtf8 ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })).decode(b);
  } catch {
    return undefined;
  }
}

/** The error a payload over the decode limit is reported with. */
export const tooLargeError = (size: number, max: number, what: string) => ({
  code: "CHSK_ERR_FRAME_TOO_LARGE",
  message: `a ${size}-byte ${what}, over the proxy's decode limit of ${max} bytes: passed on, not decoded`,
});
