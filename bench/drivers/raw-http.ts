/** Baseline HTTP driver: POST `<tag>|<json payload>`, expect it echoed. */
import { closeHttp1, http1For } from "./http1.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const BODY = `|${JSON.stringify(PAYLOAD)}`;
const HEADERS = "content-type: text/plain;charset=UTF-8\r\n";

export const driver: Driver = {
  name: "raw-http",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    const http = http1For(ctx.port);
    await http.prewarm(ctx.inflight);
    return {
      request(tag) {
        const body = `${tag}${BODY}`;
        http.request("POST", "/echo", HEADERS, body, (e, status, text) => ctx.onReply(tag, !e && status === 200 && text === body));
      },
      close() {},
    };
  },
  dispose: closeHttp1,
};
