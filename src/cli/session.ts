/**
 * `chsk call`'s session bootstrap over plain HTTP, before the channel
 * socket connects: an optional login, and a CSRF token plus cookies.
 *
 * 1. `--login UID`: `POST <origin>/login` with form `uid=UID&user-id=UID`.
 *    If that is refused with 403 (Sente's example project guards login with
 *    ring-anti-forgery), `GET <origin>/`, scrape the page's token
 *    (`data-csrf-token="…"`, `<meta name="csrf-token">` or an
 *    `__anti-forgery-token` field) and retry with it as `X-CSRF-Token` and
 *    as form fields. The token is the reply's JSON `csrfToken`, else the
 *    scraped one.
 * 2. Otherwise, unless a token was given or `probe` is off: `GET <origin>/csrf`
 *    (`chsk serve`'s convention); a 200 JSON `{csrfToken}` supplies the
 *    token. Failing that, `GET <origin>/` and scrape the page as in 1 (a
 *    stock Sente app). No token either way: the call goes on without.
 *
 * Cookies set along the way are kept and sent with the channel socket.
 */

import { nodeFetch } from "../core/client/http.node.js";
import { networkReason, shortAnswer } from "./diagnose.js";

/** The server answered, but not with success: `login refused: HTTP 403 Invalid anti-forgery token`. */
export class HttpRefusal extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly body: string,
    readonly contentType?: string,
  ) {
    // The body shortened: an HTML error page is one quoted title, not the page.
    super(`${what}: ${shortAnswer(status, body, contentType)}`);
  }
}

/** The server could not be reached, took longer than the timeout, or the call was interrupted. */
export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    readonly aborted = false,
  ) {
    super(message);
  }
}

/** A tiny cookie jar for one origin: name → value, in insertion order. */
export class CookieJar {
  #cookies = new Map<string, string>();

  constructor(header?: string) {
    for (const part of (header ?? "").split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0) this.#cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }

  /** Applies `Set-Cookie` values (expired ones delete). */
  update(setCookies: readonly string[]): void {
    for (const sc of setCookies) {
      const [pair = "", ...attrs] = sc.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => {
        const [k = "", v = ""] = a.split("=").map((s) => s.trim());
        if (k.toLowerCase() === "max-age") return Number(v) <= 0;
        if (k.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  /** The `Cookie` header, or undefined when empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** The CSRF token embedded in an HTML page, as Sente's example and Ring apps embed it. */
export function scrapeCsrfToken(html: string): string | undefined {
  const patterns = [
    /data-csrf-token\s*=\s*["']([^"']*)["']/i,
    /<meta\b[^>]*\bname\s*=\s*["'](?:csrf-token|_csrf|csrf)["'][^>]*\bcontent\s*=\s*["']([^"']*)["']/i,
    /<meta\b[^>]*\bcontent\s*=\s*["']([^"']*)["'][^>]*\bname\s*=\s*["'](?:csrf-token|_csrf|csrf)["']/i,
    /<input\b[^>]*\bname\s*=\s*["']__anti-forgery-token["'][^>]*\bvalue\s*=\s*["']([^"']*)["']/i,
    /<input\b[^>]*\bvalue\s*=\s*["']([^"']*)["'][^>]*\bname\s*=\s*["']__anti-forgery-token["']/i,
  ];
  for (const re of patterns) {
    const m = re.exec(html);
    if (m?.[1]) return decodeEntities(m[1]);
  }
  return undefined;
}

export interface BootstrapOptions {
  /** `http(s)://host:port` of the chsk endpoint. */
  origin: string;
  login?: string | undefined;
  /** A token given by the user: no probe is made. */
  csrfToken?: string | undefined;
  /** `GET /csrf` when there is no token and no login. @default true */
  probe?: boolean;
  jar: CookieJar;
  /** Extra headers for every request (`--header`). */
  headers?: Record<string, string>;
  /** Per request. */
  timeoutMs: number;
  /** Aborting (SIGINT) ends a request in flight with an `aborted` {@link HttpFailure}. */
  signal?: AbortSignal | undefined;
  /**
   * @default undici's `request` (Node's `fetch` refuses the Fetch standard's
   * "bad ports", 6000 or 6667 say, which the channel socket itself can use)
   */
  fetch?: typeof fetch;
  /** Verbose trace sink. */
  trace?: (line: string) => void;
}

export interface BootstrapResult {
  csrfToken: string | null;
  /** The uid the login reply named, if any. */
  uid?: unknown;
}

interface Answer {
  status: number;
  body: string;
  contentType: string | undefined;
  json: unknown;
}

let defaultFetch: typeof fetch | undefined;

async function request(opts: BootstrapOptions, method: "GET" | "POST", path: string, extra: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(path, opts.origin).href;
  const headers: Record<string, string> = { ...opts.headers, ...extra.headers };
  const cookie = opts.jar.header();
  if (cookie !== undefined) headers["cookie"] = cookie;
  let res: Response;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    res = await (opts.fetch ?? (defaultFetch ??= nodeFetch()))(url, {
      method,
      headers,
      ...(extra.body === undefined ? {} : { body: extra.body }),
      redirect: "manual",
      signal: opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]),
    });
  } catch (e) {
    if (opts.signal?.aborted) throw new HttpFailure(`${method} ${url}: interrupted`, false, true);
    const timedOut = timeout.aborted;
    const reason = timedOut ? `no answer within ${opts.timeoutMs} ms` : networkReason(e);
    throw new HttpFailure(`${method} ${url}: ${reason}`, timedOut);
  }
  opts.jar.update(res.headers.getSetCookie());
  const body = await res.text().catch(() => "");
  const contentType = res.headers.get("content-type") ?? undefined;
  let json: unknown;
  if ((contentType ?? "").includes("json")) {
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
  }
  opts.trace?.(`* ${method} ${url} → ${res.status}`);
  return { status: res.status, body, contentType, json };
}

const tokenIn = (json: unknown): string | undefined => {
  const t = json !== null && typeof json === "object" ? (json as Record<string, unknown>)["csrfToken"] : undefined;
  return typeof t === "string" && t !== "" ? t : undefined;
};

const ok = (status: number) => status >= 200 && status < 400;

async function login(opts: BootstrapOptions, uid: string): Promise<BootstrapResult> {
  const form = (token?: string) => {
    const p = new URLSearchParams({ uid, "user-id": uid });
    if (token !== undefined) {
      p.set("csrf-token", token);
      p.set("__anti-forgery-token", token);
    }
    return p.toString();
  };
  const formHeaders = { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" };
  let scraped = opts.csrfToken;
  let a = await request(opts, "POST", "/login", {
    headers: scraped === undefined ? formHeaders : { ...formHeaders, "x-csrf-token": scraped },
    body: form(scraped),
  });
  if (a.status === 403 && scraped === undefined) {
    // Login guarded by an anti-forgery token: take it (and its session cookie) from the page.
    const page = await request(opts, "GET", "/");
    scraped = ok(page.status) ? scrapeCsrfToken(page.body) : undefined;
    if (scraped !== undefined) {
      a = await request(opts, "POST", "/login", { headers: { ...formHeaders, "x-csrf-token": scraped }, body: form(scraped) });
    }
  }
  if (!ok(a.status)) throw new HttpRefusal("login refused", a.status, a.body, a.contentType);
  const json = a.json as Record<string, unknown> | undefined;
  return { csrfToken: tokenIn(json) ?? scraped ?? null, ...(json && "uid" in json ? { uid: json["uid"] } : {}) };
}

export async function bootstrapSession(opts: BootstrapOptions): Promise<BootstrapResult> {
  if (opts.login !== undefined) return login(opts, opts.login);
  if (opts.csrfToken !== undefined) return { csrfToken: opts.csrfToken };
  if (opts.probe === false) return { csrfToken: null };
  const a = await request(opts, "GET", "/csrf");
  let token = a.status === 200 ? tokenIn(a.json) : undefined;
  if (token === undefined) {
    // A stock Sente app renders its anti-forgery token into the page (and sets the session cookie).
    const page = await request(opts, "GET", "/");
    token = ok(page.status) ? scrapeCsrfToken(page.body) : undefined;
  }
  if (token === undefined) opts.trace?.("* no CSRF token from /csrf or the page; connecting without one");
  return { csrfToken: token ?? null };
}
