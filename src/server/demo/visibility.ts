/**
 * `chsk serve`'s rule for who may see whom. The dashboard and `/api/stats`
 * list every connected user id and client id, so:
 *
 * - listening on loopback only (`127.0.0.1`, `::1`, `localhost`): open, as a
 *   local tool, to requests addressed to this machine: their `Host` names a
 *   loopback address, `localhost` (any port) or one of `allowedHosts`. Any
 *   other `Host` is treated as coming from beyond loopback (no identities,
 *   no dashboard, no admin action): that is what a DNS-rebinding page looks
 *   like (`evil.example`, resolved to 127.0.0.1 after the page loaded, so
 *   the browser calls it same-origin), and also a reverse proxy forwarding
 *   a public name. Dev servers guard the same way (webpack-dev-server and
 *   Vite's `allowedHosts`).
 * - listening beyond loopback (`0.0.0.0`, `::`, a LAN address): the
 *   dashboard, the identities in `/api/stats` and the admin actions need a
 *   token (`--dashboard-token`, else one generated at start and printed);
 *   `/api/stats` without it gives counts only. `--public-dashboard` opts out
 *   (no token, no `Host` check).
 *
 * The listen address decides, never the peer's: a request from 127.0.0.1 to
 * a server on 0.0.0.0 still needs the token (a reverse proxy on the same
 * machine makes every peer look local).
 *
 * The token is accepted as `Authorization: Bearer T`, as the
 * `chsk-dashboard-token` cookie, or as `?token=T`; a page opened with
 * `?token=T` gets the cookie (HttpOnly, SameSite=Strict) and is redirected
 * to the same URL without it, so the token leaves the address bar.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { parseCookies } from "../request.js";
import { constantTimeEqual } from "../security.js";
import { requestTarget } from "../web/request-target.js";

export const DASHBOARD_TOKEN_COOKIE = "chsk-dashboard-token";
/** Characters that survive a URL query and a cookie unquoted. */
const TOKEN_RE = /^[A-Za-z0-9._~-]{16,256}$/;

export interface VisibilityOptions {
  /** The listen address. */
  host: string;
  /** Require this token (even on loopback). @default generated when `host` is beyond loopback */
  token?: string | undefined;
  /** Everyone sees everything, wherever the server listens, whatever the `Host`. @default false */
  public?: boolean | undefined;
  /**
   * Open on loopback: `Host` names that count as this machine besides
   * loopback addresses and `localhost` (a name in `/etc/hosts`, say).
   * `.example.test` matches that name and its subdomains. No effect in the
   * token mode, where the token decides. @default []
   */
  allowedHosts?: readonly string[] | undefined;
}

export interface Visibility {
  /** `"open"`: every request sees identities. `"token"`: only requests carrying the token. */
  readonly mode: "open" | "token";
  /** The token, in `"token"` mode. */
  readonly token: string | undefined;
  /**
   * Whether `req` may see identities: in `"open"` mode when its `Host` names
   * this machine (always with `public`), in `"token"` mode when it carries
   * the token.
   */
  allows(req: IncomingMessage): boolean;
  /**
   * A `GET path?token=T` with the right token: answers a 303 that sets the
   * cookie and drops `token` from the URL. True if it answered.
   */
  acceptTokenLink(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith("127.");
  if (v === 6) {
    if (/^::ffff:127\./.test(h)) return true;
    // ::1 in any spelling (0:0:0:0:0:0:0:1, 0::1).
    const [head = "", tail = ""] = h.split("::");
    const groups = h.includes("::") ? [...head.split(":").filter(Boolean), ...tail.split(":").filter(Boolean)] : h.split(":");
    return groups.length > 0 && groups.slice(0, -1).every((g) => /^0+$/.test(g)) && /^0*1$/.test(groups.at(-1) as string);
  }
  return false;
}

/**
 * The host name of a `Host` header, without port or IPv6 brackets,
 * lower-cased, one trailing dot dropped; `undefined` without one.
 */
export function hostNameOf(header: string | undefined): string | undefined {
  const h = (header ?? "").trim().toLowerCase();
  if (h === "") return undefined;
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(h);
  // Two colons or more without brackets: not a valid Host; kept whole, so it matches nothing.
  const name = bracketed ? bracketed[1]! : h.indexOf(":") === h.lastIndexOf(":") ? h.replace(/:\d*$/, "") : h;
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

const HOST_NAME_RE = /^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i;

/** Checks an `--allowed-hosts` entry (a host name, no port or scheme); the message says what is wrong. */
export function allowedHostProblem(name: string): string | null {
  return HOST_NAME_RE.test(name) || isIP(name.replace(/^\[(.*)\]$/, "$1")) !== 0
    ? null
    : `an allowed host is a host name like myhost.test (or .myhost.test for its subdomains too), without scheme or port; got ${JSON.stringify(name)}`;
}

/** Whether a `Host` header names this machine: a loopback address, `localhost`, or one of `allowed`. */
export function isLocalHostHeader(header: string | undefined, allowed: readonly string[] = []): boolean {
  const name = hostNameOf(header);
  if (name === undefined) return false;
  if (isLoopbackHost(name)) return true;
  return allowed.some((a) => {
    const entry = a.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
    return entry.startsWith(".") ? name === entry.slice(1) || name.endsWith(entry) : name === entry;
  });
}

/** Checks a `--dashboard-token` value; the message says what is wrong. */
export function dashboardTokenProblem(token: string): string | null {
  return TOKEN_RE.test(token) ? null : "a dashboard token is 16 to 256 characters from A-Z a-z 0-9 . _ ~ -";
}

export function createVisibility(options: VisibilityOptions): Visibility {
  if (options.token !== undefined) {
    const problem = dashboardTokenProblem(options.token);
    if (problem !== null) throw new TypeError(problem);
    if (options.public) throw new TypeError("a dashboard token and a public dashboard exclude each other");
  }
  const allowedHosts = [...(options.allowedHosts ?? [])];
  for (const name of allowedHosts) {
    const problem = typeof name === "string" ? allowedHostProblem(name) : "allowedHosts must be strings";
    if (problem !== null) throw new TypeError(problem);
  }
  if (options.public === true) {
    return { mode: "open", token: undefined, allows: () => true, acceptTokenLink: () => false };
  }
  if (options.token === undefined && isLoopbackHost(options.host)) {
    return { mode: "open", token: undefined, allows: (req) => isLocalHostHeader(req.headers.host, allowedHosts), acceptTokenLink: () => false };
  }
  const token = options.token ?? randomBytes(24).toString("base64url");
  const matches = (given: string | undefined | null): boolean => typeof given === "string" && constantTimeEqual(given, token);
  const queryToken = (req: IncomingMessage) => requestTarget(req.url).query.get("token");
  return {
    mode: "token",
    token,
    allows(req) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      return matches(bearer) || matches(parseCookies(req.headers.cookie)[DASHBOARD_TOKEN_COOKIE]) || matches(queryToken(req));
    },
    acceptTokenLink(req, res, path) {
      if (req.method !== "GET") return false;
      const target = requestTarget(req.url);
      if (target.path !== path || !matches(target.query.get("token"))) return false;
      target.query.delete("token");
      const search = target.query.toString();
      res.writeHead(303, {
        location: `${target.path}${search === "" ? "" : `?${search}`}`,
        "set-cookie": `${DASHBOARD_TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`,
        "cache-control": "no-store",
        "content-length": 0,
      });
      res.end();
      return true;
    },
  };
}
