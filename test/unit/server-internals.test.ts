/**
 * The server's pure parts without sockets: admission order (Sente's
 * test-reject-fn), the event dispatcher, the timer-less scheduling, the
 * registry's grace periods and the outbox's batching.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ednPacker } from "../../src/core/packers/edn.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { ServerCore } from "../../src/server/core.js";
import { resolveOptions } from "../../src/server/options.js";
import { Entry, Registry } from "../../src/server/registry.js";
import { Request } from "../../src/server/request.js";
import { Dispatcher } from "../../src/server/router.js";
import { ErrorReporter, Taps } from "../../src/server/taps.js";
import { Emitter } from "../../src/core/clock.js";
import { ChskError } from "../../src/core/protocol/errors.js";
import type { ServerEvents } from "../../src/server/types.js";
import type { Logger } from "../../src/core/logger.js";
import { DelayQueue, Sweeper } from "../../src/server/scheduler.js";
import { Outbox } from "../../src/server/outbox.js";
import { RETRY_BACKOFFS_MS, retryWindowMs } from "../../src/server/pending-frames.js";
import type { ServerEventMsg, ServerOptions, Transport, Uid } from "../../src/server/types.js";
import { fakeRequest, TestClock } from "./server-fakes.js";

/** A logger that records `level msg` lines. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => void lines.push(`warn ${m}`), error: (m) => void lines.push(`error ${m}`) };
}
const quiet: Logger = { warn() {}, error() {} };

const core = (o: Partial<ServerOptions>) => new ServerCore(resolveOptions({ csrfToken: null, ...o } as ServerOptions));
const req = (url: string, headers: Record<string, string> = {}) => new Request(fakeRequest(url, headers), null);

describe("admission order (Sente test-reject-fn)", () => {
  const csrf = { csrfToken: () => "tok" };
  it("a non-null reject answer is sent verbatim", async () => {
    const c = core({ ...csrf, reject: () => ({ status: 429, body: "slow down" }) });
    assert.deepEqual(await c.admit(req("/chsk?client-id=a")), { answer: { status: 429, body: "slow down" }, code: "CHSK_ERR_REJECTED" });
  });
  it("reject runs before the built-in checks", async () => {
    const order: string[] = [];
    const c = core({
      csrfToken: () => (order.push("csrf"), "tok"),
      authorized: () => (order.push("auth"), true),
      reject: () => (order.push("reject"), { status: 429, body: "x" }),
    });
    await c.admit(req("/chsk?client-id=a"));
    assert.deepEqual(order, ["reject"]);
  });
  it("null falls through to the built-ins: still 403 without a token", async () => {
    const c = core({ ...csrf, reject: () => null });
    assert.deepEqual(await c.admit(req("/chsk?client-id=a")), { answer: { status: 403, body: "Bad CSRF token" }, code: "CHSK_ERR_BAD_CSRF" });
  });
  it("null plus passing checks reaches the uid", async () => {
    const c = core({ ...csrf, reject: () => undefined, userId: () => "alice" });
    assert.deepEqual(await c.admit(req("/chsk?client-id=a&csrf-token=tok")), { answer: null, uid: "alice" });
  });
  it("the hook receives the exact request", async () => {
    let seen: unknown;
    const r = req("/chsk?client-id=a");
    const c = core({ reject: (x) => ((seen = x), null) });
    await c.admit(r);
    assert.equal(seen, r);
  });
  it("CSRF → origin → authorized, first failure wins; sync hooks answer synchronously", () => {
    const c = core({ ...csrf, allowedOrigins: ["http://site.com"], authorized: () => false });
    assert.deepEqual(c.admit(req("/chsk?client-id=a")), { answer: { status: 403, body: "Bad CSRF token" }, code: "CHSK_ERR_BAD_CSRF" });
    assert.deepEqual(c.admit(req("/chsk?client-id=a&csrf-token=tok", { origin: "http://evil.com" })), {
      answer: { status: 403, body: "Unauthorized origin" },
      code: "CHSK_ERR_BAD_ORIGIN",
    });
    assert.deepEqual(c.admit(req("/chsk?client-id=a&csrf-token=tok", { origin: "http://site.com" })), {
      answer: { status: 401, body: "Unauthorized request" },
      code: "CHSK_ERR_UNAUTHORIZED",
    });
  });
  it("custom answers for each refusal", () => {
    const c = core({
      csrfToken: () => "tok",
      badCsrf: () => ({ status: 419, body: "csrf!" }),
    });
    // The code names the check, whatever the app answers.
    assert.deepEqual(c.admit(req("/chsk?client-id=a")), { answer: { status: 419, body: "csrf!" }, code: "CHSK_ERR_BAD_CSRF" });
  });
});

describe("Dispatcher", () => {
  const msg = (id: string): ServerEventMsg => ({ event: [id], id, data: undefined, uid: null, clientId: "c", transport: "ws", req: req("/chsk") });
  it("delivers in order to every consumer; a throwing one doesn't stop the others", () => {
    const d = new Dispatcher(10, quiet);
    const a: string[] = [];
    const b: string[] = [];
    const errs: string[] = [];
    d.subscribe((m) => {
      a.push(m.id);
      throw new Error("x");
    }, (_e, m) => errs.push(m.id));
    d.subscribe((m) => void b.push(m.id));
    return Promise.resolve().then(() => {
      d.dispatch(msg("my/1"));
      d.dispatch(msg("my/2"));
      assert.deepEqual(a, ["my/1", "my/2"]);
      assert.deepEqual(b, ["my/1", "my/2"]);
      assert.deepEqual(errs, ["my/1", "my/2"]);
    });
  });
  it("holds events while nobody listens (sliding buffer), then drains them in order", async () => {
    const d = new Dispatcher(2, quiet);
    d.dispatch(msg("my/1"));
    d.dispatch(msg("my/2"));
    d.dispatch(msg("my/3"));
    const got: string[] = [];
    d.subscribe((m) => void got.push(m.id));
    d.dispatch(msg("my/4"));
    assert.deepEqual(got, []);
    await Promise.resolve();
    assert.deepEqual(got, ["my/2", "my/3", "my/4"]);
  });
  it("logs a failing handler once per (event id, message), to its logger", async () => {
    const log = recordingLogger();
    {
      const d = new Dispatcher(0, log);
      d.subscribe(() => {
        throw new Error("same");
      });
      d.subscribe(async () => {
        throw new Error("async");
      });
      await Promise.resolve();
      for (let i = 0; i < 5; i++) d.dispatch(msg("my/x"));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(log.lines.map((l) => l.split(" (")[0]), ["error event handler failed for [my/x]", "error event handler failed for [my/x]"]);
    }
  });
  it("unsubscribe stops delivery", async () => {
    const d = new Dispatcher(0, quiet);
    const got: string[] = [];
    const stop = d.subscribe((m) => void got.push(m.id));
    await Promise.resolve();
    d.dispatch(msg("my/1"));
    stop();
    d.dispatch(msg("my/2"));
    assert.deepEqual(got, ["my/1"]);
  });
});

describe("scheduling without per-item timers", () => {
  it("DelayQueue: one timer for the head, done items skipped, order kept", () => {
    const clock = new TestClock();
    const ran: number[] = [];
    const q = new DelayQueue<{ deadline: number; done: boolean; n: number }>(clock, (i) => ran.push(i.n));
    const items = [0, 1, 2, 3].map((n) => ({ deadline: clock.now() + 30 + n, done: false, n }));
    for (const i of items) q.push(i);
    assert.equal(clock.pending, 1);
    items[1]!.done = true;
    clock.advance(30);
    assert.deepEqual(ran, [0]);
    clock.advance(10);
    assert.deepEqual(ran, [0, 2, 3]);
    assert.equal(clock.pending, 0);
  });
  it("Sweeper: coalesces wake-ups to the quantum and re-arms from the sweep's answer", () => {
    const clock = new TestClock();
    const sweeps: number[] = [];
    let nextDue = Infinity;
    const s = new Sweeper(clock, 10, (now) => (sweeps.push(now), nextDue));
    const t0 = clock.now();
    s.wake(t0 + 1);
    s.wake(t0 + 5);
    s.wake(t0 + 50);
    assert.equal(clock.pending, 1);
    nextDue = t0 + 100;
    clock.advance(10);
    assert.deepEqual(sweeps, [t0 + 10]);
    nextDue = Infinity;
    clock.advance(100);
    assert.deepEqual(sweeps, [t0 + 10, t0 + 100]);
    assert.equal(clock.pending, 0);
    // A stream of near-term wakes never postpones an armed sweep.
    const t1 = clock.now();
    s.wake(t1);
    for (let i = 0; i < 5; i++) {
      clock.advance(3);
      s.wake(clock.now());
    }
    assert.deepEqual(sweeps.slice(2), [t1 + 10]);
    s.stop();
    s.wake(t0 + 500);
    assert.equal(clock.pending, 0);
  });
});

class FakeEntry extends Entry {
  sent: (string | Uint8Array)[] = [];
  open = true;
  constructor(
    readonly t: Transport,
    uid: Uid,
    clientId: string,
    now: number,
  ) {
    super(uid, clientId, req("/chsk"), now);
  }
  get transport(): Transport {
    return this.t;
  }
  get isConnected(): boolean {
    return this.open;
  }
  deliver(frame: string | Uint8Array): boolean {
    if (!this.open) return false;
    this.sent.push(frame);
    return true;
  }
  cut(reason: string): void {
    this.open = false;
    this.sent.push(`cut: ${reason}`);
  }
  close(): void {
    this.open = false;
    this.sent.push("close");
  }
}

describe("Registry grace periods", () => {
  const setup = () => {
    const log: string[] = [];
    const wakes: number[] = [];
    const reg = new Registry(2500, 5000, {
      presence: (effects, e) => {
        for (const fx of effects) {
          if (fx.type === "uidport-open") log.push(`open ${e.uid} ${e.clientId}`);
          else if (fx.type === "uidport-close" && fx.notified) log.push(`close ${e.uid} ${e.clientId}`);
        }
      },
      removed: (e) => log.push(`removed ${e.clientId}`),
      wake: (at) => wakes.push(at),
    });
    return { log, wakes, reg };
  };
  it("uidport-open on the first activation only; close after the grace with no newer conn", () => {
    const { log, reg } = setup();
    const a = new FakeEntry("ws", "alice", "c1", 0);
    const b = new FakeEntry("ws", "alice", "c2", 0);
    reg.put(a);
    reg.activate(a);
    reg.put(b);
    reg.activate(b);
    assert.deepEqual(log, ["open alice c1"]);
    reg.markClosed(a, 100);
    reg.markClosed(b, 200);
    assert.equal(reg.sweep(2599), 2600);
    assert.deepEqual(log, ["open alice c1"]);
    assert.equal(reg.sweep(2600), 2700);
    assert.deepEqual(log, ["open alice c1", "removed c1"]);
    assert.equal(reg.sweep(2700), Infinity);
    assert.deepEqual(log, ["open alice c1", "removed c1", "removed c2", "close alice c2"]);
    assert.equal(reg.connected.any.size, 0);
  });
  it("a newer conn for the same client id cancels the close", () => {
    const { log, reg } = setup();
    const a = new FakeEntry("ws", "bob", "tab", 0);
    reg.put(a);
    reg.activate(a);
    reg.markClosed(a, 100);
    const a2 = new FakeEntry("ws", "bob", "tab", 500);
    assert.equal(reg.put(a2), a);
    reg.activate(a2);
    reg.sweep(10_000);
    assert.deepEqual(log, ["open bob tab"]);
    assert.ok(reg.connected.ws.has("bob"));
  });
  it("Ajax entries: the gap between polls is closed; reactivation cancels; ws and ajax counted apart", () => {
    const { log, reg } = setup();
    const w = new FakeEntry("ws", "carol", "w", 0);
    const x = new FakeEntry("ajax", "carol", "x", 0);
    reg.put(w);
    reg.activate(w);
    reg.put(x);
    reg.activate(x);
    reg.markClosed(x, 0);
    reg.sweep(4000);
    reg.activate(x);
    reg.sweep(6000);
    assert.ok(reg.connected.ajax.has("carol"));
    reg.markClosed(x, 6000);
    reg.sweep(11_000);
    assert.ok(!reg.connected.ajax.has("carol"));
    assert.ok(reg.connected.any.has("carol"));
    reg.markClosed(w, 11_000);
    reg.sweep(13_500);
    assert.deepEqual(log, ["open carol w", "removed x", "removed w", "close carol w"]);
  });
});

describe("Outbox", () => {
  const setup = (bufMs = 30, maxBufferedBytes = 1 << 20) => {
    const clock = new TestClock();
    const dropped: string[] = [];
    const overflowed: string[] = [];
    const reg = new Registry(2500, 5000, { presence() {}, removed() {}, wake() {} });
    const outbox: Outbox = new Outbox({
      cluster: null,
      packer: ednPacker(),
      clock,
      registry: reg,
      bufMs: { ws: bufMs, ajax: 100 },
      dropped: (e, entry) => dropped.push(`${e.code} ${entry?.clientId}`),
      packFailed: (e) => dropped.push(`pack ${e.code}`),
      wake() {},
      maxBufferedBytes,
      overflow: (entry) => {
        overflowed.push(`${entry.clientId} ${entry.pendingBytes}`);
        outbox.pending.release(entry);
        reg.remove(entry, true);
      },
    });
    return { clock, reg, outbox, dropped, overflowed };
  };
  const ev = (n: number): ChskEvent => ["my/push", { n }];

  it("batches per uid and packs once for all of the uid's clients", () => {
    const { clock, reg, outbox } = setup();
    const a = new FakeEntry("ws", "u", "a", clock.now());
    const b = new FakeEntry("ws", "u", "b", clock.now());
    reg.put(a);
    reg.put(b);
    outbox.send("u", ev(1), false);
    clock.advance(10);
    outbox.send("u", ev(2), false);
    assert.deepEqual(a.sent, []);
    clock.advance(20);
    assert.deepEqual(a.sent, ["[[[:my/push {:n 1}] [:my/push {:n 2}]] nil]"]);
    assert.equal(a.sent[0], b.sent[0]);
  });
  it("flush sends at once; bufMs 0 means no batching", () => {
    const { clock, reg, outbox } = setup(0);
    const a = new FakeEntry("ws", "u", "a", clock.now());
    reg.put(a);
    outbox.send("u", ev(1), false);
    outbox.send("u", ev(2), true);
    assert.deepEqual(a.sent, ["[[[:my/push {:n 1}]] nil]", "[[[:my/push {:n 2}]] nil]"]);
  });
  it("an unreachable client keeps the frame for the retry window, then it is dropped", () => {
    const { clock, reg, outbox, dropped } = setup();
    const a = new FakeEntry("ws", "u", "a", clock.now());
    a.open = false;
    reg.put(a);
    outbox.send("u", ev(1), true);
    assert.equal(a.pending?.length, 1);
    clock.advance(1000);
    assert.equal(outbox.pending.take(a, clock.now()), "[[[:my/push {:n 1}]] nil]");
    outbox.send("u", ev(2), true);
    const sum = RETRY_BACKOFFS_MS.reduce((x, y) => x + y, 0);
    assert.equal(outbox.pending.sweep(clock.now() + 2 * sum + 1), Infinity);
    assert.deepEqual(dropped, ["CHSK_ERR_CLOSED a"]);
    assert.equal(a.pending, null);
  });
  it("missed pushes are reported once per absence of the client, not once per frame", () => {
    const { clock, reg, outbox, dropped } = setup(0);
    const a = new FakeEntry("ajax", "u", "a", clock.now());
    a.open = false;
    reg.put(a);
    for (let i = 0; i < 50; i++) outbox.send("u", ev(i), true);
    assert.equal(outbox.pending.sweep(clock.now() + 10_000), Infinity);
    assert.deepEqual(dropped, ["CHSK_ERR_CLOSED a"]);
    // Still away: more drops, no new report.
    outbox.send("u", ev(50), true);
    outbox.pending.sweep(clock.now() + 20_000);
    assert.equal(dropped.length, 1);
    // Back (it polled), then away again: one more report.
    clock.advance(20_000);
    assert.equal(outbox.pending.take(a, clock.now()), null);
    outbox.send("u", ev(51), true);
    outbox.send("u", ev(52), true);
    outbox.pending.forget(a);
    assert.deepEqual(dropped, ["CHSK_ERR_CLOSED a", "CHSK_ERR_CLOSED a"]);
  });
  it("kept frames are bounded per client: past maxBufferedBytes the client overflows once, others are untouched", () => {
    const frameLen = "[[[:my/push {:n 0}]] nil]".length;
    const { clock, reg, outbox, dropped, overflowed } = setup(0, 10 * frameLen);
    const slow = new FakeEntry("ajax", "u", "slow", clock.now());
    const fast = new FakeEntry("ajax", "v", "fast", clock.now());
    slow.open = false;
    reg.put(slow);
    reg.put(fast);
    for (let i = 0; i < 11; i++) outbox.send("u", ev(i % 10), true);
    // 11 frames = 10 × frameLen + 1 frame: over the limit only once the next one comes.
    assert.equal(slow.pendingBytes, 11 * frameLen);
    assert.deepEqual(overflowed, []);
    outbox.send("u", ev(1), true);
    outbox.send("v", ev(2), true);
    assert.deepEqual(overflowed, [`slow ${11 * frameLen}`]);
    assert.equal(slow.pending, null);
    assert.equal(slow.pendingBytes, 0);
    assert.equal(reg.get("ajax", "u", "slow"), undefined);
    // Gone from the table: later pushes don't reach it, and nothing it held is reported as missed.
    outbox.send("u", ev(3), true);
    assert.equal(overflowed.length, 1);
    assert.deepEqual(fast.sent, ["[[[:my/push {:n 2}]] nil]"]);
    assert.equal(outbox.pending.sweep(clock.now() + 10_000), Infinity);
    assert.deepEqual(dropped, []);
  });
  it("pendingBytes follows the frames kept: taken, expired, adopted", () => {
    const { clock, reg, outbox } = setup(0);
    const a = new FakeEntry("ws", "u", "a", clock.now());
    a.open = false;
    reg.put(a);
    outbox.send("u", ev(1), true);
    outbox.send("u", ev(22), true);
    const len1 = "[[[:my/push {:n 1}]] nil]".length;
    const len2 = "[[[:my/push {:n 22}]] nil]".length;
    assert.equal(a.pendingBytes, len1 + len2);
    assert.ok(outbox.pending.take(a, clock.now()));
    assert.equal(a.pendingBytes, len2);
    const b = new FakeEntry("ws", "u", "a", clock.now());
    reg.put(b);
    outbox.pending.adopt(b, a);
    assert.equal(a.pendingBytes, 0);
    assert.equal(b.pendingBytes, len2);
    outbox.pending.drainTo(b, clock.now());
    assert.deepEqual(b.sent, ["[[[:my/push {:n 22}]] nil]"]);
    assert.equal(b.pendingBytes, 0);
  });
  it("retry window is Sente's schedule: 2070..4140 ms", () => {
    assert.equal(retryWindowMs(() => 0), 2070);
    assert.equal(retryWindowMs(() => 0.9999999), 2070 + 2065);
  });
  it("an event the packer can't write is dropped and reported; the rest of the batch goes", () => {
    const { clock, reg, outbox, dropped } = setup();
    const a = new FakeEntry("ws", "u", "a", clock.now());
    reg.put(a);
    outbox.send("u", ev(1), false);
    outbox.send("u", ["my/bad", { f: () => 1 }], false);
    clock.advance(30);
    assert.deepEqual(a.sent, ["[[[:my/push {:n 1}]] nil]"]);
    assert.equal(dropped.length, 1);
    assert.match(dropped[0]!, /^pack CHSK_ERR_UNSUPPORTED_VALUE/);
  });
  it("nothing is buffered for a uid without connections", () => {
    const { clock, outbox } = setup();
    outbox.send("nobody", ev(1), false);
    assert.equal(clock.pending, 0);
  });
});



describe("ErrorReporter", () => {
  it("without an error listener: one warn line per (code, client id)", () => {
    const log = recordingLogger();
    const lines = log.lines;
    {
      const taps = new Taps(log);
      const tapped: string[] = [];
      taps.add((e) => void tapped.push(e.type));
      const events = new Emitter<ServerEvents>();
      const r = new ErrorReporter(taps, events, () => 1, log);
      const e = new ChskError("CHSK_ERR_EDN_SYNTAX", "bad");
      for (let i = 0; i < 5; i++) r.report(e, "u", "c1");
      r.report(e, "u", "c2");
      r.report(new ChskError("CHSK_ERR_EDN_DEPTH", "deep"), "u", "c1");
      assert.equal(lines.length, 3);
      assert.equal(tapped.length, 7);
      const seen: string[] = [];
      events.on("error", (x) => void seen.push(x.code));
      r.report(e, "u", "c3");
      assert.deepEqual(seen, ["CHSK_ERR_EDN_SYNTAX"]);
      assert.equal(lines.length, 3);
      assert.equal(lines[0], "warn CHSK_ERR_EDN_SYNTAX: bad (client c1)");
    }
  });
  it("a throwing tap listener: logged once, the other listeners still called", () => {
    const log = recordingLogger();
    const taps = new Taps(log);
    let seen = 0;
    taps.add(() => {
      throw new Error("boom");
    });
    taps.add(() => void seen++);
    for (let i = 0; i < 3; i++) taps.emit({ type: "uidport:open", uid: null, at: 1 });
    assert.equal(seen, 3);
    assert.deepEqual(log.lines, ["error a tap listener threw (further failures are not logged)"]);
  });
  it("tap ids: made on first use, stable, shared by an Ajax client with its handshake GET", () => {
    const taps = new Taps(quiet);
    const a = {};
    const b = {};
    const client = {};
    assert.equal(taps.idOf(a, "ws-"), "ws-1");
    assert.equal(taps.idOf(a, "ws-"), "ws-1");
    assert.equal(taps.idOf(b, "get-"), "get-2");
    taps.shareId(client, b, "get-");
    assert.equal(taps.idOf(client, "ajax-"), "get-2");
  });
  it("taps: the flag is off without listeners", () => {
    const taps = new Taps(quiet);
    assert.equal(taps.on, false);
    const off = taps.add(() => {});
    assert.equal(taps.on, true);
    off();
    assert.equal(taps.on, false);
  });
});
