/**
 * The reference server's browser side: the demo page, the live dashboard
 * and the files they load. It plugs into `startReferenceServer({ web })`
 * and answers only its own routes:
 *
 * | route                         | what                                                     |
 * |-------------------------------|----------------------------------------------------------|
 * | `GET /`                       | demo page (`?transport=auto|ws|ajax`)                     |
 * | `GET /dashboard`              | live dashboard                                           |
 * | `GET /dashboard/events`       | the dashboard feed, Server-Sent Events (`?filter=`)      |
 * | `GET /dashboard/api/users`    | the connected-users view as JSON (`?filter=`)            |
 * | `POST /dashboard/api/push`    | admin: `{"uid", "event": ["ns/name", data]}` → push      |
 * | `POST /dashboard/api/disconnect` | admin: `{"clientId"}` → close that client             |
 * | `GET /chsk-client.js` (+`.map`) | the browser client, ESM, with its source map           |
 * | `GET /assets/*`, `/favicon.svg` | page scripts, styles (uPlot bundled in)                |
 *
 * Admin actions answer 403 unless the server runs with `--dashboard-admin`,
 * and even then only to same-origin JSON requests that carry the page's
 * action token in `X-Chsk-Dashboard` (a cross-site form or fetch can send
 * neither the header nor read the token).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as zlibConstants, createGzip } from "node:zlib";
import type { Unsubscribe } from "../../../core/clock.js";
import { type ChskEvent, validateEvent } from "../../../core/protocol/events.js";
import type { ChskServer, Uid } from "../../types.js";
import type { WebContext, WebHook, WebHookFactory } from "../app.js";
import { BodyTooLarge, readBody, sendJson, sendText } from "../http.js";
import { type Logger, silentLogger } from "../logger.js";
import { type AssetTable, loadAssets, type LoadAssetsOptions } from "./assets.js";
import { createDashboardFeed, type DashboardFeed, type DashboardFeedOptions, type FeedSink } from "./feed.js";
import { dashboardPage, demoPage, missingAssetsPage, type PageConfig } from "./html.js";

export type { FeedMessages } from "./feed-types.js";
export { createDashboardFeed, type DashboardFeed, type DashboardFeedOptions } from "./feed.js";
export { buildWebAssets } from "./build.js";

export interface WebUiOptions {
  chsk: ChskServer;
  /** Allow push/disconnect from the dashboard (`chsk serve --dashboard-admin`). @default false */
  admin?: boolean;
  /** Shown on the pages. @default chsk.packer.name */
  packer?: string;
  /** Shown on the pages. @default true */
  csrf?: boolean;
  /** How admin pushes are sent. @default chsk.send */
  push?: (uid: Uid, event: ChskEvent) => void;
  /** @default silentLogger */
  log?: Logger;
  assets?: LoadAssetsOptions;
  /** Tuning for the dashboard feed (sample size, caps, clock). */
  feed?: Omit<DashboardFeedOptions, "server" | "admin" | "actionToken">;
  /** Dashboards that may watch at once; more get 503. @default 32 */
  maxDashboards?: number;
}

export interface WebUi extends WebHook {
  readonly feed: DashboardFeed;
  readonly assets: AssetTable;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_ACTION_BYTES = 64 * 1024;

/** Pages may load and connect only to their own origin. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sizes its canvas and legend through inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

const PAGE_HEADERS = {
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

/** The `web` option for `startReferenceServer`: builds the UI from the app's context. */
export function webUi(overrides: Partial<Omit<WebUiOptions, "chsk">> = {}): WebHookFactory {
  return (ctx: WebContext) =>
    createWebUi({
      chsk: ctx.chsk,
      admin: ctx.options.dashboardAdmin,
      packer: ctx.options.packer,
      csrf: ctx.options.csrf,
      push: ctx.push,
      log: ctx.log,
      ...overrides,
    });
}

export async function createWebUi(options: WebUiOptions): Promise<WebUi> {
  const { chsk } = options;
  const admin = options.admin ?? false;
  const log = options.log ?? silentLogger;
  const push = options.push ?? ((uid: Uid, ev: ChskEvent) => chsk.send(uid, ev));
  const maxDashboards = options.maxDashboards ?? 32;
  const actionToken = randomBytes(24).toString("base64url");
  const assets = await loadAssets(options.assets);
  if (assets.problem !== undefined) log.warn("web ui: browser files unavailable", { problem: assets.problem });

  const feed = createDashboardFeed({ ...options.feed, server: chsk, admin, actionToken });
  const streams = new Set<ServerResponse>();
  let closed = false;

  const pageConfig = (): PageConfig => {
    const config: PageConfig = { chskPath: chsk.path, packer: options.packer ?? chsk.packer.name, csrf: options.csrf ?? true, admin };
    if (admin) config.actionToken = actionToken;
    return config;
  };

  function sendPage(req: IncomingMessage, res: ServerResponse, html: string): void {
    const body = Buffer.from(assets.problem === undefined ? html : missingAssetsPage(assets.problem));
    res.writeHead(assets.problem === undefined ? 200 : 503, {
      ...PAGE_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "content-length": body.length,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, path: string, url: URL): boolean {
    const asset = assets.get(path);
    if (!asset) return false;
    const headers: Record<string, string | number> = {
      "content-type": asset.contentType,
      etag: asset.etag,
      "x-content-type-options": "nosniff",
      // Versioned URLs (`?v=`) never change; anything else revalidates by ETag.
      "cache-control": url.searchParams.get("v") === assets.version ? "public, max-age=31536000, immutable" : "no-cache",
    };
    if (req.headers["if-none-match"] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? (asset.gzip as Buffer) : asset.body;
    if (asset.gzip !== undefined) headers["vary"] = "accept-encoding";
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }

  function openFeed(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (closed || feed.subscribers >= maxDashboards) {
      sendText(res, 503, "Too many dashboards are watching this server");
      return;
    }
    req.socket.setNoDelay(true);
    // The feed is repetitive JSON: gzip (flushed per message) shrinks it several times over.
    const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) ? createGzip({ level: 6 }) : null;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-content-type-options": "nosniff",
      ...(gzip ? { "content-encoding": "gzip", vary: "accept-encoding" } : {}),
    });
    if (gzip) gzip.pipe(res);
    const out = gzip ?? res;
    const write = (text: string) => {
      out.write(text);
      gzip?.flush(zlibConstants.Z_SYNC_FLUSH);
    };
    write("retry: 2000\n\n");
    const sink: FeedSink = {
      filter: (url.searchParams.get("filter") ?? "").slice(0, 256),
      send(type, data) {
        // A dashboard that can't keep up misses ticks rather than piling up memory.
        if ((res.writableNeedDrain || out.writableNeedDrain) && type !== "hello") return;
        write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      },
    };
    let unsubscribe: Unsubscribe | undefined = feed.subscribe(sink);
    const ping = setInterval(() => write(": ping\n\n"), 15_000);
    ping.unref();
    streams.add(res);
    const done = () => {
      unsubscribe?.();
      unsubscribe = undefined;
      clearInterval(ping);
      streams.delete(res);
      gzip?.destroy();
    };
    req.on("close", done);
    res.on("close", done);
  }

  /** Same-origin (Origin host = Host) and the page's token: no cross-site action. */
  function actionRefusal(req: IncomingMessage): string | null {
    const origin = req.headers.origin;
    let originHost: string | undefined;
    try {
      originHost = origin === undefined ? undefined : new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== req.headers.host) return "cross-origin request refused";
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin") return "cross-site request refused";
    const given = Buffer.from(String(req.headers["x-chsk-dashboard"] ?? ""));
    const expected = Buffer.from(actionToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "missing or wrong X-Chsk-Dashboard token";
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return "expected a JSON body";
    return null;
  }

  async function action(req: IncomingMessage, res: ServerResponse, name: "push" | "disconnect"): Promise<void> {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendText(res, 405, "Method Not Allowed");
    }
    if (!admin) {
      return sendJson(res, 403, { error: "the dashboard is read-only; start `chsk serve` with --dashboard-admin to allow actions" });
    }
    const refusal = actionRefusal(req);
    if (refusal !== null) return sendJson(res, 403, { error: refusal });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_ACTION_BYTES));
    } catch (e) {
      if (e instanceof BodyTooLarge) return sendJson(res, 413, { error: "body too large" });
      return sendJson(res, 400, { error: "body is not JSON" });
    }
    const fields = (body ?? {}) as Record<string, unknown>;
    if (name === "push") {
      const uid = fields["uid"];
      const event = fields["event"];
      if (uid !== null && (typeof uid !== "string" || uid === "")) return sendJson(res, 400, { error: "uid must be a non-empty string or null" });
      const problem = validateEvent(event, true);
      if (problem !== null) return sendJson(res, 400, { error: `event must be ["ns/name", data?] (${problem})` });
      const ev = event as ChskEvent;
      if (ev[0].startsWith("chsk/")) return sendJson(res, 400, { error: "the chsk namespace is reserved" });
      const clients = chsk.clients().filter((c) => c.uid === uid).length;
      push(uid, ev.length >= 2 ? [ev[0], ev[1]] : [ev[0]]);
      log.info("dashboard push", { uid, event: ev[0], clients });
      return sendJson(res, 200, { ok: true, clients });
    }
    const clientId = fields["clientId"];
    if (typeof clientId !== "string" || clientId === "") return sendJson(res, 400, { error: "clientId must be a non-empty string" });
    if (!chsk.clients().some((c) => c.clientId === clientId)) return sendJson(res, 404, { error: `no client ${clientId}` });
    chsk.closeClient(clientId);
    log.info("dashboard disconnect", { client: clientId });
    return sendJson(res, 200, { ok: true });
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const isRead = method === "GET" || method === "HEAD";

    if (path === "/dashboard/api/push" || path === "/dashboard/api/disconnect") {
      return action(req, res, path.endsWith("push") ? "push" : "disconnect").then(() => true);
    }
    const page = path === "/" || path === "/index.html" ? "demo" : path === "/dashboard" || path === "/dashboard/" ? "dashboard" : null;
    const known =
      page !== null ||
      path === "/dashboard/events" ||
      path === "/dashboard/api/users" ||
      path === "/favicon.svg" ||
      path.startsWith("/chsk-client.js") ||
      path.startsWith("/assets/");
    if (!known) return false;
    if (!isRead) {
      res.setHeader("allow", "GET, HEAD");
      sendText(res, 405, "Method Not Allowed");
      return true;
    }
    if (page === "demo") sendPage(req, res, demoPage(assets.version, pageConfig()));
    else if (page === "dashboard") sendPage(req, res, dashboardPage(assets.version, pageConfig()));
    else if (path === "/dashboard/events") {
      if (method === "HEAD") {
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" });
        res.end();
      } else openFeed(req, res, url);
    }
    else if (path === "/dashboard/api/users") sendJson(res, 200, feed.users(url.searchParams.get("filter") ?? ""));
    else if (!sendAsset(req, res, path.slice(1), url)) sendText(res, 404, "Not Found");
    return true;
  }

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    feed.close();
    // Ending the response ends the gzip stream piped into it, if any.
    for (const res of streams) res.end();
    streams.clear();
  };

  return { feed, assets, handleRequest, close, [Symbol.asyncDispose]: close };
}
