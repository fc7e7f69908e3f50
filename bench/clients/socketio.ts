/**
 * socket.io peer: engine.io v4 / socket.io v5 packets spoken directly, over
 * a raw `ws` socket (`type: "ws"`, the websocket transport) or over
 * keep-alive HTTP/1.1 long-polling (`type: "ajax"`, the polling transport),
 * so the generator stays cheaper than the server. Requests are acked
 * emits; the ack id is the request id.
 *
 *   server → `0{"sid":…}` (engine.io open)    client → `40` (connect to "/")
 *   server → `40{"sid":…}`                     client → `42<id>["demo/echo",x]`
 *   server → `43<id>[x]`                       server `2` (ping) → client `3`
 *
 * Polling batches as socket.io-client does: at most one GET and one POST in
 * flight per session; packets queued while a POST is out go in the next one,
 * separated by \x1e, and acks come back batched in GET bodies.
 */
import WebSocket from "ws";
import type { BenchClientFactory } from "../../src/bench/client.js";
import { PeerClient, sendBatched } from "./common.js";
import { Http1Client } from "./http1.js";
import { wsUrl } from "./raw-ws.js";

const SEP = "\x1e";
const POST_HEADERS = "content-type: text/plain;charset=UTF-8\r\n";

/** `/socket.io/` under the target URL's origin (the peer's default path). */
const enginePath = (url: string) => `${new URL(url).pathname.replace(/\/?$/, "/")}?EIO=4&transport=`;

/** The packet `42<id>[event,data]`. */
const emit = (id: number, event: string, data: unknown) => `42${id}[${JSON.stringify(event)},${JSON.stringify(data)}]`;

abstract class SocketIoClient extends PeerClient {
  /** One socket.io packet from the server; `send` writes engine.io packets back. */
  protected packet(p: string, send: (p: string) => void): void {
    const c0 = p.charCodeAt(0);
    if (c0 === 0x34 /* 4: message */) {
      const c1 = p.charCodeAt(1);
      if (c1 === 0x33 /* 3: ack */) {
        let id = 0;
        let i = 2;
        for (let c = p.charCodeAt(i); c >= 48 && c <= 57; c = p.charCodeAt(++i)) id = id * 10 + (c - 48);
        let args: unknown;
        try {
          args = JSON.parse(p.slice(i));
        } catch {
          return this.badReply(id, "unreadable ack");
        }
        if (Array.isArray(args)) this.replied(id, args[0]);
        else this.badReply(id, "ack without arguments");
      } else if (c1 === 0x30 /* 0: connect */) this.opened();
      else if (c1 === 0x34 /* 4: connect error */) this.failed(`socket.io refused the namespace: ${p.slice(2, 120)}`);
    } else if (c0 === 0x32 /* 2: ping */) send("3");
    else if (c0 === 0x30 /* 0: open */) send("40");
    else if (c0 === 0x31 /* 1: close */ && !this.closing) {
      this.stop();
      this.closed(undefined);
    }
  }
}

class SocketIoWs extends SocketIoClient {
  #ws: WebSocket | null = null;

  protected start(): void {
    const u = new URL(this.options.url);
    const ws = new WebSocket(`${wsUrl(u.origin)}${enginePath(this.options.url)}websocket`, { perMessageDeflate: false, headers: this.options.headers });
    this.#ws = ws;
    const send = (p: string) => {
      this.frame("frame:out", "ws", p);
      sendBatched(ws, p);
    };
    ws.on("message", (raw: Buffer) => {
      const s = raw.toString();
      this.frame("frame:in", "ws", s);
      this.packet(s, send);
    });
    this.watch(
      ws,
      () => this.#ws === ws,
      () => (this.#ws = null),
    );
  }

  protected write(id: number, event: string, data: unknown): boolean {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    const p = emit(id, event, data);
    this.frame("frame:out", "ws", p);
    sendBatched(ws, p);
    return true;
  }

  protected stop(): void {
    const ws = this.#ws;
    this.#ws = null;
    ws?.terminate();
  }
}

class SocketIoPolling extends SocketIoClient {
  #http: Http1Client | null = null;
  #path = "";
  #queue: string[] = [];
  #posting = false;

  protected start(): void {
    const http = new Http1Client(new URL(this.options.url).origin, this.options.headers);
    this.#http = http;
    this.#path = "";
    const base = `${enginePath(this.options.url)}polling`;
    http.request("GET", base, "", undefined, (e, status, text) => {
      if (this.#http !== http) return;
      if (e !== null || status !== 200 || text.charCodeAt(0) !== 0x30) {
        this.failed(e?.message ?? `engine.io open answered ${status}`, e === null ? status : undefined);
        return this.#end();
      }
      this.frame("frame:in", "poll", text);
      const sid = (JSON.parse(text.slice(1)) as { sid: string }).sid;
      this.#path = `${base}&sid=${encodeURIComponent(sid)}`;
      this.#push("40");
      this.#poll(http);
    });
  }

  #end(): void {
    const http = this.#http;
    this.#http = null;
    http?.close();
    if (!this.closing) this.closed(undefined);
  }

  #poll(http: Http1Client): void {
    http.request("GET", this.#path, "", undefined, (e, status, text) => {
      if (this.#http !== http) return;
      if (e !== null || status !== 200) {
        if (!this.open) this.failed(e?.message ?? `poll answered ${status}`, e === null ? status : undefined);
        return this.#end();
      }
      this.frame("frame:in", "poll", text);
      const send = (p: string) => this.#push(p);
      if (text.indexOf(SEP) < 0) this.packet(text, send);
      else for (const p of text.split(SEP)) this.packet(p, send);
      if (this.#http === http) this.#poll(http);
    });
  }

  /** Queues an engine.io packet; it leaves in the next POST. */
  #push(p: string): void {
    this.#queue.push(p);
    this.#flush();
  }

  #flush(): void {
    const http = this.#http;
    if (this.#posting || this.#queue.length === 0 || http === null) return;
    this.#posting = true;
    const body = this.#queue.length === 1 ? this.#queue[0]! : this.#queue.join(SEP);
    this.#queue = [];
    this.frame("frame:out", "post", body);
    http.request("POST", this.#path, POST_HEADERS, body, (e, status, text) => {
      this.#posting = false;
      if (this.#http !== http) return;
      if (e !== null || text !== "ok") {
        if (!this.open) this.failed(e?.message ?? `POST answered ${status}`, e === null ? status : undefined);
        return this.#end();
      }
      this.#flush();
    });
  }

  protected write(id: number, event: string, data: unknown): boolean {
    if (this.#http === null) return false;
    this.#push(emit(id, event, data));
    return true;
  }

  protected stop(): void {
    const http = this.#http;
    this.#http = null;
    this.#queue = [];
    this.#posting = false;
    if (http === null) return;
    if (this.#path === "") return http.close();
    // Say goodbye (engine.io close), then drop the sockets.
    http.request("POST", this.#path, POST_HEADERS, "1", () => http.close());
    setTimeout(() => http.close(), 1_000).unref();
  }
}

export const createBenchClient: BenchClientFactory = (options) => (options.type === "ajax" ? new SocketIoPolling(options, "ajax") : new SocketIoWs(options, "ws"));
