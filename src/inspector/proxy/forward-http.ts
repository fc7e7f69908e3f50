/**
 * Forwards one HTTP request to the target on undici's dispatcher API and
 * streams the answer back: bodies both ways flow chunk by chunk with
 * backpressure (an SSE feed streams; a long download is never held), and
 * are never re-encoded (`Content-Encoding` passes as it is). An
 * {@link ExchangeTap} sees the same chunks, after they were passed on.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { type HeaderContext, proxyOriginOf, requestHeaders, responseHeaders } from "./headers.js";

/** Watches one exchange (the channel path's Ajax requests). Called after each chunk was forwarded. */
export interface ExchangeTap {
  requestChunk(chunk: Buffer): void;
  requestEnd(): void;
  responseStart(status: number, headers: IncomingHttpHeaders): void;
  responseChunk(chunk: Buffer): void;
  responseEnd(): void;
  /**
   * The exchange ended without a whole answer: `upstream` (the target could
   * not be reached or broke off; `answered` says whether its status line
   * had arrived) or `client` (the browser went away first).
   */
  failed(by: "upstream" | "client", message: string, answered: boolean): void;
}

export interface ForwardContext {
  dispatcher: Dispatcher;
  headers: HeaderContext;
  /** `host:port` the proxy listens on, for a request without `Host`. */
  listenHost: string;
}

class ClientGone extends Error {}

/** Whether the request has a body to forward (RFC 9112 §6.3). */
const hasBody = (req: IncomingMessage): boolean =>
  req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

async function* tapped(req: IncomingMessage, tap: ExchangeTap): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    yield chunk as Buffer;
    tap.requestChunk(chunk as Buffer);
  }
  tap.requestEnd();
}

/** Sends `req` to the target and its answer to `res`. Never throws; failures answer 502 (or cut the response). */
export function forwardHttp(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext, tap?: ExchangeTap): void {
  const proxyOrigin = proxyOriginOf(req, ctx.listenHost);
  const withBody = hasBody(req);
  let controller: Dispatcher.DispatchController | undefined;
  let gone = false;
  let answered = false;
  let finished = false;

  res.on("close", () => {
    if (finished || res.writableFinished) return;
    gone = true;
    controller?.abort(new ClientGone("the browser closed the connection"));
  });

  const fail = (e: Error) => {
    if (finished) return;
    finished = true;
    const by = gone || e instanceof ClientGone ? "client" : "upstream";
    tap?.failed(by, e.message, answered);
    if (by === "client") return;
    if (!res.headersSent) {
      const body = `chsk inspect proxy: ${ctx.headers.targetOrigin} did not answer: ${describe(e)}\n`;
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), connection: "close" });
      res.end(body);
    } else {
      res.destroy();
    }
  };

  if (!withBody) tap?.requestEnd();
  let paused = false;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      if (gone) c.abort(new ClientGone("the browser closed the connection"));
    },
    onResponseStart(c, status, headers, statusMessage) {
      answered = true;
      const raw = (c.rawHeaders ?? []) as Buffer[];
      const pairs = responseHeaders(raw, ctx.headers.targetOrigin, proxyOrigin);
      if (statusMessage) res.writeHead(status, statusMessage, pairs);
      else res.writeHead(status, pairs);
      // A stream (SSE, chunked) gets its headers now, not with its first chunk, which may be far off.
      // A sized body follows right behind its headers: one write for both.
      if (headers["content-length"] === undefined) res.flushHeaders();
      tap?.responseStart(status, headers);
    },
    onResponseData(c, chunk) {
      if (!res.write(chunk) && !paused) {
        paused = true;
        c.pause();
        res.once("drain", () => {
          paused = false;
          c.resume();
        });
      }
      tap?.responseChunk(chunk);
    },
    onResponseEnd() {
      if (finished) return;
      finished = true;
      res.end();
      tap?.responseEnd();
    },
    onResponseError(_c, e) {
      fail(e);
    },
  };

  try {
    ctx.dispatcher.dispatch(
      {
        path: req.url ?? "/",
        method: req.method ?? "GET",
        headers: requestHeaders(req, ctx.headers, proxyOrigin, false),
        body: withBody ? (tap ? tapped(req, tap) : req) : null,
        // The app decides how long a poll is held or a stream stays quiet.
        headersTimeout: 0,
        bodyTimeout: 0,
        upgrade: null,
      } as Dispatcher.DispatchOptions,
      handler,
    );
  } catch (e) {
    fail(e as Error);
  }
}

/** `ECONNREFUSED 127.0.0.1:8090`, not undici's generic "fetch failed". */
function describe(e: Error): string {
  const cause = (e as { cause?: unknown }).cause;
  const code = (e as { code?: string }).code;
  const inner = cause instanceof Error ? ` (${cause.message})` : "";
  return `${code ? `${code}: ` : ""}${e.message}${inner}`;
}
