/**
 * Raw `ws` peer: JSON text frames `{"id":7,"data":…}`, which
 * `bench/servers/raw-ws.ts` echoes verbatim; a reply is matched by its id
 * and its `data` decoded (the engine checks it equals what was sent).
 */
import WebSocket from "ws";
import type { BenchClientFactory } from "../../src/bench/client.js";
import { PeerClient, sendBatched } from "./common.js";

/** `http://h:p/x` → `ws://h:p/x`. */
export const wsUrl = (url: string): string => url.replace(/^http/, "ws");

class RawWsClient extends PeerClient {
  #ws: WebSocket | null = null;

  protected start(): void {
    const ws = new WebSocket(wsUrl(this.options.url), { perMessageDeflate: false, headers: this.options.headers });
    this.#ws = ws;
    ws.on("open", () => this.opened());
    ws.on("message", (raw: Buffer) => {
      const s = raw.toString();
      this.frame("frame:in", "ws", s);
      let m: { id?: unknown; data?: unknown };
      try {
        m = JSON.parse(s) as typeof m;
      } catch {
        return;
      }
      if (typeof m.id === "number") this.replied(m.id, m.data);
    });
    this.watch(
      ws,
      () => this.#ws === ws,
      () => (this.#ws = null),
    );
  }

  protected write(id: number, _event: string, data: unknown): boolean {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    const s = `{"id":${id},"data":${JSON.stringify(data)}}`;
    this.frame("frame:out", "ws", s);
    sendBatched(ws, s);
    return true;
  }

  protected stop(): void {
    const ws = this.#ws;
    this.#ws = null;
    ws?.terminate();
  }
}

export const createBenchClient: BenchClientFactory = (options) => new RawWsClient(options, "ws");
