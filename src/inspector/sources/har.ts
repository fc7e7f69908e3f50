/**
 * `--har FILE.har`: a HAR export (Chrome DevTools "Save all as HAR", or
 * chsk's own `--har-out`) as a {@link WireSource}.
 *
 * What is read, for entries on the channel path (`/chsk` unless told):
 *
 * | entry | wire events |
 * |---|---|
 * | WebSocket (`_resourceType: "websocket"`, a `ws:` URL, or `_webSocketMessages`) answered 101 | `open` at `startedDateTime`, then one `frame` per message: `send` → c2s, `receive` → s2c, opcode 1 text, opcode 2 base64 bytes, at the message's `time` |
 * | GET answered 2xx | a `poll` frame (a handshake poll with `handshake?` in the query) at `startedDateTime + time` |
 * | POST | a `post` frame at `startedDateTime` (the `ppstr` form field, or the raw body with `binary?`, read by `readAjaxPost`), then its answer as a `post-reply` frame on the same exchange |
 * | any answered 3xx-5xx | `refused` with the status and body |
 * | no answer (status 0: pending or cancelled) | nothing for the answer; a `debug` notice |
 *
 * An Ajax client's first request also gives an `open`. The client id comes
 * from the `client-id` param. A chsk export (`log._chsk`) carries what HAR
 * has no place for: opens and closes (`log._chskLifecycle`), connection and
 * exchange ids and uids (`_chskConn`, `_chskExchange`, `_chskUid`), and the
 * original order (`_chskSeq`); its decoded `_chsk*` fields are not read
 * back: the viewer's decoder reads the payloads afresh.
 *
 * Events are emitted in time order (recording order for a chsk export).
 */
import { readFile } from "node:fs/promises";
import { ChskError, readAjaxPost, readAjaxQuery, type Unsubscribe, type WireEvent } from "../../core/index.js";
import type { Har, HarChskLifecycle, HarEntry } from "../output/har-format.js";
import { createPullSource } from "./pull-source.js";
import type { SourceNotice, WireSource } from "./types.js";

export interface HarReadOptions {
  /** The channel's path; entries elsewhere (pages, assets) are ignored. @default the export's own, else "/chsk" */
  path?: string | undefined;
}

export interface HarSourceOptions extends HarReadOptions {
  /** The HAR file. */
  file: string;
  /** `"recorded"` replays with the recorded gaps (divided by `speed`). @default "asap" */
  pacing?: "asap" | "recorded";
  /** @default 1 */
  speed?: number;
  /** The packer to decode with, as a hint for the viewer; undefined: detected. @default undefined */
  packer?: string | undefined;
  /** A HAR is one JSON document, read whole: larger files are refused. @default 536_870_912 */
  maxBytes?: number;
  /** Events emitted between two yields to the event loop. @default 512 */
  chunkSize?: number;
}

export interface HarReadResult {
  events: WireEvent[];
  /** The channel path the entries were matched on. */
  path: string;
  notices: { level: SourceNotice["level"]; message: string; code?: string }[];
}

interface Timed {
  event: WireEvent;
  seq: number | undefined;
  order: number;
}

const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);
const isObject = <T extends object>(x: T | null | undefined | unknown): x is T => x !== null && typeof x === "object" && !Array.isArray(x);

function bytesOf(base64: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64.replace(/\s+/g, ""))) return undefined;
  const b = Buffer.from(base64, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function isWebSocket(e: HarEntry, url: URL): boolean {
  return e._resourceType === "websocket" || Array.isArray(e._webSocketMessages) || url.protocol === "ws:" || url.protocol === "wss:";
}

/** `startedDateTime` in ms; undefined when missing or unreadable. */
const startOf = (e: HarEntry): number | undefined => {
  const t = typeof e.startedDateTime === "string" ? Date.parse(e.startedDateTime) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

/** The entry's total time in ms: `time`, else the sum of its non-negative timings. */
function durationOf(e: HarEntry): number {
  const t = num(e.time);
  if (t !== undefined && t >= 0) return t;
  const tm = isObject(e.timings) ? e.timings : {};
  return [tm.blocked, tm.dns, tm.connect, tm.send, tm.wait, tm.receive].reduce<number>((a, x) => a + Math.max(num(x) ?? 0, 0), 0);
}

/** The answer body: text, or bytes for a base64 `content`. */
function bodyOf(e: HarEntry): string | Uint8Array {
  const c = e.response?.content;
  const text = str(c?.text) ?? "";
  if (c?.encoding === "base64") return bytesOf(text) ?? text;
  return text;
}

const bodyText = (b: string | Uint8Array): string => (typeof b === "string" ? b : Buffer.from(b).toString("utf8"));

/**
 * The wire events of a parsed HAR (see the module comment).
 *
 * @throws ChskError `CHSK_ERR_BAD_HAR` when `har` has no `log.entries` array.
 */
export function harToWireEvents(har: unknown, options: HarReadOptions = {}): HarReadResult {
  const log = (har as Har | null)?.log;
  if (log === null || typeof log !== "object" || !Array.isArray(log.entries)) {
    throw new ChskError("CHSK_ERR_BAD_HAR", "not a HAR file: no log.entries array");
  }
  const fromChsk = isObject(log._chsk);
  const path = options.path ?? (fromChsk ? str(log._chsk!.path) : undefined) ?? "/chsk";
  const out: Timed[] = [];
  const notices: HarReadResult["notices"] = [];
  let order = 0;
  const push = (event: WireEvent, seq?: unknown) => out.push({ event, seq: num(seq), order: order++ });
  const seenAjaxClients = new Set<string>();
  let skipped = 0;

  if (fromChsk && Array.isArray(log._chskLifecycle)) {
    for (const l of log._chskLifecycle) if (isObject(l)) lifecycle(l, push);
  }

  log.entries.forEach((e, i) => {
    // Whatever a tool wrote, a malformed entry is skipped, never a crash.
    if (!isObject(e) || !isObject(e.request)) return;
    if (e.response !== undefined && !isObject(e.response)) return;
    let url: URL;
    try {
      url = new URL(str(e.request.url) ?? "");
    } catch {
      return;
    }
    if (url.pathname !== path) return;
    const started = startOf(e);
    if (started === undefined) {
      notices.push({ level: "warn", message: `entry ${i} (${e.request?.url}): no startedDateTime; skipped` });
      return;
    }
    const query = readAjaxQuery(url.search);
    const status = num(e.response?.status) ?? 0;
    const clientId = query.clientId === undefined ? {} : { clientId: query.clientId };
    if (isWebSocket(e, url)) {
      const connId = str(e["_chskConn"]) ?? `har-ws-${i}`;
      const messages = Array.isArray(e._webSocketMessages) ? e._webSocketMessages : [];
      if (status !== 101 && status !== 0 && messages.length === 0) {
        push({ type: "refused", at: Math.round(started + durationOf(e)), transport: "ws", connId, ...clientId, status, body: bodyText(bodyOf(e)), ...errorCode(e) }, e.response?.["_chskSeq"]);
        return;
      }
      if (!fromChsk) push({ type: "open", at: started, transport: "ws", connId, ...clientId, url: url.pathname + url.search });
      for (const m of messages) {
        if (!isObject(m)) continue;
        const dir = m.type === "send" ? "c2s" : m.type === "receive" ? "s2c" : undefined;
        const time = num(m.time);
        if (dir === undefined || time === undefined || typeof m.data !== "string") continue;
        if (m.opcode !== 1 && m.opcode !== 2) continue;
        const data = m.opcode === 2 ? (bytesOf(m.data) ?? m.data) : m.data;
        const uid = str(m["_chskUid"]);
        push(
          { type: "frame", at: Math.round(time * 1000), dir, transport: "ws", channel: "ws", connId, ...clientId, ...(uid === undefined ? {} : { uid }), data },
          m["_chskSeq"],
        );
      }
      return;
    }
    const method = (str(e.request.method) ?? "GET").toUpperCase();
    const exchange = str(e["_chskExchange"]) ?? `har-${i}`;
    let cid = query.clientId;
    let post: WireEvent | undefined;
    if (method === "POST") {
      const pd = isObject(e.request.postData) ? e.request.postData : undefined;
      const base64 = pd?.encoding === "base64" || pd?._encoding === "base64";
      const text = str(pd?.text) ?? "";
      const raw = base64 ? (bytesOf(text) ?? text) : text;
      const mime = str(pd?.mimeType);
      const read = readAjaxPost(raw, mime === undefined || mime === "" ? undefined : mime, url.search);
      const uid = str(e.request?.["_chskUid"]);
      const common = { at: started, dir: "c2s", transport: "ajax", channel: "post", connId: exchange, ...(uid === undefined ? {} : { uid }) } as const;
      if ("error" in read) {
        cid ??= read.form?.["client-id"];
        post = { type: "frame", ...common, ...(cid === undefined ? {} : { clientId: cid }), data: "", error: { code: "CHSK_ERR_UNPACK", message: read.error } };
      } else {
        cid = read.clientId ?? cid;
        post = { type: "frame", ...common, ...(cid === undefined ? {} : { clientId: cid }), data: read.packed };
      }
    } else if (method !== "GET") {
      return;
    }
    const cidField = cid === undefined ? {} : { clientId: cid };
    if (!fromChsk && cid !== undefined && !seenAjaxClients.has(cid)) {
      seenAjaxClients.add(cid);
      push({ type: "open", at: started, transport: "ajax", connId: exchange, clientId: cid, url: url.pathname + url.search });
    }
    if (post !== undefined) push(post, e.request?.["_chskSeq"]);
    // Whole ms, as every other time a source reports (DevTools' timings have fractions).
    const at = Math.round(started + durationOf(e));
    const seq = e.response?.["_chskSeq"];
    if (status === 0) {
      skipped++;
      return;
    }
    if (status < 200 || status >= 300) {
      push({ type: "refused", at, transport: "ajax", connId: exchange, ...cidField, status, body: bodyText(bodyOf(e)), ...errorCode(e) }, seq);
      return;
    }
    const uid = str(e.response?.["_chskUid"]);
    push(
      {
        type: "frame",
        at,
        dir: "s2c",
        transport: "ajax",
        channel: method === "POST" ? "post-reply" : "poll",
        connId: exchange,
        ...cidField,
        ...(uid === undefined ? {} : { uid }),
        data: bodyOf(e),
        ...(method === "GET" && query.handshake ? { handshake: true } : {}),
        status,
        requestAt: started,
      },
      seq,
    );
  });

  if (skipped > 0) notices.push({ level: "debug", message: `${skipped} Ajax request${skipped === 1 ? "" : "s"} without an answer (pending or cancelled when the HAR was saved)` });
  // A chsk export says the order outright; otherwise the times do (entries may be listed by start, messages inside them).
  const allSeq = out.length > 0 && out.every((t) => t.seq !== undefined);
  out.sort(allSeq ? (a, b) => a.seq! - b.seq! : (a, b) => a.event.at - b.event.at || a.order - b.order);
  return { events: out.map((t) => t.event), path, notices };
}

function errorCode(e: HarEntry): { code?: string } {
  const err = e.response?.["_chskError"] as { code?: unknown } | undefined;
  return typeof err?.code === "string" ? { code: err.code } : {};
}

function lifecycle(l: HarChskLifecycle, push: (e: WireEvent, seq?: unknown) => void): void {
  const at = Date.parse(l.ts);
  if (Number.isNaN(at) || (l.transport !== "ws" && l.transport !== "ajax") || typeof l.conn !== "string") return;
  const common = {
    at,
    transport: l.transport,
    connId: typeof l.exchange === "string" ? l.exchange : l.conn,
    ...(typeof l.clientId === "string" ? { clientId: l.clientId } : {}),
    ...(typeof l.uid === "string" ? { uid: l.uid } : {}),
  };
  if (l.kind === "open") push({ type: "open", ...common, ...(typeof l.url === "string" ? { url: l.url } : {}) }, l.seq);
  else if (l.kind === "close") {
    push(
      {
        type: "close",
        ...common,
        ...(typeof l.code === "number" ? { code: l.code } : {}),
        ...(typeof l.reason === "string" ? { reason: l.reason } : {}),
        ...(l.dir === "c2s" || l.dir === "s2c" ? { dir: l.dir } : {}),
      },
      l.seq,
    );
  }
}

/** Opens a HAR file as a source. Nothing is read before `start()`. */
export function createHarSource(options: HarSourceOptions): WireSource {
  const chunkSize = Math.max(1, options.chunkSize ?? 512);
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new RangeError(`speed must be > 0, got ${speed}`);
  const base = createPullSource();
  let closed = false;

  async function run() {
    let text: string;
    try {
      const buf = await readFile(options.file);
      if (buf.byteLength > maxBytes) throw new Error(`larger than ${maxBytes} bytes (maxBytes)`);
      text = buf.toString("utf8");
    } catch (e) {
      throw new ChskError("CHSK_ERR_FILE", `cannot read ${options.file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    let har: unknown;
    try {
      har = JSON.parse(text);
    } catch (e) {
      throw new ChskError("CHSK_ERR_BAD_HAR", `${options.file} is not a HAR file: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const { events, notices, path } = harToWireEvents(har, { path: options.path });
    base.started();
    for (const n of notices) base.notice(n.level, `${options.file}: ${n.message}`, n.code);
    const startedAt = Date.now();
    const firstAt = events[0]?.at ?? 0;
    for (let i = 0; i < events.length; i++) {
      if (closed) return { reason: "closed" } as const;
      const ev = events[i]!;
      if (options.pacing === "recorded") {
        const wait = startedAt + (ev.at - firstAt) / speed - Date.now();
        if (wait > 0) await base.sleep(wait);
        if (closed) return { reason: "closed" } as const;
      }
      base.emit(ev);
      if ((i + 1) % chunkSize === 0) await new Promise<void>((r) => setImmediate(r));
    }
    base.notice("info", `${options.file}: ${events.length} wire event${events.length === 1 ? "" : "s"} on ${path}`);
    return { reason: "eof" } as const;
  }

  return {
    kind: "har",
    label: `har ${options.file}`,
    packer: options.packer,
    onEvent: (l: (e: WireEvent) => void): Unsubscribe => base.onEvent(l),
    onNotice: (l: (n: SourceNotice) => void): Unsubscribe => base.onNotice(l),
    start: () => base.start(run),
    done: base.done,
    async close() {
      closed = true;
      base.cancelSleep();
      await base.close();
    },
  };
}
