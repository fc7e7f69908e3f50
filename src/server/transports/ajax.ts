/**
 * The Ajax transport: long-poll GETs and event POSTs (protocol.md §1, §4, §5.4).
 *
 * GET with `handshake?` (any value), or from a client the table doesn't
 * know → answered at once with the handshake; the client's entry is stored
 * without a channel and no `uidport-open` fires yet. Any other GET is held
 * (the client's "channel"): the first one opens the uid's port, a push
 * answers it, and after `lpTimeoutMs` it is answered `[:chsk/timeout nil]`.
 * A newer poll from the same client takes over as the channel; the older
 * one is held until its own timeout, and a client may hold at most
 * `maxPendingPollsPerClient` polls (more → 429).
 *
 * POST: the body's `ppstr` (or the raw body with `binary?`) is one client
 * message. No reply wanted → `[:chsk/dummy-cb-200 nil]` at once, then the
 * event is routed. Reply wanted → the handler's `reply(v)` answers
 * `[v nil]` once; nothing within `lpTimeoutMs` → `[:chsk/timeout nil]`.
 *
 * Timeouts are not timers: polls, POSTs and POST bodies being read wait in
 * insertion-ordered sets (insertion order = deadline order, the timeout
 * being constant) that the server's sweep walks. A POST body still
 * incomplete after `bodyTimeoutMs` (a client trickling it) is answered 408
 * `CHSK_ERR_BODY_TIMEOUT` and its connection closed.
 *
 * A client that stops polling while pushes pile up for it is a slow
 * consumer once its kept frames pass `maxBufferedBytesPerClient` (see
 * `Outbox`): it is dropped from the table, and its next poll, if any, gets
 * a fresh handshake.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ChskError, type ChskErrorCode } from "../../core/protocol/errors.js";
import { decodeClientMessage, encodeHandshake, encodeReply } from "../../core/protocol/codec.js";
import { readAjaxPost } from "../../core/inspect/ajax-post.js";
import { chain, isThenable, type Admission, type ServerCore, type ServerTransport } from "../core.js";
import { Entry } from "../registry.js";
import { errorAnswer, isBlank, postBodyReader, Request, writeAnswer } from "../request.js";
import type { HttpAnswer, Transport, Uid } from "../types.js";

const kPoll = Symbol("chsk:poll");
const TEXT_TYPE = "text/plain; charset=utf-8";
const BINARY_TYPE = "application/octet-stream";

type Res = ServerResponse & { [kPoll]?: Poll };

/** One Ajax client (uid + client id), across its polls. */
export class AjaxClient extends Entry {
  /** The newest held poll: where pushes go. */
  current: Poll | null = null;
  /** Polls held for this client, `current` included. */
  held = 0;
  /** Why the server dropped it, for the `conn:close` tap. */
  closeReason: string | null = null;
  /** Clustered: a take from the cluster's queue is in flight; `takeAgain`: a wake-up came meanwhile. */
  taking = false;
  takeAgain = false;

  constructor(
    readonly host: AjaxTransport,
    uid: Uid,
    clientId: string,
    req: Request,
    now: number,
  ) {
    super(uid, clientId, req, now);
  }

  get transport(): Transport {
    return "ajax";
  }

  get isConnected(): boolean {
    return this.current !== null;
  }

  deliver(frame: string | Uint8Array, now: number, wire: string | Uint8Array): boolean {
    const poll = this.current;
    return poll !== null && this.host.answer(poll, frame, now, wire);
  }

  cut(reason: string): void {
    this.closeReason ??= reason;
    this.host.closeClient(this);
  }

  close(): void {
    this.host.closeClient(this);
  }

  override removed(): void {
    const core = this.host.core;
    if (!core.taps.on) return;
    // Its handshake GET's id, when that was tapped.
    const connId = core.taps.idOf(this, "ajax-");
    const ev = { type: "conn:close" as const, transport: "ajax" as const, connId, uid: this.uid, clientId: this.clientId, at: core.clock.now() };
    core.taps.emit(this.closeReason === null ? ev : { ...ev, reason: this.closeReason });
  }
}

export class Poll {
  done = false;
  constructor(
    readonly client: AjaxClient,
    readonly res: Res,
    readonly deadline: number,
  ) {}
}

/** A POST whose body is still arriving. */
class BodyRead {
  done = false;
  constructor(
    readonly res: Res,
    readonly deadline: number,
    readonly clientId: string,
  ) {}
}

class PendingPost {
  done = false;
  constructor(
    readonly res: Res,
    readonly deadline: number,
    readonly uid: Uid,
    readonly clientId: string,
    readonly eventId: string,
    /** `performance.now()` when the frame arrived, if taps were on. */
    readonly t0: number,
  ) {}
}

function onPollClose(this: Res): void {
  const poll = this[kPoll];
  if (poll !== undefined && !poll.done) poll.client.host.finish(poll);
}

export class AjaxTransport implements ServerTransport {
  readonly name = "ajax" as const;
  readonly binary: boolean;
  readonly #polls = new Set<Poll>();
  readonly #posts = new Set<PendingPost>();
  readonly #reads = new Set<BodyRead>();
  readonly #postsPerClient = new Map<string, number>();

  constructor(readonly core: ServerCore) {
    this.binary = core.packer.binary;
    core.addTransport(this);
  }

  /** Clustered: a frame was queued for a client whose poll may be held here. */
  wake(clientId: string): void {
    const client = this.core.registry.byClient.ajax.get(clientId) as AjaxClient | undefined;
    if (client !== undefined && client.current !== null) this.#clusterTake(client, false, false);
  }

  // -------------------------------------------------------------------------
  // GET: handshake or long-poll

  get(raw: IncomingMessage, res: Res): void {
    const core = this.core;
    const req = new Request(raw, null);
    if (core.closed) return this.#refuse(res, "get-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: req.clientId });
    if (isBlank(req.clientId)) {
      const error = new ChskError("CHSK_ERR_NO_CLIENT_ID", "Ajax GET without a client-id param", { status: 400 });
      return this.#refuse(res, "get-", { status: 400, body: "Missing client-id" }, error.code, { error });
    }
    this.#admit(req, res, "get-", (a) => this.#getAdmitted(a, req, res));
  }

  /**
   * Answers `res` with a refusal and reports it (`prefix` names the
   * exchange: `get-` or `post-`). `close`: the rest of the body is never
   * read, so the connection closes.
   */
  #refuse(
    res: Res,
    prefix: "get-" | "post-",
    answer: HttpAnswer,
    code: ChskErrorCode,
    more?: { clientId?: string; uid?: Uid; error?: ChskError; cause?: unknown; close?: boolean },
  ): void {
    // A client that left gets nothing, and nothing is reported as sent.
    if (res.headersSent || res.destroyed) {
      if (more?.error !== undefined) this.core.report(more.error, more.uid, more.clientId);
      return;
    }
    writeAnswer(res, answer, more?.close === true);
    this.core.refused({ transport: "ajax", key: res, prefix, answer, code, ...more });
  }

  #hookFailed(res: Res, prefix: "get-" | "post-", clientId: string, e: unknown): void {
    this.#refuse(res, prefix, this.core.hookFailed(e), "CHSK_ERR_HOOK_FAILED", { clientId, cause: e });
  }

  #admit(req: Request, res: Res, prefix: "get-" | "post-", then: (a: Admission) => void): void {
    let a: Admission | PromiseLike<Admission>;
    try {
      a = this.core.admit(req);
    } catch (e) {
      this.#hookFailed(res, prefix, req.clientId, e);
      return;
    }
    if (!isThenable(a)) then(a);
    else a.then(then, (e: unknown) => this.#hookFailed(res, prefix, req.clientId, e));
  }

  #getAdmitted(a: Admission, req: Request, res: Res): void {
    if (a.answer !== null) return this.#refuse(res, "get-", a.answer, a.code, { clientId: req.clientId });
    if (res.destroyed) return;
    if (this.core.closed) return this.#refuse(res, "get-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: req.clientId, uid: a.uid });
    const uid = a.uid;
    const entry = this.core.registry.get("ajax", uid, req.clientId) as AjaxClient | undefined;
    const cluster = this.core.cluster;
    if (entry === undefined && cluster !== null && !req.has("handshake?")) {
      // Behind a round-robin balancer the client may have handshaken on another node: hold its poll here too.
      void cluster.ajaxKnownAs(req.clientId, uid).then((known) => this.#pollOrHandshake(known, req, res, uid));
      return;
    }
    // Sente: `(or (:handshake? params) (nil? conn-entry))`; any value of the param counts.
    if (entry === undefined || req.has("handshake?")) this.#handshake(req, res, uid);
    else this.#hold(entry, req, res);
  }

  #pollOrHandshake(known: boolean, req: Request, res: Res, uid: Uid): void {
    const core = this.core;
    if (res.destroyed) return;
    if (core.closed) return this.#refuse(res, "get-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: req.clientId, uid });
    let entry = core.registry.get("ajax", uid, req.clientId) as AjaxClient | undefined;
    if (entry === undefined && known) entry = this.#newClient(uid, req, res, core.clock.now());
    if (entry === undefined) this.#handshake(req, res, uid);
    else this.#hold(entry, req, res);
  }

  /** A client's entry on this node, named after the GET that created it. */
  #newClient(uid: Uid, req: Request, res: Res, now: number): AjaxClient {
    const core = this.core;
    const entry = new AjaxClient(this, uid, req.clientId, req, now);
    core.registry.put(entry);
    const taps = core.taps;
    if (taps.on) {
      taps.shareId(entry, res, "get-");
      taps.emit({ type: "conn:open", transport: "ajax", connId: taps.idOf(res, "get-"), uid, clientId: req.clientId, at: now });
    }
    return entry;
  }

  #handshake(req: Request, res: Res, uid: Uid): void {
    const core = this.core;
    let frame: string | Uint8Array | PromiseLike<string | Uint8Array>;
    try {
      const f = core.opts.handshakeData;
      frame = chain(f === null ? null : f(req), (data) => encodeHandshake(core.packer, uid, data));
    } catch (e) {
      this.#handshakeFailed(e, res, uid, req.clientId);
      return;
    }
    if (!isThenable(frame)) this.#sendHandshake(frame, req, res, uid);
    else {
      frame.then(
        (f) => this.#sendHandshake(f, req, res, uid),
        (e: unknown) => this.#handshakeFailed(e, res, uid, req.clientId),
      );
    }
  }

  #handshakeFailed(e: unknown, res: Res, uid: Uid, clientId: string): void {
    if (e instanceof ChskError) {
      this.#refuse(res, "get-", { status: 500, body: `${e.code}: ${e.message}` }, e.code, { clientId, uid, error: e });
    } else this.#hookFailed(res, "get-", clientId, e);
  }

  #sendHandshake(frame: string | Uint8Array, req: Request, res: Res, uid: Uid): void {
    const core = this.core;
    if (res.destroyed) return;
    if (core.closed) return this.#refuse(res, "get-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: req.clientId, uid });
    const now = core.clock.now();
    const reg = core.registry;
    let entry = reg.get("ajax", uid, req.clientId) as AjaxClient | undefined;
    if (entry === undefined) entry = this.#newClient(uid, req, res, now);
    else {
      entry.req = req;
      // A client that handshakes again has given up on its held poll.
      if (entry.current !== null) this.answer(entry.current, core.lpTimeoutFrame, now, core.lpTimeoutFrame);
    }
    entry.lastActivity = now;
    const cluster = core.cluster;
    // Clustered, the client's next poll may reach another node: that node must know it first.
    if (cluster !== null) void cluster.ajaxHandshake(req.clientId, uid).then(() => this.#write(res, frame, uid, req.clientId, now, HANDSHAKE));
    else this.#write(res, frame, uid, req.clientId, now, HANDSHAKE);
    // The client re-polls right away; until then it counts as closed (Sente's on-close after send).
    reg.markClosed(entry, now);
  }

  #hold(entry: AjaxClient, req: Request, res: Res): void {
    const core = this.core;
    if (entry.held >= core.opts.maxPendingPollsPerClient) {
      const e = new ChskError("CHSK_ERR_TOO_MANY_POLLS", `More than ${core.opts.maxPendingPollsPerClient} polls held for this client`, {
        status: 429,
      });
      return this.#refuse(res, "get-", errorAnswer(e), e.code, { clientId: entry.clientId, uid: entry.uid, error: e });
    }
    const now = core.clock.now();
    const poll = new Poll(entry, res, now + core.opts.lpTimeoutMs);
    entry.current = poll;
    entry.held++;
    entry.lastActivity = now;
    entry.req = req;
    this.#polls.add(poll);
    core.sweeper.wake(poll.deadline);
    res[kPoll] = poll;
    res.on("close", onPollClose);
    if (core.cluster !== null) {
      // What a lone server would decide, in case the cluster can't.
      const opens = !core.registry.connected.any.has(entry.uid);
      core.registry.activate(entry);
      // Frames kept here while the cluster was unreachable go first.
      const kept = core.outbox.pending.take(entry, now);
      if (kept !== null) this.answer(poll, kept, now, kept);
      this.#clusterTake(entry, true, opens);
      return;
    }
    core.registry.activate(entry);
    // Pushes that arrived between polls go out now, oldest first.
    const frame = core.outbox.pending.take(entry, now);
    if (frame !== null) this.answer(poll, frame, now, frame);
  }

  /**
   * Clustered: the client's pushes wait in the cluster's queue, whichever
   * node they were sent from. A held poll takes the next one (`hold`: the
   * poll just arrived, which also tells the cluster where the client is).
   * One take per client at a time; a frame whose poll ended meanwhile goes
   * back to the front of the queue.
   */
  #clusterTake(client: AjaxClient, hold: boolean, opens: boolean): void {
    const cluster = this.core.cluster!;
    if (client.taking) {
      client.takeAgain = true;
      if (!hold) return;
    }
    client.taking = true;
    client.takeAgain = false;
    const taken = hold ? cluster.ajaxHold(client, opens) : cluster.ajaxTake(client.clientId);
    void taken.then((frame) => {
      client.taking = false;
      const poll = client.current;
      if (frame === null) {
        if (client.takeAgain && poll !== null) this.#clusterTake(client, false, false);
        return;
      }
      if (poll === null || !this.answer(poll, frame, this.core.clock.now(), frame)) cluster.untake(client.clientId, frame);
    });
  }

  /** Answers a held poll (a push batch or the timeout). False if it was already answered. */
  answer(poll: Poll, frame: string | Uint8Array, now: number, wire: string | Uint8Array): boolean {
    if (poll.done) return false;
    this.finish(poll, now);
    const client = poll.client;
    if (poll.res.destroyed) return false;
    client.lastActivity = now;
    this.#write(poll.res, wire, client.uid, client.clientId, now, POLL, frame);
    return true;
  }

  /** The poll is over (answered, or its client went away). */
  finish(poll: Poll, now: number = this.core.clock.now()): void {
    poll.done = true;
    this.#polls.delete(poll);
    const client = poll.client;
    client.held--;
    if (client.current === poll) {
      client.current = null;
      if (!this.core.closed) {
        this.core.registry.markClosed(client, now);
        this.core.cluster?.ajaxRelease(client);
      }
    }
  }

  /** Answers an exchange with a frame (200); `kind`: {@link POLL}, {@link HANDSHAKE} or {@link POST_REPLY}. */
  #write(res: Res, wire: string | Uint8Array, uid: Uid, clientId: string, now: number, kind: AnswerKind, frame: string | Uint8Array = wire): void {
    if (res.destroyed || res.writableEnded) return;
    const len = typeof wire === "string" ? Buffer.byteLength(wire) : wire.byteLength;
    res.writeHead(200, ["Content-Type", this.binary ? BINARY_TYPE : TEXT_TYPE, "Cache-Control", "no-store", "Content-Length", String(len)]);
    res.end(wire);
    const taps = this.core.taps;
    if (taps.on) {
      const post = kind === POST_REPLY;
      const connId = taps.idOf(res, post ? "post-" : "get-");
      const channel = post ? "post-reply" : "poll";
      taps.emit(
        kind === HANDSHAKE
          ? { type: "frame:out", transport: "ajax", channel, connId, uid, clientId, data: frame, handshake: true, status: 200, at: now }
          : { type: "frame:out", transport: "ajax", channel, connId, uid, clientId, data: frame, status: 200, at: now },
      );
    }
  }

  // -------------------------------------------------------------------------
  // POST: one client message

  /** `parsed`: a framework's already-parsed body, used if the stream was consumed (`handleRequest`'s `body`). */
  post(raw: IncomingMessage, res: Res, parsed?: unknown): void {
    const core = this.core;
    const req = new Request(raw, null);
    if (core.closed) return this.#refuse(res, "post-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: req.clientId });
    const binaryBody = "binary?" in req.query;
    // URL-encoding can triple a text frame; the packer enforces maxFrameBytes on the frame itself.
    const cap = binaryBody ? core.opts.maxFrameBytes : core.opts.maxFrameBytes * 3 + 4096;
    const read = new BodyRead(res, core.clock.now() + core.opts.bodyTimeoutMs, req.clientId);
    this.#reads.add(read);
    core.sweeper.wake(read.deadline);
    postBodyReader(raw, parsed, binaryBody)(raw, cap, (err, body) => {
      // Timed out: already answered 408.
      if (read.done) return;
      read.done = true;
      this.#reads.delete(read);
      if (err !== null) return this.#refuse(res, "post-", errorAnswer(err), err.code, { clientId: req.clientId, error: err, close: true });
      // One reader for the server and the inspector: `binary?` → the raw body, else `ppstr` (form over query).
      const post = readAjaxPost(binaryBody ? body : body.toString("utf8"), undefined, req.query);
      if (!binaryBody && post.form !== undefined) req.setForm(post.form);
      let packed = "error" in post ? undefined : post.packed;
      if (packed !== undefined && typeof packed !== "string" && !this.binary) packed = body.toString("utf8");
      const t0 = core.taps.on ? performance.now() : 0;
      this.#admit(req, res, "post-", (a) => this.#postAdmitted(a, req, res, packed, t0));
    });
  }

  #postAdmitted(a: Admission, req: Request, res: Res, packed: string | Uint8Array | undefined, t0: number): void {
    const core = this.core;
    if (a.answer !== null) return this.#refuse(res, "post-", a.answer, a.code, { clientId: req.clientId });
    if (res.destroyed) return;
    const uid = a.uid;
    const clientId = req.clientId;
    if (core.closed) return this.#refuse(res, "post-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId, uid });
    if (packed === undefined) {
      const e = new ChskError("CHSK_ERR_BAD_ENVELOPE", "POST without a ppstr form field", { status: 400 });
      return this.#refuse(res, "post-", errorAnswer(e), e.code, { clientId, uid, error: e });
    }
    const r = decodeClientMessage(core.packer, packed, core.limits);
    if (!r.ok) {
      if (core.taps.on) {
        const connId = core.taps.idOf(res, "post-");
        core.taps.emit({ type: "frame:in", transport: "ajax", channel: "post", connId, uid, clientId, data: packed, at: core.clock.now() });
      }
      const e = r.error;
      return this.#refuse(res, "post-", errorAnswer(e, e.code === "CHSK_ERR_FRAME_TOO_LARGE" ? 413 : 400), e.code, { clientId, uid, error: e });
    }
    const m = r.value;
    const now = core.clock.now();
    // A client that sends is active, even while its poll is idle.
    const entry = core.registry.get("ajax", uid, clientId);
    if (entry !== undefined) entry.lastActivity = now;
    if (core.taps.on) {
      const connId = core.taps.idOf(res, "post-");
      core.taps.emit({ type: "frame:in", transport: "ajax", channel: "post", connId, uid, clientId, data: packed, event: m.event, cbId: m.cbId, at: now });
    }
    if (!m.wantsReply) {
      // Answered before the handler runs (F14).
      this.#write(res, core.dummyCb200Frame, uid, clientId, now, POST_REPLY);
      core.route(core.eventMsg(m.event, uid, clientId, "ajax", req, undefined));
      return;
    }
    const n = this.#postsPerClient.get(clientId) ?? 0;
    if (n >= core.opts.maxPendingPostsPerClient) {
      const e = new ChskError("CHSK_ERR_TOO_MANY_POLLS", `More than ${core.opts.maxPendingPostsPerClient} POSTs awaiting a reply for this client`, {
        status: 429,
      });
      return this.#refuse(res, "post-", errorAnswer(e), e.code, { clientId, uid, error: e });
    }
    this.#postsPerClient.set(clientId, n + 1);
    const pp = new PendingPost(res, now + core.opts.lpTimeoutMs, uid, clientId, m.event[0], t0);
    this.#posts.add(pp);
    core.sweeper.wake(pp.deadline);
    // No 'close' listener per POST: a reply to a client that left finds `res.destroyed`.
    core.route(core.eventMsg(m.event, uid, clientId, "ajax", req, (value) => this.#reply(pp, value)));
  }

  #reply(pp: PendingPost, value: unknown): boolean {
    if (pp.done) return false;
    if (pp.res.destroyed) {
      this.finishPost(pp);
      return false;
    }
    const core = this.core;
    const frame = encodeReply(core.packer, value, null);
    this.finishPost(pp);
    const now = core.clock.now();
    this.#write(pp.res, frame, pp.uid, pp.clientId, now, POST_REPLY);
    if (core.taps.on && pp.t0 !== 0) {
      core.taps.emit({
        type: "reply",
        transport: "ajax",
        uid: pp.uid,
        clientId: pp.clientId,
        eventId: pp.eventId,
        latencyMs: performance.now() - pp.t0,
        at: now,
      });
    }
    return true;
  }

  finishPost(pp: PendingPost): void {
    pp.done = true;
    this.#posts.delete(pp);
    const n = (this.#postsPerClient.get(pp.clientId) ?? 1) - 1;
    if (n <= 0) this.#postsPerClient.delete(pp.clientId);
    else this.#postsPerClient.set(pp.clientId, n);
  }

  // -------------------------------------------------------------------------
  // Timeouts, closing

  /** Answers timed-out polls and POSTs; returns the next deadline. */
  sweep(now: number): number {
    let next = Infinity;
    const frame = this.core.lpTimeoutFrame;
    for (const poll of this.#polls) {
      if (poll.deadline > now) {
        next = poll.deadline;
        break;
      }
      this.answer(poll, frame, now, frame);
    }
    for (const pp of this.#posts) {
      if (pp.deadline > now) {
        next = Math.min(next, pp.deadline);
        break;
      }
      this.finishPost(pp);
      this.#write(pp.res, frame, pp.uid, pp.clientId, now, POST_REPLY);
    }
    for (const read of this.#reads) {
      if (read.deadline > now) {
        next = Math.min(next, read.deadline);
        break;
      }
      this.#bodyTimedOut(read);
    }
    return next;
  }

  /** A body still trickling in: 408 and `Connection: close` (the rest of it is never read). */
  #bodyTimedOut(read: BodyRead): void {
    read.done = true;
    this.#reads.delete(read);
    // The client gave up itself: nothing to answer or report.
    if (read.res.destroyed) return;
    const ms = this.core.opts.bodyTimeoutMs;
    const e = new ChskError("CHSK_ERR_BODY_TIMEOUT", `POST body not received within ${ms} ms`, { status: 408, detail: { bodyTimeoutMs: ms } });
    this.#refuse(read.res, "post-", errorAnswer(e), e.code, { clientId: read.clientId, error: e, close: true });
  }

  /** Drops a client's held polls without an answer (Sente's `sch-close!`): its XHR fails. */
  closeClient(client: AjaxClient): void {
    const now = this.core.clock.now();
    for (const poll of [...this.#polls]) {
      if (poll.client !== client) continue;
      this.finish(poll, now);
      poll.res.destroy();
    }
  }

  /** Server closing: every held poll and POST is answered `[:chsk/timeout nil]`, a POST still arriving 503. */
  closeAll(): void {
    const now = this.core.clock.now();
    const frame = this.core.lpTimeoutFrame;
    for (const poll of [...this.#polls]) this.answer(poll, frame, now, frame);
    for (const pp of [...this.#posts]) {
      this.finishPost(pp);
      this.#write(pp.res, frame, pp.uid, pp.clientId, now, POST_REPLY);
    }
    // The sweep stops with the server: a body still arriving would never time out.
    for (const read of this.#reads) {
      read.done = true;
      this.#refuse(read.res, "post-", CLOSED_ANSWER, "CHSK_ERR_SERVER_CLOSED", { clientId: read.clientId, close: true });
    }
    this.#reads.clear();
  }
}

const CLOSED_ANSWER: HttpAnswer = { status: 503, body: "CHSK_ERR_SERVER_CLOSED: server is closing" };

/** What an Ajax answer carries, for its tap: a poll's frame, a handshake, a POST's answer. */
const POLL = 0;
const HANDSHAKE = 1;
const POST_REPLY = 2;
type AnswerKind = typeof POLL | typeof HANDSHAKE | typeof POST_REPLY;
