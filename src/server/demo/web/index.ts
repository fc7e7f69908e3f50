/**
 * `chsk serve`'s browser side: the demo page and its files, plus the live
 * dashboard mounted through the public {@link mountDashboard} (the same
 * call an application makes). It plugs into `startReferenceServer({ web })`
 * and answers only its own routes:
 *
 * | route                           | what                                                |
 * |---------------------------------|-----------------------------------------------------|
 * | `GET /`                         | demo page (`?transport=auto|ws|ajax`)               |
 * | `GET /chsk-client.js` (+`.map`) | the browser client, ESM, with its source map        |
 * | `GET /assets/*`, `/favicon.svg` | the demo page's script and styles                   |
 * | `/dashboard`, `/dashboard/*`    | the dashboard (see `mountDashboard`)                |
 *
 * Who sees the dashboard is the app's visibility rule
 * (`WebContext.dashboardAccess`, see `../visibility.ts`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ChskEvent } from "../../../core/protocol/events.js";
import { type Dashboard, type DashboardAccess, type DashboardOptions, mountDashboard } from "../../dashboard/mount-dashboard.js";
import type { ChskServer, Uid } from "../../types.js";
import { type AssetTable, type LoadAssetsOptions, loadAssets, sendAsset } from "../../web/assets.js";
import { requestTarget } from "../../web/request-target.js";
import { messagePage, missingAssetsPage, sendPage } from "../../web/shell.js";
import type { WebContext, WebHook, WebHookFactory } from "../app.js";
import { sendText } from "../http.js";
import { type Logger, silentLogger } from "../logger.js";
import { demoPage } from "./html.js";

export const DASHBOARD_PATH = "/dashboard";

export interface WebUiOptions {
  chsk: ChskServer;
  /** Who may see and do what on the dashboard. @default () => "read" */
  dashboardAuth?: (req: IncomingMessage) => DashboardAccess;
  /** Answers a refused dashboard page. @default a 403 page */
  onDashboardDenied?: (req: IncomingMessage, res: ServerResponse) => void;
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
  feed?: DashboardOptions["feed"];
  /** Dashboards that may watch at once; more get 503. @default 32 */
  maxDashboards?: number;
}

export interface WebUi extends WebHook {
  readonly dashboard: Dashboard;
  readonly assets: AssetTable;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The demo page's files; the dashboard serves its own under `/dashboard/`. */
const isDemoFile = (path: string): boolean =>
  path === "favicon.svg" || path.startsWith("chsk-client.js") || (path.startsWith("assets/") && !path.startsWith("assets/dashboard"));

/** The `web` option for `startReferenceServer`: builds the UI from the app's context. */
export function webUi(overrides: Partial<Omit<WebUiOptions, "chsk">> = {}): WebHookFactory {
  return (ctx: WebContext) =>
    createWebUi({
      chsk: ctx.chsk,
      dashboardAuth: (req) => ctx.dashboardAccess(req),
      onDashboardDenied: (req, res) => deniedPage(req, res, ctx),
      packer: ctx.options.packer,
      csrf: ctx.options.csrf,
      push: ctx.push,
      log: ctx.log,
      ...overrides,
      // The feed taps the server only while a dashboard watches; the error totals are the app's, since it started.
      // A cluster node's panel reads the same cached view as /api/stats.
      feed: { totals: () => ctx.errorTotals(), ...(ctx.cluster === null ? {} : { cluster: ctx.cluster }), ...overrides.feed },
    });
}

/**
 * Beyond loopback, without the token: say where the token is. On loopback
 * the only refusal is a `Host` that doesn't name this machine.
 */
function deniedPage(req: IncomingMessage, res: ServerResponse, ctx: WebContext): void {
  if (ctx.options.visibility === "token") {
    const text =
      "This server listens beyond loopback, so its dashboard needs the token `chsk serve` printed when it started: open the dashboard link it printed (…/dashboard?token=…), or send Authorization: Bearer <token>.";
    return sendPage(res, 403, messagePage("Dashboard: token required", text), req.method === "HEAD");
  }
  const text =
    `This server listens on loopback and opens its dashboard only to addresses of this machine (localhost, 127.0.0.1, [::1]); this request was addressed to ${JSON.stringify(req.headers.host ?? "")}, ` +
    "as a DNS-rebinding page would be. Open the dashboard through localhost, or start chsk serve with --allowed-hosts NAME if this name is yours.";
  sendPage(res, 403, messagePage("Dashboard: unknown host name", text), req.method === "HEAD");
}

export async function createWebUi(options: WebUiOptions): Promise<WebUi> {
  const { chsk } = options;
  const log = options.log ?? silentLogger;
  const dashboard = mountDashboard(chsk, {
    path: DASHBOARD_PATH,
    auth: options.dashboardAuth ?? (() => "read"),
    ...(options.onDashboardDenied ? { onDenied: options.onDashboardDenied } : {}),
    links: [{ href: "/", label: "Demo" }],
    notes: {
      readOnly: "Read-only. Start chsk serve with --dashboard-admin to push to users and disconnect clients from here.",
    },
    ...(options.push ? { push: options.push } : {}),
    ...(options.assets ? { assets: options.assets } : {}),
    ...(options.feed ? { feed: options.feed } : {}),
    ...(options.maxDashboards !== undefined ? { maxDashboards: options.maxDashboards } : {}),
    log,
  });
  const assets = await loadAssets(options.assets);
  await dashboard.ready;
  if (assets.problem !== undefined) log.warn("web ui: browser files unavailable", { problem: assets.problem });
  const config = { chskPath: chsk.path, packer: options.packer ?? chsk.packer.name, csrf: options.csrf ?? true };

  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (dashboard.handleRequest(req, res)) return true;
    const { path, query } = requestTarget(req.url);
    const isDemo = path === "/" || path === "/index.html";
    const file = path.slice(1);
    if (!isDemo && !isDemoFile(file)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendText(res, 405, "Method Not Allowed");
      return true;
    }
    const head = req.method === "HEAD";
    if (isDemo) {
      if (assets.problem !== undefined) sendPage(res, 503, missingAssetsPage(assets.problem), head);
      else sendPage(res, 200, demoPage(assets.version, config), head);
      return true;
    }
    const asset = assets.get(file);
    if (asset) sendAsset(req, res, asset, query.get("v") === assets.version);
    else sendText(res, 404, "Not Found");
    return true;
  }

  const close = () => dashboard.close();
  return { dashboard, assets, handleRequest, close, [Symbol.asyncDispose]: close };
}
