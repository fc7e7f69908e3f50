/**
 * The one place chsk loads ink from (the inspector's TUI and `chsk bench`'s
 * live progress).
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

type Ink = typeof import("ink");
// Annotated one by one: declaration emit cannot name some of ink's inferred types.
export const Box: Ink["Box"] = ink.Box;
export const Static: Ink["Static"] = ink.Static;
export const Text: Ink["Text"] = ink.Text;
export const render: Ink["render"] = ink.render;
export const useApp: Ink["useApp"] = ink.useApp;
export const useInput: Ink["useInput"] = ink.useInput;
export const useStdin: Ink["useStdin"] = ink.useStdin;
export const useStdout: Ink["useStdout"] = ink.useStdout;
export type { Instance, Key, RenderOptions } from "ink";
