/**
 * The README's "Typed events" example, as it is printed there (keep the
 * two the same): it must compile, and the last lines check what it claims.
 */
import { expectType } from "./helpers.js";

// --- README: begin ---------------------------------------------------------------
import { createClient } from "chsk/client";
import { createServer } from "chsk/server";

interface Events {
  "chat/send":    { data: { text: string }; reply: { id: number } };            // client → server, with a reply
  "chat/typing":  { data: boolean };                                             // client → server, fire and forget
  "chat/message": { data: { user: string; text: string }; from: "server" };     // server push
}

// Server
const chsk = createServer<Events>({ csrfToken: null });
chsk.startRouter((msg) => {
  if (msg.id === "chat/send") {                  // msg.data: { text: string }
    chsk.broadcast(["chat/message", { user: String(msg.uid), text: msg.data.text }]);
    msg.reply?.({ id: 1 });                      // the reply must be { id: number }
  }
});

// Client
const client = createClient<Events>({ url: "http://localhost:8080/chsk" });
client.on("recv", ([id, data]) => {
  if (id === "chat/message") console.log(`${data.user}: ${data.text}`); // data: { user: string; text: string }
});
const { id } = await client.send(["chat/send", { text: "hi" }], 5000); // id: number
client.send(["chat/typing", true]);
// --- README: end -----------------------------------------------------------------

expectType<number>()(id);
// @ts-expect-error "chat/typing" declares no reply, so it cannot be sent with a timeout
await client.send(["chat/typing", true], 5000);
// @ts-expect-error the client does not push
client.send(["chat/message", { user: "me", text: "hi" }]);
// @ts-expect-error the server does not push client events
chsk.broadcast(["chat/send", { text: "hi" }]);
