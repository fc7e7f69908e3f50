/** Cancels a timer armed by a {@link Clock}. Idempotent. */
export type Cancel = () => void;

/** How one timer treats the process it runs in. */
export interface TimerOptions {
  /**
   * Keep a Node process alive while the timer is pending. Only a client's
   * reconnect timer asks for it: a client that means to be connected must
   * not let its process exit while it waits to retry (socket.io-client does
   * the same). Keep-alive and timeout timers stay unref'd: while they run,
   * an open socket or a request in flight already holds the process.
   * Ignored where there is no such notion (browsers, manual test clocks).
   * @default false
   */
  ref?: boolean;
}

/**
 * Where every chsk timer comes from. Tests inject a manual clock; the
 * default uses the platform timers, which never keep a Node process alive
 * unless a timer asks to ({@link TimerOptions.ref}).
 */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void, options?: TimerOptions): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn, options) {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    if (options?.ref !== true) t.unref?.();
    return () => clearTimeout(t as unknown as ReturnType<typeof setTimeout>);
  },
};

/** A detachable listener: returned by every `on()` and `tap()`. */
export type Unsubscribe = () => void;

/** Tiny typed emitter used by client and server (no Node `events` in core). */
export class Emitter<M extends { [K in keyof M]: (...args: never[]) => void }> {
  #listeners = new Map<keyof M, Set<M[keyof M]>>();

  on<K extends keyof M>(type: K, listener: M[K]): Unsubscribe {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  has(type: keyof M): boolean {
    return (this.#listeners.get(type)?.size ?? 0) > 0;
  }

  /** Calls each listener; a throwing listener is reported to `onError`, never to the emitter. */
  emit<K extends keyof M>(type: K, args: Parameters<M[K]>, onError?: (e: unknown) => void): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (...a: Parameters<M[K]>) => void)(...args);
      } catch (e) {
        if (onError) onError(e);
        else queueMicrotask(() => { throw e; });
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
