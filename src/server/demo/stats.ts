/**
 * Counters behind `GET /api/stats`, fed by the chsk server's `tap()` and
 * `on("event")` plus the app's own pushes.
 */
import type { Unsubscribe } from "../../core/clock.js";
import type { ChskServer, Uid } from "../types.js";

export interface StatsSnapshot {
  /** ms since the server started. */
  uptimeMs: number;
  startedAt: string;
  packer: string;
  csrf: boolean;
  /** Users by transport; the anonymous group shows as `null`. */
  connectedUids: { ws: Uid[]; ajax: Uid[]; any: Uid[] };
  /** Client connections (tabs) the server tracks, by transport. */
  connections: { ws: number; ajax: number; total: number };
  sessions: number;
  events: {
    /** Every event-msg the server routed, reserved ones (`chsk/ws-ping`, `chsk/uidport-open`, …) included. */
    in: number;
    /** Events pushed through the app (`demo/push`, `demo/broadcast`, web pages). */
    out: number;
    /** Replies sent to `send` calls that asked for one. */
    replies: number;
  };
  frames: { in: number; out: number };
  bytes: { in: number; out: number };
  errors: number;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
}

const byteLength = (d: string | Uint8Array): number => (typeof d === "string" ? Buffer.byteLength(d) : d.byteLength);

export class StatsCollector {
  readonly startedAt: number;
  #chsk: ChskServer;
  #now: () => number;
  #info: { packer: string; csrf: boolean; sessions: () => number };
  #unsubs: Unsubscribe[];
  events = { in: 0, out: 0, replies: 0 };
  frames = { in: 0, out: 0 };
  bytes = { in: 0, out: 0 };
  errors = 0;

  constructor(chsk: ChskServer, info: { packer: string; csrf: boolean; sessions: () => number }, now: () => number = Date.now) {
    this.#chsk = chsk;
    this.#now = now;
    this.#info = info;
    this.startedAt = now();
    this.#unsubs = [
      chsk.on("event", () => void this.events.in++),
      chsk.tap((ev) => {
        switch (ev.type) {
          case "frame:in":
            this.frames.in++;
            this.bytes.in += byteLength(ev.data);
            break;
          case "frame:out":
            this.frames.out++;
            this.bytes.out += byteLength(ev.data);
            break;
          case "reply":
            this.events.replies++;
            break;
          case "error":
            this.errors++;
            break;
        }
      }),
    ];
  }

  /** Count `n` events pushed by the app. */
  countOut(n = 1): void {
    this.events.out += n;
  }

  snapshot(): StatsSnapshot {
    const uids = this.#chsk.connectedUids;
    const connections = { ws: 0, ajax: 0, total: 0 };
    for (const c of this.#chsk.clients()) {
      connections[c.transport]++;
      connections.total++;
    }
    const m = process.memoryUsage();
    return {
      uptimeMs: this.#now() - this.startedAt,
      startedAt: new Date(this.startedAt).toISOString(),
      packer: this.#info.packer,
      csrf: this.#info.csrf,
      connectedUids: { ws: [...uids.ws], ajax: [...uids.ajax], any: [...uids.any] },
      connections,
      sessions: this.#info.sessions(),
      events: { ...this.events },
      frames: { ...this.frames },
      bytes: { ...this.bytes },
      errors: this.errors,
      memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external },
    };
  }

  close(): void {
    for (const u of this.#unsubs.splice(0)) u();
  }
}
