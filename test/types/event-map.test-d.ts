/**
 * The event map itself: which maps are accepted (valid `ns/name` ids, known
 * spec keys) and what the helper types derive from one.
 */
import type {
  ClientSentEvent,
  ClientSentId,
  DefaultEventMap,
  EventData,
  EventMap,
  EventReply,
  EventTuple,
  PushEvent,
  PushId,
  ReplyId,
} from "chsk/core";
import type { ChskEvent } from "chsk/core";
import type { Equal, Expect } from "./helpers.js";

/** Stands in for `createClient<E>` / `createServer<E>`: only the constraint is under test. */
declare function accepts<E extends EventMap<E> = DefaultEventMap>(): E;

interface Chat {
  "chat/send": { data: { text: string }; reply: { id: number } };
  "chat/typing": { data: boolean };
  "chat/message": { data: { user: string; text: string }; from: "server" };
  "chat/leave": {};
  "chat/ping": { data: number; from: "both" };
  "chat/hint": { data?: string; from: "client" };
}

// --- Accepted maps ----------------------------------------------------------

accepts<Chat>();
accepts<DefaultEventMap>();
accepts<{}>();
// A type alias works as well as an interface; nested slashes are Sente keywords too.
accepts<{ "a/b/c": { data: 1 } }>();
// Template-literal keys: a family of ids with one spec.
accepts<{ [id: `room/${string}`]: { data: string; from: "server" } }>();

// --- Rejected ids -------------------------------------------------------------

// @ts-expect-error no namespace
accepts<{ nonamespace: {} }>();
// @ts-expect-error empty namespace
accepts<{ "/name": {} }>();
// @ts-expect-error empty name
accepts<{ "ns/": {} }>();
// @ts-expect-error chsk/* is reserved
accepts<{ "chsk/handshake": {} }>();
// @ts-expect-error chsk/* is reserved, even for ids chsk does not use
accepts<{ "chsk/mine": { data: number } }>();
// @ts-expect-error one bad id rejects the whole map
accepts<{ "ok/one": {}; bad: {} }>();

// --- Rejected specs -----------------------------------------------------------

// @ts-expect-error a typo in a spec key
accepts<{ "a/b": { data: 1; replay: 2 } }>();
// @ts-expect-error a server push cannot ask for a reply
accepts<{ "a/b": { data: 1; reply: 2; from: "server" } }>();
// @ts-expect-error `from` is client, server or both
accepts<{ "a/b": { from: "nobody" } }>();
// @ts-expect-error a spec is an object
accepts<{ "a/b": string }>();

// --- Derived types ------------------------------------------------------------

export type Derived = [
  Expect<Equal<ClientSentId<Chat>, "chat/send" | "chat/typing" | "chat/leave" | "chat/ping" | "chat/hint">>,
  Expect<Equal<PushId<Chat>, "chat/message" | "chat/ping">>,
  Expect<Equal<ReplyId<Chat>, "chat/send">>,
  Expect<Equal<EventData<Chat, "chat/send">, { text: string }>>,
  Expect<Equal<EventData<Chat, "chat/leave">, undefined>>,
  Expect<Equal<EventData<Chat, "chat/hint">, string | undefined>>,
  Expect<Equal<EventReply<Chat, "chat/send">, { id: number }>>,
  Expect<Equal<EventReply<Chat, "chat/typing">, undefined>>,
  // Data is required unless its type admits undefined.
  Expect<Equal<EventTuple<"a/b", number>, readonly [id: "a/b", data: number]>>,
  Expect<Equal<EventTuple<"a/b", number | undefined>, readonly [id: "a/b", data?: number | undefined]>>,
  Expect<
    Equal<
      PushEvent<Chat>,
      readonly [id: "chat/message", data: { user: string; text: string }] | readonly [id: "chat/ping", data: number]
    >
  >,
  Expect<Equal<Extract<ClientSentEvent<Chat>, readonly ["chat/leave", ...unknown[]]>, readonly [id: "chat/leave", data?: undefined]>>,
  // The untyped default is today's API: any id, `ChskEvent`, unknown replies.
  Expect<Equal<ClientSentId<DefaultEventMap>, string>>,
  Expect<Equal<PushId<DefaultEventMap>, string>>,
  Expect<Equal<ReplyId<DefaultEventMap>, string>>,
  Expect<Equal<ClientSentEvent<DefaultEventMap>, ChskEvent>>,
  Expect<Equal<PushEvent<DefaultEventMap>, ChskEvent>>,
  Expect<Equal<EventReply<DefaultEventMap, string>, unknown>>,
];
