/**
 * The reference server's log: one line per connection change or error, as
 * text or JSON lines. The caller chooses the sink (the CLI passes stderr).
 */
export type LogLevel = "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface LoggerOptions {
  /** @default "text" */
  format?: LogFormat;
  /** Receives one line, without the newline. */
  write: (line: string) => void;
  now?: () => Date;
}

function textValue(v: unknown): string {
  if (typeof v === "string") return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

/** `text`: `TIME LEVEL msg k=v …`; `json`: `{"time","level","msg",…fields}`. */
export function createLogger(options: LoggerOptions): Logger {
  const { write } = options;
  const format = options.format ?? "text";
  const now = options.now ?? (() => new Date());
  const log = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    const time = now().toISOString();
    if (format === "json") {
      const plain = Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : v]),
      );
      write(JSON.stringify({ time, level, msg, ...plain }));
    } else {
      const kv = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v)}`);
      write([time, level.padEnd(5), msg, ...kv].join(" "));
    }
  };
  return {
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}
