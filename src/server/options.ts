/**
 * `ServerOptions` → validated, defaulted `ResolvedOptions`. Bad options fail
 * at construction with `TypeError` (wrong kind) or `RangeError` (bad number),
 * the way ws's constructors do.
 */
import { type Clock, systemClock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { ednPacker } from "../core/packers/edn.js";
import type { Packer } from "../core/packers/types.js";
import { consoleLogger } from "./console-logger.js";
import type { ClusterOption } from "./cluster/types.js";
import type { ChskRequest, HttpAnswer, ServerOptions, SKIP_CSRF, Uid } from "./types.js";

type MaybePromise<T> = T | Promise<T>;

export interface ResolvedOptions {
  path: string;
  packer: Packer;
  userId: ((req: ChskRequest) => MaybePromise<Uid | undefined>) | null;
  csrfToken: ((req: ChskRequest) => MaybePromise<string | null | undefined | typeof SKIP_CSRF>) | null;
  allowedOrigins: "all" | readonly string[];
  authorized: ((req: ChskRequest) => MaybePromise<boolean>) | null;
  reject: ((req: ChskRequest) => MaybePromise<HttpAnswer | null | undefined>) | null;
  badCsrf: (req: ChskRequest) => HttpAnswer;
  badOrigin: (req: ChskRequest) => HttpAnswer;
  unauthorized: (req: ChskRequest) => HttpAnswer;
  handshakeData: ((req: ChskRequest) => unknown) | null;
  wsKaliveMs: number;
  wsPingTimeoutMs: number;
  lpTimeoutMs: number;
  sendBufMsWs: number;
  sendBufMsAjax: number;
  msAllowReconnectBeforeCloseWs: number;
  msAllowReconnectBeforeCloseAjax: number;
  maxFrameBytes: number;
  maxDepth: number;
  maxPendingPollsPerClient: number;
  maxPendingPostsPerClient: number;
  maxBufferedBytesPerClient: number;
  bodyTimeoutMs: number;
  recvBufferSize: number;
  closeTimeoutMs: number;
  retainUpgradeRequest: boolean;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal | undefined;
  cluster: ClusterOption | null;
}

/**
 * 4 MiB: four of the largest frames chsk accepts, or thousands of ordinary
 * pushes, may wait for one client before it counts as a slow consumer; a
 * stuck client then costs at most this (plus one frame), not the whole push
 * stream.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Sente's `default-client-side-ajax-timeout-ms`: lp-timeout must stay below it. */
export const MAX_LP_TIMEOUT_MS = 60_000;

const defaultBadCsrf = (): HttpAnswer => ({ status: 403, body: "Bad CSRF token" });
const defaultBadOrigin = (): HttpAnswer => ({ status: 403, body: "Unauthorized origin" });
const defaultUnauthorized = (): HttpAnswer => ({ status: 401, body: "Unauthorized request" });

function fnOrNull<T>(name: string, v: T | undefined | null): T | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "function") throw new TypeError(`The "${name}" option must be a function`);
  return v;
}

/** A finite number ≥ `min` (ms timings, sizes). */
function num(name: string, v: unknown, dflt: number, opts: { min?: number; integer?: boolean; below?: number } = {}): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new TypeError(`The "${name}" option must be a number, got ${typeof v}`);
  const min = opts.min ?? 0;
  if (Number.isNaN(v) || !Number.isFinite(v) || v < min || (opts.integer && !Number.isInteger(v))) {
    throw new RangeError(`The "${name}" option must be a finite ${opts.integer ? "integer" : "number"} >= ${min}, got ${v}`);
  }
  if (opts.below !== undefined && v >= opts.below) {
    throw new RangeError(`The "${name}" option must be < ${opts.below} (the client's Ajax timeout), got ${v}`);
  }
  return v;
}

const silent: Logger = { warn() {}, error() {} };

/** `{ warn, error, info?, debug? }`, `null` (silent) or absent (the console). */
function logger(v: unknown): Logger {
  if (v === undefined) return consoleLogger();
  if (v === null) return silent;
  const l = v as Record<string, unknown>;
  if (typeof v !== "object" || typeof l["warn"] !== "function" || typeof l["error"] !== "function") {
    throw new TypeError('The "logger" option must be a logger ({ warn, error, info?, debug? }: console fits) or null');
  }
  for (const level of ["info", "debug"]) {
    if (l[level] !== undefined && typeof l[level] !== "function") throw new TypeError(`The "logger" option's ${level} must be a function`);
  }
  return guarded(v as Logger);
}

/** A logger that throws must not break the request or frame being logged about. */
function guarded(l: Logger): Logger {
  const wrap = (f: Logger["warn"] | undefined): Logger["warn"] | undefined =>
    f === undefined
      ? undefined
      : (msg, fields) => {
          try {
            f.call(l, msg, fields);
          } catch {
            // Nothing left to tell it to.
          }
        };
  const out: Logger = { warn: wrap(l.warn)!, error: wrap(l.error)! };
  const info = wrap(l.info);
  const debug = wrap(l.debug);
  if (info !== undefined) out.info = info;
  if (debug !== undefined) out.debug = debug;
  return out;
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new TypeError(`The "${name}" option must be a boolean`);
  return v;
}

export function resolveOptions(options: ServerOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError("createServer(options): options must be an object");
  }
  const o = options;

  const path = o.path ?? "/chsk";
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("?")) {
    throw new TypeError(`The "path" option must be a string starting with "/" and without a query, got ${String(path)}`);
  }

  if (o.csrfToken === undefined) {
    throw new TypeError(
      'The "csrfToken" option is required: pass a function returning the reference CSRF token for a request ' +
        "(e.g. from the session), or null to turn the CSRF check off",
    );
  }
  const csrfToken = fnOrNull("csrfToken", o.csrfToken);

  const packer = o.packer ?? ednPacker();
  if (packer === null || typeof packer !== "object" || typeof packer.pack !== "function" || typeof packer.unpack !== "function") {
    throw new TypeError('The "packer" option must be a Packer ({ name, binary, pack, unpack })');
  }

  const allowedOrigins = o.allowedOrigins ?? "all";
  if (allowedOrigins !== "all") {
    if (!Array.isArray(allowedOrigins) || !allowedOrigins.every((x) => typeof x === "string")) {
      throw new TypeError('The "allowedOrigins" option must be "all" or an array of origin strings');
    }
  }

  const clock = o.clock ?? systemClock;
  if (typeof clock !== "object" || typeof clock.now !== "function" || typeof clock.setTimer !== "function") {
    throw new TypeError('The "clock" option must be a Clock ({ now(), setTimer(ms, fn) })');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError('The "signal" option must be an AbortSignal');
  }

  const cluster = o.cluster ?? null;
  if (cluster !== null && (typeof cluster !== "object" || typeof cluster.engine?.start !== "function" || typeof cluster.nodeId !== "string")) {
    throw new TypeError('The "cluster" option must come from redisCluster() (or another cluster factory)');
  }

  return {
    cluster,
    path,
    packer,
    userId: fnOrNull("userId", o.userId),
    csrfToken,
    allowedOrigins: allowedOrigins === "all" ? "all" : [...allowedOrigins],
    authorized: fnOrNull("authorized", o.authorized),
    reject: fnOrNull("reject", o.reject),
    badCsrf: fnOrNull("badCsrf", o.badCsrf) ?? defaultBadCsrf,
    badOrigin: fnOrNull("badOrigin", o.badOrigin) ?? defaultBadOrigin,
    unauthorized: fnOrNull("unauthorized", o.unauthorized) ?? defaultUnauthorized,
    handshakeData: fnOrNull("handshakeData", o.handshakeData),
    wsKaliveMs: num("wsKaliveMs", o.wsKaliveMs, 12_500),
    wsPingTimeoutMs: num("wsPingTimeoutMs", o.wsPingTimeoutMs, 10_000),
    lpTimeoutMs: num("lpTimeoutMs", o.lpTimeoutMs, 20_000, { min: 1, below: MAX_LP_TIMEOUT_MS }),
    sendBufMsWs: num("sendBufMsWs", o.sendBufMsWs, 30),
    sendBufMsAjax: num("sendBufMsAjax", o.sendBufMsAjax, 100),
    msAllowReconnectBeforeCloseWs: num("msAllowReconnectBeforeCloseWs", o.msAllowReconnectBeforeCloseWs, 2_500),
    msAllowReconnectBeforeCloseAjax: num("msAllowReconnectBeforeCloseAjax", o.msAllowReconnectBeforeCloseAjax, 5_000),
    maxFrameBytes: num("maxFrameBytes", o.maxFrameBytes, 1024 * 1024, { min: 1, integer: true }),
    maxDepth: num("maxDepth", o.maxDepth, 64, { min: 1, integer: true }),
    maxPendingPollsPerClient: num("maxPendingPollsPerClient", o.maxPendingPollsPerClient, 2, { min: 1, integer: true }),
    maxPendingPostsPerClient: num("maxPendingPostsPerClient", o.maxPendingPostsPerClient, 64, { min: 1, integer: true }),
    maxBufferedBytesPerClient: num("maxBufferedBytesPerClient", o.maxBufferedBytesPerClient, DEFAULT_MAX_BUFFERED_BYTES, { min: 1, integer: true }),
    bodyTimeoutMs: num("bodyTimeoutMs", o.bodyTimeoutMs, 20_000, { min: 1 }),
    recvBufferSize: num("recvBufferSize", o.recvBufferSize, 1000, { integer: true }),
    closeTimeoutMs: num("closeTimeoutMs", o.closeTimeoutMs, 1_000),
    retainUpgradeRequest: bool("retainUpgradeRequest", o.retainUpgradeRequest, false),
    logger: logger(o.logger),
    clock,
    signal: o.signal,
  };
}
