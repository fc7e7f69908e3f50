/**
 * The reference application `chsk serve` runs: a chsk server on `/chsk`
 * with signed-cookie sessions, the demo router and a stats endpoint.
 *
 * HTTP contract (the README documents it; other tools rely on it):
 *
 * | route              | what                                                                 |
 * |--------------------|----------------------------------------------------------------------|
 * | `GET/POST /chsk`   | the channel socket (WS upgrade, Ajax handshake/poll, Ajax send)      |
 * | `POST /login`      | form `uid=…` (or `user-id=…`) or JSON `{"uid": …}` → `{uid, csrfToken}` + a new session cookie |
 * | `GET /csrf`        | the current session's token, creating an anonymous session if needed → `{uid, csrfToken}` |
 * | `POST /logout`     | drops the session, clears the cookie → `{ok: true}`                  |
 * | `GET /api/stats`   | {@link StatsSnapshot} as JSON (with `cluster` on a cluster node); {@link CountsOnlySnapshot} to a request the visibility rule hides identities from |
 * | anything else      | the optional `web` hook, then (for `GET /`) a plain index, else 404  |
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type PackerName, packerByName } from "../../core/packers/index.js";
import type { Packer } from "../../core/packers/types.js";
import type { ChskEvent } from "../../core/protocol/events.js";
import { createServer } from "../index.js";
import type { ChskServer, ServerOptions, ServerTapEvent, Uid } from "../types.js";
import { BodyTooLarge, parseCookies, parseFields, readBody, sendJson, sendText } from "./http.js";
import { type Logger, silentLogger } from "./logger.js";
import { demoHandler } from "./router.js";
import { SESSION_COOKIE, type Session, SessionStore, sessionCookie } from "./sessions.js";
import { clusterSnapshot, type CountsOnlySnapshot, countsOnly, StatsCollector, type StatsSnapshot } from "./stats.js";
import { createVisibility } from "./visibility.js";
import { requestTarget } from "../web/request-target.js";
import type { DashboardAccess } from "../dashboard/mount-dashboard.js";
import { clusterView, type ClusterViewSource } from "../dashboard/cluster-view.js";
import type { ClusterOption } from "../cluster/types.js";
import { randomBytes } from "node:crypto";
import { type Inspector, mountInspector } from "../inspect/mount-inspector.js";

/** What a {@link WebHook} (the browser demo page and dashboard) gets to work with. */
export interface WebContext {
  chsk: ChskServer;
  sessions: SessionStore;
  /** The session a request's cookie points at, if any. */
  sessionOf(req: IncomingMessage): Session | undefined;
  stats(): StatsSnapshot;
  /** A cluster node's view of its cluster (read at most once a second, shared with `/api/stats`); null when not clustered. */
  cluster: ClusterViewSource | null;
  /** The errors and slow-consumer drops counted since the server started (as `/api/stats` counts them); cheap. */
  errorTotals(): { errors: number; slowConsumers: number };
  /** Push through the app (counted in `/api/stats` `events.out`). */
  push(uid: Uid, event: ChskEvent): void;
  broadcast(event: ChskEvent): void;
  log: Logger;
  /**
   * What a dashboard request may see under the visibility rule
   * (`./visibility.ts`): `"admin"`/`"read"` (per `dashboardAdmin`) when it
   * may see identities, else `false`.
   */
  dashboardAccess(req: IncomingMessage): DashboardAccess;
  options: {
    dashboardAdmin: boolean;
    packer: string;
    csrf: boolean;
    path: string;
    /**
     * `"open"` (loopback, to requests whose `Host` names this machine; or
     * `publicDashboard`, to all) or `"token"` (the dashboard needs `dashboardToken`).
     */
    visibility: "open" | "token";
  };
}

/**
 * Serves whatever the app doesn't route itself (everything but `/chsk`,
 * `/login`, `/csrf`, `/logout`, `/api/stats`), before the 404.
 */
export interface WebHook {
  /** True if it answered (or will answer) the request. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  /** Upgrades on paths other than `/chsk`; true if taken. */
  handleUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close?(): Promise<void>;
}
export type WebHookFactory = (ctx: WebContext) => WebHook | Promise<WebHook>;

export interface ReferenceServerOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8090 */
  port?: number;
  /** A packer or its name (`edn`, `transit`, `transit-verbose`, `json`). @default "edn" */
  packer?: PackerName | Packer;
  /** CSRF check on `/chsk` against the session's token. @default true */
  csrf?: boolean;
  /** @default "all" */
  allowedOrigins?: "all" | readonly string[];
  /** Key for signing session cookies. @default defaultSessionSecret() (`$CHSK_SESSION_SECRET` or `~/.chsk/session-secret`) */
  sessionSecret?: string;
  /** @default silentLogger */
  log?: Logger;
  /** The browser demo page / dashboard. */
  web?: WebHook | WebHookFactory;
  /** Passed to the web hook (`WebContext.options.dashboardAdmin`). @default false */
  dashboardAdmin?: boolean;
  /**
   * The token the dashboard, the user ids in `/api/stats` and the admin
   * actions require (16+ URL-safe characters), even on loopback.
   * @default none on a loopback `host`; generated (see `ReferenceServer.dashboardToken`) beyond it
   */
  dashboardToken?: string;
  /** Everyone may see the dashboard and identities, whatever `host` is (and whatever a request's `Host` says). @default false */
  publicDashboard?: boolean;
  /**
   * On a loopback `host` without a token, the dashboard and identities are
   * open only to requests whose `Host` header names this machine: a
   * loopback address or `localhost` (any port), or one of these names
   * (`.name.test` also matches its subdomains). Any other `Host` (a
   * DNS-rebinding page, a reverse proxy's public name) is treated as coming
   * from beyond loopback. @default []
   */
  allowedHosts?: readonly string[];
  /**
   * A request's headers must arrive within this (Node's `headersTimeout`,
   * 60 s by default); slower: 408 and the connection closes. @default 10_000
   */
  headersTimeoutMs?: number;
  /**
   * A whole request, body included, must arrive within this (Node's
   * `requestTimeout`, 300 s by default); slower: 408 and the connection
   * closes. Held long-polls are not cut: their request is complete, only
   * the answer waits. At least `headersTimeoutMs`. @default 30_000
   */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed this long after its last answer (Node adds 1 s). @default 5_000 */
  keepAliveTimeoutMs?: number;
  /**
   * An HTTP connection with no traffic either way for this long is cut
   * (Node's `server.timeout`, off by default): a response the client
   * stopped reading, for one. A held poll is silent until `lpTimeoutMs`,
   * so this must exceed it by a second at least. WebSockets are not
   * affected (their keep-alive pings watch them). @default 60_000
   */
  idleTimeoutMs?: number;
  /**
   * Mount the inspector stream (`mountInspector`, for `chsk inspect --attach`)
   * at `/chsk-inspect`, behind `token` (`Authorization: Bearer T`), generated
   * when absent (see `ReferenceServer.inspectToken`). Never mounted without a
   * token, on any host.
   * @default not mounted
   */
  inspect?: { token?: string | undefined };
  /**
   * Make this server a node of a cluster (`redisCluster({ url, nodeId })`):
   * pushes and presence are shared with the other nodes, `/api/stats` and
   * the dashboard show the cluster. It resolves only once the node has
   * joined; an unreachable store rejects it with `CHSK_ERR_CLUSTER`. The
   * nodes must sign sessions with the same `sessionSecret`, or a cookie
   * issued by one is refused by the others.
   * @default null (a server of its own)
   */
  cluster?: ClusterOption | null;
  /** Extra chsk server options (timeouts, limits). `packer`/`userId`/`csrfToken`/`allowedOrigins` are set by the app. */
  serverOptions?: Partial<Omit<ServerOptions, "packer" | "userId" | "csrfToken" | "allowedOrigins">>;
  /** Aborting closes the server. */
  signal?: AbortSignal;
}

export interface ReferenceServer {
  /** `http://HOST:PORT` (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly chsk: ChskServer;
  readonly http: HttpServer;
  readonly sessions: SessionStore;
  /** The token the dashboard and identities need; `undefined` when they are open to everyone. */
  readonly dashboardToken: string | undefined;
  /** The inspector stream's path and token, when `inspect` mounted it. */
  readonly inspector: { readonly path: string; readonly token: string } | undefined;
  stats(): StatsSnapshot;
  /** Closes chsk connections, the web hook and the listener. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_FORM_BYTES = 16 * 1024;
/** Node checks headers/request timeouts on an interval (30 s by default): a timeout could fire that much late. */
const MAX_CHECK_INTERVAL_MS = 30_000;
const MAX_UID_LENGTH = 256;
const OWN_ROUTES: Record<string, string> = { "/login": "POST", "/csrf": "GET", "/logout": "POST", "/api/stats": "GET" };

interface HttpTimeouts {
  headers: number;
  request: number;
  keepAlive: number;
  idle: number;
}

/** The HTTP server's timeouts, defaulted and checked against each other and the long-poll timeout. */
function httpTimeouts(o: ReferenceServerOptions): HttpTimeouts {
  const ms = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer (ms), got ${String(v)}`);
    return v;
  };
  const t: HttpTimeouts = {
    headers: ms("headersTimeoutMs", o.headersTimeoutMs, 10_000),
    request: ms("requestTimeoutMs", o.requestTimeoutMs, 30_000),
    keepAlive: ms("keepAliveTimeoutMs", o.keepAliveTimeoutMs, 5_000),
    idle: ms("idleTimeoutMs", o.idleTimeoutMs, 60_000),
  };
  if (t.headers > t.request) {
    throw new RangeError(`headersTimeoutMs (${t.headers}) must not exceed requestTimeoutMs (${t.request}): the headers are part of the request`);
  }
  const lp = o.serverOptions?.lpTimeoutMs ?? 20_000;
  if (t.idle < lp + 1_000) {
    throw new RangeError(`idleTimeoutMs (${t.idle}) must be at least lpTimeoutMs + 1000 (${lp + 1_000}): a held long-poll is idle until lpTimeoutMs`);
  }
  return t;
}

/** `http://host:port`, bracketing IPv6 literals. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function indexPage(packer: string, csrf: boolean): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>chsk reference server</title></head>
<body>
<h1>chsk reference server</h1>
<p>Packer: <code>${packer}</code>. CSRF check: <code>${csrf ? "on" : "off"}</code>.</p>
<ul>
<li><code>GET/POST /chsk</code>: the Sente channel socket</li>
<li><code>POST /login</code> (form <code>uid=…</code> or JSON <code>{"uid": …}</code>), <code>GET /csrf</code>, <code>POST /logout</code></li>
<li><a href="/api/stats"><code>GET /api/stats</code></a></li>
</ul>
</body></html>
`;
}

/** Starts the reference server; resolves once it accepts connections. */
export async function startReferenceServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8090;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  const timeouts = httpTimeouts(options);
  const packer = typeof options.packer === "object" ? options.packer : packerByName(options.packer ?? "edn");
  const csrf = options.csrf ?? true;
  const log = options.log ?? silentLogger;
  const sessions = new SessionStore(options.sessionSecret === undefined ? {} : { secret: options.sessionSecret });
  const visibility = createVisibility({ host, token: options.dashboardToken, public: options.publicDashboard, allowedHosts: options.allowedHosts });
  const dashboardAdmin = options.dashboardAdmin ?? false;

  // From the header, not `req.cookies`: a WebSocket would keep that parse for its whole life.
  const sessionOfCookies = (header: string | undefined) => sessions.get(parseCookies(header)[SESSION_COOKIE]);
  const sessionOf = (req: IncomingMessage) => sessionOfCookies(req.headers.cookie);

  const chsk = createServer({
    // Hook failures and refusals (at info) land in this log, not on the console.
    logger: log,
    ...options.serverOptions,
    packer,
    allowedOrigins: options.allowedOrigins ?? "all",
    userId: (req) => sessionOfCookies(req.headers.cookie)?.uid ?? null,
    // No session → no reference token → 403, as in Sente.
    csrfToken: csrf ? (req) => sessionOfCookies(req.headers.cookie)?.csrfToken ?? null : null,
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
  });
  const cluster = chsk.cluster === null ? null : clusterView(chsk.cluster);
  const stats = new StatsCollector(chsk, { packer: packer.name, csrf, sessions: () => sessions.size });
  let inspector: Inspector | undefined;
  let inspectToken: string | undefined;
  if (options.inspect !== undefined) {
    inspectToken = options.inspect.token ?? randomBytes(24).toString("base64url");
    inspector = mountInspector(chsk, { token: inspectToken, logger: log });
  }

  const push = (uid: Uid, event: ChskEvent) => {
    chsk.send(uid, event);
    stats.countOut();
  };
  const broadcast = (event: ChskEvent) => {
    chsk.broadcast(event);
    stats.countOut();
  };
  const stopRouter = chsk.startRouter(demoHandler({ push, broadcast }, log), {
    onError: (e, msg) => log.error("router error", { event: msg.id, error: e }),
  });
  const logTap = (ev: ServerTapEvent) => {
    switch (ev.type) {
      case "conn:open":
      case "conn:close":
        log.info(ev.type, { transport: ev.transport, uid: ev.uid, client: ev.clientId, code: ev.type === "conn:close" ? ev.code : undefined });
        break;
      case "uidport:open":
      case "uidport:close":
        log.info(ev.type, { uid: ev.uid });
        break;
      case "error":
        log.warn("chsk error", { code: ev.error.code, error: ev.error.message, uid: ev.uid, client: ev.clientId });
        break;
    }
  };
  // Quiet (the silent logger), nothing to log: no tap.
  const stopTap = log === silentLogger ? () => {} : chsk.tap(logTap);

  // Errors are logged once, by the tap above (each one, with its uid and
  // client); a listener here stops the library's own once-per-code warn.
  chsk.on("error", () => {});

  const cleanUp = async () => {
    stopRouter();
    stopTap();
    stats.close();
    await chsk.close();
  };
  // Joined before listening: no client reaches a node the cluster doesn't know yet.
  if (chsk.cluster !== null) {
    try {
      await chsk.cluster.ready;
    } catch (e) {
      await cleanUp().catch(() => {});
      throw e;
    }
  }

  let web: WebHook | undefined;
  const ctx: WebContext = {
    chsk,
    sessions,
    sessionOf,
    stats: () => stats.snapshot(),
    cluster,
    errorTotals: () => ({ errors: stats.errors, slowConsumers: stats.slowConsumers }),
    push,
    broadcast,
    log,
    dashboardAccess: (req) => (visibility.allows(req) ? (dashboardAdmin ? "admin" : "read") : false),
    options: { dashboardAdmin, packer: packer.name, csrf, path: chsk.path, visibility: visibility.mode },
  };
  try {
    web = typeof options.web === "function" ? await options.web(ctx) : options.web;
  } catch (e) {
    await cleanUp();
    throw e;
  }

  async function login(req: IncomingMessage, res: ServerResponse) {
    const fields = parseFields(req.headers["content-type"], await readBody(req, MAX_FORM_BYTES));
    const uid = fields?.["uid"] ?? fields?.["user-id"];
    if (typeof uid !== "string" || uid === "" || uid.length > MAX_UID_LENGTH) {
      return sendJson(res, 400, { error: `uid must be a non-empty string of at most ${MAX_UID_LENGTH} characters` });
    }
    // Always a fresh session: login never alters an existing one.
    const session = sessions.create(uid);
    log.info("login", { uid });
    sendJson(res, 200, { uid, csrfToken: session.csrfToken }, { "set-cookie": sessionCookie(session) });
  }

  function csrfRoute(req: IncomingMessage, res: ServerResponse) {
    const existing = sessionOf(req);
    const session = existing ?? sessions.create(null);
    const headers: Record<string, string> = existing ? {} : { "set-cookie": sessionCookie(session) };
    sendJson(res, 200, { uid: session.uid, csrfToken: session.csrfToken }, headers);
  }

  function logout(req: IncomingMessage, res: ServerResponse) {
    const id = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    const session = sessions.get(id);
    sessions.delete(id);
    if (session) log.info("logout", { uid: session.uid });
    sendJson(res, 200, { ok: true }, { "set-cookie": sessionCookie(null) });
  }

  /** This node's stats, and a cluster node's cluster (its store read at most once a second). */
  async function statsFor(req: IncomingMessage): Promise<StatsSnapshot | CountsOnlySnapshot> {
    const snapshot = stats.snapshot();
    if (cluster !== null) snapshot.cluster = clusterSnapshot(await cluster.get());
    return visibility.allows(req) ? snapshot : countsOnly(snapshot);
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    if (chsk.handleRequest(req, res)) return;
    if (inspector?.handleRequest(req, res)) return;
    // chsk's own reading of the path: `//chsk` is no more `/` here than it is `/chsk` there.
    const pathname = requestTarget(req.url).path;
    const method = req.method ?? "GET";
    const route = `${method} ${pathname}`;
    if (route === "POST /login") return login(req, res);
    if (route === "GET /csrf") return csrfRoute(req, res);
    if (route === "POST /logout") return logout(req, res);
    if (route === "GET /api/stats") return sendJson(res, 200, await statsFor(req));
    // `/dashboard?token=T` (the link printed at start): a cookie, then the same page without the token.
    if (visibility.acceptTokenLink(req, res, "/dashboard")) return;
    if (web && (await web.handleRequest(req, res))) return;
    const allowed = OWN_ROUTES[pathname];
    if (allowed !== undefined) {
      res.setHeader("allow", allowed);
      return sendText(res, 405, "Method Not Allowed");
    }
    if (pathname === "/" && (method === "GET" || method === "HEAD")) {
      return sendText(res, 200, indexPage(packer.name, csrf), "text/html; charset=utf-8");
    }
    sendText(res, 404, "Not Found");
  }

  const http = createHttpServer(
    {
      headersTimeout: timeouts.headers,
      requestTimeout: timeouts.request,
      keepAliveTimeout: timeouts.keepAlive,
      connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, Math.max(25, Math.floor(Math.min(timeouts.headers, timeouts.request) / 4))),
    },
    (req, res) => {
      route(req, res).catch((e: unknown) => {
        if (e instanceof BodyTooLarge) {
          if (res.headersSent) res.destroy();
          else sendText(res, 413, "Payload Too Large");
          return;
        }
        log.error("request failed", { method: req.method, url: req.url, error: e });
        if (!res.headersSent) sendText(res, 500, "Internal Server Error");
        else res.destroy();
      });
    },
  );
  http.timeout = timeouts.idle;
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (chsk.handleUpgrade(req, socket, head)) return;
    if (web?.handleUpgrade?.(req, socket, head)) return;
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  http.on("clientError", (e: Error & { code?: string }, socket: Duplex & { _httpMessage?: ServerResponse | null }) => {
    // Only where no answer has started: an answer already on its way can't get a status line after it.
    const answering = socket._httpMessage?.headersSent === true;
    if (!socket.writable || answering) {
      socket.destroy();
      return;
    }
    // Node's own statuses for its header/request timeouts and header limits; a listener here replaces them.
    const status = e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : e.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      stopRouter();
      stopTap();
      stats.close();
      // The inspector ends with chsk's close (below), after streaming its last closes.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      try {
        await web?.close?.();
      } finally {
        await chsk.close();
        http.closeAllConnections();
        await closed;
      }
    })());
  const onAbort = () => void close();

  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, host, () => {
        http.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
  http.on("error", (e) => log.error("http server error", { error: e }));

  const address = http.address();
  const boundPort = typeof address === "object" && address !== null ? address.port : port;
  const url = httpUrl(host, boundPort);
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    url,
    host,
    port: boundPort,
    chsk,
    http,
    sessions,
    dashboardToken: visibility.token,
    inspector: inspector === undefined || inspectToken === undefined ? undefined : { path: inspector.path, token: inspectToken },
    stats: () => stats.snapshot(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
