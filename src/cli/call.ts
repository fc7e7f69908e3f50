/**
 * `chsk call URL [EVENT]`: curl for Sente. Connects as a chsk client, sends
 * one event, prints the reply as EDN, and optionally waits for pushes.
 *
 * The whole command is {@link runCall}: it takes parsed options plus its
 * output streams and returns the exit code, so tests can run it in-process.
 */
import { createClient as createNodeClient } from "../core/client/index.node.js";
import type { Client, ClientOptions, ClientTapEvent, ClientType } from "../core/client/types.js";
import { kw, readEdn, writeEdn } from "../core/edn/index.js";
import { type PackerName, packerByName } from "../core/packers/index.js";
import type { Packer } from "../core/packers/types.js";
import { ChskError, CloseCode, isChskError } from "../core/protocol/errors.js";
import { asEvent, type ChskEvent, validateEvent } from "../core/protocol/events.js";
import { type CliIo, ExitCode } from "./exit-codes.js";
import { parseChskUrl } from "./options.js";
import { bootstrapSession, CookieJar, HttpFailure, HttpRefusal } from "./session.js";

export interface CallOptions {
  /** The chsk endpoint: `http(s)://host:port/chsk` (`ws(s)://` works too; no path → `/chsk`). */
  url: string;
  /** The event in EDN (`[:demo/echo {:a 1}]`); optional with `waitPush`. */
  event?: string | undefined;
  /** @default "auto" */
  transport?: ClientType;
  /** @default "edn" */
  packer?: PackerName;
  csrfToken?: string | undefined;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  /** Initial cookies, `a=b; c=d`. */
  cookie?: string | undefined;
  /** Log in as this uid first (`POST <origin>/login`). */
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
  /** Print the next N pushes (one EDN event per line). @default 0 */
  waitPush?: number;
  /** Give up waiting for pushes after this long. @default no limit */
  pushTimeoutMs?: number | undefined;
  /** Print HTTP requests and every frame to stderr. */
  verbose?: boolean;
}

export interface CallDeps extends CliIo {
  /** Aborting (SIGINT) ends the call with exit code 130. */
  signal?: AbortSignal;
  createClient?: (options: ClientOptions) => Client;
  fetch?: typeof fetch;
}

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

/** `fetch failed` says little; the cause's code (ECONNREFUSED) says more. */
function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let cause: unknown = e.cause;
  for (let i = 0; i < 3 && cause instanceof Error; i++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return `${e.message} (${code})`;
    cause = cause.cause;
  }
  return e.message;
}

/** `refused: HTTP 403 …` for an HTTP refusal, else `<what>: <cause>`. */
const failureText = (e: ChskError, what: string): string =>
  e.code === "CHSK_ERR_HTTP_STATUS" ? `refused: ${e.message}` : `${what}: ${errorText(e)}`;

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

class Outcome {
  constructor(
    readonly code: ExitCode,
    readonly message?: string,
  ) {}
}

export async function runCall(options: CallOptions, deps: CallDeps): Promise<number> {
  const { stdout, stderr } = deps;
  const say = (line: string) => void stderr.write(`chsk call: ${line}\n`);
  const exit = (code: ExitCode, message?: string): number => {
    if (message !== undefined) say(message);
    return code;
  };

  let url: URL;
  try {
    url = parseChskUrl(options.url);
  } catch {
    return exit(ExitCode.USAGE, `invalid URL: ${JSON.stringify(options.url)}: expected http(s):// or ws(s)://`);
  }
  const waitPush = options.waitPush ?? 0;
  let event: ChskEvent | undefined;
  if (options.event !== undefined) {
    const ev = parseEventArg(options.event);
    if (ev instanceof ChskError) return exit(ExitCode.USAGE, `invalid EVENT: ${ev.message} (${ev.code})`);
    event = ev;
  } else if (waitPush === 0) {
    return exit(ExitCode.USAGE, "missing EVENT (required unless --wait-push N is given)");
  }
  let packer: Packer;
  try {
    packer = packerByName(options.packer ?? "edn");
  } catch (e) {
    return exit(ExitCode.USAGE, e instanceof Error ? e.message : String(e));
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const type = options.transport ?? "auto";
  const trace = options.verbose ? (line: string) => void stderr.write(`${line}\n`) : undefined;
  if (deps.signal?.aborted) return exit(ExitCode.INTERRUPTED, "interrupted");

  // 1. Session: login and/or CSRF token, cookies.
  const jar = new CookieJar(options.cookie);
  let csrfToken: string | null;
  try {
    const s = await bootstrapSession({
      origin: url.origin,
      login: options.login,
      csrfToken: options.csrfToken,
      probe: options.session !== false,
      jar,
      headers: options.headers ?? {},
      timeoutMs,
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      ...(trace === undefined ? {} : { trace }),
    });
    csrfToken = s.csrfToken;
  } catch (e) {
    if (e instanceof HttpRefusal) return exit(ExitCode.FAILED, e.message);
    if (e instanceof HttpFailure) {
      return e.timedOut ? exit(ExitCode.TIMEOUT, `${e.message} (CHSK_ERR_TIMEOUT)`) : exit(ExitCode.FAILED, `connection failed: ${e.message}`);
    }
    throw e;
  }

  // 2. The channel socket.
  const cookie = jar.header();
  const client = (deps.createClient ?? createNodeClient)({
    url: url.href,
    type,
    packer,
    csrfToken,
    params: options.params ?? {},
    headers: { ...options.headers, ...(cookie === undefined ? {} : { cookie }) },
    autoConnect: false,
  });
  try {
    const outcome = await converse(client, {
      event,
      noReply: options.noReply === true,
      waitPush,
      timeoutMs,
      pushTimeoutMs: options.pushTimeoutMs,
      type,
      trace,
      stdout,
      say,
      signal: deps.signal,
    });
    return exit(outcome.code, outcome.message);
  } finally {
    await closeQuietly(client);
  }
}

interface Conversation {
  event: ChskEvent | undefined;
  noReply: boolean;
  waitPush: number;
  timeoutMs: number;
  pushTimeoutMs?: number | undefined;
  type: ClientType;
  trace: ((line: string) => void) | undefined;
  stdout: CliIo["stdout"];
  say: (line: string) => void;
  signal: AbortSignal | undefined;
}

async function converse(client: Client, c: Conversation): Promise<Outcome> {
  const finish: { resolve: (o: Outcome) => void } = { resolve: () => {} };
  const ended = new Promise<Outcome>((resolve) => (finish.resolve = resolve));
  const onAbort = () => finish.resolve(new Outcome(ExitCode.INTERRUPTED, "interrupted"));
  c.signal?.addEventListener("abort", onAbort, { once: true });

  // Pushes: printed once the reply (if any) is out, one EDN event per line.
  const pending: ChskEvent[] = [];
  let printing = c.event === undefined;
  let printed = 0;
  const print = (ev: ChskEvent) => {
    if (printed >= c.waitPush) return;
    c.stdout.write(`${formatEvent(ev)}\n`);
    if (++printed >= c.waitPush) finish.resolve(new Outcome(ExitCode.OK));
  };
  const stopRecv = c.waitPush > 0 ? client.on("recv", (ev) => (printing ? print(ev) : pending.push(ev))) : () => {};

  // Connection failures: an attempt on the final transport that ends before
  // any handshake (in auto mode a failed WS first downgrades to Ajax).
  const finalTransport = c.type === "ws" ? "ws" : "ajax";
  let opened = false;
  let awaitingReply = false;
  let lastError: ChskError | undefined;
  const stopTap = client.tap((ev) => {
    c.trace?.(formatTap(ev));
    if (ev.type === "error") lastError = ev.error;
    else if (ev.type === "conn:open") opened = true;
    else if (ev.type === "conn:close" && awaitingReply && ev.transport === "ws") {
      // A reply belongs to its socket: once that closes (the server refusing
      // the frame, say), the client reconnects but the reply will not come.
      const ws = client.state.lastWsClose;
      const why = ws === undefined ? ev.reason : `${ws.code} ${ws.reason === "" ? (CLOSE_NAMES.get(ws.code) ?? "") : ws.reason}`.trim();
      finish.resolve(new Outcome(ExitCode.FAILED, `the connection closed before the reply (${why})`));
    } else if (ev.type === "conn:close" && !opened && ev.transport === finalTransport) {
      finish.resolve(
        new Outcome(ExitCode.FAILED, lastError ? failureText(lastError, "connection failed") : `connection failed: closed before the handshake (${ev.reason})`),
      );
    }
  });

  try {
    client.connect();
    const connectBy = deadline(c.timeoutMs);
    // whenOpen() rejects if the client is closed first; that case is `ended`.
    const opened = client.whenOpen().then(
      () => "open" as const,
      () => new Outcome(ExitCode.FAILED, "connection closed before the handshake"),
    );
    const first = await Promise.race([opened, connectBy.promise, ended]);
    connectBy.cancel();
    if (first instanceof Outcome) return first;
    if (first === "timeout") {
      const last = lastError ? `; last error: ${errorText(lastError)}` : "";
      return new Outcome(ExitCode.TIMEOUT, `no connection within ${c.timeoutMs} ms${last} (CHSK_ERR_TIMEOUT)`);
    }

    if (c.event !== undefined && c.noReply) {
      const sent = await sendOnly(client, c.event, c.timeoutMs, ended);
      if (sent !== undefined) return sent;
      if (c.waitPush === 0) return new Outcome(ExitCode.OK);
      printing = true;
      for (const ev of pending.splice(0)) print(ev);
    } else if (c.event !== undefined) {
      const sentAt = Date.now();
      awaitingReply = true;
      const reply = await Promise.race([
        client.send(c.event, { timeoutMs: c.timeoutMs }).then(
          (value) => ({ value }),
          (e: unknown) => replyFailure(e, c.timeoutMs, Date.now() - sentAt),
        ),
        ended,
      ]);
      awaitingReply = false;
      if (reply instanceof Outcome) return reply;
      c.stdout.write(`${writeEdn(reply.value)}\n`);
      if (c.waitPush === 0) return new Outcome(ExitCode.OK);
      printing = true;
      for (const ev of pending.splice(0)) print(ev);
    } else {
      const s = client.state;
      const n = c.waitPush;
      c.say(`connected over ${s.type} as ${writeEdn(s.uid)}; waiting for ${n} push${n === 1 ? "" : "es"}`);
    }

    const pushesBy = deadline(c.pushTimeoutMs);
    const last = await Promise.race([ended, pushesBy.promise]);
    pushesBy.cancel();
    if (last === "timeout") {
      return new Outcome(ExitCode.TIMEOUT, `received ${printed} of ${c.waitPush} pushes within ${c.pushTimeoutMs} ms (CHSK_ERR_TIMEOUT)`);
    }
    return last;
  } finally {
    stopRecv();
    stopTap();
    c.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Fire and forget, yet sure it went: over Ajax the POST must be answered
 * (`:chsk/dummy-cb-200`), and a refusal or network error fails the call.
 */
async function sendOnly(client: Client, event: ChskEvent, timeoutMs: number, ended: Promise<Outcome>): Promise<Outcome | undefined> {
  let failed: ChskError | undefined;
  const stopTap = client.tap((ev) => {
    if (ev.type === "error") failed ??= ev.error;
  });
  try {
    if (!client.send(event)) return new Outcome(ExitCode.FAILED, "not sent: the connection closed (CHSK_ERR_CLOSED)");
    const by = deadline(timeoutMs);
    const done = await Promise.race([client.whenSent().then(() => "sent" as const), by.promise, ended]);
    by.cancel();
    if (done instanceof Outcome) return done;
    if (done === "timeout") return new Outcome(ExitCode.TIMEOUT, `not answered within ${timeoutMs} ms (CHSK_ERR_TIMEOUT)`);
    if (failed !== undefined) return new Outcome(ExitCode.FAILED, failureText(failed, "not sent"));
    return undefined;
  } finally {
    stopTap();
  }
}

function replyFailure(e: unknown, timeoutMs: number, elapsedMs: number): Outcome {
  if (!isChskError(e)) return new Outcome(ExitCode.FAILED, `send failed: ${errorText(e)}`);
  switch (e.code) {
    case "CHSK_ERR_TIMEOUT":
      // Our own timer, or the server's `:chsk/timeout` (Ajax) before it.
      return new Outcome(
        ExitCode.TIMEOUT,
        elapsedMs >= timeoutMs - 50 ? `no reply within ${timeoutMs} ms (CHSK_ERR_TIMEOUT)` : `no reply: ${e.message} (CHSK_ERR_TIMEOUT)`,
      );
    case "CHSK_ERR_CLOSED":
      return new Outcome(ExitCode.FAILED, `connection closed before the reply (CHSK_ERR_CLOSED)`);
    default:
      if (e.status !== undefined) return new Outcome(ExitCode.FAILED, `refused: ${e.message}`);
      return new Outcome(ExitCode.FAILED, `${errorText(e)} (${e.code})`);
  }
}
