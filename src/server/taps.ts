/**
 * Taps (observers of every frame and lifecycle change) and the reporting of
 * errors caused by peers. Callers test `taps.on` before building an event,
 * so a server nobody taps pays one boolean check per frame.
 */
import { Emitter, type Unsubscribe } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { ChskError } from "../core/protocol/errors.js";
import type { ServerEvents, ServerTapEvent, Uid } from "./types.js";

const MAX_LOGGED_KEYS = 1000;

export class Taps {
  /** True while at least one tap listener is registered. */
  on = false;
  #listeners: readonly ((e: ServerTapEvent) => void)[] = [];
  #listenerFailed = false;
  /**
   * Tap ids (`ws-N`, `get-N`, `post-N`) of connections and exchanges, made
   * on first use: a server nobody taps never makes one, and an id lives as
   * long as what it names.
   */
  readonly #ids = new WeakMap<object, string>();
  #seq = 0;

  constructor(private readonly logger: Logger) {}

  /** The tap id of `key` (a socket, a response, a client entry), made with `prefix` on first use. */
  idOf(key: object, prefix: string): string {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = `${prefix}${++this.#seq}`;
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Gives `key` the id `from` already has (an Ajax client takes its handshake GET's). */
  shareId(key: object, from: object, prefix: string): void {
    this.#ids.set(key, this.idOf(from, prefix));
  }

  add(listener: (e: ServerTapEvent) => void): Unsubscribe {
    this.#listeners = [...this.#listeners, listener];
    this.on = true;
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i === -1) return;
      const next = [...this.#listeners];
      next.splice(i, 1);
      this.#listeners = next;
      this.on = next.length > 0;
    };
  }

  emit(e: ServerTapEvent): void {
    const ls = this.#listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(e);
      } catch (err) {
        if (!this.#listenerFailed) {
          this.#listenerFailed = true;
          this.logger.error("a tap listener threw (further failures are not logged)", { error: err });
        }
      }
    }
  }

  clear(): void {
    this.#listeners = [];
    this.on = false;
  }
}

/**
 * Reports an error a peer caused (bad frame, bad POST, …): tap `"error"`,
 * then the `"error"` event; with no `"error"` listener, one `warn` line per
 * (code, client id) at most, so a misbehaving client cannot flood the log.
 */
export class ErrorReporter {
  readonly #logged = new Set<string>();
  constructor(
    private readonly taps: Taps,
    private readonly events: Emitter<ServerEvents>,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  report(error: ChskError, uid?: Uid, clientId?: string): void {
    if (this.taps.on) {
      const e: ServerTapEvent = { type: "error", error, at: this.now() };
      if (uid !== undefined) e.uid = uid;
      if (clientId !== undefined) e.clientId = clientId;
      this.taps.emit(e);
    }
    if (this.events.has("error")) {
      this.events.emit("error", [error]);
      return;
    }
    const key = `${error.code}\u0000${clientId ?? ""}`;
    if (this.#logged.has(key)) return;
    if (this.#logged.size >= MAX_LOGGED_KEYS) return;
    this.#logged.add(key);
    const fields: Record<string, unknown> = { code: error.code };
    if (clientId) fields["clientId"] = clientId;
    if (uid !== undefined) fields["uid"] = uid;
    this.logger.warn(`${error.code}: ${error.message}${clientId ? ` (client ${clientId})` : ""}`, fields);
  }
}
