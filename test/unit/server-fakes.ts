/** Test doubles for the server's pure parts: a manual clock and a fake Node request. */
import type { IncomingMessage } from "node:http";
import type { Cancel, Clock } from "../../src/core/clock.js";

export class TestClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; fn: () => void; live: boolean; seq: number }[] = [];
  #seq = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Cancel {
    const timer = { at: this.t + Math.max(0, ms), fn, live: true, seq: ++this.#seq };
    this.#timers.push(timer);
    return () => void (timer.live = false);
  }
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.t = due.at;
      due.live = false;
      due.fn();
    }
    this.#timers = this.#timers.filter((t) => t.live);
    this.t = target;
  }
}

export function fakeRequest(url: string, headers: Record<string, string> = {}, method = "GET"): IncomingMessage {
  return { url, method, headers, socket: { remoteAddress: "127.0.0.1" } } as unknown as IncomingMessage;
}
