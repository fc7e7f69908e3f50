#!/usr/bin/env node
/**
 * The `chsk` command line: commander wiring only. Each command parses its
 * flags into an options object, calls a library function that returns an
 * exit code, and exits with it.
 */
import { createRequire } from "node:module";
import { Command, InvalidArgumentError, Option } from "commander";
import { JSON_LINES_HELP } from "./call-help.js";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes.js";
import { PACKER_NAMES, type PackerName } from "../core/packers/index.js";
import { collectHeader, collectParam, parseChskUrl, parseOrigins, parsePort, parsePositiveInt } from "./options.js";
import { exitAfterFlush, terminationSignal } from "./process.js";
import { runServe } from "./serve.js";
import { INSPECT_HELP } from "./inspect-help.js";
import { BENCH_HELP } from "./bench-help.js";
import { BENCH_DEFAULTS, parseDurationMs, parseSegment } from "../bench/options.js";
import type { Scenario, TransportChoice } from "../bench/types.js";
import { webUi } from "../server/demo/web/index.js";
import { allowedHostProblem, dashboardTokenProblem } from "../server/demo/visibility.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };
const io = { stdout: process.stdout, stderr: process.stderr };

const program = new Command()
  .name("chsk")
  .description("Sente-compatible channel sockets for TypeScript: reference server and client tools")
  .version(version)
  .showSuggestionAfterError()
  // `chsk bench merge --json F`: a subcommand's options are its own, not its parent's.
  .enablePositionalOptions()
  // Usage errors exit 2; --help and --version exit 0.
  .exitOverride((err) => {
    const informational = err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
    process.exit(informational ? ExitCode.OK : ExitCode.USAGE);
  });

// ---------------------------------------------------------------------------
// chsk serve

interface ServeFlags {
  host: string;
  port: number;
  packer: PackerName;
  csrf: boolean;
  allowedOrigins?: "all" | string[];
  quiet?: boolean;
  logFormat: "text" | "json";
  open?: boolean;
  dashboardAdmin?: boolean;
  dashboardToken?: string;
  publicDashboard?: boolean;
  allowedHosts?: string[];
  inspectToken?: string;
  allowInspect?: boolean;
  maxFrameBytes?: number;
  maxDepth?: number;
  maxPendingPolls?: number;
  maxPendingPosts?: number;
  maxBufferedBytes?: number;
  bodyTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  idleTimeoutMs?: number;
  redis?: string;
  nodeId?: string;
  redisPrefix?: string;
  sessionKey?: string;
}

/** `--redis`: checked here, so a URL that is not redis:// is a usage error (exit 2). */
function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected redis://HOST:PORT, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new InvalidArgumentError(`expected redis://HOST:PORT (or rediss://), got ${url.protocol}//…`);
  if (url.hostname === "") throw new InvalidArgumentError(`expected redis://HOST:PORT, got no host in ${JSON.stringify(value)}`);
  return value;
}

/** `--node-id`: the characters a node id may have in Redis keys and channels. */
function parseNodeId(value: string): string {
  if (!/^[\w.:-]{1,64}$/.test(value)) throw new InvalidArgumentError("expected 1-64 characters of A-Z a-z 0-9 _ . : -");
  return value;
}

function parseRedisPrefix(value: string): string {
  if (value === "") throw new InvalidArgumentError("expected a non-empty prefix");
  return value;
}

/** `--session-key`: as long as the session store requires. */
function parseSessionKey(value: string): string {
  if (Buffer.byteLength(value) < 16) throw new InvalidArgumentError("expected at least 16 bytes");
  return value;
}

/** `--allowed-hosts a.test,.b.test`: checked here, so a bad name is a usage error (exit 2). */
function parseAllowedHosts(value: string): string[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new InvalidArgumentError("expected at least one host name");
  for (const name of names) {
    const problem = allowedHostProblem(name);
    if (problem !== null) throw new InvalidArgumentError(problem);
  }
  return names;
}

/** `--inspect-token`: checked here, so a bad one is a usage error (exit 2). */
function parseInspectToken(value: string): string {
  const problem = dashboardTokenProblem(value);
  if (problem !== null) throw new InvalidArgumentError(problem.replace("a dashboard token", "an inspect token"));
  return value;
}

/** `--dashboard-token`: checked here, so a bad one is a usage error (exit 2). */
function parseDashboardToken(value: string): string {
  const problem = dashboardTokenProblem(value);
  if (problem !== null) throw new InvalidArgumentError(problem);
  return value;
}

program
  .command("serve")
  .description("run the reference server (demo router, sessions, /api/stats)")
  .option("--host <host>", "interface to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on (0 picks a free one)", parsePort, 8090)
  .addOption(new Option("--packer <name>", "wire format").choices([...PACKER_NAMES]).default("edn"))
  .option("--no-csrf", "turn the /chsk CSRF check off")
  .option("--allowed-origins <urls>", "comma-separated origins allowed on /chsk (default: all)", parseOrigins)
  .option("--quiet", "print only the listening line and fatal errors")
  .addOption(new Option("--log-format <format>", "log lines on stderr").choices(["text", "json"]).default("text"))
  // The URLs are printed by default now; --open stays accepted for old scripts.
  .addOption(new Option("--open", "deprecated, no effect: the demo and dashboard URLs are always printed").hideHelp())
  .option("--dashboard-admin", "enable the dashboard's admin actions (passed to the web UI)")
  .addOption(
    new Option("--dashboard-token <token>", "the token the dashboard and the user ids in /api/stats need (default beyond loopback: generated, printed)")
      .env("CHSK_DASHBOARD_TOKEN")
      .argParser(parseDashboardToken)
      .conflicts("publicDashboard"),
  )
  .option("--public-dashboard", "no token: the dashboard and user ids are open to everyone, even beyond loopback")
  .option(
    "--allowed-hosts <names>",
    "on loopback: Host names besides localhost and loopback addresses that may see the dashboard and user ids (comma-separated; .name.test for subdomains too)",
    parseAllowedHosts,
  )
  .addOption(
    new Option("--inspect-token <token>", "serve the inspector stream (chsk inspect --attach) at /chsk-inspect to requests with Authorization: Bearer <token>")
      .env("CHSK_INSPECT_TOKEN")
      .argParser(parseInspectToken),
  )
  .option("--allow-inspect", "serve the inspector stream at /chsk-inspect behind a generated token (printed at start)")
  .option("--max-frame-bytes <n>", "largest WS frame / Ajax POST body accepted (default: 1048576)", parsePositiveInt)
  .option("--max-depth <n>", "deepest nesting accepted in received data (default: 64)", parsePositiveInt)
  .option("--max-pending-polls <n>", "Ajax polls one client may hold open (default: 2)", parsePositiveInt)
  .option("--max-pending-posts <n>", "Ajax POSTs awaiting a reply per client (default: 64)", parsePositiveInt)
  .option("--max-buffered-bytes <n>", "unread output one client may hold before it is dropped as a slow consumer (default: 4194304)", parsePositiveInt)
  .option("--body-timeout-ms <ms>", "an Ajax POST body must arrive within this, else 408 (default: 20000)", parsePositiveInt)
  .option("--headers-timeout-ms <ms>", "request headers must arrive within this, else 408 (default: 10000)", parsePositiveInt)
  .option("--request-timeout-ms <ms>", "a whole request must arrive within this, else 408; held polls are not cut (default: 30000)", parsePositiveInt)
  .option("--keep-alive-timeout-ms <ms>", "close an idle keep-alive connection after this (default: 5000)", parsePositiveInt)
  .option("--idle-timeout-ms <ms>", "cut an HTTP connection silent this long; > the 20 s long-poll (default: 60000)", parsePositiveInt)
  .addOption(
    new Option("--redis <url>", "be a node of a cluster on this Redis (redis://HOST:PORT[/DB]): users, pushes and presence shared with every chsk serve on it")
      .env("CHSK_REDIS_URL")
      .argParser(parseRedisUrl),
  )
  .option("--node-id <name>", "with --redis: this node's name in the cluster (default: HOSTNAME-PID)", parseNodeId)
  .option("--redis-prefix <prefix>", 'with --redis: prefix of every key and channel, so several clusters can share one Redis (default: "chsk:")', parseRedisPrefix)
  .addOption(
    new Option("--session-key <key>", "the key that signs session cookies, 16+ bytes; every node of a cluster needs the same one (default: ~/.chsk/session-secret)")
      .env("CHSK_SESSION_SECRET")
      .argParser(parseSessionKey),
  )
  .addHelpText(
    "after",
    `
Prints "chsk serve listening on http://HOST:PORT" on stdout once it accepts
connections, then (unless --quiet) the demo page and dashboard URLs and a
chsk call to try. SIGINT/SIGTERM close it gracefully (exit 0); it exits 1
if it cannot listen (EADDRINUSE…) and 2 on a usage error.

Routes: GET/POST /chsk, POST /login (uid=… | {"uid": …}), GET /csrf,
POST /logout, GET /api/stats. Demo events: [:demo/echo x], [:demo/whoami],
[:demo/push {:uid u :event ev}], [:demo/broadcast ev]. Pages: / (demo),
/dashboard.

Sessions are signed cookies, so they survive restarts; the key is
--session-key (or $CHSK_SESSION_SECRET), else ~/.chsk/session-secret
(created on first run).

Several servers can share their users: start each with the same --redis and
--session-key (and its own --node-id). A push from any node reaches the
user's tabs on every node, presence is cluster-wide, and an Ajax client's
polls may land on any node (no sticky sessions). It waits for Redis before
printing the listening line and exits 1 (CHSK_ERR_CLUSTER) if it can't
reach it; /api/stats and the dashboard then show the cluster.

Who sees whom: on loopback (the default host) the dashboard and /api/stats
are open to requests addressed to localhost or a loopback address (any port)
or a name given with --allowed-hosts; any other Host header (a DNS-rebinding
page, a proxy's public name) is treated as beyond loopback. Listening beyond
it (--host 0.0.0.0), the dashboard, the user ids in /api/stats and the admin
actions need a token: --dashboard-token (or $CHSK_DASHBOARD_TOKEN), else one
is generated and printed with the dashboard link; without it /api/stats
gives counts only. --public-dashboard opens them (no token, no Host check).

The inspector stream (every client's frames, for chsk inspect --attach) is
off unless --allow-inspect or --inspect-token is given, and always needs its
token, on loopback too: Authorization: Bearer <token> on GET /chsk-inspect.`,
  )
  .action(async (flags: ServeFlags, cmd: Command) => {
    if (flags.redis === undefined && (flags.nodeId !== undefined || flags.redisPrefix !== undefined)) {
      cmd.error(`error: ${flags.nodeId !== undefined ? "--node-id" : "--redis-prefix"} needs --redis`);
    }
    const code = await runServe(
      {
        host: flags.host,
        port: flags.port,
        packer: flags.packer,
        csrf: flags.csrf,
        allowedOrigins: flags.allowedOrigins ?? "all",
        quiet: flags.quiet ?? false,
        logFormat: flags.logFormat,
        open: flags.open ?? false,
        dashboardAdmin: flags.dashboardAdmin ?? false,
        dashboardToken: flags.dashboardToken,
        publicDashboard: flags.publicDashboard ?? false,
        ...(flags.allowedHosts === undefined ? {} : { allowedHosts: flags.allowedHosts }),
        inspectToken: flags.inspectToken,
        allowInspect: flags.allowInspect ?? false,
        limits: {
          maxFrameBytes: flags.maxFrameBytes,
          maxDepth: flags.maxDepth,
          maxPendingPollsPerClient: flags.maxPendingPolls,
          maxPendingPostsPerClient: flags.maxPendingPosts,
          maxBufferedBytesPerClient: flags.maxBufferedBytes,
          bodyTimeoutMs: flags.bodyTimeoutMs,
        },
        timeouts: {
          headersTimeoutMs: flags.headersTimeoutMs,
          requestTimeoutMs: flags.requestTimeoutMs,
          keepAliveTimeoutMs: flags.keepAliveTimeoutMs,
          idleTimeoutMs: flags.idleTimeoutMs,
        },
        ...(flags.redis === undefined ? {} : { cluster: { redis: flags.redis, nodeId: flags.nodeId, prefix: flags.redisPrefix } }),
        sessionKey: flags.sessionKey,
        // The demo page (/), the dashboard (/dashboard) and /chsk-client.js.
        web: webUi(),
      },
      { ...io, signal: terminationSignal() },
    );
    exitAfterFlush(code);
  });

// ---------------------------------------------------------------------------
// chsk call

interface CallFlags {
  transport?: "ws" | "ajax" | "auto";
  packer: PackerName;
  csrfToken?: string;
  param?: Record<string, string>;
  header?: Record<string, string>;
  cookie?: string;
  login?: string;
  session: boolean;
  timeoutMs: number;
  reply: boolean;
  waitPush?: number;
  pushTimeoutMs?: number;
  verbose?: boolean;
  json?: boolean;
}

program
  .command("call")
  .description("connect as a client, send one EDN event, print the reply as EDN")
  .argument("<url>", "the chsk endpoint: http(s)://HOST:PORT/PATH, ws(s)://… or HOST:PORT (no path: /chsk)")
  .argument("[event]", 'the event in EDN, e.g. \'[:demo/echo {:a 1}]\' (optional with --wait-push)')
  .addOption(new Option("--transport <type>", 'ws, ajax, or auto: WebSocket, then Ajax if it fails (default: "auto"; "ws" for a ws:// URL)').choices(["ws", "ajax", "auto"]))
  .addOption(new Option("--packer <name>", "wire format, as the server's (EVENT is always written in EDN)").choices([...PACKER_NAMES]).default("edn"))
  .option("--csrf-token <token>", "CSRF token to send (skips the /csrf probe); with --login it goes with the login, and the socket uses the token the login answers with, if any")
  .option("--param <k=v>", "extra query param on connect (repeatable)", collectParam)
  .option("--header <name:value>", "extra HTTP header (repeatable)", collectHeader)
  .option("--cookie <cookies>", 'cookies to send, "a=b; c=d"')
  .option("--login <uid>", "POST <origin>/login as uid (not empty) first and use that session")
  .option("--no-session", "don't probe GET <origin>/csrf for a token and session")
  .option("--timeout-ms <ms>", "bound on each HTTP request, connecting, and the reply", parsePositiveInt, 5000)
  .option("--no-reply", "send without asking for a reply, for events whose handler never replies")
  .option("--wait-push <n>", "then print the next n pushes, one per line (EVENT optional); fails if the connection closes first", parsePositiveInt)
  .option("--push-timeout-ms <ms>", "with --wait-push: give up after ms (default: wait)", parsePositiveInt)
  .option("--json", "print JSON lines on stdout instead of EDN (see below)")
  .option("--verbose", "print HTTP requests and every frame to stderr")
  .addHelpText(
    "after",
    `
Without --csrf-token or --login, GET <origin>/csrf is tried first (chsk serve's
convention) and its token and cookie are used if it answers 200 JSON; failing
that, the token is scraped from GET <origin>/ (a stock Sente page).

The first frame is checked: a server using another packer fails at once
("the server speaks edn, not transit: try --packer edn"), and so does a URL
that is not a Sente endpoint (a page, a 404) or a handshake too large or
deep to read. An EVENT the packer can't write (a big integer or a map with
number keys in JSON) is a usage error. Errors go to stderr, one line
each, ending with a stable code: chsk call: no reply within 5000 ms
(CHSK_ERR_TIMEOUT).

${JSON_LINES_HELP}

Examples:
  chsk call http://127.0.0.1:8090/chsk '[:demo/echo {:a 1}]'
  chsk call --login alice http://127.0.0.1:8090/chsk '[:demo/whoami]'
  chsk call --login alice --wait-push 1 http://127.0.0.1:8090/chsk
  chsk call --login alice --no-reply --wait-push 1 http://127.0.0.1:8090/chsk \\
    '[:demo/push {:uid "alice" :event [:demo/hello 1]}]'
  chsk call --json ws://127.0.0.1:8090/chsk '[:demo/echo #{1 2}]'

${EXIT_CODES_HELP}`,
  )
  .action(async (url: string, event: string | undefined, flags: CallFlags) => {
    // Loaded on use: the Node client and undici cost the other commands (chsk serve) nothing.
    const { runCall } = await import("./call.js");
    const code = await runCall(
      {
        url,
        event,
        transport: flags.transport,
        packer: flags.packer,
        csrfToken: flags.csrfToken,
        params: flags.param ?? {},
        headers: flags.header ?? {},
        cookie: flags.cookie,
        login: flags.login,
        session: flags.session,
        timeoutMs: flags.timeoutMs,
        noReply: !flags.reply,
        waitPush: flags.waitPush ?? 0,
        pushTimeoutMs: flags.pushTimeoutMs,
        verbose: flags.verbose ?? false,
        json: flags.json ?? false,
      },
      { ...io, signal: terminationSignal() },
    );
    exitAfterFlush(code);
  });

// ---------------------------------------------------------------------------
// chsk inspect

interface InspectFlags {
  proxy?: boolean;
  listen?: string;
  target?: string;
  path?: string;
  preserveHost?: boolean;
  maxDecodeBytes?: number;
  attach?: string;
  token?: string;
  replay?: string;
  har?: string;
  to?: string;
  asFastAsPossible?: boolean;
  comparePushes?: boolean;
  transport?: "ws" | "ajax" | "auto";
  packer?: PackerName;
  packerModule?: string;
  csrfToken?: string;
  param?: Record<string, string>;
  header?: Record<string, string>;
  cookie?: string;
  login?: string;
  session: boolean;
  timeoutMs: number;
  send?: string[];
  sendTimeoutMs?: number;
  tui?: boolean;
  format?: "text" | "jsonl";
  json?: boolean;
  filter?: string;
  record?: string;
  harOut?: string;
  buffer?: number;
  durationMs?: number;
  callTimeoutMs?: number;
  utc?: boolean;
}

const collectList = (value: string, previous: string[] = []): string[] => [...previous, value];

program
  .command("inspect")
  .description("watch a Sente channel's frames decoded, paired and grouped by user: as a client, a proxy, attached to a server, or from a recording")
  .argument("[url]", "client mode: the chsk endpoint to connect to (as chsk call)")
  .option("--proxy", "proxy mode: a reverse proxy in front of an app (--target), decoding its channel")
  .option("--listen <host:port>", "proxy mode: where to listen; port 0 picks a free one (default: 127.0.0.1:9000)")
  .option("--target <url>", "proxy mode: the app's origin, e.g. http://127.0.0.1:8090")
  .option("--path <path>", "the channel path (proxy mode, --har) (default: /chsk)")
  .option("--preserve-host", "proxy mode: pass Host, Origin and Referer as the browser sent them (default: rewritten to the target)")
  .option("--max-decode-bytes <n>", "proxy mode: larger payloads are forwarded but not decoded (default: 1048576)", parsePositiveInt)
  .option("--attach <url>", "attach mode: stream a running server's own view (chsk serve --allow-inspect, or an app with mountInspector)")
  .addOption(new Option("--token <token>", "attach mode: the server's inspector token").env("CHSK_INSPECT_TOKEN"))
  .option("--replay <file>", "replay a recording (--record / --format jsonl output)")
  .option("--har <file>", "replay a HAR export (Chrome DevTools: WebSocket messages and the channel's XHRs)")
  .option("--to <url>", "with --replay / --har: send the recorded client events to this server and compare the replies")
  .option("--as-fast-as-possible", "with --to: no recorded pacing, each event as soon as the replies before it are in")
  .option("--compare-pushes", "with --to: compare the pushes received too")
  .addOption(new Option("--transport <type>", "client mode, --to: ws, ajax, or auto (default: auto; ws for a ws:// URL)").choices(["ws", "ajax", "auto"]))
  .addOption(new Option("--packer <name>", "the wire format (default: the client's edn; detected when watching)").choices([...PACKER_NAMES]).conflicts("packerModule"))
  .option("--packer-module <file>", "a JS module exporting a custom packer (default export or `packer`)")
  .option("--csrf-token <token>", "client mode, --to: the CSRF token (skips the /csrf probe)")
  .option("--param <k=v>", "client mode, --to: extra query param on connect (repeatable)", collectParam)
  .option("--header <name:value>", "client mode, --to: extra HTTP header (repeatable)", collectHeader)
  .option("--cookie <cookies>", 'client mode, --to: cookies to send, "a=b; c=d"')
  .option("--login <uid>", "client mode, --to: POST <origin>/login as uid first")
  .option("--no-session", "client mode, --to: don't probe GET <origin>/csrf for a token and session")
  .option("--timeout-ms <ms>", "bound on each HTTP request of the session (with --to: on each reply too)", parsePositiveInt, 5000)
  .option("--send <event>", "client mode: send this EDN event once connected (repeatable, in order)", collectList)
  .option("--send-timeout-ms <ms>", "client mode: how long a sent event waits for its reply (default: 10000)", parsePositiveInt)
  .option("--tui", "the terminal UI even when stdout is not a terminal")
  .option("--no-tui", "one line per frame on stdout instead of the terminal UI")
  .addOption(new Option("--format <format>", "the lines without the TUI (implies --no-tui)").choices(["text", "jsonl"]))
  .addOption(new Option("--json", "same as --format jsonl").conflicts("format"))
  .option("--filter <expr>", "show only matching frames, e.g. 'ev:chat user:alice -kind:ping,pong' (see below)")
  .option("--record <file>", "write every frame to a JSONL recording (with any view)")
  .option("--har-out <file>", "write the session as HAR on exit (with any view)")
  .option("--buffer <n>", "frames the TUI keeps (a ring buffer; the oldest go first) (default: 10000)", parsePositiveInt)
  .option("--duration-ms <ms>", "stop after this long (exit 0)", parsePositiveInt)
  .option("--call-timeout-ms <ms>", "flag calls with no reply after this long (default: 10000)", parsePositiveInt)
  .option("--utc", "times in UTC instead of the local zone")
  .addHelpText("after", () => `\n${INSPECT_HELP}\n\n${EXIT_CODES_HELP.replace("ok: the reply (and any awaited pushes) printed, or with --no-reply: sent", "ok: quit, SIGINT/SIGTERM, --duration-ms, a replay's end, or --to with no difference")}`)
  .action(async (url: string | undefined, flags: InspectFlags) => {
    const format = flags.json === true ? "jsonl" : flags.format;
    // Loaded on use: the inspector (and with the TUI, ink and react) costs the other commands nothing.
    const { runInspect } = await import("./inspect.js");
    const code = await runInspect(
      {
        url,
        proxy:
          flags.proxy === true || flags.target !== undefined || flags.listen !== undefined
            ? { enabled: flags.proxy === true, listen: flags.listen ?? "127.0.0.1:9000", target: flags.target, path: flags.path, preserveHost: flags.preserveHost === true, maxDecodeBytes: flags.maxDecodeBytes }
            : undefined,
        attach: flags.attach === undefined ? undefined : { url: flags.attach, token: flags.token },
        replay: flags.replay,
        har: flags.har,
        harPath: flags.path,
        to: flags.to,
        asFastAsPossible: flags.asFastAsPossible === true,
        comparePushes: flags.comparePushes === true,
        transport: flags.transport,
        packer: flags.packer,
        packerModule: flags.packerModule,
        csrfToken: flags.csrfToken,
        params: flags.param ?? {},
        headers: flags.header ?? {},
        cookie: flags.cookie,
        login: flags.login,
        session: flags.session,
        timeoutMs: flags.timeoutMs,
        send: flags.send ?? [],
        sendTimeoutMs: flags.sendTimeoutMs,
        tui: format !== undefined ? false : flags.tui,
        format,
        filter: flags.filter,
        record: flags.record,
        harOut: flags.harOut,
        buffer: flags.buffer,
        durationMs: flags.durationMs,
        callTimeoutMs: flags.callTimeoutMs,
        utc: flags.utc === true,
      },
      { ...io, stdin: process.stdin, signal: terminationSignal() },
    );
    exitAfterFlush(code);
  });

// ---------------------------------------------------------------------------
// chsk bench

/** `10s`, `250ms`, `2m`: a usage error otherwise. */
function parseDuration(value: string): number {
  const ms = parseDurationMs(value);
  if (ms === null) throw new InvalidArgumentError("expected a duration such as 500ms, 10s or 2m");
  return ms;
}

function parseShare(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1)) throw new InvalidArgumentError("expected a share between 0 and 1, e.g. 0.3");
  return n;
}

function parseRate(value: string): number {
  const n = Number(value.replace(/\/s$/, ""));
  if (value.trim() === "" || !(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError("expected messages per second, e.g. 5000");
  return n;
}

function parseSegmentFlag(value: string): { index: number; count: number } {
  const s = parseSegment(value);
  if (s === null) throw new InvalidArgumentError("expected i/n with 1 <= i <= n, e.g. 2/4");
  return s;
}

function parseStartAt(value: string): number {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) throw new InvalidArgumentError("expected an ISO 8601 time, e.g. 2026-12-03T10:00:00Z");
  return t;
}

function parseMix(value: string): Record<"echo" | "push" | "connect", number> {
  const mix = { echo: 0, push: 0, connect: 0 };
  for (const part of value.split(",")) {
    const [k, v] = part.split("=").map((x) => x.trim());
    const n = Number(v);
    if (!(k === "echo" || k === "push" || k === "connect") || !(Number.isInteger(n) && n >= 0)) {
      throw new InvalidArgumentError("expected weights such as echo=6,push=3,connect=1");
    }
    mix[k] = n;
  }
  if (mix.echo + mix.push + mix.connect === 0) throw new InvalidArgumentError("at least one weight must be positive");
  return mix;
}

interface BenchFlags {
  spawn?: boolean;
  scenario: Scenario;
  users: number;
  devices: number;
  transport: TransportChoice;
  ajaxShare: number;
  inFlight?: number;
  rate?: number;
  ramp: number;
  warmup: number;
  duration: number;
  window: number;
  timeout: number;
  maxMessages: number;
  loginPath?: string;
  cookie?: string[];
  header?: string[];
  param?: string[];
  csrfToken?: string;
  setup?: string;
  workers: number;
  packer: PackerName;
  echoEvent: string;
  pushEvent: string;
  userPrefix: string;
  reconnectStorm?: boolean;
  mix?: Record<"echo" | "push" | "connect", number>;
  churn: number;
  json?: string;
  hlog?: string;
  html?: string;
  compare?: boolean;
  segment?: { index: number; count: number };
  startAt?: number;
  quiet?: boolean;
}

const bench = program
  .command("bench")
  .description("load-test a Sente endpoint with many multi-device users: echo, push, connect storms, WebSocket vs Ajax")
  .argument("[url]", "the chsk endpoint: http(s)://HOST:PORT/PATH, ws(s)://… or HOST:PORT (no path: /chsk); or --spawn", (v: string) => parseChskUrl(v).url.href)
  .option("--spawn", "start the reference server (chsk serve on 127.0.0.1) for the run and stop it after")
  .addOption(new Option("--scenario <name>", "echo, push, connect or mixed").choices(["echo", "push", "connect", "mixed"]).default(BENCH_DEFAULTS.scenario))
  .option("--users <n>", "simulated users", parsePositiveInt, BENCH_DEFAULTS.users)
  .option("--devices <n>", "devices (clients, each its own client-id) per user, sharing the user's session", parsePositiveInt, BENCH_DEFAULTS.devices)
  .addOption(new Option("--transport <type>", "ws, ajax, or mix (--ajax-share of the devices on Ajax)").choices(["ws", "ajax", "mix"]).default(BENCH_DEFAULTS.transport))
  .option("--ajax-share <f>", "with --transport mix: the share of devices on Ajax", parseShare, BENCH_DEFAULTS.ajaxShare)
  .addOption(new Option("--in-flight <n>", "echo, closed model: requests in flight per device (default: 1)").argParser(parsePositiveInt).conflicts("rate"))
  .option("--rate <r>", "open model: echo requests/s in total (latency from the intended send time), or pushes/s in total", parseRate)
  .option("--ramp <d>", "connect the devices evenly over this long (default: all at once)", parseDuration, BENCH_DEFAULTS.rampMs)
  .option("--warmup <d>", "load before the measured window, not counted; 0s disables it", parseDuration, BENCH_DEFAULTS.warmupMs)
  .option("--duration <d>", "the measured window", parseDuration, BENCH_DEFAULTS.durationMs)
  .option("--window <d>", "push: a delivery within this long counts for completeness", parseDuration, BENCH_DEFAULTS.windowMs)
  .option("--timeout <d>", "reply timeout of each request; also bounds each login", parseDuration, BENCH_DEFAULTS.timeoutMs)
  .option("--max-messages <n>", "hard bound on messages sent in all (the run ends by time anyway)", parsePositiveInt, BENCH_DEFAULTS.maxMessages)
  .option("--login-path <path>", "log each user in: POST <origin><path> with uid=<user> (the reference contract: /login)")
  .option("--cookie <template>", "a cookie per device, {user} and {device} filled in, e.g. 'sid={user}' (repeatable)", collectList)
  .option("--header <template>", "a header per device, e.g. 'Authorization: Bearer t-{user}' (repeatable)", collectList)
  .option("--param <template>", "a query param per device, e.g. 'token={user}-{device}' (repeatable)", collectList)
  .option("--csrf-token <token>", "the CSRF token every device sends (otherwise each session's)")
  .option("--setup <module>", "a JS module whose default export logs one user in (see below)")
  .option("--workers <n>", "load worker threads (one per core you can spare)", parsePositiveInt, BENCH_DEFAULTS.workers)
  .addOption(new Option("--packer <name>", "wire format, as the server's").choices([...PACKER_NAMES]).default(BENCH_DEFAULTS.packer))
  .option("--echo-event <id>", "echo: the event sent; its reply must be the data or {:echo data}", BENCH_DEFAULTS.echoEvent)
  .option("--push-event <id>", "push: the event that asks the server to push: demo/push takes {:uid u :event ev}, demo/broadcast takes ev", BENCH_DEFAULTS.pushEvent)
  .option("--user-prefix <s>", "users are named <prefix><index>", BENCH_DEFAULTS.userPrefix)
  .option("--reconnect-storm", "connect: then drop everyone at once (restart the server with --spawn) and time the way back")
  .option("--mix <weights>", "mixed: weights over users (default: echo=6,push=3,connect=1)", parseMix)
  .option("--churn <d>", "mixed: how often a connect-role device reconnects", parseDuration, BENCH_DEFAULTS.churnMs)
  .option("--compare", "run the scenario over ws, then over ajax, and report them side by side")
  .option("--json <file>", "write the report as JSON (with encoded histograms); - for stdout")
  .option("--hlog <file>", "write HdrHistogram interval logs (HistogramLogProcessor reads them)")
  .option("--html <file>", "write a self-contained HTML report with plots")
  .option("--segment <i/n>", "run the i-th of n equal shares of the users (and of --rate), for runs over several machines", parseSegmentFlag)
  .option("--start-at <iso>", "with --segment: start connecting at this time, so every share starts at once", parseStartAt)
  .option("--quiet", "no live progress")
  .enablePositionalOptions()
  .addHelpText("after", () => `\n${BENCH_HELP}`)
  .action(async (url: string | undefined, flags: BenchFlags) => {
    if ((url === undefined) === (flags.spawn !== true)) {
      bench.error(url === undefined ? "error: give the target URL, or --spawn to start the reference server" : "error: --spawn starts its own server: give no URL with it");
    }
    const target = url ?? "http://127.0.0.1/chsk";
    const { runBenchCommand } = await import("./bench.js");
    const code = await runBenchCommand(
      {
        options: {
          ...BENCH_DEFAULTS,
          url: target,
          scenario: flags.scenario,
          users: flags.users,
          devices: flags.devices,
          transport: flags.transport,
          ajaxShare: flags.ajaxShare,
          ...(flags.inFlight !== undefined ? { inFlight: flags.inFlight } : {}),
          ...(flags.rate !== undefined ? { rate: flags.rate } : {}),
          rampMs: flags.ramp,
          warmupMs: flags.warmup,
          durationMs: flags.duration,
          windowMs: flags.window,
          timeoutMs: flags.timeout,
          maxMessages: flags.maxMessages,
          workers: flags.workers,
          packer: flags.packer,
          echoEvent: flags.echoEvent,
          pushEvent: flags.pushEvent,
          userPrefix: flags.userPrefix,
          reconnectStorm: flags.reconnectStorm === true,
          mix: flags.mix ?? BENCH_DEFAULTS.mix,
          churnMs: flags.churn,
          auth: {
            ...(flags.loginPath !== undefined ? { loginPath: flags.loginPath } : {}),
            ...(flags.cookie ? { cookies: flags.cookie } : {}),
            ...(flags.header ? { headers: flags.header } : {}),
            ...(flags.param ? { params: flags.param } : {}),
            ...(flags.csrfToken !== undefined ? { csrfToken: flags.csrfToken } : {}),
            ...(flags.setup !== undefined ? { setupModule: flags.setup } : {}),
          },
          ...(flags.segment ? { segment: flags.segment } : {}),
          ...(flags.startAt !== undefined ? { startAt: flags.startAt } : {}),
        },
        spawn: flags.spawn === true,
        compare: flags.compare === true,
        outputs: { json: flags.json, hlog: flags.hlog, html: flags.html },
        quiet: flags.quiet === true,
      },
      { ...io, signal: terminationSignal() },
    );
    exitAfterFlush(code);
  });

bench
  .command("merge")
  .description("merge the --json reports of several segments (--segment i/n) into one: histograms merged, percentiles recomputed")
  .argument("<files...>", "the segments' --json files")
  .option("--json <file>", "write the merged report as JSON; - for stdout")
  .option("--hlog <file>", "write HdrHistogram interval logs")
  .option("--html <file>", "write the HTML report")
  .action(async (files: string[], flags: { json?: string; hlog?: string; html?: string }) => {
    const { runBenchMerge } = await import("./bench.js");
    exitAfterFlush(await runBenchMerge(files, flags, io));
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`chsk: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  exitAfterFlush(ExitCode.FAILED);
});
