/**
 * Sente's request checks as pure functions (protocol.md §7): `allowOrigin`
 * (Sente's `allow-origin?`) and `validCsrfToken` (`valid-csrf-token?`).
 * Both are public so a `reject` hook can reuse them.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SKIP_CSRF } from "./types.js";

/** The parts of a request the checks read. A `ChskRequest` fits. */
export interface CheckableRequest {
  headers: IncomingHttpHeaders;
  /** Query-string params. */
  query?: Record<string, string>;
  /** Form params (Ajax POST); they win over the query, as in Ring's `:params`. */
  form?: Record<string, string>;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  // Node joins most duplicates with ", "; a few headers arrive as arrays.
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Sente's `allow-origin?`. `"all"` passes everything. Otherwise an `Origin`
 * header, when present (even empty), must be one of `allowed`; without one
 * the `Referer` must start with `<allowed origin>/`, so
 * `http://site.com.evil.com/` does not pass for `http://site.com`. Neither
 * header → rejected.
 */
export function allowOrigin(allowed: "all" | readonly string[], headers: IncomingHttpHeaders): boolean {
  if (allowed === "all") return true;
  const origin = header(headers, "origin");
  if (origin !== undefined) return allowed.includes(origin);
  const referer = header(headers, "referer");
  if (referer === undefined) return false;
  for (const o of allowed) if (referer.startsWith(o + "/")) return true;
  return false;
}

/**
 * The token the client sent: param `csrf-token` (form over query), else
 * header `X-CSRF-Token`, else `X-XSRF-Token`. The first one present wins,
 * even if empty (Clojure's `or` treats `""` as a value).
 */
export function clientCsrfToken(req: CheckableRequest): string | undefined {
  return (
    req.form?.["csrf-token"] ??
    req.query?.["csrf-token"] ??
    header(req.headers, "x-csrf-token") ??
    header(req.headers, "x-xsrf-token")
  );
}

/** Constant-time string equality (the time depends only on `a`'s length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  if (ba.length !== bb.length) {
    // Spend the same time as a real comparison, then fail.
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

/**
 * Sente's `valid-csrf-token?`. `reference` is what `csrfToken(req)`
 * returned: {@link SKIP_CSRF} passes; a missing (`null`/`undefined`/`""`)
 * reference fails (Sente's "no reference token → reject"); otherwise the
 * client's token must equal it, compared in constant time.
 */
export function validCsrfToken(reference: unknown, req: CheckableRequest): boolean {
  if (reference === SKIP_CSRF) return true;
  if (typeof reference !== "string" || reference === "") return false;
  const fromClient = clientCsrfToken(req);
  if (fromClient === undefined) return false;
  return constantTimeEqual(reference, fromClient);
}
