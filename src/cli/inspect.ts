/**
 * `chsk inspect`: a source of frames (a client, a proxy, a server's
 * inspector stream, a recording or a HAR) decoded into a view (the TUI, or
 * one line per frame) and any outputs (`--record`, `--har-out`). With
 * `--to`, a recording's calls are sent again to a live server instead, and
 * the new replies compared with the recorded ones.
 *
 * Like `chsk call`, the whole command is {@link runInspect}: parsed options
 * and its streams in, an exit code out.
 */
import { createInterface } from "node:readline";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { ChskError, type ChskErrorCode, type FrameRecord, isChskError, packerByName, type Packer, type PackerName } from "../core/index.js";
import type { ClientType } from "../core/client/index.node.js";
import { compileFilter } from "../inspector/filter.js";
import { createInspectSession, type InspectSession } from "../inspector/inspect-session.js";
import { loadRecording } from "../inspector/load-recording.js";
import { createHarWriter } from "../inspector/output/har-writer.js";
import { createJsonlWriter } from "../inspector/output/jsonl-writer.js";
import type { RecordWriter } from "../inspector/output/record-writer.js";
import { createRecording } from "../inspector/output/recording.js";
import { createTextWriter } from "../inspector/output/text-writer.js";
import { shouldUseColor } from "../inspector/output/use-color.js";
import { replayTo } from "../inspector/replay-to.js";
import { formatReplayedEvent, formatReplayReport } from "../inspector/replay-to-report.js";
import { createAttachSource } from "../inspector/sources/attach.js";
import { createClientSource } from "../inspector/sources/client.js";
import { createHarSource } from "../inspector/sources/har.js";
import { createProxySource } from "../inspector/sources/proxy.js";
import { createReplaySource } from "../inspector/sources/replay.js";
import type { SendingSource, SourceEnd, SourceNotice, WireSource } from "../inspector/sources/types.js";
import { FrameStore } from "../inspector/store.js";
import { type CliIo, ExitCode } from "./exit-codes.js";
import { parseChskUrl } from "./options.js";

export interface InspectOptions {
  /** Client mode: the chsk endpoint to connect to. */
  url?: string | undefined;
  /** Proxy mode. */
  proxy?:
    | {
        /** `--proxy` given (`--listen` / `--target` without it are a usage error). @default true */
        enabled?: boolean;
        listen: string;
        target: string | undefined;
        path?: string | undefined;
        preserveHost?: boolean;
        maxDecodeBytes?: number | undefined;
      }
    | undefined;
  /** Attach mode: the server (origin or stream URL) and its inspector token. */
  attach?: { url: string; token?: string | undefined; path?: string | undefined } | undefined;
  /** Replay a recording (JSONL). */
  replay?: string | undefined;
  /** Replay a HAR export. */
  har?: string | undefined;
  /** With `replay` / `har`: the channel path in the HAR. */
  harPath?: string | undefined;
  /** With `replay` / `har`: send the recorded calls to this live server and compare the replies. */
  to?: string | undefined;
  asFastAsPossible?: boolean;
  comparePushes?: boolean;

  // The client's session and connection (client mode, and --to).
  transport?: ClientType | undefined;
  packer?: PackerName | undefined;
  /** A module whose default (or `packer`) export is a packer, or a function returning one. */
  packerModule?: string | undefined;
  csrfToken?: string | undefined;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  cookie?: string | undefined;
  login?: string | undefined;
  session?: boolean;
  /** Bounds the session's HTTP requests (and, with --to, each call). @default 5000 */
  timeoutMs?: number;
  /** Events (EDN) to send once connected, in order, each awaiting its reply. */
  send?: string[];
  /** How long a sent event waits for its reply. @default 10_000 */
  sendTimeoutMs?: number;

  // The view.
  /** undefined: the TUI when stdin and stdout are terminals. */
  tui?: boolean | undefined;
  /** @default "text" */
  format?: "text" | "jsonl";
  filter?: string | undefined;
  record?: string | undefined;
  harOut?: string | undefined;
  /** Records the TUI keeps (its ring buffer). @default 10_000 */
  buffer?: number | undefined;
  /** Stop after this long, ms (exit 0). */
  durationMs?: number | undefined;
  /** A call unanswered this long is flagged. @default 10_000 */
  callTimeoutMs?: number | undefined;
  utc?: boolean;
}

export interface InspectDeps extends CliIo {
  stdin?: NodeJS.ReadStream;
  /** Aborting (SIGINT / SIGTERM) ends the session: outputs flushed, exit 0. */
  signal?: AbortSignal;
  env?: Readonly<Record<string, string | undefined>>;
}

const SOURCE_FLAGS = ["URL", "--proxy", "--attach", "--replay", "--har"] as const;

/** Said on stderr: `chsk inspect: message (CODE)`. */
function say(stderr: CliIo["stderr"], message: string, code?: string): void {
  const suffix = code === undefined || message.includes(code) ? "" : ` (${code})`;
  stderr.write(`chsk inspect: ${message}${suffix}\n`);
}

/** How a failure ends the command. */
function exitFor(code: string | undefined): ExitCode {
  return code === "CHSK_ERR_TIMEOUT" ? ExitCode.TIMEOUT : ExitCode.FAILED;
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly code?: ChskErrorCode,
  ) {
    super(message);
  }
}

/** `--packer-module`: a module's default / `packer` export, a packer or a function making one. */
export async function loadPackerModule(path: string): Promise<Packer> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolvePath(path)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new ChskError("CHSK_ERR_PACKER_MODULE", `cannot load --packer-module ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  let p = mod["default"] ?? mod["packer"];
  if (typeof p === "function" && !isPacker(p)) p = await (p as () => unknown)();
  if (!isPacker(p)) {
    throw new ChskError(
      "CHSK_ERR_PACKER_MODULE",
      `--packer-module ${path} exports no packer: expected a default (or "packer") export with name, pack and unpack, or a function returning one`,
    );
  }
  return p;
}

function isPacker(p: unknown): p is Packer {
  if (p === null || (typeof p !== "object" && typeof p !== "function")) return false;
  const o = p as Record<string, unknown>;
  return typeof o["name"] === "string" && typeof o["pack"] === "function" && typeof o["unpack"] === "function";
}

interface Plan {
  source: WireSource;
  /** A live source: time passes in the decoder, `--duration-ms` applies. */
  live: boolean;
  packer: Packer | undefined;
  /** Where `--har-out` says the channel was. */
  channelUrl: string | undefined;
}

async function planSource(o: InspectOptions, packer: Packer | undefined): Promise<Plan> {
  const given = [o.url !== undefined, o.proxy !== undefined, o.attach !== undefined, o.replay !== undefined, o.har !== undefined].filter(Boolean).length;
  if (given === 0) throw new UsageError(`nothing to inspect: give one of ${SOURCE_FLAGS.join(", ")} (see chsk inspect --help)`);
  if (given > 1) throw new UsageError(`give only one of ${SOURCE_FLAGS.join(", ")}`);
  if (o.url !== undefined) {
    let url: URL;
    let ws: boolean;
    try {
      ({ url, ws } = parseChskUrl(o.url));
    } catch (e) {
      throw new UsageError(`invalid URL ${JSON.stringify(o.url)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (o.login !== undefined && o.login.trim() === "") throw new UsageError("--login needs a uid, not an empty or blank one");
    const source = createClientSource({
      url: url.href,
      transport: o.transport ?? (ws ? "ws" : "auto"),
      packer: packer ?? o.packer ?? "edn",
      login: o.login,
      cookie: o.cookie,
      headers: o.headers ?? {},
      csrfToken: o.csrfToken,
      params: o.params ?? {},
      session: o.session !== false,
      timeoutMs: o.timeoutMs ?? 5000,
    });
    return { source, live: true, packer: packer ?? packerByName(o.packer ?? "edn"), channelUrl: url.href };
  }
  if (o.proxy !== undefined) {
    const p = o.proxy;
    if (p.enabled === false) throw new UsageError("--listen and --target go with --proxy");
    if (p.target === undefined) throw new UsageError("--proxy needs --target URL: the app's origin, e.g. http://127.0.0.1:8090");
    let target: URL;
    try {
      target = new URL(p.target);
      if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error("expected http(s)://");
    } catch (e) {
      throw new UsageError(`invalid --target ${JSON.stringify(p.target)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (p.path !== undefined && !p.path.startsWith("/")) throw new UsageError(`--path must start with /: ${JSON.stringify(p.path)}`);
    const source = createProxySource({
      target: target.href,
      listen: p.listen,
      ...(p.path === undefined ? {} : { path: p.path }),
      ...(p.maxDecodeBytes === undefined ? {} : { maxDecodeBytes: p.maxDecodeBytes }),
      preserveHost: p.preserveHost === true,
    });
    return { source, live: true, packer, channelUrl: new URL(p.path ?? "/chsk", target).href };
  }
  if (o.attach !== undefined) {
    const a = o.attach;
    if (a.token === undefined || a.token === "") {
      throw new UsageError("--attach needs the server's inspector token: --token T or $CHSK_INSPECT_TOKEN (chsk serve prints it with --allow-inspect)");
    }
    try {
      new URL(a.url);
    } catch {
      throw new UsageError(`invalid --attach URL ${JSON.stringify(a.url)}: expected e.g. http://127.0.0.1:8090`);
    }
    const source = createAttachSource({ url: a.url, token: a.token, ...(a.path === undefined ? {} : { path: a.path }) });
    return { source, live: true, packer, channelUrl: undefined };
  }
  if (o.replay !== undefined) {
    return { source: createReplaySource({ path: o.replay, packer: packer?.name }), live: false, packer, channelUrl: undefined };
  }
  return { source: createHarSource({ file: o.har!, path: o.harPath, packer: packer?.name }), live: false, packer, channelUrl: undefined };
}

export async function runInspect(o: InspectOptions, deps: InspectDeps): Promise<number> {
  const { stderr } = deps;
  const env = deps.env ?? process.env;
  const stdin = deps.stdin ?? process.stdin;
  try {
    let packer: Packer | undefined;
    if (o.packerModule !== undefined) {
      if (o.packer !== undefined) throw new UsageError("give --packer or --packer-module, not both");
      packer = await loadPackerModule(o.packerModule);
    } else if (o.packer !== undefined) {
      packer = packerByName(o.packer);
    }
    const filter = compileFilter(o.filter ?? "");
    if (!filter.ok) throw new UsageError(`invalid --filter: ${filter.error}`);
    if (o.to !== undefined) return await runReplayTo(o, packer, filter.predicate, deps);
    if (o.asFastAsPossible === true || o.comparePushes === true) throw new UsageError("--as-fast-as-possible and --compare-pushes go with --to URL");

    const plan = await planSource(o, packer);
    return await runSession(o, plan, filter.predicate, { ...deps, env, stdin });
  } catch (e) {
    if (e instanceof UsageError) {
      say(stderr, e.message, e.code);
      return ExitCode.USAGE;
    }
    if (isChskError(e)) {
      say(stderr, e.message, e.code);
      return e.code === "CHSK_ERR_PACKER_MODULE" ? ExitCode.USAGE : exitFor(e.code);
    }
    throw e;
  }
}

async function runSession(
  o: InspectOptions,
  plan: Plan,
  predicate: ((r: FrameRecord) => boolean) | undefined,
  deps: InspectDeps & { env: Readonly<Record<string, string | undefined>>; stdin: NodeJS.ReadStream },
): Promise<number> {
  const { stdout, stderr, env, stdin, signal } = deps;
  const { source } = plan;
  const out = stdout as NodeJS.WriteStream;
  const tui = o.tui ?? (out.isTTY === true && stdin.isTTY === true && o.format === undefined);
  const outputs: RecordWriter[] = [];
  let failedOutput: ChskError | undefined;
  const onFileError = (e: ChskError) => {
    failedOutput ??= e;
    say(stderr, e.message, e.code);
  };
  if (o.record !== undefined) outputs.push(createRecording(o.record, { onError: onFileError }));
  if (o.harOut !== undefined) outputs.push(createHarWriter(o.harOut, { ...(plan.channelUrl === undefined ? {} : { url: plan.channelUrl }), onError: onFileError }));

  const color = shouldUseColor(out, env);
  const store = tui ? new FrameStore({ capacity: o.buffer ?? 10_000 }) : undefined;
  const writer = tui ? undefined : o.format === "jsonl" ? createJsonlWriter(stdout) : createTextWriter(stdout, { color, utc: o.utc === true });
  const session: InspectSession = createInspectSession({
    source,
    decoder: {
      ...(plan.packer === undefined ? {} : { packer: plan.packer }),
      ...(o.callTimeoutMs === undefined ? {} : { callTimeoutMs: o.callTimeoutMs }),
    },
    store,
    outputs,
    view: writer === undefined ? undefined : { writer, predicate },
    tickMs: plan.live ? 500 : undefined,
  });

  // Notices go to stderr in line mode; the TUI shows them itself.
  const stopNotices = tui
    ? () => {}
    : source.onNotice((n: SourceNotice) => {
        // The client's logger names itself; here the line already says who speaks.
        if (n.level !== "debug") say(stderr, n.message.replace(/^chsk client: /, ""), n.code);
      });

  const closeAll = async () => {
    await source.close().catch(() => {});
    await session.close();
    stopNotices();
  };

  if (signal?.aborted) {
    await closeAll();
    return ExitCode.OK;
  }
  try {
    await source.start();
  } catch (e) {
    const err = isChskError(e) ? e : new ChskError("CHSK_ERR_TRANSPORT", e instanceof Error ? e.message : String(e), { cause: e });
    await closeAll();
    if (signal?.aborted) return ExitCode.OK;
    say(stderr, err.message, err.code);
    return exitFor(err.code);
  }
  if (source.kind === "proxy") {
    const url = (source as ReturnType<typeof createProxySource>).url;
    // stderr: stdout may be the JSONL stream (`--format jsonl > file`).
    stderr.write(`chsk inspect proxy listening on ${url}\nforwarding to ${o.proxy!.target}, decoding ${o.proxy!.path ?? "/chsk"}\n`);
  }

  const sending = source.kind === "client" ? (source as SendingSource) : undefined;
  const sendTimeoutMs = o.sendTimeoutMs ?? 10_000;
  if (sending !== undefined) {
    const sendLine = async (text: string) => {
      try {
        await sending.send(text, sendTimeoutMs);
      } catch (e) {
        // The frames are in the view; a failure is said.
        say(stderr, `${text}: ${e instanceof Error ? e.message : String(e)}`, isChskError(e) ? e.code : undefined);
      }
    };
    if ((o.send ?? []).length > 0) void sendAfterHandshake(session, o.send ?? [], sendLine, signal);
    // Without the TUI, lines on stdin are events to send.
    if (!tui) readEventLines(stdin, session, sendLine);
  }

  // How it ends: the user (signal, TUI quit), the clock (--duration-ms), or the source.
  const ends: Promise<{ code: number }>[] = [];
  let stopTimer = () => {};
  if (o.durationMs !== undefined) {
    ends.push(
      new Promise((resolve) => {
        const t = setTimeout(() => resolve({ code: ExitCode.OK }), o.durationMs);
        stopTimer = () => clearTimeout(t);
      }),
    );
  }
  let unmountTui: (() => void) | undefined;
  if (signal !== undefined) {
    ends.push(
      new Promise((resolve) => {
        if (signal.aborted) resolve({ code: ExitCode.OK });
        signal.addEventListener("abort", () => resolve({ code: ExitCode.OK }), { once: true });
      }),
    );
  }
  const sourceEnded = source.done.then((end: SourceEnd) => end);
  if (tui) {
    // ink and react load only for the TUI; production mode keeps React's dev checks off the hot path.
    process.env["NODE_ENV"] ??= "production";
    const { runTui } = await import("../inspector/tui/index.js");
    const handle = runTui({
      store: store!,
      source,
      ...(sending === undefined ? {} : { onSend: (text, { timeoutMs }) => sending.send(text, timeoutMs), sendTimeoutMs }),
      initialFilter: o.filter,
      utc: o.utc === true,
      color,
      stdout: out,
      stdin,
      stderr: stderr as NodeJS.WriteStream,
      env,
      // Signals come through `signal`, the one way out for every mode.
      signals: false,
    });
    unmountTui = () => handle.unmount();
    ends.push(handle.waitUntilExit().then((x) => ({ code: x.code })));
    // The source failing does not close the TUI: its status line says why, the user quits.
  } else {
    ends.push(
      sourceEnded.then((end) => {
        if (end.reason === "failed") {
          say(stderr, end.error.message, end.error.code);
          return { code: exitFor(end.error.code) };
        }
        return { code: ExitCode.OK };
      }),
    );
  }

  let { code } = await Promise.race(ends);
  stopTimer();
  unmountTui?.();
  await closeAll();
  if (tui) {
    const end = await Promise.race([sourceEnded, Promise.resolve(undefined)]);
    if (end?.reason === "failed" && code === ExitCode.OK) {
      say(stderr, end.error.message, end.error.code);
      code = exitFor(end.error.code);
    }
  }
  if (o.record !== undefined && failedOutput === undefined) say(stderr, `${session.count} records written to ${o.record}`);
  if (failedOutput !== undefined && code === ExitCode.OK) code = ExitCode.FAILED;
  return code;
}

/** `--send`: once the first handshake is in, each event in turn. */
function sendAfterHandshake(session: InspectSession, events: string[], send: (text: string) => Promise<void>, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const off = session.onRecord((r) => {
      if (r.kind !== "handshake") return;
      off();
      resolve();
    });
  }).then(async () => {
    for (const text of events) {
      if (signal?.aborted) return;
      await send(text);
    }
  });
}

/** Lines typed or piped on stdin are events to send (after the handshake). */
function readEventLines(stdin: NodeJS.ReadStream, session: InspectSession, send: (text: string) => Promise<void>): void {
  let connected = false;
  const waiting: string[] = [];
  let chain = Promise.resolve();
  const enqueue = (text: string) => {
    chain = chain.then(() => send(text));
  };
  const off = session.onRecord((r) => {
    if (r.kind !== "handshake") return;
    off();
    connected = true;
    for (const t of waiting.splice(0)) enqueue(t);
  });
  const rl = createInterface({ input: stdin, terminal: false });
  rl.on("line", (line) => {
    const text = line.trim();
    if (text === "" || text.startsWith(";")) return;
    if (connected) enqueue(text);
    else waiting.push(text);
  });
  // The session, not stdin, decides when it ends: a closed stdin (`< /dev/null`) is no reason to stop.
  stdin.on("error", () => {});
  (stdin as NodeJS.ReadStream & { unref?: () => void }).unref?.();
}

async function runReplayTo(
  o: InspectOptions,
  packer: Packer | undefined,
  predicate: ((r: FrameRecord) => boolean) | undefined,
  deps: InspectDeps,
): Promise<number> {
  const { stdout, stderr, signal } = deps;
  const file = o.replay ?? o.har;
  if (file === undefined || (o.replay !== undefined && o.har !== undefined)) throw new UsageError("--to URL replays a recording: give --replay FILE.jsonl or --har FILE.har");
  if (o.url !== undefined || o.proxy !== undefined || o.attach !== undefined) throw new UsageError("--to goes with --replay / --har only");
  let url: URL;
  try {
    url = parseChskUrl(o.to!).url;
  } catch (e) {
    throw new UsageError(`invalid --to URL ${JSON.stringify(o.to)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const records = await loadRecording(file, {
    har: o.har !== undefined,
    ...(o.harPath === undefined ? {} : { path: o.harPath }),
    ...(packer === undefined ? {} : { packer }),
  });
  const color = shouldUseColor(stdout as NodeJS.WriteStream, deps.env ?? process.env);
  const json = o.format === "jsonl";
  if (!json) stdout.write(`replaying ${records.length} records of ${file} to ${url.href}\n`);
  const result = await replayTo({
    records,
    url: url.href,
    ...(predicate === undefined ? {} : { filter: predicate }),
    ...(o.transport === undefined ? {} : { transport: o.transport }),
    ...(packer === undefined ? {} : { packer }),
    asFastAsPossible: o.asFastAsPossible === true,
    comparePushes: o.comparePushes === true,
    timeoutMs: o.timeoutMs ?? 5000,
    login: o.login,
    cookie: o.cookie,
    headers: o.headers ?? {},
    csrfToken: o.csrfToken,
    params: o.params ?? {},
    session: o.session !== false,
    onEvent: (e) => {
      if (json) stdout.write(`${JSON.stringify({ type: "event", ...e })}\n`);
      else for (const line of formatReplayedEvent(e, { color })) stdout.write(`${line}\n`);
    },
    ...(signal === undefined ? {} : { signal }),
  });
  if (json) stdout.write(`${JSON.stringify({ type: "summary", ok: result.ok, url: result.url, transport: result.transport, packer: result.packer, summary: result.summary, pushes: result.pushes, interrupted: result.interrupted })}\n`);
  else {
    const lines = formatReplayReport(result, { color });
    // The header and the per-event lines are out already: the summary follows them.
    const shown = 1 + result.events.reduce((n, e) => n + formatReplayedEvent(e, { color }).length, 0);
    for (const line of lines.slice(shown)) stdout.write(`${line}\n`);
  }
  if (result.interrupted) return ExitCode.INTERRUPTED;
  return result.ok ? ExitCode.OK : ExitCode.FAILED;
}

