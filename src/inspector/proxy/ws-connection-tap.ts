/**
 * Turns one WebSocket upgrade on the channel path into {@link WireEvent}s:
 * `open` at the 101, a `frame` per message each way (text or binary, with
 * the client id from the upgrade URL), a `close` per close frame (with its
 * direction), one `close` with code 1006 when the connection ended without
 * any, and `refused` when the target answered the upgrade with anything
 * but 101.
 */
import type { IncomingMessage } from "node:http";
import { readAjaxQuery, type WireEvent } from "../../core/index.js";
import { type ChannelSink, HeadCapture, REFUSAL_BODY_BYTES, refusalCode } from "./channel-sink.js";
import type { UpgradeTap } from "./forward-upgrade.js";
import { parseDeflate, WsObserver } from "./ws-observer.js";

/** RFC 6455 §7.4.1: the connection closed without a close frame. */
const ABNORMAL_CLOSURE = 1006;

export function wsConnectionTap(req: IncomingMessage, sink: ChannelSink): UpgradeTap {
  const url = req.url ?? "/";
  const clientId = readAjaxQuery(url).clientId;
  const connId = sink.connId("ws");
  const who = clientId === undefined ? {} : { clientId };
  let observer: WsObserver | null = null;
  let sawClose = false;
  let status = 0;
  let refusal: HeadCapture | null = null;

  const refused = (st: number, body: string, code: string | undefined) =>
    sink.emit({ type: "refused", at: Date.now(), transport: "ws", connId, ...who, status: st, body, ...(code === undefined ? {} : { code }) });

  return {
    switched(res) {
      sink.emit({ type: "open", at: Date.now(), transport: "ws", connId, ...who, url });
      const ext = res.headers["sec-websocket-extensions"];
      observer = new WsObserver(sink.maxDecodeBytes, parseDeflate(Array.isArray(ext) ? ext.join(",") : ext), {
        message(dir, at, data, size, error) {
          const e: WireEvent = { type: "frame", at, dir, transport: "ws", channel: "ws", connId, data };
          // Assigned, not spread: this runs for every message.
          if (clientId !== undefined) e.clientId = clientId;
          if (error !== undefined) {
            e.bytes = size;
            e.error = error;
          }
          sink.emit(e);
        },
        close(dir, at, code, reason) {
          sawClose = true;
          sink.emit({ type: "close", at, transport: "ws", connId, ...who, dir, ...(code === undefined ? {} : { code }), reason });
        },
        broken(dir, message) {
          sink.notice("warn", `${connId} (${dir}): no longer read as WebSocket frames: ${message}; still forwarded`);
        },
      });
    },
    clientBytes(chunk) {
      observer?.c2s(chunk);
    },
    serverBytes(chunk) {
      observer?.s2c(chunk);
    },
    ended() {
      const o = observer;
      if (o === null) return;
      void o.idle().then(() => {
        o.dispose();
        if (!sawClose) sink.emit({ type: "close", at: Date.now(), transport: "ws", connId, ...who, code: ABNORMAL_CLOSURE, reason: "" });
      });
    },
    refusedStart(st) {
      status = st;
      refusal = new HeadCapture(REFUSAL_BODY_BYTES);
    },
    refusedChunk(chunk) {
      refusal?.push(chunk);
    },
    refusedEnd() {
      const text = refusal?.text() ?? "";
      refused(status, text, refusalCode(text));
    },
    failed(message) {
      refused(502, message, "CHSK_ERR_TRANSPORT");
    },
  };
}
