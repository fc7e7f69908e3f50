/**
 * Requests: parsing (query, form, cookies), the `ChskRequest` view that
 * hooks and handlers see, reading POST bodies under a size cap, and writing
 * plain HTTP answers (as a `ServerResponse`, or raw on an upgrade socket).
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ChskError } from "../core/protocol/errors.js";
import { emptyParams, parseParams } from "../core/inspect/parse-params.js";
import type { ChskRequest, HttpAnswer } from "./types.js";

// ---------------------------------------------------------------------------
// Params

// One reader of queries and forms for the server and the inspector (core).
export { parseParams };

/** Parses a `Cookie` header. Values are URI-decoded when possible. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out = emptyParams();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim();
    if (key === "" || key in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22) {
      value = value.slice(1, -1);
    }
    if (value.indexOf("%") !== -1) {
      try {
        value = decodeURIComponent(value);
      } catch {
        /* keep as sent */
      }
    }
    out[key] = value;
  }
  return out;
}

/** The path part of a request URL (no query), or the whole URL. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

const EMPTY: Record<string, string> = Object.freeze(emptyParams());

// ---------------------------------------------------------------------------
// ChskRequest

/**
 * The framework-neutral request. One per WS connection / poll / POST.
 * Cookies are parsed on first access only.
 *
 * A WS connection keeps its upgrade request for its whole life. By default
 * it {@link release}s the Node request once the upgrade is done (about 1 KB
 * per idle connection: the `IncomingMessage`, its stream state and raw
 * headers); `headers`, `query`, `cookies`, `remoteAddress` stay available,
 * and `raw` then throws, telling to set `retainUpgradeRequest`.
 */
export class Request implements ChskRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  form: Record<string, string>;
  clientId: string;
  #raw: IncomingMessage | null;
  #headers: IncomingMessage["headers"] | null = null;
  #cookies: Record<string, string> | undefined;
  #remoteAddress: string | undefined | null = null;

  constructor(raw: IncomingMessage, form: Record<string, string> | null) {
    const url = raw.url ?? "/";
    const q = url.indexOf("?");
    this.#raw = raw;
    this.method = raw.method ?? "GET";
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? EMPTY : parseParams(url.slice(q + 1));
    this.form = form ?? EMPTY;
    // POST: form first (Ring merges form params over query params).
    this.clientId = this.form["client-id"] ?? this.query["client-id"] ?? "";
  }

  /** The Node request (see the class comment for WS connections). */
  get raw(): IncomingMessage {
    if (this.#raw === null) {
      throw new TypeError(
        "req.raw is not kept for WebSocket connections once the upgrade is done; " +
          "use it in the server hooks (userId, authorized, …), or pass retainUpgradeRequest: true to createServer",
      );
    }
    return this.#raw;
  }

  get headers(): IncomingMessage["headers"] {
    // Node builds `headers` lazily; don't force it before someone asks.
    return this.#headers ?? this.#raw!.headers;
  }

  /**
   * Read on first use (a syscall), and cached: Node forgets it once the
   * socket closes, so long-lived connections read it up front.
   */
  get remoteAddress(): string | undefined {
    if (this.#remoteAddress === null) this.#remoteAddress = this.#raw?.socket?.remoteAddress;
    return this.#remoteAddress;
  }

  get cookies(): Record<string, string> {
    return (this.#cookies ??= parseCookies(this.headers.cookie));
  }

  /** Keeps what handlers read (headers, remote address) and lets go of the Node request. */
  release(): void {
    const raw = this.#raw;
    if (raw === null) return;
    this.#headers = raw.headers;
    if (this.#remoteAddress === null) this.#remoteAddress = raw.socket?.remoteAddress;
    this.#raw = null;
  }

  /** Sets the POST form once the body is read. */
  setForm(form: Record<string, string>): void {
    this.form = form;
    this.clientId = form["client-id"] ?? this.query["client-id"] ?? "";
  }

  /** Sente's params: form over query. */
  param(name: string): string | undefined {
    return this.form[name] ?? this.query[name];
  }

  /** Sente checks `handshake?` / `binary?` for presence only (any value is truthy). */
  has(name: string): boolean {
    return name in this.form || name in this.query;
  }
}

/** Sente throws (→ 500) on a blank client id; we answer 400. */
export const isBlank = (s: string): boolean => s.trim() === "";

// ---------------------------------------------------------------------------
// Bodies

/**
 * Reads a request body, failing with `CHSK_ERR_FRAME_TOO_LARGE` (status
 * 413) as soon as more than `maxBytes` arrive or `Content-Length` says so.
 */
export function readBody(req: IncomingMessage, maxBytes: number, done: (err: ChskError | null, body: Buffer) => void): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) {
    req.resume();
    done(tooLarge(maxBytes, Number(declared)), EMPTY_BUF);
    return;
  }
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  let finished = false;
  req.on("data", (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > maxBytes) {
      finished = true;
      first = null;
      chunks = null;
      done(tooLarge(maxBytes, size), EMPTY_BUF);
      return;
    }
    if (first === null) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  // A client that goes away mid-body never gets here; Node emits no unhandled 'error' on requests.
  req.on("end", () => {
    if (finished) return;
    finished = true;
    done(null, chunks !== null ? Buffer.concat(chunks, size) : (first ?? EMPTY_BUF));
  });
}

const EMPTY_BUF = Buffer.alloc(0);

function tooLarge(maxBytes: number, bytes: number): ChskError {
  return new ChskError("CHSK_ERR_FRAME_TOO_LARGE", `Request body larger than ${maxBytes} bytes`, {
    status: 413,
    closeCode: 1009,
    detail: { maxBytes, bytes },
  });
}

// ---------------------------------------------------------------------------
// Bodies a framework already read

/**
 * True once some of the body has been taken by something other than chsk:
 * it ended (`readableEnded`), data was emitted or read (`readableDidRead`,
 * so a stream a middleware read halfway counts too), it is complete and
 * drained (body-parser 2's `on-finished` test), or body-parser 1's `_body`
 * marker is set. Reading such a stream would wait for an `end` that already
 * happened (the Express hang) or get a torn body. A stream nobody has read
 * from yet is not consumed, even if paused or already listened to (a
 * logger's `data` listener, a pipe): chsk's own listener still sees every
 * chunk.
 */
export function isBodyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || req.readableDidRead || (req.complete && !req.readable) || (req as { _body?: unknown })._body === true;
}

type BodyReader = (req: IncomingMessage, maxBytes: number, done: (err: ChskError | null, body: Buffer) => void) => void;

/**
 * The Ajax POST body reader for `req`: {@link readBody} on an untouched
 * stream (ignoring `parsed`; a paused stream is resumed), else one that
 * takes the framework's parsed body (`parsed`, e.g. Express's `req.body`)
 * as the bytes chsk would have read, or fails with
 * `CHSK_ERR_BODY_CONSUMED` (500) when there is none usable. Parsed form
 * fields are re-encoded so the transport keeps one body path.
 */
export function postBodyReader(req: IncomingMessage, parsed: unknown, binary: boolean): BodyReader {
  if (!isBodyConsumed(req)) {
    if (req.readableFlowing !== false) return readBody;
    // Someone paused it unread; a 'data' listener alone doesn't restart a paused stream.
    return (r, maxBytes, done) => {
      readBody(r, maxBytes, done);
      r.resume();
    };
  }
  return (_r, maxBytes, done) => {
    const bytes = parsedBodyBytes(parsed, binary);
    if (typeof bytes === "string") done(bodyConsumed(bytes, binary), EMPTY_BUF);
    else if (bytes.length > maxBytes) done(tooLarge(maxBytes, bytes.length), EMPTY_BUF);
    else done(null, bytes);
  };
}

/** The body's bytes, or why a parsed body can't stand for them. */
function parsedBodyBytes(body: unknown, binary: boolean): Buffer | string {
  if (body instanceof Uint8Array) return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (binary) return `a binary? POST needs the raw bytes, got ${kindOf(body)}`;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body === null || typeof body !== "object" || Array.isArray(body)) return `got ${kindOf(body)}`;
  const proto = Object.getPrototypeOf(body) as unknown;
  if (proto !== Object.prototype && proto !== null) return `got ${kindOf(body)}`;
  // urlencoded fields, flat (querystring) or nested (qs): only string values can be chsk's.
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) {
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === "string") form.append(k, s);
  }
  return Buffer.from(form.toString(), "utf8");
}

function kindOf(x: unknown): string {
  if (x === undefined) return "no parsed body";
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return `an object (${(x as object).constructor?.name ?? "null prototype"})`;
  return `a ${typeof x}`;
}

function bodyConsumed(why: string, binary: boolean): ChskError {
  const type = binary ? "application/octet-stream" : "application/x-www-form-urlencoded";
  return new ChskError(
    "CHSK_ERR_BODY_CONSUMED",
    `The POST body was already read by another middleware and no usable parsed body was passed (${why}). ` +
      `Mount chsk before the body parser, leave ${type} on chsk's path to chsk, or pass the parsed body: handleRequest(req, res, { body })`,
    { status: 500, detail: { reason: why } },
  );
}

// ---------------------------------------------------------------------------
// Answers

const TEXT = "text/plain; charset=utf-8";

/** Writes a plain answer (rejections, errors). */
export function writeAnswer(res: ServerResponse, answer: HttpAnswer, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const body = answer.body ?? "";
  const headers: Record<string, string> = {
    "content-type": TEXT,
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(body)),
  };
  if (close) headers["connection"] = "close";
  if (answer.headers) for (const k of Object.keys(answer.headers)) headers[k.toLowerCase()] = answer.headers[k]!;
  res.writeHead(answer.status, headers);
  res.end(body);
}

/** An error as an answer: `"<CODE>: <message>"` with the error's status. */
export const errorAnswer = (e: ChskError, fallbackStatus = 400): HttpAnswer => ({
  status: e.status ?? fallbackStatus,
  body: `${e.code}: ${e.message}`,
});

/**
 * Answers an upgrade request with a plain HTTP response on the raw socket
 * (no 101), then closes it — what ws does for a refused handshake.
 */
export function writeRawAnswer(socket: Duplex, answer: HttpAnswer): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = answer.body ?? "";
  const headers: Record<string, string> = {
    Connection: "close",
    "Content-Type": TEXT,
    "Cache-Control": "no-store",
    "Content-Length": String(Buffer.byteLength(body)),
    ...answer.headers,
  };
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}\r\n`;
  for (const k of Object.keys(headers)) head += `${k}: ${headers[k]}\r\n`;
  socket.once("finish", () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.end(head + "\r\n" + body);
}
