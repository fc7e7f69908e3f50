/** Process plumbing for the CLI entry: termination signals and exiting after output is flushed. */

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM. A second signal
 * exits at once with 130, in case a graceful close hangs.
 */
export function terminationSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return ac.signal;
}

/** Exit with `code` once stdout and stderr have taken everything written so far. */
export function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}
