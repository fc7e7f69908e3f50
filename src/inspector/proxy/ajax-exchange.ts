/**
 * Turns one Ajax exchange on the channel path into {@link WireEvent}s, as
 * its bytes flow through: a long-poll GET's answer (`poll`, `handshake`
 * when the GET asked for one), a POST's packed message (`post`, read as
 * the server reads it, {@link readAjaxPost}) and its answer (`post-reply`,
 * the same `connId`), and a non-200 answer as `refused`. The first request
 * of a client id also gets an `open`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { readAjaxPost, readAjaxQuery } from "../../core/index.js";
import { answerData, Capture, type ChannelSink, HeadCapture, REFUSAL_BODY_BYTES, refusalCode, tooLargeError } from "./channel-sink.js";
import type { ExchangeTap } from "./forward-http.js";

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The tap for a channel-path request; undefined for methods Sente doesn't use (passed on unwatched). */
export function ajaxExchangeTap(req: IncomingMessage, sink: ChannelSink): ExchangeTap | undefined {
  const method = req.method;
  if (method !== "GET" && method !== "POST") return undefined;
  const requestAt = Date.now();
  const url = req.url ?? "/";
  const query = readAjaxQuery(url);
  const connId = sink.connId("ajax");
  const isPost = method === "POST";
  let clientId = query.clientId;

  const open = (id: string | undefined, at: number) => {
    if (id !== undefined && sink.firstSight(id)) sink.emit({ type: "open", at, transport: "ajax", connId, clientId: id, url });
  };
  if (!isPost) open(clientId, requestAt);

  const posted = isPost ? new Capture(sink.maxDecodeBytes) : null;
  let postReported = false;
  const reportPost = (complete: boolean) => {
    if (postReported || posted === null) return;
    postReported = true;
    const at = Date.now();
    const base = { type: "frame", at, dir: "c2s", transport: "ajax", channel: "post", connId } as const;
    if (posted.over) {
      open(clientId, at);
      sink.emit({ ...base, ...(clientId === undefined ? {} : { clientId }), data: "", bytes: posted.size, error: tooLargeError(posted.size, sink.maxDecodeBytes, "POST body") });
      return;
    }
    const body = posted.bytes();
    const r = readAjaxPost(body, header(req.headers, "content-type"), url);
    if ("error" in r) {
      open(clientId, at);
      const error = complete ? { code: "CHSK_ERR_BAD_ENVELOPE", message: r.error } : { code: "CHSK_ERR_TRANSPORT", message: "the POST body was cut off" };
      sink.emit({ ...base, ...(clientId === undefined ? {} : { clientId }), data: body.toString("utf8"), error });
      return;
    }
    clientId = r.clientId ?? clientId;
    open(clientId, at);
    const data = typeof r.packed === "string" ? r.packed : new Uint8Array(r.packed.buffer, r.packed.byteOffset, r.packed.byteLength);
    sink.emit({ ...base, ...(clientId === undefined ? {} : { clientId }), data });
  };

  let status = 0;
  let contentType: string | undefined;
  let contentEncoding: string | undefined;
  let answer: Capture | null = null;
  let refusal: HeadCapture | null = null;

  const refused = (st: number, body: string, code: string | undefined) => {
    sink.emit({
      type: "refused",
      at: Date.now(),
      transport: "ajax",
      connId,
      ...(clientId === undefined ? {} : { clientId }),
      status: st,
      body,
      ...(code === undefined ? {} : { code }),
    });
  };

  return {
    requestChunk(chunk) {
      posted?.push(chunk);
    },
    requestEnd() {
      reportPost(true);
    },
    responseStart(st, headers) {
      // Answered before the whole body arrived (a 413, say): report what came.
      reportPost(false);
      status = st;
      contentType = header(headers, "content-type");
      contentEncoding = header(headers, "content-encoding");
      if (st === 200) answer = new Capture(sink.maxDecodeBytes);
      else refusal = new HeadCapture(REFUSAL_BODY_BYTES);
    },
    responseChunk(chunk) {
      if (answer !== null) answer.push(chunk);
      else refusal?.push(chunk);
    },
    responseEnd() {
      if (refusal !== null) {
        const text = refusal.text();
        return refused(status, text, refusalCode(text));
      }
      if (answer === null) return;
      const base = {
        type: "frame",
        at: Date.now(),
        dir: "s2c",
        transport: "ajax",
        channel: isPost ? "post-reply" : "poll",
        connId,
        ...(clientId === undefined ? {} : { clientId }),
        ...(!isPost && query.handshake ? { handshake: true } : {}),
        status,
        requestAt,
      } as const;
      if (answer.over) {
        return sink.emit({ ...base, data: "", bytes: answer.size, error: tooLargeError(answer.size, sink.maxDecodeBytes, "answer") });
      }
      const d = answerData(answer.bytes(), contentType, contentEncoding, sink.maxDecodeBytes);
      if ("error" in d) return sink.emit({ ...base, data: "", bytes: answer.size, error: d.error });
      sink.emit({ ...base, data: d.data });
    },
    failed(by, message, answered) {
      reportPost(false);
      // The browser gave up on a held poll (tab closed, navigated): not a frame.
      if (by === "client") return;
      if (!answered) return refused(502, message, "CHSK_ERR_TRANSPORT");
      sink.emit({
        type: "frame",
        at: Date.now(),
        dir: "s2c",
        transport: "ajax",
        channel: isPost ? "post-reply" : "poll",
        connId,
        ...(clientId === undefined ? {} : { clientId }),
        status,
        requestAt,
        data: "",
        bytes: answer?.size ?? 0,
        error: { code: "CHSK_ERR_TRANSPORT", message: `the answer was cut off: ${message}` },
      });
    },
  };
}
