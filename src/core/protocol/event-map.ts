/**
 * Typed events: one map type describes an application's events, and
 * `createClient<Events>()` / `createServer<Events>()` check ids, data and
 * replies against it (socket.io's typed events, in Sente's shape).
 *
 * Types only: nothing here exists at run time, and the wire is unchanged.
 * The types are a contract between your client and your server, not a
 * validator: a peer that does not use them (a Clojure Sente client, an
 * older build) can still send anything, so check data you cannot trust.
 *
 * Why one map and not socket.io's two (`ListenEvents`, `EmitEvents`):
 * Sente has one event namespace on one channel, an id may travel both ways,
 * and only client→server events can ask for a reply. One map keeps every id
 * declared once; `from` says which side sends it.
 *
 * @example
 * interface ChatEvents {
 *   "chat/send":    { data: { text: string }; reply: { id: number } }; // client → server, with a reply
 *   "chat/typing":  { data: boolean };                                  // client → server, fire and forget
 *   "chat/message": { data: { user: string; text: string }; from: "server" }; // server push
 *   "chat/leave":   {};                                                 // client → server, no data: ["chat/leave"]
 *   "chat/ping":    { data: number; from: "both" };                     // either side
 * }
 */

/** An event id in Sente's `ns/name` form (`:ns/name` on the wire). */
export type EventId = `${string}/${string}`;

/** Ids reserved for chsk's and Sente's own events; an event map cannot declare them. */
export type ReservedEventId = `chsk/${string}`;

/** Which side sends an event. */
export type EventSender = "client" | "server" | "both";

/** What an event map says about one event. Every key is optional. */
export interface EventSpec {
  /**
   * The event's data, the 2nd element of `[id, data]`. Leave it out for an
   * event without data (`["ns/name"]`); a type that admits `undefined`
   * makes the data optional.
   * @default undefined (no data)
   */
  data?: unknown;
  /**
   * The reply to a client→server event sent with a timeout. Without it the
   * event is fire-and-forget: `send(ev, timeoutMs)` does not compile, and the
   * server's `msg.reply` is typed `undefined`. Server pushes cannot have one
   * (Sente has no server→client callbacks).
   * @default none (fire-and-forget)
   */
  reply?: unknown;
  /**
   * Who sends the event: the client (`client.send`, the server's router),
   * the server (`server.send` / `sendToClient` / `broadcast`, the client's
   * `recv` and router), or both.
   * @default "client"
   */
  from?: EventSender;
}

/**
 * The type argument's default: untyped, read as {@link UntypedEventMap}.
 * It is `any` (as in socket.io's default maps) because that is the one
 * type every event map is assignable to, so a `Client<Events>` /
 * `ChskServer<Events>` fits where a plain `Client` / `ChskServer` is
 * expected (your helpers, chsk's dashboard). The reverse holds too: the
 * types cannot stop an untyped object from being passed as a typed one.
 */
export type DefaultEventMap = any;

/**
 * What the untyped default stands for: any id, any data, any reply, both
 * ways, which is exactly the untyped API (`ChskEvent`, `unknown` replies).
 */
export interface UntypedEventMap {
  [id: string]: { data?: unknown; reply?: unknown; from: "both" };
}

/** Why an id cannot be in an event map, as a readable compile error. */
type IdError<K> = K extends string
  ? string extends K
    ? null
    : K extends ReservedEventId
      ? `chsk: "${K}" is reserved (chsk/* ids are chsk's own events)`
      : K extends `${infer Ns}/${infer Name}`
        ? Ns extends ""
          ? `chsk: "${K}" has an empty namespace (ids are "ns/name")`
          : Name extends ""
            ? `chsk: "${K}" has an empty name (ids are "ns/name")`
            : null
        : `chsk: "${K}" has no namespace (ids are "ns/name")`
  : "chsk: event ids are strings";

/** What a valid spec looks like, key by key; unknown keys become a readable error. */
type SpecCheck<S> = S extends object
  ? {
      [P in keyof S]: P extends "data"
        ? unknown
        : P extends "reply"
          ? FromOf<S> extends "server"
            ? "chsk: a server push cannot have a reply (Sente has no server→client callbacks)"
            : unknown
          : P extends "from"
            ? EventSender
            : `chsk: unknown key "${P & string}" in an event spec (use data, reply, from)`;
    }
  : EventSpec;

/**
 * The constraint on an event map `E`: every key is a valid, non-reserved
 * `ns/name` id and every value an {@link EventSpec}. Write your own generic
 * helpers as `<E extends EventMap<E>>`.
 */
export type EventMap<E> = { [K in keyof E]: IdError<K> extends null ? SpecCheck<E[K]> : IdError<K> };

/**
 * True when any string is an id of `E`: the untyped default, or a map with a
 * `string` index signature. Routers then see no separate reserved members
 * (the `string` member covers them), as in the untyped API.
 */
export type IsUntypedMap<E> = string extends keyof E ? true : false;

/** The map the helper types read: `E`, or {@link UntypedEventMap} for the default (`any`). */
export type ResolvedEventMap<E> = 0 extends 1 & E ? UntypedEventMap : E;

type Keys<E> = Extract<keyof E, string>;
type Prop<S, P extends string, Missing> = P extends keyof S ? S[P] : Missing;
type FromOf<S> = Prop<S, "from", "client"> extends infer F ? ([Exclude<F, undefined>] extends [never] ? "client" : Exclude<F, undefined>) : never;

type IdsFrom<M, Senders> = { [K in Keys<M>]: [Extract<FromOf<M[K]>, Senders>] extends [never] ? never : K }[Keys<M>];

/** Ids the client sends (`from` is `"client"`, the default, or `"both"`). */
export type ClientSentId<E> = IdsFrom<ResolvedEventMap<E>, "client" | "both">;

/** Ids the server pushes (`from` is `"server"` or `"both"`). */
export type PushId<E> = IdsFrom<ResolvedEventMap<E>, "server" | "both">;

/** Client ids that declare a `reply`: only these can be sent with a timeout. */
export type ReplyId<E> = { [K in ClientSentId<E>]: "reply" extends keyof ResolvedEventMap<E>[K] ? K : never }[ClientSentId<E>];

// Both decide the untyped case before looking at `K`, so `send<K>(event: EventTuple<K, EventData<E, K>>)`
// stays `ChskEvent`-shaped for a generic `K` (the untyped class implements the typed interface).

/** The data of event `K` (`undefined` when the spec has none). */
export type EventData<E, K extends string> = 0 extends 1 & E ? unknown : Prop<Prop<E, K, never>, "data", undefined>;

/** The reply to event `K` (`undefined` when the spec has none). */
export type EventReply<E, K extends string> = 0 extends 1 & E ? unknown : Prop<Prop<E, K, never>, "reply", undefined>;

/**
 * `[id, data]`, or `[id, data?]` when the data admits `undefined`:
 * `EventTuple<string, unknown>` is `ChskEvent`.
 */
export type EventTuple<K extends string, D> = readonly [id: K, ...data: undefined extends D ? [data?: D] : [data: D]];

/**
 * The event tuple of id `K` in map `E`; a union of ids gives a union of
 * tuples, discriminated by the id (`ev[0] === "chat/message"` narrows `ev[1]`).
 */
export type TypedEvent<E, K extends string> = K extends unknown ? EventTuple<K, EventData<E, K>> : never;

/** Every event the client may send. */
export type ClientSentEvent<E> = TypedEvent<E, ClientSentId<E>>;

/** Every event the server may push. */
export type PushEvent<E> = TypedEvent<E, PushId<E>>;

/**
 * The function type `(...args: A) => R`, but compared like a method (its
 * parameters bivariantly). The server msg's `reply` uses it so a typed msg
 * (`reply: (value: { id: number }) => boolean`) still fits an untyped
 * `ServerEventMsg` (`reply: (value: unknown) => boolean`).
 */
export type BivariantFn<A extends unknown[], R> = { fn(...args: A): R }["fn"];

/**
 * Reserved events the client's router sees besides the pushes. Their data
 * stays `unknown`, as in the untyped API (see `HandshakeInfo` and
 * `StateChange` for the typed `on("handshake")` / `on("state")` views).
 */
export interface ClientReservedEvents {
  /** `[uid, null, handshakeData, firstHandshake]`. */
  "chsk/handshake": { data: unknown };
  /** `[oldState, newState, openChanged]`. */
  "chsk/state": { data: unknown };
  /** The server pinged this client (already answered). */
  "chsk/ws-ping": { data?: unknown };
}

/** Reserved events the server's router sees besides the client's events. */
export interface ServerReservedEvents {
  /** A user's first connection opened; the data is the uid (`null`: anonymous). */
  "chsk/uidport-open": { data: string | null };
  /** A user's last connection is gone (after the grace period); the data is the uid. */
  "chsk/uidport-close": { data: string | null };
  /** The client pinged (a ping with a callback was already answered "pong"). */
  "chsk/ws-ping": { data?: undefined };
  /** The client answered a server ping. */
  "chsk/ws-pong": { data?: undefined };
  /** An invalid event was received; the data is what arrived. It has a reply when the client asked for one. */
  "chsk/bad-event": { data: unknown; reply: unknown };
}
