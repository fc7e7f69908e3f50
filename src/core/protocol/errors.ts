/**
 * Every error chsk raises or reports carries a stable `code`. The README's
 * "Error codes" table lists them all; tests assert on `code`, never on text.
 */
export type ChskErrorCode =
  // Reply / send outcomes (Sente's :chsk/closed, :chsk/timeout, :chsk/error)
  | "CHSK_ERR_CLOSED"
  | "CHSK_ERR_TIMEOUT"
  | "CHSK_ERR_TRANSPORT"
  // Decoding peer input
  | "CHSK_ERR_EDN_SYNTAX"
  | "CHSK_ERR_EDN_DEPTH"
  | "CHSK_ERR_FRAME_TOO_LARGE"
  | "CHSK_ERR_UNPACK"
  | "CHSK_ERR_BAD_ENVELOPE"
  | "CHSK_ERR_BAD_EVENT"
  // Encoding local values
  | "CHSK_ERR_UNSUPPORTED_VALUE"
  // HTTP / handshake refusals
  | "CHSK_ERR_NO_CLIENT_ID"
  | "CHSK_ERR_BAD_CSRF"
  | "CHSK_ERR_BAD_ORIGIN"
  | "CHSK_ERR_UNAUTHORIZED"
  | "CHSK_ERR_REJECTED"
  | "CHSK_ERR_TOO_MANY_POLLS"
  | "CHSK_ERR_HTTP_STATUS"
  /** A request to the channel path with a method other than GET / POST (405). */
  | "CHSK_ERR_METHOD_NOT_ALLOWED"
  /** A server hook (`userId`, `csrfToken`, `authorized`, `reject`, `handshakeData`, …) threw or rejected: the request got a 500. */
  | "CHSK_ERR_HOOK_FAILED"
  // Talking to the wrong thing (client side, found by `sniffFrame`)
  | "CHSK_ERR_PACKER_MISMATCH"
  | "CHSK_ERR_NOT_SENTE"
  // Mounting in a framework (Express, Fastify)
  | "CHSK_ERR_BODY_CONSUMED"
  | "CHSK_ERR_PATH_MISMATCH"
  // Server limits on slow peers
  | "CHSK_ERR_SLOW_CONSUMER"
  | "CHSK_ERR_BODY_TIMEOUT"
  // Inspector recordings (`--replay FILE.jsonl`): a line that is not a frame record
  | "CHSK_ERR_BAD_RECORD"
  // Lifecycle
  | "CHSK_ERR_SERVER_CLOSED"
  /** The cluster store (Redis) is unreachable or refused a step: this node serves its own clients only, and counts what did not cross. */
  | "CHSK_ERR_CLUSTER"
  // Application code: a router handler threw or rejected (with no onError of its own)
  | "CHSK_ERR_HANDLER"
  // Session bootstrap (login before connecting)
  | "CHSK_ERR_LOGIN_REFUSED"
  // Inspector files (`--record`, `--replay`, `--har`, `--har-out`)
  /** A recording, replay or HAR file could not be opened, read or written. */
  | "CHSK_ERR_FILE"
  /** A `--har` file is not a HAR 1.2 log (not JSON, or no `log.entries`). */
  | "CHSK_ERR_BAD_HAR"
  /** The inspector's proxy cannot listen on its `--listen` address (in use, not local, no permission). */
  | "CHSK_ERR_LISTEN"
  /** `--packer-module` could not be loaded, or exports no packer. */
  | "CHSK_ERR_PACKER_MODULE"
  // `chsk bench`
  /** Bench options that cannot make a run (bad numbers, models that exclude each other). */
  | "CHSK_ERR_BENCH_OPTIONS"
  /** The bench target refused the run's first users, or could not be reached or spawned: nothing was measured. */
  | "CHSK_ERR_BENCH_TARGET"
  /** `--setup MODULE` cannot be loaded, exports no function, or threw for a user. */
  | "CHSK_ERR_BENCH_SETUP"
  /** `chsk bench merge`: a file is not a chsk-bench/1 report, or the files are not the segments of one run. */
  | "CHSK_ERR_BENCH_MERGE";

export interface ChskErrorOptions {
  /** WebSocket close code to use when this error ends a connection. */
  closeCode?: number;
  /** HTTP status to answer with when this error ends a request. */
  status?: number;
  cause?: unknown;
  /** Extra machine-readable detail (e.g. the offending byte offset). */
  detail?: Record<string, unknown>;
}

export class ChskError extends Error {
  readonly code: ChskErrorCode;
  readonly closeCode?: number;
  readonly status?: number;
  readonly detail?: Record<string, unknown>;

  constructor(code: ChskErrorCode, message: string, options: ChskErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ChskError";
    this.code = code;
    if (options.closeCode !== undefined) this.closeCode = options.closeCode;
    if (options.status !== undefined) this.status = options.status;
    if (options.detail !== undefined) this.detail = options.detail;
  }
}

export const isChskError = (x: unknown, code?: ChskErrorCode): x is ChskError =>
  x instanceof ChskError && (code === undefined || x.code === code);

/** WebSocket close codes chsk uses (RFC 6455 §7.4 plus the private range). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Unparseable frame or invalid envelope. */
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  POLICY_VIOLATION: 1008,
  /** Frame over `maxFrameBytes`. */
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** Sente's `chsk-break-connection!`. */
  ABNORMAL: 3000,
  /** The server closed a socket that stopped answering keep-alive pings. */
  PING_TIMEOUT: 4000,
  /**
   * The server cut a socket whose unsent output passed `maxBufferedBytesPerClient`.
   * Reported on the server (tap `conn:close`, the error's `closeCode`); the
   * peer sees 1006, since no close frame can get through a full socket.
   */
  SLOW_CONSUMER: 4001,
} as const;

/** A result type for decoders: peer input never throws. */
export type Result<T, E = ChskError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
