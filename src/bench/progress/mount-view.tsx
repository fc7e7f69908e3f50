/**
 * Mounts the live view with ink on a terminal. Kept apart from
 * `create-progress.ts` so ink and React are only loaded when a live view is
 * drawn: a plain-line run (a pipe, a CI log) never pays for them.
 */
import { render } from "./ink.js";
import { ProgressView, type ProgressViewProps } from "./ProgressView.js";

export interface MountedView {
  draw(props: ProgressViewProps): void;
  /** Draws the last frame, leaves it in place, shows the cursor. */
  unmount(): Promise<void>;
}

/** At most this many frames a second, however often the engine updates or logs. */
export const MAX_FPS = 4;

export function mountProgressView(stream: NodeJS.WriteStream, stdin: NodeJS.ReadStream | undefined, props: ProgressViewProps): MountedView {
  const instance = render(<ProgressView {...props} />, {
    stdout: stream,
    ...(stdin !== undefined ? { stdin } : {}),
    // No keys are read (no raw mode): Ctrl-C stays the process's SIGINT, handled by the caller.
    exitOnCtrlC: false,
    // Library code: console output belongs to whoever runs the bench, not to the view.
    patchConsole: false,
    maxFps: MAX_FPS,
    // Whole-frame redraws: the inspector found ink's incremental mode left stale lines in tmux.
    incrementalRendering: false,
  });
  return {
    draw: (p) => instance.rerender(<ProgressView {...p} />),
    unmount: async () => {
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
