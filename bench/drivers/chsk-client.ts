/** Reference: the real chsk client (`createClient` from the Node entry). */
import { ednPacker } from "../../src/core/packers/edn.js";
import { createClient } from "../../src/core/client/index.node.js";
import { isPayload } from "./chsk-ws.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

function clientDriver(type: "ws" | "ajax"): Driver {
  return {
    name: `chsk-client-${type}`,
    async connect(ctx: ConnectContext): Promise<DriverConn> {
      const client = createClient({
        url: `http://127.0.0.1:${ctx.port}/chsk`,
        type,
        packer: ednPacker(),
        csrfToken: null,
        backoffMs: () => 60_000,
      });
      await client.whenOpen();
      let closing = false;
      client.on("state", (ch) => {
        if (ch.closed && !closing) ctx.onError(new Error(`chsk-client-${type}: closed (${ch.new.lastClose?.reason})`));
      });
      return {
        request: (tag) =>
          client.send(["bench/echo", PAYLOAD], 10_000, (e, reply) => ctx.onReply(tag, e === null && isPayload(reply))),
        close: () => {
          closing = true;
          void client.close();
        },
      };
    },
  };
}

export const wsDriver = clientDriver("ws");
export const ajaxDriver = clientDriver("ajax");
