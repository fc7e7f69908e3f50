/**
 * Whether a stream gets ANSI colour: only a terminal, and never when the
 * user set `NO_COLOR` (https://no-color.org: any non-empty value). Piped
 * and redirected output (scripts, `> file`, `| grep`) is always plain, so
 * a line reads the same in a log as in a test's golden file.
 */
export interface ColorTarget {
  /** `process.stdout.isTTY`: undefined or false for pipes and files. */
  readonly isTTY?: boolean | undefined;
}

/** `shouldUseColor(process.stdout, process.env)`. */
export function shouldUseColor(stream: ColorTarget, env: Readonly<Record<string, string | undefined>>): boolean {
  const no = env["NO_COLOR"];
  if (no !== undefined && no !== "") return false;
  return stream.isTTY === true;
}
