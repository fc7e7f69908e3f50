/**
 * The server's default `logger`: `warn` and `error` to the console, the
 * chattier levels dropped (a refused request is no news to a terminal).
 * The only place in the server library that touches `console`; what gets
 * here is already bounded (each kind of failure is logged once, peer
 * errors once per code and client), so the console cannot be flooded.
 */
import type { LogFields, Logger } from "../core/logger.js";

/** `chsk: <msg>`, with the error (its stack) as a second argument when the fields carry one. */
function write(method: "warn" | "error", msg: string, fields: LogFields | undefined): void {
  const error = fields?.["error"];
  // eslint-disable-next-line no-console
  if (error === undefined) console[method](`chsk: ${msg}`);
  // eslint-disable-next-line no-console
  else console[method](`chsk: ${msg}:`, error);
}

/**
 * A console-backed {@link Logger}: what `createServer` logs to unless given
 * `logger` (`null` silences it).
 */
export function consoleLogger(): Logger {
  return {
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}
