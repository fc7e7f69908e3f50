/** Cancels a timer armed by a {@link Clock}. Idempotent. */
export type Cancel = () => void;

/**
 * Where every chsk timer comes from. Tests inject a manual clock; the
 * default uses the platform timers and never keeps a Node process alive.
 */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    // In Node a pending reconnect or keep-alive must not hold the process open.
    t.unref?.();
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
