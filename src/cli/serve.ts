/**
 * `chsk serve`: runs the reference server until `signal` aborts (SIGINT /
 * SIGTERM in the CLI), then closes it gracefully.
 */
import { isIP } from "node:net";
import { httpUrl, startReferenceServer, type ReferenceServer, type WebHook, type WebHookFactory } from "../server/demo/app.js";
import { createLogger, type LogFormat, silentLogger } from "../server/demo/logger.js";
import type { PackerName } from "../core/packers/index.js";
import { redisCluster } from "../server/cluster/redis.js";
import type { ClusterOption } from "../server/cluster/types.js";
import { ChskError } from "../core/protocol/errors.js";
import { type CliIo, ExitCode } from "./exit-codes.js";

export interface ServeOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8090 */
  port?: number;
  /** @default "edn" */
  packer?: PackerName;
  /** @default true */
  csrf?: boolean;
  /** @default "all" */
  allowedOrigins?: "all" | readonly string[];
  /** Only the listening line and fatal errors. @default false */
  quiet?: boolean;
  /** @default "text" */
  logFormat?: LogFormat;
  /**
   * @deprecated Ignored: the demo and dashboard URLs are printed whenever
   * there is a `web` hook and the server is not `quiet`.
   */
  open?: boolean;
  /** Passed to the web hook. @default false */
  dashboardAdmin?: boolean;
  /** The dashboard and identities need this token (`--dashboard-token`). @default generated beyond loopback, none on it */
  dashboardToken?: string | undefined;
  /** The dashboard and identities are open to everyone, wherever it listens (`--public-dashboard`). @default false */
  publicDashboard?: boolean;
  /** On loopback: more `Host` names that may see the dashboard and identities (`--allowed-hosts`). @default [] */
  allowedHosts?: readonly string[];
  /**
   * Mount the inspector stream (`chsk inspect --attach`) at `/chsk-inspect`
   * behind this token (`--inspect-token`, `$CHSK_INSPECT_TOKEN`). @default not mounted
   */
  inspectToken?: string | undefined;
  /** Mount the inspector stream behind a generated token, printed at start (`--allow-inspect`). @default false */
  allowInspect?: boolean;
  /** The browser demo page / dashboard (see `WebHook`). */
  web?: WebHook | WebHookFactory;
  /** Server limits (`createServer` options of the same names); unset: the library's defaults. */
  limits?: ServeLimits;
  /** HTTP timeouts (`startReferenceServer` options of the same names); unset: its defaults. */
  timeouts?: ServeTimeouts;
  /** Be a node of a cluster on this Redis (`--redis`, `--node-id`, `--redis-prefix`). @default a server of its own */
  cluster?: ServeCluster;
  /**
   * The key that signs session cookies (`--session-key`, `$CHSK_SESSION_SECRET`);
   * every node of a cluster needs the same one. @default `~/.chsk/session-secret`
   */
  sessionKey?: string | undefined;
}

export interface ServeCluster {
  /** `redis://host:port[/db]` (or `rediss://`). */
  redis: string;
  /** @default `${hostname}-${pid}` */
  nodeId?: string | undefined;
  /** Prefix of every key and channel. @default "chsk:" */
  prefix?: string | undefined;
}

export interface ServeLimits {
  maxFrameBytes?: number | undefined;
  maxDepth?: number | undefined;
  maxPendingPollsPerClient?: number | undefined;
  maxPendingPostsPerClient?: number | undefined;
  maxBufferedBytesPerClient?: number | undefined;
  bodyTimeoutMs?: number | undefined;
}

export interface ServeTimeouts {
  headersTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  keepAliveTimeoutMs?: number | undefined;
  idleTimeoutMs?: number | undefined;
}

export interface ServeDeps extends CliIo {
  /** Aborting closes the server; `runServe` then resolves. */
  signal: AbortSignal;
  /** Called once listening (tests use it to reach the server). */
  onListening?: (server: ReferenceServer) => void;
}

/** exactOptionalPropertyTypes: drop the limits not given. */
const definedOnly = <T extends object>(o: T): { [K in keyof T]?: number } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };

/** The first line, exactly: tools wait for it and read the URL (the listen address, even a wildcard). */
export const listeningLine = (url: string) => `chsk serve listening on ${url}`;

/**
 * Where a browser on this machine reaches a server listening on `host`:
 * the listen address itself, except for a wildcard (`0.0.0.0`, `::`),
 * which browsers refuse to open; the matching loopback address then.
 */
export function browseUrl(host: string, port: number): string {
  const wildcard = isIP(host) !== 0 && /^[0.:]+$/.test(host);
  return httpUrl(wildcard ? (isIP(host) === 6 ? "::1" : "127.0.0.1") : host, port);
}

/**
 * What a newcomer needs after the listening line (which stays first: tools
 * wait for it): the pages, and a first command to try. `url` is where a
 * browser goes ({@link browseUrl}). `npx`: after `npm install chsk` the
 * command is in `node_modules/.bin`, not on the PATH.
 */
export function startHints(url: string, options: Pick<ServeOptions, "web" | "packer">, dashboardToken?: string): string {
  const packer = options.packer === undefined || options.packer === "edn" ? "" : ` --packer ${options.packer}`;
  const pages = options.web === undefined ? "" : `demo:      ${url}/\ndashboard: ${dashboardUrl(url, dashboardToken)}\n`;
  return `${pages}try:       npx chsk call${packer} ${url}/chsk '[:demo/echo {:a 1}]'\n`;
}

/** The dashboard link; with the token when one is needed (the page trades it for a cookie). */
const dashboardUrl = (url: string, token: string | undefined) => (token === undefined ? `${url}/dashboard` : `${url}/dashboard?token=${token}`);

/**
 * Where the inspector stream is and what it needs; the token itself only
 * when it was generated (one given by flag or environment is not echoed
 * into logs). Said even with --quiet: without it the stream is unusable.
 */
export function inspectNote(url: string, path: string, token: string, generated: boolean): string {
  return `inspect:   ${url}${path} (Authorization: Bearer ${generated ? token : "<your --inspect-token>"})
`;
}

/** A Redis URL fit for logs: any password masked. */
export function redisForDisplay(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === "") return url;
    u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Which cluster this node joined; and, unless a key was given, that the
 * other nodes can only read its session cookies if they sign with the
 * same key (on one machine they share `~/.chsk/session-secret`, on
 * several they don't).
 */
export function clusterNote(c: ServeCluster, nodeId: string, sessionKeyGiven: boolean): string {
  const where = `${redisForDisplay(c.redis)}${c.prefix === undefined ? "" : ` (prefix ${c.prefix})`}`;
  const key = sessionKeyGiven
    ? ""
    : "note:      sessions are signed with this machine's key (~/.chsk/session-secret): nodes on other machines need the same --session-key\n";
  return `cluster:   node ${nodeId} via ${where}\n${key}`;
}

/** Beyond loopback the token is the only way in: said even with --quiet. */
function tokenNote(url: string, token: string, quiet: boolean): string {
  const link = quiet ? `dashboard: ${dashboardUrl(url, token)}\n` : "";
  return `${link}note:      listening beyond loopback: the dashboard and the user ids in /api/stats need the token (Authorization: Bearer ${token}); --public-dashboard opens them\n`;
}

export async function runServe(options: ServeOptions, deps: ServeDeps): Promise<number> {
  const log = options.quiet
    ? silentLogger
    : createLogger({ format: options.logFormat ?? "text", write: (line) => void deps.stderr.write(`${line}\n`) });
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8090;
  let cluster: ClusterOption | undefined;
  if (options.cluster !== undefined) {
    const c = options.cluster;
    try {
      cluster = redisCluster({
        url: c.redis,
        ...(c.nodeId === undefined ? {} : { nodeId: c.nodeId }),
        ...(c.prefix === undefined ? {} : { prefix: c.prefix }),
      });
    } catch (e) {
      // A bad URL, node id or prefix.
      deps.stderr.write(`chsk serve: ${e instanceof Error ? e.message : String(e)}\n`);
      return ExitCode.USAGE;
    }
  }
  let server: ReferenceServer;
  try {
    server = await startReferenceServer({
      host,
      port,
      packer: options.packer ?? "edn",
      csrf: options.csrf ?? true,
      allowedOrigins: options.allowedOrigins ?? "all",
      log,
      dashboardAdmin: options.dashboardAdmin ?? false,
      ...(options.dashboardToken === undefined ? {} : { dashboardToken: options.dashboardToken }),
      publicDashboard: options.publicDashboard ?? false,
      ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
      ...(options.inspectToken !== undefined || options.allowInspect === true ? { inspect: { token: options.inspectToken } } : {}),
      ...(cluster === undefined ? {} : { cluster }),
      ...(options.sessionKey === undefined ? {} : { sessionSecret: options.sessionKey }),
      serverOptions: definedOnly(options.limits ?? {}),
      ...definedOnly(options.timeouts ?? {}),
      ...(options.web === undefined ? {} : { web: options.web }),
    });
  } catch (e) {
    // Conflicting flags (e.g. --headers-timeout-ms above --request-timeout-ms) are a usage error.
    if (e instanceof RangeError) {
      deps.stderr.write(`chsk serve: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    if (e instanceof ChskError && e.code === "CHSK_ERR_CLUSTER" && options.cluster !== undefined) {
      deps.stderr.write(`chsk serve: cannot join the cluster at ${redisForDisplay(options.cluster.redis)}: ${e.message} (${e.code})\n`);
      return ExitCode.FAILED;
    }
    const code = (e as { code?: unknown }).code;
    const why = e instanceof Error ? e.message : String(e);
    deps.stderr.write(`chsk serve: cannot start on ${host}:${port}: ${why}${typeof code === "string" && !why.includes(code) ? ` (${code})` : ""}\n`);
    return ExitCode.FAILED;
  }

  deps.stdout.write(`${listeningLine(server.url)}\n`);
  const browse = browseUrl(server.host, server.port);
  if (!options.quiet) deps.stdout.write(startHints(browse, options, server.dashboardToken));
  if (server.dashboardToken !== undefined && options.web !== undefined) deps.stdout.write(tokenNote(browse, server.dashboardToken, options.quiet ?? false));
  if (server.inspector !== undefined) deps.stdout.write(inspectNote(browse, server.inspector.path, server.inspector.token, options.inspectToken === undefined));
  if (options.cluster !== undefined && server.chsk.cluster !== null && !options.quiet) {
    deps.stdout.write(clusterNote(options.cluster, server.chsk.cluster.nodeId, options.sessionKey !== undefined));
  }
  log.info("ready", {
    ...(server.chsk.cluster === null ? {} : { node: server.chsk.cluster.nodeId }),
    packer: server.chsk.packer.name,
    csrf: options.csrf ?? true,
    allowedOrigins: options.allowedOrigins === undefined || options.allowedOrigins === "all" ? "all" : options.allowedOrigins.join(","),
  });
  deps.onListening?.(server);

  if (!deps.signal.aborted) await new Promise((resolve) => deps.signal.addEventListener("abort", resolve, { once: true }));
  log.info("shutting down");
  try {
    await server.close();
  } catch (e) {
    deps.stderr.write(`chsk serve: error while closing: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.FAILED;
  }
  log.info("closed");
  return ExitCode.OK;
}
