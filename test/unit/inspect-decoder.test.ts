/**
 * The inspector's frame decoder (src/core/inspect/frame-decoder.ts):
 * every frame kind and envelope era, on real Sente 1.22 traffic
 * (fixtures/sente-1.22, as a proxy would have seen it, every packer), the
 * conformance frames (fixtures/frames/conformance.json), legacy frames
 * written with chsk's own codec, bad frames, and packer detection.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { createFrameDecoder } from "../../src/core/inspect/frame-decoder.js";
import type { FrameRecord, WireChannel, WireEvent } from "../../src/core/inspect/types.js";
import { ednPacker, jsonPacker, packerByName, transitPacker, type Packer, type PackerName } from "../../src/core/packers/index.js";
import {
  encodeClientEvent,
  encodeClientPong,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePong,
  encodePush,
  encodeReply,
  encodeServerPing,
  type MessageContext,
} from "../../src/core/protocol/codec.js";
import { T0, capturedRuns, newSession, wireEventsOf } from "./inspect-fixtures.js";
import { loadCaptured, nameOf } from "./sente-captured-fixture.js";

const collapse = (xs: string[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);

// ---------------------------------------------------------------------------
// Real Sente traffic

/** What each captured exchange decodes to (opens left out, repeats collapsed), by exchange name. */
const EXPECTED: Record<string, string[]> = {
  "ws-handshake": ["handshake"],
  "ws-reply": ["event", "reply"],
  "ws-reply-key-cache": ["event", "reply"],
  "ws-reply-types": ["event", "reply"],
  "ws-reply-gzip": ["event", "reply"],
  "ws-client-ping": ["ping", "pong"],
  "ws-no-cb": ["event", "reply"],
  "ws-legacy-plus": ["event"],
  "ws-u64": ["event"],
  // A text frame to a binary-packer server (Sente logs an unpack failure).
  "ws-text-frame": ["bad"],
  "push-batch": ["event", "push"],
  "ajax-handshake": ["handshake"],
  "ajax-handshake-anonymous": ["handshake"],
  "ajax-poll-timeout": ["timeout"],
  "post-reply": ["event", "reply"],
  "post-reply-cb-0": ["event", "reply"],
  "post-reply-int64": ["event", "reply"],
  "post-reply-padded": ["event", "reply"],
  "post-no-cb": ["event", "dummy"],
  "post-whoami": ["event", "reply"],
  "post-never-answered": ["event", "timeout"],
  "post-text-form": ["bad", "refused"],
  "bad-csrf-ws": ["refused"],
  "bad-csrf-post": ["event", "refused"],
  "bad-csrf-no-session": ["refused"],
  "missing-client-id-ajax": ["refused"],
  "missing-client-id-ws": ["refused"],
  "server-ping": ["ping"],
  "bad-origin-ws": ["refused"],
};

describe("decoding real Sente 1.22 traffic (fixtures/sente-1.22)", () => {
  const runs = capturedRuns();

  it("has a run per packer Sente was captured with", () => {
    assert.deepEqual(
      runs.map((r) => r.packer),
      ["edn", "transit", "msgpack", "gzip+edn", "gzip+msgpack"],
    );
  });

  for (const { packer, exchanges } of runs) {
    describe(`${packer} run`, () => {
      // Decode the whole run with one decoder, the packer detected, and keep each exchange's records.
      const decoder = createFrameDecoder();
      const session = newSession();
      const byExchange = exchanges.map((ex) => ({ ex, records: wireEventsOf(ex, session).map((e) => decoder.push(e)) }));
      const flushed = decoder.flush(session.t + 60_000);
      const all = byExchange.flatMap((x) => x.records);

      it("detects the packer from the traffic", () => {
        assert.equal(decoder.packer, packer);
        for (const r of all) if (r.kind !== "bad" && r.packer !== undefined) assert.equal(r.packer, packer);
      });

      for (const { ex, records } of byExchange) {
        it(`${ex.id}: ${ex.title}`, () => {
          const expected = EXPECTED[nameOf(ex)];
          assert.ok(expected, `no expectation for ${nameOf(ex)}`);
          assert.deepEqual(collapse(records.filter((r) => r.kind !== "open").map((r) => r.kind)), expected);
          for (const r of records) {
            if (r.kind === "reply" || r.kind === "pong" || r.kind === "dummy" || (r.kind === "timeout" && r.channel === "post-reply")) {
              assert.ok(r.pair !== undefined, `${ex.id}: seq ${r.seq} ${r.kind} is paired`);
              assert.equal(typeof r.latencyMs, "number");
              const call = all.find((c) => c.seq === r.pair)!;
              assert.equal(call.pair, r.seq, "the call points back at its answer");
              assert.equal(call.conn, r.conn, "a call and its answer are on one connection");
            }
            if (r.kind === "bad") assert.equal(r.error?.code, "CHSK_ERR_PACKER_MISMATCH");
            if (r.transport === "ajax" && r.clientId !== null) assert.equal(r.conn, `ajax:${r.clientId}`);
          }
        });
      }

      it("envelope eras: 1.21 everywhere but the ≤1.20 cb 0 and the legacy + frame", () => {
        for (const { ex, records } of byExchange) {
          for (const r of records.filter((x) => x.envelope !== undefined)) {
            const want = nameOf(ex) === "ws-legacy-plus" ? "1.17" : nameOf(ex) === "post-reply-cb-0" && r.dir === "c2s" ? "1.18" : "1.21";
            assert.equal(r.envelope, want, `${ex.id} seq ${r.seq}`);
          }
        }
      });

      it("flags what Sente never answered", () => {
        const flagged = flushed.map((r) => `${r.kind}:${r.flags?.join(",")}`);
        if (exchanges.some((ex) => nameOf(ex) === "server-ping")) assert.ok(flagged.includes("ping:missed-pong"), "the last server ping of the run got no pong");
        for (const r of flushed) assert.ok(r.flags!.length > 0);
        const neverAnswered = all.find((r) => r.eventId === "demo/none");
        if (neverAnswered) assert.deepEqual(neverAnswered.flags, ["unanswered"], "Sente's :chsk/timeout answer");
      });

      it("binary frames are kept as base64, text as text", () => {
        for (const r of all) {
          if (r.kind === "open" || r.kind === "refused") continue;
          const binary = r.packer !== undefined && packerByName(r.packer as PackerName).binary;
          if (r.kind !== "bad") assert.equal(r.binary === true, binary, `seq ${r.seq}`);
          if (r.binary) assert.match(r.raw, /^[A-Za-z0-9+/]*={0,2}$/);
        }
      });
    });
  }

  it("handshakes name the user: uid, nil-uid, and the uid goes on the connection's later records", () => {
    const edn = runs.find((r) => r.packer === "edn")!;
    const d = createFrameDecoder();
    const out = edn.events.map((e) => d.push(e));
    const hs = out.filter((r) => r.kind === "handshake");
    assert.deepEqual(
      hs.map((r) => [r.uid, r.data]),
      [
        ['"alice"', '["alice" nil nil]'],
        ['"bob"', '["bob" nil nil]'],
        [":sente/nil-uid", "[:sente/nil-uid nil nil]"],
      ],
    );
    const bobAjax = out.filter((r) => r.conn === hs[1]!.conn);
    assert.ok(bobAjax.length > 5);
    for (const r of bobAjax.filter((x) => x.seq > hs[1]!.seq)) assert.equal(r.uid, '"bob"', `seq ${r.seq} ${r.kind}`);
  });
});

/** One-shot decode (fresh decoder). */
function createFrameDecoderOnce(e: WireEvent, packer?: Packer): FrameRecord {
  return createFrameDecoder(packer === undefined ? {} : { packer }).push(e);
}

// ---------------------------------------------------------------------------
// Conformance frames

interface Decode {
  as: "client" | "server";
  context?: MessageContext;
  expect?: { kind?: string; [k: string]: unknown };
  error?: string;
  errorOneOf?: string[];
}
interface Case {
  id: string;
  era?: string;
  direction?: string;
  wire: Record<string, string>;
  decode?: Decode[];
}
const conformance = JSON.parse(readFileSync(new URL("../../fixtures/frames/conformance.json", import.meta.url), "utf8")) as {
  frames: Case[];
  legacy: Case[];
  invalid: Case[];
};

const PACKERS: Record<string, () => Packer> = {
  edn: ednPacker,
  transit: transitPacker,
  "transit-verbose": transitPacker,
  json: jsonPacker,
};

const CHANNEL: Record<MessageContext, WireChannel> = { ws: "ws", poll: "poll", post: "post-reply" };
/** The record kind for a codec `ServerMessage` kind. */
const RECORD_KIND: Record<string, string> = {
  handshake: "handshake",
  ping: "ping",
  reply: "reply",
  push: "push",
  timeout: "timeout",
  accepted: "dummy",
  value: "reply",
};

function frameEvent(data: string | Uint8Array, dir: "c2s" | "s2c", channel: WireChannel, extra: Partial<WireEvent> = {}): WireEvent {
  const transport = channel === "ws" ? "ws" : "ajax";
  return { type: "frame", at: T0, dir, transport, channel, connId: "c1", clientId: "cid", data, ...extra } as WireEvent;
}

describe("conformance frames (fixtures/frames/conformance.json), every text packer", () => {
  for (const c of conformance.frames) {
    for (const [packerName, wire] of Object.entries(c.wire)) {
      for (const d of c.decode ?? []) {
        const where = d.as === "client" ? (c.id === "F12" ? "post" : "ws") : d.context!;
        it(`${c.id} ${packerName} as ${d.as} ${where}`, () => {
          const packer = PACKERS[packerName]!();
          const dir = d.as === "client" ? "c2s" : "s2c";
          const channel: WireChannel = d.as === "client" ? (where === "post" ? "post" : "ws") : CHANNEL[d.context!];
          for (const r of [createFrameDecoderOnce(frameEvent(wire, dir, channel), packer), createFrameDecoderOnce(frameEvent(wire, dir, channel))]) {
            assert.notEqual(r.kind, "bad", JSON.stringify(r.error));
            assert.equal(r.envelope, "1.21");
            assert.equal(r.raw, wire);
            assert.equal(r.bytes, Buffer.byteLength(wire));
            if (d.as === "server") {
              let kind = RECORD_KIND[d.expect!.kind!]!;
              if (kind === "reply" && d.expect!["value"] === "pong") kind = "pong";
              assert.equal(r.kind, kind);
            } else {
              const ev = (d.expect as { event: [string, unknown?]; cbId: string | null }).event;
              assert.equal(r.eventId, ev[0]);
              assert.equal(r.kind, ev[0] === "chsk/ws-pong" ? "pong" : ev[0] === "chsk/ws-ping" ? "ping" : "event");
            }
          }
        });
      }
    }
  }

  it("data, uid, cb ids and events as EDN text, whatever the packer", () => {
    for (const packerName of ["edn", "transit", "json"]) {
      const w = (id: string) => conformance.frames.find((c) => c.id === id)!.wire[packerName]!;
      const p = PACKERS[packerName]!();
      const f3 = createFrameDecoderOnce(frameEvent(w("F3"), "s2c", "ws"), p);
      assert.equal(f3.uid, '"bob"');
      assert.equal(f3.data, '["bob" nil {:hello "world"}]');
      assert.equal(createFrameDecoderOnce(frameEvent(w("F2"), "s2c", "poll"), p).uid, ":sente/nil-uid");
      const f4 = createFrameDecoderOnce(frameEvent(w("F4"), "c2s", "ws"), p);
      assert.deepEqual([f4.eventId, f4.cbId, f4.data], ["my/ev", "3f2a1b", "{:a 1}"]);
      assert.equal(createFrameDecoderOnce(frameEvent(w("F6"), "c2s", "ws"), p).cbId, null);
      assert.equal(createFrameDecoderOnce(frameEvent(w("F12"), "c2s", "post"), p).cbId, ":ajax");
      const f7 = createFrameDecoderOnce(frameEvent(w("F7"), "s2c", "ws"), p);
      assert.deepEqual(f7.events, [
        { eventId: "my/push", data: "{:n 1}" },
        { eventId: "my/push", data: "{:n 2}" },
      ]);
      assert.equal(f7.eventId, "my/push");
      assert.equal(f7.data, "[[:my/push {:n 1}] [:my/push {:n 2}]]");
      const f5 = createFrameDecoderOnce(frameEvent(w("F5"), "s2c", "ws"), p);
      assert.deepEqual([f5.kind, f5.cbId, f5.data, f5.flags], ["reply", "3f2a1b", "{:echo {:a 1}}", ["orphan"]]);
    }
  });
});

describe("legacy eras (conformance.json legacy)", () => {
  const ERA: Record<string, FrameRecord["envelope"]> = { "<=1.16": "1.17", "1.17": "1.17", "1.18-1.20": "1.18", "0.15-1.13": "1.17", "0.8-0.14": "1.17" };
  for (const c of conformance.legacy) {
    for (const d of c.decode ?? []) {
      it(`${c.id} (${c.era}) as ${d.as} ${d.context ?? ""}`, () => {
        const wire = c.wire["edn"]!;
        const dir = d.as === "client" ? "c2s" : "s2c";
        const channel: WireChannel = d.as === "client" ? (wire.endsWith(" 0]") ? "post" : "ws") : CHANNEL[d.context!];
        const r = createFrameDecoderOnce(frameEvent(wire, dir, channel), ednPacker());
        assert.notEqual(r.kind, "bad", JSON.stringify(r.error));
        // A 1.18-1.20 `[v cb]` is byte for byte a 1.21 envelope.
        const era = c.id === "L18" ? "1.21" : ERA[c.era!];
        assert.equal(r.envelope, era);
        if (d.as === "server") assert.equal(r.kind, RECORD_KIND[d.expect!.kind!]);
        else assert.equal(r.eventId, "my/ev");
      });
    }
  }

  it("2-element handshakes, both nil-uid keywords, the pre-1.14 CSRF slot and 0.8's bare :ws", () => {
    const hs = (w: string) => createFrameDecoderOnce(frameEvent(w, "s2c", "ws"), ednPacker());
    const byId = (id: string) => conformance.legacy.find((c) => c.id === id)!.wire["edn"]!;
    assert.deepEqual([hs(byId("L14")).uid, hs(byId("L14")).data], ['"alice"', '["alice" nil]']);
    assert.equal(hs(byId("L13")).uid, ":sente/nil-uid");
    assert.equal(hs(byId("L21")).data, '["alice" "tok123" {:x 1}]');
    assert.deepEqual([hs(byId("L22")).kind, hs(byId("L22")).uid, hs(byId("L22")).data], ["handshake", ":sente/nil-uid", ":ws"]);
  });

  // Every frame kind, written by chsk's codec in the 1.21 format, then rewritten in the older formats.
  describe("every frame kind in every era, from chsk's codec", () => {
    const kinds: { name: string; dir: "c2s" | "s2c"; channel: WireChannel; kind: string; make: (p: Packer) => string | Uint8Array }[] = [
      { name: "handshake", dir: "s2c", channel: "ws", kind: "handshake", make: (p) => encodeHandshake(p, "alice", { x: 1 }) },
      { name: "ajax handshake", dir: "s2c", channel: "poll", kind: "handshake", make: (p) => encodeHandshake(p, null) },
      { name: "push", dir: "s2c", channel: "ws", kind: "push", make: (p) => encodePush(p, [["my/push", 1], ["my/push", 2]]) },
      { name: "ajax push", dir: "s2c", channel: "poll", kind: "push", make: (p) => encodePush(p, [["my/push", { n: 1 }]]) },
      { name: "server ping", dir: "s2c", channel: "ws", kind: "ping", make: encodeServerPing },
      { name: "ws reply", dir: "s2c", channel: "ws", kind: "reply", make: (p) => encodeReply(p, { ok: true }, "ab12cd") },
      { name: "pong", dir: "s2c", channel: "ws", kind: "pong", make: (p) => encodePong(p, "ab12cd") },
      { name: "poll timeout", dir: "s2c", channel: "poll", kind: "timeout", make: encodeLpTimeout },
      { name: "post timeout", dir: "s2c", channel: "post-reply", kind: "timeout", make: encodeLpTimeout },
      { name: "dummy", dir: "s2c", channel: "post-reply", kind: "dummy", make: encodeDummyCb200 },
      { name: "post reply", dir: "s2c", channel: "post-reply", kind: "reply", make: (p) => encodeReply(p, [1, 2], null) },
      { name: "event with cb", dir: "c2s", channel: "ws", kind: "event", make: (p) => encodeClientEvent(p, ["my/ev", 1], "ab12cd") },
      { name: "event", dir: "c2s", channel: "ws", kind: "event", make: (p) => encodeClientEvent(p, ["my/ev"], null) },
      { name: "client ping", dir: "c2s", channel: "ws", kind: "ping", make: (p) => encodeClientEvent(p, ["chsk/ws-ping"], "ab12cd") },
      { name: "client pong", dir: "c2s", channel: "ws", kind: "pong", make: encodeClientPong },
      { name: "ajax call", dir: "c2s", channel: "post", kind: "event", make: (p) => encodeClientEvent(p, ["my/ev", 1], "ajax") },
    ];
    /** 1.21 text `[v cb]` → 1.18 `[v]` (cb-less) or `[v cb]`, 1.17 `+[v cb]`, ≤1.16 `-v` (cb-less). */
    const eras = (p: Packer, text: string): { era: "1.21" | "1.18" | "1.17"; wire: string }[] => {
      const r = p.unpack(text);
      assert.ok(r.ok);
      const [value, cb] = r.value as [unknown, unknown];
      const out: { era: "1.21" | "1.18" | "1.17"; wire: string }[] = [{ era: "1.21", wire: text }];
      // With a cb, 1.18-1.20 wrote what 1.21 writes.
      if (cb === null) out.push({ era: "1.18", wire: p.pack([value]) as string });
      out.push({ era: "1.17", wire: `+${text}` });
      if (cb === null) out.push({ era: "1.17", wire: `-${p.pack(value) as string}` });
      return out;
    };
    for (const packerName of ["edn", "transit"]) {
      for (const k of kinds) {
        it(`${packerName} ${k.name}`, () => {
          const p = PACKERS[packerName]!();
          for (const { era, wire } of eras(p, k.make(p) as string)) {
            for (const fixed of [p, undefined]) {
              const r = createFrameDecoderOnce(frameEvent(wire, k.dir, k.channel), fixed);
              assert.equal(r.kind, k.kind, `${era} ${wire}`);
              assert.equal(r.envelope, era, wire);
            }
          }
        });
      }
    }
    it("an Ajax cb id 0 (1.18-1.20) is a call, shown as 0", () => {
      const r = createFrameDecoderOnce(frameEvent("[[:my/ev 1] 0]", "c2s", "post"), ednPacker());
      assert.deepEqual([r.kind, r.cbId, r.envelope], ["event", "0", "1.18"]);
    });
  });
});

describe("frames that fail to decode become bad records", () => {
  const CODES: Record<string, string[]> = {
    X1: ["CHSK_ERR_BAD_ENVELOPE"],
    X2: ["CHSK_ERR_BAD_ENVELOPE"],
    X3: ["CHSK_ERR_BAD_ENVELOPE"],
    X4: ["CHSK_ERR_EDN_SYNTAX", "CHSK_ERR_UNPACK"],
    X5: ["CHSK_ERR_BAD_ENVELOPE"],
  };
  for (const c of conformance.invalid) {
    for (const [packerName, wire] of Object.entries(c.wire)) {
      for (const d of c.decode ?? []) {
        it(`${c.id} ${packerName} as ${d.as} ${d.context ?? ""}`, () => {
          const dir = d.as === "client" ? "c2s" : "s2c";
          const r = createFrameDecoderOnce(frameEvent(wire, dir, d.as === "client" ? "ws" : CHANNEL[d.context!]), PACKERS[packerName]!());
          if (CODES[c.id]) {
            assert.equal(r.kind, "bad");
            assert.ok(CODES[c.id]!.includes(r.error!.code), r.error!.code);
            assert.equal(r.raw, wire);
            assert.equal(r.envelope, undefined);
          } else {
            // Decodes, but holds invalid events: Sente's :chsk/bad-event, shown with an error.
            assert.notEqual(r.kind, "bad");
            assert.equal(r.error?.code, "CHSK_ERR_BAD_EVENT");
            if (d.as === "client") assert.equal(r.eventId, "chsk/bad-event");
            else assert.ok(r.events!.some((e) => e.eventId === "chsk/bad-event"));
          }
        });
      }
    }
  }

  it("non-Sente bodies, HTTP errors, source errors, wrong data types", () => {
    const html = createFrameDecoderOnce(frameEvent("<html><title>Oops</title></html>", "s2c", "poll", { status: 200 }));
    assert.deepEqual([html.kind, html.error?.code], ["bad", "CHSK_ERR_NOT_SENTE"]);
    assert.match(html.error!.message, /html.*Oops/);
    const status = createFrameDecoderOnce(frameEvent("[:chsk/timeout nil]", "s2c", "poll", { status: 502 }));
    assert.deepEqual([status.kind, status.error?.code, status.status], ["bad", "CHSK_ERR_HTTP_STATUS", 502]);
    const big = createFrameDecoderOnce(frameEvent("", "c2s", "ws", { bytes: 5_000_000, error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: "over 1 MiB" } }));
    assert.deepEqual([big.kind, big.error?.code, big.bytes], ["bad", "CHSK_ERR_FRAME_TOO_LARGE", 5_000_000]);
    const weird = createFrameDecoder().push({ ...frameEvent("x", "c2s", "ws"), data: 42 } as unknown as WireEvent);
    assert.equal(weird.kind, "bad");
    const unknown = createFrameDecoder().push({ type: "nope", at: T0 } as unknown as WireEvent);
    assert.equal(unknown.kind, "bad");
    const deep = createFrameDecoderOnce(frameEvent("[".repeat(100) + "]".repeat(100), "c2s", "ws"), ednPacker());
    assert.deepEqual([deep.kind, deep.error?.code], ["bad", "CHSK_ERR_EDN_DEPTH"]);
  });
});

describe("packer detection", () => {
  it("settles on the first decisive frame and keeps it", () => {
    for (const name of ["edn", "transit", "json", "msgpack", "gzip+edn", "gzip+msgpack", "gzip+transit"] as const) {
      const p = packerByName(name);
      const d = createFrameDecoder();
      const hs = d.push(frameEvent(encodeHandshake(p, "alice"), "s2c", "ws"));
      assert.equal(hs.kind, "handshake", name);
      assert.equal(d.packer, name);
      const reply = d.push(frameEvent(encodeReply(p, "pong", "x"), "s2c", "ws"));
      assert.equal(reply.packer, name);
    }
  });

  it("JSON frames that transit reads the same decide nothing; a transit mark does", () => {
    const d = createFrameDecoder();
    const pong = d.push(frameEvent('["pong","a1b2c3"]', "s2c", "ws"));
    assert.deepEqual([pong.kind, pong.data], ["pong", '"pong"']);
    assert.equal(d.packer, undefined);
    d.push(frameEvent('[["~:my/ev",["^ ","~:a",1]],"3f2a1b"]', "c2s", "ws"));
    assert.equal(d.packer, "transit");
    const d2 = createFrameDecoder();
    d2.push(frameEvent('[["my/ev",{"a":1}],null]', "c2s", "ws"));
    assert.equal(d2.packer, "json");
  });

  it("a page or an empty body decides nothing", () => {
    const d = createFrameDecoder();
    d.push(frameEvent("<!doctype html><title>Login</title>", "s2c", "poll", { status: 200 }));
    d.push(frameEvent("", "s2c", "poll", { status: 200 }));
    assert.equal(d.packer, undefined);
    d.push(frameEvent("[:chsk/timeout nil]", "s2c", "poll", { status: 200 }));
    assert.equal(d.packer, "edn");
  });

  it("a given packer is used for every frame, a custom one included", () => {
    const edn = ednPacker();
    const custom: Packer = { name: "my-edn", binary: false, keywordsAsStrings: false, pack: (v) => edn.pack(v), unpack: (x, l) => edn.unpack(x, l) };
    const d = createFrameDecoder({ packer: custom });
    assert.equal(d.packer, "my-edn");
    const r = d.push(frameEvent("[[:my/ev 1] nil]", "c2s", "ws"));
    assert.deepEqual([r.kind, r.packer], ["event", "my-edn"]);
    const t = d.push(frameEvent('[["~:my/ev",1],null]', "c2s", "ws"));
    assert.equal(t.packer, "my-edn");
  });

  it("a frame in another format than the settled packer: a packer mismatch", () => {
    const d = createFrameDecoder();
    d.push(frameEvent(encodeHandshake(packerByName("msgpack"), "a"), "s2c", "ws"));
    const r = d.push(frameEvent("[[:my/ev 1] nil]", "c2s", "ws"));
    assert.deepEqual([r.kind, r.error?.code], ["bad", "CHSK_ERR_PACKER_MISMATCH"]);
    assert.match(r.error!.message, /looks like edn, decoded as msgpack/);
  });

  it("rejects bad options at construction", () => {
    assert.throws(() => createFrameDecoder({ callTimeoutMs: -1 }), RangeError);
    assert.throws(() => createFrameDecoder({ callTimeoutMs: "1" as unknown as number }), TypeError);
    assert.throws(() => createFrameDecoder({ packer: {} as Packer }), TypeError);
    assert.throws(() => createFrameDecoder({ maxPending: 1.5 }), RangeError);
    assert.throws(() => createFrameDecoder({ onUpdate: 1 as unknown as () => void }), TypeError);
  });
});

it("the captures exist (a renamed fixture fails here, not silently)", () => {
  assert.ok(loadCaptured().exchanges.length > 50);
});
