/**
 * The HTTP floor: a raw `node:http` echo (`bench/servers/raw-http.ts`), one
 * POST per request on keep-alive HTTP/1.1 sockets, the reply its body
 * (JSON, decoded). What any one-POST-per-request design (Sente's Ajax
 * transport among them) can reach on this machine.
 *
 * `params.sockets` (`--param sockets=N` in the engine's terms): sockets the
 * device opens one after another when it connects, so a run doesn't begin
 * with a burst of SYNs that overflows the listen queue. @default 1
 */
import type { BenchClientFactory } from "../../src/bench/client.js";
import { PeerClient } from "./common.js";
import { Http1Client } from "./http1.js";

const HEADERS = "content-type: application/json\r\n";

class RawHttpClient extends PeerClient {
  #http: Http1Client | null = null;
  #path = "/";

  protected start(): void {
    const u = new URL(this.options.url);
    this.#path = u.pathname;
    const http = new Http1Client(u.origin, this.options.headers);
    this.#http = http;
    http.prewarm(Math.max(1, Number(this.options.params["sockets"] ?? 1))).then(
      () => {
        if (this.#http === http) this.opened();
      },
      (e: Error) => {
        if (this.#http !== http) return;
        this.failed(e.message);
        this.#http = null;
        http.close();
        this.closed(undefined);
      },
    );
  }

  protected write(id: number, _event: string, data: unknown): boolean {
    const http = this.#http;
    if (http === null) return false;
    const body = JSON.stringify(data);
    this.frame("frame:out", "post", body);
    http.request("POST", this.#path, HEADERS, body, (e, status, text) => {
      if (e !== null || status !== 200) return this.badReply(id, e?.message ?? `HTTP ${status}`);
      this.frame("frame:in", "post-reply", text);
      let reply: unknown;
      try {
        reply = JSON.parse(text);
      } catch {
        return this.badReply(id, "unreadable reply");
      }
      this.replied(id, reply);
    });
    return true;
  }

  protected stop(): void {
    const http = this.#http;
    this.#http = null;
    http?.close();
  }
}

export const createBenchClient: BenchClientFactory = (options) => new RawHttpClient(options, "ajax");
