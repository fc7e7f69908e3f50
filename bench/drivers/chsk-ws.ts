/**
 * Lean chsk WS driver: a raw `ws` socket that speaks Sente frames itself,
 * using chsk's own codec + EDN packer, so the generator stays cheaper than
 * the server under test.
 *
 *   connect `/chsk?client-id=<uuid>` → wait for `[[:chsk/handshake …] nil]`
 *   send    `[[:bench/echo {…}] "<cb>"]` (encoded once; the 6-char cb id is
 *           spliced in per request and is the generator's tag in base 36)
 *   reply   `[{…} "<cb>"]`: checked by text against the expected reply;
 *           one reply in 64 (and anything unexpected) is fully decoded.
 *   ping    `[:chsk/ws-ping nil]` → `[[:chsk/ws-pong] nil]`
 */
import { randomUUID } from "node:crypto";
import { ednPacker } from "../../src/core/packers/edn.js";
import { decodeServerMessage, encodeClientEvent, encodeClientPong, encodeReply } from "../../src/core/protocol/codec.js";
import { connectWs } from "./raw-ws.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const packer = ednPacker();
const HOLE = "ZZZZZZ";
const [FRAME_HEAD, FRAME_TAIL] = splitHole(String(encodeClientEvent(packer, ["bench/echo", PAYLOAD], HOLE)));
const [REPLY_HEAD, REPLY_TAIL] = splitHole(String(encodeReply(packer, PAYLOAD, HOLE)));
const REPLY_LEN = REPLY_HEAD.length + 6 + REPLY_TAIL.length;
const PONG = String(encodeClientPong(packer));
const PAYLOAD_JSON = JSON.stringify(PAYLOAD);

function splitHole(s: string): [string, string] {
  const i = s.indexOf(HOLE);
  if (i < 0) throw new Error(`chsk-ws: cannot template ${s}`);
  return [s.slice(0, i), s.slice(i + HOLE.length)];
}

export const cbIdOf = (tag: number): string => tag.toString(36).padStart(6, "0");

/** Same value as PAYLOAD? (EDN maps read back as plain objects.) */
export const isPayload = (v: unknown): boolean => JSON.stringify(v) === PAYLOAD_JSON;

export const driver: Driver = {
  name: "chsk-ws",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    let n = 0;
    let closing = false;
    let handshaken!: () => void;
    const handshake = new Promise<void>((resolve, reject) => {
      handshaken = resolve;
      setTimeout(() => reject(new Error("chsk-ws: no handshake")), 10_000).unref();
    });
    handshake.catch(() => {}); // awaited below; don't report it unhandled if connecting fails first
    const ws = await connectWs(`ws://127.0.0.1:${ctx.port}/chsk?client-id=${randomUUID()}`, (data, ws) => {
      const s = data.toString();
      if (s.length === REPLY_LEN && s.startsWith(REPLY_HEAD) && s.endsWith(REPLY_TAIL) && (++n & 63) !== 0) {
        ctx.onReply(parseInt(s.slice(REPLY_HEAD.length, REPLY_HEAD.length + 6), 36), true);
        return;
      }
      const r = decodeServerMessage(packer, s, "ws");
      if (!r.ok) return ctx.onError(r.error);
      const m = r.value;
      if (m.kind === "reply") ctx.onReply(parseInt(m.cbId, 36), isPayload(m.value));
      else if (m.kind === "handshake") handshaken();
      else if (m.kind === "ping") ws.send(PONG);
      else ctx.onError(new Error(`chsk-ws: unexpected ${s.slice(0, 80)}`));
    });
    ws.on("error", ctx.onError);
    ws.on("close", (code) => {
      if (!closing) ctx.onError(new Error(`chsk-ws: closed by server (${code})`));
    });
    await handshake;
    return {
      request: (tag) => ws.send(`${FRAME_HEAD}${cbIdOf(tag)}${FRAME_TAIL}`),
      close: () => {
        closing = true;
        ws.terminate();
      },
    };
  },
};
