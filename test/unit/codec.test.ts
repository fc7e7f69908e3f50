/**
 * Sente frame codec: exact bytes for every packer (fixtures/frames/conformance.json),
 * message classification, legacy formats, event validation, and a property
 * test that no input makes a decoder throw.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";

import { appendQuery, formatQuery } from "../../src/core/client/url.js";
import { List, kw } from "../../src/core/edn/values.js";
import { ednPacker, jsonPacker, transitPacker, type Packer } from "../../src/core/packers/index.js";
import {
  decodeClientMessage,
  decodeServerMessage,
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
  toWireEvent,
} from "../../src/core/protocol/codec.js";
import { writeEdn } from "../../src/core/edn/writer.js";
import { fqnArb, stringArb, valueArb } from "./edn-arbitraries.js";
import { ChskError, isChskError, type ChskErrorCode } from "../../src/core/protocol/errors.js";
import { asEvent, assertEvent, validateEvent, type ChskEvent } from "../../src/core/protocol/events.js";

// ---------------------------------------------------------------------------
// Fixtures

interface Decode {
  as: "client" | "server";
  context?: MessageContext;
  expect?: unknown;
  error?: ChskErrorCode;
  errorOneOf?: ChskErrorCode[];
}
interface Case {
  id: string;
  description: string;
  encode?: { op: string; [k: string]: unknown };
  wire: Record<string, string>;
  decode?: Decode[];
}
interface Fixtures {
  frames: Case[];
  vectors: Case[];
  legacy: Case[];
  invalid: Case[];
}

const fixtures = JSON.parse(
  readFileSync(new URL("../../fixtures/frames/conformance.json", import.meta.url), "utf8"),
) as Fixtures;

const packers: Record<string, Packer> = {
  edn: ednPacker(),
  transit: transitPacker(),
  "transit-verbose": transitPacker({ verbose: true }),
  json: jsonPacker(),
};

/** Fixture notation → value model: `{"$kw": "x"}` is `:x`, `{"$list": […]}` a List. */
function revive(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(revive);
  if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    if (typeof o.$kw === "string") return kw(o.$kw);
    if (Array.isArray(o.$list)) return List.from_(o.$list.map(revive));
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, revive(v)]));
  }
  return x;
}

function encode(p: Packer, e: NonNullable<Case["encode"]>): string | Uint8Array {
  switch (e.op) {
    case "handshake":
      return encodeHandshake(p, e.uid, e.handshakeData);
    case "clientEvent":
      return encodeClientEvent(p, e.event as ChskEvent, e.cbId as string | null);
    case "reply":
      return encodeReply(p, e.value, e.cbId as string | null);
    case "push":
      return encodePush(p, e.events as ChskEvent[]);
    case "serverPing":
      return encodeServerPing(p);
    case "clientPong":
      return encodeClientPong(p);
    case "pong":
      return encodePong(p, e.cbId as string);
    case "lpTimeout":
      return encodeLpTimeout(p);
    case "dummyCb200":
      return encodeDummyCb200(p);
    default:
      throw new Error(`unknown fixture op ${e.op}`);
  }
}

function runDecode(p: Packer, wire: string | Uint8Array, d: Decode) {
  return d.as === "client" ? decodeClientMessage(p, wire) : decodeServerMessage(p, wire, d.context!);
}

function checkDecode(p: Packer, wire: string | Uint8Array, d: Decode, label: string): void {
  const r = runDecode(p, wire, d);
  if (d.error !== undefined || d.errorOneOf !== undefined) {
    assert.equal(r.ok, false, `${label}: expected an error, got ${JSON.stringify(r.ok && r.value)}`);
    if (!r.ok) {
      assert.ok(r.error instanceof ChskError, label);
      const codes = d.errorOneOf ?? [d.error!];
      assert.ok(codes.includes(r.error.code), `${label}: code ${r.error.code}, expected ${codes.join("|")}`);
    }
    return;
  }
  assert.ok(r.ok, `${label}: ${!r.ok ? `${r.error.code} ${r.error.message}` : ""}`);
  assert.deepStrictEqual(r.value, revive(d.expect), label);
}

function describeCases(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      const wires = Object.entries(c.wire);
      if (wires.length === 0) continue; // not about bytes (checked by client/server tests)
      describe(`${c.id}: ${c.description}`, () => {
        for (const [name, wire] of wires) {
          const p = packers[name];
          assert.ok(p, `fixture ${c.id} names unknown packer ${name}`);
          if (c.encode) {
            it(`${name}: encodes exactly`, () => {
              assert.equal(encode(p, c.encode!), wire);
            });
          }
          for (const d of c.decode ?? []) {
            const where = d.as === "client" ? "decodeClientMessage" : `decodeServerMessage(${d.context})`;
            it(`${name}: ${where}`, () => {
              checkDecode(p, wire, d, `${c.id} ${name} ${where}`);
              // A transport may hand a text frame over as UTF-8 bytes.
              checkDecode(p, new TextEncoder().encode(wire), d, `${c.id} ${name} ${where} (bytes)`);
            });
          }
        }
      });
    }
  });
}

describeCases("frames F1–F16 (protocol.md §3.2/§3.3)", fixtures.frames);
describeCases("conformance vectors (protocol.md §11.1)", fixtures.vectors);
describeCases("legacy inputs (≤1.20)", fixtures.legacy);
describeCases("invalid inputs", fixtures.invalid);

describe("fixture coverage", () => {
  it("has every §3.2 frame and the byte-level §11.1 vectors", () => {
    const ids = new Set(fixtures.frames.map((c) => c.id));
    for (let i = 1; i <= 16; i++) assert.ok(ids.has(`F${i}`), `F${i}`);
    const vectors = new Set(fixtures.vectors.map((c) => (c as Case & { vector: number }).vector));
    for (const v of [1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 24, 26, 27, 28]) {
      assert.ok(vectors.has(v), `vector ${v}`);
    }
  });

  it("V1's URLs are what the client's query helpers build (user params first)", () => {
    const v1 = fixtures.vectors.find((c) => c.id === "V1") as Case & {
      url: { path: string; params: Record<string, string>; clientId: string; csrfToken: string; expected: string }[];
    };
    for (const u of v1.url) {
      const qs = formatQuery({ ...u.params, "client-id": u.clientId, "csrf-token": u.csrfToken });
      assert.equal(appendQuery(u.path, qs), u.expected);
    }
  });

  it("gives the §3.3 transit strings for F1, F2, F4, F7, F8, F9, F11, F12, F16", () => {
    const spec = fixtures.frames.filter((c) => (c as Case & { sources: Record<string, string> }).sources.transit === "protocol.md §3.3");
    assert.deepEqual(spec.map((c) => c.id).sort(), ["F1", "F11-3.3", "F12", "F16", "F2", "F4", "F7", "F8", "F9"]);
  });
});

// ---------------------------------------------------------------------------
// Classification details not expressed as fixtures

describe("decodeClientMessage", () => {
  const edn = packers.edn!;

  it("keeps the original value of a bad event", () => {
    const r = decodeClientMessage(edn, '[{:not "an event"} nil]');
    assert.ok(r.ok);
    assert.equal(r.value.event[0], "chsk/bad-event");
    assert.deepStrictEqual(r.value.event[1], { not: "an event" });
  });

  it("treats any truthy cb id as wanting a reply, and nil/false as not", () => {
    const cases: [string, string | null, boolean][] = [
      ["[[:my/ev] :ajax]", "ajax", true],
      ["[[:my/ev] 0]", "0", true],
      ['[[:my/ev] "x"]', "x", true],
      ["[[:my/ev] true]", "true", true],
      ["[[:my/ev] nil]", null, false],
      ["[[:my/ev] false]", null, false],
      ["[[:my/ev]]", null, false],
    ];
    for (const [wire, cbId, wants] of cases) {
      const r = decodeClientMessage(edn, wire);
      assert.ok(r.ok, wire);
      assert.deepStrictEqual([r.value.cbId, r.value.wantsReply], [cbId, wants], wire);
    }
  });

  it("accepts string ids only from keyword-less packers", () => {
    const e = decodeClientMessage(edn, '[["my/ev" 1] nil]');
    assert.ok(e.ok);
    assert.equal(e.value.event[0], "chsk/bad-event");
    const j = decodeClientMessage(packers.json!, '[["my/ev",1],null]');
    assert.ok(j.ok);
    assert.deepStrictEqual(j.value.event, ["my/ev", 1]);
  });

  it("strips a legacy prefix from bytes as from text", () => {
    const r = decodeClientMessage(edn, new TextEncoder().encode('+[[:my/ev 1] "abc"]'));
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, { event: ["my/ev", 1], cbId: "abc", wantsReply: true });
  });
});

describe("decodeServerMessage", () => {
  const edn = packers.edn!;

  it("checks for a handshake before a ping or a reply (Sente's order)", () => {
    const r = decodeServerMessage(edn, '[[:chsk/handshake ["u" nil nil]] "3f2a1b"]', "ws");
    assert.ok(r.ok);
    assert.equal(r.value.kind, "handshake");
  });

  it("does not treat a POST body as a handshake or a push", () => {
    const r = decodeServerMessage(edn, '[[:chsk/handshake ["u" nil nil]] nil]', "post");
    assert.ok(r.ok);
    assert.equal(r.value.kind, "value");
    const p = decodeServerMessage(edn, "[[[:my/push 1]] nil]", "post");
    assert.ok(p.ok);
    assert.deepStrictEqual(p.value, { kind: "value", value: [[kw("my/push"), 1]] });
  });

  it("keeps a handshake's uid as sent, and maps both nil-uid keywords to null", () => {
    for (const [wire, uid] of [
      ['[[:chsk/handshake [42 nil nil]] nil]', 42],
      ['[[:chsk/handshake ["sente/nil-uid" nil nil]] nil]', "sente/nil-uid"],
      ["[[:chsk/handshake [:sente/nil-uid nil nil]] nil]", null],
      ["[[:chsk/handshake [:taoensso.sente/nil-uid nil]]]", null],
      ["[[:chsk/handshake [nil nil nil]] nil]", null],
    ] as const) {
      const r = decodeServerMessage(edn, wire, "ws");
      assert.ok(r.ok, wire);
      assert.deepStrictEqual(r.value, { kind: "handshake", uid, handshakeData: null }, wire);
    }
  });

  it("maps the JSON packer's nil-uid string to null", () => {
    const j = packers.json!;
    const r = decodeServerMessage(j, encodeHandshake(j, null), "ws");
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, { kind: "handshake", uid: null, handshakeData: null });
  });

  it("rejects a pushed event in the reserved chsk namespace but delivers the rest of the batch", () => {
    const r = decodeServerMessage(edn, "[[[:chsk/handshake [1 nil nil]] [:my/ok 1]] nil]", "poll");
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, {
      kind: "push",
      events: [["my/ok", 1]],
      bad: [[kw("chsk/handshake"), [1, null, null]]],
    });
  });
});

// ---------------------------------------------------------------------------
// Event validation (protocol.md §2.1)

describe("validateEvent / assertEvent / asEvent", () => {
  const cases: [unknown, ReturnType<typeof validateEvent>][] = [
    [["my/ev"], null],
    [["my/ev", { a: 1 }], null],
    [[kw("my/ev")], null],
    [[kw("my/ev"), null], null],
    [[kw("a.b.c/d-e"), 1], null],
    ["my/ev", "wrong-type"],
    [kw("my/ev"), "wrong-type"],
    [{ 0: "my/ev", length: 1 }, "wrong-type"],
    [null, "wrong-type"],
    [List.from_([kw("my/ev"), 1]), "wrong-type"],
    [[], "wrong-length"],
    [["my/ev", 1, 2], "wrong-length"],
    [[1], "wrong-id-type"],
    [[null, 1], "wrong-id-type"],
    [[["my/ev"]], "wrong-id-type"],
    [["ev"], "unnamespaced-id"],
    [[kw("ev")], "unnamespaced-id"],
    [["/ev"], "unnamespaced-id"],
    [["my/"], "unnamespaced-id"],
    [[kw("/")], "unnamespaced-id"],
  ];

  for (const [x, problem] of cases) {
    it(`${JSON.stringify(x)} → ${problem ?? "valid"}`, () => {
      assert.equal(validateEvent(x), problem);
      if (problem === null) {
        assert.doesNotThrow(() => assertEvent(x));
      } else {
        assert.throws(
          () => assertEvent(x),
          (e: unknown) => isChskError(e, "CHSK_ERR_BAD_EVENT") && (e as ChskError).detail?.problem === problem,
        );
      }
    });
  }

  it("rejects string ids when acceptStringIds is false (the EDN/transit wire)", () => {
    assert.equal(validateEvent(["my/ev", 1], false), "wrong-id-type");
    assert.equal(validateEvent([kw("my/ev"), 1], false), null);
  });

  it("asEvent turns a valid event's id into a string and keeps 1-element events short", () => {
    assert.deepStrictEqual(asEvent([kw("my/ev"), { a: 1 }]), ["my/ev", { a: 1 }]);
    assert.deepStrictEqual(asEvent([kw("my/ev")]), ["my/ev"]);
    assert.deepStrictEqual(asEvent(["my/ev", 2], true), ["my/ev", 2]);
  });

  it("asEvent wraps anything else, by reference, in chsk/bad-event", () => {
    for (const x of [[kw("nonamespace"), 1], ["my/ev", 1], 42, null, [], List.from_([kw("my/ev")])]) {
      const e = asEvent(x);
      assert.equal(e[0], "chsk/bad-event");
      assert.equal(e[1], x);
    }
  });
});

// ---------------------------------------------------------------------------
// Property: decoders never throw, whatever the input

const DECODE_CODES = new Set<ChskErrorCode>([
  "CHSK_ERR_EDN_SYNTAX",
  "CHSK_ERR_EDN_DEPTH",
  "CHSK_ERR_FRAME_TOO_LARGE",
  "CHSK_ERR_UNPACK",
  "CHSK_ERR_BAD_ENVELOPE",
]);

const CONTEXTS: MessageContext[] = ["ws", "poll", "post"];

function decodeEverywhere(p: Packer, input: string | Uint8Array, limits?: { maxDepth?: number; maxBytes?: number }): void {
  const results = [];
  try {
    results.push(decodeClientMessage(p, input, limits));
    for (const ctx of CONTEXTS) results.push(decodeServerMessage(p, input, ctx, limits));
  } catch (e) {
    assert.fail(`${p.name} decoder threw on ${JSON.stringify(typeof input === "string" ? input : [...input])}: ${String(e)}`);
  }
  for (const r of results) {
    if (!r.ok) {
      assert.ok(r.error instanceof ChskError);
      assert.ok(DECODE_CODES.has(r.error.code), `${p.name}: unexpected code ${r.error.code}`);
    }
  }
}

const validWires: Record<string, string[]> = {};
for (const c of [...fixtures.frames, ...fixtures.vectors, ...fixtures.legacy, ...fixtures.invalid]) {
  for (const [name, wire] of Object.entries(c.wire)) (validWires[name] ??= []).push(wire);
}

// Characters that matter to some format, plus some that matter to none.
const syntaxChar = fc.constantFrom(
  ..."[]{}()#_:;^~`\\\"',. \n\t0123456789+-./NMeE^ ~#:$abcnilutrfs\u0000\u00e9\ud83d\ude00\ud800".split(""),
  "^0",
  "^ ",
  "~:",
  "~#",
  "~i",
  "~n",
  "~#set",
  "~#list",
  "~#'",
  "~#cmap",
  "~#ratio",
  '"~#',
  '"^',
  "nil",
  "null",
  "true",
);

/** A valid frame with a few random edits (delete, insert, replace, duplicate). */
function mutatedArb(wires: string[]): fc.Arbitrary<string> {
  const edit = fc.record({
    kind: fc.constantFrom("delete", "insert", "replace", "duplicate"),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 6 }),
    text: fc.string({ unit: syntaxChar, minLength: 1, maxLength: 4 }),
  });
  return fc.tuple(fc.constantFrom(...wires), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([wire, edits]) => {
    let s = wire;
    for (const e of edits) {
      const at = s.length === 0 ? 0 : e.at % (s.length + 1);
      if (e.kind === "delete") s = s.slice(0, at) + s.slice(at + e.len);
      else if (e.kind === "insert") s = s.slice(0, at) + e.text + s.slice(at);
      else if (e.kind === "replace") s = s.slice(0, at) + e.text + s.slice(at + e.text.length);
      else s = s.slice(0, at) + s.slice(at, at + e.len) + s.slice(at);
    }
    return s;
  });
}

describe("property: client events written by the EDN packer's short path", () => {
  it("are exactly the envelope [[:id data] cb] written by the EDN writer, for any data and cb id", () => {
    const p = ednPacker();
    const idArb = fqnArb.filter((s) => s.includes("/") && !s.endsWith("/")).chain((fqn) => fc.constantFrom<string | ReturnType<typeof kw>>(fqn, kw(fqn)));
    const cbArb = fc.oneof(fc.constant(null), fc.constant("ajax"), fc.stringMatching(/^[0-9a-f]{6}$/), stringArb);
    fc.assert(
      fc.property(idArb, fc.option(valueArb, { nil: undefined }), fc.boolean(), cbArb, (id, data, withData, cbId) => {
        const ev = (withData ? [id, data ?? null] : [id]) as unknown as ChskEvent;
        const wireCb = cbId === "ajax" ? kw("ajax") : cbId;
        assert.equal(encodeClientEvent(p, ev, cbId), writeEdn([toWireEvent(ev, p), wireCb]));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("client events with a Keyword id (assertEvent accepts one)", () => {
  for (const [name, p] of Object.entries(packers)) {
    it(`${name}: are written as the same event with its id's text`, () => {
      // Typed events use string ids; untyped callers may pass the keyword they read.
      const withKw = (ev: unknown[]) => ev as unknown as ChskEvent;
      assert.deepEqual(encodeClientEvent(p, withKw([kw("my/ev"), { a: 1 }]), "ab12cd"), encodeClientEvent(p, ["my/ev", { a: 1 }], "ab12cd"));
      assert.deepEqual(encodeClientEvent(p, withKw([kw("my/ev")]), null), encodeClientEvent(p, ["my/ev"], null));
    });
  }
});

describe("property: decoders never throw", () => {
  for (const [name, p] of Object.entries(packers)) {
    // Either transit packer reads both encodings.
    const wires = name.startsWith("transit") ? [...validWires.transit!, ...validWires["transit-verbose"]!] : validWires[name]!;

    it(`${name}: random strings`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.string({ unit: syntaxChar, maxLength: 48 })), (s) =>
          decodeEverywhere(p, s),
        ),
        { numRuns: 400 },
      );
    });

    it(`${name}: random bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (b) => decodeEverywhere(p, b)),
        { numRuns: 300 },
      );
    });

    it(`${name}: mutated valid frames (default and tight limits)`, () => {
      fc.assert(
        fc.property(mutatedArb(wires), fc.boolean(), fc.constantFrom("", "+", "-"), (s, tight, prefix) =>
          decodeEverywhere(p, prefix + s, tight ? { maxDepth: 3, maxBytes: 40 } : undefined),
        ),
        { numRuns: 1000 },
      );
    });
  }
});
