/**
 * `expressAdapter(chsk)`: chsk's Ajax half as Express middleware.
 *
 * Works behind global body parsers: a body that `express.urlencoded()`
 * (extended or not), `express.raw()` or `express.text()` already read is
 * taken from `req.body`; anything that swallowed it unusably gets a 500
 * `CHSK_ERR_BODY_CONSUMED` instead of a hang. Express routes no WebSocket
 * upgrades, so hand them over with `chsk.attach(server, { requests: false })`.
 *
 * Typed structurally (no `express` import), so apps type-check with or
 * without `@types/express`. Tested with Express 5; it relies only on the
 * middleware contract Express 4 shares (`originalUrl`, `req.body`, `next`).
 *
 * @example
 * const chsk = createServer({ path: "/rt/chsk", csrfToken: null });
 * const app = express();
 * app.use(express.urlencoded({ extended: false }));
 * app.use("/rt", expressAdapter(chsk));
 * const server = app.listen(8080);
 * chsk.attach(server, { requests: false });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { pathOf } from "../request.js";
import { type MountableServer, pathMismatch, refuse } from "./mount.js";

/** What the middleware reads of an Express request (Express's `Request` has it all). */
export interface ExpressRequestLike extends IncomingMessage {
  /** The URL before Express stripped mount prefixes from `url`. */
  originalUrl?: string;
  /** What a body parser left; used only if it consumed the stream. */
  body?: unknown;
}

/** An Express (connect-style) middleware. */
export type ExpressMiddleware = (req: ExpressRequestLike, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * chsk as Express middleware: GET and POST on `chsk.path` go to chsk, every
 * other request to `next()`. Mount it at the root or under a prefix;
 * either way `chsk.path` is the public path, prefix included
 * (`app.use("/rt", expressAdapter(chsk))` needs `path: "/rt/chsk"`). A
 * path that leaves the prefix out is answered 500 `CHSK_ERR_PATH_MISMATCH`
 * (and reported on the server's `error` event), not a silent 404.
 *
 * @throws TypeError if `chsk` is not a chsk server.
 */
export function expressAdapter(chsk: MountableServer): ExpressMiddleware {
  if (chsk === null || typeof chsk !== "object" || typeof chsk.handleRequest !== "function") {
    throw new TypeError("expressAdapter(chsk): chsk must be a server from createServer()");
  }
  const path = chsk.path;
  return function chskMiddleware(req, res, next) {
    const url = req.originalUrl ?? req.url ?? "/";
    const full = pathOf(url);
    if (full !== path) {
      const inner = pathOf(req.url);
      if (inner === path && full.endsWith(inner)) refuse(chsk, res, pathMismatch(path, full, full.slice(0, full.length - inner.length)));
      else next();
      return;
    }
    // Express stripped the mount prefix; chsk (its path check, `req.path` in the hooks) sees the public URL.
    const before = req.url;
    req.url = url;
    if (chsk.handleRequest(req, res, { body: req.body })) return;
    req.url = before;
    next();
  };
}
