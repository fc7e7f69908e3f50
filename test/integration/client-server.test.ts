/**
 * Our client against our server over real loopback sockets: every packer on
 * both transports, a user with several devices, one-tab pushes, the forced
 * Ajax fallback (a proxy that refuses WS upgrades), and a server restart on
 * the same port.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientType } from "../../src/core/client/types.js";
import { isChskError } from "../../src/core/protocol/errors.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { createServer, packerByName, type ChskServer, type PackerName } from "../../src/server/index.js";

interface Harness {
  chsk: ChskServer;
  http: HttpServer;
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function start(packer: PackerName = "edn", opts: { port?: number; blockUpgrades?: boolean } = {}): Promise<Harness> {
  const chsk = createServer({
    packer: packerByName(packer),
    csrfToken: null,
    // Like a session cookie: Sente 1.21+ clients send their params on GETs only, not on POSTs.
    userId: (req) => req.cookies["uid"] ?? null,
    msAllowReconnectBeforeCloseWs: 200,
    msAllowReconnectBeforeCloseAjax: 200,
  });
  chsk.startRouter((msg) => {
    if (msg.id === "test/echo") msg.reply?.(msg.data);
    if (msg.id === "test/whoami") msg.reply?.({ uid: msg.uid, transport: msg.transport, clientId: msg.clientId });
  });
  const http = createHttpServer((req, res) => {
    if (!chsk.handleRequest(req, res)) res.writeHead(404).end();
  });
  http.on("upgrade", (req, socket, head) => {
    // A proxy that strips WebSocket support: the upgrade is refused with a plain response.
    if (opts.blockUpgrades) return void socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    if (!chsk.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    chsk,
    http,
    port,
    url: `http://127.0.0.1:${port}/chsk`,
    async stop() {
      await chsk.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const clients: Client[] = [];
function connect(h: Harness, uid: string | null, type: ClientType, packer: PackerName = "edn"): Client {
  const c = createClient({
    url: h.url,
    type,
    packer: packerByName(packer),
    headers: uid === null ? {} : { cookie: `uid=${uid}` },
    backoffMs: () => 50,
  });
  clients.push(c);
  return c;
}
async function closeAll() {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

function nextPush(c: Client, timeoutMs = 5000): Promise<ChskEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error("no push within timeout"))), timeoutMs);
    const off = c.on("recv", (ev) => {
      clearTimeout(timer);
      off();
      resolve(ev);
    });
  });
}

function noPush(c: Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = c.on("recv", (ev) => (off(), reject(new Error(`unexpected push ${String(ev[0])}`))));
    setTimeout(() => (off(), resolve()), ms);
  });
}

for (const packer of ["edn", "transit", "json"] as const) {
  for (const type of ["ws", "ajax"] as const) {
    describe(`${packer} over ${type}`, () => {
      test("handshake, request/reply, fire-and-forget, push batch", async () => {
        const h = await start(packer);
        try {
          const c = connect(h, "alice", type, packer);
          const hs = await c.whenOpen();
          assert.equal(hs?.uid, "alice");
          assert.equal(c.state.type, type);
          const data = { a: 1, nested: { list: [1, 2, "three"] }, s: "x \"quoted\"\n" };
          assert.deepEqual(await c.send(["test/echo", data], { timeoutMs: 5000 }), data);
          assert.equal(c.send(["test/echo", 1]), true);
          const who = (await c.send(["test/whoami"], 5000)) as Record<string, unknown>;
          assert.equal(who["uid"], "alice");
          assert.equal(who["transport"], type);
          const got: ChskEvent[] = [];
          const twoPushes = new Promise<void>((resolve) => {
            const off = c.on("recv", (ev) => {
              got.push(ev);
              if (got.length === 2) (off(), resolve());
            });
          });
          h.chsk.send("alice", ["test/push", { n: 1 }]);
          h.chsk.send("alice", ["test/push", { n: 2 }]);
          await twoPushes;
          assert.deepEqual(got, [
            ["test/push", { n: 1 }],
            ["test/push", { n: 2 }],
          ]);
        } finally {
          await closeAll();
          await h.stop();
        }
      });
    });
  }
}

test("a user's pushes reach all their devices on both transports, and no one else", async () => {
  const h = await start();
  try {
    const phone = connect(h, "alice", "ajax");
    const laptop = connect(h, "alice", "ws");
    const bob = connect(h, "bob", "ws");
    await Promise.all([phone.whenOpen(), laptop.whenOpen(), bob.whenOpen()]);
    // An Ajax client is registered with its first poll, just after the handshake.
    await waitFor(() => h.chsk.connectedUids.ajax.has("alice"));
    assert.deepEqual([...h.chsk.connectedUids.ws].sort(), ["alice", "bob"]);
    const pushes = Promise.all([nextPush(phone), nextPush(laptop), noPush(bob, 400)]);
    h.chsk.send("alice", ["test/hello", { to: "alice" }]);
    const [p1, p2] = await pushes;
    assert.deepEqual(p1, ["test/hello", { to: "alice" }]);
    assert.deepEqual(p2, ["test/hello", { to: "alice" }]);

    const onlyLaptop = Promise.all([nextPush(laptop), noPush(phone, 400)]);
    h.chsk.sendToClient(laptop.clientId, ["test/tab", 1], { flush: true });
    assert.deepEqual((await onlyLaptop)[0], ["test/tab", 1]);
  } finally {
    await closeAll();
    await h.stop();
  }
});

test("auto mode falls back to Ajax when a proxy refuses WebSocket upgrades", async () => {
  const h = await start("edn", { blockUpgrades: true });
  try {
    const c = connect(h, "carol", "auto");
    await c.whenOpen();
    assert.equal(c.state.type, "ajax");
    assert.equal((await c.send(["test/whoami"], 5000) as Record<string, unknown>)["transport"], "ajax");
    await waitFor(() => h.chsk.connectedUids.ajax.has("carol"));
    const push = nextPush(c);
    h.chsk.send("carol", ["test/after-fallback", true]);
    assert.deepEqual(await push, ["test/after-fallback", true]);
  } finally {
    await closeAll();
    await h.stop();
  }
});

test("a request to a closed client fails fast with CHSK_ERR_CLOSED; an unanswered one with CHSK_ERR_TIMEOUT", async () => {
  const h = await start();
  try {
    const c = connect(h, "dave", "ws");
    await c.whenOpen();
    await assert.rejects(c.send(["test/nobody-answers"], 200), (e) => isChskError(e, "CHSK_ERR_TIMEOUT"));
    c.disconnect();
    await assert.rejects(c.send(["test/echo", 1], 1000), (e) => isChskError(e, "CHSK_ERR_CLOSED"));
  } finally {
    await closeAll();
    await h.stop();
  }
});

for (const type of ["ws", "ajax"] as const) {
  test(`${type} clients reconnect by themselves after a server restart on the same port`, async () => {
    let h = await start();
    const port = h.port;
    try {
      const c = connect(h, "erin", type);
      await c.whenOpen();
      await h.stop();
      await waitFor(() => !c.state.open);
      assert.ok(c.state.lastClose, "the close is recorded");
      h = await start("edn", { port });
      const hs = await c.whenOpen();
      assert.equal(hs?.firstHandshake, false);
      assert.equal(await c.send(["test/echo", "again"], 5000), "again");
    } finally {
      await closeAll();
      await h.stop();
    }
  });
}

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error("condition not met within timeout");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a client whose packer is not the server's", () => {
  // Before the handshake, a frame in another packer's format is named, so a
  // library user sees why the client never opens (not only `chsk call`).
  const pairs: [PackerName, PackerName][] = [
    ["edn", "transit"],
    ["transit", "edn"],
    ["msgpack", "gzip+msgpack"],
    ["gzip+edn", "msgpack"],
  ];
  for (const type of ["ws", "ajax"] as const) {
    for (const [server, client] of pairs) {
      test(`${type}: a ${client} client against a ${server} server reports CHSK_ERR_PACKER_MISMATCH`, async () => {
        const h = await start(server);
        const c = createClient({ url: h.url, type, packer: packerByName(client) });
        try {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const error = await new Promise<{ code: string; detail?: Record<string, unknown> }>((resolve, reject) => {
            // Bounded, so a failure still reaches `finally` and stops the server.
            timer = setTimeout(() => reject(new Error(`no CHSK_ERR_PACKER_MISMATCH; last error: ${c.state.lastError?.code}`)), 8_000);
            const stop = c.tap((ev) => {
              if (ev.type === "error" && ev.error.code === "CHSK_ERR_PACKER_MISMATCH") {
                stop();
                resolve(ev.error);
              }
            });
          });
          clearTimeout(timer);
          assert.equal(error.detail?.["found"], server);
          assert.equal(c.state.open, false);
          assert.equal(c.state.lastError?.code, "CHSK_ERR_PACKER_MISMATCH");
        } finally {
          await c.close();
          await h.stop();
        }
      });
    }
  }
});
