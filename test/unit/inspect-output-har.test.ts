/**
 * `--har-out` (HAR 1.2 export of a session) and the HAR reader behind
 * `--har`: the export's shape, its round trip back into the same records,
 * and a reader that never crashes on what other tools write.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ednPacker, type FrameRecord, type WireEvent } from "../../src/core/index.js";
import type { Har, HarEntry } from "../../src/inspector/output/har-format.js";
import { createHarWriter, recordsToHar } from "../../src/inspector/output/har-writer.js";
import { harToWireEvents } from "../../src/inspector/sources/har.js";
import { binaryPacker, decode, sessionEvents } from "./inspect-output-session.js";

const URL_ = "http://127.0.0.1:8090/chsk";
/** The HAR as a file holds it: JSON, not objects. */
const exported = (records: FrameRecord[]): Har => JSON.parse(JSON.stringify(recordsToHar(records, { url: URL_ }))) as Har;

/** Drops every `_chsk*` field, as a tool that keeps only HAR and Chrome's fields would. */
function stripChsk(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stripChsk);
  if (x === null || typeof x !== "object") return x;
  return Object.fromEntries(Object.entries(x).filter(([k]) => !k.startsWith("_chsk")).map(([k, v]) => [k, stripChsk(v)]));
}

/** Per client: the frames' direction, kind and event id, in order. */
function framesByClient(records: FrameRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records) {
    if (r.kind === "open" || r.kind === "close") continue;
    (out[r.clientId ?? r.conn] ??= []).push(`${r.dir} ${r.kind} ${r.eventId ?? ""} ${r.cbId ?? ""}`.trim());
  }
  return out;
}

/**
 * What Chrome DevTools' HAR import insists on before it shows anything
 * (devtools-frontend `models/har/HARFormat.ts`): objects where it reads
 * fields, numbers where it calls `safeNumber`, dates where `safeDate`.
 * Returns the problems found.
 */
function devtoolsImportProblems(har: unknown): string[] {
  const problems: string[] = [];
  const obj = (x: unknown, where: string): Record<string, unknown> => {
    if (x === null || typeof x !== "object") {
      problems.push(`${where}: not an object`);
      return {};
    }
    return x as Record<string, unknown>;
  };
  const num = (o: Record<string, unknown>, k: string, where: string) => Number.isNaN(Number(o[k])) && problems.push(`${where}.${k}: not a number`);
  const date = (o: Record<string, unknown>, k: string, where: string) => Number.isNaN(new Date(o[k] as string).getTime()) && problems.push(`${where}.${k}: not a date`);
  const log = obj(obj(har, "root")["log"], "log");
  obj(log["creator"], "log.creator");
  if (!Array.isArray(log["entries"])) return [...problems, "log.entries: not an array"];
  (log["entries"] as unknown[]).forEach((x, i) => {
    const w = `entries[${i}]`;
    const e = obj(x, w);
    date(e, "startedDateTime", w);
    num(e, "time", w);
    const req = obj(e["request"], `${w}.request`);
    for (const k of ["headersSize", "bodySize"]) num(req, k, `${w}.request`);
    const res = obj(e["response"], `${w}.response`);
    for (const k of ["status", "headersSize", "bodySize"]) num(res, k, `${w}.response`);
    num(obj(res["content"], `${w}.response.content`), "size", `${w}.response.content`);
    const t = obj(e["timings"], `${w}.timings`);
    for (const k of ["send", "wait", "receive"]) num(t, k, `${w}.timings`);
    for (const m of (e["_webSocketMessages"] as unknown[] | undefined) ?? []) {
      const mm = obj(m, `${w}._webSocketMessages[]`);
      if (typeof mm["time"] !== "number" || typeof mm["opcode"] !== "number" || typeof mm["data"] !== "string" || !["send", "receive"].includes(mm["type"] as string)) {
        problems.push(`${w}._webSocketMessages[]: DevTools skips a message without time, opcode, data or a send/receive type`);
      }
    }
  });
  return problems;
}

describe("--har-out: a session as HAR 1.2", () => {
  const records = decode(sessionEvents());
  const har = exported(records);
  const entries = har.log!.entries!;
  const byMethod = (m: string) => entries.filter((e) => e.request?.method === m && e._resourceType !== "websocket");

  it("passes Chrome DevTools' import checks (HARFormat.ts), text and binary", () => {
    assert.deepEqual(devtoolsImportProblems(har), []);
    const p = binaryPacker();
    assert.deepEqual(devtoolsImportProblems(exported(decode(sessionEvents(p), p))), []);
    assert.notDeepEqual(devtoolsImportProblems({ log: { creator: {}, entries: [{ startedDateTime: "x" }] } }), [], "the check can fail");
  });

  it("is a HAR 1.2 log marked as chsk's, entries in start order", () => {
    assert.equal(har.log!.version, "1.2");
    assert.equal(har.log!.creator!.name, "chsk inspect");
    assert.deepEqual(har.log!._chsk, { version: 1, path: "/chsk" });
    const starts = entries.map((e) => Date.parse(e.startedDateTime!));
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
    for (const e of entries) {
      for (const k of ["startedDateTime", "time", "request", "response", "cache", "timings"] as const) assert.ok(k in e, `entry has ${k}`);
    }
  });

  it("a WebSocket is one entry (101) whose frames are Chrome's _webSocketMessages, with chsk's decoding beside them", () => {
    const [ws, ...more] = entries.filter((e) => e._resourceType === "websocket");
    assert.equal(more.length, 0);
    assert.equal(ws!.request!.url, "ws://127.0.0.1:8090/chsk?client-id=c-ws-1111&csrf-token=tok");
    assert.equal(ws!.response!.status, 101);
    const msgs = ws!._webSocketMessages!;
    assert.deepEqual(
      msgs.map((m) => [m.type, m.opcode, m._chskKind]),
      [
        ["receive", 1, "handshake"],
        ["send", 1, "event"],
        ["receive", 1, "reply"],
        ["receive", 1, "push"],
        ["receive", 1, "ping"],
        ["send", 1, "pong"],
        ["send", 1, "event"],
        ["send", 1, "event"],
        ["send", 1, "bad"],
      ],
    );
    const call = msgs[1]!;
    assert.equal(call.time, (Date.parse(records[2]!.ts)) / 1000);
    assert.equal(call.data, '[[:demo/echo "hello"] "3f2a1b"]');
    assert.equal(call._chskEventId, "demo/echo");
    assert.equal(call._chskCbId, "3f2a1b");
    assert.equal(call._chskUid, '"alice"');
    assert.equal(msgs[2]!._chskLatencyMs, 6);
    assert.deepEqual(msgs[7]!._chskFlags, ["unanswered"]);
    assert.deepEqual(
      har.log!._chskLifecycle!.map((l) => [l.kind, l.transport, l.conn]),
      [
        ["open", "ws", "ws-1"],
        ["open", "ajax", "ajax:c-ajax-2222"],
        ["close", "ws", "ws-1"],
      ],
    );
  });

  it("Ajax: each poll a GET with its answer, each POST its ppstr form and its answer, a refused POST its 403", () => {
    const gets = byMethod("GET");
    assert.deepEqual(gets.map((e) => [e.response!.status, e.response!["_chskKind"], e.response!.content!.text]), [
      [200, "handshake", "[[:chsk/handshake [:sente/nil-uid nil nil]] nil]"],
      [200, "timeout", "[:chsk/timeout nil]"],
    ]);
    assert.equal(new URL(gets[0]!.request!.url!).searchParams.get("handshake?"), "true");
    // The poll started when the previous one was answered, and was answered 20 s later.
    assert.equal(gets[1]!.startedDateTime, "2026-12-02T12:00:01.003Z");
    assert.equal(gets[1]!.time, 20_000);
    const posts = byMethod("POST");
    assert.deepEqual(posts.map((e) => [new URLSearchParams(e.request!.postData!.text).get("ppstr"), e.response!.status, e.response!["_chskKind"]]), [
      ["[[:demo/echo 1] :ajax]", 200, "reply"],
      ["[[:demo/note 2] nil]", 200, "dummy"],
      ["[[:demo/echo 3] :ajax]", 403, "refused"],
    ]);
    assert.equal(posts[0]!.request!.postData!.mimeType, "application/x-www-form-urlencoded");
    assert.equal(posts[0]!.time, 8);
    assert.equal(posts[2]!.response!.content!.text, "Bad CSRF token");
    assert.deepEqual(posts[2]!.response!["_chskError"], { code: "CHSK_ERR_BAD_CSRF", message: "HTTP 403: Bad CSRF token" });
  });

  it("binary frames: opcode 2 with base64 data, binary POSTs with binary? and a base64 body", () => {
    const p = binaryPacker();
    const bin = exported(decode(sessionEvents(p), p));
    const ws = bin.log!.entries!.find((e) => e._resourceType === "websocket")!;
    assert.ok(ws._webSocketMessages!.every((m) => m.opcode === 2 && Buffer.from(m.data!, "base64").length > 0));
    const post = bin.log!.entries!.find((e) => e.request?.method === "POST")!;
    assert.equal(new URL(post.request!.url!).searchParams.get("binary?"), "true");
    assert.equal(post.request!.postData!.encoding, "base64");
    assert.equal(post.response!.content!.encoding, "base64");
  });
});

describe("createHarWriter (--har-out FILE)", () => {
  it("writes the HAR of every record on close(), once; past maxRecords records are counted, not kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chsk-har-out-"));
    try {
      const records = decode(sessionEvents());
      const file = join(dir, "s.har");
      const w = createHarWriter(file, { url: URL_, maxRecords: 15 });
      for (const r of records) w.write(r);
      await w.close();
      await w.close();
      assert.equal(w.dropped, records.length - 15);
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), exported(records.slice(0, 15)));
      const errors: string[] = [];
      const bad = createHarWriter(join(dir, "no", "such", "dir.har"), { onError: (e) => errors.push(e.code) });
      await bad.close();
      assert.deepEqual(errors, ["CHSK_ERR_FILE"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("HAR export → import round trip", () => {
  for (const [name, packer] of [["edn", ednPacker()], ["msgpack (binary frames)", binaryPacker()]] as const) {
    it(`${name}: the exported HAR reads back into the same records`, () => {
      // Given a decoded session, when it is exported and the HAR read and decoded again…
      const records = decode(sessionEvents(packer), packer);
      const { events, notices } = harToWireEvents(exported(records));
      // …then every record is the same, field for field.
      assert.deepEqual(notices, []);
      assert.deepEqual(decode(events, packer), records);
    });
  }

  it("without chsk's _chsk* fields (another tool re-saved it): the same frames per client, in order", () => {
    const records = decode(sessionEvents());
    const plain = stripChsk(exported(records));
    const again = decode(harToWireEvents(plain).events);
    assert.deepEqual(framesByClient(again), framesByClient(records));
  });
});

describe("the HAR reader takes what other tools write", () => {
  const entry = (over: Partial<HarEntry>): HarEntry => ({
    startedDateTime: "2026-12-02T12:00:00.000Z",
    time: 10,
    request: { method: "GET", url: "http://h/chsk?client-id=c1" },
    response: { status: 200, content: { text: "[:chsk/timeout nil]" } },
    ...over,
  });
  const kinds = (events: WireEvent[]) => events.map((e) => (e.type === "frame" ? `${e.type} ${e.channel} ${e.dir}` : e.type));

  it("refuses what is not a HAR with CHSK_ERR_BAD_HAR", () => {
    for (const x of [null, 1, {}, { log: {} }, { log: { entries: {} } }]) {
      assert.throws(() => harToWireEvents(x), { code: "CHSK_ERR_BAD_HAR" });
    }
  });

  it("skips other paths, unreadable URLs and times, unanswered requests (with a notice), odd opcodes", () => {
    const { events, notices } = harToWireEvents({
      log: {
        entries: [
          entry({ request: { method: "GET", url: "http://h/app.js" } }),
          entry({ request: { method: "GET", url: "not a url" } }),
          entry({ startedDateTime: "yesterday" }),
          entry({ response: { status: 0, _error: "net::ERR_ABORTED" } }),
          entry({ request: { method: "OPTIONS", url: "http://h/chsk" } }),
          entry({
            request: { method: "GET", url: "ws://h/chsk?client-id=c2" },
            response: { status: 101 },
            _resourceType: "websocket",
            _webSocketMessages: [
              { type: "receive", time: 1796212800.001, opcode: 1, data: "[:chsk/ws-ping nil]" },
              { type: "receive", time: 1796212800.002, opcode: 9, data: "" },
              { type: "send", time: 1796212800.003, opcode: 2, data: "not base64!" },
              { type: "error", time: 1796212800.004, opcode: 1, data: "x" },
              { type: "send", opcode: 1, data: "no time" },
            ],
          }),
        ],
      },
    });
    assert.deepEqual(kinds(events), ["open", "open", "frame ws s2c", "frame ws c2s"]);
    const bin = events[3] as Extract<WireEvent, { type: "frame" }>;
    assert.equal(bin.data, "not base64!", "unreadable base64 is passed on as text (the decoder calls it bad)");
    assert.ok(notices.some((n) => /no startedDateTime/.test(n.message)));
    assert.ok(notices.some((n) => n.level === "debug" && /without an answer/.test(n.message)));
  });

  it("a POST whose body has no ppstr is a frame the decoder calls bad; a refused upgrade is `refused`", () => {
    const { events } = harToWireEvents({
      log: {
        entries: [
          entry({ request: { method: "POST", url: "http://h/chsk", postData: { mimeType: "application/x-www-form-urlencoded", text: "client-id=c1&x=1" } } }),
          entry({ request: { method: "GET", url: "ws://h/chsk?client-id=c3" }, response: { status: 403, content: { text: "Bad CSRF token" } }, _resourceType: "websocket" }),
        ],
      },
    });
    assert.deepEqual(kinds(events), ["open", "frame post c2s", "frame post-reply s2c", "refused"]);
    const post = events[1] as Extract<WireEvent, { type: "frame" }>;
    assert.equal(post.clientId, "c1");
    assert.equal(post.error?.code, "CHSK_ERR_UNPACK");
    const decoded = decode(events);
    assert.equal(decoded[1]!.kind, "bad");
    assert.equal(decoded[3]!.kind, "refused");
    assert.equal(decoded[3]!.status, 403);
  });

  it("never crashes: any part of a HAR replaced by any JSON value reads, or is CHSK_ERR_BAD_HAR", () => {
    const base = exported(decode(sessionEvents())) as unknown;
    const paths: (string | number)[][] = [];
    const walk = (x: unknown, at: (string | number)[]) => {
      paths.push(at);
      if (x !== null && typeof x === "object") for (const [k, v] of Object.entries(x)) walk(v, [...at, Array.isArray(x) ? Number(k) : k]);
    };
    walk(base, []);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(paths.length - 1), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 4 }), (edits) => {
        let har = structuredClone(base);
        for (const [i, value] of edits) {
          const path = paths[i]!;
          if (path.length === 0) har = value;
          else {
            let o = har as Record<string | number, unknown> | null;
            for (const k of path.slice(0, -1)) o = o !== null && typeof o === "object" ? (o[k] as Record<string | number, unknown> | null) : null;
            if (o !== null && typeof o === "object") o[path.at(-1)!] = value;
          }
        }
        let events: WireEvent[];
        try {
          events = harToWireEvents(har).events;
        } catch (e) {
          assert.equal((e as { code?: string }).code, "CHSK_ERR_BAD_HAR", String(e));
          return;
        }
        decode(events);
      }),
      { numRuns: 500 },
    );
  });

  it("times: an answer at startedDateTime + time (else the sum of timings), a WS message at its time", () => {
    const { events } = harToWireEvents({
      log: {
        entries: [
          entry({ time: undefined, timings: { blocked: -1, dns: 2, connect: 3, send: 1, wait: 100, receive: 4 } }),
        ],
      },
    });
    assert.equal(events[1]!.at, Date.parse("2026-12-02T12:00:00.000Z") + 110);
    assert.equal((events[1] as { requestAt?: number }).requestAt, Date.parse("2026-12-02T12:00:00.000Z"));
  });
});
