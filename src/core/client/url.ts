/**
 * URLs and query strings the way Sente's client builds them (protocol.md §1.2–1.3).
 *
 * - WS query: encore `format-query-string` — `encodeURIComponent` with `*` →
 *   `%2A`, nil values dropped, user params first, then `client-id`, then
 *   `csrf-token` (omitted when nil/blank). A query already in the URL is kept.
 * - Ajax query/form: Closure `QueryData` — plain `encodeURIComponent`
 *   (`handshake?` → `handshake%3F`, spaces → `%20`, never `+`).
 */

/** encore `url-encode`: `encodeURIComponent`, plus `*` → `%2A`. */
export function encoreUrlEncode(s: string): string {
  const e = encodeURIComponent(s);
  return e.includes("*") ? e.replaceAll("*", "%2A") : e;
}

export type QueryParams = Record<string, string | number | boolean | null | undefined>;

/** `k=v&k=v`; nil values dropped; `star` selects encore's `*` → `%2A`. */
export function formatQuery(params: QueryParams, star = true, skip?: ReadonlySet<string>): string {
  const enc = star ? encoreUrlEncode : encodeURIComponent;
  let out = "";
  for (const k in params) {
    const v = params[k];
    if (v === null || v === undefined || skip?.has(k)) continue;
    if (out.length > 0) out += "&";
    out += enc(k) + "=" + enc(String(v));
  }
  return out;
}

/** Append `qs` to `url`, after any query it already has. */
export function appendQuery(url: string, qs: string): string {
  if (qs.length === 0) return url;
  const q = url.indexOf("?");
  if (q < 0) return url + "?" + qs;
  return q === url.length - 1 || url.endsWith("&") ? url + qs : url + "&" + qs;
}

export interface Endpoints {
  /** `ws(s)://host/path[?query]` */
  ws: string;
  /** `http(s)://host/path[?query]` */
  ajax: string;
}

/**
 * Both endpoints from one URL: `http(s)://…` or `ws(s)://…`, or a path
 * resolved against `base` (the page's `location.href` in a browser).
 * Throws `TypeError` for anything else (Sente accepts only http:/https:).
 */
export function resolveEndpoints(url: string, base?: string): Endpoints {
  let u: URL;
  try {
    u = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new TypeError(`chsk client: cannot resolve url ${JSON.stringify(url)}${base === undefined ? " (relative URLs need a browser location)" : ""}`);
  }
  u.hash = "";
  const secure = u.protocol === "https:" || u.protocol === "wss:";
  if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol)) {
    throw new TypeError(`chsk client: unsupported protocol ${u.protocol} (expected http:, https:, ws: or wss:)`);
  }
  u.protocol = secure ? "https:" : "http:";
  const ajax = u.href;
  u.protocol = secure ? "wss:" : "ws:";
  return { ws: u.href, ajax };
}
