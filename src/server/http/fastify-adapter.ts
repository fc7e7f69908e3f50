/**
 * `fastifyAdapter(chsk)`: chsk as a Fastify plugin, both transports.
 *
 * - Ajax: GET and POST routes on `chsk.path` that `reply.hijack()` and
 *   hand the raw request and response to chsk. Fastify has no parser for
 *   `application/x-www-form-urlencoded` or `application/octet-stream` (it
 *   answers 415); the plugin adds, inside its own encapsulated context, ones
 *   that leave the stream to chsk. If the app already parses one of them
 *   (`@fastify/formbody`), chsk takes the parsed `request.body`.
 * - WebSocket: upgrades on `chsk.path` are taken from `fastify.server`;
 *   upgrades on other paths stay with their own listeners.
 * - Closing the app closes chsk first (`preClose`), so open sockets and
 *   held polls don't keep the server from closing.
 *
 * Typed structurally (no `fastify` import in chsk's types).
 *
 * @example
 * const chsk = createServer({ path: "/rt/chsk", csrfToken: null });
 * const app = Fastify();
 * await app.register(fastifyAdapter(chsk), { prefix: "/rt" });
 * await app.listen({ port: 8080 });
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { writeAnswer } from "../request.js";
import { type MountableServer, pathMismatch } from "./mount.js";

/** What the plugin reads of a Fastify request. */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
  readonly body?: unknown;
}

/** What the plugin uses of a Fastify reply. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse;
  hijack(): unknown;
}

/** The Fastify instance API the plugin uses (a `FastifyInstance` has it all). */
export interface FastifyInstanceLike {
  readonly server: HttpServer;
  readonly prefix: string;
  route(options: { method: ("GET" | "POST")[]; url: string; handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void }): unknown;
  hasContentTypeParser(contentType: string): boolean;
  addContentTypeParser(
    contentType: string,
    parser: (request: unknown, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => void,
  ): unknown;
  addHook(name: "preClose", hook: () => Promise<void>): unknown;
}

/** A Fastify plugin (callback style); register it with `app.register(plugin, { prefix })`. */
export type FastifyPlugin = (instance: FastifyInstanceLike, options: unknown, done: (err?: Error) => void) => void;

/** What chsk's client POSTs: text packers send forms, binary packers bytes. */
const CHSK_BODY_TYPES = ["application/x-www-form-urlencoded", "application/octet-stream"];

function leaveStreamToChsk(_request: unknown, _payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void): void {
  done(null, undefined);
}

/**
 * chsk as a Fastify plugin. `chsk.path` is the public path, the register
 * prefix included (`{ prefix: "/rt" }` needs `path: "/rt/chsk"`); a path
 * outside the prefix fails the registration (`app.ready()` / `listen()`
 * reject) with `CHSK_ERR_PATH_MISMATCH`.
 *
 * @throws TypeError if `chsk` is not a chsk server.
 */
export function fastifyAdapter(chsk: MountableServer): FastifyPlugin {
  if (chsk === null || typeof chsk !== "object" || typeof chsk.handleRequest !== "function") {
    throw new TypeError("fastifyAdapter(chsk): chsk must be a server from createServer()");
  }
  const path = chsk.path;
  const plugin: FastifyPlugin = (fastify, _options, done) => {
    const prefix = fastify.prefix.endsWith("/") ? fastify.prefix.slice(0, -1) : fastify.prefix;
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      done(pathMismatch(path, prefix + path, prefix));
      return;
    }
    for (const type of CHSK_BODY_TYPES) {
      if (!fastify.hasContentTypeParser(type)) fastify.addContentTypeParser(type, leaveStreamToChsk);
    }
    fastify.route({
      method: ["GET", "POST"],
      url: path.slice(prefix.length) || "/",
      handler(request, reply) {
        reply.hijack();
        if (chsk.handleRequest(request.raw, reply.raw, { body: request.body })) return;
        // Fastify matched a variant of the path (a trailing slash, other case); chsk answers on exactly one.
        writeAnswer(reply.raw, { status: 404, body: `Not Found (chsk answers on "${path}")` });
      },
    });
    chsk.attach(fastify.server, { requests: false });
    fastify.addHook("preClose", () => chsk.close());
    done();
  };
  (plugin as unknown as Record<symbol, string>)[Symbol.for("fastify.display-name")] = "chsk";
  return plugin;
}
