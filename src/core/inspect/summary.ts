/**
 * `createSessionModel`: per-connection and per-user summaries of a session,
 * fed record by record (and the decoder's updates), in bounded memory:
 * counters, a fixed-size latency histogram and the last few ping gaps per
 * connection; at most `maxConns` connections and `maxUsers` users (the
 * least recently active are forgotten first, closed connections before
 * open ones).
 *
 * A record counts for the user its connection had at the time: an Ajax
 * client that logs in (same client id, new handshake uid) moves to the new
 * user from then on.
 *
 * @example
 * const model = createSessionModel();
 * const decoder = createFrameDecoder({ onUpdate: (r, c) => model.update(r, c) });
 * source.onEvent((e) => model.add(decoder.push(e)));
 * model.conns(); // [{ conn: "ws-1", calls: 12, latency: { p50: 3.1, p99: 9.8, … }, … }]
 */
import type { RecordChange } from "./decoder-options.js";
import { LatencyHistogram, type LatencyStats } from "./latency-histogram.js";
import type { FrameRecord, WireTransport } from "./types.js";

export type { LatencyStats } from "./latency-histogram.js";

/** Counts shared by connection, user and session summaries. */
export interface SummaryCounts {
  /** Frames (records that are not `open` / `close` / `refused`). */
  frames: number;
  /** Payload bytes, client to server. */
  bytesC2s: number;
  /** Payload bytes, server to client. */
  bytesS2c: number;
  /** Client events (with or without a cb id; not pings or pongs). */
  events: number;
  /** Events that asked for a reply (a cb id, an Ajax `:ajax` / `0`). */
  calls: number;
  /** Replies (WS replies, Ajax POST reply values). */
  replies: number;
  /** Events pushed by the server (a batch counts each of its events). */
  pushes: number;
  /** Push batches (frames). */
  pushBatches: number;
  /** Calls flagged `unanswered` (and not answered late since). */
  unanswered: number;
  /** Replies that came after their call's timeout. */
  late: number;
  /** Replies with no call to pair them with. */
  orphans: number;
  /** Records carrying an error: bad frames, refusals, bad events, abnormal closes. */
  errors: number;
  /** Frames that could not be decoded. */
  bad: number;
  /** Refused requests (403 CSRF, 401, …). */
  refused: number;
  /** `open`s of a client id seen before. */
  reconnects: number;
  /** Pings, both ways (server `:chsk/ws-ping`, client `[:chsk/ws-ping]`). */
  pings: number;
  /** Pings flagged `missed-pong`. */
  missedPongs: number;
  /** Reply latency (calls with a reply); null with none. */
  latency: LatencyStats | null;
}

export interface ConnSummary extends SummaryCounts {
  /** The logical connection (`ws-3`, `ajax:<client-id>`). */
  conn: string;
  transport: WireTransport;
  clientId: string | null;
  /** The uid last seen on it (EDN text). */
  uid?: string;
  /** First and last record, ISO 8601. */
  firstTs: string;
  lastTs: string;
  /** False once a `close` was seen (Ajax connections have none unless the source says so). */
  open: boolean;
  /** The last close code, if closed. */
  closeCode?: number;
  /**
   * Heartbeat cadence: the median gap (ms) between the last few server
   * pings and between the last few client pings; null before two pings.
   */
  heartbeat: { serverPingMs: number | null; clientPingMs: number | null };
}

export interface UserSummary extends SummaryCounts {
  /** The uid as EDN text (`"alice"`, `:sente/nil-uid`). */
  uid: string;
  /** Logical connections of this user still tracked (WS sockets and Ajax clients), and how many are open. */
  conns: number;
  openConns: number;
  /** Distinct client ids (browser tabs) among those connections. */
  clients: number;
  transports: WireTransport[];
  firstTs: string;
  lastTs: string;
}

export interface SessionModelOptions {
  /** Connections summarised at once; the least recently active closed ones go first. @default 10_000 */
  maxConns?: number;
  /** Users summarised at once; the least recently active go first. @default 10_000 */
  maxUsers?: number;
}

export interface SessionModel {
  /** Count one new record (from the decoder, or from a recording). */
  add(record: FrameRecord): void;
  /** Count a change to a record already added (the decoder's `onUpdate`). */
  update(record: FrameRecord, change: RecordChange): void;
  /** One connection, by its `conn`. */
  conn(conn: string): ConnSummary | undefined;
  /** Every connection, in order of first appearance. */
  conns(): ConnSummary[];
  /** One user, by uid (EDN text). */
  user(uid: string): UserSummary | undefined;
  /** Every user, in order of first appearance. */
  users(): UserSummary[];
  /** The whole session. */
  totals(): SummaryCounts & { conns: number; users: number; records: number };
}

const GAPS = 16;

/** The last {@link GAPS} gaps between pings, for a median cadence. */
class Gaps {
  readonly #gaps = new Float64Array(GAPS);
  #n = 0;
  #last = NaN;

  note(at: number): void {
    if (!Number.isNaN(this.#last) && at >= this.#last) this.#gaps[this.#n++ % GAPS] = at - this.#last;
    this.#last = at;
  }

  median(): number | null {
    const n = Math.min(this.#n, GAPS);
    if (n === 0) return null;
    const xs = Array.from(this.#gaps.subarray(0, n)).sort((a, b) => a - b);
    const mid = n >> 1;
    return n % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  }
}

class Counts {
  frames = 0;
  bytesC2s = 0;
  bytesS2c = 0;
  events = 0;
  calls = 0;
  replies = 0;
  pushes = 0;
  pushBatches = 0;
  unanswered = 0;
  late = 0;
  orphans = 0;
  errors = 0;
  bad = 0;
  refused = 0;
  reconnects = 0;
  pings = 0;
  missedPongs = 0;
  readonly latency = new LatencyHistogram();
  /** For the least-recently-active order (see `touch`). */
  insertedAt = 0;
  firstTs = "";
  lastTs = "";

  snapshot(): SummaryCounts {
    return {
      frames: this.frames,
      bytesC2s: this.bytesC2s,
      bytesS2c: this.bytesS2c,
      events: this.events,
      calls: this.calls,
      replies: this.replies,
      pushes: this.pushes,
      pushBatches: this.pushBatches,
      unanswered: this.unanswered,
      late: this.late,
      orphans: this.orphans,
      errors: this.errors,
      bad: this.bad,
      refused: this.refused,
      reconnects: this.reconnects,
      pings: this.pings,
      missedPongs: this.missedPongs,
      latency: this.latency.stats(),
    };
  }
}

class ConnAcc extends Counts {
  uid: string | undefined;
  open = true;
  closeCode: number | undefined;
  serverPings: Gaps | null = null;
  clientPings: Gaps | null = null;
  constructor(
    readonly conn: string,
    readonly transport: WireTransport,
    public clientId: string | null,
  ) {
    super();
  }
}

class UserAcc extends Counts {
  readonly conns = new Set<string>();
  readonly transports = new Set<WireTransport>();
  constructor(readonly uid: string) {
    super();
  }
}

const isReplyKind = (k: FrameRecord["kind"]): boolean => k === "reply" || k === "pong" || k === "timeout" || k === "dummy";
/** Client-side cap per user: a user with thousands of reconnects keeps counting, not listing. */
const MAX_IDS_PER_USER = 1024;

/** A session model. See the module comment. */
export function createSessionModel(options: SessionModelOptions = {}): SessionModel {
  const maxConns = limit("maxConns", options.maxConns);
  const maxUsers = limit("maxUsers", options.maxUsers);
  const conns = new Map<string, ConnAcc>();
  const users = new Map<string, UserAcc>();
  const total = new Counts();
  let records = 0;

  // Maps in (roughly) least-recently-active order, so the front is what to forget first. Re-inserting
  // on every record costs a delete and a set; an entry is moved only once it has drifted into the
  // older half, which keeps the order right where eviction looks.
  let inserts = 0;
  const touch = <K, V extends { insertedAt: number }>(m: Map<K, V>, k: K, v: V, max: number) => {
    if (inserts - v.insertedAt < max >> 1) return;
    m.delete(k);
    m.set(k, v);
    v.insertedAt = inserts++;
  };

  function connOf(r: FrameRecord): ConnAcc {
    let c = conns.get(r.conn);
    if (c === undefined) {
      c = new ConnAcc(r.conn, r.transport, r.clientId);
      c.firstTs = r.ts;
      c.insertedAt = inserts++;
      conns.set(r.conn, c);
      if (conns.size > maxConns) evictConn();
    } else touch(conns, r.conn, c, maxConns);
    if (c.clientId === null && r.clientId !== null) c.clientId = r.clientId;
    return c;
  }

  function evictConn(): void {
    for (const [k, c] of conns) {
      if (!c.open) {
        forgetConn(k, c);
        return;
      }
    }
    const [k, c] = conns.entries().next().value as [string, ConnAcc];
    forgetConn(k, c);
  }

  function forgetConn(k: string, c: ConnAcc): void {
    conns.delete(k);
    if (c.uid !== undefined) users.get(c.uid)?.conns.delete(k);
  }

  function userOf(uid: string, r: FrameRecord, c: ConnAcc): UserAcc {
    let u = users.get(uid);
    if (u === undefined) {
      u = new UserAcc(uid);
      u.firstTs = r.ts;
      u.insertedAt = inserts++;
      users.set(uid, u);
      if (users.size > maxUsers) users.delete(users.keys().next().value as string);
    } else touch(users, uid, u, maxUsers);
    if (u.conns.size < MAX_IDS_PER_USER || u.conns.has(c.conn)) u.conns.add(c.conn);
    u.transports.add(c.transport);
    return u;
  }

  function count(a: Counts, r: FrameRecord): void {
    if (a.firstTs === "") a.firstTs = r.ts;
    a.lastTs = r.ts;
    const k = r.kind;
    if (k !== "open" && k !== "close" && k !== "refused") {
      a.frames++;
      if (r.dir === "c2s") a.bytesC2s += r.bytes;
      else a.bytesS2c += r.bytes;
    }
    if (r.error !== undefined) a.errors++;
    switch (k) {
      case "event":
        a.events++;
        if (r.cbId !== null && r.cbId !== undefined) a.calls++;
        break;
      case "reply":
        a.replies++;
        if (r.latencyMs !== undefined && r.pair !== undefined) a.latency.record(r.latencyMs);
        break;
      case "push":
        a.pushBatches++;
        a.pushes += r.events?.length ?? 0;
        break;
      case "ping":
        a.pings++;
        break;
      case "bad":
        a.bad++;
        break;
      case "refused":
        a.refused++;
        break;
    }
    const flags = r.flags;
    if (flags !== undefined) for (const f of flags) flag(a, r, f, 1);
  }

  function flag(a: Counts, r: FrameRecord, f: string, d: 1 | -1): void {
    switch (f) {
      case "unanswered":
        a.unanswered += d;
        break;
      case "late":
        // A late answer flags the call too; count it once, on the answer.
        if (isReplyKind(r.kind)) a.late += d;
        break;
      case "orphan":
        a.orphans += d;
        break;
      case "missed-pong":
        a.missedPongs += d;
        break;
      case "reconnect":
        a.reconnects += d;
        break;
    }
  }

  /** Where an update to `r` is counted: its connection and the user it was counted for. */
  function targets(r: FrameRecord): Counts[] {
    const out: Counts[] = [total];
    const c = conns.get(r.conn);
    if (c !== undefined) out.push(c);
    const uid = r.uid ?? c?.uid;
    const u = uid === undefined ? undefined : users.get(uid);
    if (u !== undefined) out.push(u);
    return out;
  }

  const heartbeat = (c: ConnAcc) => ({ serverPingMs: c.serverPings?.median() ?? null, clientPingMs: c.clientPings?.median() ?? null });

  function connSummary(c: ConnAcc): ConnSummary {
    const s: ConnSummary = {
      conn: c.conn,
      transport: c.transport,
      clientId: c.clientId,
      ...c.snapshot(),
      firstTs: c.firstTs,
      lastTs: c.lastTs,
      open: c.open,
      heartbeat: heartbeat(c),
    };
    if (c.uid !== undefined) s.uid = c.uid;
    if (c.closeCode !== undefined) s.closeCode = c.closeCode;
    return s;
  }

  function userSummary(u: UserAcc): UserSummary {
    let openConns = 0;
    // Distinct tabs among the connections still tracked (kept as a set, they would grow with every reconnect).
    const clients = new Set<string>();
    for (const k of u.conns) {
      const c = conns.get(k);
      if (c === undefined) continue;
      if (c.open) openConns++;
      if (c.clientId !== null) clients.add(c.clientId);
    }
    return {
      uid: u.uid,
      ...u.snapshot(),
      conns: u.conns.size,
      openConns,
      clients: clients.size,
      transports: [...u.transports],
      firstTs: u.firstTs,
      lastTs: u.lastTs,
    };
  }

  return {
    add(r) {
      records++;
      const c = connOf(r);
      if (r.uid !== undefined && r.uid !== c.uid) {
        if (c.uid !== undefined) users.get(c.uid)?.conns.delete(c.conn);
        c.uid = r.uid;
      }
      count(total, r);
      count(c, r);
      if (c.uid !== undefined) count(userOf(c.uid, r, c), r);
      const at = Date.parse(r.ts);
      if (r.kind === "ping") {
        if (r.dir === "s2c") (c.serverPings ??= new Gaps()).note(at);
        else (c.clientPings ??= new Gaps()).note(at);
      } else if (r.kind === "close") {
        c.open = false;
        if (r.status !== undefined) c.closeCode = r.status;
      } else if (r.kind === "open") c.open = true;
    },
    update(r, change) {
      if (change.kind === "paired") {
        // A reply counts its latency when it is added; nothing to do for the call.
        return;
      }
      const d = change.kind === "flagged" ? 1 : -1;
      for (const a of targets(r)) flag(a, r, change.flag, d);
    },
    conn(k) {
      const c = conns.get(k);
      return c === undefined ? undefined : connSummary(c);
    },
    conns() {
      return [...conns.values()].sort((a, b) => (a.firstTs < b.firstTs ? -1 : a.firstTs > b.firstTs ? 1 : 0)).map(connSummary);
    },
    user(uid) {
      const u = users.get(uid);
      return u === undefined ? undefined : userSummary(u);
    },
    users() {
      return [...users.values()].sort((a, b) => (a.firstTs < b.firstTs ? -1 : a.firstTs > b.firstTs ? 1 : 0)).map(userSummary);
    },
    totals() {
      return { ...total.snapshot(), conns: conns.size, users: users.size, records };
    },
  };
}

function limit(name: string, v: unknown): number {
  if (v === undefined) return 10_000;
  if (typeof v !== "number") throw new TypeError(`The "${name}" option must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`The "${name}" option must be an integer >= 1, got ${v}`);
  return v;
}

/**
 * Summaries of records already decoded (a recording, a ring buffer): the
 * records' own flags are counted, as {@link SessionModel.add} does.
 */
export function summarize(
  records: Iterable<FrameRecord>,
  options?: SessionModelOptions,
): { conns: ConnSummary[]; users: UserSummary[]; totals: ReturnType<SessionModel["totals"]> } {
  const m = createSessionModel(options);
  for (const r of records) m.add(r);
  return { conns: m.conns(), users: m.users(), totals: m.totals() };
}
