/**
 * The reference server's demo events:
 *
 * | event                               | effect                                   | reply            |
 * |-------------------------------------|------------------------------------------|------------------|
 * | `[:demo/echo x]`                    | —                                        | `x`              |
 * | `[:demo/push {:uid u :event ev}]`   | pushes `ev` to every client of user `u`  | `:ok`            |
 * | `[:demo/broadcast ev]`              | pushes `ev` to every connected user      | `:ok`            |
 * | `[:demo/whoami]`                    | —                                        | `{:uid u :client-id c :transport t}` |
 *
 * A malformed `demo/push` / `demo/broadcast` is answered `{:error "…"}`.
 * Anything else gets no reply (so a `send` with a timeout times out).
 */
import { kw } from "../../core/edn/values.js";
import { uidFromWire } from "../../core/protocol/codec.js";
import { asEvent, type ChskEvent, validateEvent } from "../../core/protocol/events.js";
import type { ServerEventMsg, Uid } from "../types.js";
import type { Logger } from "./logger.js";

export interface DemoActions {
  push(uid: Uid, event: ChskEvent): void;
  broadcast(event: ChskEvent): void;
}

/**
 * An event as it arrives inside data (`[:demo/hello {:n 1}]`: a Keyword id
 * with EDN/transit, a string with JSON) in the TS form (`["demo/hello", …]`).
 */
export function toEvent(x: unknown): ChskEvent | string {
  const problem = validateEvent(x, true);
  if (problem !== null) return `not an event (${problem}): expected [:ns/name data?]`;
  const ev = asEvent(x, true);
  if (ev[0].startsWith("chsk/")) return "the chsk namespace is reserved";
  return ev;
}

/** `data[name]` for a map read as a plain object or as a `Map` (keyword or string keys). */
export function field(data: unknown, name: string): unknown {
  if (data instanceof Map) return data.has(kw(name)) ? data.get(kw(name)) : data.get(name);
  if (data !== null && typeof data === "object" && !Array.isArray(data)) return (data as Record<string, unknown>)[name];
  return undefined;
}

/** A user id from data: a string, or nil / `:sente/nil-uid` for the anonymous group. */
function toUid(x: unknown): Uid | undefined {
  if (x === undefined) return undefined;
  const u = uidFromWire(x);
  return typeof u === "string" || u === null ? u : undefined;
}

const OK = kw("ok");
const problem = (message: string) => ({ error: message });

export function demoHandler(actions: DemoActions, log: Logger): (msg: ServerEventMsg) => void {
  // No closure per message: the echo is the hot path of every benchmark.
  return (msg) => {
    switch (msg.id) {
      case "demo/echo":
        msg.reply?.(msg.data ?? null);
        return;
      case "demo/whoami":
        msg.reply?.({ uid: msg.uid, "client-id": msg.clientId, transport: kw(msg.transport) });
        return;
      case "demo/push": {
        const uid = toUid(field(msg.data, "uid"));
        const ev = toEvent(field(msg.data, "event"));
        if (uid === undefined) return void msg.reply?.(problem("demo/push: :uid must be a string or nil"));
        if (typeof ev === "string") return void msg.reply?.(problem(`demo/push: :event is ${ev}`));
        actions.push(uid, ev);
        msg.reply?.(OK);
        return;
      }
      case "demo/broadcast": {
        const ev = toEvent(msg.data);
        if (typeof ev === "string") return void msg.reply?.(problem(`demo/broadcast: ${ev}`));
        actions.broadcast(ev);
        msg.reply?.(OK);
        return;
      }
      default:
        if (msg.id === "chsk/bad-event") log.warn("bad event", { uid: msg.uid, client: msg.clientId });
    }
  };
}
