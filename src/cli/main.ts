#!/usr/bin/env node
/**
 * The `chsk` command line: commander wiring only. Each command parses its
 * flags into an options object, calls a library function that returns an
 * exit code, and exits with it.
 */
import { createRequire } from "node:module";
import { Command, InvalidArgumentError, Option } from "commander";
import { JSON_LINES_HELP, runCall } from "./call.js";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes.js";
import { PACKER_NAMES, type PackerName } from "../core/packers/index.js";
import { collectHeader, collectParam, parseOrigins, parsePort, parsePositiveInt } from "./options.js";
import { exitAfterFlush, terminationSignal } from "./process.js";
import { runServe } from "./serve.js";
import { webUi } from "../server/demo/web/index.js";
import { allowedHostProblem, dashboardTokenProblem } from "../server/demo/visibility.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };
const io = { stdout: process.stdout, stderr: process.stderr };

const program = new Command()
  .name("chsk")
  .description("Sente-compatible channel sockets for TypeScript: reference server and client tools")
  .version(version)
  .showSuggestionAfterError()
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
$CHSK_SESSION_SECRET, else ~/.chsk/session-secret (created on first run).

Who sees whom: on loopback (the default host) the dashboard and /api/stats
are open to requests addressed to localhost or a loopback address (any port)
or a name given with --allowed-hosts; any other Host header (a DNS-rebinding
page, a proxy's public name) is treated as beyond loopback. Listening beyond
it (--host 0.0.0.0), the dashboard, the user ids in /api/stats and the admin
actions need a token: --dashboard-token (or $CHSK_DASHBOARD_TOKEN), else one
is generated and printed with the dashboard link; without it /api/stats
gives counts only. --public-dashboard opens them (no token, no Host check).`,
  )
  .action(async (flags: ServeFlags) => {
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

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`chsk: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  exitAfterFlush(ExitCode.FAILED);
});
