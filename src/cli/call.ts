/**
 * `chsk call URL [EVENT]`: curl for Sente. Connects as a chsk client, sends
 * one event, prints the reply as EDN (or JSON lines with `json`), and
 * optionally waits for pushes.
 *
 * The whole command is {@link runCall}: it takes parsed options plus its
 * output streams and returns the exit code, so tests can run it in-process.
 * What went wrong is said in one line on stderr, ending with the error's
 * stable code: `chsk call: no reply within 5000 ms (CHSK_ERR_TIMEOUT)`.
 */
import { bootstrapSession, createClient as createNodeClient } from "../core/client/index.node.js";
import type { Client, ClientOptions, ClientTapEvent, ClientType, Transport } from "../core/client/types.js";
import { kw, readEdn, writeEdn } from "../core/edn/index.js";
import { type PackerName, packerByName } from "../core/packers/index.js";
import { isWireFormat, packerWireFormat, sniffFrame } from "../core/packers/sniff.js";
import type { Packer } from "../core/packers/types.js";
import { ChskError, type ChskErrorCode, CloseCode, isChskError } from "../core/protocol/errors.js";
import { encodeClientEvent } from "../core/protocol/codec.js";
import { asEvent, type ChskEvent, validateEvent } from "../core/protocol/events.js";
import { type CsrfContext, type Diagnosis, diagnoseFrame, diagnoseRefusal, networkReason, shortAnswer } from "./diagnose.js";
import { type CliIo, ExitCode } from "./exit-codes.js";
import { toJsonText } from "./json-value.js";
import { parseChskUrl } from "./options.js";

export interface CallOptions {
  /** The chsk endpoint: `http(s)://host:port/chsk`, `ws(s)://…`, or `host:port` (no path → `/chsk`). */
  url: string;
  /** The event in EDN (`[:demo/echo {:a 1}]`); optional with `waitPush`. */
  event?: string | undefined;
  /** @default "auto"; "ws" for a `ws(s)://` URL */
  transport?: ClientType | undefined;
  /** @default "edn" */
  packer?: PackerName;
  /**
   * The CSRF token (no `/csrf` probe then). With `login` it goes with the
   * login request (a login guarded by anti-forgery needs it), and the
   * socket uses the token the login answers with, if any: a login starts
   * a new session, whose token the old one is not.
   */
  csrfToken?: string | undefined;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  /** Initial cookies, `a=b; c=d`. */
  cookie?: string | undefined;
  /** Log in as this uid first (`POST <origin>/login`); an empty or blank uid is a usage error. */
  login?: string | undefined;
  /** False: no `GET <origin>/csrf` probe. @default true */
  session?: boolean;
  /** Bounds each HTTP request, the connection, and the reply. @default 5000 */
  timeoutMs?: number;
  /**
   * Send without asking for a reply (Sente's `(send-fn ev)`), for events
   * whose handler never replies; succeeds once the event has been sent.
   */
  noReply?: boolean;
  /** Print the next N pushes (one event per line). The connection closing first fails the call. @default 0 */
  waitPush?: number;
  /** Give up waiting for pushes after this long. @default no limit */
  pushTimeoutMs?: number | undefined;
  /** Print HTTP requests and every frame to stderr. */
  verbose?: boolean;
  /** stdout gets JSON lines (`{"type":"reply",…}`, see {@link JSON_LINES_HELP}) instead of EDN. @default false */
  json?: boolean;
}

export interface CallDeps extends CliIo {
  /** Aborting (SIGINT) ends the call with exit code 130. */
  signal?: AbortSignal;
  createClient?: (options: ClientOptions) => Client;
  fetch?: typeof fetch;
}

// In its own module: `chsk`'s help needs it, and loading this one loads the Node client and undici.
export { JSON_LINES_HELP } from "./call-help.js";

/** The event argument, read with the EDN reader whatever the packer. */
export function parseEventArg(text: string): ChskEvent | ChskError {
  const r = readEdn(text);
  if (!r.ok) return r.error;
  const problem = validateEvent(r.value, true);
  if (problem !== null) {
    return new ChskError("CHSK_ERR_BAD_EVENT", `not an event (${problem}): expected [:ns/name data?]`, { detail: { problem } });
  }
  return asEvent(r.value, true);
}

/**
 * Why `event` can't be sent with `packer` (a big integer or a map with
 * number keys in JSON, say), or undefined when it can. Packed as the client
 * will pack it, so the answer comes before connecting.
 */
export function unwritableEvent(packer: Packer, event: ChskEvent, noReply: boolean): ChskError | undefined {
  try {
    encodeClientEvent(packer, event, noReply ? null : "000000");
    return undefined;
  } catch (e) {
    return isChskError(e) ? e : new ChskError("CHSK_ERR_UNSUPPORTED_VALUE", e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/** An event as EDN, the way the user writes it: `[:demo/hello {:n 1}]`. */
export const formatEvent = (ev: ChskEvent): string => writeEdn(ev.length >= 2 ? [kw(ev[0]), ev[1]] : [kw(ev[0])]);

const MAX_TRACE_CHARS = 4096;
function frameText(data: string | Uint8Array): string {
  if (typeof data !== "string") return `<${data.byteLength} bytes> ${Buffer.from(data.subarray(0, 256)).toString("hex")}${data.byteLength > 256 ? "…" : ""}`;
  return data.length > MAX_TRACE_CHARS ? `${data.slice(0, MAX_TRACE_CHARS)}… (${data.length} chars)` : data;
}

/** One `--verbose` line per tap event. */
export function formatTap(ev: ClientTapEvent): string {
  switch (ev.type) {
    case "frame:out":
      return `> ${ev.transport} ${frameText(ev.data)}`;
    case "frame:in":
      return `< ${ev.transport} ${frameText(ev.data)}`;
    case "conn:open":
      return `* ${ev.transport} open`;
    case "conn:close":
      return `* ${ev.transport} closed: ${ev.reason}${ev.code === undefined ? "" : ` (${ev.code})`}`;
    case "error":
      return `! ${ev.error.code}: ${ev.error.message}`;
  }
}

function deadline(ms: number | undefined): { promise: Promise<"timeout">; cancel(): void } {
  if (ms === undefined) return { promise: new Promise(() => {}), cancel() {} };
  let timer: ReturnType<typeof setTimeout>;
  const promise = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

async function closeQuietly(client: Client): Promise<void> {
  const d = deadline(2000);
  try {
    await Promise.race([client.close(), d.promise]);
  } catch {
    // Closing is best effort.
  } finally {
    d.cancel();
  }
}

/** Close codes a server sends without a reason (`ws` closes 1009 itself). */
const CLOSE_NAMES = new Map<number, string>(
  Object.entries(CloseCode).map(([name, code]) => [code, name.toLowerCase().replaceAll("_", " ")]),
);

/** How the call ends: the exit code, and for a failure the line to print and its code. */
class Outcome {
  constructor(
    readonly exit: ExitCode,
    readonly message?: string,
    readonly code?: ChskErrorCode,
  ) {}
  static of(exit: ExitCode, d: Diagnosis): Outcome {
    return new Outcome(exit, d.message, d.code);
  }
}

/** What goes to stdout: EDN (the default) or JSON lines. */
interface Printer {
  open(transport: Transport | ClientType, uid: unknown): void;
  reply(value: unknown): void;
  sent(): void;
  push(ev: ChskEvent): void;
  failed(o: Outcome): void;
}

function ednPrinter(out: CliIo["stdout"]): Printer {
  return {
    open() {},
    reply: (v) => void out.write(`${writeEdn(v)}\n`),
    sent() {},
    push: (ev) => void out.write(`${formatEvent(ev)}\n`),
    failed() {},
  };
}

function jsonPrinter(out: CliIo["stdout"]): Printer {
  const line = (s: string) => void out.write(`${s}\n`);
  return {
    open: (transport, uid) => line(`{"type":"open","transport":${JSON.stringify(transport)},"uid":${toJsonText(uid)}}`),
    reply: (v) => line(`{"type":"reply","value":${toJsonText(v)}}`),
    sent: () => line(`{"type":"sent"}`),
    push: (ev) => line(`{"type":"push","id":${JSON.stringify(ev[0])},"data":${toJsonText(ev.length >= 2 ? ev[1] : null)}}`),
    failed: (o) =>
      line(`{"type":"error","code":${JSON.stringify(o.code ?? null)},"message":${JSON.stringify(o.message ?? "")},"exit":${o.exit}}`),
  };
}

export async function runCall(options: CallOptions, deps: CallDeps): Promise<number> {
  const { stdout, stderr } = deps;
  const printer = options.json ? jsonPrinter(stdout) : ednPrinter(stdout);
  const finish = (o: Outcome): number => {
    if (o.message !== undefined) {
      const code = o.code === undefined || o.message.includes(o.code) ? "" : ` (${o.code})`;
      stderr.write(`chsk call: ${o.message}${code}\n`);
      if (o.exit !== ExitCode.OK) printer.failed(o);
    }
    return o.exit;
  };
  const usage = (message: string, code?: ChskErrorCode) => finish(new Outcome(ExitCode.USAGE, message, code));

  let url: URL;
  let wsUrlGiven: boolean;
  if (/^\s*[[(]/.test(options.url)) return usage(`the URL comes first: chsk call URL EVENT (got ${JSON.stringify(options.url)} where the URL goes)`);
  try {
    ({ url, ws: wsUrlGiven } = parseChskUrl(options.url));
  } catch (e) {
    return usage(`invalid URL ${JSON.stringify(options.url)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const waitPush = options.waitPush ?? 0;
  let event: ChskEvent | undefined;
  if (options.event !== undefined) {
    const ev = parseEventArg(options.event);
    if (ev instanceof ChskError) return usage(`invalid EVENT: ${ev.message}`, ev.code);
    event = ev;
  } else if (waitPush === 0) {
    return usage("missing EVENT (required unless --wait-push N is given)");
  }
  if (options.pushTimeoutMs !== undefined && waitPush === 0) return usage("--push-timeout-ms needs --wait-push N");
  const packerName = options.packer ?? "edn";
  let packer: Packer;
  try {
    packer = packerByName(packerName);
  } catch (e) {
    return usage(e instanceof Error ? e.message : String(e));
  }
  if (event !== undefined) {
    const unwritable = unwritableEvent(packer, event, options.noReply === true);
    if (unwritable !== undefined) return usage(`the EVENT can't be written in ${packerName}: ${unwritable.message}`, unwritable.code);
  }
  if (options.login !== undefined && options.login.trim() === "") return usage("--login needs a uid, not an empty or blank one");
  const timeoutMs = options.timeoutMs ?? 5000;
  // A ws:// URL says which transport the user means.
  const type: ClientType = options.transport ?? (wsUrlGiven ? "ws" : "auto");
  const trace = options.verbose ? (line: string) => void stderr.write(`${line}\n`) : undefined;
  const interrupted = () => finish(new Outcome(ExitCode.INTERRUPTED, "interrupted"));
  if (deps.signal?.aborted) return interrupted();

  // 1. Session: login and/or CSRF token, cookies.
  let csrfToken: string | null;
  let sessionHeaders: Record<string, string>;
  try {
    const s = await bootstrapSession({
      url: url.origin,
      login: options.login,
      csrfToken: options.csrfToken,
      probe: options.session !== false,
      cookie: options.cookie,
      headers: options.headers ?? {},
      timeoutMs,
      signal: deps.signal,
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      ...(trace === undefined ? {} : { logger: { debug: (m: string) => trace(`* ${m}`), warn: (m: string) => trace(`* ${m}`), error: (m: string) => trace(`* ${m}`) } }),
    });
    csrfToken = s.csrfToken;
    sessionHeaders = s.headers;
    if (options.login !== undefined && options.csrfToken !== undefined && csrfToken !== options.csrfToken) {
      trace?.("* --csrf-token went with the login; the socket uses the token the login answered with");
    }
  } catch (e) {
    if (!isChskError(e)) throw e;
    const o = sessionFailure(e);
    return o === undefined ? interrupted() : finish(o);
  }

  // 2. The channel socket.
  const client = (deps.createClient ?? createNodeClient)({
    url: url.href,
    type,
    packer,
    csrfToken,
    params: options.params ?? {},
    headers: sessionHeaders,
    autoConnect: false,
  });
  // As messages show them: without credentials.
  const shown = new URL(url.href);
  shown.username = "";
  shown.password = "";
  const wsUrl = new URL(shown.href);
  wsUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  try {
    const outcome = await converse(client, {
      event,
      noReply: options.noReply === true,
      waitPush,
      timeoutMs,
      pushTimeoutMs: options.pushTimeoutMs,
      type,
      packerName,
      urls: { ws: wsUrl.href, ajax: shown.href },
      csrf: { noSession: options.session === false, tokenGiven: options.csrfToken !== undefined, tokenSent: csrfToken !== null },
      trace,
      printer,
      say: (line) => void stderr.write(`chsk call: ${line}\n`),
      signal: deps.signal,
    });
    return finish(outcome);
  } finally {
    await closeQuietly(client);
  }
}

/** How a failed session bootstrap ends the call; undefined for an interruption. */
function sessionFailure(e: ChskError): Outcome | undefined {
  const d = e.detail ?? {};
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
  switch (e.code) {
    case "CHSK_ERR_LOGIN_REFUSED": {
      const status = e.status ?? 0;
      const noRoute = status === 404 || status === 405;
      const hint = noRoute ? "; this server has no POST /login (chsk serve's convention): log in your own way and pass --cookie" : "";
      const contentType = str("contentType");
      // Said as any HTTP refusal is: the code chsk call has always printed for it.
      return new Outcome(ExitCode.FAILED, `login refused: ${shortAnswer(status, str("body"), contentType === "" ? undefined : contentType)}${hint}`, "CHSK_ERR_HTTP_STATUS");
    }
    case "CHSK_ERR_CLOSED":
      return undefined;
    case "CHSK_ERR_TIMEOUT":
      return new Outcome(ExitCode.TIMEOUT, e.message, "CHSK_ERR_TIMEOUT");
    default:
      return new Outcome(ExitCode.FAILED, `connection failed: ${str("method")} ${str("url")}: ${networkReason(e.cause ?? e)}`, "CHSK_ERR_TRANSPORT");
  }
}

interface Conversation {
  event: ChskEvent | undefined;
  noReply: boolean;
  waitPush: number;
  timeoutMs: number;
  pushTimeoutMs?: number | undefined;
  type: ClientType;
  packerName: string;
  /** The endpoint as each transport requests it, for messages. */
  urls: Record<Transport, string>;
  csrf: CsrfContext;
  trace: ((line: string) => void) | undefined;
  printer: Printer;
  say: (line: string) => void;
  signal: AbortSignal | undefined;
}

const TRANSPORT_NAMES: Record<Transport, string> = { ws: "WebSocket", ajax: "Ajax" };

/** Decoder limits: a frame over them may well be a Sente message, only too large or deep to read. */
const LIMIT_CODES: ReadonlySet<ChskErrorCode> = new Set(["CHSK_ERR_FRAME_TOO_LARGE", "CHSK_ERR_EDN_DEPTH"]);

/**
 * The conversation, watched through the client's tap:
 *
 * - every frame before the handshake is sniffed: another packer's format
 *   fails at once (CHSK_ERR_PACKER_MISMATCH), a page or non-Sente data too
 *   (CHSK_ERR_NOT_SENTE);
 * - an attempt on the last transport to try (WS for `ws`, Ajax for `ajax`
 *   and `auto`, which downgrades a failed WS) that ends before the
 *   handshake fails the call, saying what each transport ran into;
 * - once open, the connection closing fails a reply wait on WS (the reply
 *   belonged to that socket) and any push wait (pushes sent meanwhile are
 *   lost: Sente does not replay them).
 */
async function converse(client: Client, c: Conversation): Promise<Outcome> {
  const done: { resolve: (o: Outcome) => void } = { resolve: () => {} };
  const ended = new Promise<Outcome>((resolve) => (done.resolve = resolve));
  const onAbort = () => done.resolve(new Outcome(ExitCode.INTERRUPTED, "interrupted"));
  c.signal?.addEventListener("abort", onAbort, { once: true });

  // Pushes: printed once the reply (if any) is out.
  const pending: ChskEvent[] = [];
  let phase: "connecting" | "reply" | "pushes" = "connecting";
  let printed = 0;
  const print = (ev: ChskEvent) => {
    if (printed >= c.waitPush) return;
    c.printer.push(ev);
    if (++printed >= c.waitPush) done.resolve(new Outcome(ExitCode.OK));
  };
  const stopRecv = c.waitPush > 0 ? client.on("recv", (ev: ChskEvent) => (phase === "pushes" ? print(ev) : pending.push(ev))) : () => {};

  const expected = packerWireFormat(c.packerName);
  const tried: Transport[] = [c.type === "ajax" ? "ajax" : "ws"];
  /** Errors reported since the current attempt began, and each transport's last failure. */
  let attemptError: ChskError | undefined;
  const failures: Partial<Record<Transport, ChskError | undefined>> = {};
  let opened = false;
  let awaitingWsReply = false;
  /** Why the connection closed after it opened (a push wait then fails). */
  let closedWhy: string | undefined;
  /**
   * "Not a Sente message" for a frame in a packer's format that the sniffer
   * could not parse whole (too large or too deep for it): the client's own
   * decoder, right after, may say it is a Sente message over a limit.
   */
  let suspect: Diagnosis | undefined;
  const resolveSuspect = () => {
    if (suspect !== undefined && !opened) done.resolve(Outcome.of(ExitCode.FAILED, suspect));
    suspect = undefined;
  };

  const stopTap = client.tap((ev) => {
    c.trace?.(formatTap(ev));
    switch (ev.type) {
      case "error":
        attemptError = ev.error;
        if (LIMIT_CODES.has(ev.error.code)) suspect = undefined;
        return;
      case "frame:in": {
        if (opened || expected === undefined) return;
        const s = sniffFrame(ev.data);
        const d = diagnoseFrame(c.urls[ev.transport], s, expected, c.packerName, ev.transport === "ws" ? "sent" : "answered 200 with");
        if (d === undefined) return;
        if (d.code !== "CHSK_ERR_NOT_SENTE" || !isWireFormat(s.format)) return void done.resolve(Outcome.of(ExitCode.FAILED, d));
        // The decoder's verdict comes synchronously after this tap event.
        suspect = d;
        queueMicrotask(resolveSuspect);
        return;
      }
      case "conn:open":
        if (!opened) c.printer.open(ev.transport, client.state.uid);
        opened = true;
        suspect = undefined;
        attemptError = undefined;
        closedWhy = undefined;
        return;
      case "conn:close": {
        const error = attemptError;
        attemptError = undefined;
        failures[ev.transport] = error;
        if (ev.reason === "downgrading-ws-to-ajax") tried.push("ajax");
        if (ev.reason === "requested-disconnect") return;
        resolveSuspect();
        if (!opened) {
          // Not a downgrade: the client would only retry the same transport. Either it was the
          // last one to try, or (auto mode) its first frame was unreadable, which Ajax would not fix.
          if (ev.reason !== "downgrading-ws-to-ajax") done.resolve(connectFailure(c, tried, failures, ev.reason));
          return;
        }
        closedWhy = closeWhy(client, ev.transport, ev.reason, error);
        if (awaitingWsReply && ev.transport === "ws") {
          const how = wsCloseText(client) ?? ev.reason;
          done.resolve(
            ev.code === CloseCode.MESSAGE_TOO_BIG
              ? new Outcome(ExitCode.FAILED, `the connection closed before the reply (${how}): the server refused the EVENT as too large`, "CHSK_ERR_FRAME_TOO_LARGE")
              : new Outcome(ExitCode.FAILED, `the connection closed before the reply (${how})`, "CHSK_ERR_CLOSED"),
          );
        } else if (phase === "pushes") {
          done.resolve(pushesCut(printed, c.waitPush, closedWhy));
        }
        return;
      }
    }
  });

  try {
    client.connect();
    const connectBy = deadline(c.timeoutMs);
    // whenOpen() rejects if the client is closed first; that case is `ended`.
    const whenOpen = client.whenOpen().then(
      () => "open" as const,
      () => new Outcome(ExitCode.FAILED, "connection closed before the handshake", "CHSK_ERR_CLOSED"),
    );
    const first = await Promise.race([whenOpen, connectBy.promise, ended]);
    connectBy.cancel();
    if (first instanceof Outcome) return first;
    if (first === "timeout") return connectTimeout(c, tried, attemptError ?? failures.ws);

    phase = "reply";
    if (c.event !== undefined && c.noReply) {
      const sent = await sendOnly(client, c.event, c.timeoutMs, ended, c);
      if (sent !== undefined) return sent;
      c.printer.sent();
    } else if (c.event !== undefined) {
      const sentAt = Date.now();
      awaitingWsReply = client.state.type === "ws";
      let sent: Promise<unknown>;
      try {
        sent = client.send(c.event, { timeoutMs: c.timeoutMs }) as Promise<unknown>;
      } catch (e) {
        // runCall checked the EVENT packs; a throw here is still one line, not a stack.
        return replyFailure(e, c, 0);
      }
      const reply = await Promise.race([
        sent.then(
          (value) => ({ value }),
          (e: unknown) => replyFailure(e, c, Date.now() - sentAt),
        ),
        ended,
      ]);
      awaitingWsReply = false;
      if (reply instanceof Outcome) return reply;
      c.printer.reply(reply.value);
    } else {
      const s = client.state;
      const n = c.waitPush;
      c.say(`connected over ${s.type} as ${writeEdn(s.uid)}; waiting for ${n} push${n === 1 ? "" : "es"}`);
    }
    if (c.waitPush === 0) return new Outcome(ExitCode.OK);

    phase = "pushes";
    for (const ev of pending.splice(0)) print(ev);
    if (printed >= c.waitPush) return new Outcome(ExitCode.OK);
    if (closedWhy !== undefined) return pushesCut(printed, c.waitPush, closedWhy);
    const pushesBy = deadline(c.pushTimeoutMs);
    const last = await Promise.race([ended, pushesBy.promise]);
    pushesBy.cancel();
    if (last === "timeout") {
      return new Outcome(ExitCode.TIMEOUT, `received ${printed} of ${c.waitPush} pushes within ${c.pushTimeoutMs} ms`, "CHSK_ERR_TIMEOUT");
    }
    return last;
  } finally {
    stopRecv();
    stopTap();
    c.signal?.removeEventListener("abort", onAbort);
  }
}

const pushesCut = (printed: number, n: number, why: string) =>
  new Outcome(ExitCode.FAILED, `the connection closed after ${printed} of ${n} push${n === 1 ? "" : "es"}: ${why}`, "CHSK_ERR_CLOSED");

/** The last WS close as `1009 message too big` (the reason, else the code's name). */
function wsCloseText(client: Client): string | undefined {
  const ws = client.state.lastWsClose;
  return ws === undefined ? undefined : `${ws.code} ${ws.reason === "" ? (CLOSE_NAMES.get(ws.code) ?? "") : ws.reason}`.trim();
}

/** Why an open connection ended, in words: `the server closed it (1000 closed by server)`. */
function closeWhy(client: Client, transport: Transport, reason: string, error: ChskError | undefined): string {
  if (reason === "ws-ping-timeout") return "the server stopped answering keep-alive pings";
  if (transport === "ws") {
    const ws = client.state.lastWsClose;
    const text = wsCloseText(client);
    if (ws === undefined || text === undefined) return reason;
    if (ws.code === 1001) return `the server went away (${text})`;
    if (ws.code === 1006) return `the connection dropped (${text})`;
    return `the server closed it (${text})`;
  }
  if (error === undefined) return "the Ajax poll ended";
  if (error.code === "CHSK_ERR_HTTP_STATUS") {
    const d = error.detail ?? {};
    return `the Ajax poll was refused: ${shortAnswer(error.status ?? 0, String(d["body"] ?? ""), d["contentType"] as string | undefined)}`;
  }
  return `the Ajax poll failed: ${error.code === "CHSK_ERR_TRANSPORT" ? networkReason(error) : error.message}`;
}

/** Which transport failed how: `WebSocket ws://…/chsk, then Ajax http://…/chsk: connection refused (ECONNREFUSED); …`. */
function connectFailure(c: Conversation, tried: Transport[], failures: Partial<Record<Transport, ChskError | undefined>>, reason: string): Outcome {
  const last = failures[finalOf(tried)];
  if (last?.code === "CHSK_ERR_HTTP_STATUS") {
    const d = last.detail ?? {};
    const t = (d["transport"] as Transport | undefined) ?? finalOf(tried);
    return Outcome.of(ExitCode.FAILED, diagnoseRefusal(c.urls[t], last.status ?? 0, String(d["body"] ?? ""), d["contentType"] as string | undefined, c.csrf));
  }
  const why = (e: ChskError | undefined) =>
    e === undefined
      ? `closed before the handshake (${reason})`
      : e.code === "CHSK_ERR_TRANSPORT"
        ? networkReason(e)
        : LIMIT_CODES.has(e.code)
          ? `its handshake is beyond this client's limits: ${e.message} (${e.code})`
          : `${e.message} (${e.code})`;
  const parts = tried.map((t) => ({ t, why: why(failures[t]) }));
  const code = last?.code === "CHSK_ERR_TRANSPORT" || last === undefined ? "CHSK_ERR_TRANSPORT" : last.code;
  const named = (t: Transport) => `${TRANSPORT_NAMES[t]} ${c.urls[t]}`;
  if (parts.length === 2 && parts[0]!.why === parts[1]!.why) {
    return new Outcome(ExitCode.FAILED, `connection failed: ${named("ws")}, then ${named("ajax")}: ${parts[1]!.why}`, code);
  }
  return new Outcome(ExitCode.FAILED, `connection failed: ${parts.map((p) => `${named(p.t)}: ${p.why}`).join("; then ")}`, code);
}

const finalOf = (tried: Transport[]): Transport => tried[tried.length - 1]!;

function connectTimeout(c: Conversation, tried: Transport[], lastError: ChskError | undefined): Outcome {
  const named = tried.map((t) => `${TRANSPORT_NAMES[t]} ${c.urls[t]}`).join(", then ");
  const last = lastError === undefined ? "" : `; last error: ${lastError.code === "CHSK_ERR_TRANSPORT" ? networkReason(lastError) : lastError.message}`;
  return new Outcome(ExitCode.TIMEOUT, `no connection within ${c.timeoutMs} ms (tried ${named})${last}`, "CHSK_ERR_TIMEOUT");
}

/**
 * Fire and forget, yet sure it went: over Ajax the POST must be answered
 * (`:chsk/dummy-cb-200`), and a refusal or network error fails the call.
 */
async function sendOnly(client: Client, event: ChskEvent, timeoutMs: number, ended: Promise<Outcome>, c: Conversation): Promise<Outcome | undefined> {
  let failed: ChskError | undefined;
  const stopTap = client.tap((ev) => {
    if (ev.type === "error") failed ??= ev.error;
  });
  try {
    let sent: boolean;
    try {
      sent = client.send(event);
    } catch (e) {
      return replyFailure(e, c, 0);
    }
    if (!sent) return new Outcome(ExitCode.FAILED, "not sent: the connection closed", "CHSK_ERR_CLOSED");
    const by = deadline(timeoutMs);
    const done = await Promise.race([client.whenSent().then(() => "sent" as const), by.promise, ended]);
    by.cancel();
    if (done instanceof Outcome) return done;
    if (done === "timeout") return new Outcome(ExitCode.TIMEOUT, `not answered within ${timeoutMs} ms`, "CHSK_ERR_TIMEOUT");
    if (failed !== undefined) return sendFailure(failed, c, "not sent");
    return undefined;
  } finally {
    stopTap();
  }
}

/** A refused or failed send: HTTP refusals as such, network errors in words. */
function sendFailure(e: ChskError, c: Conversation, what: string): Outcome {
  if (e.status !== undefined) {
    const d = e.detail ?? {};
    return Outcome.of(ExitCode.FAILED, diagnoseRefusal(c.urls.ajax, e.status, String(d["body"] ?? ""), d["contentType"] as string | undefined, c.csrf));
  }
  if (e.code === "CHSK_ERR_TRANSPORT") return new Outcome(ExitCode.FAILED, `${what}: ${networkReason(e)}`, e.code);
  return new Outcome(ExitCode.FAILED, `${what}: ${e.message}`, e.code);
}

function replyFailure(e: unknown, c: Conversation, elapsedMs: number): Outcome {
  if (!isChskError(e)) return new Outcome(ExitCode.FAILED, `send failed: ${e instanceof Error ? e.message : String(e)}`, "CHSK_ERR_TRANSPORT");
  switch (e.code) {
    case "CHSK_ERR_TIMEOUT":
      // Our own timer, or the server's `:chsk/timeout` (Ajax) before it.
      return new Outcome(
        ExitCode.TIMEOUT,
        elapsedMs >= c.timeoutMs - 50 ? `no reply within ${c.timeoutMs} ms` : `no reply: ${e.message}`,
        "CHSK_ERR_TIMEOUT",
      );
    case "CHSK_ERR_CLOSED":
      return new Outcome(ExitCode.FAILED, "connection closed before the reply", "CHSK_ERR_CLOSED");
    default:
      return sendFailure(e, c, "send failed");
  }
}
