/**
 * The one place the TUI loads ink from.
 *
 * ink decides once, when it is first evaluated, whether it runs "in CI"
 * (a `CI` or `CONTINUOUS_INTEGRATION` variable) and, if so, draws nothing
 * until the app exits. The TUI only starts when stdin and stdout are both
 * terminals, where a blank screen is never what the user wants (a CI job
 * that runs the TUI in tmux, a dev container that exports `CI=1`), so those
 * variables are hidden from that one check and put back right after.
 */
const HIDDEN = ["CI", "CONTINUOUS_INTEGRATION"] as const;
const saved = HIDDEN.map((k) => [k, process.env[k]] as const);
for (const [k] of saved) delete process.env[k];
let ink: typeof import("ink");
try {
  ink = await import("ink");
} finally {
  for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
}

export const { Box, Text, render, useApp, useInput, useStdin, useStdout } = ink;
export type { Key, RenderOptions } from "ink";
