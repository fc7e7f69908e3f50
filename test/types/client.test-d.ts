/**
 * `createClient<Events>()`: sends, replies, pushes and the router, typed by
 * the event map; and the untyped client exactly as before.
 */
import { type ChskError, type ChskEvent, type Client, type ClientEventMsg, createClient } from "chsk/client";
import { createClient as createBrowserClient } from "../../src/core/client/index.js";
import { expectType } from "./helpers.js";

interface Events {
  "chat/send": { data: { text: string }; reply: { id: number } };
  "chat/typing": { data: boolean };
  "chat/message": { data: { user: string; text: string }; from: "server" };
  "chat/leave": {};
  "chat/ping": { data: number; from: "both"; reply: "pong" };
}

const client = createClient<Events>({ url: "/chsk" });
expectType<Client<Events>>()(client);
// The browser entry (chsk/client's "browser" and "default" conditions) is typed the same way.
expectType<Client<Events>>()(createBrowserClient<Events>({ url: "/chsk" }));

export async function sends(): Promise<void> {
  // Request/reply resolves to the declared reply, in every form.
  expectType<Promise<{ id: number }>>()(client.send(["chat/send", { text: "hi" }], 5000));
  expectType<Promise<{ id: number }>>()(client.send(["chat/send", { text: "hi" }], { timeoutMs: 5000, flush: true }));
  expectType<Promise<"pong">>()(client.send(["chat/ping", 1], 5000));
  const { id } = await client.send(["chat/send", { text: "hi" }], 5000);
  expectType<number>()(id);

  // The callback form types the reply.
  expectType<boolean>()(
    client.send(["chat/send", { text: "hi" }], 5000, (err, reply) => {
      expectType<ChskError | null>()(err);
      expectType<{ id: number } | undefined>()(reply);
    }),
  );

  // Fire and forget.
  expectType<boolean>()(client.send(["chat/typing", true]));
  expectType<boolean>()(client.send(["chat/typing", false], { flush: true }));
  expectType<boolean>()(client.send(["chat/leave"]));
  expectType<boolean>()(client.send(["chat/send", { text: "no reply wanted" }]));

  // @ts-expect-error wrong data shape
  client.send(["chat/send", { txt: "hi" }], 5000);
  // @ts-expect-error excess property in the data
  client.send(["chat/send", { text: "hi", extra: 1 }], 5000);
  // @ts-expect-error data missing
  client.send(["chat/typing"]);
  // @ts-expect-error data where the event has none
  client.send(["chat/leave", 1]);
  // @ts-expect-error unknown id
  client.send(["chat/unknown", 1]);
  // @ts-expect-error an id without a namespace
  client.send(["typing", true]);
  // @ts-expect-error a server push is not sent by the client
  client.send(["chat/message", { user: "a", text: "b" }]);
  // @ts-expect-error reserved ids are never sent by the app
  client.send(["chsk/ws-ping"]);
  // @ts-expect-error reserved ids are never sent by the app
  client.send(["chsk/handshake", 1]);
  // @ts-expect-error a fire-and-forget event (no `reply`) cannot be sent with a timeout
  void client.send(["chat/typing", true], 5000);
  // @ts-expect-error nor with a callback
  client.send(["chat/typing", true], 5000, () => {});
  // @ts-expect-error the callback's reply is the declared type
  client.send(["chat/send", { text: "hi" }], 5000, (_err: ChskError | null, _reply?: string) => {});
  // @ts-expect-error an id of type string is not a known id
  client.send(["chat/send" as string, { text: "hi" }]);
}

// Pushes: `recv` gets a union discriminated by the id.
client.on("recv", (ev) => {
  if (ev[0] === "chat/message") expectType<{ user: string; text: string }>()(ev[1]);
  else expectType<readonly [id: "chat/ping", data: number]>()(ev);
});
client.on("recv", ([id, data]) => {
  if (id === "chat/message") expectType<{ user: string; text: string }>()(data);
  if (id === "chat/ping") expectType<number>()(data);
  // @ts-expect-error a client→server id never arrives as a push
  if (id === "chat/send") return;
});

// The router: pushes plus the reserved events, typed as in the untyped API.
client.startRouter((msg) => {
  expectType<Client<Events>>()(msg.client);
  switch (msg.id) {
    case "chat/message":
      expectType<{ user: string; text: string }>()(msg.data);
      expectType<readonly [id: "chat/message", data: { user: string; text: string }]>()(msg.event);
      return;
    case "chat/ping":
      expectType<number>()(msg.data);
      return;
    case "chsk/handshake":
    case "chsk/state":
    case "chsk/ws-ping":
      expectType<unknown>()(msg.data);
      return;
    default:
      // Exhaustive: nothing else reaches the router.
      expectType<never>()(msg);
  }
});
client.startRouter(() => {}, {
  onError: (_e, msg) => {
    expectType<"chat/message" | "chat/ping" | "chsk/handshake" | "chsk/state" | "chsk/ws-ping">()(msg.id);
  },
});
expectType<ClientEventMsg<Events>["id"]>()("chat/ping" as "chat/message" | "chat/ping" | "chsk/handshake" | "chsk/state" | "chsk/ws-ping");

// A typed client (and its msgs) fit where untyped ones are expected: helpers, chsk's own tools.
declare function takesClient(c: Client): void;
declare function logMsg(msg: ClientEventMsg): void;
takesClient(client);
client.startRouter((msg) => logMsg(msg));
client.on("recv", (ev) => takesEvent(ev));
declare function takesEvent(ev: ChskEvent): void;

// --- Without a type argument: exactly the untyped API ---------------------------

export async function untyped(ev: ChskEvent, id: string): Promise<void> {
  const c = createClient({ url: "/chsk" });
  expectType<Client>()(c);
  expectType<boolean>()(c.send(ev));
  expectType<boolean>()(c.send([id, { any: "thing" }]));
  expectType<boolean>()(c.send(["my/ev"]));
  expectType<Promise<unknown>>()(c.send(ev, 5000));
  expectType<Promise<unknown>>()(c.send(["my/ev", 1], { timeoutMs: 5000 }));
  expectType<boolean>()(
    c.send(["my/ev", 1], 5000, (err, reply) => {
      expectType<ChskError | null>()(err);
      expectType<unknown>()(reply);
    }),
  );
  // As before, ids are checked at run time only (assertEvent throws CHSK_ERR_BAD_EVENT).
  expectType<boolean>()(c.send(["nonamespace"]));
  c.on("recv", (e) => expectType<ChskEvent>()(e));
  c.startRouter((msg) => {
    expectType<ChskEvent>()(msg.event);
    expectType<string>()(msg.id);
    expectType<unknown>()(msg.data);
    expectType<Client>()(msg.client);
  });
  expectType<ClientEventMsg>()({ event: ev, id, data: ev[1], client: c });
}
