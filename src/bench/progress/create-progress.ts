/**
 * `createProgress`: the live progress of `chsk bench`, as an ink view on a
 * terminal or as plain lines anywhere else. The engine calls `update` once
 * a second with a whole snapshot; the display keeps only what it draws
 * from the past (the throughput of the last minute, the notices).
 */
import { plainLine } from "./format.js";
import type { MountedView } from "./mount-view.js";
import type { Notice, ProgressViewProps } from "./ProgressView.js";
import type { Progress, ProgressOptions, ProgressSnapshot } from "./types.js";

/** Seconds of throughput the sparkline shows. */
const HISTORY = 60;

export function createProgress(options: ProgressOptions): Progress {
  return options.interactive ? liveProgress(options) : plainProgress(options);
}

/** One line per update; no escape at all without colour. */
function plainProgress({ stream, color }: Pick<ProgressOptions, "stream" | "color">): Progress {
  let closed = false;
  return {
    update(s) {
      if (!closed) stream.write(`${plainLine(s, color)}\n`);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    async close() {
      closed = true;
    },
  };
}

function liveProgress(options: ProgressOptions): Progress {
  const { stream, stdin, color } = options;
  let snapshot: ProgressSnapshot | undefined;
  let history: number[] = [];
  let notices: Notice[] = [];
  let view: MountedView | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  // Set if ink could not be loaded: the run goes on with plain lines.
  let fallback: Progress | undefined;

  const props = (): ProgressViewProps => ({
    snapshot,
    history,
    notices,
    color,
    columns: stream.columns ?? 80,
    rows: stream.rows ?? 24,
  });
  const draw = () => view?.draw(props());
  const onResize = () => draw();

  const ready = import("./mount-view.js").then(
    (m) => {
      view = m.mountProgressView(stream, stdin, props());
      stream.on("resize", onResize);
    },
    (e: unknown) => {
      fallback = plainProgress(options);
      fallback.log(`chsk bench: live progress unavailable (${e instanceof Error ? e.message : String(e)}); plain lines follow`);
      for (const n of notices) fallback.log(n.text);
      if (snapshot !== undefined) fallback.update(snapshot);
    },
  );

  return {
    update(s) {
      if (closed) return;
      if (fallback !== undefined) return fallback.update(s);
      // A new run (or scenario) starts its own sparkline.
      const fresh = snapshot === undefined || snapshot.run !== s.run || snapshot.label !== s.label;
      if (fresh) history = [];
      // One point per second of the run: updates within a second (several a second) refresh its point.
      if (!fresh && Math.floor(s.elapsedS) === Math.floor(snapshot!.elapsedS) && history.length > 0) history = [...history.slice(0, -1), s.throughput];
      else history = [...history.slice(-(HISTORY - 1)), s.throughput];
      snapshot = s;
      draw();
    },
    log(line) {
      if (closed || fallback !== undefined) return void stream.write(`${line}\n`);
      notices = [...notices, { id: notices.length, text: line }];
      draw();
    },
    close() {
      closed = true;
      closing ??= ready.then(async () => {
        if (view === undefined) return;
        stream.off("resize", onResize);
        await view.unmount();
      });
      return closing;
    },
  };
}
