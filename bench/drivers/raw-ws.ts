/** Raw `ws`: text frame `<tag>|<json payload>`; the server echoes it verbatim. */
import WebSocket from "ws";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const BODY = `|${JSON.stringify(PAYLOAD)}`;
const BODY_BYTES = Buffer.byteLength(BODY);

/**
 * Opens a `ws` client. `onMessage` is attached before the handshake ends:
 * servers that speak first (socket.io, chsk) may send in the same TCP chunk
 * as the 101, before a listener added after `await` would exist.
 */
export function connectWs(url: string, onMessage: (data: Buffer, ws: WebSocket) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("message", (data: Buffer) => onMessage(data, ws));
    ws.once("open", () => {
      ws.off("error", reject);
      resolve(ws);
    });
    ws.once("error", reject);
  });
}

export const driver: Driver = {
  name: "raw-ws",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    const ws = await connectWs(`ws://127.0.0.1:${ctx.port}/`, (data: Buffer) => {
      // data = "<tag>|…"; parse the tag without building a string.
      let tag = 0;
      let i = 0;
      for (let c = data[0]!; c !== 0x7c; c = data[++i]!) tag = tag * 10 + (c - 48);
      ctx.onReply(tag, i > 0 && data.length === i + BODY_BYTES);
    });
    let closing = false;
    ws.on("error", ctx.onError);
    ws.on("close", (code) => {
      if (!closing) ctx.onError(new Error(`raw-ws: closed by server (${code})`));
    });
    return {
      request: (tag) => ws.send(`${tag}${BODY}`),
      close: () => {
        closing = true;
        ws.terminate();
      },
    };
  },
};
