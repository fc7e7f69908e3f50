/**
 * A small chsk session as wire events (what a source reports), built with
 * the real frame codec, for the output and HAR tests: a WebSocket client
 * (handshake, a call and its reply, a push batch, a ping and pong, a
 * fire-and-forget event, an unanswered call, an unreadable frame, a close)
 * and an Ajax client (handshake poll, a POST call and its reply, a POST
 * without reply, a poll timeout, a refused POST).
 */
import {
  createFrameDecoder,
  encodeClientEvent,
  encodeClientPong,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePush,
  encodeReply,
  encodeServerPing,
  type FrameRecord,
  msgpackPacker,
  type Packer,
  ednPacker,
  type WireEvent,
} from "../../src/core/index.js";

/** 2026-12-02T12:00:00.000Z */
export const T0 = Date.UTC(2026, 11, 2, 12, 0, 0, 0);

export function sessionEvents(packer: Packer = ednPacker()): WireEvent[] {
  const ws = { transport: "ws", channel: "ws", connId: "ws-1" } as const;
  const ajax = { transport: "ajax", clientId: "c-ajax-2222" } as const;
  return [
    { type: "open", at: T0, transport: "ws", connId: "ws-1", clientId: "c-ws-1111", url: "/chsk?client-id=c-ws-1111&csrf-token=tok" },
    { type: "frame", at: T0 + 5, dir: "s2c", ...ws, data: encodeHandshake(packer, "alice", null) },
    { type: "frame", at: T0 + 100, dir: "c2s", ...ws, data: encodeClientEvent(packer, ["demo/echo", "hello"], "3f2a1b") },
    { type: "frame", at: T0 + 106, dir: "s2c", ...ws, data: encodeReply(packer, "hello", "3f2a1b") },
    { type: "frame", at: T0 + 200, dir: "s2c", ...ws, data: encodePush(packer, [["demo/msg", { n: 1 }], ["demo/msg", { n: 2 }]]) },
    { type: "frame", at: T0 + 300, dir: "s2c", ...ws, data: encodeServerPing(packer) },
    { type: "frame", at: T0 + 301, dir: "c2s", ...ws, data: encodeClientPong(packer) },
    { type: "frame", at: T0 + 400, dir: "c2s", ...ws, data: encodeClientEvent(packer, ["demo/note", { a: 1 }], null) },
    { type: "frame", at: T0 + 500, dir: "c2s", ...ws, data: encodeClientEvent(packer, ["demo/slow"], "aaaaaa") },
    ...(packer.binary ? [] : [{ type: "frame", at: T0 + 600, dir: "c2s", ...ws, data: "[[:demo/echo" } as const]),
    { type: "open", at: T0 + 1000, connId: "get-1", ...ajax, url: "/chsk?client-id=c-ajax-2222&handshake%3F=true" },
    { type: "frame", at: T0 + 1003, dir: "s2c", channel: "poll", connId: "get-1", ...ajax, data: encodeHandshake(packer, null, null), handshake: true, status: 200, requestAt: T0 + 1000 },
    { type: "frame", at: T0 + 1100, dir: "c2s", channel: "post", connId: "post-1", ...ajax, data: encodeClientEvent(packer, ["demo/echo", 1], "ajax") },
    { type: "frame", at: T0 + 1108, dir: "s2c", channel: "post-reply", connId: "post-1", ...ajax, data: encodeReply(packer, 1, null), status: 200, requestAt: T0 + 1100 },
    { type: "frame", at: T0 + 1200, dir: "c2s", channel: "post", connId: "post-2", ...ajax, data: encodeClientEvent(packer, ["demo/note", 2], null) },
    { type: "frame", at: T0 + 1201, dir: "s2c", channel: "post-reply", connId: "post-2", ...ajax, data: encodeDummyCb200(packer), status: 200, requestAt: T0 + 1200 },
    { type: "frame", at: T0 + 21_003, dir: "s2c", channel: "poll", connId: "get-2", ...ajax, data: encodeLpTimeout(packer), status: 200, requestAt: T0 + 1003 },
    { type: "frame", at: T0 + 21_100, dir: "c2s", channel: "post", connId: "post-3", ...ajax, data: encodeClientEvent(packer, ["demo/echo", 3], "ajax") },
    { type: "refused", at: T0 + 21_101, transport: "ajax", connId: "post-3", clientId: "c-ajax-2222", status: 403, body: "Bad CSRF token", code: "CHSK_ERR_BAD_CSRF" },
    { type: "close", at: T0 + 22_000, transport: "ws", connId: "ws-1", code: 1000, dir: "c2s" },
  ];
}

/** The session decoded, as a viewer would see it once it is over. */
export function decode(events: readonly WireEvent[], packer?: Packer): FrameRecord[] {
  const d = createFrameDecoder(packer === undefined ? {} : { packer });
  const records = events.map((e) => d.push(e));
  d.flush((events.at(-1)?.at ?? 0) + 60_000);
  return records;
}

export const binaryPacker = (): Packer => msgpackPacker();
