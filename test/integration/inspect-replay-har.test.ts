/**
 * `--har FILE.har` on a HAR recorded from real Chromium (the demo page of
 * `chsk serve`, one WebSocket tab and one Ajax tab of alice, captured
 * through the DevTools protocol by `test/browser/inspect-har.test.ts`):
 * what the viewer gets from it, that `--har-out` writes it back losslessly,
 * and `--replay FILE.har --to URL` against a live `chsk serve`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createFrameDecoder, type FrameRecord, type WireEvent } from "../../src/core/index.js";
import { loadRecording } from "../../src/inspector/load-recording.js";
import { recordsToHar } from "../../src/inspector/output/har-writer.js";
import { replayTo } from "../../src/inspector/replay-to.js";
import { formatReplayReport } from "../../src/inspector/replay-to-report.js";
import { createHarSource, harToWireEvents } from "../../src/inspector/sources/har.js";
import type { SourceNotice } from "../../src/inspector/sources/types.js";
import { ROOT, type Served, serve } from "../e2e/cli.js";

const FIXTURE = join(ROOT, "fixtures", "inspect", "chromium-demo.har");
const WS_TAB = "6c14e73b-9d5c-495e-828c-63ba27fdaa54";
const AJAX_TAB = "12c9fb44-c9e2-42a4-9f3a-1be2481b9e86";

const line = (r: FrameRecord) =>
  [r.transport, r.dir, r.kind, r.eventId ?? "-", r.uid ?? "?", r.latencyMs === undefined ? "" : `${r.latencyMs}ms`, ...(r.flags ?? [])].filter((x) => x !== "").join(" ");

describe("--har: a HAR recorded from Chromium", () => {
  let records: FrameRecord[];
  const notices: SourceNotice[] = [];

  before(async () => {
    const source = createHarSource({ file: FIXTURE });
    const decoder = createFrameDecoder();
    records = [];
    source.onEvent((e: WireEvent) => records.push(decoder.push(e)));
    source.onNotice((n) => notices.push(n));
    await source.start();
    assert.deepEqual(await source.done, { reason: "eof" });
    await source.close();
  });

  it("reads the channel's WebSocket messages and XHRs, in time order, and nothing else", () => {
    assert.deepEqual(records.map(line), [
      "ws c2s open - ?",
      "ws s2c handshake chsk/handshake :sente/nil-uid",
      "ws c2s open - :sente/nil-uid reconnect",
      'ws s2c handshake chsk/handshake "alice"',
      "ajax c2s open - ?",
      'ajax s2c handshake chsk/handshake "alice"',
      'ws c2s event demo/echo "alice"',
      'ws s2c reply - "alice" 6ms',
      'ajax c2s event demo/echo "alice"',
      'ajax s2c reply - "alice" 19ms',
      'ajax c2s event demo/push "alice"',
      'ajax s2c reply - "alice" 27ms',
      'ws s2c push demo/msg "alice"',
      'ajax s2c push demo/msg "alice"',
      'ws c2s event demo/whoami "alice"',
      'ws s2c reply - "alice" 1ms',
    ]);
    assert.ok(notices.some((n) => n.level === "debug" && /1 Ajax request without an answer/.test(n.message)), "the poll cancelled at the end");
    assert.ok(notices.some((n) => n.level === "info" && /16 wire events on \/chsk/.test(n.message)));
  });

  it("pairs every call with its reply, links the reconnect, stitches the Ajax tab into one connection", () => {
    for (const call of records.filter((r) => r.kind === "event")) {
      const reply = records.find((r) => r.seq === call.pair);
      assert.equal(reply?.kind, "reply", `call #${call.seq} ${call.eventId}`);
      assert.equal(reply.pair, call.seq);
    }
    const opens = records.filter((r) => r.kind === "open" && r.transport === "ws");
    assert.deepEqual(opens.map((r) => r.clientId), [WS_TAB, WS_TAB]);
    assert.equal(opens[1]!.prev, opens[0]!.seq);
    assert.notEqual(opens[0]!.conn, opens[1]!.conn, "two sockets");
    const ajax = records.filter((r) => r.transport === "ajax");
    assert.deepEqual(new Set(ajax.map((r) => r.conn)), new Set([`ajax:${AJAX_TAB}`]));
    assert.equal(new Set(ajax.map((r) => r.exchange)).size, 4, "the handshake GET, a poll, two POSTs");
    assert.equal(records.find((r) => r.eventId === "demo/whoami" && r.kind === "event")!.cbId, "79a00b");
  });

  it("--har-out writes it back: the export reads into the same records", async () => {
    const again = createFrameDecoder();
    const { events } = harToWireEvents(JSON.parse(JSON.stringify(recordsToHar(records, { url: "http://127.0.0.1:8090/chsk" }))));
    assert.deepEqual(events.map((e) => again.push(e)), records);
  });

  describe("--replay FILE.har --to URL (live chsk serve)", () => {
    let served: Served;
    before(async () => (served = await serve()));
    after(() => served?.stop());

    it("the echo and the push answer as recorded; whoami differs (a new client id), and is reported", async () => {
      const loaded = await loadRecording(FIXTURE);
      const result = await replayTo({ records: loaded, url: `${served.url}/chsk`, login: "alice", asFastAsPossible: true });
      const report = formatReplayReport(result);
      // Both tabs' events, in the recording's order, over the first one's transport (WS).
      assert.deepEqual(
        result.events.map((e) => `${e.eventId} ${e.status}`),
        ["demo/echo equal", "demo/echo equal", "demo/push equal", "demo/whoami different"],
        report.join("\n"),
      );
      const whoami = result.events[3]!;
      assert.match(whoami.recorded?.kind === "reply" ? whoami.recorded.value : "", new RegExp(WS_TAB));
      assert.doesNotMatch(whoami.received?.kind === "reply" ? whoami.received.value : "", new RegExp(WS_TAB));
      assert.equal(result.ok, false);
      assert.ok(report.some((l) => l.startsWith("        recorded: {:uid \"alice\", :client-id")), report.join("\n"));
    });
  });
});
