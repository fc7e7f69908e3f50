/**
 * `runTui`: mounts the inspector's TUI on a terminal and gives the terminal
 * back, whatever happens:
 *
 * - `q` or Ctrl-C (raw mode delivers it as a key): the app exits;
 * - SIGINT / SIGTERM (a non-raw stdin, `kill`): the TUI unmounts;
 * - a component throws: the boundary exits with the error; the terminal is
 *   restored first, then the error is printed to stderr (exit code 1);
 * - the process exits anyway (an uncaught error elsewhere): a last `exit`
 *   hook leaves the alternate screen.
 *
 * Restoring means: ink unmounts (raw mode off, cursor shown, stdin
 * released), then the alternate screen is left, so the shell's screen
 * comes back as it was. It takes everything as options (streams, the
 * store, callbacks) so a CLI drives it and tests run it on fake streams.
 */
import { render, type RenderOptions } from "./ink.js";
import { shouldUseColor } from "../output/use-color.js";
import type { AppProps, QuitResult } from "./App.js";
import { Tui } from "./Tui.js";

/** Enter / leave the alternate screen (xterm's 1049: also saves and restores the cursor). */
export const ENTER_ALT_SCREEN = "\u001b[?1049h\u001b[H";
export const LEAVE_ALT_SCREEN = "\u001b[?1049l";

/** Something signals can be listened on: `process`, or a test's emitter. */
export interface SignalTarget {
  on(event: "SIGINT" | "SIGTERM" | "exit", listener: () => void): unknown;
  off(event: "SIGINT" | "SIGTERM" | "exit", listener: () => void): unknown;
}

export interface RunTuiOptions extends AppProps {
  /** @default process.stdout */
  stdout?: NodeJS.WriteStream;
  /** @default process.stdin */
  stdin?: NodeJS.ReadStream;
  /** Where a crash is printed. @default process.stderr */
  stderr?: NodeJS.WriteStream;
  /** The environment colour is decided from (`NO_COLOR`). @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Colour; by default only on a terminal without `NO_COLOR` (see `shouldUseColor`). */
  color?: boolean;
  /** Draw on the alternate screen, leaving the shell's screen untouched. @default stdout.isTTY */
  altScreen?: boolean;
  /**
   * Where SIGINT / SIGTERM (and the process `exit`) are listened for; false
   * to leave signals to the caller (the alternate screen is then still left
   * on the `process`'s `exit`).
   * @default process
   */
  signals?: SignalTarget | false;
  /** Route `console.*` above the UI while it is mounted (ink's `patchConsole`). @default true */
  patchConsole?: boolean;
}

/** How the TUI ended. `code` is what the process should exit with. */
export type TuiExit =
  | { code: 0; reason: "quit" | "ctrl-c" | "unmount" }
  | { code: 0; reason: "signal"; signal: "SIGINT" | "SIGTERM" }
  | { code: 1; reason: "crash"; error: Error };

/** Like ink's `Instance`, but `waitUntilExit` never rejects: a crash is a {@link TuiExit} too. */
export interface TuiHandle {
  /** Resolves once the TUI is gone and the terminal restored (and a crash printed). */
  waitUntilExit(): Promise<TuiExit>;
  /** Quits from outside (the source failed, the CLI is shutting down); the terminal is restored when it returns. Idempotent. */
  unmount(): void;
  /** Clears ink's output. */
  clear(): void;
}

export function runTui(options: RunTuiOptions): TuiHandle {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const stderr = options.stderr ?? process.stderr;
  const color = options.color ?? shouldUseColor(stdout, options.env ?? process.env);
  const alt = options.altScreen ?? stdout.isTTY === true;
  const signals = options.signals === false ? undefined : (options.signals ?? process);
  // Whoever handles signals, a process that exits with the TUI up must not leave the terminal on the alternate screen.
  const exits: Pick<SignalTarget, "on" | "off"> = signals ?? process;

  let signal: "SIGINT" | "SIGTERM" | undefined;
  let leftAlt = !alt;
  const leaveAlt = () => {
    if (leftAlt) return;
    leftAlt = true;
    try {
      stdout.write(LEAVE_ALT_SCREEN);
    } catch {
      // stdout is gone; nothing left to restore.
    }
  };
  if (alt) stdout.write(ENTER_ALT_SCREEN);

  const renderOptions: RenderOptions = {
    stdout,
    stdin,
    stderr,
    // Ctrl-C is a key the app handles (quit, also while typing), so it exits with a reason.
    exitOnCtrlC: false,
    patchConsole: options.patchConsole ?? true,
    // Not ink's `incrementalRendering`: in a real terminal (tmux) its first redraw
    // landed one line low and left stale lines. A whole-frame redraw inside the
    // synchronized-output escapes ink writes on a TTY is drawn atomically, and the
    // screen never changes height (`App`), so it does not flicker either.
    incrementalRendering: false,
  };
  const { stdout: _o, stdin: _i, stderr: _e, env: _v, altScreen: _a, signals: _s, patchConsole: _p, ...appProps } = options;
  const instance = render(<Tui {...appProps} color={color} />, renderOptions);

  const onSigint = () => {
    signal ??= "SIGINT";
    instance.unmount();
  };
  const onSigterm = () => {
    signal ??= "SIGTERM";
    instance.unmount();
  };
  signals?.on("SIGINT", onSigint);
  signals?.on("SIGTERM", onSigterm);
  exits.on("exit", leaveAlt);
  const detach = () => {
    signals?.off("SIGINT", onSigint);
    signals?.off("SIGTERM", onSigterm);
    exits.off("exit", leaveAlt);
  };

  const done: Promise<TuiExit> = instance.waitUntilExit().then(
    (result: unknown) => {
      detach();
      leaveAlt();
      instance.cleanup();
      if (signal !== undefined) return { code: 0, reason: "signal", signal };
      const reason = (result as QuitResult | undefined)?.reason;
      return { code: 0, reason: reason ?? "unmount" };
    },
    (e: unknown) => {
      detach();
      leaveAlt();
      instance.cleanup();
      const error = e instanceof Error ? e : new Error(String(e));
      try {
        stderr.write(`chsk inspect: the TUI crashed: ${error.stack ?? error.message}\n`);
      } catch {
        // stderr is gone too.
      }
      return { code: 1, reason: "crash", error };
    },
  );

  return {
    waitUntilExit: () => done,
    // ink's unmount draws the last frame synchronously; the shell's screen comes back right
    // after it, not a tick later, so a caller that exits (or writes to stderr) next finds it restored.
    unmount: () => {
      instance.unmount();
      leaveAlt();
    },
    clear: () => instance.clear(),
  };
}
