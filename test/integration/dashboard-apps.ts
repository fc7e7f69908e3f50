/**
 * Apps that embed the dashboard the way the README shows, for the
 * integration and browser tests: plain node:http, Express 5 and Fastify 5,
 * each with its own routes beside chsk and `mountDashboard`, on 127.0.0.1
 * port 0. The app's "session" is a `role` cookie (or `x-role` header) that
 * its `auth` hook maps to a dashboard access level.
 */
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, request, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { parseCookies } from "../../src/server/request.js";
import { createServer, type ChskServer, type Dashboard, type DashboardAccess, type DashboardOptions, mountDashboard } from "../../src/server/index.js";

export interface EmbedApp {
  kind: "node:http" | "express" | "fastify";
  url: string;
  chsk: ChskServer;
  dashboard: Dashboard;
  close(): Promise<void>;
}

/** The app's auth: its "session" (a `role` cookie or `x-role` header) decides. */
export function roleAuth(req: IncomingMessage): DashboardAccess {
  const role = req.headers["x-role"] ?? parseCookies(req.headers.cookie)["role"];
  return role === "admin" || role === "read" || role === "counts" ? role : false;
}

/** chsk as the apps use it: the uid from `?uid=` (no sessions here), CSRF off. */
function newChsk(): ChskServer {
  const chsk = createServer({ csrfToken: null, userId: (req) => req.query["uid"] ?? null });
  chsk.startRouter((msg) => {
    if (msg.id === "app/echo") msg.reply?.(msg.data);
  });
  chsk.on("error", () => {});
  return chsk;
}

async function listening(server: HttpServer): Promise<string> {
  if (!server.listening) await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startEmbedApp(kind: EmbedApp["kind"], options: DashboardOptions = {}): Promise<EmbedApp> {
  const chsk = newChsk();
  const dashboard = mountDashboard(chsk, options);
  let server: HttpServer;
  let stopFramework = async () => {};
  if (kind === "node:http") {
    server = createHttpServer((req, res) => {
      if (dashboard.handleRequest(req, res)) return;
      res.writeHead(200, { "content-type": "text/plain" }).end(`app: ${req.url}`);
    });
    chsk.attach(server);
    server.listen(0, "127.0.0.1");
  } else if (kind === "express") {
    const app = express();
    app.use(dashboard.middleware);
    app.use((req, res) => void res.type("text/plain").send(`app: ${req.url}`));
    server = createHttpServer(app);
    chsk.attach(server);
    server.listen(0, "127.0.0.1");
  } else {
    const fastify = Fastify();
    // Before Fastify parses a body: the dashboard reads its own. The README's line, verbatim (a test compares them).
    fastify.addHook("onRequest", (req, reply, done) => { if (dashboard.handleRequest(req.raw, reply.raw)) reply.hijack(); else done(); });
    fastify.get("/*", async (req) => `app: ${req.url}`);
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    server = fastify.server;
    chsk.attach(server, { requests: false });
    stopFramework = () => fastify.close();
  }
  const url = await listening(server);
  return {
    kind,
    url,
    chsk,
    dashboard,
    async close() {
      await dashboard.close();
      await chsk.close();
      server.closeAllConnections();
      if (kind === "fastify") await stopFramework();
      else await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface FeedEvent {
  type: string;
  data: unknown;
}

/** Reads a dashboard's SSE feed until `until` holds (or `timeoutMs`); returns what came. */
export async function readFeed(
  url: string,
  until: (events: FeedEvent[]) => boolean,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<FeedEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), options.timeoutMs ?? 5000);
  const events: FeedEvent[] = [];
  try {
    const res = await fetch(url, { signal: ac.signal, headers: options.headers ?? {} });
    if (res.status !== 200) throw new Error(`feed ${url}: HTTP ${res.status}`);
    if (!/^text\/event-stream/.test(res.headers.get("content-type") ?? "")) throw new Error(`feed ${url}: not an event stream`);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data) events.push({ type, data: JSON.parse(data) });
      }
      if (until(events)) break;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

export interface RawAnswer {
  status: number;
  headers: IncomingMessage["headers"];
  text: string;
}

/**
 * One request to 127.0.0.1:`port` with what `fetch` won't send: a forged
 * `Host` (DNS rebinding: the browser sends the attacker's name) and the path
 * exactly as given (`//chsk`). Bounded by `timeoutMs`.
 */
export function rawRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => (text += s));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`${path}: no answer in time`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
