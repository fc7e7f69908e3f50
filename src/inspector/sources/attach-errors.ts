/**
 * What can keep the attach source from reading a stream, as `ChskError`s
 * that tell the user what to do: the network (`CHSK_ERR_TRANSPORT`,
 * `CHSK_ERR_TIMEOUT`), the answer's status (`CHSK_ERR_UNAUTHORIZED` for
 * 401/403, `CHSK_ERR_HTTP_STATUS`), an answer that is not the stream
 * (`CHSK_ERR_NOT_SENTE`).
 */
import type { Dispatcher } from "undici";
import { ChskError, type ChskErrorCode } from "../../core/index.js";

/** The first errno-style code on an error or its causes (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
function errnoOf(e: unknown): string | undefined {
  let x: unknown = e;
  for (let i = 0; i < 5 && x instanceof Error; i++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("CHSK_ERR_")) return code;
    x = x.cause;
  }
  return undefined;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused (ECONNREFUSED); is the server running?",
  ECONNRESET: "the connection was reset (ECONNRESET)",
  UND_ERR_SOCKET: "the server closed the connection (UND_ERR_SOCKET)",
  ENOTFOUND: "host not found (ENOTFOUND)",
  EAI_AGAIN: "host name lookup failed (EAI_AGAIN)",
  EHOSTUNREACH: "host unreachable (EHOSTUNREACH)",
  ENETUNREACH: "network unreachable (ENETUNREACH)",
};

/** A network failure as a ChskError: `CHSK_ERR_TIMEOUT` for the bounds, else `CHSK_ERR_TRANSPORT`. */
export function networkError(e: unknown, url: string, o: { timeoutMs: number; idleTimeoutMs: number }): ChskError {
  const code = errnoOf(e);
  const detail = { url, ...(code === undefined ? {} : { errno: code }) };
  if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT") {
    return new ChskError("CHSK_ERR_TIMEOUT", `GET ${url}: no answer within ${o.timeoutMs} ms`, { cause: e, detail });
  }
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return new ChskError("CHSK_ERR_TIMEOUT", `nothing came for ${o.idleTimeoutMs} ms, not even a heartbeat`, { cause: e, detail });
  }
  // A chunked answer cut short (the server went away mid-stream): undici's parser error carries no code.
  const cut = e instanceof Error && e.name === "HTTPParserError" && /EOF/i.test(e.message) ? "the connection was cut in the middle of the stream" : undefined;
  const why = (code !== undefined ? REASONS[code] : undefined) ?? cut ?? (e instanceof Error ? e.message : String(e));
  return new ChskError("CHSK_ERR_TRANSPORT", `GET ${url}: ${why}`, { cause: e, detail });
}

/** A non-200 answer as a ChskError that tells the user what to do. */
export function statusError(status: number, body: string, url: string, location: string | undefined): ChskError {
  const text = body.trim();
  const said = text !== "" && text.length <= 200 && !text.includes("\n") ? ` (${text})` : "";
  const detail: Record<string, unknown> = { url, status, body: body.slice(0, 1024) };
  const err = (code: ChskErrorCode, message: string) => new ChskError(code, message, { status, detail });
  switch (status) {
    case 401:
      return err("CHSK_ERR_UNAUTHORIZED", `${url} wants the inspector token (HTTP 401): pass --token, or set $CHSK_INSPECT_TOKEN`);
    case 403:
      return err("CHSK_ERR_UNAUTHORIZED", `${url} refused the inspector token (HTTP 403${said ? `: ${text}` : ""}): check --token / $CHSK_INSPECT_TOKEN against the server's`);
    case 404:
      return err(
        "CHSK_ERR_HTTP_STATUS",
        `the server has no inspector stream at ${url} (HTTP 404): chsk serve needs --allow-inspect or --inspect-token; an app mounts it with mountInspector(chsk, { token })`,
      );
    case 503:
      return err("CHSK_ERR_HTTP_STATUS", `${url} is not taking inspectors now (HTTP 503${said ? `: ${text}` : ""})`);
    default:
      if (status >= 300 && status < 400) {
        return err("CHSK_ERR_HTTP_STATUS", `${url} redirects (HTTP ${status}${location ? ` to ${location}` : ""}): give the stream's own URL`);
      }
      return err("CHSK_ERR_HTTP_STATUS", `${url} answered HTTP ${status}${said}`);
  }
}

export const notTheStream = (url: string, why: string, detail: Record<string, unknown> = {}) =>
  new ChskError("CHSK_ERR_NOT_SENTE", `${url} is not a chsk inspector stream: ${why}`, { detail: { url, ...detail } });

/** Up to `max` characters of a refusal's body, read for at most `ms`; the rest discarded. */
export function readSome(body: Dispatcher.ResponseData["body"], max: number, ms: number): Promise<string> {
  return new Promise((done) => {
    let text = "";
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      body.off("data", onData);
      body.destroy();
      done(text);
    };
    const onData = (c: Buffer) => {
      text += c.toString("utf8");
      if (text.length >= max) finish();
    };
    body.on("data", onData);
    body.once("end", finish);
    body.once("error", finish);
  });
}
