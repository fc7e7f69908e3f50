/**
 * `npm run bench:peers` drives raw ws and socket.io through the bench
 * engine with the adapters in `bench/clients/`. Against the real server
 * programs of `bench/servers/` (spawned, port 0), each adapter completes
 * echo round trips whose counts add up and whose frames are tapped, and
 * connects for the connect scenario; an echo that does not match is
 * counted as an error, not a reply; the real `chsk serve` the peers run
 * starts is reached and answers the bench's `gc` IPC.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { WebSocketServer } from "ws";
import { runBench } from "../../src/bench/engine.js";
import { BENCH_DEFAULTS, type BenchOptions } from "../../src/bench/options.js";
import type { ServerHandle } from "../../bench/lib/proc.js";
import { type BenchTarget, rawHttpSockets, startServer, TARGETS } from "../../bench/lib/targets.js";

const started: ServerHandle[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function server(t: BenchTarget): Promise<ServerHandle> {
  const s = await startServer(t.server);
  started.push(s);
  return s;
}

const echo = (t: BenchTarget, url: string, extra: Partial<BenchOptions> = {}): BenchOptions => ({
  ...BENCH_DEFAULTS,
  url,
  transport: t.transport,
  ...(t.clientModule !== undefined ? { clientModule: t.clientModule } : {}),
  auth: t.key === "raw-http" ? rawHttpSockets(2) : {},
  scenario: "echo",
  users: 3,
  devices: 1,
  inFlight: 2,
  warmupMs: 0,
  durationMs: 600,
  timeoutMs: 5_000,
  ...extra,
});

describe("bench peer adapters against the bench's server programs", { timeout: 120_000 }, () => {
  for (const t of [TARGETS.raw, TARGETS.sio, TARGETS.sioPolling, TARGETS.rawHttp]) {
    test(`${t.label}: echo round trips through the engine, counted and tapped`, async () => {
      const s = await server(t);
      const r = (await runBench(echo(t, t.url(s.origin)))).runs[0]!;
      assert.ok(r.received > 0, `no replies: ${JSON.stringify(r.errorCodes)}`);
      assert.equal(r.errors, 0, JSON.stringify(r.errorCodes));
      assert.equal(r.timeouts, 0);
      assert.equal(r.sent, r.received + r.errors + r.timeouts + r.inFlightAtStop);
      assert.ok(r.wire.bytesSent > 0 && r.wire.bytesReceived > 0, "frames are tapped");
      assert.ok((r.byTransport[t.transport]?.received ?? 0) > 0, "counted under the adapter's transport");
    });
  }

  for (const t of [TARGETS.raw, TARGETS.sio]) {
    test(`${t.label}: every device connects in the connect scenario, and whileConnected runs while they are up`, async () => {
      const s = await server(t);
      let during = -1;
      const r = (
        await runBench(echo(t, t.url(s.origin), { scenario: "connect", users: 20, inFlight: undefined, rampMs: 0 }), {
          whileConnected: async () => {
            during = (await s.stats()).memory.rss;
          },
        })
      ).runs[0]!;
      assert.equal(r.connect?.connected, 20);
      assert.equal(r.connect?.handshakeMs.count, 20);
      assert.ok(during > 0, "whileConnected ran and the server answered the stats IPC");
    });
  }

  test("a raw ws echo that does not carry the request's data is an error, not a reply", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    wss.on("connection", (ws) => ws.on("message", (d) => ws.send(JSON.stringify({ id: (JSON.parse(String(d)) as { id: number }).id, data: "not it" }))));
    try {
      const { port } = wss.address() as { port: number };
      const r = (await runBench(echo(TARGETS.raw, `http://127.0.0.1:${port}/`))).runs[0]!;
      assert.equal(r.received, 0);
      assert.ok(r.errors > 0);
      assert.equal(r.sent, r.received + r.errors + r.timeouts + r.inFlightAtStop);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  test("the real chsk serve is spawned, echoes through the real chsk client, and answers gc over IPC", async () => {
    const s = await server(TARGETS.serve);
    const r = (await runBench(echo(TARGETS.serve, TARGETS.serve.url(s.origin)))).runs[0]!;
    assert.ok(r.received > 0, JSON.stringify(r.errorCodes));
    assert.equal(r.errors + r.timeouts, 0, JSON.stringify(r.errorCodes));
    const gc = await s.gc();
    assert.ok(gc.memory.rss > 0);
  });
});
