/**
 * The `attach` source (`chsk inspect --attach URL`): subscribes to a
 * server's inspector stream (`mountInspector`, `chsk serve --inspect-token`)
 * and reports the server's own view of its traffic: every client's frames
 * both ways, with client ids and uids, connections opening and closing,
 * refusals. No proxy in between and no client changed.
 *
 * The stream's lines (see `src/server/inspect/stream-lines.ts`) map as:
 *
 * | line | reported as |
 * |---|---|
 * | `hello` | the {@link AttachSource.packer} hint and the channel path; `start()` resolves on the first |
 * | `open` (snapshot or live) | `open` event (`url`: the channel path) |
 * | `frame`, `close`, `refused` | the same event (they are `WireEvent`s already) |
 * | `error` | a `warn` notice with its code |
 * | `heartbeat`, unknown types | nothing |
 * | a line over `maxLineBytes` | a `frame` event with `error: CHSK_ERR_FRAME_TOO_LARGE` and no data (its fields read from the line's start), and a `warn` notice |
 *
 * When the stream ends or breaks after it started (the server restarted,
 * a proxy cut it, nothing came for `idleTimeoutMs`), the source says so
 * (`warn`) and reconnects with a bounded backoff until `close()`. Each new
 * stream starts with a snapshot, whose `open`s are reported again; a
 * connection known before the break and absent from the new snapshot
 * ended while nobody watched, and gets a `close` (reason
 * `"ended while the inspector was detached"`). A reconnect the server
 * refuses (401/403: the token changed) ends the source as failed; other
 * failures (refused connection, 404 while a server restarts) are retried.
 *
 * HTTP on undici (a dependency already): its connect timeout,
 * `headersTimeout` and `bodyTimeout` are the `timeoutMs` / `idleTimeoutMs`
 * bounds, with no timer of our own per chunk.
 */
import { Agent, type Dispatcher, request } from "undici";
import { ChskError, type Unsubscribe, type WireEvent } from "../../core/index.js";
import { type InspectorLine, parseInspectorLine } from "../../server/index.js";
import { networkError, notTheStream, readSome, statusError } from "./attach-errors.js";
import { type AttachReconnectOptions, type AttachSourceOptions, type ResolvedAttachOptions, resolveAttachOptions } from "./attach-options.js";
import { type LongLine, LineSplitter } from "./line-splitter.js";
import { longFrame } from "./long-frame.js";
import type { SourceEnd, SourceNotice, WireSource } from "./types.js";

export type { AttachReconnectOptions, AttachSourceOptions } from "./attach-options.js";

/** The attach source: a {@link WireSource} that also says which stream it reads. */
export interface AttachSource extends WireSource {
  readonly kind: "attach";
  /** The stream's URL: `http://127.0.0.1:8090/chsk-inspect`. */
  readonly url: string;
  /** The server's packer, from its `hello`; undefined before the first. */
  readonly packer: string | undefined;
  /** The server's channel path (`/chsk`), from its `hello`; undefined before the first. */
  readonly channelPath: string | undefined;
}

/** A connection as the server named it, for closing the ones that ended while detached. */
interface Known {
  transport: "ws" | "ajax";
  connId: string;
  clientId?: string;
  uid?: string;
}

/** Ajax opens and closes carry different exchange ids: an Ajax connection is its client id. */
const keyOf = (e: { transport: string; connId: string; clientId?: string | undefined }): string =>
  e.transport === "ajax" ? `ajax\0${e.clientId ?? e.connId}` : `ws\0${e.connId}\0${e.clientId ?? ""}`;

/** One GET of the stream: from the request to the end of its body. */
interface Attempt {
  readonly abort: AbortController;
  hello: boolean;
  /** Snapshot `open`s still to come after the hello. */
  snapshotLeft: number;
  /** The hello's time (the server's clock). */
  at: number;
}

class Attach implements AttachSource {
  readonly kind = "attach" as const;
  readonly done: Promise<SourceEnd>;
  readonly #o: ResolvedAttachOptions;
  #events: readonly ((e: WireEvent) => void)[] = [];
  #notices: readonly ((n: SourceNotice) => void)[] = [];
  #end!: (end: SourceEnd) => void;
  #ended = false;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #packer: string | undefined;
  #path: string | undefined;
  /** Hellos so far: the second and later are reconnects. */
  #hellos = 0;
  #agent: Agent | undefined;
  #attempt: Attempt | null = null;
  #retry: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  /** Live connections, in the order they opened. */
  readonly #known = new Map<string, Known>();
  /** After a reconnect's hello: connections known before it and not (yet) in its snapshot. */
  #stale: Map<string, Known> | null = null;

  constructor(options: AttachSourceOptions) {
    this.#o = resolveAttachOptions(options);
    this.done = new Promise((r) => (this.#end = r));
  }

  get url(): string {
    return this.#o.url;
  }

  get label(): string {
    return `attach ${this.#o.url}${this.#packer === undefined ? "" : ` (${this.#packer})`}`;
  }

  get packer(): string | undefined {
    return this.#packer;
  }

  get channelPath(): string | undefined {
    return this.#path;
  }

  onEvent(listener: (event: WireEvent) => void): Unsubscribe {
    this.#events = [...this.#events, listener];
    return () => void (this.#events = this.#events.filter((l) => l !== listener));
  }

  onNotice(listener: (notice: SourceNotice) => void): Unsubscribe {
    this.#notices = [...this.#notices, listener];
    return () => void (this.#notices = this.#notices.filter((l) => l !== listener));
  }

  start(): Promise<void> {
    this.#started ??= this.#connect().catch((e: unknown) => {
      const error = e instanceof ChskError ? e : new ChskError("CHSK_ERR_TRANSPORT", String(e), { cause: e });
      this.#finish({ reason: "failed", error });
      throw error;
    });
    return this.#started;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#finish({ reason: "closed" });
      await this.#started?.catch(() => {});
      await this.done;
    })();
    return this.#closing;
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  /** Ends the source once: `done` resolves, everything held is let go. */
  #finish(end: SourceEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#wake?.();
    this.#attempt?.abort.abort();
    this.#attempt = null;
    this.#known.clear();
    this.#stale = null;
    const agent = this.#agent;
    this.#agent = undefined;
    // `done` waits for the sockets: a CLI exits once it resolves.
    void (agent === undefined ? Promise.resolve() : agent.destroy().catch(() => {})).then(() => this.#end(end));
  }

  #dispatcher(): Dispatcher {
    if (this.#o.dispatcher !== undefined) return this.#o.dispatcher;
    // One stream at a time; no keep-alive worth having between reconnects.
    this.#agent ??= new Agent({ connect: { timeout: this.#o.timeoutMs }, pipelining: 0 });
    return this.#agent;
  }

  /**
   * One attempt: GET the stream, check it is one, read it. Resolves at its
   * `hello`; rejects with a ChskError when it is not attached by then. What
   * comes after (the stream ending) goes to {@link #broken}.
   */
  async #connect(): Promise<void> {
    if (this.#ended) throw new ChskError("CHSK_ERR_CLOSED", "attach source: closed before it attached");
    const o = this.#o;
    const attempt: Attempt = { abort: new AbortController(), hello: false, snapshotLeft: 0, at: 0 };
    this.#attempt = attempt;
    const headers: Record<string, string> = { accept: "application/x-ndjson", ...o.headers };
    for (const k of Object.keys(headers)) if (k.toLowerCase() === "authorization") delete headers[k];
    if (o.token !== undefined) headers["authorization"] = `Bearer ${o.token}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(o.url, {
        dispatcher: this.#dispatcher(),
        method: "GET",
        headers,
        signal: attempt.abort.signal,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.idleTimeoutMs,
      });
    } catch (e) {
      if (this.#ended) throw new ChskError("CHSK_ERR_CLOSED", "attach source: closed while attaching", { cause: e });
      throw networkError(e, o.url, o);
    }
    if (this.#ended) {
      res.body.destroy();
      throw new ChskError("CHSK_ERR_CLOSED", "attach source: closed while attaching");
    }
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    };
    if (res.statusCode !== 200) throw statusError(res.statusCode, await readSome(res.body, 1024, o.timeoutMs), o.url, header("location"));
    const type = header("content-type");
    if (type !== undefined && !/json/i.test(type)) {
      res.body.destroy();
      throw notTheStream(o.url, `it answered ${type}, not application/x-ndjson; is the path right?`, { contentType: type });
    }
    await this.#read(res.body, attempt);
  }

  /** Reads the body; resolves at the `hello`, rejects when none comes. */
  #read(body: Dispatcher.ResponseData["body"], attempt: Attempt): Promise<void> {
    const o = this.#o;
    return new Promise<void>((attached, refused) => {
      const timer = setTimeout(() => fail(notTheStream(o.url, `no hello line within ${o.timeoutMs} ms`)), o.timeoutMs);
      const fail = (e: ChskError) => {
        clearTimeout(timer);
        body.destroy();
        if (attempt.hello) return this.#broken(attempt, e);
        refused(e);
      };
      const lines = new LineSplitter({
        maxLineBytes: o.maxLineBytes,
        onLine: (text) => {
          if (attempt.hello) return this.#line(text, attempt);
          if (text.trim() === "") return; // A proxy's keep-alive, say: wait for the hello.
          const first = parseInspectorLine(text);
          if (first === null) return fail(notTheStream(o.url, `its first line is not a JSON object: ${text.slice(0, 80)}`));
          if (first.type !== "hello") return fail(notTheStream(o.url, `its first line is not a hello (${JSON.stringify(first.type)})`));
          clearTimeout(timer);
          this.#hello(first, attempt);
          attached();
        },
        onLongLine: (line) => {
          if (!attempt.hello) return fail(notTheStream(o.url, `its first line is ${line.bytes} bytes long`));
          this.#longLine(line);
        },
      });
      body.on("data", (chunk: Buffer) => {
        if (this.#attempt !== attempt) return;
        try {
          lines.push(chunk);
        } catch (e) {
          // A line that cannot be read as the stream's (not JSON where the hello should be…).
          fail(e instanceof ChskError ? e : notTheStream(o.url, e instanceof Error ? e.message : String(e)));
        }
      });
      body.once("end", () => {
        const cut = lines.reset();
        if (attempt.hello) return this.#broken(attempt, null, cut);
        fail(notTheStream(o.url, "it ended without a hello line"));
      });
      body.once("error", (e: Error) => {
        lines.reset();
        if (this.#ended || this.#attempt !== attempt) return stopped();
        fail(networkError(e, o.url, o));
      });
      // close() aborts the attempt: a start() still waiting for the hello rejects then.
      const stopped = () => {
        clearTimeout(timer);
        if (!attempt.hello) refused(new ChskError("CHSK_ERR_CLOSED", "attach source: closed while attaching"));
      };
      attempt.abort.signal.addEventListener("abort", stopped, { once: true });
    });
  }

  #hello(line: Extract<InspectorLine, { type: "hello" }>, attempt: Attempt): void {
    attempt.hello = true;
    attempt.at = typeof line.at === "number" ? line.at : Date.now();
    const packer = typeof line.packer === "string" ? line.packer : undefined;
    if (this.#packer !== undefined && packer !== this.#packer) {
      this.#notice("warn", `the server's packer is now ${String(packer)}, not ${this.#packer}: restart the inspector to decode its frames with it`);
    }
    const again = this.#hellos++ > 0;
    this.#packer = packer;
    this.#path = typeof line.path === "string" ? line.path : undefined;
    attempt.snapshotLeft = typeof line.clients === "number" && line.clients > 0 ? line.clients : 0;
    if (again) {
      // Whatever is not in the new snapshot ended while the stream was down
      // (a snapshot cut short by another break still counts what it had left).
      this.#stale = new Map([...(this.#stale ?? []), ...this.#known]);
      this.#known.clear();
    }
    const version = line.version === 1 ? "" : `; stream version ${String(line.version)}, read as version 1`;
    this.#notice("info", `${again ? "reattached to" : "attached to"} ${this.#o.url} (packer ${String(packer)}, channel ${String(this.#path)}, ${attempt.snapshotLeft} connection${attempt.snapshotLeft === 1 ? "" : "s"})${version}`);
    if (attempt.snapshotLeft === 0) this.#snapshotDone(attempt);
  }

  /** After a reconnect's snapshot: a close for each connection that is gone. */
  #snapshotDone(attempt: Attempt): void {
    const stale = this.#stale;
    this.#stale = null;
    if (stale === null) return;
    for (const k of stale.values()) {
      const e: WireEvent = { type: "close", at: attempt.at, transport: k.transport, connId: k.connId, reason: "ended while the inspector was detached" };
      if (k.clientId !== undefined) e.clientId = k.clientId;
      if (k.uid !== undefined) e.uid = k.uid;
      this.#emit(e);
    }
  }

  #line(text: string, attempt: Attempt): void {
    const line = parseInspectorLine(text);
    if (line === null) {
      if (text.trim() !== "") this.#notice("warn", `skipped a stream line that is not a JSON object: ${text.slice(0, 80)}`, "CHSK_ERR_UNPACK");
      return;
    }
    switch (line.type) {
      case "open": {
        const e: WireEvent = { type: "open", at: line.at, transport: line.transport, connId: line.connId };
        if (line.clientId !== undefined) e.clientId = line.clientId;
        if (line.uid !== undefined) e.uid = line.uid;
        if (this.#path !== undefined) e.url = this.#path;
        this.#track(e);
        if (line.snapshot === true && attempt.snapshotLeft > 0) {
          this.#stale?.delete(keyOf(e));
          this.#emit(e);
          if (--attempt.snapshotLeft === 0) this.#snapshotDone(attempt);
          return;
        }
        this.#emit(e);
        return;
      }
      case "close":
        this.#known.delete(keyOf(line));
        this.#emit(line);
        return;
      case "frame":
        this.#emit(line);
        return;
      case "refused":
        this.#emit(line);
        if (typeof line.message === "string") this.#notice("warn", `a refused request (${line.code}): ${line.message}`, line.code);
        return;
      case "error": {
        const who = [line.clientId === undefined ? "" : `client ${line.clientId}`, line.uid === undefined ? "" : `user ${line.uid}`].filter((s) => s !== "").join(", ");
        this.#notice("warn", `server: ${String(line.message)}${who === "" ? "" : ` (${who})`}`, line.code);
        return;
      }
      default:
        // `heartbeat`, a second `hello`, and types a later server may add.
        return;
    }
  }

  #longLine(line: LongLine): void {
    const frame = longFrame(line, this.#o.maxLineBytes);
    this.#notice(
      "warn",
      `skipped a stream line of ${line.bytes} bytes (over maxLineBytes, ${this.#o.maxLineBytes})${frame === null ? "" : `: a frame of ${frame.connId}`}`,
      "CHSK_ERR_FRAME_TOO_LARGE",
    );
    if (frame !== null) this.#emit(frame);
  }

  #track(e: Extract<WireEvent, { type: "open" }>): void {
    const k: Known = { transport: e.transport, connId: e.connId };
    if (e.clientId !== undefined) k.clientId = e.clientId;
    if (e.uid !== undefined) k.uid = e.uid;
    const key = keyOf(e);
    this.#known.delete(key);
    this.#known.set(key, k);
    if (this.#known.size > this.#o.maxTracked) this.#known.delete(this.#known.keys().next().value as string);
  }

  /**
   * The stream of an attached attempt ended (`error` null: cleanly, the
   * server closed it) or broke: reconnect, or end the source.
   */
  #broken(attempt: Attempt, error: ChskError | null, cutBytes = 0): void {
    if (this.#ended || this.#attempt !== attempt) return;
    this.#attempt = null;
    attempt.abort.abort();
    const why = error === null ? `the server ended the inspector stream${cutBytes > 0 ? ` in the middle of a line (${cutBytes} bytes lost)` : ""}` : `the inspector stream broke: ${error.message}`;
    if (this.#o.reconnect === false) {
      this.#notice("warn", why, error?.code);
      this.#finish(error === null ? { reason: "eof" } : { reason: "failed", error });
      return;
    }
    this.#notice("warn", `${why}; reconnecting`, error?.code);
    void this.#reconnect(this.#o.reconnect);
  }

  async #reconnect(r: Required<AttachReconnectOptions>): Promise<void> {
    for (let n = 1; !this.#ended; n++) {
      const delay = Math.min(r.maxDelayMs, r.initialDelayMs * 2 ** Math.min(n - 1, 30));
      await new Promise<void>((wake) => {
        this.#wake = wake;
        this.#retry = setTimeout(wake, delay);
      });
      this.#retry = null;
      this.#wake = null;
      if (this.#ended) return;
      try {
        await this.#connect();
        return;
      } catch (e) {
        if (this.#ended) return;
        const error = e instanceof ChskError ? e : new ChskError("CHSK_ERR_TRANSPORT", String(e), { cause: e });
        if (error.code === "CHSK_ERR_UNAUTHORIZED") {
          this.#notice("error", `reconnect refused: ${error.message}`, error.code);
          this.#finish({ reason: "failed", error });
          return;
        }
        const next = Math.min(r.maxDelayMs, r.initialDelayMs * 2 ** Math.min(n, 30));
        this.#notice("info", `reconnect attempt ${n} failed: ${error.message}; next in ${next} ms`, error.code);
      }
    }
  }

  // -------------------------------------------------------------------------
  // Emitting

  #notice(level: SourceNotice["level"], message: string, code?: string): void {
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
    if (this.#ended) return;
    for (const l of this.#events) {
      try {
        l(e);
      } catch (err) {
        this.#notice("error", `an event listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/**
 * Creates the attach source (see the module comment). Options are checked
 * here (TypeError / RangeError). `start()` resolves once the server's
 * `hello` is in (the `packer` hint is set by then), and rejects with a
 * `ChskError`: `CHSK_ERR_UNAUTHORIZED` (401/403: no token or another
 * one), `CHSK_ERR_HTTP_STATUS` (404: no inspector mounted there; 503:
 * too many watching; other statuses), `CHSK_ERR_TRANSPORT` (connection
 * refused, reset…), `CHSK_ERR_TIMEOUT` (no answer within `timeoutMs`),
 * `CHSK_ERR_NOT_SENTE` (it answered, but not with an inspector stream),
 * `CHSK_ERR_CLOSED` (closed first). Each carries `detail.url`, and the
 * status ones `status` and `detail.body`.
 *
 * @example
 * const source = createAttachSource({ url: "http://127.0.0.1:8090", token: process.env.CHSK_INSPECT_TOKEN });
 * source.onEvent((e) => decoder.push(e));
 * source.onNotice((n) => console.error(n.message));
 * await source.start(); // source.packer: "edn"
 */
export function createAttachSource(options: AttachSourceOptions): AttachSource {
  return new Attach(options);
}
