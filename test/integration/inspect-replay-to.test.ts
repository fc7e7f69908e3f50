/**
 * `--replay FILE --to URL`: a live session is recorded (a real chsk client
 * on a real `chsk serve`, its tap decoded, written with `--record`'s
 * writer), then replayed to a live server through a real client. Against
 * the same server nothing differs, over WS and Ajax, at recorded pace or as
 * fast as possible; against a server whose echo changed, the differing call
 * is reported, and a call the server no longer answers is `missing`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bootstrapSession, type ClientTapEvent, createClient, kw } from "../../src/core/client/index.node.js";
import { createFrameDecoder, type FrameRecord, type WireEvent } from "../../src/core/index.js";
import { loadRecording } from "../../src/inspector/load-recording.js";
import { createRecording } from "../../src/inspector/output/recording.js";
import { type ReplayToResult, replayTo } from "../../src/inspector/replay-to.js";
import { formatReplayReport } from "../../src/inspector/replay-to-report.js";
import { type Served, serve } from "../e2e/cli.js";
import { startServer, type TestServer, withTimeout } from "./server-helpers.js";

/** A client tap event as the wire event a source would report. */
function wireOf(t: ClientTapEvent): WireEvent | undefined {
  switch (t.type) {
    case "frame:out":
    case "frame:in":
      return {
        type: "frame",
        at: t.at,
        dir: t.type === "frame:in" ? "s2c" : "c2s",
        transport: t.transport,
        channel: t.channel,
        connId: t.connId,
        clientId: t.clientId,
        data: t.data,
        ...(t.type === "frame:in" && t.handshake ? { handshake: true } : {}),
        ...(t.type === "frame:in" && t.status !== undefined ? { status: t.status } : {}),
      };
    case "conn:open":
      return { type: "open", at: t.at, transport: t.transport, connId: t.connId, clientId: t.clientId };
    case "conn:close":
      return { type: "close", at: t.at, transport: t.transport, connId: t.connId, clientId: t.clientId, ...(t.code === undefined ? {} : { code: t.code }) };
    default:
      return undefined;
  }
}

/** What the recorded session sends: calls with replies, a push to oneself, an event without a callback. */
const SESSION: { event: [string, unknown?]; reply: boolean }[] = [
  { event: ["demo/echo", "hello"], reply: true },
  { event: ["demo/echo", { a: 1, b: [1, 2, { c: kw("x") }] }], reply: true },
  { event: ["demo/push", { uid: "alice", event: [kw("demo/msg"), { n: 1 }] }], reply: true },
  { event: ["demo/note", { seen: true }], reply: false },
  { event: ["demo/echo", 42], reply: true },
];

describe("--replay FILE --to URL", () => {
  let served: Served;
  let origin: string;
  let recording: string;
  let records: FrameRecord[];
  const dir = mkdtempSync(join(tmpdir(), "chsk-replay-to-"));

  before(async () => {
    served = await serve();
    origin = served.url;
    // Record: alice over WS, through a real client whose tap feeds the decoder and the --record writer.
    recording = join(dir, "session.jsonl");
    const file = createRecording(recording);
    const decoder = createFrameDecoder();
    const session = await bootstrapSession({ url: `${origin}/chsk`, login: "alice" });
    const client = createClient({ url: `${origin}/chsk`, type: "ws", csrfToken: session.csrfToken, headers: session.headers });
    client.tap((t) => {
      const w = wireOf(t);
      if (w !== undefined) file.write(decoder.push(w));
    });
    const pushed = new Promise<void>((resolve) => client.on("recv", () => resolve()));
    await withTimeout(client.whenOpen(), 5000, "the recording client to open");
    for (const s of SESSION) {
      if (s.reply) await client.send(s.event, 5000);
      else assert.ok(client.send(s.event));
    }
    await withTimeout(pushed, 5000, "the push");
    await client.close();
    await file.close();
    records = await loadRecording(recording);
  });

  after(async () => {
    await served?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const statuses = (r: ReplayToResult) => r.events.map((e) => `${e.eventId} ${e.status}`);

  it("the recording holds the calls, their replies and the push", () => {
    const calls = records.filter((r) => r.dir === "c2s" && r.kind === "event" && !r.eventId!.startsWith("chsk/"));
    assert.deepEqual(calls.map((r) => r.eventId), SESSION.map((s) => s.event[0]));
    assert.ok(calls.filter((r) => r.cbId !== null).every((r) => r.pair !== undefined), "every call paired with its reply");
    assert.ok(records.some((r) => r.kind === "push" && r.eventId === "demo/msg"));
  });

  it("same server, recorded pace, WS: every call equal, the event without a callback sent", async () => {
    const seen: string[] = [];
    const result = await replayTo({ records, url: `${origin}/chsk`, login: "alice", onEvent: (e) => seen.push(e.eventId) });
    assert.deepEqual(statuses(result), ["demo/echo equal", "demo/echo equal", "demo/push equal", "demo/note sent", "demo/echo equal"], formatReplayReport(result).join("\n"));
    assert.equal(result.ok, true);
    assert.equal(result.transport, "ws");
    assert.deepEqual(result.summary, { events: 5, calls: 4, equal: 4, different: 0, missing: 0, newError: 0, sent: 1 });
    assert.equal(seen.length, 5, "onEvent once per event");
    assert.equal(result.pushes, undefined, "pushes are not compared unless asked");
  });

  it("same server over Ajax, as fast as possible, pushes compared: no differences", async () => {
    const result = await replayTo({ records, url: `${origin}/chsk`, login: "alice", transport: "ajax", asFastAsPossible: true, comparePushes: true });
    const report = formatReplayReport(result).join("\n");
    assert.equal(result.ok, true, report);
    assert.equal(result.transport, "ajax");
    assert.deepEqual(result.pushes?.recorded, ["[:demo/msg {:n 1}]"]);
    assert.equal(result.pushes?.equal, true, report);
    assert.match(report, /result: no differences$/);
  });

  describe("a server whose echo changed", () => {
    let changed: TestServer;
    before(async () => {
      // The same events, but "hello" now echoes upper-cased, and demo/push is never answered.
      changed = await startServer({}, (msg) => {
        if (msg.id === "demo/echo") msg.reply?.(msg.data === "hello" ? "HELLO" : msg.data);
      });
    });
    after(() => changed?.stop());

    it("reports the differing call (recorded vs new) and the missing reply; the rest equal", async () => {
      const result = await replayTo({
        records,
        url: `${changed.base}/chsk`,
        session: false,
        params: { uid: "alice" },
        asFastAsPossible: true,
        timeoutMs: 1000,
      });
      assert.deepEqual(statuses(result), ["demo/echo different", "demo/echo equal", "demo/push missing", "demo/note sent", "demo/echo equal"]);
      assert.equal(result.ok, false);
      const diff = result.events[0]!;
      assert.deepEqual(diff.recorded, { kind: "reply", value: '"hello"', latencyMs: diff.recorded?.kind === "reply" ? diff.recorded.latencyMs : 0 });
      assert.equal(diff.received?.kind === "reply" && diff.received.value, '"HELLO"');
      assert.equal(result.events[2]!.recorded?.kind === "reply" && result.events[2]!.recorded.value, ":ok");
      const report = formatReplayReport(result);
      assert.ok(report.includes('        recorded: "hello"'), report.join("\n"));
      assert.ok(report.includes('        new:      "HELLO"'), report.join("\n"));
      assert.ok(report.includes("4 calls: 2 equal, 1 different, 1 missing, 0 new errors; 1 event sent without a reply"), report.join("\n"));
      assert.equal(report.at(-1), "result: differences found");
    });
  });

  it("cannot run at all: no client event in the recording, or no server", async () => {
    await assert.rejects(
      replayTo({ records: records.filter((r) => r.dir === "s2c"), url: `${origin}/chsk` }),
      { code: "CHSK_ERR_BAD_EVENT" },
    );
    await assert.rejects(replayTo({ records, url: "http://127.0.0.1:1/chsk", session: false, timeoutMs: 1000 }), { code: "CHSK_ERR_TRANSPORT" });
  });
});
