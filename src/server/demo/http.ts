/** Small HTTP helpers for the reference server's own routes (not `/chsk`). */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Cookies from a Cookie header (the chsk server's parser). */
export { parseCookies } from "../request.js";

export class BodyTooLarge extends Error {}

/**
 * The request body as text. Beyond `maxBytes` it stops reading and rejects
 * with {@link BodyTooLarge}; answer `413` with {@link sendJson} or
 * {@link sendText}, which then close the connection (the rest of the body
 * is never read).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.pause();
        reject(new BodyTooLarge(`body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * A form (`application/x-www-form-urlencoded`) or JSON object body as a
 * string map; other value types in JSON are kept as is.
 */
export function parseFields(contentType: string | undefined, body: string): Record<string, unknown> | null {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") {
    try {
      const v: unknown = JSON.parse(body);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** A 413 leaves the refused body unread, so the connection can't be reused. */
function closeIfTooLarge(res: ServerResponse, status: number): void {
  if (status === 413) res.shouldKeepAlive = false;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  closeIfTooLarge(res, status);
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  closeIfTooLarge(res, status);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}
