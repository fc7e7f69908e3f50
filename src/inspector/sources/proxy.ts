/**
 * The `proxy` source (`chsk inspect --proxy --listen 127.0.0.1:9000
 * --target http://127.0.0.1:8090 [--path /chsk]`): a reverse proxy in front
 * of a real app. Everything passes through unchanged — pages, assets,
 * redirects, cookies, CSRF headers, streams (SSE), request bodies, WS
 * upgrades on any path — and the channel path is watched as it flows:
 *
 * | traffic on the channel path | reported as |
 * |---|---|
 * | WS upgrade answered 101 | `open` (`ws-N`, client id from the URL) |
 * | WS message, either way (text or binary) | `frame` `ws` |
 * | WS close frame, either way | `close` with `dir` and code; `close` 1006 if the connection ended without one |
 * | Ajax GET answered 200 | `frame` `poll` (`handshake` if it asked for one; `status`, `requestAt`) |
 * | Ajax POST body | `frame` `post` (its packed message, read like the server reads it) |
 * | its answer | `frame` `post-reply` (same `connId` as the POST) |
 * | any other status (CSRF, origin, auth, 5xx; 502 when the app is down) | `refused` |
 * | the first request of an Ajax client id | `open` |
 *
 * Observing never alters or holds the bytes: requests and answers are
 * forwarded chunk by chunk and a copy is read after each chunk was passed
 * on (WS frames by a passive parser, `../proxy/ws-frame-reader.ts`); what is kept
 * for decoding is bounded by `maxDecodeBytes` (a larger payload is passed
 * on and reported with `CHSK_ERR_FRAME_TOO_LARGE`).
 *
 * Forwarding: plain HTTP on undici's dispatcher (one keep-alive pool to the
 * target), upgrades on `node:http` with a raw byte relay. Headers: see
 * `../proxy/headers.ts` (the app sees its own `Host` and `Origin` unless
 * `preserveHost`; `Location`s on the target's origin are pointed back at
 * the proxy; `Set-Cookie` untouched).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { Pool } from "undici";
import { ChskError, type Unsubscribe, type WireEvent, type WireTransport } from "../../core/index.js";
import { ajaxExchangeTap } from "../proxy/ajax-exchange.js";
import type { ChannelSink } from "../proxy/channel-sink.js";
import { type ForwardContext, forwardHttp } from "../proxy/forward-http.js";
import { forwardUpgrade, type UpgradeContext } from "../proxy/forward-upgrade.js";
import type { HeaderContext } from "../proxy/headers.js";
import { wsConnectionTap } from "../proxy/ws-connection-tap.js";
import type { SourceEnd, SourceNotice, WireSource } from "./types.js";

export interface ProxySourceOptions {
  /** The app's origin: `http://127.0.0.1:8090` (`https:` too). A path in it is ignored. */
  target: string;
  /**
   * Where the proxy listens: `HOST:PORT` (`[::1]:9000` for IPv6), a bare
   * port, or `{ host, port }`. Port 0 picks a free one (see {@link ProxySource.url}).
   * @default "127.0.0.1:9000"
   */
  listen?: string | { host?: string; port?: number };
  /** The channel path, decoded (other paths are only forwarded). @default "/chsk" */
  path?: string;
  /**
   * The largest payload kept for decoding, bytes: a WS message, a poll's or
   * POST's answer, a POST body. Larger ones are forwarded whole and
   * reported as `CHSK_ERR_FRAME_TOO_LARGE`. The default matches the chsk
   * server's `maxFrameBytes`. @default 1_048_576
   */
  maxDecodeBytes?: number;
  /**
   * Forward `Host`, `Origin` and `Referer` as the browser sent them (the app
   * then sees the proxy's host). By default the app sees its own host, and
   * an `Origin` / `Referer` naming the proxy names the target instead, so
   * an origin allow-list written for the app passes. @default false
   */
  preserveHost?: boolean;
  /**
   * Ajax client ids remembered, to report each one's first request as an
   * `open` (the oldest is forgotten first). @default 10_000
   */
  maxClientIds?: number;
}

/** The proxy source: a {@link WireSource} that also says where it listens. */
export interface ProxySource extends WireSource {
  readonly kind: "proxy";
  /** `http://HOST:PORT` once `start()` resolved (the bound port when it was 0); undefined before. */
  readonly url: string | undefined;
  readonly address: { host: string; port: number } | undefined;
}

interface Resolved {
  target: URL;
  host: string;
  port: number;
  path: string;
  maxDecodeBytes: number;
  preserveHost: boolean;
  maxClientIds: number;
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** `HOST:PORT`, `[V6]:PORT`, `PORT` or `{ host, port }`; TypeError / RangeError on anything else. */
function parseListen(listen: ProxySourceOptions["listen"]): { host: string; port: number } {
  let host = "127.0.0.1";
  let port: unknown = 9000;
  if (typeof listen === "string") {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*))?:?(\d+)$/.exec(listen.trim());
    if (!m) throw new TypeError(`listen must be HOST:PORT (e.g. 127.0.0.1:9000), got ${JSON.stringify(listen)}`);
    host = m[1] ?? (m[2] || "127.0.0.1");
    port = Number(m[3]);
  } else if (listen !== undefined) {
    host = listen.host ?? host;
    port = listen.port ?? port;
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`listen port must be an integer in 0..65535, got ${String(port)}`);
  }
  return { host, port };
}

function resolve(o: ProxySourceOptions): Resolved {
  let target: URL;
  try {
    target = new URL(o.target);
  } catch {
    throw new TypeError(`target must be an http:// or https:// URL, got ${JSON.stringify(o.target)}`);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`target must be an http:// or https:// URL, got ${JSON.stringify(o.target)}`);
  }
  const path = o.path ?? "/chsk";
  if (typeof path !== "string" || !path.startsWith("/") || /[?#\s]/.test(path)) {
    throw new TypeError(`path must be a URL path starting with "/", got ${JSON.stringify(path)}`);
  }
  const max = o.maxDecodeBytes ?? 1_048_576;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxDecodeBytes must be a positive integer, got ${String(max)}`);
  const ids = o.maxClientIds ?? 10_000;
  if (!Number.isInteger(ids) || ids < 1) throw new RangeError(`maxClientIds must be a positive integer, got ${String(ids)}`);
  return { target, ...parseListen(o.listen), path, maxDecodeBytes: max, preserveHost: o.preserveHost ?? false, maxClientIds: ids };
}

/** The path of a request target, without its query. */
const pathOf = (url: string | undefined): string => {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
};

/**
 * Creates the proxy source. Options are checked here (TypeError /
 * RangeError); `start()` listens, and rejects with `CHSK_ERR_LISTEN` when
 * it cannot.
 *
 * @example
 * const proxy = createProxySource({ target: "http://127.0.0.1:8090", listen: "127.0.0.1:0" });
 * proxy.onEvent((e) => decoder.push(e));
 * await proxy.start();
 * console.log(`chsk inspect proxy listening on ${proxy.url}`);
 */
export function createProxySource(options: ProxySourceOptions): ProxySource {
  const o = resolve(options);
  const eventListeners = new Set<(e: WireEvent) => void>();
  const noticeListeners = new Set<(n: SourceNotice) => void>();
  const sockets = new Set<Duplex>();
  let address: { host: string; port: number } | undefined;
  let server: Server | undefined;
  let pool: Pool | undefined;
  let started: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let ended = false;
  let endWith!: (end: SourceEnd) => void;
  const done = new Promise<SourceEnd>((r) => (endWith = r));

  const finish = (end: SourceEnd) => {
    if (ended) return;
    ended = true;
    endWith(end);
  };

  const notice = (level: SourceNotice["level"], message: string, code?: string) => {
    const n: SourceNotice = { at: Date.now(), level, message, ...(code === undefined ? {} : { code }) };
    for (const l of noticeListeners) {
      try {
        l(n);
      } catch {
        // A notice listener that throws has nowhere left to report to.
      }
    }
  };

  const emit = (e: WireEvent) => {
    if (ended) return;
    for (const l of eventListeners) {
      try {
        l(e);
      } catch (err) {
        notice("error", `an event listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  // Client ids seen on Ajax, oldest first (a Set iterates in insertion order).
  const seen = new Set<string>();
  const counters = { ws: 0, ajax: 0 };
  const sink: ChannelSink = {
    emit,
    connId: (t: WireTransport) => `${t}-${++counters[t]}`,
    firstSight(clientId) {
      if (seen.has(clientId)) return false;
      seen.add(clientId);
      if (seen.size > o.maxClientIds) seen.delete(seen.values().next().value as string);
      return true;
    },
    maxDecodeBytes: o.maxDecodeBytes,
    notice,
  };

  const headers: HeaderContext = { targetHost: o.target.host, targetOrigin: o.target.origin, preserveHost: o.preserveHost };
  const track = (s: Duplex) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };

  function onRequest(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext) {
    const tap = pathOf(req.url) === o.path ? ajaxExchangeTap(req, sink) : undefined;
    forwardHttp(req, res, ctx, tap);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: UpgradeContext) {
    const channel = pathOf(req.url) === o.path && /^websocket$/i.test(String(req.headers.upgrade ?? ""));
    forwardUpgrade(req, socket, head, ctx, channel ? wsConnectionTap(req, sink) : undefined);
  }

  async function listen(): Promise<void> {
    if (closing) throw new ChskError("CHSK_ERR_SERVER_CLOSED", "the proxy source was closed before it started");
    pool = new Pool(o.target.origin, {
      pipelining: 1,
      // Long-polls and streams: the app decides how long an answer takes or a stream stays quiet.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
    });
    const listenHost = `${bracket(o.host)}:${o.port}`;
    const fwd: ForwardContext = { dispatcher: pool, headers, listenHost };
    const up: UpgradeContext = { target: o.target, headers, listenHost, track };
    const srv = createServer({ requestTimeout: 0 }, (req, res) => onRequest(req, res, fwd));
    server = srv;
    srv.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(req, socket, head, up));
    await new Promise<void>((ok, fail) => {
      srv.once("error", fail);
      srv.listen(o.port, o.host, () => {
        srv.off("error", fail);
        ok();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "the address is in use" : e.code === "EADDRNOTAVAIL" ? "not an address of this machine" : e.code === "EACCES" ? "no permission" : e.message;
      throw new ChskError("CHSK_ERR_LISTEN", `cannot listen on ${listenHost}: ${why}`, { cause: e, detail: { code: e.code } });
    });
    const a = srv.address() as AddressInfo;
    address = { host: o.host, port: a.port };
    fwd.listenHost = `${bracket(o.host)}:${a.port}`;
    up.listenHost = fwd.listenHost;
    srv.on("error", (e: Error) => {
      notice("error", `the proxy's listener failed: ${e.message}`, "CHSK_ERR_LISTEN");
      finish({ reason: "failed", error: new ChskError("CHSK_ERR_LISTEN", `the proxy's listener failed: ${e.message}`, { cause: e }) });
      void release();
    });
    notice("info", `proxy listening on http://${fwd.listenHost} → ${o.target.origin} (channel ${o.path})`);
  }

  async function release(): Promise<void> {
    const srv = server;
    server = undefined;
    // Upgraded sockets still count as the listener's connections: they go first, or close() would wait on them.
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv) {
      const closed = new Promise<void>((r) => srv.close(() => r()));
      srv.closeAllConnections();
      await closed;
    }
    const p = pool;
    pool = undefined;
    await p?.destroy().catch(() => {});
  }

  return {
    kind: "proxy",
    get label() {
      return `proxy ${bracket(o.host)}:${address?.port ?? o.port} → ${o.target.origin}`;
    },
    packer: undefined,
    get url() {
      return address === undefined ? undefined : `http://${bracket(address.host)}:${address.port}`;
    },
    get address() {
      return address;
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return (() => void eventListeners.delete(listener)) as Unsubscribe;
    },
    onNotice(listener) {
      noticeListeners.add(listener);
      return (() => void noticeListeners.delete(listener)) as Unsubscribe;
    },
    start() {
      started ??= listen().catch(async (e: unknown) => {
        const error = e instanceof ChskError ? e : new ChskError("CHSK_ERR_LISTEN", String(e), { cause: e });
        await release();
        finish({ reason: "failed", error });
        throw error;
      });
      return started;
    },
    done,
    close() {
      closing ??= (async () => {
        await started?.catch(() => {});
        await release();
        finish({ reason: "closed" });
      })();
      return closing;
    },
  };
}
