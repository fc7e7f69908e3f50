/**
 * `sniffFrame(data)`: which wire format a server frame or HTTP body is in,
 * judged from its bytes alone, without knowing (or trusting) the packer.
 *
 * A client that reads the first frame with the wrong packer sees a syntax
 * error, or worse, a frame that parses but means nothing (the EDN reader
 * reads transit's `[["~:chsk/handshake",…],null]` as strings and symbols).
 * Sniffing turns that into "the server speaks edn, not transit", and tells
 * an HTML page or a plain-text 404 apart from any packer's output. `chsk
 * call` uses it on every frame before the handshake; an inspector can use
 * it to pick the packer for an unknown server.
 *
 * What each format looks like (protocol.md §3, captured-frames.md §11–14):
 *
 * | format         | first bytes of a handshake                              |
 * |----------------|---------------------------------------------------------|
 * | `edn`          | `[[:chsk/handshake ["alice" nil nil]] nil]`             |
 * | `transit`      | `[["~:chsk/handshake",["alice",null,null]],null]`       |
 * | `json`         | `[["chsk/handshake",["alice",null,null]],null]` (chsk)  |
 * | `msgpack`      | `92 92 c7 0e 00 "chsk/handshake" …` (a 2-element array) |
 * | `gzip+X`       | `00` then X's bytes (`01` then gzip once ≥ 1024 bytes)  |
 *
 * Pure and total: any input gives an answer, nothing throws, and nothing
 * is inflated (a compressed payload is reported as `"gzip"`; Sente only
 * compresses payloads of 1024 bytes or more, so a handshake never is).
 */
import { readEdn } from "../edn/reader.js";

/** A format some packer writes. */
export type WireFormat = "edn" | "transit" | "json" | "msgpack" | "gzip+edn" | "gzip+transit" | "gzip+json" | "gzip+msgpack";

/**
 * What {@link sniffFrame} found: a {@link WireFormat}; `"gzip"` (Sente's
 * gzip wrapper with a compressed payload, inner format unknown); or a
 * non-Sente body: `"html"` (a page), `"text"` (any other text, e.g.
 * `Not Found`), `"binary"` (bytes no packer writes), `"empty"`.
 */
export type SniffedFormat = WireFormat | "gzip" | "html" | "text" | "binary" | "empty";

export interface Sniffed {
  format: SniffedFormat;
  /**
   * Shaped like a Sente message: a 1- or 2-element array at the top (the
   * `[value ?cb-id]` envelope; also the ≤1.17 `+`/`-` prefixed forms). A
   * JSON object from some API is `json` but not an envelope.
   */
  envelope: boolean;
  /**
   * A short printable excerpt (≤ 80 chars) for messages: an HTML page's
   * `<title>` (else its first text), the first line of text, or the first
   * bytes in hex.
   */
  excerpt: string;
}

const MAX_EXCERPT = 80;
/** Full parses (to check the envelope shape) only below this size; larger input is judged by its prefix. */
const MAX_PARSE = 64 * 1024;

let utf8: TextDecoder | undefined;

/** Sniff a frame or body. Text may arrive as bytes (binary packers read Ajax bodies as bytes). */
export function sniffFrame(data: string | Uint8Array): Sniffed {
  return typeof data === "string" ? sniffString(data) : sniffBytes(data);
}

/** The wire format a packer (by its `packerByName` name) reads and writes; undefined for unknown names. */
export function packerWireFormat(packerName: string): WireFormat | undefined {
  switch (packerName) {
    case "edn":
    case "transit":
    case "json":
    case "msgpack":
    case "gzip+edn":
    case "gzip+transit":
    case "gzip+json":
    case "gzip+msgpack":
      return packerName;
    case "transit-verbose":
      // Transit readers read both transit-json forms.
      return "transit";
    default:
      return undefined;
  }
}

/**
 * Can a packer of wire format `expected` read what was sniffed? `"gzip"`
 * (compressed, inner unknown) is taken as readable by every `gzip+…`.
 * False for non-packer formats (`html`, `text`, …).
 */
export function readsFormat(expected: WireFormat, sniffed: SniffedFormat): boolean {
  if (sniffed === "gzip") return expected.startsWith("gzip+");
  return sniffed === expected;
}

/** True for the formats some packer writes (including `"gzip"`). */
export const isWireFormat = (f: SniffedFormat): f is WireFormat | "gzip" => f !== "html" && f !== "text" && f !== "binary" && f !== "empty";

// ---------------------------------------------------------------------------
// Bytes

function sniffBytes(b: Uint8Array): Sniffed {
  if (b.byteLength === 0) return { format: "empty", envelope: false, excerpt: "" };
  const b0 = b[0]!;
  // Sente's gzip wrapper: a flag byte, then the inner packer's bytes (00) or gzip (01 1f 8b).
  if (b0 === 0x00 && b.byteLength > 1) {
    const inner = sniffBytes(b.subarray(1));
    if (inner.format === "edn" || inner.format === "transit" || inner.format === "json" || inner.format === "msgpack") {
      return { ...inner, format: `gzip+${inner.format}` };
    }
    return binary(b);
  }
  if (b0 === 0x01 && b[1] === 0x1f && b[2] === 0x8b) return { format: "gzip", envelope: true, excerpt: hex(b) };
  // msgpack arrays: fixarray 0x90-0x9f, array16 0xdc, array32 0xdd. Every Sente message is one.
  // None of these bytes can start UTF-8 text, so text is never mistaken for msgpack.
  if ((b0 >= 0x90 && b0 <= 0x9f) || b0 === 0xdc || b0 === 0xdd) {
    return { format: "msgpack", envelope: b0 === 0x91 || b0 === 0x92, excerpt: hex(b) };
  }
  const text = decodeUtf8(b);
  return text === undefined ? binary(b) : sniffText(text);
}

function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    // A prefix may end inside a multi-byte character: `stream` keeps that from failing.
    if (b.byteLength > MAX_PARSE) return new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(0, MAX_PARSE), { stream: true });
    return (utf8 ??= new TextDecoder("utf-8", { fatal: true })).decode(b);
  } catch {
    return undefined;
  }
}

const binary = (b: Uint8Array): Sniffed => ({ format: "binary", envelope: false, excerpt: hex(b) });

function hex(b: Uint8Array): string {
  const n = Math.min(b.byteLength, 16);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? " " : "") + b[i]!.toString(16).padStart(2, "0");
  return b.byteLength > n ? `${s} …` : s;
}

// ---------------------------------------------------------------------------
// Text

/**
 * A string may be binary read as text (an Ajax body read with a text packer):
 * invalid UTF-8 then shows as U+FFFD, and the gzip flag bytes as U+0000/U+0001.
 */
function sniffString(s: string): Sniffed {
  const c0 = s.charCodeAt(0);
  if (c0 === 0x00 && s.length > 1) {
    const inner = sniffString(s.slice(1));
    if (inner.format === "edn" || inner.format === "transit" || inner.format === "json" || inner.format === "msgpack") {
      return { ...inner, format: `gzip+${inner.format}` };
    }
    return { format: "binary", envelope: false, excerpt: printable(s) };
  }
  if (c0 === 0x01 && s.charCodeAt(1) === 0x1f) return { format: "gzip", envelope: true, excerpt: printable(s) };
  if (c0 === 0xfffd) {
    // msgpack array headers are not UTF-8; a keyword's text (ext 0) survives the decoding.
    const head = s.slice(0, 48);
    return /chsk\/|[a-z]\/[a-z]/.test(head) ? { format: "msgpack", envelope: true, excerpt: printable(s) } : { format: "binary", envelope: false, excerpt: printable(s) };
  }
  return sniffText(s);
}

const TRANSIT_MARK = /"(?:~[:#$'?_a-zA-Z~^`]|\^ ")/;
const EDN_HEAD = /^\[\s*(?:\[\s*)*:[^\s,[\]{}()"]/;
const TRANSIT_HEAD = /^\[\s*(?:\[\s*)*"(?:~[:#$'?_a-zA-Z~^`]|\^ ")/;

function sniffText(raw: string): Sniffed {
  let t = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  t = t.trimStart();
  if (t.length === 0) return { format: "empty", envelope: false, excerpt: "" };
  if (t[0] === "<") return { format: "html", envelope: false, excerpt: htmlExcerpt(t) };
  // Sente ≤ 1.17 prefixed every message with `+` (wrapped) or `-` (unwrapped).
  const legacy = (t[0] === "+" || t[0] === "-") && (t[1] === "[" || t[1] === ":");
  const body = legacy ? t.slice(1) : t;
  const excerpt = printable(t);

  if (TRANSIT_HEAD.test(body)) return { format: "transit", envelope: legacy || isEnvelope(parseJson(body)), excerpt };
  if (EDN_HEAD.test(body)) return { format: "edn", envelope: legacy || isEnvelope(parseEdn(body)), excerpt };

  const json = parseJson(body);
  if (json !== NOT_PARSED) {
    const format = TRANSIT_MARK.test(body) ? "transit" : "json";
    return { format, envelope: legacy || isEnvelope(json), excerpt };
  }
  // EDN's own openers; bare words ("Not Found", "Unauthorized") read as symbols but are text.
  if (/^[[({#:\\"]/.test(body)) {
    const edn = parseEdn(body);
    if (edn !== NOT_PARSED) return { format: "edn", envelope: legacy || isEnvelope(edn), excerpt };
    // Too large to parse, or cut short (an HTTP body's first KiB): judge by tokens.
    if (body[0] === "[") {
      const head = body.slice(0, 512);
      if (TRANSIT_MARK.test(head)) return { format: "transit", envelope: false, excerpt };
      if (/(?:^|[\s[{(])(?:nil|:[a-zA-Z])/.test(head)) return { format: "edn", envelope: false, excerpt };
    }
  }
  return { format: "text", envelope: false, excerpt };
}

const NOT_PARSED = Symbol("not parsed");

function parseJson(t: string): unknown {
  if (t.length > MAX_PARSE) return NOT_PARSED;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return NOT_PARSED;
  }
}

function parseEdn(t: string): unknown {
  if (t.length > MAX_PARSE) return NOT_PARSED;
  const r = readEdn(t, { maxDepth: 64, maxBytes: MAX_PARSE * 3 });
  return r.ok ? r.value : NOT_PARSED;
}

const isEnvelope = (v: unknown): boolean => Array.isArray(v) && v.length >= 1 && v.length <= 2;

/** First line, whitespace collapsed, control characters shown as `�`, at most 80 chars. */
function printable(s: string): string {
  const line = s.trimStart().split(/\r?\n/, 1)[0] ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "\ufffd").replace(/\s+/g, " ").trim();
  return clean.length > MAX_EXCERPT ? `${clean.slice(0, MAX_EXCERPT - 1)}…` : clean;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** A page's `<title>`, else its first `<h1>`, else its first text. */
function htmlExcerpt(html: string): string {
  const pick = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const text = (pick ?? html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ").replace(/<!--[\s\S]*?-->/g, " "))
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
      if (e[0] !== "#") return ENTITIES[e.toLowerCase()] ?? m;
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : m;
    });
  const clean = text.replace(/\s+/g, " ").trim();
  return clean.length > MAX_EXCERPT ? `${clean.slice(0, MAX_EXCERPT - 1)}…` : clean;
}
