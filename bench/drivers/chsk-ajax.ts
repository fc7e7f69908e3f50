/**
 * Lean chsk Ajax driver over keep-alive HTTP/1.1 sockets (http1.ts), as Sente's Ajax
 * client does it: a handshake GET, one long-poll GET held open, and one
 * POST per request, `ppstr=[[:bench/echo {…}] :ajax]`, whose response body
 * is the reply `[{…} nil]` (checked by text; one in 64 fully decoded).
 */
import { randomUUID } from "node:crypto";
import { ednPacker } from "../../src/core/packers/edn.js";
import { AJAX_CB, decodeServerMessage, encodeClientEvent, encodeReply } from "../../src/core/protocol/codec.js";
import { closeHttp1, http1For } from "./http1.js";
import { isPayload } from "./chsk-ws.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const packer = ednPacker();
const PPSTR = encodeURIComponent(String(encodeClientEvent(packer, ["bench/echo", PAYLOAD], AJAX_CB)));
const REPLY = String(encodeReply(packer, PAYLOAD, null));
const POST_HEADERS = "content-type: application/x-www-form-urlencoded;charset=UTF-8\r\nx-requested-with: XMLHTTPRequest\r\n";
const GET_HEADERS = "x-requested-with: XMLHTTPRequest\r\n";

let udt = 0;

export const driver: Driver = {
  name: "chsk-ajax",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    const http = http1For(ctx.port);
    const clientId = randomUUID();
    const q = `client-id=${clientId}`;
    const hs = await http.fetch("GET", `/chsk?udt=${Date.now()}&${q}&handshake%3F=1`, GET_HEADERS);
    const hm = decodeServerMessage(packer, hs.text, "poll");
    if (hs.status !== 200 || !hm.ok || hm.value.kind !== "handshake") {
      throw new Error(`chsk-ajax: bad handshake ${hs.status} ${hs.text.slice(0, 80)}`);
    }
    let closing = false;
    let n = 0;
    const poll = (): void => {
      if (closing) return;
      http.request("GET", `/chsk?udt=${Date.now()}&${q}`, GET_HEADERS, undefined, (e, status, text) => {
        if (closing) return;
        if (e) return ctx.onError(e);
        const m = decodeServerMessage(packer, text, "poll");
        if (status !== 200 || !m.ok) return ctx.onError(new Error(`chsk-ajax: poll ${status} ${text.slice(0, 80)}`));
        poll();
      });
    };
    poll();
    // One socket per request in flight, plus the one the next poll will take
    // while this poll's socket is busy — opened now, outside the measurement.
    await http.prewarm(ctx.inflight + 1);
    const bodyHead = `${q}&ppstr=${PPSTR}&udt=`;
    return {
      request(tag) {
        http.request("POST", "/chsk", POST_HEADERS, `${bodyHead}${++udt}`, (e, status, text) => {
          if (e) return ctx.onReply(tag, false);
          if (status === 200 && text === REPLY && (++n & 63) !== 0) return ctx.onReply(tag, true);
          const m = decodeServerMessage(packer, text, "post");
          ctx.onReply(tag, status === 200 && m.ok && m.value.kind === "value" && isPayload(m.value.value));
        });
      },
      close() {
        closing = true;
      },
    };
  },
  dispose: closeHttp1,
};
