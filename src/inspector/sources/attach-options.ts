/**
 * The attach source's options, checked once (`TypeError` for a wrong kind
 * of value, `RangeError` for a bad number), and the stream URL they name.
 */
import type { Dispatcher } from "undici";
import { DEFAULT_INSPECTOR_PATH } from "../../server/index.js";

export interface AttachReconnectOptions {
  /** Delay before the first reconnect attempt, ms; it doubles with each failure. @default 250 */
  initialDelayMs?: number;
  /** The longest delay between attempts, ms. @default 5000 */
  maxDelayMs?: number;
}

export interface AttachSourceOptions {
  /**
   * The app's origin (`http://127.0.0.1:8090`), or the stream's full URL
   * (`http://127.0.0.1:8090/admin/inspect`). `ws(s)://` is read as `http(s)://`.
   */
  url: string;
  /**
   * The inspector token, sent as `Authorization: Bearer <token>` (never in
   * the URL). Without one the server answers 401, reported as such.
   * @default none
   */
  token?: string | undefined;
  /** The stream's path when `url` has none (or `/`). @default "/chsk-inspect" */
  path?: string;
  /** Extra request headers (for a proxy in front of the app); `Authorization` is the token's. @default {} */
  headers?: Record<string, string>;
  /** Bounds connecting, the answer's headers, and the `hello` line after them, ms. @default 5000 */
  timeoutMs?: number;
  /**
   * A stream silent this long (not even a heartbeat: the server sends one
   * every 15 s by default) is taken as broken and reconnected, ms. Keep it
   * above the server's `heartbeatMs`. @default 60_000
   */
  idleTimeoutMs?: number;
  /**
   * The longest stream line read whole, bytes. A longer one (a frame far
   * over the server's own limit, base64 or escaped) is skipped without
   * being held, and reported as a frame too large to show. @default 16_777_216 (16 MiB)
   */
  maxLineBytes?: number;
  /** Reconnect after the stream ended or broke; false: the source ends instead. @default { initialDelayMs: 250, maxDelayMs: 5000 } */
  reconnect?: boolean | AttachReconnectOptions;
  /**
   * Connections remembered (to close the ones that ended while the
   * stream was down); beyond it the oldest is forgotten. @default 100_000
   */
  maxTracked?: number;
  /** The undici dispatcher to use (a proxy agent, a test mock). @default an Agent of its own, closed with the source */
  dispatcher?: Dispatcher;
}

export interface ResolvedAttachOptions {
  url: string;
  token: string | undefined;
  headers: Record<string, string>;
  timeoutMs: number;
  idleTimeoutMs: number;
  maxLineBytes: number;
  reconnect: Required<AttachReconnectOptions> | false;
  maxTracked: number;
  dispatcher: Dispatcher | undefined;
}

function positive(name: string, v: unknown, dflt: number, integer = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`attach source: ${name} must be a positive ${integer ? "integer" : "number"}, got ${String(v)}`);
  }
  return v;
}

/** The stream's URL: `url` as given when it names a path, else `url` + `path`. */
function streamUrl(url: unknown, path: unknown): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new TypeError(`attach source: url must be an http(s):// URL, got ${JSON.stringify(url)}`);
  }
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`attach source: url must be an http(s):// URL, got ${JSON.stringify(url)}`);
  if (u.pathname === "/" || u.pathname === "") {
    const p = path ?? DEFAULT_INSPECTOR_PATH;
    if (typeof p !== "string" || !p.startsWith("/") || /[?#\s]/.test(p)) throw new TypeError(`attach source: path must be a URL path starting with "/", got ${JSON.stringify(p)}`);
    u.pathname = p;
  }
  u.hash = "";
  return u.href;
}

/** The options with their defaults, or a TypeError / RangeError naming the one that is wrong. */
export function resolveAttachOptions(o: AttachSourceOptions): ResolvedAttachOptions {
  if (o === null || typeof o !== "object") throw new TypeError("attach source: options with a url are required");
  const token = o.token;
  if (token !== undefined && (typeof token !== "string" || token === "" || /[\s\0-\x1f\x7f]/.test(token))) {
    throw new TypeError("attach source: token must be a non-empty string without whitespace");
  }
  const r = o.reconnect ?? true;
  const reconnect =
    r === false
      ? false
      : {
          initialDelayMs: positive("reconnect.initialDelayMs", r === true ? undefined : r.initialDelayMs, 250),
          maxDelayMs: positive("reconnect.maxDelayMs", r === true ? undefined : r.maxDelayMs, 5000),
        };
  return {
    url: streamUrl(o.url, o.path),
    token,
    headers: { ...o.headers },
    timeoutMs: positive("timeoutMs", o.timeoutMs, 5000),
    idleTimeoutMs: positive("idleTimeoutMs", o.idleTimeoutMs, 60_000),
    maxLineBytes: positive("maxLineBytes", o.maxLineBytes, 16 * 1024 * 1024, true),
    reconnect,
    maxTracked: positive("maxTracked", o.maxTracked, 100_000, true),
    dispatcher: o.dispatcher,
  };
}
