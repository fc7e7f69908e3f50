/**
 * The session bootstrap a Node client runs over plain HTTP before its
 * channel socket connects (what a browser has already done when it loaded
 * the app's page): an optional login, a CSRF token, and the cookies that go
 * with them. `chsk call`, `chsk inspect` and `chsk bench` share it.
 *
 * 1. `login`: `POST <origin>/login` with the form `uid=UID&user-id=UID`.
 *    If that is refused with 403 (Sente's example project guards its login
 *    with ring-anti-forgery), `GET <origin>/`, scrape the page's token (see
 *    {@link scrapeCsrfToken}) and retry with it as `X-CSRF-Token` and as
 *    form fields. The token is the answer's JSON `csrfToken`, else the
 *    scraped one.
 * 2. Otherwise, unless a token was given or `probe` is off: `GET <origin>/csrf`
 *    (`chsk serve`'s convention); a 200 JSON `{csrfToken}` supplies the
 *    token. Failing that, `GET <origin>/` and scrape the page as in 1 (a
 *    stock Sente app). No token either way: the client goes on without.
 *
 * Cookies set along the way are kept in the jar, and come back in
 * {@link Session.headers} for the client.
 */
import type { Logger } from "../logger.js";
import { ChskError } from "../protocol/errors.js";
import { CookieJar } from "./cookie-jar.js";
import { nodeFetch } from "./http.node.js";
import { scrapeCsrfToken } from "./scrape-csrf-token.js";

export interface SessionOptions {
  /**
   * Any URL of the server, typically the chsk endpoint: requests go to its
   * origin (`ws(s)://` is read as `http(s)://`).
   */
  url: string;
  /** Log in as this uid first (`POST <origin><loginPath>`). @default no login */
  login?: string | undefined;
  /** Where `login` posts to, on the server's origin. @default "/login" */
  loginPath?: string | undefined;
  /**
   * A token the caller has: no `/csrf` probe is made. With `login` it goes
   * with the login request, and the token the login answers with (if any)
   * replaces it: a login starts a new session.
   * @default none
   */
  csrfToken?: string | undefined;
  /** Probe `GET /csrf` (then the page) when there is no token and no login. @default true */
  probe?: boolean;
  /** Initial cookies, as a `Cookie` header (`a=b; c=d`); ignored when `jar` is given. @default none */
  cookie?: string | undefined;
  /** The jar to read and fill. @default a new jar with `cookie` */
  jar?: CookieJar;
  /** Extra headers for every request, and for the client (`Origin`, `Authorization`…). @default {} */
  headers?: Record<string, string>;
  /** Bounds each HTTP request. @default 5000 */
  timeoutMs?: number;
  /** Aborting ends a request in flight with CHSK_ERR_CLOSED. */
  signal?: AbortSignal | undefined;
  /**
   * @default undici's `request` ({@link nodeFetch}): Node's `fetch` refuses
   * the Fetch standard's "bad ports" (6000, 6667…), which the channel
   * socket itself can use.
   */
  fetch?: typeof fetch;
  /** Each request and its status at `debug`. @default none */
  logger?: Logger;
}

/** What a bootstrapped session gives the client. */
export interface Session {
  /** For the client's `csrfToken`; null when none was found (or needed). */
  csrfToken: string | null;
  /** The uid the login answer named, if it named one. */
  uid?: unknown;
  /** The cookies, after every `Set-Cookie` along the way. */
  jar: CookieJar;
  /** For the client's `headers`: the given headers and the jar's `Cookie`. */
  headers: Record<string, string>;
}

/** The defaults of {@link SessionOptions}. */
export const SESSION_DEFAULTS = { timeoutMs: 5000, probe: true };

/** How much of a refused answer's body an error keeps (`detail.body`). */
const MAX_BODY_CHARS = 16 * 1024;

interface Answer {
  status: number;
  body: string;
  contentType: string | undefined;
  json: unknown;
}

interface Run {
  origin: string;
  jar: CookieJar;
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  fetch: typeof fetch;
  logger: Logger | undefined;
}

let defaultFetch: typeof fetch | undefined;

async function request(run: Run, method: "GET" | "POST", path: string, extra: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(path, run.origin).href;
  const headers: Record<string, string> = { ...run.headers, ...extra.headers };
  const cookie = run.jar.header();
  if (cookie !== undefined) headers["cookie"] = cookie;
  let res: Response;
  const timeout = AbortSignal.timeout(run.timeoutMs);
  const detail = { method, url };
  try {
    res = await run.fetch(url, {
      method,
      headers,
      ...(extra.body === undefined ? {} : { body: extra.body }),
      redirect: "manual",
      signal: run.signal === undefined ? timeout : AbortSignal.any([timeout, run.signal]),
    });
  } catch (e) {
    if (run.signal?.aborted) throw new ChskError("CHSK_ERR_CLOSED", `${method} ${url}: interrupted`, { cause: e, detail: { ...detail, aborted: true } });
    if (timeout.aborted) throw new ChskError("CHSK_ERR_TIMEOUT", `${method} ${url}: no answer within ${run.timeoutMs} ms`, { detail });
    throw new ChskError("CHSK_ERR_TRANSPORT", `${method} ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, detail });
  }
  run.jar.update(res.headers.getSetCookie());
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
  run.logger?.debug?.(`${method} ${url} → ${res.status}`, { method, url, status: res.status });
  return { status: res.status, body, contentType, json };
}

const tokenIn = (json: unknown): string | undefined => {
  const t = json !== null && typeof json === "object" ? (json as Record<string, unknown>)["csrfToken"] : undefined;
  return typeof t === "string" && t !== "" ? t : undefined;
};

const ok = (status: number) => status >= 200 && status < 400;

function loginRefused(a: Answer, url: string): ChskError {
  const text = a.body.trim();
  const short = text !== "" && text.length <= 200 && !text.includes("\n") ? ` ${text}` : "";
  const detail: Record<string, unknown> = { status: a.status, body: a.body.slice(0, MAX_BODY_CHARS), method: "POST", url };
  if (a.contentType !== undefined) detail["contentType"] = a.contentType;
  return new ChskError("CHSK_ERR_LOGIN_REFUSED", `login refused: HTTP ${a.status}${short}`, { status: a.status, detail });
}

async function login(run: Run, uid: string, given: string | undefined, path: string): Promise<{ csrfToken: string | null; uid?: unknown }> {
  const form = (token?: string) => {
    const p = new URLSearchParams({ uid, "user-id": uid });
    if (token !== undefined) {
      p.set("csrf-token", token);
      p.set("__anti-forgery-token", token);
    }
    return p.toString();
  };
  const formHeaders = { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" };
  let scraped = given;
  let a = await request(run, "POST", path, {
    headers: scraped === undefined ? formHeaders : { ...formHeaders, "x-csrf-token": scraped },
    body: form(scraped),
  });
  if (a.status === 403 && scraped === undefined) {
    // Login guarded by an anti-forgery token: take it (and its session cookie) from the page.
    const page = await request(run, "GET", "/");
    scraped = ok(page.status) ? scrapeCsrfToken(page.body) : undefined;
    if (scraped !== undefined) {
      a = await request(run, "POST", path, { headers: { ...formHeaders, "x-csrf-token": scraped }, body: form(scraped) });
    }
  }
  if (!ok(a.status)) throw loginRefused(a, new URL(path, run.origin).href);
  const json = a.json as Record<string, unknown> | undefined;
  return { csrfToken: tokenIn(json) ?? scraped ?? null, ...(json && "uid" in json ? { uid: json["uid"] } : {}) };
}

async function probe(run: Run): Promise<string | null> {
  const a = await request(run, "GET", "/csrf");
  let token = a.status === 200 ? tokenIn(a.json) : undefined;
  if (token === undefined) {
    // A stock Sente app renders its anti-forgery token into the page (and sets the session cookie).
    const page = await request(run, "GET", "/");
    token = ok(page.status) ? scrapeCsrfToken(page.body) : undefined;
  }
  if (token === undefined) run.logger?.debug?.("no CSRF token from /csrf or the page; connecting without one");
  return token ?? null;
}

/** The origin requests go to: `ws(s)://h:p/chsk` → `http(s)://h:p`. */
function originOf(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`chsk session: invalid url ${JSON.stringify(url)}`);
  }
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`chsk session: url must be http(s) or ws(s), not ${u.protocol}`);
  return u.origin;
}

/**
 * Bootstrap a session for a Node client: log in and/or find the CSRF
 * token, collecting cookies; see the module comment for the steps.
 *
 * Rejects with a `ChskError`: `CHSK_ERR_LOGIN_REFUSED` (the login answered
 * a non-2xx/3xx status; `status`, `detail.body`, `detail.contentType`),
 * `CHSK_ERR_TIMEOUT` (a request took longer than `timeoutMs`),
 * `CHSK_ERR_TRANSPORT` (a network failure; the cause in `cause`),
 * `CHSK_ERR_CLOSED` (aborted by `signal`). Each carries `detail.method`
 * and `detail.url`. A missing `/csrf` route or token is no error.
 *
 * @example
 * import { bootstrapSession, createClient } from "chsk/client";
 * const s = await bootstrapSession({ url: "http://127.0.0.1:8090/chsk", login: "alice" });
 * const client = createClient({ url: "http://127.0.0.1:8090/chsk", csrfToken: s.csrfToken, headers: s.headers });
 */
export async function bootstrapSession(options: SessionOptions): Promise<Session> {
  if (options === null || typeof options !== "object") throw new TypeError("chsk session: options object required");
  if (options.login !== undefined && (typeof options.login !== "string" || options.login.trim() === "")) {
    throw new TypeError("chsk session: login must be a non-blank uid");
  }
  if (options.loginPath !== undefined && !(typeof options.loginPath === "string" && options.loginPath.startsWith("/"))) {
    throw new TypeError("chsk session: loginPath must be a path starting with /");
  }
  const timeoutMs = options.timeoutMs ?? SESSION_DEFAULTS.timeoutMs;
  if (!(typeof timeoutMs === "number" && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new RangeError(`chsk session: timeoutMs must be a positive number, not ${String(timeoutMs)}`);
  }
  const jar = options.jar ?? new CookieJar(options.cookie);
  const headers = options.headers ?? {};
  const run: Run = {
    origin: originOf(options.url),
    jar,
    headers,
    timeoutMs,
    signal: options.signal,
    fetch: options.fetch ?? (defaultFetch ??= nodeFetch()),
    logger: options.logger,
  };
  if (options.signal?.aborted) throw new ChskError("CHSK_ERR_CLOSED", "interrupted", { detail: { aborted: true } });
  let csrfToken: string | null;
  let uid: { uid?: unknown } = {};
  if (options.login !== undefined) {
    const r = await login(run, options.login, options.csrfToken, options.loginPath ?? "/login");
    csrfToken = r.csrfToken;
    if ("uid" in r) uid = { uid: r.uid };
  } else if (options.csrfToken !== undefined) csrfToken = options.csrfToken;
  else if (options.probe === false) csrfToken = null;
  else csrfToken = await probe(run);
  const cookie = jar.header();
  return { csrfToken, ...uid, jar, headers: cookie === undefined ? { ...headers } : { ...headers, cookie } };
}
