/**
 * The dashboard feed costs nothing while no dashboard is open: it has no
 * tap listener on the server until a dashboard's feed (SSE) connects, and
 * lets go of it once the last one leaves (after `lingerMs`). Over real
 * HTTP and WebSockets: an app embedding `mountDashboard`, and the reference
 * app with its web UI, whose `/api/stats` counts every frame either way and
 * whose dashboard shows the app's error totals, counted while nobody watched.
 *
 * The feed's tap listeners are counted by wrapping the real server's
 * `tap()` before the dashboard is mounted (the app's own taps, installed
 * earlier, are not counted).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import { startReferenceServer } from "../../src/server/demo/app.js";
import { webUi } from "../../src/server/demo/web/index.js";
import type { HelloMessage, TickMessage } from "../../src/server/dashboard/feed-types.js";
import { type ChskServer, createServer, mountDashboard } from "../../src/server/index.js";
import { readFeed } from "./dashboard-apps.js";
import { openPeer, until, withTimeout } from "./server-helpers.js";

/** Counts the tap listeners added through `chsk.tap` from now on and not yet removed. */
function countTaps(chsk: ChskServer): { readonly live: number } {
  const counter = { live: 0 };
  const tap = chsk.tap.bind(chsk);
  chsk.tap = (listener) => {
    const untap = tap(listener);
    counter.live++;
    let on = true;
    return () => {
      if (on) counter.live--;
      on = false;
      untap();
    };
  };
  return counter;
}

describe("dashboard feed: tapping only while watched", () => {
  it("mountDashboard: no tap until a feed connects, one while it streams, none lingerMs after it left", async () => {
    const chsk = createServer({ csrfToken: null });
    chsk.startRouter((msg) => {
      if (msg.id === "app/echo") msg.reply?.(msg.data);
    });
    const taps = countTaps(chsk);
    const dashboard = mountDashboard(chsk, { auth: () => "read", feed: { lingerMs: 100 } });
    const http = createHttpServer((req, res) => {
      if (!dashboard.handleRequest(req, res)) res.writeHead(404).end();
    });
    chsk.attach(http);
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = createClient({ url: `${url}/chsk`, type: "ws" });
    try {
      await withTimeout(client.whenOpen(), 5000, "the client to connect");
      for (let i = 0; i < 5; i++) assert.equal(await client.send(["app/echo", i], 3000), i);
      assert.equal(taps.live, 0, "traffic and no dashboard: the feed has no tap listener");
      assert.equal((await fetch(`${url}/dashboard/api/users`)).status, 200, "the users API needs no tap either");
      assert.equal(taps.live, 0);

      let sent = 0;
      const pump = setInterval(() => void client.send(["app/echo", sent++], 3000).catch(() => {}), 20);
      let events: { type: string; data: unknown }[];
      try {
        events = await readFeed(
          `${url}/dashboard/events`,
          (evs) => {
            if (evs.some((e) => e.type === "hello")) assert.equal(taps.live, 1, "a dashboard's feed taps the server");
            return evs.some((e) => e.type === "tick" && (e.data as TickMessage).rate.in > 0);
          },
          { timeoutMs: 8000 },
        );
      } finally {
        clearInterval(pump);
      }
      assert.ok(events.some((e) => e.type === "tick" && (e.data as TickMessage).rate.in > 0), "the tick reports the traffic it saw");
      await until(() => taps.live === 0, 3000, "the feed to let go of its tap once the dashboard left");
    } finally {
      await client.close();
      await chsk.close();
      http.closeAllConnections();
      http.close();
    }
  });

  it("chsk serve's app: /api/stats counts everything while unwatched; the dashboard shows the app's error totals", async () => {
    let taps: { readonly live: number } | undefined;
    const app = await startReferenceServer({
      port: 0,
      csrf: false,
      web: (ctx) => {
        taps = countTaps(ctx.chsk);
        return webUi({ feed: { lingerMs: 100 } })(ctx);
      },
    });
    try {
      assert.equal(taps?.live, 0, "started: no dashboard, no feed tap");
      const { peer } = await openPeer(app.port, "client-id=lazy-1");
      const n = 20;
      for (let i = 0; i < n; i++) {
        peer.send(`[[:demo/echo ${i}] "cb${i}"]`);
        assert.equal(await peer.next(), `[${i} "cb${i}"]`);
      }
      peer.send("[[:demo/echo"); // undecodable: an error, and the server closes the connection
      await withTimeout(peer.closed, 3000, "the bad frame to close the connection");
      assert.equal(taps?.live, 0, "traffic while unwatched: still no feed tap");
      const stats = (await (await fetch(`${app.url}/api/stats`)).json()) as {
        frames: { in: number; out: number };
        events: { replies: number };
        errors: number;
      };
      assert.deepEqual(stats.frames, { in: n + 1, out: n + 1 }, "every frame counted: the handshake, the replies, the bad one");
      assert.equal(stats.events.replies, n);
      assert.equal(stats.errors, 1);

      const events = await readFeed(`${app.url}/dashboard/events`, (evs) => evs.some((e) => e.type === "hello"), { timeoutMs: 5000 });
      const hello = events.find((e) => e.type === "hello")?.data as HelloMessage;
      assert.deepEqual(hello.totals, { errors: 1, slowConsumers: 0 }, "the error before any dashboard opened is in its totals");
      await until(() => taps?.live === 0, 3000, "the feed to let go of its tap");
    } finally {
      await app.close();
    }
  });
});
