/**
 * The Ajax transport (protocol.md §1.3, §1.5, §4, §5.4): a long-poll loop
 * per connection attempt ({@link AjaxPoller}) and one POST per send
 * ({@link ajaxPost}). Requests go through an injected `fetch`.
 *
 * Poll loop: `GET ?<params>&udt=…&client-id=…[&handshake%3F=1]` (the flag
 * while the client is not open). A handshake is handled and re-polled at
 * once, `:chsk/timeout` re-polls, a push batch is delivered and re-polled.
 * The client-side request timeout (60 s) re-polls immediately; any other
 * failure (network, non-200, empty or unreadable body) ends the attempt as
 * closed/"unexpected", and the state machine retries with backoff.
 */
import type { Clock } from "../clock.js";
import type { DecodeLimits, Packer } from "../packers/types.js";
import { decodeServerMessage } from "../protocol/codec.js";
import { packerMismatch } from "./first-frame.js";
import { ChskError } from "../protocol/errors.js";
import type { ChskEvent } from "../protocol/events.js";
import type { ConnInput } from "./conn-machine.js";
import { describeIn, newConnId } from "./tap-frame.js";
import type { ClientTapEvent, ReplyCallback } from "./types.js";
import { appendQuery } from "./url.js";

export interface AjaxHost {
  readonly packer: Packer;
  readonly clock: Clock;
  readonly limits: DecodeLimits | undefined;
  readonly fetch: typeof fetch;
  /** Client-side timeout of long-polls (and of POSTs that want no reply). */
  readonly ajaxTimeoutMs: number;
  readonly credentials: RequestCredentials | undefined;
  /** `http(s)://host/path[?query]` */
  readonly ajaxUrl: string;
  /** `encodeURIComponent(clientId)` */
  readonly encodedClientId: string;
  isOpen(): boolean;
  isCurrent(conn: number): boolean;
  /** The poll URL with fresh `udt`, and `handshake%3F=1` if asked. */
  pollUrl(handshake: boolean): string;
  /** Headers for one request (re-reads a csrf token function). */
  headers(contentType: string | undefined): Record<string, string>;
  dispatch(input: ConnInput): void;
  readonly clientId: string;
  /** Is anything tapping? Tap events (and exchange ids) are made only then. */
  tapping(): boolean;
  /** Does a tap listener want frame events (`frame:in` / `frame:out`)? They are built only then. */
  tappingFrames(): boolean;
  /** Counts a frame for {@link Client.traffic}. */
  count(dir: "in" | "out", data: string | Uint8Array): void;
  emitTap(event: ClientTapEvent): void;
  /** Report a problem on the tap (and optionally on `state.lastError`); `connId`: the exchange. */
  report(error: ChskError, record: boolean, connId?: string): void;
  deliver(events: ChskEvent[], bad: unknown[]): void;
}

export type HttpOutcome =
  /** `contentType` only for non-200 answers (to say what a refusal was). */
  | { ok: true; status: number; body: string | Uint8Array; contentType?: string }
  | { ok: false; reason: "timeout" | "aborted" | "network"; error?: unknown };

let utf8: TextDecoder | undefined;
const bodyText = (b: string | Uint8Array): string => (typeof b === "string" ? b : (utf8 ??= new TextDecoder()).decode(b));

/** One request with a Clock-driven timeout. Never throws. */
export async function httpCall(
  fetchFn: typeof fetch,
  clock: Clock,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  binary: boolean,
  ctrl: AbortController = new AbortController(),
): Promise<HttpOutcome> {
  let timedOut = false;
  const cancel = clock.setTimer(timeoutMs, () => {
    timedOut = true;
    ctrl.abort();
  });
  init.signal = ctrl.signal;
  try {
    const res = await fetchFn(url, init);
    // Read refusals as text whatever the packer, so they can be shown.
    const body = binary && res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : await res.text();
    if (res.status === 200) return { ok: true, status: res.status, body };
    const contentType = res.headers?.get?.("content-type");
    return contentType ? { ok: true, status: res.status, body, contentType } : { ok: true, status: res.status, body };
  } catch (error) {
    if (timedOut) return { ok: false, reason: "timeout" };
    if (ctrl.signal.aborted) return { ok: false, reason: "aborted" };
    return { ok: false, reason: "network", error };
  } finally {
    cancel();
  }
}

const isEmpty = (b: string | Uint8Array) => (typeof b === "string" ? b.length === 0 : b.byteLength === 0);

/**
 * The error a non-200 answer is reported with: `HTTP 403 Bad CSRF token`.
 * `detail` has `status`, `body` (its first KiB), `transport`, and
 * `contentType` when the answer had one.
 */
export function httpStatusError(status: number, body: string | Uint8Array, transport: "ajax" | "ws", contentType?: string): ChskError {
  const text = bodyText(body).slice(0, 1024);
  return new ChskError("CHSK_ERR_HTTP_STATUS", `HTTP ${status}${text ? " " + text : ""}`, {
    status,
    detail: contentType ? { status, body: text, transport, contentType } : { status, body: text, transport },
  });
}

const networkError = (what: string, error: unknown) =>
  new ChskError("CHSK_ERR_TRANSPORT", `${what} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });

/** The long-poll loop of one connection attempt. */
export class AjaxPoller {
  readonly conn: number;
  /** The tap id of the latest poll exchange (while tapping), for `conn:open` / `conn:close`. */
  connId: string | undefined;
  readonly #host: AjaxHost;
  #stopped = false;
  #ctrl: AbortController | null = null;

  constructor(host: AjaxHost, conn: number) {
    this.#host = host;
    this.conn = conn;
  }

  start(): void {
    void this.#loop();
  }

  /** Abort the poll in flight; the loop reports nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#ctrl?.abort();
    this.#ctrl = null;
  }

  #live(): boolean {
    return !this.#stopped && this.#host.isCurrent(this.conn);
  }

  #fail(error: ChskError, record: boolean, connId: string | undefined): void {
    this.#stopped = true;
    this.#host.report(error, record, connId);
    this.#host.dispatch({ type: "closed", conn: this.conn, reason: "unexpected" });
  }

  async #loop(): Promise<void> {
    const host = this.#host;
    const binary = host.packer.binary;
    while (this.#live()) {
      const handshake = !host.isOpen();
      const url = host.pollUrl(handshake);
      const ctrl = (this.#ctrl = new AbortController());
      const init: RequestInit = { method: "GET", headers: host.headers(undefined) };
      if (host.credentials !== undefined) init.credentials = host.credentials;
      let connId = (this.connId = host.tapping() ? newConnId("get") : undefined);
      const out = await httpCall(host.fetch, host.clock, url, init, host.ajaxTimeoutMs, binary, ctrl);
      if (this.#ctrl === ctrl) this.#ctrl = null;
      if (!this.#live()) return;
      // A tap added while the poll was out still sees its answer.
      if (connId === undefined && host.tapping()) connId = newConnId("get");
      this.connId = connId;
      if (!out.ok) {
        if (out.reason === "timeout") continue; // Sente: (poll-fn 0), no backoff
        if (out.reason === "aborted") return;
        this.#fail(networkError("Ajax poll", out.error), true, connId);
        return;
      }
      if (out.status !== 200) {
        this.#fail(httpStatusError(out.status, out.body, "ajax", out.contentType), true, connId);
        return;
      }
      if (isEmpty(out.body)) {
        this.#fail(new ChskError("CHSK_ERR_TRANSPORT", "Ajax poll: empty response body"), true, connId);
        return;
      }
      host.count("in", out.body);
      const r = decodeServerMessage(host.packer, out.body, "poll", host.limits);
      if (connId !== undefined && host.tappingFrames()) {
        const d = describeIn(r, "poll");
        const ev: Extract<ClientTapEvent, { type: "frame:in" }> = {
          type: "frame:in",
          transport: "ajax",
          channel: "poll",
          connId,
          clientId: host.clientId,
          data: out.body,
          at: host.clock.now(),
          kind: d.kind,
          status: out.status,
        };
        if (d.eventId !== undefined) ev.eventId = d.eventId;
        if (handshake) ev.handshake = true;
        host.emitTap(ev);
      }
      if (!host.isOpen() && (!r.ok || r.value.kind !== "handshake")) {
        const mismatch = packerMismatch(host.packer, out.body);
        if (mismatch !== null) {
          this.#fail(mismatch, true, connId);
          return;
        }
      }
      if (!r.ok) {
        this.#fail(r.error, true, connId);
        return;
      }
      const m = r.value;
      if (m.kind === "handshake") {
        host.dispatch({ type: "handshake", conn: this.conn, uid: m.uid, handshakeData: m.handshakeData });
      } else if (m.kind === "push") {
        host.deliver(m.events, m.bad);
      }
      // "timeout" (and anything else): just re-poll.
    }
  }
}

/**
 * One Ajax send. Text packers: form body `udt=…&client-id=…&ppstr=…`;
 * binary packers: the bytes, with `udt`, `client-id` and `binary%3F=true`
 * in the query. `cb` (if any) gets the reply or CHSK_ERR_TIMEOUT /
 * CHSK_ERR_TRANSPORT / CHSK_ERR_CLOSED (aborted by `close()`).
 * `eventId` and `cbId` (`"ajax"` or null, as packed) describe it on the tap.
 */
export async function ajaxPost(
  host: AjaxHost,
  frame: string | Uint8Array,
  timeoutMs: number,
  cb: ReplyCallback | null,
  inflight: Set<AbortController>,
  eventId: string,
  cbId: string | null,
): Promise<void> {
  const now = host.clock.now();
  let url = host.ajaxUrl;
  let body: string | Uint8Array;
  let contentType: string;
  if (typeof frame === "string") {
    body = `udt=${now}&client-id=${host.encodedClientId}&ppstr=${encodeURIComponent(frame)}`;
    contentType = "application/x-www-form-urlencoded;charset=UTF-8";
  } else {
    url = appendQuery(url, `udt=${now}&client-id=${host.encodedClientId}&binary%3F=true`);
    body = frame;
    contentType = "application/octet-stream";
  }
  const init: RequestInit = { method: "POST", headers: host.headers(contentType), body: body as BodyInit };
  if (host.credentials !== undefined) init.credentials = host.credentials;
  const ctrl = new AbortController();
  inflight.add(ctrl);
  let connId: string | undefined;
  host.count("out", frame);
  if (host.tapping()) {
    connId = newConnId("post");
    if (host.tappingFrames()) host.emitTap({ type: "frame:out", transport: "ajax", channel: "post", connId, clientId: host.clientId, data: frame, at: now, kind: "event", eventId, cbId });
  }
  const out = await httpCall(host.fetch, host.clock, url, init, timeoutMs, host.packer.binary, ctrl);
  inflight.delete(ctrl);
  if (connId === undefined && host.tapping()) connId = newConnId("post");

  let error: ChskError | null = null;
  let reply: unknown;
  if (!out.ok) {
    if (out.reason === "timeout") error = new ChskError("CHSK_ERR_TIMEOUT", `No reply within ${timeoutMs} ms`);
    else if (out.reason === "aborted") error = new ChskError("CHSK_ERR_CLOSED", "Client closed");
    else {
      error = networkError("Ajax POST", out.error);
      host.report(error, true, connId);
    }
  } else if (out.status !== 200) {
    const refusal = httpStatusError(out.status, out.body, "ajax", out.contentType);
    host.report(refusal, true, connId);
    error = new ChskError("CHSK_ERR_TRANSPORT", refusal.message, { status: out.status, detail: refusal.detail!, cause: refusal });
  } else if (isEmpty(out.body)) {
    error = new ChskError("CHSK_ERR_TRANSPORT", "Ajax POST: empty response body");
    host.report(error, false, connId);
  } else {
    host.count("in", out.body);
    const r = decodeServerMessage(host.packer, out.body, "post", host.limits);
    if (connId !== undefined && host.tappingFrames()) {
      const d = describeIn(r, "post-reply");
      const at = host.clock.now();
      const ev: Extract<ClientTapEvent, { type: "frame:in" }> = {
        type: "frame:in",
        transport: "ajax",
        channel: "post-reply",
        connId,
        clientId: host.clientId,
        data: out.body,
        at,
        kind: d.kind,
        status: out.status,
      };
      if (d.eventId !== undefined) ev.eventId = d.eventId;
      if (d.cbId !== undefined) ev.cbId = d.cbId;
      if (d.kind === "reply") ev.latencyMs = at - now;
      host.emitTap(ev);
    }
    if (!r.ok) {
      host.report(r.error, false, connId);
      error = new ChskError("CHSK_ERR_TRANSPORT", `Ajax POST: unreadable reply (${r.error.message})`, { cause: r.error });
    } else {
      const m = r.value;
      if (m.kind === "value") reply = m.value;
      else if (m.kind === "timeout") error = new ChskError("CHSK_ERR_TIMEOUT", "The server gave up waiting for a reply (:chsk/timeout)");
      else reply = null; // "accepted" (:chsk/dummy-cb-200)
    }
  }
  if (cb === null) return;
  try {
    if (error === null) cb(null, reply);
    else cb(error);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}
