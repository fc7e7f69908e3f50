/**
 * One dashboard's feed as Server-Sent Events: gzip when the browser takes
 * it (flushed per message), a ping every 15 s, and ticks skipped rather
 * than queued while the connection can't keep up.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as zlibConstants, createGzip } from "node:zlib";
import type { Unsubscribe } from "../../core/clock.js";
import type { DashboardFeed, FeedSink } from "./feed.js";
import type { DashboardAccessLevel } from "./feed-types.js";

const PING_MS = 15_000;

/** Streams `feed` to `res` until either side closes; `onDone` runs once then. */
export function streamFeed(req: IncomingMessage, res: ServerResponse, feed: DashboardFeed, access: DashboardAccessLevel, filter: string, onDone: () => void): void {
  req.socket.setNoDelay(true);
  // The feed is repetitive JSON: gzip shrinks it several times over.
  const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) ? createGzip({ level: 6 }) : null;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    "x-content-type-options": "nosniff",
    ...(gzip ? { "content-encoding": "gzip", vary: "accept-encoding" } : {}),
  });
  if (gzip) gzip.pipe(res);
  const out = gzip ?? res;
  const write = (text: string) => {
    out.write(text);
    gzip?.flush(zlibConstants.Z_SYNC_FLUSH);
  };
  write("retry: 2000\n\n");
  const sink: FeedSink = {
    filter: filter.slice(0, 256),
    access,
    send(type, data) {
      // A dashboard that can't keep up misses ticks rather than piling up memory.
      if ((res.writableNeedDrain || out.writableNeedDrain) && type !== "hello") return;
      write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    },
  };
  let unsubscribe: Unsubscribe | undefined = feed.subscribe(sink);
  const ping = setInterval(() => write(": ping\n\n"), PING_MS);
  ping.unref();
  const done = () => {
    if (unsubscribe === undefined) return;
    unsubscribe();
    unsubscribe = undefined;
    clearInterval(ping);
    gzip?.destroy();
    onDone();
  };
  req.on("close", done);
  res.on("close", done);
}
