/**
 * `chsk call`'s diagnoses: pure functions that turn what went wrong (an
 * HTTP answer, a frame in the wrong format, a network error) into one line
 * a newcomer can act on, with the stable code that names it.
 */
import { PACKER_NAMES } from "../core/packers/index.js";
import { isWireFormat, type Sniffed, sniffFrame, type WireFormat } from "../core/packers/sniff.js";
import type { ChskErrorCode } from "../core/protocol/errors.js";

/** A diagnosis: the line to print (without the code) and the code. */
export interface Diagnosis {
  message: string;
  code: ChskErrorCode;
}

// Not JSON.stringify: an excerpt of JSON would come out all backslashes.
const quote = (s: string) => `"${s}"`;

/**
 * An HTTP answer in a few words: a short one-line text body as is
 * (`HTTP 403 Bad CSRF token`), a JSON `{"error": …}` by its error, else the
 * type and an excerpt (`HTTP 404 text/html ("Not Found")`).
 */
export function shortAnswer(status: number, body: string, contentType?: string): string {
  const text = body.trim();
  const s = sniffBody(body);
  if (s.format === "text" && text.length <= 200 && !text.includes("\n")) return `HTTP ${status} ${text}`;
  if (s.format === "json") {
    try {
      const e = (JSON.parse(text) as { error?: unknown }).error;
      if (typeof e === "string" && e !== "") return `HTTP ${status} ${e}`;
    } catch {
      // Not JSON after all: describe it below.
    }
  }
  return `HTTP ${describeAnswer(status, body, contentType, s)}`;
}

/** `404 text/html ("Not Found")`, `403 ("Bad CSRF token")`, `404 (empty body)`. */
export function describeAnswer(status: number, body: string, contentType?: string, sniffed?: Sniffed): string {
  const type = contentType?.split(";", 1)[0]?.trim();
  const s = sniffed ?? sniffBody(body);
  const what = s.excerpt === "" ? "empty body" : quote(s.excerpt);
  return `${status}${type ? ` ${type}` : ""} (${what})`;
}

/** What a frame or body that is not a Sente message is, for a message: `an HTML page ("My App")`. */
export function describeSniffed(s: Sniffed): string {
  const q = s.excerpt === "" ? "" : ` (${quote(s.excerpt)})`;
  switch (s.format) {
    case "html":
      return `an HTML page${q}`;
    case "text":
      return `text${q}`;
    case "binary":
      return `binary data (${s.excerpt})`;
    case "empty":
      return "an empty body";
    case "json":
      return `JSON that is not a Sente message${q}`;
    default:
      return `${s.format} that is not a Sente message${q}`;
  }
}

const sniffBody = (body: string): Sniffed => sniffFrame(body);

const NOT_SENTE_HINT = "is the path right? (chsk serve uses /chsk)";

/** `<url> answered … — not a Sente endpoint; is the path right?` */
export function notSente(url: string, what: string): Diagnosis {
  return { message: `${url} ${what} — not a Sente endpoint; ${NOT_SENTE_HINT}`, code: "CHSK_ERR_NOT_SENTE" };
}

/** How the call got its CSRF token, for the hint on a `Bad CSRF token` refusal. */
export interface CsrfContext {
  /** `--no-session`: no probe was made. */
  noSession: boolean;
  /** `--csrf-token` was given. */
  tokenGiven: boolean;
  /** A token was found (or given) and sent. */
  tokenSent: boolean;
}

/** The bodies Sente's (and chsk's) default refusals have. */
const SENTE_REFUSALS: Record<string, ChskErrorCode> = {
  "Bad CSRF token": "CHSK_ERR_BAD_CSRF",
  "Unauthorized origin": "CHSK_ERR_BAD_ORIGIN",
  "Unauthorized request": "CHSK_ERR_UNAUTHORIZED",
  "Missing client-id": "CHSK_ERR_NO_CLIENT_ID",
};

function csrfHint(c: CsrfContext): string {
  if (c.tokenGiven) return "the --csrf-token given is not this session's: try without it, or with --login";
  if (c.noSession) return "the server wants a CSRF token: drop --no-session, or pass --csrf-token or --login";
  if (!c.tokenSent) return "no token was found at GET /csrf or on the page: pass --csrf-token, --cookie or --login";
  return "the token from the session probe was refused: try --login";
}

/**
 * An HTTP answer other than 200 on the chsk path (a refused WS upgrade, an
 * Ajax poll or POST). A page, a 404/405 or a redirect means the URL is not
 * a Sente endpoint; Sente's own refusals get their code and a hint.
 */
export function diagnoseRefusal(url: string, status: number, body: string, contentType: string | undefined, csrf: CsrfContext): Diagnosis {
  const s = sniffBody(body);
  const text = body.trim();
  const answer = describeAnswer(status, body, contentType, s);
  if (status === 404 || status === 405 || status === 200 || (status >= 300 && status < 400) || s.format === "html") {
    return notSente(url, `answered ${answer}`);
  }
  const known = SENTE_REFUSALS[text];
  if (known === "CHSK_ERR_BAD_CSRF") return { message: `refused: HTTP ${status} ${text}; ${csrfHint(csrf)}`, code: known };
  if (known === "CHSK_ERR_BAD_ORIGIN") {
    return { message: `refused: HTTP ${status} ${text}; the server allows only some origins: pass --header 'Origin: https://allowed.example'`, code: known };
  }
  if (known === "CHSK_ERR_UNAUTHORIZED") return { message: `refused: HTTP ${status} ${text}; try --login UID, or --cookie with a logged-in session`, code: known };
  if (known !== undefined) return { message: `refused: HTTP ${status} ${text}`, code: known };
  // chsk's servers put the code first: `CHSK_ERR_SERVER_CLOSED: server is closing`.
  const own = /^(CHSK_ERR_[A-Z_]+)\b/.exec(text)?.[1] as ChskErrorCode | undefined;
  return { message: `refused: ${shortAnswer(status, body, contentType)}`, code: own ?? "CHSK_ERR_HTTP_STATUS" };
}

/**
 * The first frame was not in the packer's format: which packer to use, or
 * (a page, text, non-envelope data) that this is not a Sente endpoint.
 * Undefined when the frame is fine for `expected`.
 */
export function diagnoseFrame(url: string, s: Sniffed, expected: WireFormat, packerName: string, how: "answered 200 with" | "sent"): Diagnosis | undefined {
  if (!isWireFormat(s.format) || !s.envelope) return notSente(url, `${how} ${describeSniffed(s)}`);
  if (s.format === expected || (s.format === "gzip" && expected.startsWith("gzip+"))) return undefined;
  return { message: packerAdvice(s.format, packerName), code: "CHSK_ERR_PACKER_MISMATCH" };
}

function packerAdvice(format: WireFormat | "gzip", packerName: string): string {
  const have = (n: string) => (PACKER_NAMES as readonly string[]).includes(n);
  if (format === "gzip") {
    const gz = PACKER_NAMES.filter((n) => n.startsWith("gzip+"));
    const tryThem = gz.length > 0 ? `try --packer ${gz.join(" or ")}` : "chsk call has no gzip packer";
    return `the server speaks a gzip-wrapped packer (compressed), not ${packerName}: ${tryThem}`;
  }
  return `the server speaks ${format}, not ${packerName}: ${have(format) ? `try --packer ${format}` : `chsk call has no ${format} packer`}`;
}

// ---------------------------------------------------------------------------
// Network errors

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused (ECONNREFUSED); is the server running?",
  ENOTFOUND: "host not found (ENOTFOUND)",
  EAI_AGAIN: "host name lookup failed (EAI_AGAIN)",
  ECONNRESET: "the connection was reset (ECONNRESET)",
  UND_ERR_SOCKET: "the server closed the connection (UND_ERR_SOCKET)",
  ETIMEDOUT: "no answer (ETIMEDOUT)",
  UND_ERR_CONNECT_TIMEOUT: "no answer (UND_ERR_CONNECT_TIMEOUT)",
  EHOSTUNREACH: "host unreachable (EHOSTUNREACH)",
  ENETUNREACH: "network unreachable (ENETUNREACH)",
  EPROTO: "TLS handshake failed (EPROTO); is it an http:// server?",
  ERR_SSL_WRONG_VERSION_NUMBER: "TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER); is it an http:// server?",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired (CERT_HAS_EXPIRED)",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate is for another host (ERR_TLS_CERT_ALTNAME_INVALID)",
  HPE_INVALID_CONSTANT: "the answer is not HTTP (HPE_INVALID_CONSTANT); is it an https:// server?",
};

/** The first `code` on an error or its causes (`ECONNREFUSED`), else one named in its message. */
export function errorCodeOf(e: unknown): string | undefined {
  let x: unknown = e;
  for (let i = 0; i < 5 && x instanceof Error; i++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("CHSK_ERR_")) return code;
    x = x.cause;
  }
  const message = e instanceof Error ? e.message : String(e);
  return /\b(E[A-Z]{3,}|ERR_[A-Z_]+|UND_ERR_[A-Z_]+|HPE_[A-Z_]+|[A-Z_]*CERT[A-Z_]*)\b/.exec(message)?.[1];
}

/** Why a connection failed, in words: `connection refused (ECONNREFUSED); is the server running?`. */
export function networkReason(e: unknown): string {
  const code = errorCodeOf(e);
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  const message = e instanceof Error ? e.message : String(e);
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}
