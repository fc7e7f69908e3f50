/**
 * The one logger shape chsk's library code writes to (the client's and the
 * server's `logger` option). Library code never calls `console`: what it
 * has to say goes here, and with no logger given, nowhere but the taps.
 * The reference server's text/JSON logger (`chsk serve`) fits this shape.
 */

/** Machine-readable context of a log line: `{ code, clientId, uid, error }`. */
export type LogFields = Record<string, unknown>;

/**
 * Where chsk logs. `warn` and `error` are required (a library drops
 * nothing it would otherwise have to throw away silently); `debug` and
 * `info` are optional and skipped when absent. `console` fits as it is.
 *
 * @example
 * createClient({ url, logger: console });
 * createClient({ url, logger: { warn: (m, f) => pino.warn(f, m), error: (m, f) => pino.error(f, m) } });
 */
export interface Logger {
  debug?(msg: string, fields?: LogFields): void;
  info?(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { warn() {}, error() {} };
