/**
 * Client conformance, decoding: every payload a real Sente 1.22 server sent
 * in the captures of sections 1-11 (EDN and transit; the binary packers are
 * in sente-captured-binary.test.ts) is decoded by `decodeServerMessage` in
 * the context it arrived in (a WS frame, an Ajax poll body, an Ajax POST
 * body), and classified and valued as Sente's client does (§3.1).
 *
 * The expected values are written out by hand here, not read back with
 * chsk's own reader, so a reader bug can't hide behind itself.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { EdnSet, kw } from "../../src/core/edn/values.js";
import { type PackerName, packerByName } from "../../src/core/packers/index.js";
import { decodeClientMessage, decodeServerMessage, type ServerMessage } from "../../src/core/protocol/codec.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { type Exchange, exchange, KINDS, loadCaptured, nameOf, serverPayloads, wireOf } from "./sente-captured-fixture.js";

const pushed: ChskEvent[] = [
  ["demo/n", 0],
  ["demo/n", 1],
  ["demo/n", 2],
];

/** Sections 1-11, by exchange id: the decoded message of each server payload, in order. */
const EXPECTED: Record<string, ServerMessage[]> = {
  "1/ws-handshake": [{ kind: "handshake", uid: "alice", handshakeData: null }],
  "2/ws-reply": [{ kind: "reply", cbId: "cb-0001", value: { a: 1, b: [1, 2, "x"] } }],
  "2/ws-client-ping": [{ kind: "reply", cbId: "cb-0002", value: "pong" }],
  "2/ws-no-cb": [{ kind: "reply", cbId: "cb-0003", value: 2 }],
  "3/push-batch": [
    { kind: "push", events: pushed, bad: [] },
    { kind: "push", events: pushed, bad: [] },
  ],
  "4/ajax-handshake": [{ kind: "handshake", uid: "bob", handshakeData: null }],
  // `:sente/nil-uid` is chsk's null.
  "4/ajax-handshake-anonymous": [{ kind: "handshake", uid: null, handshakeData: null }],
  "5/ajax-poll-timeout": [{ kind: "timeout" }],
  "6/post-reply": [{ kind: "value", value: 5 }],
  "6/post-reply-cb-0": [{ kind: "value", value: { a: 1 } }],
  "6/post-no-cb": [{ kind: "accepted" }],
  "6/post-whoami": [{ kind: "value", value: { uid: "bob", "client-id": "cid-ajax-1", transport: kw("ajax") } }],
  "6/post-never-answered": [{ kind: "timeout" }],
  "9/server-ping": [{ kind: "ping" }],
  "11/ws-handshake": [{ kind: "handshake", uid: "erin", handshakeData: null }],
  "11/ws-reply": [{ kind: "reply", cbId: "tr-0001", value: { a: 1, b: new EdnSet([kw("x")]) } }],
  "11/ajax-handshake": [{ kind: "handshake", uid: "erin", handshakeData: null }],
  // Above 2^53: exact, as a bigint (transit-clj wrote "~i9007199254740993").
  "11/post-reply-int64": [{ kind: "value", value: 9007199254740993n }],
};

const textSections = (ex: Exchange) => Number(ex.section.split(".")[0]) <= 11;

describe("Sente 1.22 captures: chsk's client decodes every server payload (EDN, transit)", () => {
  const all = serverPayloads(textSections);

  it("covers every captured exchange of sections 1-11, each payload as its kind table says", () => {
    const ids = new Set(all.map((p) => p.ex.id));
    for (const ex of loadCaptured().exchanges.filter(textSections)) {
      const kinds = KINDS[nameOf(ex)];
      assert.ok(kinds, `no kinds for ${ex.id}`);
      assert.equal(all.filter((p) => p.ex === ex).length, kinds.length, `${ex.id}: payload count`);
      if (kinds.length > 0) assert.ok(EXPECTED[ex.id], `no expectation for ${ex.id}`);
    }
    for (const id of Object.keys(EXPECTED)) assert.ok(ids.has(id), `${id} is not in the fixture`);
  });

  for (const [id, expected] of Object.entries(EXPECTED)) {
    it(`${id}`, () => {
      const payloads = all.filter((p) => p.ex.id === id);
      assert.equal(payloads.length, expected.length);
      payloads.forEach((p, i) => {
        const packer = packerByName(p.ex.packer as PackerName);
        const r = decodeServerMessage(packer, wireOf(p.payload), p.context);
        assert.ok(r.ok, `${id} step ${p.step}: ${r.ok ? "" : r.error.message}`);
        assert.equal(r.value.kind, KINDS[nameOf(p.ex)]![i], `${id} step ${p.step} (${p.context}): kind`);
        assert.deepEqual(r.value, expected[i], `${id} step ${p.step} (${p.context})`);
      });
    });
  }

  // The same bytes in the other contexts, where Sente's client reads them otherwise (§3.1).
  it("context matters: a dummy-cb-200 / timeout body is only special on a POST or poll", () => {
    const edn = packerByName("edn");
    assert.deepEqual(decodeServerMessage(edn, "[:chsk/dummy-cb-200 nil]", "post"), { ok: true, value: { kind: "accepted" } });
    assert.deepEqual(decodeServerMessage(edn, "[:chsk/timeout nil]", "poll"), { ok: true, value: { kind: "timeout" } });
    // A POST reply whose value happens to be a handshake-like vector is just a value.
    const hs = decodeServerMessage(edn, '[[:chsk/handshake ["bob" nil nil]] nil]', "post");
    assert.ok(hs.ok && hs.value.kind === "value");
  });
});

describe("Sente 1.22 captures: chsk reads what the captured clients sent", () => {
  // The client frames and POST bodies of the capture, as the server side decodes them.
  it("the text-section client frames decode to the captured events and cb ids", () => {
    const edn = packerByName("edn");
    const cases: [string, unknown[], string | null, boolean][] = [
      ['[[:demo/echo {:a 1, :b [1 2 "x"]}] "cb-0001"]', ["demo/echo", { a: 1, b: [1, 2, "x"] }], "cb-0001", true],
      ['[[:chsk/ws-ping] "cb-0002"]', ["chsk/ws-ping"], "cb-0002", true],
      ["[[:demo/echo 1] nil]", ["demo/echo", 1], null, false],
      ["[[:demo/echo {:a 1}] 0]", ["demo/echo", { a: 1 }], "0", true],
      ["[[:demo/whoami] :ajax]", ["demo/whoami"], "ajax", true],
      ['[[:demo/push {:uid "alice", :event [:demo/n 0]}] nil]', ["demo/push", { uid: "alice", event: [kw("demo/n"), 0] }], null, false],
    ];
    for (const [wire, event, cbId, wants] of cases) {
      assert.deepEqual(decodeClientMessage(edn, wire), { ok: true, value: { event, cbId, wantsReply: wants } }, wire);
    }
  });

  it("transit: the captured POST's 9007199254740993 (a bare JSON number) reads exactly, as transit-clj reads it", () => {
    const transit = packerByName("transit");
    const r = decodeClientMessage(transit, '[["~:demo/echo",9007199254740993],"~:ajax"]');
    assert.deepEqual(r, { ok: true, value: { event: ["demo/echo", 9007199254740993n], cbId: "ajax", wantsReply: true } });
    // Beyond int64 it is a BigInteger on the JVM (transit-clj writes "~n…"); small and fractional numbers are untouched.
    const big = transit.unpack("[99999999999999999999, -9007199254740993, 9007199254740991, 1.5e300, 12345678901234567.5]");
    assert.deepEqual(big, { ok: true, value: [99999999999999999999n, -9007199254740993n, 9007199254740991, 1.5e300, 12345678901234568] });
    assert.equal(transit.pack([99999999999999999999n, -9007199254740993n]), '["~n99999999999999999999","~i-9007199254740993"]');
    // A literal that is how JS prints a double (what chsk and transit-js write for one) stays that number.
    assert.deepEqual(transit.unpack("[9007199254740994, -9007199254740992, 12345678901234567000]"), {
      ok: true,
      value: [9007199254740994, -9007199254740992, 12345678901234567000],
    });
    // Digits inside strings are strings.
    assert.deepEqual(transit.unpack('["9007199254740993","a\\"9007199254740993"]'), { ok: true, value: ["9007199254740993", 'a"9007199254740993'] });
  });
});

describe("Sente 1.22 captures: the hand-written frame fixtures agree with the real ones", () => {
  // fixtures/frames/conformance.json (protocol.md's frames, every packer, encode and decode)
  // stays the codec's table; where a capture shows the same situation, its bytes must match.
  // [conformance id, packer, captured exchange, its step, substitutions (fixture → capture)]
  const SAME: [string, "edn" | "transit", string, number, [string, string][]][] = [
    ["F1", "edn", "1/ws-handshake", 1, []],
    ["F1", "edn", "4/ajax-handshake", 0, [['"alice"', '"bob"']]],
    ["F1", "transit", "11/ws-handshake", 0, [['"alice"', '"erin"']]],
    ["F2", "edn", "4/ajax-handshake-anonymous", 0, []],
    ["F8", "edn", "9/server-ping", 0, []],
    ["F11", "edn", "2/ws-client-ping", 1, [['"a1b2c3"', '"cb-0002"']]],
    ["F14", "edn", "6/post-no-cb", 0, []],
    ["F15", "edn", "6/post-never-answered", 0, []],
    ["F16", "edn", "5/ajax-poll-timeout", 0, []],
  ];
  const conformance = JSON.parse(readFileSync(new URL("../../fixtures/frames/conformance.json", import.meta.url), "utf8")) as {
    frames: { id: string; wire: Record<string, string> }[];
  };

  for (const [id, packer, exId, stepIndex, subs] of SAME) {
    it(`${id} (${packer}) = ${exId}`, () => {
      let wire = conformance.frames.find((f) => f.id === id)!.wire[packer]!;
      for (const [a, b] of subs) wire = wire.replace(a, b);
      const step = exchange(exId).steps[stepIndex]!;
      const captured = step.type === "recv" ? step.payload : step.type === "http" ? step.response.body! : undefined;
      assert.ok(captured?.text !== undefined, `${exId} step ${stepIndex} is a server payload`);
      assert.equal(wire, captured.text);
    });
  }
});
