/**
 * The inspector's `client` source (`chsk inspect URL`): it connects as a
 * chsk client, with the same session bootstrap and auth options as
 * `chsk call`, and reports the client's own traffic as {@link WireEvent}s,
 * read from the client's tap. Its `send` is the TUI's input line.
 *
 * Public API only: `chsk/client` (Node) and `chsk/core`.
 */
import {
  bootstrapSession,
  type Client,
  type ClientOptions,
  type ClientTapEvent,
  type ClientType,
  createClient,
  type Logger,
  type Packer,
  type PackerName,
  packerByName,
  type Session,
} from "../../core/client/index.node.js";
import { asEvent, ChskError, type ChskErrorCode, isChskError, readEdn, type Unsubscribe, validateEvent, type WireEvent, writeEdn } from "../../core/index.js";
import type { SendingSource, SourceEnd, SourceNotice } from "./types.js";

export interface ClientSourceOptions {
  /** The chsk endpoint: `http(s)://host:port/chsk` or `ws(s)://…`. */
  url: string;
  /** @default "ws" for a `ws(s)://` URL, else "auto" */
  transport?: ClientType;
  /** A packer name or instance. @default "edn" */
  packer?: PackerName | Packer;
  /** Log in as this uid first (`POST <origin>/login`). @default no login */
  login?: string | undefined;
  /** Initial cookies, `a=b; c=d`. @default none */
  cookie?: string | undefined;
  /** Extra headers, for the session's requests and the client. @default {} */
  headers?: Record<string, string>;
  /** A CSRF token (no `/csrf` probe then). @default probed */
  csrfToken?: string | undefined;
  /** Extra query params on the channel's requests. @default {} */
  params?: Record<string, string>;
  /** False: no `GET /csrf` probe. @default true */
  session?: boolean;
  /** Bounds each HTTP request of the session bootstrap. @default 5000 */
  timeoutMs?: number;
  /** More client options (`clientId`, `wsKaliveMs`, `webSocket`…), passed on as they are. @default {} */
  client?: Omit<ClientOptions, "url" | "type" | "packer" | "csrfToken" | "params" | "headers" | "autoConnect" | "logger" | "signal">;
  /** For the session bootstrap (the client uses its own unless `client.fetch`). @default undici */
  fetch?: typeof fetch;
}

/** Sente's (and chsk's) refusal bodies, for the code a `refused` event names. */
const REFUSALS: Record<string, ChskErrorCode> = {
  "Bad CSRF token": "CHSK_ERR_BAD_CSRF",
  "Unauthorized origin": "CHSK_ERR_BAD_ORIGIN",
  "Unauthorized request": "CHSK_ERR_UNAUTHORIZED",
  "Missing client-id": "CHSK_ERR_NO_CLIENT_ID",
};

function refusalCode(body: string): string {
  const text = body.trim();
  return REFUSALS[text] ?? /^(CHSK_ERR_[A-Z_]+)\b/.exec(text)?.[1] ?? "CHSK_ERR_HTTP_STATUS";
}

/** The uid as the inspector writes it: EDN text, `:sente/nil-uid` for none. */
const uidText = (uid: unknown): string => (uid === null || uid === undefined ? ":sente/nil-uid" : writeEdn(uid));

/** An event typed as EDN (`[:my/ev {:a 1}]`), checked as Sente checks one. */
function parseEvent(text: string): readonly [string, unknown?] {
  const r = readEdn(text);
  if (!r.ok) throw r.error;
  const problem = validateEvent(r.value, true);
  if (problem !== null) throw new ChskError("CHSK_ERR_BAD_EVENT", `not an event (${problem}): expected [:ns/name data?]`, { detail: { problem } });
  return asEvent(r.value, true);
}

class ClientSource implements SendingSource {
  readonly kind = "client" as const;
  readonly label: string;
  readonly packer: string;
  readonly done: Promise<SourceEnd>;

  readonly #options: ClientSourceOptions;
  readonly #packer: Packer;
  readonly #type: ClientType;
  #events: readonly ((e: WireEvent) => void)[] = [];
  #notices: readonly ((n: SourceNotice) => void)[] = [];
  #end!: (end: SourceEnd) => void;
  #ended = false;
  #started = false;
  #client: Client | null = null;
  #stopTap: Unsubscribe | null = null;
  readonly #abort = new AbortController();
  /** The uid of the last handshake, as EDN text; frames after it carry it. */
  #uid: string | undefined;
  /** WS attempts and Ajax attempts that have had their `open`. */
  readonly #openWs = new Set<string>();
  #ajaxOpen = false;

  constructor(options: ClientSourceOptions) {
    if (options === null || typeof options !== "object" || typeof options.url !== "string") throw new TypeError("client source: options with a url required");
    this.#options = options;
    const p = options.packer ?? "edn";
    this.#packer = typeof p === "string" ? packerByName(p) : p;
    this.packer = this.#packer.name;
    this.#type = options.transport ?? (/^wss?:/i.test(options.url) ? "ws" : "auto");
    this.label = `client ${options.url} (${this.#type}, ${this.packer})`;
    this.done = new Promise((resolve) => (this.#end = resolve));
  }

  onEvent(listener: (event: WireEvent) => void): Unsubscribe {
    this.#events = [...this.#events, listener];
    return () => void (this.#events = this.#events.filter((l) => l !== listener));
  }

  onNotice(listener: (notice: SourceNotice) => void): Unsubscribe {
    this.#notices = [...this.#notices, listener];
    return () => void (this.#notices = this.#notices.filter((l) => l !== listener));
  }

  async start(): Promise<void> {
    if (this.#started) throw new TypeError("client source: start() called twice");
    this.#started = true;
    if (this.#ended) throw new ChskError("CHSK_ERR_CLOSED", "client source: closed before it started");
    const o = this.#options;
    const logger = this.#logger();
    let session: Session;
    try {
      session = await bootstrapSession({
        url: o.url,
        login: o.login,
        csrfToken: o.csrfToken,
        probe: o.session !== false,
        cookie: o.cookie,
        headers: o.headers ?? {},
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        signal: this.#abort.signal,
        ...(o.fetch === undefined ? {} : { fetch: o.fetch }),
        logger,
      });
    } catch (e) {
      const error = isChskError(e) ? e : new ChskError("CHSK_ERR_TRANSPORT", e instanceof Error ? e.message : String(e), { cause: e });
      this.#finish({ reason: "failed", error });
      throw error;
    }
    if (this.#ended) throw new ChskError("CHSK_ERR_CLOSED", "client source: closed while starting");
    if (session.uid !== undefined) this.#notice("info", `logged in as ${uidText(session.uid)}`);
    const client = createClient({
      ...o.client,
      url: o.url,
      type: this.#type,
      packer: this.#packer,
      csrfToken: session.csrfToken,
      params: o.params ?? {},
      headers: session.headers,
      autoConnect: false,
      logger,
    });
    this.#client = client;
    this.#stopTap = client.tap((e) => this.#onTap(e));
    client.connect();
  }

  async send(eventEdnText: string, timeoutMs?: number): Promise<string | undefined> {
    const client = this.#client;
    if (client === null || this.#ended) throw new ChskError("CHSK_ERR_CLOSED", "not connected");
    const event = parseEvent(eventEdnText);
    if (timeoutMs === undefined) {
      if (!client.send(event)) throw new ChskError("CHSK_ERR_CLOSED", "not connected: nothing was sent");
      return undefined;
    }
    return writeEdn(await client.send(event, timeoutMs));
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.#abort.abort();
    const client = this.#client;
    // The close itself (conn:close) is still reported, then nothing more.
    if (client !== null) await client.close();
    this.#finish({ reason: "closed" });
  }

  #finish(end: SourceEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopTap?.();
    this.#stopTap = null;
    this.#end(end);
  }

  /** The client's and the bootstrap's log, as notices. */
  #logger(): Logger {
    return {
      debug: (m) => this.#notice("debug", m),
      info: (m) => this.#notice("info", m),
      warn: (m, f) => this.#notice("warn", m, f?.["code"]),
      error: (m, f) => this.#notice("error", m, f?.["code"]),
    };
  }

  #notice(level: SourceNotice["level"], message: string, code?: unknown): void {
    if (this.#ended) return;
    const n: SourceNotice = { at: Date.now(), level, message };
    if (typeof code === "string") n.code = code;
    for (const l of this.#notices) {
      try {
        l(n);
      } catch {
        // A notice listener that throws loses its notice; reporting it would loop.
      }
    }
  }

  #emit(e: WireEvent): void {
    for (const l of this.#events) {
      try {
        l(e);
      } catch (err) {
        this.#notice("error", `an event listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Maps a tap event onto the WireEvents it stands for. */
  #onTap(t: ClientTapEvent): void {
    if (this.#ended) return;
    switch (t.type) {
      case "frame:in":
      case "frame:out": {
        this.#opening(t.transport, t.connId, t.clientId, t.at);
        const e: WireEvent = {
          type: "frame",
          at: t.at,
          dir: t.type === "frame:in" ? "s2c" : "c2s",
          transport: t.transport,
          channel: t.channel,
          connId: t.connId,
          clientId: t.clientId,
          data: t.data,
        };
        if (this.#uid !== undefined && t.kind !== "handshake") e.uid = this.#uid;
        if (t.type === "frame:in") {
          if (t.handshake) e.handshake = true;
          if (t.status !== undefined) e.status = t.status;
        }
        this.#emit(e);
        return;
      }
      case "conn:open":
        // Said by the client's logger (info); here only remembered.
        this.#uid = uidText(this.#client?.state.uid);
        return;
      case "conn:close": {
        const opened = t.transport === "ws" ? this.#openWs.delete(t.connId) : this.#ajaxOpen;
        if (t.transport === "ajax") this.#ajaxOpen = false;
        if (!opened) return;
        const e: WireEvent = { type: "close", at: t.at, transport: t.transport, connId: t.connId, clientId: t.clientId, reason: t.reason };
        if (this.#uid !== undefined) e.uid = this.#uid;
        if (t.code !== undefined) e.code = t.code;
        this.#emit(e);
        return;
      }
      case "error": {
        const err = t.error;
        const d = err.detail;
        if (err.code === "CHSK_ERR_HTTP_STATUS" && err.status !== undefined && d !== undefined) {
          const transport = d["transport"] === "ws" ? "ws" : "ajax";
          const connId = t.connId ?? `${transport}-?`;
          this.#opening(transport, connId, t.clientId, t.at);
          const body = typeof d["body"] === "string" ? d["body"] : "";
          this.#emit({ type: "refused", at: t.at, transport, connId, clientId: t.clientId, status: err.status, body, code: refusalCode(body) });
        }
        // Every problem (the refusal too) is also a notice, by the client's logger (warn).
        return;
      }
    }
  }

  /**
   * The `open` before a connection's first event: a WS attempt's first
   * frame (or refusal), an Ajax attempt's first exchange (the decoder
   * stitches the exchanges of one client id).
   */
  #opening(transport: "ws" | "ajax", connId: string, clientId: string, at: number): void {
    if (transport === "ws") {
      if (this.#openWs.has(connId)) return;
      this.#openWs.add(connId);
    } else {
      if (this.#ajaxOpen) return;
      this.#ajaxOpen = true;
    }
    this.#emit({ type: "open", at, transport, connId, clientId, url: new URL(this.#options.url).pathname });
  }
}

/**
 * A {@link SendingSource} that connects as a client: `start()` runs the
 * session bootstrap (rejecting with its `ChskError`, e.g.
 * `CHSK_ERR_LOGIN_REFUSED`), creates the client and starts connecting; the
 * frames follow on `onEvent`. It retries as any chsk client does until
 * `close()`.
 */
export function createClientSource(options: ClientSourceOptions): SendingSource {
  return new ClientSource(options);
}
