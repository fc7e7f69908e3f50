/**
 * Parsers for CLI flag values. Each throws `InvalidArgumentError` (commander
 * turns that into a usage error) and is pure, so it is unit-testable.
 */
import { InvalidArgumentError } from "commander";

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n > 65535) throw new InvalidArgumentError("expected an integer in 0..65535");
  return n;
}

/** A positive integer (`--timeout-ms`, `--wait-push`). */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** `--allowed-origins URL,URL` → exact origins (`https://site.com`), or `"all"`. */
export function parseOrigins(value: string): "all" | string[] {
  if (value.trim() === "all") return "all";
  const out: string[] = [];
  for (const part of value.split(",")) {
    const s = part.trim();
    if (s === "") continue;
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new InvalidArgumentError(`not a URL: ${s}`);
    }
    if (url.origin === "null") throw new InvalidArgumentError(`not an http(s) origin: ${s}`);
    out.push(url.origin);
  }
  if (out.length === 0) throw new InvalidArgumentError("expected at least one origin");
  return out;
}

/** Repeatable `--param k=v`. */
export function collectParam(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected k=v, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Repeatable `--header k:v` (or `k: v`). */
export function collectHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(":");
  const name = colon > 0 ? value.slice(0, colon).trim() : "";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InvalidArgumentError(`expected name:value, got ${JSON.stringify(value)}`);
  return { ...previous, [name]: value.slice(colon + 1).trim() };
}

/** `chsk call`'s endpoint: the HTTP form of the URL, and whether it was given as `ws(s)://`. */
export interface ChskUrl {
  /** `http(s)://host:port/path`; a URL without a path gets `/chsk`. */
  url: URL;
  /** Given as `ws://` or `wss://`: the user means the WebSocket transport. */
  ws: boolean;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** scheme://[userinfo@]host[:port] — enough to find the port `new URL` refused. */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i;

/**
 * The chsk endpoint from `chsk call`'s URL argument: `http(s)://` or
 * `ws(s)://`, or `host:port/path` (taken as `http://`). A URL without a
 * path gets `/chsk`. Errors say what is wrong: the scheme, the port, or
 * the URL as a whole.
 */
export function parseChskUrl(value: string): ChskUrl {
  const text = value.trim();
  if (text === "") throw new InvalidArgumentError("missing URL: expected e.g. http://127.0.0.1:8090/chsk");
  // `localhost:8090/chsk`, as curl takes it.
  const withScheme = SCHEME.test(text) ? text : `http://${text}`;
  const scheme = SCHEME.exec(withScheme)![1]!.toLowerCase();
  if (!["http", "https", "ws", "wss"].includes(scheme)) {
    throw new InvalidArgumentError(`unsupported scheme ${scheme}://: expected http(s):// or ws(s)://`);
  }
  const auth = AUTHORITY.exec(withScheme);
  // `new URL("http:///chsk")` would take "chsk" for the host.
  if ((auth?.[1] ?? "") === "") throw new InvalidArgumentError("no host: expected e.g. http://127.0.0.1:8090/chsk");
  const port = auth?.[2];
  if (port !== undefined && port !== "") {
    if (!/^\d+$/.test(port)) throw new InvalidArgumentError(`port ${JSON.stringify(port)} is not a number`);
    if (Number(port) < 1 || Number(port) > 65535) throw new InvalidArgumentError(`port ${port} is out of range (1-65535)`);
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError(`invalid host ${JSON.stringify(auth![1])}`);
  }
  const ws = scheme === "ws" || scheme === "wss";
  if (scheme === "ws") url.protocol = "http:";
  else if (scheme === "wss") url.protocol = "https:";
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/chsk";
  return { url, ws };
}
