/**
 * `chsk/client` — the browser (and default) entry: `createClient` with the
 * platform's `WebSocket` and `fetch`. It imports no Node module; Node gets
 * `index.node.ts` (WebSockets from the `ws` package, with headers/cookies).
 *
 * @example
 * import { createClient } from "chsk/client";
 * const client = createClient({ url: "/chsk", csrfToken: () => readCsrfMeta() });
 * client.on("recv", ([id, data]) => console.log(id, data));
 * const reply = await client.send(["my/ev", { a: 1 }], 5000);
 */
import { createClient as createCoreClient } from "./create-client.js";
import type { DefaultEventMap, EventMap } from "../protocol/event-map.js";
import type { Client, ClientOptions, WebSocketFactory, WebSocketLike } from "./types.js";

export type * from "./types.js";
export { expBackoff, reconnectDelayMs } from "./backoff.js";
export { CLIENT_DEFAULTS } from "./create-client.js";
export { type Clock, type Cancel, type TimerOptions, type Unsubscribe, systemClock } from "../clock.js";
export { type Logger, type LogFields, silentLogger } from "../logger.js";
export { ChskError, type ChskErrorCode, CloseCode, isChskError } from "../protocol/errors.js";
export { type ChskEvent, Reserved, validateEvent } from "../protocol/events.js";
export type * from "../protocol/event-map.js";
export * from "../edn/values.js";
export { parseEdn, readEdn, writeEdn } from "../edn/index.js";
export * from "../packers/index.js";

/** The platform's `WebSocket` as a factory, or null where there is none (then `type: "auto"` uses Ajax). */
export function browserWebSocketFactory(): WebSocketFactory | null {
  const WS = (globalThis as { WebSocket?: new (url: string) => unknown }).WebSocket;
  if (typeof WS !== "function") return null;
  return (url) => new WS(url) as WebSocketLike;
}

const platformFetch = (): typeof fetch | undefined =>
  typeof globalThis.fetch === "function" ? globalThis.fetch.bind(globalThis) : undefined;

/**
 * Create a client using `globalThis.WebSocket` and `globalThis.fetch` unless the options give others.
 *
 * @typeParam E - The application's event map (see {@link EventMap}); without it, events are untyped.
 *
 * @example
 * interface Events {
 *   "chat/send":    { data: { text: string }; reply: { id: number } };
 *   "chat/message": { data: { user: string; text: string }; from: "server" };
 * }
 * const client = createClient<Events>({ url: "/chsk" });
 * const { id } = await client.send(["chat/send", { text: "hi" }], 5000);
 */
export function createClient<E extends EventMap<E> = DefaultEventMap>(options: ClientOptions): Client<E> {
  const o: ClientOptions = { ...options };
  if (o.webSocket === undefined) o.webSocket = browserWebSocketFactory();
  if (o.fetch === undefined) {
    const f = platformFetch();
    if (f !== undefined) o.fetch = f;
  }
  return createCoreClient<E>(o);
}
