/**
 * `chsk serve`'s rule for who may see whom. The dashboard and `/api/stats`
 * list every connected user id and client id, so:
 *
 * - listening on loopback only (`127.0.0.1`, `::1`, `localhost`): open, as a
 *   local tool; only someone on this machine can connect.
 * - listening beyond loopback (`0.0.0.0`, `::`, a LAN address): the
 *   dashboard, the identities in `/api/stats` and the admin actions need a
 *   token (`--dashboard-token`, else one generated at start and printed);
 *   `/api/stats` without it gives counts only. `--public-dashboard` opts out.
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

export const DASHBOARD_TOKEN_COOKIE = "chsk-dashboard-token";
/** Characters that survive a URL query and a cookie unquoted. */
const TOKEN_RE = /^[A-Za-z0-9._~-]{16,256}$/;

export interface VisibilityOptions {
  /** The listen address. */
  host: string;
  /** Require this token (even on loopback). @default generated when `host` is beyond loopback */
  token?: string | undefined;
  /** Everyone sees everything, wherever the server listens. @default false */
  public?: boolean | undefined;
}

export interface Visibility {
  /** `"open"`: every request sees identities. `"token"`: only requests carrying the token. */
  readonly mode: "open" | "token";
  /** The token, in `"token"` mode. */
  readonly token: string | undefined;
  /** Whether `req` may see identities (always, in `"open"` mode). */
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
  const open = options.public === true || (options.token === undefined && isLoopbackHost(options.host));
  if (open) {
    return { mode: "open", token: undefined, allows: () => true, acceptTokenLink: () => false };
  }
  const token = options.token ?? randomBytes(24).toString("base64url");
  const matches = (given: string | undefined | null): boolean => typeof given === "string" && constantTimeEqual(given, token);
  const queryToken = (req: IncomingMessage) => new URL(req.url ?? "/", "http://localhost").searchParams.get("token");
  return {
    mode: "token",
    token,
    allows(req) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      return matches(bearer) || matches(parseCookies(req.headers.cookie)[DASHBOARD_TOKEN_COOKIE]) || matches(queryToken(req));
    },
    acceptTokenLink(req, res, path) {
      if (req.method !== "GET") return false;
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname !== path || !matches(url.searchParams.get("token"))) return false;
      url.searchParams.delete("token");
      res.writeHead(303, {
        location: `${url.pathname}${url.search}`,
        "set-cookie": `${DASHBOARD_TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`,
        "cache-control": "no-store",
        "content-length": 0,
      });
      res.end();
      return true;
    },
  };
}
