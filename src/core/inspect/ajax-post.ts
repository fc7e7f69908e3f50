/**
 * Reading Sente's Ajax requests (protocol.md §1.3): the packed message of
 * a POST, and what a GET's or POST's query says. The server reads every
 * POST through {@link readAjaxPost}; the inspector's proxy reads the same
 * bytes the same way, so both agree on what a client sent.
 *
 * | request | where the message is |
 * |---|---|
 * | POST, text packers | form field `ppstr` (`application/x-www-form-urlencoded`); Ring merges form params over query params |
 * | POST, binary packers | the raw body, flagged by `binary?` in the **query** |
 */
import { emptyParams, parseParams } from "./parse-params.js";

/** What an Ajax request's query says (GET long-polls and handshakes, POSTs). */
export interface AjaxQuery {
  /** The `client-id` param, when present and not blank. */
  clientId?: string;
  /** `handshake?` is present: Sente checks presence only, so `handshake?=false` counts. */
  handshake: boolean;
  /** `binary?` is present: a POST whose raw body is the packed message. */
  binary: boolean;
  /** The `udt` cache buster (ms), when a number. */
  udt?: number;
  /** The `csrf-token` param (WS upgrades, ≤1.20 POST forms). */
  csrfToken?: string;
}

/** The packed message a POST carried. */
export interface AjaxPost {
  /** The packed envelope: `ppstr` text, or the raw body (bytes when given bytes) of a `binary?` POST. */
  packed: string | Uint8Array;
  /** `client-id`, form over query, when present and not blank. */
  clientId?: string;
  /** The message came as a raw `binary?` body rather than a form field. */
  binary: boolean;
  /** The form fields read from the body (empty for a `binary?` POST). */
  form: Record<string, string>;
}

/** Why no message could be read. */
export interface AjaxPostError {
  error: string;
  /** The form fields read, if any (the server still hands them to its hooks). */
  form?: Record<string, string>;
}

let utf8: TextDecoder | undefined;

/** The query part of `s`: `?a=1`, `a=1`, `/chsk?a=1` and `http://h/chsk?a=1#x` all give `a=1`. */
function queryOf(s: string): string {
  const hash = s.indexOf("#");
  if (hash !== -1) s = s.slice(0, hash);
  if (s.charCodeAt(0) === 0x3f /* ? */) return s.slice(1);
  // A bare query may hold a literal `?` in a value; only a path or URL is split at the first one.
  if (s.charCodeAt(0) === 0x2f /* / */ || s.indexOf("://") !== -1) {
    const q = s.indexOf("?");
    return q === -1 ? "" : s.slice(q + 1);
  }
  return s;
}

const paramsOf = (query: string | Readonly<Record<string, string>>): Readonly<Record<string, string>> =>
  typeof query === "string" ? parseParams(queryOf(query)) : query;

const nonBlank = (s: string | undefined): string | undefined => (s === undefined || s.trim() === "" ? undefined : s);

/**
 * What an Ajax request's URL says. `url` is a URL, a path with a query, or
 * a query string (with or without its `?`). Total: any input gives an answer.
 */
export function readAjaxQuery(url: string): AjaxQuery {
  const p = parseParams(queryOf(url));
  const out: AjaxQuery = { handshake: "handshake?" in p, binary: "binary?" in p };
  const clientId = nonBlank(p["client-id"]);
  if (clientId !== undefined) out.clientId = clientId;
  const udt = p["udt"];
  if (udt !== undefined && /^\d{1,16}$/.test(udt)) out.udt = Number(udt);
  const csrf = p["csrf-token"];
  if (csrf !== undefined) out.csrfToken = csrf;
  return out;
}

const isForm = (contentType: string): boolean => /^\s*application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType);

/**
 * The packed message of a Sente Ajax POST, as Sente's `ajax-post-fn` reads
 * it: with `binary?` in the query the raw body, else the `ppstr` param
 * (form over query, as Ring merges them).
 *
 * `contentType` follows Ring: a body is read as a form only when it says
 * `application/x-www-form-urlencoded`; `undefined` reads any body as a
 * form (what chsk's server does, whatever the header). `query` is the
 * request's URL or query string, or its already-parsed params.
 *
 * Never throws: a POST without a message gives `{ error }`.
 *
 * @example
 * readAjaxPost("udt=1&client-id=c1&ppstr=%5B%5B%3Amy%2Fev%201%5D%20%3Aajax%5D", "application/x-www-form-urlencoded", "")
 * // { packed: "[[:my/ev 1] :ajax]", clientId: "c1", binary: false, form: {…} }
 */
export function readAjaxPost(
  body: string | Uint8Array,
  contentType: string | undefined,
  query: string | Readonly<Record<string, string>>,
): AjaxPost | AjaxPostError {
  const q = paramsOf(query);
  if ("binary?" in q) {
    const out: AjaxPost = { packed: body, binary: true, form: emptyParams() };
    const clientId = nonBlank(q["client-id"]);
    if (clientId !== undefined) out.clientId = clientId;
    return out;
  }
  let form: Record<string, string>;
  if (contentType === undefined || isForm(contentType)) {
    const text = typeof body === "string" ? body : (utf8 ??= new TextDecoder()).decode(body);
    form = parseParams(text);
  } else form = emptyParams();
  const packed = form["ppstr"] ?? q["ppstr"];
  if (packed === undefined) {
    const why =
      contentType !== undefined && !isForm(contentType)
        ? `POST body of type ${JSON.stringify(contentType)} without binary? in the query: no ppstr param`
        : "POST without a ppstr form field";
    return { error: why, form };
  }
  const out: AjaxPost = { packed, binary: false, form };
  const clientId = nonBlank(form["client-id"] ?? q["client-id"]);
  if (clientId !== undefined) out.clientId = clientId;
  return out;
}
