/**
 * A minimal keep-alive HTTP/1.1 client over `net` sockets, for the HTTP
 * peer adapters (socket.io polling, the raw `node:http` echo). undici's Pool costs the generator ~70 µs per request,
 * which made every HTTP row generator-bound on 2 cores; this client writes
 * one pre-built request string per round trip and parses just the status
 * line, Content-Length / chunked framing and the body.
 *
 * One request at a time per socket (no pipelining); idle sockets are reused,
 * new ones are opened on demand.
 */
import { connect, type Socket } from "node:net";

export type HttpCallback = (err: Error | null, status: number, body: string) => void;

const CRLFCRLF = Buffer.from("\r\n\r\n");

class Conn {
  readonly socket: Socket;
  #buf: Buffer | null = null;
  #cb: HttpCallback | null = null;
  #onIdle: (c: Conn) => void;
  #onDead: (c: Conn) => void;
  dead = false;

  readonly connected: Promise<void>;

  constructor(host: string, port: number, onIdle: (c: Conn) => void, onDead: (c: Conn) => void) {
    this.#onIdle = onIdle;
    this.#onDead = onDead;
    this.socket = connect({ port, host, noDelay: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
    this.connected.catch(() => {});
    this.socket.on("data", (d: Buffer) => this.#data(d));
    const die = (err?: Error) => {
      if (this.dead) return;
      this.dead = true;
      this.#onDead(this);
      const cb = this.#cb;
      this.#cb = null;
      cb?.(err ?? new Error("socket closed"), 0, "");
    };
    this.socket.on("error", die);
    this.socket.on("close", () => die());
  }

  send(req: string, cb: HttpCallback): void {
    this.#cb = cb;
    this.socket.write(req);
  }

  #data(d: Buffer): void {
    const buf = this.#buf ? Buffer.concat([this.#buf, d]) : d;
    const hEnd = buf.indexOf(CRLFCRLF);
    if (hEnd < 0) return void (this.#buf = buf);
    const head = buf.toString("latin1", 0, hEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    const bodyStart = hEnd + 4;
    let body: string;
    let end: number;
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (cl) {
      end = bodyStart + Number(cl[1]);
      if (buf.length < end) return void (this.#buf = buf);
      body = buf.toString("utf8", bodyStart, end);
    } else if (head.includes("\r\ntransfer-encoding: chunked")) {
      const parts: Buffer[] = [];
      let i = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf("\r\n", i);
        if (lineEnd < 0) return void (this.#buf = buf);
        const size = parseInt(buf.toString("latin1", i, lineEnd), 16);
        if (size === 0) {
          if (buf.length < lineEnd + 4) return void (this.#buf = buf);
          end = lineEnd + 4;
          break;
        }
        if (buf.length < lineEnd + 2 + size + 2) return void (this.#buf = buf);
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        i = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts).toString("utf8");
    } else {
      // No framing: the body ends when the server closes the socket. Not expected here.
      this.socket.destroy(new Error(`unframed HTTP response: ${head.slice(0, 60)}`));
      return;
    }
    this.#buf = end < buf.length ? buf.subarray(end) : null;
    const cb = this.#cb;
    this.#cb = null;
    const reusable = !/\r\nconnection:\s*close/.test(head);
    if (reusable) this.#onIdle(this);
    else this.socket.end();
    cb?.(null, status, body);
  }
}

/** One client's keep-alive sockets to one origin (`http://host:port`), opened on demand. */
export class Http1Client {
  readonly #hostname: string;
  readonly #port: number;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  readonly #host: string;
  /** Extra header lines sent with every request (cookies, auth), each ending in \r\n. */
  readonly #headers: string;

  constructor(origin: string, headers: Record<string, string> = {}) {
    const u = new URL(origin);
    this.#hostname = u.hostname;
    this.#port = Number(u.port || 80);
    this.#host = u.host;
    this.#headers = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
  }

  #open(): Conn {
    const c = new Conn(
      this.#hostname,
      this.#port,
      (x) => this.#idle.push(x),
      (x) => this.#all.delete(x),
    );
    this.#all.add(c);
    return c;
  }

  /**
   * Opens `n` idle sockets one after another, so that a load run doesn't
   * begin with a burst of SYNs (which overflows the listen backlog and costs
   * 1-3 s SYN retries) and socket setup stays out of the measured window.
   */
  async prewarm(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = this.#open();
      await c.connected;
      this.#idle.push(c);
    }
  }

  /** `headers`: extra header lines, each ending in \r\n. */
  request(method: "GET" | "POST", path: string, headers: string, body: string | undefined, cb: HttpCallback): void {
    let c = this.#idle.pop();
    while (c?.dead) c = this.#idle.pop();
    c ??= this.#open();
    const len = body === undefined ? "" : `content-length: ${Buffer.byteLength(body)}\r\n`;
    c.send(`${method} ${path} HTTP/1.1\r\nhost: ${this.#host}\r\n${this.#headers}${headers}${len}\r\n${body ?? ""}`, cb);
  }

  /** The same, as a promise of `{ status, text }`. */
  fetch(method: "GET" | "POST", path: string, headers = "", body?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) =>
      this.request(method, path, headers, body, (err, status, text) => (err ? reject(err) : resolve({ status, text }))),
    );
  }

  close(): void {
    for (const c of this.#all) c.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
