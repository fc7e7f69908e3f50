/**
 * The plumbing the file sources (`replay`, `har`) share: listeners,
 * notices, and the `start` / `done` / `close` lifecycle of the
 * {@link WireSource} contract, around one `run` function that reads the
 * file and emits.
 */
import { ChskError, type Unsubscribe, type WireEvent } from "../../core/index.js";
import type { SourceEnd, SourceNotice } from "./types.js";

export interface PullSource {
  onEvent(listener: (event: WireEvent) => void): Unsubscribe;
  onNotice(listener: (notice: SourceNotice) => void): Unsubscribe;
  /** To listeners, in order; a listener that throws is reported as an `error` notice. Nothing once ended. */
  emit(event: WireEvent): void;
  notice(level: SourceNotice["level"], message: string, code?: string): void;
  /**
   * Runs `run` once. Resolves when `run` calls {@link started} (the file is
   * open), rejects with its error if it fails before that.
   */
  start(run: () => Promise<SourceEnd>): Promise<void>;
  started(): void;
  readonly done: Promise<SourceEnd>;
  /** A timer `close()` cuts short (recorded pacing). */
  sleep(ms: number): Promise<void>;
  cancelSleep(): void;
  /** Ends the source (`done` → closed, unless it ended already) and waits for `run` to let go. */
  close(): Promise<void>;
}

const asChskError = (e: unknown): ChskError =>
  e instanceof ChskError ? e : new ChskError("CHSK_ERR_FILE", e instanceof Error ? e.message : String(e), { cause: e });

export function createPullSource(): PullSource {
  let events: readonly ((e: WireEvent) => void)[] = [];
  let notices: readonly ((n: SourceNotice) => void)[] = [];
  let ended = false;
  let resolveDone!: (end: SourceEnd) => void;
  const done = new Promise<SourceEnd>((r) => (resolveDone = r));
  const end = (e: SourceEnd) => {
    if (ended) return;
    ended = true;
    resolveDone(e);
  };
  let running: Promise<void> | undefined;
  let markStarted: (() => void) | undefined;
  let sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  const notice = (level: SourceNotice["level"], message: string, code?: string) => {
    const n: SourceNotice = { at: Date.now(), level, message, ...(code === undefined ? {} : { code }) };
    for (const l of notices) {
      try {
        l(n);
      } catch {
        // A notice listener that throws has nowhere left to report to.
      }
    }
  };

  const self: PullSource = {
    onEvent(l) {
      events = [...events, l];
      return () => void (events = events.filter((x) => x !== l));
    },
    onNotice(l) {
      notices = [...notices, l];
      return () => void (notices = notices.filter((x) => x !== l));
    },
    emit(e) {
      if (ended) return;
      for (const l of events) {
        try {
          l(e);
        } catch (err) {
          notice("error", `a frame listener threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    },
    notice,
    start(run) {
      if (running !== undefined) return Promise.reject(new Error("start() was called twice"));
      if (ended) return Promise.reject(new ChskError("CHSK_ERR_CLOSED", "the source was closed before it started"));
      return new Promise<void>((resolve, reject) => {
        let isStarted = false;
        markStarted = () => {
          isStarted = true;
          resolve();
        };
        running = run().then(
          (e) => {
            markStarted?.();
            end(e);
          },
          (e: unknown) => {
            const error = asChskError(e);
            if (!ended) notice("error", error.message, error.code);
            end({ reason: "failed", error });
            if (!isStarted) reject(error);
          },
        );
      });
    },
    started() {
      markStarted?.();
    },
    done,
    sleep(ms) {
      return new Promise<void>((wake) => {
        sleeping = { timer: setTimeout(wake, ms), wake };
      }).finally(() => (sleeping = undefined));
    },
    cancelSleep() {
      if (sleeping === undefined) return;
      clearTimeout(sleeping.timer);
      sleeping.wake();
    },
    async close() {
      end({ reason: "closed" });
      self.cancelSleep();
      await running;
    },
  };
  return self;
}
