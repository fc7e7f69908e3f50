/**
 * Lean socket.io driver over a raw `ws`: speaks engine.io v4 / socket.io v5
 * frames itself so the generator stays cheap.
 *
 *   server → `0{"sid":…}` (engine.io open)     client → `40` (connect to "/")
 *   server → `40{"sid":…}`                      client → `42<ack>["echo",{…}]`
 *   server → `43<ack>[{…}]`                     server `2` (ping) → client `3`
 *
 * The ack id is the generator's tag.
 */
import { connectWs } from "./raw-ws.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const ARGS = `["echo",${JSON.stringify(PAYLOAD)}]`;
const REPLY_TAIL = `[${JSON.stringify(PAYLOAD)}]`;

/** Parses `43<digits>[…]`; `check` compares the whole reply, else only its length. */
export function parseAck(s: string, check: boolean): { tag: number; ok: boolean } | undefined {
  if (s.charCodeAt(0) !== 0x34 || s.charCodeAt(1) !== 0x33) return undefined;
  let tag = 0;
  let i = 2;
  for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) tag = tag * 10 + (c - 48);
  const ok = check ? s.slice(i) === REPLY_TAIL : s.length - i === REPLY_TAIL.length;
  return { tag, ok };
}

export const driver: Driver = {
  name: "socketio-ws",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    let n = 0;
    let closing = false;
    let connected!: () => void;
    const whenConnected = new Promise<void>((resolve, reject) => {
      connected = resolve;
      setTimeout(() => reject(new Error("socketio-ws: no namespace connect")), 10_000).unref();
    });
    whenConnected.catch(() => {}); // awaited below; don't report it unhandled if connecting fails first
    const ws = await connectWs(`ws://127.0.0.1:${ctx.port}/socket.io/?EIO=4&transport=websocket`, (data, ws) => {
      const s = data.toString();
      if (s.charCodeAt(0) === 0x34 /* 4: message */) {
        if (s.charCodeAt(1) === 0x33 /* 3: ack */) {
          const a = parseAck(s, (++n & 63) === 0);
          if (a) ctx.onReply(a.tag, a.ok);
        } else if (s.charCodeAt(1) === 0x30 /* 0: connect */) connected();
        else ctx.onError(new Error(`socketio-ws: unexpected ${s.slice(0, 80)}`));
      } else if (s === "2") ws.send("3");
      else if (s.charCodeAt(0) === 0x30 /* open */) ws.send("40");
    });
    await whenConnected;
    ws.on("error", ctx.onError);
    ws.on("close", (code) => {
      if (!closing) ctx.onError(new Error(`socketio-ws: closed by server (${code})`));
    });
    return {
      request: (tag) => ws.send(`42${tag}${ARGS}`),
      close: () => {
        closing = true;
        ws.terminate();
      },
    };
  },
};
