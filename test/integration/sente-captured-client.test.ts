/**
 * Client conformance against a real Sente 1.22 server's bytes: a real chsk
 * client (the Node entry) talks to a stub server that answers only with
 * the captured payloads of `fixtures/sente-1.22/exchanges.json`, verbatim
 * (the WS reply with the client's own cb id spliced in for the captured
 * one, since cb ids are random). The stub answers a client message only if
 * it is byte for byte the captured client message, so the client's
 * encoding is checked on the way.
 *
 * Per packer: the WS handshake opens the client with the captured uid, a
 * reply resolves to the captured value, the 3-event push batch arrives in
 * order, a server ping is answered with exactly `[[:chsk/ws-pong] nil]`;
 * over Ajax a poll timeout re-polls, a push batch body is delivered, POST
 * replies resolve, a dummy-cb-200 completes a no-reply send and a
 * never-answered POST fails with CHSK_ERR_TIMEOUT. A 403 `Bad CSRF token`
 * surfaces as CHSK_ERR_HTTP_STATUS with status 403.
 */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { isDeepStrictEqual } from "node:util";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { type WebSocket, WebSocketServer } from "ws";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientOptions, ClientState } from "../../src/core/client/types.js";
import { type PackerName, packerByName } from "../../src/core/packers/index.js";
import type { Packer } from "../../src/core/packers/types.js";
import { decodeClientMessage, decodeServerMessage } from "../../src/core/protocol/codec.js";
import type { ChskError } from "../../src/core/protocol/errors.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { bytesOf, type Exchange, exchange, type HttpResponse, type Step } from "../unit/sente-captured-fixture.js";
import { withTimeout } from "./server-helpers.js";

/** The captured exchanges each packer's scenario replays (sections 1-6, 9, 11-14). */
interface Scenario {
  packer: string;
  uidWs: string;
  uidAjax: string;
  handshake: string;
  wsReply: string;
  push?: string;
  ping?: string;
  ajaxHandshake: string;
  pollTimeout?: string;
  posts: { reply: string; noCb?: string; whoami?: string; never?: string };
  /**
   * How the stub recognises the captured POST: by its bytes, or (transit)
   * by its value: the capture tool wrote the bare JSON number
   * 9007199254740993, where every transit writer (transit-clj, transit-js,
   * chsk) writes an integer beyond 2^53 as "~i9007199254740993".
   * @default "bytes"
   */
  postMatch?: "bytes" | "value";
}

const SCENARIOS: Scenario[] = [
  {
    packer: "edn",
    uidWs: "alice",
    uidAjax: "bob",
    handshake: "1/ws-handshake",
    wsReply: "2/ws-reply",
    push: "3/push-batch",
    ping: "9/server-ping",
    ajaxHandshake: "4/ajax-handshake",
    pollTimeout: "5/ajax-poll-timeout",
    posts: { reply: "6/post-reply", noCb: "6/post-no-cb", whoami: "6/post-whoami", never: "6/post-never-answered" },
  },
  {
    packer: "transit",
    uidWs: "erin",
    uidAjax: "erin",
    handshake: "11/ws-handshake",
    wsReply: "11/ws-reply",
    ajaxHandshake: "11/ajax-handshake",
    posts: { reply: "11/post-reply-int64" },
    postMatch: "value",
  },
  ...(
    [
      ["msgpack", "12"],
      ["gzip+edn", "13"],
      ["gzip+msgpack", "14"],
    ] as const
  ).map(
    ([packer, n]): Scenario => ({
      packer,
      uidWs: "alice",
      uidAjax: "bob",
      handshake: `${n}.1/ws-handshake`,
      wsReply: `${n}.2/ws-reply`,
      push: `${n}.3/push-batch`,
      ping: `${n}.6/server-ping`,
      ajaxHandshake: `${n}.4/ajax-handshake`,
      posts: n === "12" ? { reply: "12.5/post-reply", noCb: "12.5/post-no-cb", whoami: "12.5/post-whoami" } : { reply: `${n}.5/post-reply` },
    }),
  ),
];

/**
 * What a client must answer a server ping with: `[[:chsk/ws-pong] nil]`.
 * msgpack: protocol.md §3.4 F9 (bytes from Sente's own code); gzip: flag
 * byte 00 (not compressed) before the inner packer's bytes.
 */
const PONG: Record<string, Buffer> = {
  edn: Buffer.from("[[:chsk/ws-pong] nil]"),
  msgpack: Buffer.from("9291c70c006368736b2f77732d706f6e67c0", "hex"),
  "gzip+edn": Buffer.concat([Buffer.of(0), Buffer.from("[[:chsk/ws-pong] nil]")]),
  "gzip+msgpack": Buffer.from("009291c70c006368736b2f77732d706f6e67c0", "hex"),
};

const PUSHED: ChskEvent[] = [
  ["demo/n", 0],
  ["demo/n", 1],
  ["demo/n", 2],
];

// ---------------------------------------------------------------------------
// Captured pieces

function stepOf<T extends Step["type"]>(ex: Exchange, type: T, actor?: string): Extract<Step, { type: T }> {
  const s = ex.steps.find((x) => x.type === type && (actor === undefined || x.actor === actor));
  if (s === undefined) throw new Error(`${ex.id}: no ${type} step${actor ? ` of ${actor}` : ""}`);
  return s as Extract<Step, { type: T }>;
}

/** A payload as a packer takes it. */
const wire = (b: Buffer, packer: Packer): string | Uint8Array => (packer.binary ? new Uint8Array(b) : b.toString("utf8"));

/** The message a captured POST carried: the form's ppstr, or the raw body of a `binary?` POST. */
function postedMessage(ex: Exchange): Buffer {
  const req = stepOf(ex, "http").request;
  const body = bytesOf(req.body!);
  return req.target.includes("binary%3F=") ? body : Buffer.from(new URLSearchParams(body.toString()).get("ppstr")!, "utf8");
}

/**
 * `from` → `to` as a cb id inside a payload: a quoted string in text
 * (EDN, transit, gzip+edn after its flag byte), a msgpack fixstr in
 * msgpack (gzip+msgpack after its flag byte; uncompressed only). It must
 * occur exactly once.
 */
function spliceCb(payload: Buffer, packer: Packer, from: string, to: string): Buffer {
  const msgpack = packer.binary && !/edn|transit/.test(packer.name) && !payload.includes(Buffer.from(`"${from}"`));
  const [a, b] = msgpack
    ? [Buffer.concat([Buffer.of(0xa0 | from.length), Buffer.from(from)]), Buffer.concat([Buffer.of(0xa0 | to.length), Buffer.from(to)])]
    : [Buffer.from(`"${from}"`), Buffer.from(`"${to}"`)];
  const i = payload.indexOf(a);
  assert.ok(i >= 0 && payload.indexOf(a, i + 1) === -1, `cb id ${from} once in ${payload.toString(packer.binary ? "hex" : "utf8")}`);
  return Buffer.concat([payload.subarray(0, i), b, payload.subarray(i + a.length)]);
}

// ---------------------------------------------------------------------------
// The stub: captured bytes only

interface Stub {
  url: string;
  events: EventEmitter;
  /** Client WS frames, in order. */
  wsIn: { binary: boolean; bytes: Buffer }[];
  sockets: Set<WebSocket>;
  gets: http.IncomingMessage[];
  /** Held polls, oldest first. */
  polls: http.ServerResponse[];
  /** Captured POST exchanges answered, by id. */
  postsAnswered: string[];
  sendWs(payload: Buffer, opcode: number): void;
  close(): Promise<void>;
}

interface StubOptions {
  packer: Packer;
  sc?: Scenario;
  /** Refuse every WS upgrade / Ajax request with this captured answer. */
  refuseUpgrade?: HttpResponse;
  refuseAjax?: HttpResponse;
  refusePost?: HttpResponse;
}

/** A captured answer as it was: status line, the adapter's headers, the body. */
function rawAnswer(r: HttpResponse): Buffer {
  const body = r.body === null ? Buffer.alloc(0) : bytesOf(r.body);
  let head = `HTTP/1.1 ${r.status} ${r.reason}\r\n`;
  for (const [k, v] of r.headers) head += `${k}: ${k.toLowerCase() === "content-length" ? body.length : v}\r\n`;
  return Buffer.concat([Buffer.from(head + "Connection: close\r\n\r\n"), body]);
}

function answer(res: http.ServerResponse, r: HttpResponse): void {
  const body = r.body === null ? Buffer.alloc(0) : bytesOf(r.body);
  const headers: [string, string][] = r.headers.filter(([k]) => !/^(content-length|server)$/i.test(k));
  res.writeHead(r.status, r.reason, [...headers.flat(), "Content-Length", String(body.length)]);
  res.end(body);
}

async function startStub(o: StubOptions): Promise<Stub> {
  const { packer, sc } = o;
  const events = new EventEmitter();
  const wss = new WebSocketServer({ noServer: true });
  const stub: Stub = {
    url: "",
    events,
    wsIn: [],
    sockets: new Set(),
    gets: [],
    polls: [],
    postsAnswered: [],
    sendWs(payload, opcode) {
      for (const s of stub.sockets) s.send(payload, { binary: opcode === 2 });
    },
    async close() {
      for (const s of stub.sockets) s.terminate();
      for (const p of stub.polls) p.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const posts = sc ? Object.values(sc.posts).map((id) => exchange(id)) : [];
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url!, "http://x");
    if (req.method === "GET") {
      stub.gets.push(req);
      events.emit("get", req);
      if (o.refuseAjax) return void res.socket!.end(rawAnswer(o.refuseAjax));
      if (u.searchParams.has("handshake?")) return answer(res, stepOf(exchange(sc!.ajaxHandshake), "http").response);
      stub.polls.push(res);
      res.on("close", () => stub.polls.includes(res) && stub.polls.splice(stub.polls.indexOf(res), 1));
      events.emit("poll", res);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (o.refusePost) return void res.socket!.end(rawAnswer(o.refusePost));
    const sent = u.searchParams.has("binary?") ? body : Buffer.from(new URLSearchParams(body.toString()).get("ppstr") ?? "", "utf8");
    const same = (ex: Exchange) => {
      const captured = postedMessage(ex);
      if (sc?.postMatch !== "value") return captured.equals(sent);
      const [a, b] = [decodeClientMessage(packer, wire(captured, packer)), decodeClientMessage(packer, wire(sent, packer))];
      return a.ok && b.ok && isDeepStrictEqual(a.value, b.value);
    };
    const match = posts.find(same);
    if (match === undefined) {
      events.emit("unmatched", sent);
      res.writeHead(500).end("no captured exchange for this POST");
      return;
    }
    stub.postsAnswered.push(match.id);
    answer(res, stepOf(match, "http").response);
  });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    events.emit("upgrade", req);
    if (o.refuseUpgrade) return void socket.end(rawAnswer(o.refuseUpgrade));
    wss.handleUpgrade(req, socket, head, (ws) => {
      stub.sockets.add(ws);
      ws.on("close", () => stub.sockets.delete(ws));
      const hs = stepOf(exchange(sc!.handshake), "recv");
      ws.send(bytesOf(hs.payload), { binary: hs.opcode === 2 });
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        stub.wsIn.push({ binary: isBinary, bytes: data });
        events.emit("ws-in", data);
        // The captured reply, if this is the captured client frame (with the client's own cb id).
        const ex = exchange(sc!.wsReply);
        const sentStep = stepOf(ex, "send");
        const captured = bytesOf(sentStep.frames[0]!.payload);
        const capturedCb = decodeClientMessage(packer, wire(captured, packer));
        const got = decodeClientMessage(packer, wire(data, packer));
        if (!capturedCb.ok || !got.ok || got.value.cbId === null || got.value.cbId === "ajax") return;
        if (!spliceCb(captured, packer, capturedCb.value.cbId!, got.value.cbId).equals(data)) {
          events.emit("unmatched", data);
          return;
        }
        const reply = stepOf(ex, "recv");
        ws.send(spliceCb(bytesOf(reply.payload), packer, capturedCb.value.cbId!, got.value.cbId), { binary: reply.opcode === 2 });
      });
      events.emit("ws-open", ws);
    });
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chsk`;
  return stub;
}

// ---------------------------------------------------------------------------

function waitFor<T>(em: EventEmitter, name: string, pred: (x: T) => boolean = () => true, ms = 5000): Promise<T> {
  let on!: (x: T) => void;
  return withTimeout(
    new Promise<T>((resolve) => {
      on = (x: T) => {
        if (pred(x)) resolve(x);
      };
      em.on(name, on);
    }),
    ms,
    `stub event ${name}`,
  ).finally(() => em.off(name, on));
}

function waitState(client: Client, pred: (s: Readonly<ClientState>) => boolean, ms = 5000): Promise<Readonly<ClientState>> {
  if (pred(client.state)) return Promise.resolve(client.state);
  let off!: () => void;
  return withTimeout(
    new Promise<Readonly<ClientState>>((resolve) => {
      off = client.on("state", (c) => pred(c.new) && resolve(c.new));
    }),
    ms,
    `client state; last: ${JSON.stringify(client.state)}`,
  ).finally(() => off());
}

function collectRecv(client: Client, n: number): Promise<ChskEvent[]> {
  const got: ChskEvent[] = [];
  let off!: () => void;
  return withTimeout(
    new Promise<ChskEvent[]>((resolve) => {
      off = client.on("recv", (ev) => {
        got.push(ev);
        if (got.length === n) resolve(got);
      });
    }),
    5000,
    `${n} pushed events`,
  ).finally(() => off());
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(o: StubOptions, clientOpts: Partial<ClientOptions>) {
  const stub = await startStub(o);
  const client = createClient({ url: stub.url, packer: o.packer, csrfToken: "tok", backoffMs: () => 100, ...clientOpts });
  const cleanup = async () => {
    await client.close();
    await stub.close();
  };
  cleanups.push(cleanup);
  return { stub, client, cleanup };
}

/** The value the captured server reply carries (as chsk's codec reads it). */
function capturedReplyValue(packer: Packer, payload: Buffer, context: "ws" | "post"): unknown {
  const r = decodeServerMessage(packer, wire(payload, packer), context);
  assert.ok(r.ok && (r.value.kind === "reply" || r.value.kind === "value"), "a captured reply");
  return r.value.value;
}

const T = { timeout: 20_000 };

for (const sc of SCENARIOS) {
  describe(`chsk client ↔ stub serving Sente 1.22's captured ${sc.packer} bytes`, () => {
    it("WS: opens with the captured uid; a reply resolves to the captured value; the push batch arrives in order; a ping is answered with [[:chsk/ws-pong] nil]", T, async () => {
      const packer = packerByName(sc.packer as PackerName);
      const { stub, client, cleanup } = await setup({ packer, sc }, { type: "ws" });
      const info = await client.whenOpen();
      assert.deepEqual(info, { uid: sc.uidWs, handshakeData: null, firstHandshake: true });

      const ex = exchange(sc.wsReply);
      const sent = decodeClientMessage(packer, wire(bytesOf(stepOf(ex, "send").frames[0]!.payload), packer));
      assert.ok(sent.ok);
      // The stub answers only the captured frame: another one fails here at once (not by the send's timeout).
      const unmatched = new Promise<never>((_, reject) =>
        stub.events.once("unmatched", (b: Buffer) => reject(new Error(`the client's frame is not the captured one: ${b.toString(packer.binary ? "hex" : "utf8")}`))),
      );
      unmatched.catch(() => {}); // a later frame (a keep-alive ping) is none of this test's business
      const reply = await Promise.race([client.send(sent.value.event, 3000), unmatched]);
      assert.deepEqual(reply, capturedReplyValue(packer, bytesOf(stepOf(ex, "recv").payload), "ws"));

      if (sc.push) {
        const got = collectRecv(client, 3);
        const batch = stepOf(exchange(sc.push), "recv", "alice-ws");
        stub.sendWs(bytesOf(batch.payload), batch.opcode);
        assert.deepEqual(await got, PUSHED);
      }

      if (sc.ping) {
        const pong = PONG[sc.packer]!;
        const answered = waitFor<Buffer>(stub.events, "ws-in", (b) => b.equals(pong));
        const pinged = new Promise<void>((r) => client.on("ping", () => r()));
        const ping = stepOf(exchange(sc.ping), "recv");
        stub.sendWs(bytesOf(ping.payload), ping.opcode);
        await Promise.all([answered, pinged]);
        assert.equal(stub.wsIn.at(-1)!.binary, packer.binary, "the pong is a binary frame exactly when the packer is binary");
      }
      assert.equal(client.state.open, true);
      await cleanup();
    });

    it("Ajax: opens with the captured uid; captured poll / POST bodies are handled as Sente's client does", T, async () => {
      const packer = packerByName(sc.packer as PackerName);
      const { stub, client, cleanup } = await setup({ packer, sc }, { type: "ajax", clientId: "cid-ajax-1" });
      const errors: ChskError[] = [];
      client.tap((e) => void (e.type === "error" && errors.push(e.error)));
      const firstPoll = waitFor<http.ServerResponse>(stub.events, "poll");
      const info = await client.whenOpen();
      assert.deepEqual(info, { uid: sc.uidAjax, handshakeData: null, firstHandshake: true });
      let poll = await firstPoll;

      if (sc.pollTimeout) {
        // `[:chsk/timeout nil]` on a poll: re-poll, nothing delivered.
        const next = waitFor<http.ServerResponse>(stub.events, "poll");
        answer(poll, stepOf(exchange(sc.pollTimeout), "http").response);
        poll = await next;
      }
      if (sc.push) {
        const got = collectRecv(client, 3);
        const next = waitFor<http.ServerResponse>(stub.events, "poll");
        answer(poll, stepOf(exchange(sc.push), "http", "alice-ajax").response);
        assert.deepEqual(await got, PUSHED);
        await next;
      }

      const eventOf = (id: string) => {
        const m = decodeClientMessage(packer, wire(postedMessage(exchange(id)), packer));
        assert.ok(m.ok);
        return m.value.event;
      };
      const replyOf = (id: string) => capturedReplyValue(packer, bytesOf(stepOf(exchange(id), "http").response.body!), "post");

      assert.deepEqual(await client.send(eventOf(sc.posts.reply), 3000), replyOf(sc.posts.reply));
      if (sc.posts.whoami) assert.deepEqual(await client.send(eventOf(sc.posts.whoami), 3000), replyOf(sc.posts.whoami));
      if (sc.posts.noCb) {
        // No reply wanted: `[:chsk/dummy-cb-200 nil]` completes the send, with no error.
        assert.equal(client.send(eventOf(sc.posts.noCb)), true);
        await client.whenSent();
        assert.ok(stub.postsAnswered.includes(sc.posts.noCb));
      }
      if (sc.posts.never) {
        // `[:chsk/timeout nil]` as a POST answer: Sente's cb gets :chsk/timeout.
        await assert.rejects(client.send(eventOf(sc.posts.never), 3000), (e: ChskError) => e.code === "CHSK_ERR_TIMEOUT");
      }
      assert.deepEqual(
        [...stub.postsAnswered].sort(),
        Object.values(sc.posts).sort(),
        `every POST was the captured one (${sc.postMatch ?? "bytes"})`,
      );
      assert.deepEqual(errors, []);
      assert.equal(client.state.open, true);
      await cleanup();
    });
  });
}

describe("chsk client ↔ stub refusing with Sente 1.22's captured 403 Bad CSRF token", () => {
  const edn = () => packerByName("edn");

  it("Ajax handshake refused (7/bad-csrf-no-session): CHSK_ERR_HTTP_STATUS, status 403, retried", T, async () => {
    const refusal = stepOf(exchange("7/bad-csrf-no-session"), "http").response;
    const { stub, client, cleanup } = await setup({ packer: edn(), refuseAjax: refusal }, { type: "ajax" });
    const tapped = new Promise<ChskError>((r) => client.tap((e) => e.type === "error" && r(e.error)));
    const st = await waitState(client, (s) => s.lastError?.status === 403);
    assert.equal(st.lastError?.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(st.lastError?.message, "HTTP 403 Bad CSRF token");
    const e = await tapped;
    assert.equal(e.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(e.status, 403);
    assert.equal(client.state.open, false);
    await waitFor(stub.events, "get", () => stub.gets.length >= 2);
    await cleanup();
  });

  it("WS upgrade refused (7/bad-csrf-ws): CHSK_ERR_HTTP_STATUS, status 403", T, async () => {
    const refusal = stepOf(exchange("7/bad-csrf-ws"), "http").response;
    const { client, cleanup } = await setup({ packer: edn(), refuseUpgrade: refusal }, { type: "ws" });
    const st = await waitState(client, (s) => s.lastError?.status === 403);
    assert.equal(st.lastError?.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(st.lastError?.message, "HTTP 403 Bad CSRF token");
    assert.equal(client.state.open, false);
    await cleanup();
  });

  it("POST refused (7/bad-csrf-post) while open: the send fails with status 403, reported as CHSK_ERR_HTTP_STATUS", T, async () => {
    const sc = SCENARIOS[0]!;
    const refusal = stepOf(exchange("7/bad-csrf-post"), "http").response;
    const { client, cleanup } = await setup({ packer: edn(), sc, refusePost: refusal }, { type: "ajax" });
    await client.whenOpen();
    const tapped = new Promise<ChskError>((r) => client.tap((e) => e.type === "error" && r(e.error)));
    await assert.rejects(client.send(["demo/echo", 1], 3000), (e: ChskError) => {
      assert.equal(e.status, 403);
      assert.equal((e.cause as ChskError).code, "CHSK_ERR_HTTP_STATUS");
      return true;
    });
    const e = await tapped;
    assert.equal(e.code, "CHSK_ERR_HTTP_STATUS");
    assert.equal(e.status, 403);
    assert.equal(client.state.lastError?.message, "HTTP 403 Bad CSRF token");
    await cleanup();
  });
});
