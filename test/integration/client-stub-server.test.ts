/**
 * The Node client against a tiny Sente stub server written here, with
 * node:http + ws (noServer) on 127.0.0.1:0, speaking the frames of
 * protocol.md §3 through the codec's encoders. Real sockets only.
 */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { type WebSocket, WebSocketServer } from "ws";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientOptions, ClientState } from "../../src/core/client/types.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { jsonPacker, transitPacker } from "../../src/core/packers/index.js";
import type { Packer } from "../../src/core/packers/types.js";
import {
  type ClientMessage,
  decodeClientMessage,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePong,
  encodePush,
  encodeReply,
  encodeServerPing,
} from "../../src/core/protocol/codec.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";

const ednP = ednPacker();

interface StubOptions {
  uid?: string | null;
  /** Answer WS upgrades with this HTTP status instead of 101. */
  rejectUpgrade?: number;
  /** Answer every Ajax request with this HTTP status. */
  rejectAjax?: number;
  rejectBody?: string;
  /** @default ednPacker() */
  packer?: Packer;
}

interface Stub {
  url: string;
  events: EventEmitter;
  /** Raw frames received over WS, in order. */
  wsFrames: string[];
  sockets: Set<WebSocket>;
  upgrades: http.IncomingMessage[];
  gets: http.IncomingMessage[];
  /** Held Ajax polls. */
  polls: http.ServerResponse[];
  opts: StubOptions;
  pushWs(events: ChskEvent[]): void;
  close(): Promise<void>;
}

/** Resolve with the value the first time `pred` is true for an emitted event. */
function waitEvent<T>(em: EventEmitter, name: string, pred: (x: T) => boolean = () => true, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      em.off(name, on);
      reject(new Error(`timed out waiting for stub event ${name}`));
    }, ms);
    const on = (x: T) => {
      if (!pred(x)) return;
      clearTimeout(timer);
      em.off(name, on);
      resolve(x);
    };
    em.on(name, on);
  });
}

function waitState(client: Client, pred: (s: Readonly<ClientState>) => boolean, ms = 5000): Promise<Readonly<ClientState>> {
  if (pred(client.state)) return Promise.resolve(client.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for client state; last: ${JSON.stringify(client.state)}`));
    }, ms);
    const off = client.on("state", (c) => {
      if (!pred(c.new)) return;
      clearTimeout(timer);
      off();
      resolve(c.new);
    });
  });
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Server side of one client message: reply / record. */
function handle(m: ClientMessage, reply: (v: unknown) => void): void {
  const [id, data] = m.event;
  if (id === "chsk/ws-ping") {
    if (m.cbId !== null) reply("pong");
    return;
  }
  if (id === "my/echo" && m.wantsReply) reply({ echo: data ?? null });
}

async function startStub(opts: StubOptions = {}): Promise<Stub> {
  const packer = opts.packer ?? ednP;
  const events = new EventEmitter();
  const wss = new WebSocketServer({ noServer: true });
  const stub: Omit<Stub, "url"> & { url: string } = {
    url: "",
    events,
    wsFrames: [],
    sockets: new Set(),
    upgrades: [],
    gets: [],
    polls: [],
    opts,
    pushWs(evs) {
      for (const s of stub.sockets) s.send(encodePush(packer, evs));
    },
    async close() {
      for (const s of stub.sockets) s.terminate();
      for (const p of stub.polls) p.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url!, "http://x");
    if (req.method === "GET") {
      stub.gets.push(req);
      events.emit("get", req);
    }
    if (opts.rejectAjax) {
      res.writeHead(opts.rejectAjax, { "Content-Type": "text/plain" }).end(opts.rejectBody ?? "Bad CSRF token");
      return;
    }
    if (req.method === "GET") {
      if (!u.searchParams.get("client-id")) {
        res.writeHead(500).end("Client's Ring request doesn't have a client id");
        return;
      }
      if (u.searchParams.has("handshake?")) {
        res.writeHead(200).end(encodeHandshake(packer, opts.uid ?? null));
        return;
      }
      stub.polls.push(res);
      res.on("close", () => stub.polls.splice(stub.polls.indexOf(res) >>> 0, 1));
      events.emit("poll", res);
      return;
    }
    if (req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      events.emit("post", { req, form });
      const r = decodeClientMessage(packer, form.get("ppstr") ?? "");
      if (!r.ok) {
        res.writeHead(500).end(r.error.message);
        return;
      }
      const m = r.value;
      if (!m.wantsReply) {
        res.writeHead(200).end(encodeDummyCb200(packer));
        handle(m, () => {});
        return;
      }
      if (m.event[0] === "my/never") {
        setTimeout(() => res.writeHead(200).end(encodeLpTimeout(packer)), 50);
        return;
      }
      handle(m, (v) => res.writeHead(200).end(encodeReply(packer, v, null)));
      return;
    }
    res.writeHead(405).end();
  });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {}); // a refused client may reset the connection
    stub.upgrades.push(req);
    events.emit("upgrade", req);
    if (opts.rejectUpgrade) {
      const body = opts.rejectBody ?? "Bad CSRF token";
      socket.end(
        `HTTP/1.1 ${opts.rejectUpgrade} Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      stub.sockets.add(ws);
      ws.on("close", () => stub.sockets.delete(ws));
      ws.send(encodeHandshake(packer, opts.uid ?? null));
      ws.on("message", (data) => {
        const text = String(data);
        stub.wsFrames.push(text);
        events.emit("ws-frame", text);
        const r = decodeClientMessage(packer, text);
        if (!r.ok) return;
        const m = r.value;
        handle(m, (v) => ws.send(encodeReply(packer, v, m.cbId)));
      });
      events.emit("ws-open", ws);
    });
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chsk`;
  return stub;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(stubOpts: StubOptions, clientOpts: Partial<ClientOptions>) {
  const stub = await startStub(stubOpts);
  const client = createClient({ url: stub.url, csrfToken: "tok", backoffMs: () => 100, ...clientOpts });
  const cleanup = async () => {
    await client.close();
    await stub.close();
  };
  cleanups.push(cleanup);
  return { stub, client, cleanup };
}

const T = { timeout: 15_000 };

describe("client ↔ stub Sente server (real sockets)", () => {
  it("WS: handshake opens with the uid; the upgrade carries client-id, csrf-token and Cookie", T, async () => {
    const { stub, client, cleanup } = await setup({ uid: "alice" }, { type: "ws", clientId: "cid-1", params: { room: "r 1" }, headers: { Cookie: "s=1" } });
    const info = await client.whenOpen();
    assert.deepEqual(info, { uid: "alice", handshakeData: null, firstHandshake: true });
    assert.equal(client.state.type, "ws");
    const up = stub.upgrades[0]!;
    assert.equal(up.url, "/chsk?room=r%201&client-id=cid-1&csrf-token=tok");
    assert.equal(up.headers.cookie, "s=1");
    await cleanup();
  });

  it("WS: request/reply, push batch, server ping answered with pong", T, async () => {
    const { stub, client, cleanup } = await setup({ uid: "alice" }, { type: "ws" });
    await client.whenOpen();
    assert.deepEqual(await client.send(["my/echo", { a: 1 }], 3000), { echo: { a: 1 } });
    assert.match(stub.wsFrames.at(-1)!, /^\[\[:my\/echo \{:a 1\}\] "[0-9a-f]{6}"\]$/);

    const got: ChskEvent[] = [];
    const two = new Promise<void>((resolve) =>
      client.on("recv", (ev) => {
        got.push(ev);
        if (got.length === 2) resolve();
      }),
    );
    stub.pushWs([
      ["my/push", { n: 1 }],
      ["my/push", { n: 2 }],
    ]);
    await two;
    assert.deepEqual(got, [
      ["my/push", { n: 1 }],
      ["my/push", { n: 2 }],
    ]);

    const pong = waitEvent<string>(stub.events, "ws-frame", (f) => f === "[[:chsk/ws-pong] nil]");
    const pingEvent = new Promise<void>((r) => client.on("ping", () => r()));
    for (const s of stub.sockets) s.send(encodeServerPing(ednP));
    await Promise.all([pong, pingEvent]);
    await cleanup();
  });

  it("WS: client keep-alive ping gets the server's pong and the connection stays up", T, async () => {
    const { stub, client, cleanup } = await setup({}, { type: "ws", wsKaliveMs: 150, wsPingTimeoutMs: 1000 });
    await client.whenOpen();
    const ping = await waitEvent<string>(stub.events, "ws-frame", (f) => f.startsWith("[[:chsk/ws-ping] "));
    assert.match(ping, /^\[\[:chsk\/ws-ping\] "[0-9a-f]{6}"\]$/);
    // Wait for a second ping: the first one was answered, so no reconnect happened.
    await waitEvent<string>(stub.events, "ws-frame", (f) => f.startsWith("[[:chsk/ws-ping] "));
    assert.equal(stub.upgrades.length, 1);
    assert.equal(client.state.open, true);
    await cleanup();
  });

  it("WS: reconnects after the server drops the socket", T, async () => {
    const { stub, client, cleanup } = await setup({ uid: "alice" }, { type: "ws" });
    await client.whenOpen();
    const reopened = waitEvent(stub.events, "ws-open");
    const closed = waitState(client, (s) => !s.open);
    for (const s of stub.sockets) s.terminate();
    const st = await closed;
    assert.equal(st.lastClose?.reason, "unexpected");
    await reopened;
    await waitState(client, (s) => s.open);
    assert.equal(stub.upgrades.length, 2);
    assert.deepEqual(await client.send(["my/echo", 2], 3000), { echo: 2 });
    await cleanup();
  });

  it("WS refused (403) with type ws: lastError has the status and body; retries continue", T, async () => {
    const { stub, client, cleanup } = await setup({ rejectUpgrade: 403 }, { type: "ws" });
    const st = await waitState(client, (s) => s.lastError?.status === 403);
    assert.equal(st.lastError?.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(st.lastError?.message, "HTTP 403 Bad CSRF token");
    await waitEvent(stub.events, "upgrade", () => stub.upgrades.length >= 2);
    await cleanup();
  });

  it("Ajax: handshake, poll, POST reply, dummy-cb-200, POST timeout, poll timeout, push", T, async () => {
    const { stub, client, cleanup } = await setup({ uid: "bob" }, { type: "ajax", clientId: "cid-2", params: { room: "x" } });
    const firstPoll = waitEvent<http.ServerResponse>(stub.events, "poll");
    await client.whenOpen();
    assert.equal(client.state.type, "ajax");
    assert.equal(client.state.uid, "bob");
    const hs = stub.gets[0]!;
    assert.match(hs.url!, /^\/chsk\?room=x&udt=\d+&client-id=cid-2&handshake%3F=1$/);
    assert.equal(hs.headers["x-csrf-token"], "tok");
    assert.equal(hs.headers["x-requested-with"], "XMLHTTPRequest");
    const poll = await firstPoll;
    assert.match(stub.gets[1]!.url!, /^\/chsk\?room=x&udt=\d+&client-id=cid-2$/);

    const post = waitEvent<{ req: http.IncomingMessage; form: URLSearchParams }>(stub.events, "post");
    assert.deepEqual(await client.send(["my/echo", { a: 1 }], 3000), { echo: { a: 1 } });
    const { req, form } = await post;
    assert.equal(req.headers["content-type"], "application/x-www-form-urlencoded;charset=UTF-8");
    assert.equal(form.get("client-id"), "cid-2");
    assert.equal(form.get("ppstr"), "[[:my/echo {:a 1}] :ajax]");
    assert.ok(form.get("udt"));

    const errors: unknown[] = [];
    client.tap((e) => void (e.type === "error" && errors.push(e.error)));
    const fire = waitEvent<{ form: URLSearchParams }>(stub.events, "post");
    assert.equal(client.send(["my/ev", 1]), true);
    assert.equal((await fire).form.get("ppstr"), "[[:my/ev 1] nil]");

    await assert.rejects(client.send(["my/never"], 3000), (e: { code?: string }) => e.code === "CHSK_ERR_TIMEOUT");

    // Server poll timeout → the client re-polls.
    const secondPoll = waitEvent<http.ServerResponse>(stub.events, "poll");
    poll.writeHead(200).end(encodeLpTimeout(ednP));
    const poll2 = await secondPoll;

    const got = new Promise<ChskEvent>((r) => client.on("recv", r));
    const thirdPoll = waitEvent<http.ServerResponse>(stub.events, "poll");
    poll2.writeHead(200).end(encodePush(ednP, [["my/push", { n: 1 }]]));
    assert.deepEqual(await got, ["my/push", { n: 1 }]);
    await thirdPoll;
    assert.equal(client.state.open, true);
    assert.deepEqual(errors, []);
    await cleanup();
  });

  it("auto: a refused WS upgrade downgrades to Ajax and opens there", T, async () => {
    const { stub, client, cleanup } = await setup({ uid: "carol", rejectUpgrade: 403 }, { type: "auto" });
    const info = await client.whenOpen();
    assert.equal(info?.uid, "carol");
    assert.equal(client.state.type, "ajax");
    assert.ok(client.state.lastWsError);
    assert.equal(stub.upgrades.length, 1);
    assert.deepEqual(await client.send(["my/echo", "x"], 3000), { echo: "x" });
    await cleanup();
  });

  it("Ajax refused (403): lastError.status 403, tap error CHSK_ERR_HTTP_STATUS, retried with backoff", T, async () => {
    const { stub, client, cleanup } = await setup({ rejectAjax: 403 }, { type: "ajax" });
    const tapErr = new Promise<{ code: string; message: string }>((r) => client.tap((e) => e.type === "error" && r(e.error)));
    const st = await waitState(client, (s) => s.lastError?.status === 403);
    assert.equal(st.lastError?.message, "HTTP 403 Bad CSRF token");
    const e = await tapErr;
    assert.equal(e.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(client.state.open, false);
    // Retry 1 immediate, retry 2 after backoffMs (100 ms here).
    await waitState(client, (s) => s.udtNextReconnect !== undefined);
    if (stub.gets.length < 3) await waitEvent(stub.events, "get", () => stub.gets.length >= 3);
    await cleanup();
  });

  for (const [name, make] of [
    ["transit", () => transitPacker()],
    ["json", () => jsonPacker()],
  ] as const) {
    it(`${name} packer: WS and Ajax handshake + request/reply + push`, T, async () => {
      for (const type of ["ws", "ajax"] as const) {
        const { stub, client, cleanup } = await setup({ uid: "dave", packer: make() }, { type, packer: make() });
        const info = await client.whenOpen();
        assert.equal(info?.uid, "dave");
        assert.deepEqual(await client.send(["my/echo", { a: [1, "x"] }], 3000), { echo: { a: [1, "x"] } });
        if (type === "ws") {
          const got = new Promise<ChskEvent>((r) => client.on("recv", r));
          stub.pushWs([["my/push", { n: 1 }]]);
          assert.deepEqual(await got, ["my/push", { n: 1 }]);
        }
        await cleanup();
      }
    });
  }

  it("disconnect() closes the socket cleanly and stops; close() leaves nothing running", T, async () => {
    const { stub, client, cleanup } = await setup({}, { type: "ws" });
    await client.whenOpen();
    const [ws] = [...stub.sockets];
    const closed = once(ws!, "close");
    client.disconnect();
    const [code, reason] = (await closed) as [number, Buffer];
    assert.equal(code, 1000);
    assert.equal(String(reason), "CLOSE_NORMAL");
    assert.equal(client.state.lastClose?.reason, "requested-disconnect");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(stub.upgrades.length, 1, "no retry after disconnect");
    await cleanup();
  });
});
