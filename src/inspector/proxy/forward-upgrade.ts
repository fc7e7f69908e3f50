/**
 * Forwards an HTTP upgrade (a WebSocket, on any path) to the target with
 * `node:http`, then relays raw bytes both ways: the frames reach the other
 * side exactly as sent (same masks, fragmentation, extensions). A refused
 * upgrade's answer (403, 500…) is relayed as it came. An
 * {@link UpgradeTap} sees copies of the relayed chunks, after each was
 * passed on.
 *
 * Why not undici here: its `upgrade()` rejects a non-101 answer without
 * its body, and a refusal's body (`Bad CSRF token`) is what a debugger
 * has to show.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import { type HeaderContext, proxyOriginOf, requestHeaders, responseHeaders } from "./headers.js";

export interface UpgradeTap {
  /** The target answered 101; relaying starts. */
  switched(res: IncomingMessage): void;
  /** Bytes the browser sent, already forwarded. */
  clientBytes(chunk: Buffer): void;
  /** Bytes the target sent, already forwarded. */
  serverBytes(chunk: Buffer): void;
  /** Both sockets are closed. */
  ended(): void;
  /** The target answered something else than 101. */
  refusedStart(status: number, headers: IncomingHttpHeaders): void;
  refusedChunk(chunk: Buffer): void;
  refusedEnd(): void;
  /** The target could not be reached (the browser got a 502). */
  failed(message: string): void;
}

export interface UpgradeContext {
  target: URL;
  headers: HeaderContext;
  listenHost: string;
  /** Every socket the proxy holds, so `close()` can end them. */
  track(socket: Duplex): void;
}

/** How long a socket may stay half-closed after its peer went away. */
const LINGER_MS = 5_000;

const CRLF = "\r\n";
const head = (status: number, message: string, pairs: readonly string[]): string => {
  let s = `HTTP/1.1 ${status} ${message}${CRLF}`;
  for (let i = 0; i < pairs.length; i += 2) s += `${pairs[i]}: ${pairs[i + 1]}${CRLF}`;
  return s + CRLF;
};

/** Copies `src` to `dst` with backpressure; `tap` sees each chunk after it was written. */
function relay(src: Duplex, dst: Duplex, tap: ((chunk: Buffer) => void) | undefined): void {
  src.on("data", (chunk: Buffer) => {
    if (!dst.write(chunk)) src.pause();
    tap?.(chunk);
  });
  dst.on("drain", () => src.resume());
  src.on("end", () => dst.end());
  src.on("close", () => {
    if (dst.destroyed) return;
    dst.end();
    setTimeout(() => dst.destroy(), LINGER_MS).unref();
  });
}

/** Sends the upgrade request to the target and relays whatever comes back. Never throws. */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, clientHead: Buffer, ctx: UpgradeContext, tap?: UpgradeTap): void {
  ctx.track(socket);
  socket.on("error", () => socket.destroy());
  const proxyOrigin = proxyOriginOf(req, ctx.listenHost);
  const { target } = ctx;
  const secure = target.protocol === "https:";
  let settled = false;

  const upstream = (secure ? httpsRequest : httpRequest)({
    host: target.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: target.port === "" ? (secure ? 443 : 80) : Number(target.port),
    method: req.method ?? "GET",
    path: req.url ?? "/",
    headers: requestHeaders(req, ctx.headers, proxyOrigin, true),
    setHost: false,
    agent: false,
  });

  socket.once("close", () => {
    if (!settled) upstream.destroy();
  });

  upstream.on("upgrade", (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    settled = true;
    ctx.track(upSocket);
    upSocket.on("error", () => upSocket.destroy());
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    (socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    (upSocket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    // The 101 exactly as the target sent it (its Connection/Upgrade headers included).
    socket.write(head(res.statusCode ?? 101, res.statusMessage ?? "Switching Protocols", res.rawHeaders), "latin1");
    tap?.switched(res);
    if (upHead.length > 0) {
      socket.write(upHead);
      tap?.serverBytes(upHead);
    }
    if (clientHead.length > 0) {
      upSocket.write(clientHead);
      tap?.clientBytes(clientHead);
    }
    relay(socket, upSocket, tap?.clientBytes.bind(tap));
    relay(upSocket, socket, tap?.serverBytes.bind(tap));
    let open = 2;
    const closed = () => {
      if (--open === 0) tap?.ended();
    };
    socket.once("close", closed);
    upSocket.once("close", closed);
  });

  upstream.on("response", (res: IncomingMessage) => {
    settled = true;
    res.on("error", () => socket.destroy());
    if (socket.destroyed) {
      res.resume();
      return;
    }
    const pairs = responseHeaders(res.rawHeaders, ctx.headers.targetOrigin, proxyOrigin);
    // The body arrives de-chunked: without its length it is delimited by closing the connection.
    socket.write(head(res.statusCode ?? 502, res.statusMessage ?? "", [...pairs, "Connection", "close"]), "latin1");
    tap?.refusedStart(res.statusCode ?? 0, res.headers);
    res.on("data", (chunk: Buffer) => {
      if (!socket.write(chunk)) res.pause();
      tap?.refusedChunk(chunk);
    });
    socket.on("drain", () => res.resume());
    res.on("end", () => {
      socket.end();
      tap?.refusedEnd();
    });
  });

  upstream.on("error", (e: Error) => {
    if (settled) return;
    settled = true;
    const code = (e as { code?: string }).code;
    const why = `${code ? `${code}: ` : ""}${e.message}`;
    const body = `chsk inspect proxy: ${ctx.headers.targetOrigin} did not answer: ${why}\n`;
    if (!socket.destroyed) {
      socket.end(
        `HTTP/1.1 502 Bad Gateway${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}Content-Length: ${Buffer.byteLength(body)}${CRLF}Connection: close${CRLF}${CRLF}${body}`,
      );
    }
    tap?.failed(body.trim());
  });

  upstream.end();
}
