/**
 * `createServer<Events>()`: the router's msg narrowed by id (data, reply,
 * reserved events), pushes limited to the map's server events; and the
 * untyped server exactly as before.
 */
import {
  type ChskEvent,
  type ChskServer,
  type ServerEventMsg,
  type ServerEventMsgOf,
  type Uid,
  createServer,
} from "chsk/server";
import { expectType } from "./helpers.js";

interface Events {
  "chat/send": { data: { text: string }; reply: { id: number } };
  "chat/typing": { data: boolean };
  "chat/message": { data: { user: string; text: string }; from: "server" };
  "chat/leave": {};
  "chat/ping": { data: number; from: "both"; reply: "pong" };
}

const chsk = createServer<Events>({ csrfToken: null });
expectType<ChskServer<Events>>()(chsk);

chsk.startRouter((msg) => {
  expectType<Uid>()(msg.uid);
  expectType<string>()(msg.clientId);
  if (msg.id === "chat/send") {
    expectType<{ text: string }>()(msg.data);
    expectType<readonly [id: "chat/send", data: { text: string }]>()(msg.event);
    expectType<((value: { id: number }) => boolean) | undefined>()(msg.reply);
    msg.reply?.({ id: 1 });
    // @ts-expect-error the reply has the declared type
    msg.reply?.({ id: "1" });
  }
  if (msg.id === "chat/typing") {
    expectType<boolean>()(msg.data);
    // @ts-expect-error no `reply` in the map: nothing to reply with
    msg.reply?.(true);
  }
});

// Every id the router can see, reserved ones included, each with its data.
chsk.startRouter((msg) => {
  switch (msg.id) {
    case "chat/send":
    case "chat/typing":
      return;
    case "chat/leave":
      expectType<undefined>()(msg.data);
      return;
    case "chat/ping":
      expectType<number>()(msg.data);
      msg.reply?.("pong");
      return;
    case "chsk/uidport-open":
    case "chsk/uidport-close":
      expectType<Uid>()(msg.data);
      expectType<undefined>()(msg.reply);
      return;
    case "chsk/ws-ping":
    case "chsk/ws-pong":
      expectType<undefined>()(msg.data);
      return;
    case "chsk/bad-event":
      expectType<unknown>()(msg.data);
      expectType<((value: unknown) => boolean) | undefined>()(msg.reply);
      return;
    default:
      expectType<never>()(msg);
  }
});
chsk.startRouter((msg) => {
  // @ts-expect-error a server push never reaches the server's router
  if (msg.id === "chat/message") return;
});
chsk.on("event", (msg) => {
  if (msg.id === "chat/send") expectType<{ text: string }>()(msg.data);
});
chsk.startRouter(() => {}, {
  onError: (_e, msg) => {
    if (msg.id === "chsk/uidport-open") expectType<Uid>()(msg.data);
  },
});

// Pushes: only the map's server events.
chsk.send("alice", ["chat/message", { user: "bot", text: "hi" }]);
chsk.send(null, ["chat/ping", 1], { flush: true });
chsk.sendToClient("client-1", ["chat/message", { user: "bot", text: "hi" }]);
chsk.broadcast(["chat/ping", 2]);
// @ts-expect-error a client→server event is not pushed
chsk.send("alice", ["chat/send", { text: "hi" }]);
// @ts-expect-error wrong data shape
chsk.broadcast(["chat/message", { user: "bot" }]);
// @ts-expect-error excess property in the data
chsk.sendToClient("client-1", ["chat/message", { user: "bot", text: "hi", extra: 1 }]);
// @ts-expect-error unknown id
chsk.broadcast(["chat/nope", 1]);
// @ts-expect-error reserved ids are not pushed by the app (closeUser() is the typed `["chsk/close"]`)
chsk.send("alice", ["chsk/close"]);
// @ts-expect-error reserved ids are not pushed by the app
chsk.broadcast(["chsk/handshake", ["alice", null, null]]);
// @ts-expect-error data missing
chsk.broadcast(["chat/ping"]);

// A typed server (and its msgs) fit where untyped ones are expected: helpers, chsk's dashboard.
declare function takesServer(s: ChskServer): void;
declare function logMsg(msg: ServerEventMsg): void;
takesServer(chsk);
chsk.startRouter((msg) => logMsg(msg));
chsk.on("event", (msg) => logMsg(msg));

// --- Without a type argument: exactly the untyped API ---------------------------

export function untyped(ev: ChskEvent, id: string): void {
  const s = createServer({ csrfToken: null });
  expectType<ChskServer>()(s);
  s.send("alice", ev);
  s.send("alice", ["chsk/close"]);
  s.sendToClient("c", [id, { any: "thing" }]);
  s.broadcast(["my/ev"]);
  s.startRouter((msg) => {
    expectType<ChskEvent>()(msg.event);
    expectType<string>()(msg.id);
    expectType<unknown>()(msg.data);
    expectType<((value: unknown) => boolean) | undefined>()(msg.reply);
    if (msg.id === "my/echo") msg.reply?.(msg.data);
  });
  expectType<ServerEventMsgOf>()(null as unknown as ServerEventMsg);
  expectType<ServerEventMsg>()(null as unknown as ServerEventMsgOf);
}
