/**
 * `--har-out FILE.har`: a session as HAR 1.2, for Chrome DevTools' import
 * and HAR viewers. Built from the decoded records when the session ends
 * (a record's pairing and flags are final by then):
 *
 * - one entry per WebSocket (status 101, `_resourceType: "websocket"`)
 *   whose frames are Chrome's `_webSocketMessages` (`send` / `receive`,
 *   opcode 1 text, 2 binary as base64, `time` in epoch seconds);
 * - one entry per Ajax exchange: a long-poll GET and its answer, a POST
 *   (the packed message as the `ppstr` form field, or a base64 body with
 *   `binary?`) and its answer; a refused request with its status and body;
 * - chsk's decoding in `_chsk*` fields, where HAR has no place for it:
 *   on each message, on `request` (what a POST sent) and on `response`
 *   (what the answer said): `_chskSeq`, `_chskKind`, `_chskEventId`,
 *   `_chskCbId`, `_chskLatencyMs`, `_chskPair`, `_chskFlags`, `_chskUid`,
 *   `_chskData` (EDN), `_chskEvents`, `_chskPacker`, `_chskEnvelope`,
 *   `_chskError`; on entries `_chskConn` (the logical connection) and
 *   `_chskExchange`; opens and closes in `log._chskLifecycle`; and
 *   `log._chsk: { version: 1, path }` marking a chsk export.
 *
 * `--har FILE.har` reads such a file back into the same wire events, so a
 * session exported and imported decodes to the same records.
 *
 * The writer keeps every record until `close()` (HAR is one JSON
 * document): `maxRecords` bounds that.
 */
import { writeFileSync } from "node:fs";
import { ChskError, type FrameRecord } from "../../core/index.js";
import { ExchangeIds } from "./exchange-ids.js";
import type { Har, HarChskLifecycle, HarEntry, HarNameValue, HarWebSocketMessage } from "./har-format.js";
import type { RecordWriter } from "./record-writer.js";

export interface HarExportOptions {
  /**
   * The channel's URL, for the entries' URLs (`ws://` for sockets); the
   * query of each request is rebuilt from what the records say.
   * @default "http://localhost/chsk"
   */
  url?: string;
  /** `log.creator.version`. @default "0" */
  creatorVersion?: string;
}

export interface HarWriterOptions extends HarExportOptions {
  /** Records kept for the export; later ones are counted in `dropped` and left out. @default 1_000_000 */
  maxRecords?: number;
  /** Called with a `CHSK_ERR_FILE` error when the file cannot be written. @default none */
  onError?: (error: ChskError) => void;
}

const EMPTY_TIMINGS = { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 0, receive: 0 };

/** What HAR has no field for, on a message, request or response. */
function chskFields(r: FrameRecord): Record<`_chsk${string}`, unknown> {
  const o: Record<`_chsk${string}`, unknown> = { _chskSeq: r.seq, _chskKind: r.kind };
  if (r.eventId !== undefined) o._chskEventId = r.eventId;
  if (r.cbId !== undefined && r.cbId !== null) o._chskCbId = r.cbId;
  if (r.latencyMs !== undefined) o._chskLatencyMs = r.latencyMs;
  if (r.pair !== undefined) o._chskPair = r.pair;
  if (r.flags !== undefined && r.flags.length > 0) o._chskFlags = r.flags;
  if (r.uid !== undefined) o._chskUid = r.uid;
  if (r.data !== undefined) o._chskData = r.data;
  if (r.events !== undefined) o._chskEvents = r.events;
  if (r.packer !== undefined) o._chskPacker = r.packer;
  if (r.envelope !== undefined) o._chskEnvelope = r.envelope;
  if (r.error !== undefined) o._chskError = r.error;
  return o;
}

const query = (pairs: [string, string][]): HarNameValue[] => pairs.map(([name, value]) => ({ name, value }));

const seconds = (ts: string): number => Date.parse(ts) / 1000;

/** `ms` between two ISO times, never negative. */
const between = (from: string, to: string): number => Math.max(0, Date.parse(to) - Date.parse(from));

function content(r: FrameRecord): { size: number; mimeType: string; text: string; encoding?: string } {
  return r.binary
    ? { size: r.bytes, mimeType: "application/octet-stream", text: r.raw, encoding: "base64" }
    : { size: r.bytes, mimeType: "text/plain; charset=utf-8", text: r.raw };
}

/** Builds the HAR document; see the module comment. */
export class HarBuilder {
  readonly #base: URL;
  readonly #path: string;
  readonly #creatorVersion: string;
  readonly #ids = new ExchangeIds();
  readonly #entries: HarEntry[] = [];
  readonly #sockets = new Map<string, HarEntry>();
  /** Ajax requests awaiting their answer, by exchange id. */
  readonly #open = new Map<string, HarEntry>();
  readonly #lifecycle: HarChskLifecycle[] = [];
  /** Per Ajax client: the URL its first request had (from its `open`). */
  readonly #ajaxUrl = new Map<string, string>();
  /** Per Ajax logical connection: when its last poll was answered (a new poll starts then). */
  readonly #lastPoll = new Map<string, string>();

  constructor(options: HarExportOptions = {}) {
    this.#base = new URL(options.url ?? "http://localhost/chsk");
    this.#path = this.#base.pathname;
    this.#creatorVersion = options.creatorVersion ?? "0";
  }

  add(r: FrameRecord): void {
    if (r.kind === "open" || r.kind === "close") return this.#addLifecycle(r);
    if (r.transport === "ws") return r.kind === "refused" ? this.#addRefusedSocket(r) : this.#addWsFrame(r);
    return this.#addAjax(r);
  }

  #url(protocol: "http" | "ws", pathAndQuery: string | undefined, params: [string, string][]): URL {
    const u = new URL(pathAndQuery ?? this.#path, this.#base);
    for (const [k, v] of params) if (!u.searchParams.has(k)) u.searchParams.set(k, v);
    if (protocol === "ws") u.protocol = this.#base.protocol === "https:" ? "wss:" : "ws:";
    return u;
  }

  #entry(started: string, method: string, url: URL, extra: Partial<HarEntry>): HarEntry {
    const e: HarEntry = {
      startedDateTime: started,
      time: 0,
      request: {
        method,
        url: url.href,
        httpVersion: "HTTP/1.1",
        headers: [],
        queryString: query([...url.searchParams]),
        cookies: [],
        headersSize: -1,
        bodySize: 0,
      },
      response: {
        status: 0,
        statusText: "",
        httpVersion: "HTTP/1.1",
        headers: [],
        cookies: [],
        content: { size: 0, mimeType: "x-unknown" },
        redirectURL: "",
        headersSize: -1,
        bodySize: -1,
        _error: "no answer recorded",
      },
      cache: {},
      timings: { ...EMPTY_TIMINGS },
      ...extra,
    };
    this.#entries.push(e);
    return e;
  }

  #addLifecycle(r: FrameRecord): void {
    const l: HarChskLifecycle = { seq: r.seq, ts: r.ts, kind: r.kind as "open" | "close", transport: r.transport, conn: r.conn, clientId: r.clientId };
    if (r.exchange !== undefined) l.exchange = r.exchange;
    if (r.uid !== undefined) l.uid = r.uid;
    if (r.url !== undefined) l.url = r.url;
    if (r.kind === "close") {
      if (r.status !== undefined) l.code = r.status;
      if (r.error?.message) l.reason = r.error.message;
      l.dir = r.dir;
    }
    this.#lifecycle.push(l);
    if (r.kind !== "open") return;
    if (r.transport === "ws") this.#socket(r);
    else if (r.clientId !== null && r.url !== undefined) this.#ajaxUrl.set(r.clientId, r.url);
  }

  #socket(r: FrameRecord): HarEntry {
    let e = this.#sockets.get(r.conn);
    if (e !== undefined) return e;
    const url = this.#url("ws", r.url, r.clientId === null ? [] : [["client-id", r.clientId]]);
    e = this.#entry(r.ts, "GET", url, { _resourceType: "websocket", _webSocketMessages: [], _chskConn: r.conn });
    Object.assign(e.response!, { status: 101, statusText: "Switching Protocols", _error: null });
    delete e.response!._error;
    this.#sockets.set(r.conn, e);
    return e;
  }

  #addWsFrame(r: FrameRecord): void {
    const m: HarWebSocketMessage = { type: r.dir === "c2s" ? "send" : "receive", time: seconds(r.ts), opcode: r.binary ? 2 : 1, data: r.raw, ...chskFields(r) };
    this.#socket(r)._webSocketMessages!.push(m);
  }

  #addRefusedSocket(r: FrameRecord): void {
    const url = this.#url("ws", undefined, r.clientId === null ? [] : [["client-id", r.clientId]]);
    const e = this.#entry(r.requestTs ?? r.ts, "GET", url, { _resourceType: "websocket", _chskConn: r.conn });
    this.#answer(e, r);
  }

  /** Fills an entry's response from an answer record (a poll, a post-reply, a refusal). */
  #answer(e: HarEntry, r: FrameRecord): void {
    const status = r.status ?? (r.kind === "refused" ? 0 : 200);
    const res = e.response!;
    delete res._error;
    Object.assign(res, {
      status,
      statusText: status === 200 ? "OK" : "",
      content: content(r),
      bodySize: r.bytes,
      ...chskFields(r),
    });
    const time = between(e.startedDateTime!, r.ts);
    e.time = time;
    e.timings = { ...EMPTY_TIMINGS, wait: time };
  }

  #addAjax(r: FrameRecord): void {
    const id = this.#ids.idOf(r);
    const cid: [string, string][] = r.clientId === null ? [] : [["client-id", r.clientId]];
    const common = { _resourceType: "xhr", _chskConn: r.conn, _chskExchange: id };
    if (r.dir === "c2s") {
      // A POST: the packed message as Sente's client sends it.
      const url = this.#url("http", undefined, r.binary ? [...cid, ["binary?", "true"]] : cid);
      const e = this.#entry(r.ts, "POST", url, common);
      const req = e.request!;
      if (r.binary) {
        req.postData = { mimeType: "application/octet-stream", text: r.raw, encoding: "base64" };
      } else {
        const form = new URLSearchParams([...cid, ["ppstr", r.raw]]);
        req.postData = { mimeType: "application/x-www-form-urlencoded", text: form.toString(), params: query([...form]) };
      }
      req.bodySize = r.bytes;
      Object.assign(req, chskFields(r));
      this.#open.set(id, e);
      return;
    }
    const pending = this.#open.get(id);
    if (pending !== undefined) {
      this.#open.delete(id);
      return this.#answer(pending, r);
    }
    if (r.channel === "post-reply") {
      // Its POST is not in the session (recorded from the middle): an entry without a body.
      const e = this.#entry(r.requestTs ?? r.ts, "POST", this.#url("http", undefined, cid), common);
      return this.#answer(e, r);
    }
    // A long-poll: a GET whose start is its request's time, else when the previous poll was answered.
    const first = r.clientId === null ? undefined : this.#ajaxUrl.get(r.clientId);
    const handshake = r.kind === "handshake";
    const pathAndQuery = handshake && first !== undefined ? first : undefined;
    const url = this.#url("http", pathAndQuery, handshake ? [...cid, ["handshake?", "true"]] : cid);
    const started = r.requestTs ?? this.#lastPoll.get(r.conn) ?? r.ts;
    if (r.kind !== "refused") this.#lastPoll.set(r.conn, r.ts);
    this.#answer(this.#entry(started, "GET", url, common), r);
  }

  build(): Har {
    const entries = [...this.#entries].sort((a, b) => Date.parse(a.startedDateTime!) - Date.parse(b.startedDateTime!));
    return {
      log: {
        version: "1.2",
        creator: { name: "chsk inspect", version: this.#creatorVersion },
        pages: [],
        entries,
        _chsk: { version: 1, path: this.#path },
        _chskLifecycle: this.#lifecycle,
      },
    };
  }
}

/** The HAR of a finished session's records (tests, tools). */
export function recordsToHar(records: Iterable<FrameRecord>, options: HarExportOptions = {}): Har {
  const b = new HarBuilder(options);
  for (const r of records) b.add(r);
  return b.build();
}

/**
 * A {@link RecordWriter} that writes `file` on `close()` (synchronously, so
 * a SIGTERM handler that awaits it leaves a complete file).
 */
export function createHarWriter(file: string, options: HarWriterOptions = {}): RecordWriter & { readonly dropped: number } {
  const max = options.maxRecords ?? 1_000_000;
  const records: FrameRecord[] = [];
  let dropped = 0;
  let closed = false;
  return {
    get dropped() {
      return dropped;
    },
    write(r) {
      if (closed) return;
      if (records.length >= max) dropped++;
      else records.push(r);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      try {
        writeFileSync(file, `${JSON.stringify(recordsToHar(records, options), null, 1)}\n`);
      } catch (e) {
        options.onError?.(new ChskError("CHSK_ERR_FILE", `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
      return Promise.resolve();
    },
  };
}
