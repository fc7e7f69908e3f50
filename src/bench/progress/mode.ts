/**
 * How progress is shown on a stream, from the stream and the environment:
 *
 * - a live view redrawn in place only on a terminal (not `TERM=dumb`) and
 *   without `NO_COLOR`; everything else (pipes, files, `NO_COLOR`) gets one
 *   plain line per update, which reads the same in a log as on a screen;
 * - colour on a terminal unless `NO_COLOR` (https://no-color.org: any
 *   non-empty value) or `FORCE_COLOR=0`; `FORCE_COLOR` (any other value)
 *   turns it on for a pipe as well.
 *
 * `CI` plays no part: a terminal in CI is still a terminal (the ink loader
 * makes sure ink draws there).
 */
export interface ProgressMode {
  interactive: boolean;
  color: boolean;
}

export function chooseProgressMode(stream: { readonly isTTY?: boolean | undefined }, env: Readonly<Record<string, string | undefined>>): ProgressMode {
  const tty = stream.isTTY === true && env["TERM"] !== "dumb";
  const noColor = env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "";
  const force = env["FORCE_COLOR"];
  const forced = force === undefined ? undefined : force !== "0" && force !== "false";
  const color = noColor ? false : (forced ?? tty);
  return { interactive: tty && !noColor, color };
}
