/**
 * Lean socket.io driver over HTTP long-polling (engine.io v4), with the
 * batching the real client does: at most one GET and one POST in flight per
 * session; requests queued while a POST is out go in the next POST,
 * separated by \x1e. Acks come back batched in GET bodies.
 */
import { parseAck } from "./socketio-ws.js";
import { closeHttp1, http1For } from "./http1.js";
import { type ConnectContext, type Driver, type DriverConn, PAYLOAD } from "./types.js";

const ARGS = `["echo",${JSON.stringify(PAYLOAD)}]`;
const SEP = "\x1e";
const HEADERS = "content-type: text/plain;charset=UTF-8\r\n";

export const driver: Driver = {
  name: "socketio-polling",
  async connect(ctx: ConnectContext): Promise<DriverConn> {
    const http = http1For(ctx.port);
    const base = "/socket.io/?EIO=4&transport=polling";
    const open = await http.fetch("GET", base);
    if (open.status !== 200 || open.text[0] !== "0") throw new Error(`socketio-polling: bad open ${open.status} ${open.text}`);
    const sid = (JSON.parse(open.text.slice(1)) as { sid: string }).sid;
    const path = `${base}&sid=${encodeURIComponent(sid)}`;
    const post = await http.fetch("POST", path, HEADERS, "40");
    if (post.text !== "ok") throw new Error(`socketio-polling: connect POST ${post.status} ${post.text}`);

    let closing = false;
    let queue: string[] = [];
    let posting = false;
    let n = 0;

    const flush = (): void => {
      if (posting || queue.length === 0 || closing) return;
      posting = true;
      const body = queue.join(SEP);
      queue = [];
      http.request("POST", path, HEADERS, body, (e, status, text) => {
        posting = false;
        if (e) return void (closing || ctx.onError(e));
        if (text !== "ok") ctx.onError(new Error(`socketio-polling: POST ${status} ${text.slice(0, 80)}`));
        flush();
      });
    };

    let connected!: () => void;
    const whenConnected = new Promise<void>((r) => (connected = r));
    const poll = (): void => {
      if (closing) return;
      http.request("GET", path, "", undefined, (e, status, text) => {
          if (e) return void (closing || ctx.onError(e));
          if (status !== 200) {
            if (!closing) ctx.onError(new Error(`socketio-polling: GET ${status} ${text.slice(0, 80)}`));
            return;
          }
          for (const p of text.split(SEP)) {
            if (p.charCodeAt(0) === 0x34 && p.charCodeAt(1) === 0x33) {
              const a = parseAck(p, (++n & 63) === 0);
              if (a) ctx.onReply(a.tag, a.ok);
            } else if (p === "2") {
              queue.push("3");
              flush();
            } else if (p.startsWith("40")) connected();
            else if (p === "1" || p.startsWith("44")) {
              if (!closing) ctx.onError(new Error(`socketio-polling: server closed (${p.slice(0, 80)})`));
              return;
            }
          }
          poll();
      });
    };
    poll();
    await whenConnected;

    return {
      request(tag) {
        queue.push(`42${tag}${ARGS}`);
        flush();
      },
      close() {
        if (closing) return;
        closing = true;
        http.request("POST", path, HEADERS, "1", () => {});
      },
    };
  },
  dispose: closeHttp1,
};
