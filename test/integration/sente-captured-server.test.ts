/**
 * Server conformance against a real Sente 1.22 server: every exchange of
 * `fixtures/sente-1.22/exchanges.json` (captured from a JVM Sente peer
 * with the same HTTP contract as `chsk serve`) is replayed over raw TCP
 * against the reference server in-process, with our own session cookie
 * and CSRF token put in, and chsk must answer the captured bytes: the
 * payload of every frame and body, text vs binary, the status and body of
 * refusals, and the moment (held until a push / the lp-timeout; a ping
 * only after the kalive idle time).
 *
 * Where chsk deliberately answers otherwise, {@link DEVIATIONS} says so by
 * name, asserts what chsk does instead and also that the capture still
 * says what Sente does: a deviation is a documented, checked difference,
 * never a skipped exchange.
 *
 * Sente's option → chsk's: `--ws-kalive-ms N` is halved by Sente, so
 * `wsKaliveMs: N / 2`; `--allowed-origins a,b` → `allowedOrigins`; where
 * the capture waited `:lp-timeout-ms` (20 s) chsk runs with a short
 * `lpTimeoutMs`: the payload must be the same.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { readEdn } from "../../src/core/edn/index.js";
import { type PackerName, packerByName } from "../../src/core/packers/index.js";
import type { Packer } from "../../src/core/packers/types.js";
import { encodeClientEvent, encodePong } from "../../src/core/protocol/codec.js";
import { type ReferenceServer, type ReferenceServerOptions, startReferenceServer } from "../../src/server/demo/app.js";
import {
  bytesOf,
  type Exchange,
  exchange,
  type Frame,
  headerOf,
  type HttpRequest,
  type HttpResponse,
  loadCaptured,
  type Step,
} from "../unit/sente-captured-fixture.js";
import { closeCode, RawWs, type RawResponse, rawRequest, type WsFrame } from "./sente-captured-wire.js";
import { until } from "./server-helpers.js";

const fx = loadCaptured();

/** Stands in for Sente's 20 s `:lp-timeout-ms` where the capture waited for it. */
const SHORT_LP_MS = 250;
const SESSION_SECRET = "sente-captured-conformance-secret";

// ---------------------------------------------------------------------------
// Servers: one per (packer, flags, short lp-timeout), exchanges in capture order

interface Group {
  key: string;
  packer: string;
  flags: string[];
  shortLp: boolean;
  exchanges: Exchange[];
}

function groups(exchanges: Exchange[]): Group[] {
  const out = new Map<string, Group>();
  for (const ex of exchanges) {
    const shortLp = ex.steps.some((s) => s.type === "http" && s.heldUntil === "lp-timeout");
    const key = [ex.packer, ...ex.serverFlags, ...(shortLp ? [`(lp-timeout ${SHORT_LP_MS} ms)`] : [])].join(" ");
    const g = out.get(key) ?? { key, packer: ex.packer, flags: ex.serverFlags, shortLp, exchanges: [] };
    g.exchanges.push(ex);
    out.set(key, g);
  }
  return [...out.values()];
}

/** Sente peer flags → reference server options. */
function serverOptions(g: Group): ReferenceServerOptions {
  const o: ReferenceServerOptions = { port: 0, sessionSecret: SESSION_SECRET, serverOptions: {} };
  // Throws for a packer chsk lacks: the group's exchanges then fail (no silent skip).
  o.packer = packerByName(g.packer as PackerName);
  for (let i = 0; i < g.flags.length; i += 2) {
    const [flag, value] = [g.flags[i]!, g.flags[i + 1]!];
    if (flag === "--ws-kalive-ms") o.serverOptions!.wsKaliveMs = Number(value) / 2; // Sente halves it (#455)
    else if (flag === "--allowed-origins") o.allowedOrigins = value.split(",");
    else throw new Error(`no chsk option for the peer flag ${flag}`);
  }
  if (g.shortLp) o.serverOptions!.lpTimeoutMs = SHORT_LP_MS;
  return o;
}

// ---------------------------------------------------------------------------
// The world of one server: sessions, open sockets, Ajax clients

interface Session {
  uid: string | null;
  /** `chsk-session=…` */
  cookie: string;
  csrf: string;
}

class World {
  readonly sessions = new Map<string, Session>();
  readonly sockets = new Map<string, RawWs>();
  readonly handshaken = new Set<string>();
  #probe = 0;

  constructor(
    readonly srv: ReferenceServer,
    readonly packer: Packer,
  ) {}

  async session(label: string | null): Promise<Session | null> {
    if (label === null) return null;
    const known = this.sessions.get(label);
    if (known) return known;
    const res =
      label === "anonymous"
        ? await fetch(`${this.srv.url}/csrf`)
        : await fetch(`${this.srv.url}/login`, { method: "POST", body: new URLSearchParams({ uid: fx.sessions[label]?.uid ?? label }) });
    assert.equal(res.status, 200, `session for ${label}`);
    const { uid, csrfToken } = (await res.json()) as { uid: string | null; csrfToken: string };
    const s = { uid, cookie: res.headers.getSetCookie()[0]!.split(";")[0]!, csrf: csrfToken };
    this.sessions.set(label, s);
    return s;
  }

  sessionOf(ex: Exchange, actor: string): Promise<Session | null> {
    const a = ex.actors[actor] ?? fx.actors[actor];
    if (a === undefined) throw new Error(`unknown actor ${actor}`);
    return this.session(a.session);
  }

  /** The captured request with our session: cookie, token, recomputed Content-Length. */
  materialise(req: HttpRequest, s: Session | null) {
    const body = req.body === null ? null : bytesOf(req.body);
    const fill = (v: string) => {
      if (!v.includes("{{")) return v;
      if (s === null) throw new Error(`the capture uses a session here: ${v}`);
      return v.replaceAll("{{csrf}}", s.csrf);
    };
    const headers: [string, string][] = [];
    for (const [k, v] of req.headers) {
      if (k.toLowerCase() === "cookie" && v.includes("{{session}}")) {
        if (s === null) throw new Error("the capture sends a session cookie here");
        headers.push([k, s.cookie]);
      } else if (k.toLowerCase() === "content-length") headers.push([k, String(body?.length ?? 0)]);
      else headers.push([k, fill(v)]);
    }
    return { method: req.method, target: fill(req.target), headers, body };
  }

  async http(ex: Exchange, actor: string, req: HttpRequest): Promise<RawResponse> {
    const s = await this.sessionOf(ex, actor);
    return rawRequest(this.srv.port, this.materialise(req, s));
  }

  /** Ajax polls need a handshake first (the capture did one, not shown); the same headers. */
  async ensureHandshake(ex: Exchange, actor: string, req: HttpRequest): Promise<void> {
    const u = new URL(req.target, "http://x");
    const cid = u.searchParams.get("client-id");
    if (req.method !== "GET" || cid === null || u.searchParams.has("handshake?") || this.handshaken.has(cid)) return;
    const r = await this.http(ex, actor, { ...req, target: `/chsk?udt=1&client-id=${encodeURIComponent(cid)}&handshake%3F=1` });
    assert.equal(r.status, 200, `precondition: Ajax handshake of ${cid}: ${r.body.toString()}`);
    this.handshaken.add(cid);
  }

  /** Resolves once the server holds a poll of `clientId` (its answer then comes from a push or the timeout). */
  held(clientId: string): Promise<void> {
    return until(() => this.srv.chsk.clients().some((c) => c.clientId === clientId && c.transport === "ajax" && c.connected), 5000, `a held poll of ${clientId}`);
  }

  /** Opens a WS for an actor whose upgrade the capture doesn't show; consumes the handshake unless asked not to. */
  async openWs(ex: Exchange, actor: string, consumeHandshake: boolean): Promise<RawWs> {
    const s = await this.sessionOf(ex, actor);
    const req: HttpRequest = {
      method: "GET",
      target: `/chsk?client-id=cid-${actor}&csrf-token={{csrf}}`,
      headers: [
        ["Host", "127.0.0.1"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
        ["Sec-WebSocket-Version", "13"],
        ["Cookie", "ring-session={{session}}"],
      ],
      body: null,
    };
    const r = await rawRequest(this.srv.port, this.materialise(req, s));
    assert.equal(r.status, 101, `precondition: WS upgrade for ${actor}: ${r.status} ${r.body.toString()}`);
    const ws = new RawWs(r.socket, r.rest);
    this.sockets.set(actor, ws);
    if (consumeHandshake) await ws.next(5000, `${actor}'s handshake`);
    return ws;
  }

  async ws(ex: Exchange, actor: string): Promise<RawWs> {
    const ws = this.sockets.get(actor);
    return ws?.isOpen ? ws : this.openWs(ex, actor, true);
  }

  /**
   * A ping with a cb id after the frames under test: the server answers
   * frames in order, so if the pong comes next, nothing came for them.
   */
  probe(ws: RawWs): { expect: Buffer } {
    const id = `probe-${++this.#probe}`;
    const frame = encodeClientEvent(this.packer, ["chsk/ws-ping"], id);
    ws.send([{ opcode: this.packer.binary ? 2 : 1, payload: Buffer.from(frame) }]);
    return { expect: Buffer.from(encodePong(this.packer, id)) };
  }

  close(): void {
    for (const ws of this.sockets.values()) ws.close();
  }
}

// ---------------------------------------------------------------------------
// Comparisons

function show(b: Buffer, binary: boolean): string {
  return binary ? b.toString("hex") : JSON.stringify(b.toString("utf8"));
}

function assertFrame(got: WsFrame, want: Frame, where: string): void {
  const binary = want.opcode === 2;
  assert.equal(got.opcode, want.opcode, `${where}: opcode (1 text, 2 binary; 8 close ${got.opcode === 8 ? closeCode(got) : ""})`);
  assert.equal(show(got.payload, binary), show(bytesOf(want.payload), binary), `${where}: payload`);
  if (want.frameHeader) assert.equal(got.header, want.frameHeader, `${where}: frame header`);
}

function assertAnswer(got: RawResponse, want: HttpResponse, where: string): void {
  const binary = want.body?.hex !== undefined;
  assert.equal(got.status, want.status, `${where}: status (body ${show(got.body, binary)})`);
  assert.equal(show(got.body, binary), want.body === null ? show(Buffer.alloc(0), binary) : show(bytesOf(want.body), binary), `${where}: body`);
}

// ---------------------------------------------------------------------------
// Deviations: where chsk answers otherwise, on purpose

interface Got {
  /** What the server answered to an http step. */
  answer?: RawResponse;
  /** The frame that came where the capture had silence (after a probe) or a frame. */
  frame?: WsFrame;
  /** The probe's expected pong, for silence steps. */
  probe?: Buffer;
  ws?: RawWs;
}

interface Deviation {
  /** The step it is about. */
  step: number;
  /** In protocol terms, for the README. */
  what: string;
  check(got: Got, captured: Step): void | Promise<void>;
}

const MISSING_CLIENT_ID: Deviation = {
  step: 0,
  what:
    "A GET (Ajax or WS upgrade) without client-id: Sente throws and its adapter answers 500 with the exception message; " +
    "chsk answers 400 `Missing client-id` (a client error, not a server failure; no stack-dependent text).",
  check({ answer }, captured) {
    assert.ok(captured.type === "http");
    assert.equal(captured.response.status, 500);
    assert.match(bytesOf(captured.response.body!).toString(), /^Client's Ring request doesn't have a client id\./);
    assert.equal(answer!.status, 400);
    assert.equal(answer!.body.toString(), "Missing client-id");
  },
};

const TEXT_FRAME_TO_BINARY: Deviation = {
  step: 1,
  what:
    "A text WS frame to a server with a binary packer (msgpack, gzip+…): Sente's unpack throws, it logs " +
    ":sente.packer/unpack-failure and the socket stays open with no answer; chsk closes the socket with 1002 " +
    "(protocol error), reason `CHSK_ERR_UNPACK`, as for any frame it cannot decode.",
  check({ frame, ws }, captured) {
    assert.ok(captured.type === "silence");
    assert.match(captured.note, /no answer/);
    assert.equal(frame!.opcode, 8, "a close frame");
    assert.equal(closeCode(frame!), 1002);
    assert.equal(frame!.payload.subarray(2).toString(), "CHSK_ERR_UNPACK");
    ws!.close();
  },
};

const TEXT_POST_TO_BINARY: Deviation = {
  step: 0,
  what:
    "A form POST (`ppstr=…`, no `binary?`) to a server with a binary packer: Sente's unpack throws and its adapter " +
    "answers 500 with the JVM exception's message; chsk answers 400 `CHSK_ERR_UNPACK: … frames are binary; got text`.",
  check({ answer }, captured) {
    assert.ok(captured.type === "http");
    assert.equal(captured.response.status, 500);
    assert.equal(answer!.status, 400);
    assert.match(answer!.body.toString(), /^CHSK_ERR_UNPACK: .* frames are binary; got text$/);
  },
};

/** Deviations by exchange id. */
const DEVIATIONS: Record<string, Deviation> = {
  "2/ws-legacy-plus": {
    step: 1,
    what:
      "A ≤1.17-style `+`-prefixed WS frame (`+[[:demo/echo 8] \"cb-legacy\"]`): Sente 1.22 reads the symbol `+`, its handler throws, " +
      "and nothing is answered; chsk strips the prefix and handles `[[:demo/echo 8] \"cb-legacy\"]` (it reads all three wire eras).",
    async check({ frame, probe, ws }, captured) {
      assert.ok(captured.type === "silence");
      assert.equal(frame!.payload.toString(), '[8 "cb-legacy"]');
      assert.equal((await ws!.next()).payload.toString(), probe!.toString(), "then the probe's pong");
    },
  },
  "8/missing-client-id-ajax": MISSING_CLIENT_ID,
  "8/missing-client-id-ws": MISSING_CLIENT_ID,
  "12.2/ws-text-frame": TEXT_FRAME_TO_BINARY,
  "13.2/ws-text-frame": TEXT_FRAME_TO_BINARY,
  "14.2/ws-text-frame": TEXT_FRAME_TO_BINARY,
  "12.5/post-text-form": TEXT_POST_TO_BINARY,
  "13.5/post-text-form": TEXT_POST_TO_BINARY,
  "14.5/post-text-form": TEXT_POST_TO_BINARY,
};

// ---------------------------------------------------------------------------
// Replay

async function replay(w: World, ex: Exchange): Promise<void> {
  const deviation = DEVIATIONS[ex.id];
  // A poll the capture held until a push goes out first, and is held before the push is sent.
  const early = new Map<number, Promise<RawResponse>>();
  for (const [i, step] of ex.steps.entries()) {
    if (step.type !== "http" || step.heldUntil !== "push") continue;
    await w.ensureHandshake(ex, step.actor, step.request);
    early.set(i, w.http(ex, step.actor, step.request));
    await w.held(new URL(step.request.target, "http://x").searchParams.get("client-id")!);
  }
  for (const [i, step] of ex.steps.entries()) {
    const where = `${ex.id} step ${i} (${step.type} ${step.actor})`;
    const dev = deviation?.step === i ? deviation : undefined;
    switch (step.type) {
      case "ws-connect": {
        const s = await w.sessionOf(ex, step.actor);
        const r = await rawRequest(w.srv.port, w.materialise(step.request, s));
        assert.equal(r.status, step.response.status, `${where}: status ${r.body.toString()}`);
        // Same Sec-WebSocket-Key as the capture, so the same accept value.
        assert.equal(r.headers["sec-websocket-accept"], headerOf(step.response.headers, "Sec-WebSocket-Accept"), `${where}: accept`);
        assert.equal(r.headers["upgrade"]?.toLowerCase(), "websocket");
        w.sockets.get(step.actor)?.close();
        w.sockets.set(step.actor, new RawWs(r.socket, r.rest));
        break;
      }
      case "recv": {
        // Before the upgrade: the server's idle time starts at the latest with its handshake frame.
        const t0 = Date.now();
        if (step.afterIdle) w.sockets.get(step.actor)?.close();
        const ws = step.first && !w.sockets.get(step.actor)?.isOpen ? await w.openWs(ex, step.actor, false) : await w.ws(ex, step.actor);
        const f = await ws.next(step.afterIdle ? 10_000 : 5000, where);
        if (dev) await dev.check({ frame: f, ws }, step);
        else assertFrame(f, step, where);
        if (step.afterIdle?.cause === "ws-kalive") {
          // A lower bound, not a speed check: no ping before the idle time (half Sente's --ws-kalive-ms).
          const kalive = Number(ex.serverFlags[ex.serverFlags.indexOf("--ws-kalive-ms") + 1]) / 2;
          assert.ok(kalive > 0 && Date.now() - t0 >= kalive, `${where}: pinged after ${Date.now() - t0} ms, before the ${kalive} ms idle time`);
        }
        break;
      }
      case "send": {
        const ws = await w.ws(ex, step.actor);
        const frames = step.frames.map((f) => ({ opcode: f.opcode, payload: frameBytes(w.packer, f, step.frames, where) }));
        if (step.oneWrite) ws.send(frames);
        else for (const f of frames) ws.send([f]);
        break;
      }
      case "silence": {
        const ws = await w.ws(ex, step.actor);
        const { expect } = w.probe(ws);
        const f = await ws.next(5000, `${where}: the probe's pong`);
        if (dev) await dev.check({ frame: f, probe: expect, ws }, step);
        else assert.equal(show(f.payload, f.opcode === 2), show(expect, f.opcode === 2), `${where}: a frame came where Sente sent none`);
        break;
      }
      case "http": {
        if (!early.has(i) && step.heldUntil === "lp-timeout") await w.ensureHandshake(ex, step.actor, step.request);
        const t0 = Date.now();
        const r = await (early.get(i) ?? w.http(ex, step.actor, step.request));
        if (dev) await dev.check({ answer: r }, step);
        else if (ex.id === "0/login") assertLogin(r, step.response, w, where);
        else assertAnswer(r, step.response, where);
        if (step.heldUntil === "lp-timeout") {
          // Held until the lp-timeout, as Sente does (a lower bound from the server's own deadline).
          assert.ok(Date.now() - t0 >= SHORT_LP_MS, `${where}: answered after ${Date.now() - t0} ms, before lp-timeout`);
        }
        const cid = new URL(step.request.target, "http://x").searchParams;
        if (r.status === 200 && cid.has("handshake?") && cid.get("client-id")) w.handshaken.add(cid.get("client-id")!);
        break;
      }
    }
  }
}

/**
 * A client frame's bytes; frames the capture shows only by their reading
 * (K = 1, 2 of a binary push batch) are packed by chsk, once chsk packed
 * the shown one (K = 0) to exactly the captured bytes.
 */
function frameBytes(packer: Packer, f: Frame, all: Frame[], where: string): Buffer {
  if (f.payload.text !== undefined || typeof f.payload.hex === "string") return bytesOf(f.payload);
  const shown = all.find((x) => typeof x.payload.hex === "string");
  assert.ok(shown?.payload.reads && f.payload.reads, `${where}: nothing to derive the frame from`);
  const pack = (reading: string) => {
    const r = readEdn(reading);
    assert.ok(r.ok, `${where}: reading ${reading}`);
    return Buffer.from(packer.pack(r.value));
  };
  const readingOf = (s: string) => /\[\[:demo\/push .*\] nil\]/.exec(s)?.[0] ?? s;
  assert.equal(pack(readingOf(shown.payload.reads)).toString("hex"), shown.payload.hex, `${where}: chsk packs the shown frame as captured`);
  return pack(readingOf(f.payload.reads));
}

/** POST /login is the peer's own route: the same shape, our cookie. */
function assertLogin(r: RawResponse, want: HttpResponse, w: World, where: string): void {
  assert.equal(r.status, want.status, where);
  const got = JSON.parse(r.body.toString()) as { uid: string; csrfToken: string };
  const captured = JSON.parse(bytesOf(want.body!).toString()) as { uid: string; csrfToken: string };
  assert.deepEqual(Object.keys(got).sort(), Object.keys(captured).sort(), `${where}: JSON keys`);
  assert.equal(got.uid, captured.uid);
  assert.equal(typeof got.csrfToken, "string");
  assert.ok(want.setsSessionCookie && r.headers["set-cookie"]?.includes("; Path=/; HttpOnly; SameSite=Lax"), `${where}: a session cookie`);
  // From now on this server knows alice by this login.
  w.sessions.set(captured.uid, { uid: got.uid, cookie: r.headers["set-cookie"]!.split(";")[0]!, csrf: got.csrfToken });
}

// ---------------------------------------------------------------------------

describe("Sente 1.22 captures: the fixture", () => {
  it("names its provenance and holds every section of the capture", () => {
    assert.equal(fx.provenance.sente, "1.22.0-RC1");
    assert.match(fx.provenance.senteCommit, /^[0-9a-f]{7,40}$/);
    const sections = new Set(fx.exchanges.map((e) => e.section.split(".")[0]));
    assert.deepEqual([...sections].map(Number), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it("is consistent: frame headers, Content-Length and body sizes agree with the bytes", () => {
    let checked = 0;
    for (const ex of fx.exchanges) {
      for (const s of ex.steps) {
        if (s.type === "recv" && s.frameHeader) {
          const h = Buffer.from(s.frameHeader, "hex");
          assert.equal(h[0], 0x80 | s.opcode, `${ex.id}: FIN + opcode`);
          assert.equal(h[1], bytesOf(s.payload).length, `${ex.id}: payload length`);
          checked++;
        }
        if (s.type === "http" || s.type === "ws-connect") {
          for (const m of [s.request, s.response]) {
            const cl = headerOf(m.headers, "Content-Length");
            if (cl !== undefined) assert.equal(Number(cl), m.body === null ? 0 : bytesOf(m.body).length, `${ex.id}: Content-Length`);
            if (cl !== undefined) checked++;
          }
        }
      }
    }
    assert.ok(checked > 50, `${checked} checks`);
  });

  it("every deviation names a captured exchange and step", () => {
    for (const [id, d] of Object.entries(DEVIATIONS)) assert.ok(exchange(id).steps[d.step], `${id} step ${d.step}`);
  });
});

// One server per group; the groups run side by side (most of the time is the
// kalive groups' one-second idle), the exchanges of a group in capture order.
describe("Sente 1.22 captures replayed against chsk", { concurrency: true }, () => {
  for (const g of groups(fx.exchanges)) {
    // Concurrency is inherited: the exchanges of one server go one after the other.
    describe(g.key, { concurrency: 1 }, () => {
      let srv: ReferenceServer;
      let w: World;
      before(async () => {
        const o = serverOptions(g);
        srv = await startReferenceServer(o);
        w = new World(srv, o.packer as Packer);
      });
      after(async () => {
        w?.close();
        await srv?.close();
      });
      for (const ex of g.exchanges) {
        it(`${ex.id}: ${ex.title}`, { timeout: 20_000 }, () => replay(w, ex));
      }
    });
  }
});
