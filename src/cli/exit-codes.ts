/** Exit codes of the `chsk` commands (documented in the README and `--help`). */
export const ExitCode = {
  /** Done: the reply / pushes were printed, or the server closed cleanly. A reply is a reply, `{:error …}` included. */
  OK: 0,
  /**
   * Refused (HTTP 4xx/5xx, failed login), connection or transport failure,
   * a packer mismatch, a URL that is not a Sente endpoint, or the connection
   * closing before the reply or the awaited pushes.
   */
  FAILED: 1,
  /** Usage error or bad input (an unparseable EVENT or URL, an EVENT the packer can't write, an unknown option). */
  USAGE: 2,
  /** No reply (or not enough pushes, or no connection) within the timeout. */
  TIMEOUT: 3,
  /** Interrupted by SIGINT / SIGTERM before finishing (`chsk call`). */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0    ok: the reply (and any awaited pushes) printed, or with --no-reply: sent
  1    refused (HTTP status), login failed, connection or transport failure,
       wrong --packer, not a Sente endpoint, or the connection closed before
       the reply or the awaited pushes
  2    usage error: invalid URL, EVENT or option, or an EVENT the --packer
       can't write (CHSK_ERR_UNSUPPORTED_VALUE)
  3    timeout: no connection / reply / pushes in time
  130  interrupted (SIGINT/SIGTERM)`;

/** Where the commands write; injected so tests can capture it. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}
