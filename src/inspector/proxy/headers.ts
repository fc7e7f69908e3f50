/**
 * What the proxy changes in the headers it forwards, and nothing more.
 *
 * The app should see what it would see if the browser talked to it
 * directly, so its own checks pass unchanged: by default `Host` names the
 * target, and an `Origin` / `Referer` naming the proxy's origin (the one
 * the browser used) names the target's instead. An `Origin` from anywhere
 * else is forwarded as it came, so a cross-site request is still refused
 * by the app. `X-Forwarded-For` / `-Host` / `-Proto` say where the request
 * really came from. With `preserveHost`, `Host`, `Origin` and `Referer` go
 * as the browser sent them (the app then sees the proxy's host).
 *
 * On the way back, a `Location` pointing at the target's origin is pointed
 * at the proxy's, so a redirect keeps the browser behind the proxy;
 * relative and foreign ones are kept. `Set-Cookie` is never touched.
 * Hop-by-hop headers (RFC 9110 §7.6.1) stay on their hop.
 */
import type { IncomingMessage } from "node:http";

export interface HeaderContext {
  /** The target as its `Host` header: `127.0.0.1:8090`. */
  targetHost: string;
  /** `http://127.0.0.1:8090`. */
  targetOrigin: string;
  /** Forward `Host`, `Origin` and `Referer` as sent. */
  preserveHost: boolean;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** Headers the `Connection` header names: hop-by-hop too. */
function connectionListed(value: string | undefined): Set<string> | null {
  if (value === undefined || value === "") return null;
  const names = value
    .toLowerCase()
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "close" && s !== "keep-alive" && s !== "upgrade");
  return names.length === 0 ? null : new Set(names);
}

/** The origin the browser reached the proxy at: `http://` + its `Host`. */
export function proxyOriginOf(req: IncomingMessage, fallbackHost: string): string {
  return `http://${req.headers.host ?? fallbackHost}`;
}

/**
 * The headers to send the target, as a flat `[name, value, …]` list in the
 * browser's order and spelling. `upgrade`: a WebSocket upgrade, which keeps
 * its `Connection: Upgrade` and `Upgrade` headers.
 */
export function requestHeaders(req: IncomingMessage, ctx: HeaderContext, proxyOrigin: string, upgrade: boolean): string[] {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let sawForwardedHost = false;
  let sawForwardedProto = false;
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    let value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) {
      if (upgrade && lower === "upgrade") out.push(name, value);
      continue;
    }
    // undici refuses `expect`; Node's server already answered any `100-continue`.
    if (lower === "expect") continue;
    if (lower === "host") {
      sawHost = true;
      if (!ctx.preserveHost) value = ctx.targetHost;
    } else if (lower === "origin") {
      if (!ctx.preserveHost && value === proxyOrigin) value = ctx.targetOrigin;
    } else if (lower === "referer") {
      if (!ctx.preserveHost && (value === proxyOrigin || value.startsWith(`${proxyOrigin}/`))) value = ctx.targetOrigin + value.slice(proxyOrigin.length);
    } else if (lower === "x-forwarded-for") {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    } else if (lower === "x-forwarded-host") {
      sawForwardedHost = true;
    } else if (lower === "x-forwarded-proto") {
      sawForwardedProto = true;
    }
    out.push(name, value);
  }
  if (!sawHost) out.push("Host", ctx.targetHost);
  if (upgrade) out.push("Connection", "Upgrade");
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) out.push("X-Forwarded-For", forwardedFor === undefined ? peer : `${forwardedFor}, ${peer}`);
  else if (forwardedFor !== undefined) out.push("X-Forwarded-For", forwardedFor);
  if (!sawForwardedHost && req.headers.host !== undefined) out.push("X-Forwarded-Host", req.headers.host);
  if (!sawForwardedProto) out.push("X-Forwarded-Proto", "http");
  return out;
}

/** A `Location` on the target's origin, moved to the proxy's; anything else as it is. */
export function rewriteLocation(value: string, targetOrigin: string, proxyOrigin: string): string {
  if (!/^(?:https?:)?\/\//i.test(value)) return value; // relative: already right
  let url: URL;
  try {
    url = new URL(value, targetOrigin);
  } catch {
    return value;
  }
  if (url.origin !== targetOrigin) return value;
  // Keep the app's spelling of the rest: cut at the first `/` after the authority.
  const rest = value.replace(/^(?:https?:)?\/\/[^/?#]*/i, "");
  return proxyOrigin + rest;
}

/**
 * The target's response headers for the browser, as a flat list in their
 * order and spelling: hop-by-hop ones dropped, `Location` rewritten (see
 * {@link rewriteLocation}). `raw` is `[name, value, …]` (Buffers or strings).
 */
export function responseHeaders(raw: readonly (Buffer | string)[], targetOrigin: string, proxyOrigin: string): string[] {
  const out: string[] = [];
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() === "connection") listed = connectionListed(String(raw[i + 1]));
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = String(raw[i]);
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    const value = typeof raw[i + 1] === "string" ? (raw[i + 1] as string) : (raw[i + 1] as Buffer).toString("latin1");
    out.push(name, lower === "location" ? rewriteLocation(value, targetOrigin, proxyOrigin) : value);
  }
  return out;
}
