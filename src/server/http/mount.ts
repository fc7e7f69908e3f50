/**
 * What the framework adapters share: the slice of a chsk server they use,
 * and the loud answer to a chsk mounted where its `path` can't be reached.
 *
 * `path` is always the public path, mount prefix included: the path the
 * client connects to, the one WebSocket upgrades arrive on (no framework
 * strips prefixes from those), and the one `req.path` shows to the hooks.
 */
import type { ServerResponse } from "node:http";
import { ChskError } from "../../core/protocol/errors.js";
import { kRefused, kReport } from "../create-server.js";
import { errorAnswer, writeAnswer } from "../request.js";
import type { ChskServer, HttpAnswer } from "../types.js";

/** The chsk server API an adapter depends on (any `ChskServer<E>` fits). */
export type MountableServer = Pick<ChskServer, "path" | "handleRequest" | "attach" | "close">;

export function pathMismatch(path: string, publicPath: string, prefix: string): ChskError {
  return new ChskError(
    "CHSK_ERR_PATH_MISMATCH",
    `chsk is mounted under "${prefix}" but its path is "${path}"; the path is the public one, prefix included: ` +
      `createServer({ path: "${publicPath}" })`,
    { status: 500, detail: { path, prefix, publicPath } },
  );
}

/** Answers the request with the error and reports it on the server (its `error` event, the `error` and `refused` taps). */
export function refuse(chsk: MountableServer, res: ServerResponse, error: ChskError): void {
  const answer = errorAnswer(error, 500);
  writeAnswer(res, answer);
  const s = chsk as { [kRefused]?: (e: ChskError, res: ServerResponse, a: HttpAnswer) => void; [kReport]?: (e: ChskError) => void };
  const refused = s[kRefused];
  if (typeof refused === "function") refused.call(chsk, error, res, answer);
  else if (typeof s[kReport] === "function") s[kReport].call(chsk, error);
}
