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

/**
 * The chsk endpoint from `chsk call`'s URL argument: `http(s)://` or
 * `ws(s)://`; a URL without a path gets `/chsk`.
 */
export function parseChskUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected an http(s):// or ws(s):// URL");
  }
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("expected an http(s):// or ws(s):// URL");
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/chsk";
  return url;
}
