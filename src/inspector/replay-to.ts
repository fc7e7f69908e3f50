/**
 * `chsk inspect --replay FILE --to URL`: a regression check for a Sente
 * app. The recording's client→server events are sent again to a live
 * server, in order, through a real chsk client (the public `chsk/client`
 * API, with `chsk call`'s session options); each call's new reply is
 * awaited by its cb id and compared with the recorded one.
 *
 * Per event, the outcome is one of:
 *
 * | status | the call… |
 * |---|---|
 * | `equal` | got a reply equal to the recorded one (maps and sets in any order), or got none, as recorded |
 * | `different` | got another reply than recorded, or a reply where none was recorded |
 * | `missing` | got no reply within `timeoutMs`, where one was recorded |
 * | `new-error` | failed (closed, refused, transport error) |
 * | `sent` | an event without a callback: sent (nothing to compare) |
 *
 * Pacing. With the recorded pacing, each event goes out as long after the
 * first as it did in the recording. `asFastAsPossible` drops the waits. In
 * both, an event waits for the replies that, in the recording, had come
 * back before it was sent: an app's later calls often depend on the effect
 * of earlier ones (create, then read), and that order is kept.
 *
 * Pushes are not compared by default: what a server pushes depends on
 * other clients, other users and the server's own timers, none of which a
 * replay of one client's events reproduces, so a difference would be
 * noise. `comparePushes` compares the sequence of pushed events (ids and
 * data) for the apps whose pushes only the replayed events cause.
 */
import {
  bootstrapSession,
  type Client,
  type ClientOptions,
  type ClientType,
  createClient as createNodeClient,
  PACKER_NAMES,
  type Packer,
  type PackerName,
  packerByName,
} from "../core/client/index.node.js";
import { ChskError, type ChskEvent, decodeClientMessage, type FrameRecord, isChskError, kw, readEdn, showEdn } from "../core/index.js";
import { ednEquivalent } from "./edn-equivalent.js";

export type ReplayStatus = "equal" | "different" | "missing" | "new-error" | "sent";

/** How a call ended, in the recording or now. */
export type CallOutcome =
  /** A reply came: its value, as EDN. */
  | { kind: "reply"; value: string; latencyMs?: number }
  /** No reply (none came, or the server's Ajax `:chsk/timeout`). */
  | { kind: "none" }
  /** It failed: refused (with the HTTP status), closed, a transport error. */
  | { kind: "error"; code: string; message: string; status?: number };

/** One replayed event and what became of it. */
export interface ReplayedEvent {
  /** Position among the replayed events, from 1. */
  n: number;
  /** The event's `seq` in the recording. */
  seq: number;
  /** When it was sent in the recording. */
  ts: string;
  eventId: string;
  /** The event as sent, EDN. */
  event: string;
  /** It asked for a reply. */
  call: boolean;
  status: ReplayStatus;
  /** The recorded outcome (calls only). */
  recorded?: CallOutcome;
  /** The new outcome (calls); for an event without a callback, an error if it could not be sent. */
  received?: CallOutcome;
}

export interface PushComparison {
  equal: boolean;
  /** Pushed events (`[:id data]`, EDN) on the replayed connections in the recording, in order. */
  recorded: string[];
  /** Pushed events received during the replay, in order. */
  received: string[];
  /** The first position (from 0) where they differ; undefined when equal. */
  firstDifference?: number;
}

export interface ReplayToResult {
  /** Every call equal, every event sent, the pushes equal (when compared), not interrupted: exit 0. */
  ok: boolean;
  url: string;
  transport: "ws" | "ajax";
  packer: string;
  events: ReplayedEvent[];
  summary: { events: number; calls: number; equal: number; different: number; missing: number; newError: number; sent: number };
  /** Undefined unless `comparePushes`. */
  pushes?: PushComparison;
  /** The replay was stopped (`signal`) before every event was sent. */
  interrupted: boolean;
}

export interface ReplayToOptions {
  /** The recording, decoded (in order): from `--replay FILE.jsonl` or `--har FILE.har` (see `loadRecording`). */
  records: Iterable<FrameRecord>;
  /** The live server's chsk endpoint (`http(s)://host:port/chsk`). */
  url: string;
  /** Only these recorded events are replayed (`--filter`). @default every client→server event outside `chsk/*` */
  filter?: (record: FrameRecord) => boolean;
  /** @default the transport of the first replayed event */
  transport?: ClientType;
  /** @default the recording's packer (when chsk knows it), else "edn" */
  packer?: PackerName | Packer;
  /** Send every event as soon as the replies it depended on are in, without the recorded gaps. @default false */
  asFastAsPossible?: boolean;
  /** Per call, ms: no reply by then is `missing`. Also bounds the connection and the session's requests. @default 5000 */
  timeoutMs?: number;
  /** Compare the sequence of pushes too (see the module comment). @default false */
  comparePushes?: boolean;
  /** Log in as this uid first (`POST <origin>/login`). @default no login */
  login?: string | undefined;
  /** Initial cookies, `a=b; c=d`. @default none */
  cookie?: string | undefined;
  /** Extra headers, for the session's requests and the client. @default {} */
  headers?: Record<string, string>;
  /** A CSRF token (no `/csrf` probe then). @default probed */
  csrfToken?: string | undefined;
  /** Extra query params on the channel's requests. @default {} */
  params?: Record<string, string>;
  /** False: no `GET /csrf` probe. @default true */
  session?: boolean;
  /** Called as each event's outcome is known (the CLI prints it). @default none */
  onEvent?: (event: ReplayedEvent) => void;
  /** Stops the replay: events not yet sent are left out, `interrupted` is set. */
  signal?: AbortSignal;
  /** @default `createClient` of `chsk/client` (Node) */
  createClient?: (options: ClientOptions) => Client;
  /** More client options, passed on as they are. @default {} */
  client?: Omit<ClientOptions, "url" | "type" | "packer" | "csrfToken" | "params" | "headers" | "autoConnect" | "signal">;
  /** For the session bootstrap. @default undici */
  fetch?: typeof fetch;
}

/** A recorded client event worth sending again. */
const isClientEvent = (r: FrameRecord): boolean =>
  r.dir === "c2s" && r.kind === "event" && r.eventId !== undefined && !r.eventId.startsWith("chsk/");

const isPackerName = (x: string | undefined): x is PackerName => x !== undefined && (PACKER_NAMES as readonly string[]).includes(x);

/** The event a record carried: decoded from `raw` with the recorded packer, else read from its EDN `data`. */
function eventOf(r: FrameRecord): ChskEvent {
  if (isPackerName(r.packer)) {
    const packer = packerByName(r.packer);
    const raw = r.binary ? new Uint8Array(Buffer.from(r.raw, "base64")) : r.raw;
    const m = decodeClientMessage(packer, raw);
    if (m.ok && m.value.event[0] === r.eventId) return m.value.event;
  }
  if (r.data === undefined) return [r.eventId!];
  const v = readEdn(r.data);
  if (!v.ok) throw new ChskError("CHSK_ERR_BAD_EVENT", `the recorded event #${r.seq} does not read back: ${v.error.message}`);
  return [r.eventId!, v.value];
}

const eventText = (ev: ChskEvent): string => showEdn(ev.length >= 2 ? [kw(ev[0]), ev[1]] : [kw(ev[0])]);

/** How a recorded call ended, from its answer record. */
function recordedOutcome(answer: FrameRecord | undefined): CallOutcome {
  if (answer === undefined) return { kind: "none" };
  switch (answer.kind) {
    case "reply":
      return { kind: "reply", value: answer.data ?? "nil", ...(answer.latencyMs === undefined ? {} : { latencyMs: answer.latencyMs }) };
    case "refused":
      return { kind: "error", code: answer.error?.code ?? "CHSK_ERR_HTTP_STATUS", message: answer.error?.message ?? "", ...(answer.status === undefined ? {} : { status: answer.status }) };
    case "bad":
      return { kind: "error", code: answer.error?.code ?? "CHSK_ERR_UNPACK", message: answer.error?.message ?? "unreadable answer" };
    default:
      // :chsk/timeout (Ajax), :chsk/dummy-cb-200: no reply value.
      return { kind: "none" };
  }
}

function statusOf(recorded: CallOutcome, received: CallOutcome): ReplayStatus {
  if (received.kind === "error") {
    const sameRefusal = recorded.kind === "error" && recorded.status !== undefined && recorded.status === received.status;
    return sameRefusal ? "equal" : "new-error";
  }
  if (recorded.kind === "reply") {
    if (received.kind === "none") return "missing";
    return ednEquivalent(recorded.value, received.value) ? "equal" : "different";
  }
  if (recorded.kind === "none") return received.kind === "none" ? "equal" : "different";
  // Recorded a failure, got an answer now.
  return "different";
}

interface Planned {
  record: FrameRecord;
  event: ChskEvent;
  call: boolean;
  answer: FrameRecord | undefined;
  at: number;
  /** When the recorded answer came (Infinity: never). */
  answerAt: number;
}

/** The events to send and their recorded answers, from one pass over the recording. */
function plan(records: Iterable<FrameRecord>, filter: (r: FrameRecord) => boolean, comparePushes: boolean) {
  const planned: Planned[] = [];
  const bySeq = new Map<number, Planned>();
  /** WS calls without `pair`, by `conn\0cb`, for answers that name their call only by cb id. */
  const byCb = new Map<string, Planned>();
  const pushes: { conn: string; events: string[] }[] = [];
  for (const r of records) {
    if (isClientEvent(r) && filter(r)) {
      const p: Planned = { record: r, event: eventOf(r), call: r.cbId !== null && r.cbId !== undefined, answer: undefined, at: Date.parse(r.ts), answerAt: Infinity };
      planned.push(p);
      bySeq.set(r.seq, p);
      if (p.call && r.transport === "ws") byCb.set(`${r.conn}\0${r.cbId}`, p);
      continue;
    }
    if (r.dir !== "s2c") continue;
    if (r.kind === "push" && comparePushes) {
      const events = r.events ?? (r.eventId === undefined ? [] : [{ eventId: r.eventId, data: r.data }]);
      pushes.push({ conn: r.conn, events: events.map((e) => (e.data === undefined ? `[:${e.eventId}]` : `[:${e.eventId} ${e.data}]`)) });
      continue;
    }
    const call = (r.pair === undefined ? undefined : bySeq.get(r.pair)) ?? (r.kind === "reply" && r.transport === "ws" ? byCb.get(`${r.conn}\0${r.cbId}`) : undefined);
    if (call !== undefined && call.call && call.answer === undefined && r.seq > call.record.seq) {
      call.answer = r;
      call.answerAt = Date.parse(r.ts);
      byCb.delete(`${call.record.conn}\0${call.record.cbId}`);
    }
  }
  const conns = new Set(planned.map((p) => p.record.conn));
  return { planned, recordedPushes: pushes.filter((p) => conns.has(p.conn)).flatMap((p) => p.events) };
}

const deadline = (ms: number, signal?: AbortSignal) =>
  new Promise<"timeout">((resolve) => {
    const t = setTimeout(() => resolve("timeout"), ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve("timeout");
    }, { once: true });
  });

const errorOutcome = (e: unknown): CallOutcome => {
  if (isChskError(e)) return { kind: "error", code: e.code, message: e.message, ...(e.status === undefined ? {} : { status: e.status }) };
  return { kind: "error", code: "CHSK_ERR_TRANSPORT", message: e instanceof Error ? e.message : String(e) };
};

/**
 * Replays the recording's client events to `url` and compares the replies.
 * Rejects with a `ChskError` only when it cannot run at all: no event to
 * replay (`CHSK_ERR_BAD_EVENT`), the session refused (`CHSK_ERR_LOGIN_REFUSED`…),
 * no connection within `timeoutMs` (`CHSK_ERR_TIMEOUT`, or the refusal's code).
 */
export async function replayTo(options: ReplayToOptions): Promise<ReplayToResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const { planned, recordedPushes } = plan(options.records, options.filter ?? (() => true), options.comparePushes === true);
  const first = planned[0];
  if (first === undefined) throw new ChskError("CHSK_ERR_BAD_EVENT", "the recording has no client event to replay (client→server events outside chsk/*)");
  const transport: "ws" | "ajax" = options.transport === "ws" || options.transport === "ajax" ? options.transport : first.record.transport;
  const packer: Packer =
    typeof options.packer === "object" ? options.packer : packerByName(options.packer ?? (isPackerName(first.record.packer) ? first.record.packer : "edn"));

  const session = await bootstrapSession({
    url: options.url,
    login: options.login,
    csrfToken: options.csrfToken,
    probe: options.session !== false,
    cookie: options.cookie,
    headers: options.headers ?? {},
    timeoutMs,
    signal: options.signal,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const client = (options.createClient ?? createNodeClient)({
    ...options.client,
    url: options.url,
    type: transport,
    packer,
    csrfToken: session.csrfToken,
    params: options.params ?? {},
    headers: session.headers,
    autoConnect: false,
  });
  const received: string[] = [];
  const stopRecv = client.on("recv", (ev: ChskEvent) => void received.push(eventText(ev)));
  try {
    client.connect();
    await openWithin(client, timeoutMs, options.signal);
    const events = await sendAll(client, planned, options, timeoutMs);
    let pushes: PushComparison | undefined;
    if (options.comparePushes) {
      // Pushes still on their way: wait for as many as were recorded (bounded by the timeout).
      const until = Date.now() + timeoutMs;
      while (received.length < recordedPushes.length && Date.now() < until && !options.signal?.aborted) await new Promise((r) => setTimeout(r, 20));
      pushes = comparePushSequences(recordedPushes, received);
    }
    const count = (s: ReplayStatus) => events.filter((e) => e.status === s).length;
    const summary = {
      events: events.length,
      calls: events.filter((e) => e.call).length,
      equal: count("equal"),
      different: count("different"),
      missing: count("missing"),
      newError: count("new-error"),
      sent: count("sent"),
    };
    const interrupted = events.length < planned.length;
    const ok = !interrupted && summary.equal + summary.sent === summary.events && (pushes?.equal ?? true);
    return { ok, url: options.url, transport, packer: packer.name, events, summary, ...(pushes === undefined ? {} : { pushes }), interrupted };
  } finally {
    stopRecv();
    await Promise.race([client.close().catch(() => {}), deadline(2000)]);
  }
}

async function openWithin(client: Client, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const opened = client.whenOpen().then(
    () => "open" as const,
    (e: unknown) => e,
  );
  const first = await Promise.race([opened, deadline(timeoutMs, signal)]);
  if (first === "open") return;
  if (signal?.aborted) throw new ChskError("CHSK_ERR_CLOSED", "interrupted before the connection opened");
  const last = client.state.lastError;
  if (last !== undefined) throw new ChskError(last.code, `no connection to the server: ${last.message}`, last.status === undefined ? {} : { status: last.status });
  throw new ChskError("CHSK_ERR_TIMEOUT", `no connection within ${timeoutMs} ms`);
}

async function sendAll(client: Client, planned: Planned[], o: ReplayToOptions, timeoutMs: number): Promise<ReplayedEvent[]> {
  const out: ReplayedEvent[] = [];
  const inflight: { answerAt: number; done: Promise<unknown> }[] = [];
  const startedAt = Date.now();
  const firstAt = planned[0]!.at;
  const signal = o.signal;
  for (let i = 0; i < planned.length; i++) {
    if (signal?.aborted) break;
    const p = planned[i]!;
    // The replies the recording had before this event was sent.
    const before = inflight.filter((f) => f.answerAt <= p.at).map((f) => f.done);
    if (before.length > 0) await Promise.all(before);
    if (!o.asFastAsPossible) {
      const wait = startedAt + (p.at - firstAt) - Date.now();
      if (wait > 0) await deadline(wait, signal);
    }
    if (signal?.aborted) break;
    const base = { n: i + 1, seq: p.record.seq, ts: p.record.ts, eventId: p.event[0], event: eventText(p.event), call: p.call };
    if (!client.state.open) {
      try {
        await openWithin(client, timeoutMs, signal);
      } catch (e) {
        const entry: ReplayedEvent = p.call
          ? { ...base, status: "new-error", recorded: recordedOutcome(p.answer), received: errorOutcome(e) }
          : { ...base, status: "new-error", received: errorOutcome(e) };
        out[i] = entry;
        o.onEvent?.(entry);
        continue;
      }
    }
    if (!p.call) {
      let entry: ReplayedEvent;
      try {
        entry = client.send(p.event)
          ? { ...base, status: "sent" }
          : { ...base, status: "new-error", received: { kind: "error", code: "CHSK_ERR_CLOSED", message: "not sent: the connection closed" } };
      } catch (e) {
        entry = { ...base, status: "new-error", received: errorOutcome(e) };
      }
      out[i] = entry;
      o.onEvent?.(entry);
      continue;
    }
    const recorded = recordedOutcome(p.answer);
    const sentAt = Date.now();
    let reply: Promise<unknown>;
    try {
      reply = client.send(p.event, { timeoutMs }) as Promise<unknown>;
    } catch (e) {
      reply = Promise.reject(e);
    }
    const done = reply.then(
      (value): CallOutcome => ({ kind: "reply", value: showEdn(value), latencyMs: Date.now() - sentAt }),
      (e: unknown): CallOutcome => (isChskError(e, "CHSK_ERR_TIMEOUT") ? { kind: "none" } : errorOutcome(e)),
    ).then((got) => {
      const entry: ReplayedEvent = { ...base, status: statusOf(recorded, got), recorded, received: got };
      out[i] = entry;
      o.onEvent?.(entry);
    });
    inflight.push({ answerAt: p.answerAt, done });
  }
  await Promise.all(inflight.map((f) => f.done));
  // Events never sent (interrupted) leave holes: the result lists what was replayed.
  return out.filter((e) => e !== undefined);
}

function comparePushSequences(recorded: string[], received: string[]): PushComparison {
  const n = Math.max(recorded.length, received.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i];
    const b = received[i];
    if (a === undefined || b === undefined || !ednEquivalent(a, b)) return { equal: false, recorded, received, firstDifference: i };
  }
  return { equal: true, recorded, received };
}
