/**
 * `createFrameDecoder`: {@link WireEvent}s in, {@link FrameRecord}s out,
 * exactly one record per event, in order. Pure: no timers, no I/O; time is
 * the events' own `at` (and `flush(now)` for a live source gone quiet).
 *
 * Each frame is decoded and classified by `decodeFrame` (decode-frame.ts),
 * the one stateless reading of a frame that the dashboard feed uses too;
 * this module adds what needs state: the packer detected from earlier
 * frames, pairing and stitching.
 *
 * Pairing. A call is an event with a cb id (WS) or an Ajax POST asking for
 * a reply (`:ajax`, `0`). A WS reply is paired by its cb id on the same
 * socket; an Ajax answer by its HTTP exchange (a POST reply carries no cb
 * id). Pings: a server `[:chsk/ws-ping nil]` is answered by any client
 * frame on that socket (Sente counts any as a pong; `[:chsk/ws-pong]` is
 * paired with it); a client `[[:chsk/ws-ping] cb]` by its `"pong"` reply.
 *
 * ```
 *  call ──reply within callTimeoutMs──▶ reply.pair/latencyMs, call.pair
 *    └──timeout──▶ call +unanswered ──reply later──▶ call −unanswered +late, reply +late
 *  reply with no call ─▶ +orphan          socket closed with calls pending ─▶ +unanswered
 *  ping ──no pong within its timeout──▶ +missed-pong
 * ```
 *
 * Stitching. A WS socket is its own `conn` (the source's id). An Ajax
 * client's exchanges (handshake GET, polls, POSTs) are one `conn`,
 * `ajax:<client-id>`. A uid learnt from a handshake, or given by the
 * source, goes on the connection's later records. An `open` of a client id
 * seen before is flagged `reconnect`, with `prev` = the earlier open.
 */
import { decodeFrame, type DecodedFrame } from "./decode-frame.js";
import { type FrameDecoderOptions, type RecordChange, type ResolvedDecoderOptions, resolveDecoderOptions } from "./decoder-options.js";
import { createPackerDetector, type PackerDetector } from "./packer-detector.js";
import { type Pending, PendingTable } from "./pending.js";
import { CLOSE_NAMES, isoOf } from "./record-fields.js";
import type { FrameFlag, FrameRecord, WireEvent } from "./types.js";
import { utf8Length } from "./utf8.js";

export type { FrameDecoderOptions, RecordChange } from "./decoder-options.js";

export interface FrameDecoder {
  /** Decode one event: its record (the only one it makes). Never throws on any event. */
  push(event: WireEvent): FrameRecord;
  /**
   * Let time pass to `now` (ms) with nothing on the wire: calls and pings
   * due by then are flagged. Returns the records it changed (also passed
   * to `onUpdate`). `push` does this by itself with each event's `at`.
   */
  flush(now: number): FrameRecord[];
  /** The packer's name once settled (given, or detected); undefined before. */
  readonly packer: string | undefined;
  /** The `seq` the next record gets. */
  readonly nextSeq: number;
}

/** Decode frames, pair calls with replies, stitch connections. See the module comment. */
export function createFrameDecoder(options?: FrameDecoderOptions): FrameDecoder {
  return new Decoder(resolveDecoderOptions(options));
}

/** The frame's fields of a record, as `decodeFrame` found them. */
function applyFrame(rec: FrameRecord, d: DecodedFrame): void {
  rec.kind = d.kind;
  rec.bytes = d.bytes;
  rec.raw = d.raw;
  if (d.status !== undefined) rec.status = d.status;
  if (d.binary !== undefined) rec.binary = d.binary;
  if (d.packer !== undefined) rec.packer = d.packer;
  if (d.envelope !== undefined) rec.envelope = d.envelope;
  if (d.eventId !== undefined) rec.eventId = d.eventId;
  if (d.uid !== undefined) rec.uid = d.uid;
  if (d.data !== undefined) rec.data = d.data;
  if (d.events !== undefined) rec.events = d.events;
  if (d.cbId !== undefined) rec.cbId = d.cbId;
  if (d.error !== undefined) rec.error = d.error;
}

interface ConnState {
  uid?: string;
  clientId?: string;
}

const CHANNELS = new Set<unknown>(["ws", "poll", "post", "post-reply"]);

class Decoder implements FrameDecoder {
  readonly #o: ResolvedDecoderOptions;
  readonly #detector: PackerDetector;
  #seq: number;
  #now = -Infinity;
  /** WS calls by `connId\0cb`, POSTs by `p\0connId` (with or without a cb). */
  readonly #calls: PendingTable;
  /** Client pings by `connId\0cb`. */
  readonly #clientPings: PendingTable;
  /** Server pings by `connId`: one outstanding per socket. */
  readonly #serverPings: PendingTable;
  /** Timed-out calls and pings, kept a while so a late answer is `late`, not `orphan`. */
  readonly #expired = new Map<string, Pending>();
  readonly #lateWindowMs: number;
  /** Per logical connection: what stitching learnt. */
  readonly #conns = new Map<string, ConnState>();
  /** Ajax exchange → client id, for the answers of POSTs the source saw the client id of. */
  readonly #exchanges = new Map<string, string>();
  /** Client id → the seq of its last `open`, and the uid it last had. */
  readonly #opens = new Map<string, { seq: number; uid?: string }>();
  #changed: FrameRecord[] | null = null;

  constructor(o: ResolvedDecoderOptions) {
    this.#o = o;
    this.#detector = createPackerDetector(o.packer, o.limits);
    this.#seq = o.firstSeq;
    this.#calls = new PendingTable(o.callTimeoutMs, o.maxPending);
    this.#clientPings = new PendingTable(o.clientPingTimeoutMs, o.maxPending);
    this.#serverPings = new PendingTable(o.serverPingTimeoutMs, o.maxPending);
    this.#lateWindowMs = Math.max(60_000, 3 * o.callTimeoutMs);
  }

  get packer(): string | undefined {
    return this.#detector.packer?.name;
  }

  get nextSeq(): number {
    return this.#seq;
  }

  flush(now: number): FrameRecord[] {
    const changed: FrameRecord[] = [];
    this.#changed = changed;
    try {
      this.#advance(now);
    } finally {
      this.#changed = null;
    }
    return changed;
  }

  push(ev: WireEvent): FrameRecord {
    if (typeof ev !== "object" || ev === null) return this.#invalid(this.#now > -Infinity ? this.#now : 0, "an event must be an object");
    const at = typeof ev.at === "number" && Number.isFinite(ev.at) && Math.abs(ev.at) <= 8.64e15 ? ev.at : this.#now > -Infinity ? this.#now : 0;
    this.#advance(at);
    let rec: FrameRecord;
    try {
      rec = this.#base(ev, at);
    } catch (e) {
      return this.#invalid(at, `unreadable event: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      switch (ev.type) {
        case "frame":
          this.#frame(ev, rec, at);
          break;
        case "open":
          this.#open(ev, rec);
          break;
        case "close":
          this.#close(ev, rec);
          break;
        case "refused":
          this.#refused(ev, rec, at);
          break;
        default:
          rec.kind = "bad";
          rec.error = { code: "CHSK_ERR_BAD_RECORD", message: `unknown event type ${JSON.stringify((ev as { type?: unknown }).type)}` };
      }
    } catch (e) {
      // A bug or a hostile value must not take the viewer down: the event becomes a bad record.
      rec.kind = "bad";
      rec.error = { code: "CHSK_ERR_UNPACK", message: `decoder failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    return rec;
  }

  // -------------------------------------------------------------------------
  // Records

  /** A record for an event that is not one (a source's bug): never a throw. */
  #invalid(at: number, message: string): FrameRecord {
    return {
      seq: this.#seq++,
      ts: isoOf(at),
      dir: "c2s",
      transport: "ws",
      channel: "ws",
      conn: "?",
      clientId: null,
      kind: "bad",
      bytes: 0,
      raw: "",
      error: { code: "CHSK_ERR_BAD_RECORD", message },
    };
  }

  #base(ev: WireEvent, at: number): FrameRecord {
    const ajax = ev.transport === "ajax";
    const connId = ev.connId === undefined || ev.connId === "" ? "?" : String(ev.connId);
    const given = typeof ev.clientId === "string" && ev.clientId !== "" ? ev.clientId : undefined;
    const clientId = given ?? (ajax ? this.#exchanges.get(connId) : this.#conns.get(connId)?.clientId);
    const conn = ajax && clientId !== undefined ? `ajax:${clientId}` : connId;
    const dir = ev.type === "frame" || ev.type === "close" ? ev.dir : ev.type === "open" ? "c2s" : "s2c";
    const channel = ev.type === "frame" && CHANNELS.has(ev.channel) ? ev.channel : ajax ? "poll" : "ws";
    const rec: FrameRecord = {
      seq: this.#seq++,
      ts: isoOf(at),
      dir: dir === "c2s" || (dir === undefined && ev.type === "frame") ? "c2s" : "s2c",
      transport: ajax ? "ajax" : "ws",
      channel,
      conn,
      clientId: clientId ?? null,
      kind: "bad",
      bytes: 0,
      raw: "",
    };
    if (ajax) rec.exchange = connId;
    if ("uid" in ev && typeof ev.uid === "string") {
      rec.uid = ev.uid;
      this.#conn(conn).uid = ev.uid;
    } else {
      const uid = this.#conns.get(conn)?.uid;
      if (uid !== undefined) rec.uid = uid;
    }
    return rec;
  }

  #conn(conn: string): ConnState {
    let s = this.#conns.get(conn);
    if (s === undefined) {
      s = {};
      this.#conns.set(conn, s);
      if (this.#conns.size > this.#o.maxTracked) this.#conns.delete(this.#conns.keys().next().value as string);
    }
    return s;
  }

  #open(ev: Extract<WireEvent, { type: "open" }>, rec: FrameRecord): void {
    rec.kind = "open";
    if (typeof ev.url === "string") rec.url = ev.url;
    const cid = rec.clientId;
    if (cid === null) return;
    // A socket's later frames carry no client id: the open's goes on them.
    if (ev.transport === "ws") this.#conn(rec.conn).clientId = cid;
    const prev = this.#opens.get(cid);
    const seen: { seq: number; uid?: string } = { seq: rec.seq };
    if (prev !== undefined) {
      rec.flags = ["reconnect"];
      rec.prev = prev.seq;
      // Until its handshake says otherwise, a reconnecting client is the user it was.
      if (rec.uid === undefined && prev.uid !== undefined) rec.uid = prev.uid;
      this.#opens.delete(cid);
    }
    if (rec.uid !== undefined) seen.uid = rec.uid;
    this.#opens.set(cid, seen);
    if (this.#opens.size > this.#o.maxTracked) this.#opens.delete(this.#opens.keys().next().value as string);
  }

  #close(ev: Extract<WireEvent, { type: "close" }>, rec: FrameRecord): void {
    rec.kind = "close";
    const code = ev.code;
    if (code !== undefined) rec.status = code;
    if (code !== undefined && code !== 1000 && code !== 1001 && code !== 1005) {
      rec.error = { code: CLOSE_NAMES[code] ?? `WS_CLOSE_${code}`, message: ev.reason ?? "" };
    } else if (ev.reason) rec.error = { code: "CLOSE", message: ev.reason };
    if (ev.transport !== "ws") return;
    // A proxy reports both close frames; the socket's state goes with the last.
    const id = String(ev.connId);
    const ping = this.#serverPings.take(id);
    if (ping !== undefined && code === 4000) this.#flag(ping.record, "missed-pong");
    // Calls still waiting on a closed socket will never be answered (Sente fails them with :chsk/closed).
    const fail = (_k: string, p: Pending) => {
      if (p.flag !== null) this.#flag(p.record, p.flag);
    };
    this.#calls.takeConn(rec.conn, fail);
    this.#clientPings.takeConn(rec.conn, fail);
    // The socket's state stays (bounded by maxTracked): a proxy's second close frame still gets its client and uid.
  }

  #refused(ev: Extract<WireEvent, { type: "refused" }>, rec: FrameRecord, at: number): void {
    rec.kind = "refused";
    rec.status = ev.status;
    rec.raw = typeof ev.body === "string" ? ev.body : "";
    rec.bytes = utf8Length(rec.raw);
    rec.error = { code: ev.code ?? "CHSK_ERR_HTTP_STATUS", message: `HTTP ${ev.status}${rec.raw ? `: ${rec.raw.slice(0, 200)}` : ""}` };
    // A refused POST: its call got this answer.
    if (ev.transport === "ajax") {
      const id = String(ev.connId);
      if (this.#calls.get(`p\0${id}`) !== undefined || this.#expired.has(`p\0${id}`)) rec.channel = "post-reply";
      this.#answerPost(id, rec, at, false);
    }
  }

  // -------------------------------------------------------------------------
  // Frames: decoded by `decodeFrame` (stateless), then paired and stitched here.

  #frame(ev: Extract<WireEvent, { type: "frame" }>, rec: FrameRecord, at: number): void {
    const data = ev.data;
    const readable = typeof data === "string" || data instanceof Uint8Array;
    const packer = readable && ev.error === undefined ? this.#detector.guess(data).packer : this.#detector.packer;
    const d = decodeFrame({ dir: rec.dir, channel: rec.channel, data, bytes: ev.bytes, status: ev.status, error: ev.error }, packer, this.#o.limits);
    applyFrame(rec, d);
    // How long the server held a poll (or took over a POST) is the gap from here to `ts`.
    if (ev.requestAt !== undefined && Number.isFinite(ev.requestAt)) rec.requestTs = isoOf(ev.requestAt);
    if (!readable) return;
    const connId = String(ev.connId);
    const s2c = rec.dir === "s2c";
    if (!s2c && rec.channel === "post") {
      // Even an unreadable POST gets an answer to pair with; whether it is a call shows once decoded.
      if (rec.clientId !== null) this.#remember(connId, rec.clientId);
      this.#calls.add(`p\0${connId}`, { record: rec, at, flag: null, conn: rec.conn });
    }
    if (d.kind === "bad") {
      // A bad answer to a POST still answers it.
      if (s2c && rec.channel === "post-reply") this.#answerPost(connId, rec, at, false);
      return;
    }
    if (!s2c) this.#clientFrame(d, rec, at, connId);
    else this.#serverFrame(d, rec, at, connId);
  }

  #clientFrame(d: DecodedFrame, rec: FrameRecord, at: number, connId: string): void {
    const conn = rec.conn;
    if (rec.channel === "ws") {
      // Any frame from the client answers the server's ping (Sente counts all activity).
      const ping = this.#serverPings.take(connId);
      if (d.kind === "pong") {
        if (ping !== undefined) this.#pair(ping, rec, at);
        else {
          const late = this.#expired.get(`s\0${connId}`);
          if (late !== undefined) {
            this.#expired.delete(`s\0${connId}`);
            this.#pair(late, rec, at);
            this.#addFlag(rec, "late");
          }
        }
        return;
      }
      if (d.kind === "ping") {
        this.#clientPings.add(`${connId}\0${d.callId}`, { record: rec, at, flag: "missed-pong", conn });
        return;
      }
      if (d.callId !== undefined) this.#calls.add(`${connId}\0${d.callId}`, { record: rec, at, flag: "unanswered", conn });
      return;
    }
    const post = rec.channel === "post" ? this.#calls.get(`p\0${connId}`) : undefined;
    if (post !== undefined && d.callId !== undefined) post.flag = "unanswered";
  }

  #serverFrame(d: DecodedFrame, rec: FrameRecord, at: number, connId: string): void {
    const channel = rec.channel;
    if (channel === "poll") this.#exchanges.delete(connId);
    switch (d.kind) {
      case "handshake": {
        const uid = d.uid!;
        this.#conn(rec.conn).uid = uid;
        if (rec.clientId !== null) {
          const open = this.#opens.get(rec.clientId);
          if (open !== undefined) open.uid = uid;
        }
        return;
      }
      case "ping":
        // The oldest unanswered ping is the one whose deadline counts.
        if (this.#serverPings.get(connId) === undefined) this.#serverPings.add(connId, { record: rec, at, flag: "missed-pong", conn: rec.conn });
        return;
      case "timeout":
        if (channel === "post-reply") this.#answerPost(connId, rec, at, true);
        return;
      case "dummy":
        this.#answerPost(connId, rec, at, false);
        return;
      case "reply":
      case "pong": {
        // An Ajax POST's answer carries no cb id: its exchange says what it answers.
        if (d.replyTo === undefined) return this.#answerPost(connId, rec, at, false);
        const key = `${connId}\0${d.replyTo}`;
        const ping = this.#clientPings.take(key);
        // A "pong" that answers a pending call is that call's reply; any answer to a pending ping is its pong.
        if (ping !== undefined || (d.kind === "pong" && this.#calls.get(key) === undefined)) {
          rec.kind = "pong";
          this.#answer(ping, key, rec, at);
          return;
        }
        rec.kind = "reply";
        this.#answer(this.#calls.take(key), key, rec, at);
        return;
      }
    }
  }

  // -------------------------------------------------------------------------
  // Pairing

  #remember(exchange: string, clientId: string): void {
    this.#exchanges.set(exchange, clientId);
    if (this.#exchanges.size > this.#o.maxTracked) this.#exchanges.delete(this.#exchanges.keys().next().value as string);
  }

  /** The answer to the POST of exchange `connId` (a reply, dummy, timeout, error or refusal). */
  #answerPost(connId: string, rec: FrameRecord, at: number, serverTimedOut: boolean): void {
    this.#exchanges.delete(connId);
    const key = `p\0${connId}`;
    const call = this.#calls.take(key);
    if (call !== undefined) {
      this.#pair(call, rec, at);
      // Sente gave up on it (`:chsk/timeout` after lp-timeout-ms): never answered.
      if (serverTimedOut && call.flag !== null) this.#flag(call.record, "unanswered");
      return;
    }
    const late = this.#expired.get(key);
    if (late !== undefined) {
      this.#expired.delete(key);
      this.#pair(late, rec, at);
      if (!serverTimedOut && rec.kind === "reply") this.#lateReply(late, rec);
      return;
    }
    if (rec.kind === "reply" || rec.kind === "dummy" || rec.kind === "timeout") this.#addFlag(rec, "orphan");
  }

  /** A WS reply (or pong) to the call under `key`, if any is known. */
  #answer(call: Pending | undefined, key: string, rec: FrameRecord, at: number): void {
    if (call !== undefined) return this.#pair(call, rec, at);
    const late = this.#expired.get(key);
    if (late !== undefined) {
      this.#expired.delete(key);
      this.#pair(late, rec, at);
      return this.#lateReply(late, rec);
    }
    this.#addFlag(rec, "orphan");
  }

  #pair(call: Pending, rec: FrameRecord, at: number): void {
    rec.pair = call.record.seq;
    rec.latencyMs = Math.max(0, at - call.at);
    call.record.pair = rec.seq;
    this.#changedRecord(call.record, { kind: "paired" });
  }

  #lateReply(call: Pending, rec: FrameRecord): void {
    this.#addFlag(rec, "late");
    const flags = call.record.flags;
    if (call.flag !== null && flags !== undefined) {
      const i = flags.indexOf(call.flag);
      if (i !== -1) {
        flags.splice(i, 1);
        if (flags.length === 0) delete call.record.flags;
        this.#changedRecord(call.record, { kind: "unflagged", flag: call.flag });
      }
    }
    this.#flag(call.record, "late");
  }

  #addFlag(rec: FrameRecord, flag: FrameFlag): boolean {
    const flags = rec.flags;
    if (flags === undefined) rec.flags = [flag];
    else if (flags.includes(flag)) return false;
    else flags.push(flag);
    return true;
  }

  /** Flag a record already returned, and tell. */
  #flag(rec: FrameRecord, flag: FrameFlag): void {
    if (this.#addFlag(rec, flag)) this.#changedRecord(rec, { kind: "flagged", flag });
  }

  #changedRecord(rec: FrameRecord, change: RecordChange): void {
    this.#changed?.push(rec);
    const f = this.#o.onUpdate;
    if (f === undefined) return;
    try {
      f(rec, change);
    } catch {
      // A listener's bug must not break decoding.
    }
  }

  // -------------------------------------------------------------------------
  // Time

  #advance(now: number): void {
    if (!(now > this.#now)) return;
    this.#now = now;
    const expire = (prefix: string) => (key: string, p: Pending) => {
      if (p.flag === null) return;
      this.#flag(p.record, p.flag);
      const k = prefix + key;
      this.#expired.set(k, p);
      if (this.#expired.size > this.#o.maxPending) this.#expired.delete(this.#expired.keys().next().value as string);
    };
    this.#calls.expire(now, expire(""));
    this.#clientPings.expire(now, expire(""));
    this.#serverPings.expire(now, expire("s\0"));
    if (this.#expired.size > 0) {
      const horizon = now - this.#lateWindowMs;
      for (const [k, p] of this.#expired) {
        if (p.deadline > horizon) break;
        this.#expired.delete(k);
      }
    }
  }
}
