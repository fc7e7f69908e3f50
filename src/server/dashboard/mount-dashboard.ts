/**
 * `mountDashboard(chsk, options)`: chsk's live dashboard inside your own
 * HTTP server, the way Socket.IO's Admin UI is added with `instrument()`.
 * It answers only URLs under `path` and leaves the rest to the app:
 *
 * | route (under `path`)          | who                | what                                           |
 * |-------------------------------|--------------------|------------------------------------------------|
 * | `GET /`                       | `auth` ≠ `false`   | the page                                       |
 * | `GET /events`                 | `auth` ≠ `false`   | the feed, Server-Sent Events (`?filter=`)      |
 * | `GET /api/users`              | `auth` ≠ `false`   | the users view as JSON (`?filter=`); counts only for `"counts"` |
 * | `POST /api/push`              | `"admin"` + token  | `{"uid", "event": "[:ns/name data]"}` (EDN) → push |
 * | `POST /api/disconnect`        | `"admin"` + token  | `{"clientId"}` → close that client             |
 * | `GET /assets/*`, `/favicon.svg` | anyone           | the page's script and styles (public files of the package) |
 *
 * @example
 * // node:http
 * const dashboard = mountDashboard(chsk, { path: "/ops/chsk", auth: (req) => (isStaff(req) ? "admin" : false) });
 * http.createServer((req, res) => {
 *   if (chsk.handleRequest(req, res) || dashboard.handleRequest(req, res)) return;
 *   app(req, res);
 * });
 * // Express: app.use(dashboard.middleware)
 * // Fastify: fastify.addHook("onRequest", (req, reply, done) => { if (dashboard.handleRequest(req.raw, reply.raw)) reply.hijack(); else done(); });
 *
 * Nobody watching, the dashboard costs the server nothing: its feed taps
 * `chsk` only while a page's feed (`GET /events`) is open, and for
 * `feed.lingerMs` after the last one closed (a reload keeps the chart).
 *
 * `chsk.close()` closes the dashboards mounted on it too (their feeds end),
 * so `await chsk.close()` then closing the HTTP server does not wait for an
 * open dashboard tab.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ChskEvent } from "../../core/protocol/events.js";
import type { ChskServer, Uid } from "../types.js";
import { sendJson, sendText } from "../demo/http.js";
import { type AssetTable, type LoadAssetsOptions, loadAssets, sendAsset } from "../web/assets.js";
import { type RequestTarget, requestTarget } from "../web/request-target.js";
import { messagePage, missingAssetsPage, type NavLink, sendPage } from "../web/shell.js";
import { type ActionContext, actionRefusal, type DashboardLogger, disconnectAction, pushAction } from "./actions.js";
import { createDashboardFeed, type DashboardFeedOptions } from "./feed.js";
import type { DashboardAccessLevel } from "./feed-types.js";
import { streamFeed } from "./feed-stream.js";
import { dashboardPage } from "./page.js";

/** What `auth` grants a request: a level, or `false` for nothing (403). */
export type DashboardAccess = DashboardAccessLevel | false;

export interface DashboardOptions {
  /** Where the dashboard lives (not `/`): the page at `path`, its feed and API under it. @default "/dashboard" */
  path?: string;
  /**
   * Who may see and do what, asked for every request but the static files:
   * `"admin"` (identities, traffic, push and disconnect), `"read"`
   * (identities and traffic), `"counts"` (numbers and event ids, no user or
   * client ids), or `false` (403). Without it everyone is refused: the
   * dashboard lists who is connected, and only the app knows who may see that.
   *
   * Decide from who the request is (your session, a login, a token), not
   * from where it comes: `req.socket.remoteAddress === "127.0.0.1"` alone is
   * unsafe. Behind a reverse proxy every request comes from the proxy; and a
   * web page can reach a server on loopback through DNS rebinding (its own
   * name, re-pointed at 127.0.0.1), its requests then local and same-origin
   * to the browser, so the admin page, its action token and the actions
   * would be the page's. If loopback is the rule, also require a `Host`
   * header that names this machine (`localhost`, `127.0.0.1`, `[::1]`), as
   * `chsk serve` does. Admin actions further need the same origin
   * (`Origin` = `Host`) and the page's token, which stop cross-site forms
   * and scripts, not a request `auth` let through.
   * @default () => false
   */
  auth?: (req: IncomingMessage) => DashboardAccess | Promise<DashboardAccess>;
  /**
   * Answers a page request `auth` refused, e.g. with a redirect to your
   * login. The feed and API always get a plain 403.
   * @default a 403 page
   */
  onDenied?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Links shown in the top bar before "Dashboard" (back to your app). @default [] */
  links?: readonly { href: string; label: string }[];
  /** Texts explaining the limited modes (plain text). @default generic sentences */
  notes?: { readOnly?: string; counts?: string };
  /** How admin pushes are sent. @default (uid, event) => chsk.send(uid, event) */
  push?: (uid: Uid, event: ChskEvent) => void;
  /** Dashboards that may watch at once; more get 503. @default 32 */
  maxDashboards?: number;
  /** Where the browser files come from. @default the installed package's `dist/web` (its TypeScript sources under tsx) */
  assets?: LoadAssetsOptions;
  /** Feed tuning (sample size, caps, clock, `lingerMs`, the app's error `totals`); see `DashboardFeedOptions`. @default {} */
  feed?: Omit<DashboardFeedOptions, "server" | "actionToken">;
  /** Admin actions and missing browser files are logged here. @default silent */
  log?: DashboardLogger;
  /** Aborting closes the dashboard. @default none */
  signal?: AbortSignal;
}

export interface Dashboard {
  /** The mount path, normalised (no trailing slash). */
  readonly path: string;
  /** Settles once the browser files are loaded (never rejects; pages wait for it anyway). */
  readonly ready: Promise<void>;
  /**
   * Answers `req` and returns true when its URL is under `path` (the
   * answer may complete asynchronously); returns false, touching nothing,
   * otherwise. Reads `req.originalUrl` when a framework rewrote `req.url`.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Connect / Express middleware: `app.use(dashboard.middleware)`. */
  middleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Ends every feed and stops the server tap; `chsk.close()` calls it too. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_NOTES = {
  readOnly: "Read-only: pushing to users and disconnecting clients need admin access.",
  counts: "Counts only: user ids and client ids are hidden from you.",
};

/** The files the page loads; nothing else in the asset table is served here. */
const PAGE_FILES = new Set([
  "favicon.svg",
  "assets/dashboard.js",
  "assets/dashboard.js.map",
  "assets/dashboard-style.css",
  "assets/dashboard-style.css.map",
  "assets/third-party-licenses.txt",
]);

const silentLog: DashboardLogger = { info() {}, warn() {} };

function normalisePath(path: string): string {
  if (typeof path !== "string" || !path.startsWith("/") || /[?#\s]/.test(path)) {
    throw new TypeError(`mountDashboard: path must be a URL path starting with "/", got ${JSON.stringify(path)}`);
  }
  const base = path.replace(/\/+$/, "");
  // At the root it would answer (404) every URL of the app.
  if (base === "") throw new TypeError('mountDashboard: path must not be the root; give it one of its own, like "/dashboard"');
  return base;
}

/** The request's path and query, before any framework stripped a mount prefix. */
const targetOf = (req: IncomingMessage): RequestTarget => requestTarget((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url);

export function mountDashboard(chsk: ChskServer, options: DashboardOptions = {}): Dashboard {
  const base = normalisePath(options.path ?? "/dashboard");
  if (options.auth !== undefined && typeof options.auth !== "function") throw new TypeError("mountDashboard: auth must be a function (req) => access");
  const maxDashboards = options.maxDashboards ?? 32;
  if (!Number.isInteger(maxDashboards) || maxDashboards < 1) throw new RangeError(`mountDashboard: maxDashboards must be a positive integer, got ${maxDashboards}`);
  const auth = options.auth ?? (() => false as const);
  const log = options.log ?? silentLog;
  const notes = { ...DEFAULT_NOTES, ...options.notes };
  const actionToken = randomBytes(24).toString("base64url");
  const actions: ActionContext = { chsk, push: options.push ?? ((uid, ev) => chsk.send(uid, ev)), actionToken, log };
  const links: NavLink[] = (options.links ?? []).map((l) => ({ href: l.href, label: l.label }));
  const nav: NavLink[] = links.length === 0 ? [] : [...links, { href: base, label: "Dashboard", current: true }];

  let assets: AssetTable | undefined;
  const ready = loadAssets(options.assets).then((t) => {
    assets = t;
    if (t.problem !== undefined) log.warn("dashboard: browser files unavailable", { problem: t.problem });
  });
  const feed = createDashboardFeed({ ...options.feed, server: chsk, actionToken });
  const streams = new Set<ServerResponse>();
  let closed = false;

  async function accessOf(req: IncomingMessage): Promise<DashboardAccess> {
    try {
      const a = await auth(req);
      return a === "admin" || a === "read" || a === "counts" ? a : false;
    } catch (e) {
      // A failing auth hook refuses; it never opens the dashboard.
      log.warn("dashboard: auth hook failed", { error: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }

  function denyPage(req: IncomingMessage, res: ServerResponse): void {
    if (options.onDenied) return options.onDenied(req, res);
    const text =
      options.auth === undefined
        ? "This dashboard has no auth hook, so it refuses every request. The app decides who may see it: mountDashboard(chsk, { auth: (req) => \"read\" })."
        : "You are not allowed to see this dashboard.";
    sendPage(res, 403, messagePage("Dashboard unavailable", text), req.method === "HEAD");
  }

  async function page(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const access = await accessOf(req);
    if (access === false) return denyPage(req, res);
    await ready;
    const t = assets as AssetTable;
    if (t.problem !== undefined) return sendPage(res, 503, missingAssetsPage(t.problem), req.method === "HEAD");
    const html = dashboardPage({
      version: t.version,
      config: { base, access, notes, ...(access === "admin" ? { actionToken } : {}) },
      home: links[0]?.href ?? base,
      nav,
      meta: `packer ${chsk.packer.name}`,
      clustered: (chsk.cluster ?? null) !== null,
    });
    sendPage(res, 200, html, req.method === "HEAD");
  }

  async function events(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const access = await accessOf(req);
    if (access === false) return sendText(res, 403, "Forbidden");
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" });
      return void res.end();
    }
    if (closed || feed.subscribers >= maxDashboards) return sendText(res, 503, "Too many dashboards are watching this server");
    streams.add(res);
    streamFeed(req, res, feed, access, query.get("filter") ?? "", () => streams.delete(res));
  }

  async function users(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const access = await accessOf(req);
    if (access === false) return sendJson(res, 403, { error: "forbidden" });
    sendJson(res, 200, feed.users(query.get("filter") ?? "", access));
  }

  async function action(req: IncomingMessage, res: ServerResponse, name: "push" | "disconnect"): Promise<void> {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendText(res, 405, "Method Not Allowed");
    }
    if ((await accessOf(req)) !== "admin") return sendJson(res, 403, { error: `admin access required. ${notes.readOnly}` });
    const refusal = actionRefusal(req, actionToken);
    if (refusal !== null) return sendJson(res, 403, { error: refusal });
    return name === "push" ? pushAction(req, res, actions) : disconnectAction(req, res, actions);
  }

  async function route(req: IncomingMessage, res: ServerResponse, rel: string, query: URLSearchParams): Promise<void> {
    if (rel === "/api/push" || rel === "/api/disconnect") return action(req, res, rel === "/api/push" ? "push" : "disconnect");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendText(res, 405, "Method Not Allowed");
    }
    if (rel === "" || rel === "/") return page(req, res);
    if (rel === "/events") return events(req, res, query);
    if (rel === "/api/users") return users(req, res, query);
    const file = rel.slice(1);
    if (PAGE_FILES.has(file)) {
      await ready;
      const asset = assets?.get(file);
      if (asset) return sendAsset(req, res, asset, query.get("v") === assets?.version);
    }
    sendText(res, 404, "Not Found");
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const { path, query } = targetOf(req);
    let rel: string;
    if (path === base) rel = "";
    else if (path.startsWith(`${base}/`)) rel = path.slice(base.length);
    else return false;
    route(req, res, rel, query).catch((e: unknown) => {
      log.warn("dashboard: request failed", { url: req.url, error: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent) sendText(res, 500, "Internal Server Error");
      else res.destroy();
    });
    return true;
  }

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopOnServerClose();
    options.signal?.removeEventListener("abort", onAbort);
    feed.close();
    // Ending a response ends the gzip stream piped into it, if any.
    for (const res of streams) res.end();
    streams.clear();
  };
  const onAbort = () => void close();
  // The feed lives off this server: once it is gone, so is the dashboard (and no SSE response holds the HTTP server open).
  const stopOnServerClose = chsk.on("close", () => void close());
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    path: base,
    ready,
    handleRequest,
    middleware(req, res, next) {
      if (!handleRequest(req, res)) next();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
