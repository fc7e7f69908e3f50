/** Test doubles for the client: a manual Clock, a fake WebSocket factory and a scripted fetch. */
import type { Cancel, Clock } from "../../src/core/clock.js";
import type { WebSocketFactory, WebSocketLike } from "../../src/core/client/types.js";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  t: number;
  #timers: Timer[] = [];
  #seq = 0;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Cancel {
    const timer: Timer = { id: ++this.#seq, at: this.t + Math.max(0, ms), fn, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
  /** Live (not cancelled, not fired) timers. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
  /** Delays (from now) of live timers, sorted. */
  delays(): number[] {
    return this.#timers.filter((t) => !t.cancelled).map((t) => t.at - this.t).sort((a, b) => a - b);
  }
  /** Move time forward, firing due timers in order (timers armed while firing included). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) if (!t.cancelled && t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (next === undefined) break;
      this.t = next.at;
      next.cancelled = true;
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      next.fn();
    }
    this.t = target;
  }
}

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  binaryType = "blob";
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  readonly sent: (string | Uint8Array)[] = [];
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = [];
  throwOnSend = false;
  constructor(
    readonly url: string,
    readonly headers: Record<string, string> | undefined,
  ) {}
  send(data: string | ArrayBufferLike | Uint8Array): void {
    if (this.throwOnSend) throw new Error("send boom");
    this.sent.push(data as string | Uint8Array);
  }
  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState < 2) this.readyState = 2;
  }
  // --- the "server" side
  open(): void {
    this.readyState = 1;
    this.onopen?.({ type: "open" });
  }
  receive(data: string | Uint8Array | ArrayBuffer): void {
    this.onmessage?.({ data });
  }
  fail(message = "boom", extra: Record<string, unknown> = {}): void {
    this.onerror?.({ type: "error", message, ...extra });
  }
  serverClose(code = 1006, wasClean = false, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }
  get lastSent(): string | Uint8Array | undefined {
    return this.sent[this.sent.length - 1];
  }
}

export function fakeWsFactory(): { factory: WebSocketFactory; sockets: FakeWebSocket[]; last(): FakeWebSocket } {
  const sockets: FakeWebSocket[] = [];
  return {
    sockets,
    factory: (url, headers) => {
      const s = new FakeWebSocket(url, headers);
      sockets.push(s);
      return s;
    },
    last() {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error("no socket created");
      return s;
    },
  };
}

export interface FakeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal | undefined;
  respond(status: number, body: string): void;
  fail(error?: Error): void;
  settled: boolean;
}

/** A fetch whose requests the test answers by hand. */
export function fakeFetch(): { fetch: typeof fetch; requests: FakeRequest[]; next(): Promise<FakeRequest> } {
  const requests: FakeRequest[] = [];
  let waiters: ((r: FakeRequest) => void)[] = [];
  let taken = 0;
  const f = ((url: string, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req: FakeRequest = {
        url: String(url),
        method: init.method ?? "GET",
        headers: { ...(init.headers as Record<string, string>) },
        body: init.body,
        signal: init.signal ?? undefined,
        settled: false,
        respond(status, body) {
          if (req.settled) return;
          req.settled = true;
          resolve(new Response(body, { status }));
        },
        fail(error = new TypeError("fetch failed")) {
          if (req.settled) return;
          req.settled = true;
          reject(error);
        },
      };
      init.signal?.addEventListener("abort", () => req.fail(new DOMException("aborted", "AbortError")));
      requests.push(req);
      const w = waiters;
      waiters = [];
      for (const fn of w) fn(req);
    })) as unknown as typeof fetch;
  return {
    fetch: f,
    requests,
    /** The next request not yet returned by next() (waits for it). */
    next() {
      if (taken < requests.length) return Promise.resolve(requests[taken++]!);
      return new Promise((resolve) => waiters.push((r) => (taken++, resolve(r))));
    },
  };
}

/** Let promise callbacks (fetch resolution chains) run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
