/**
 * A reader of the inspector endpoint's stream (`mountInspector`) for the
 * tests: one GET with the bearer token, lines parsed with the library's
 * own `parseInspectorLine` as they arrive, `waitFor` to await a line,
 * `close()` to hang up. Bounded by timeouts.
 */
import { get, type IncomingMessage } from "node:http";
import { type InspectorLine, parseInspectorLine } from "../../src/server/index.js";
import { withTimeout } from "./server-helpers.js";

export interface InspectorStream {
  status: number;
  headers: IncomingMessage["headers"];
  /** Every line so far, parsed. */
  lines: InspectorLine[];
  /** Resolves when the server ends (or cuts) the stream. */
  ended: Promise<void>;
  /** The first line (so far or to come) matching `pred`. */
  waitFor<T extends InspectorLine = InspectorLine>(pred: (l: InspectorLine) => boolean, what: string, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** Opens the stream at `url`; resolves once the status line is in (any status; non-200 bodies end at once). */
export function openInspectorStream(url: string, token: string | undefined, headers: Record<string, string> = {}): Promise<InspectorStream> {
  return withTimeout(
    new Promise<InspectorStream>((resolve, reject) => {
      const req = get(url, { headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers } }, (res) => {
        const lines: InspectorLine[] = [];
        const waiters = new Set<() => void>();
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (s: string) => {
          buf += s;
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = parseInspectorLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
            if (line !== null) lines.push(line);
          }
          for (const w of waiters) w();
        });
        const ended = new Promise<void>((r) => {
          res.on("close", () => r());
          res.on("error", () => r());
        });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          lines,
          ended,
          waitFor<T extends InspectorLine>(pred: (l: InspectorLine) => boolean, what: string, timeoutMs = 5000): Promise<T> {
            const found = lines.find(pred);
            if (found) return Promise.resolve(found as T);
            let check: () => void = () => {};
            return withTimeout(
              new Promise<T>((r) => {
                check = () => {
                  const f = lines.find(pred);
                  if (f) r(f as T);
                };
                waiters.add(check);
              }),
              timeoutMs,
              what,
            ).finally(() => waiters.delete(check));
          },
          close: () => req.destroy(),
        });
      });
      req.on("error", reject);
    }),
    5000,
    `the inspector stream at ${url}`,
  );
}
