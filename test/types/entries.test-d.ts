/**
 * Every entry point exports the typed-event API, and each re-exports the
 * same types (`chsk` is `chsk/core` + `chsk/client` + `chsk/server`).
 */
import type * as Root from "chsk";
import type * as Client from "chsk/client";
import type * as Core from "chsk/core";
import type * as Server from "chsk/server";
import type * as BrowserClient from "../../src/core/client/index.js";
import type { Equal, Expect } from "./helpers.js";

interface Events {
  "a/up": { data: number; reply: string };
  "a/down": { data: string; from: "server" };
}

export type SameTypesEverywhere = [
  Expect<Equal<Core.EventMap<Events>, Client.EventMap<Events>>>,
  Expect<Equal<Core.EventMap<Events>, Server.EventMap<Events>>>,
  Expect<Equal<Core.EventMap<Events>, Root.EventMap<Events>>>,
  Expect<Equal<Core.EventMap<Events>, BrowserClient.EventMap<Events>>>,
  Expect<Equal<Core.DefaultEventMap, Root.DefaultEventMap>>,
  Expect<Equal<Core.EventSpec, Server.EventSpec>>,
  Expect<Equal<Core.EventId, Client.EventId>>,
  Expect<Equal<Core.ReservedEventId, Root.ReservedEventId>>,
  Expect<Equal<Core.EventSender, Root.EventSender>>,
  Expect<Equal<Core.ClientSentId<Events>, Root.ClientSentId<Events>>>,
  Expect<Equal<Core.ClientSentEvent<Events>, Client.ClientSentEvent<Events>>>,
  Expect<Equal<Core.PushId<Events>, Server.PushId<Events>>>,
  Expect<Equal<Core.PushEvent<Events>, Server.PushEvent<Events>>>,
  Expect<Equal<Core.ReplyId<Events>, Client.ReplyId<Events>>>,
  Expect<Equal<Core.EventData<Events, "a/up">, Root.EventData<Events, "a/up">>>,
  Expect<Equal<Core.EventReply<Events, "a/up">, Root.EventReply<Events, "a/up">>>,
  Expect<Equal<Core.EventTuple<"a/b", 1>, Root.EventTuple<"a/b", 1>>>,
  Expect<Equal<Core.TypedEvent<Events, "a/up">, Root.TypedEvent<Events, "a/up">>>,
  Expect<Equal<Core.IsUntypedMap<Events>, Root.IsUntypedMap<Events>>>,
  Expect<Equal<Core.ClientReservedEvents, Client.ClientReservedEvents>>,
  Expect<Equal<Core.ServerReservedEvents, Server.ServerReservedEvents>>,
  // The typed API's own types, from their side's entry and from `chsk`.
  Expect<Equal<Client.Client<Events>, Root.Client<Events>>>,
  Expect<Equal<Client.ClientEventMsg<Events>, Root.ClientEventMsg<Events>>>,
  Expect<Equal<Client.ClientEventMsgOf<readonly ["a/down", string]>, BrowserClient.ClientEventMsgOf<readonly ["a/down", string]>>>,
  Expect<Equal<Client.ClientEvents<Events>, Root.ClientEvents<Events>>>,
  Expect<Equal<Client.ReplyCallback<string>, Root.ReplyCallback<string>>>,
  Expect<Equal<Server.ChskServer<Events>, Root.ChskServer<Events>>>,
  Expect<Equal<Server.ServerEventMsg<Events>, Root.ServerEventMsg<Events>>>,
  Expect<Equal<Server.ServerEventMsgOf<readonly ["a/up", number]>, Root.ServerEventMsgOf<readonly ["a/up", number]>>>,
  Expect<Equal<Server.ServerEvents<Events>, Root.ServerEvents<Events>>>,
];
