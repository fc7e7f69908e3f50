/** Reference: the real socket.io-client 4.8 as the generator. */
import { io } from "socket.io-client";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

function clientDriver(transport: "websocket" | "polling"): Driver {
  const name = `socketio-client-${transport === "websocket" ? "ws" : "polling"}`;
  return {
    name,
    async connect(ctx: ConnectContext): Promise<DriverConn> {
      const socket = io(`http://127.0.0.1:${ctx.port}`, {
        transports: [transport],
        upgrade: false,
        forceNew: true,
        reconnection: false,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      let closing = false;
      socket.on("disconnect", (reason) => {
        if (!closing) ctx.onError(new Error(`${name}: ${reason}`));
      });
      return {
        request: (tag) =>
          socket.emit("echo", PAYLOAD, (x: typeof PAYLOAD) => ctx.onReply(tag, x?.msg === PAYLOAD.msg)),
        close: () => {
          closing = true;
          socket.disconnect();
        },
      };
    },
  };
}

export const wsDriver = clientDriver("websocket");
export const pollingDriver = clientDriver("polling");
