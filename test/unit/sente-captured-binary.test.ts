/**
 * Codec conformance on the binary captures (sections 12-14: Sente's
 * msgpack, gzip+edn and gzip+msgpack packers), no sockets:
 *
 * - every server payload decodes with `decodeServerMessage` in its context
 *   to the kind of its exchange and to the value the capture tool read
 *   from the bytes (its EDN reading, parsed independently of the msgpack
 *   reader);
 * - every client frame / POST body decodes with `decodeClientMessage` to
 *   the captured reading;
 * - every captured message, unpacked and packed again by chsk, gives the
 *   captured bytes (gzip included: a ≥ 1024-byte message is compressed to
 *   the very bytes Java's GZIPOutputStream wrote).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readEdn } from "../../src/core/edn/index.js";
import { Instant, Keyword, type EdnValue } from "../../src/core/edn/values.js";
import { MsgpackExt, type PackerName, packerByName } from "../../src/core/packers/index.js";
import { decodeClientMessage, decodeServerMessage, type ServerMessage } from "../../src/core/protocol/codec.js";
import { bytesOf, type Exchange, exchange, KINDS, loadCaptured, nameOf, type Payload, serverPayloads } from "./sente-captured-fixture.js";

const binarySections = (ex: Exchange) => Number(ex.section.split(".")[0]) >= 12;

/**
 * The value a capture reading stands for. Readings are EDN plus the
 * capture tool's notation: `prefix 00 (not compressed) + UTF-8 …` /
 * `… msgpack …` before the gzip packers' inner value, `a…a (1500 × a)`,
 * `#bytes "hex"`, `#float32 x`, `#ext[T hex]`, and `#inst` with nanoseconds.
 */
export function readingValue(reads: string): unknown {
  const s = reads
    .replace(/ \(cached map keys: .*\)$/, "")
    .replace(/^prefix 0[01] \([^)]*\)(?:, \d+ bytes of gzip that inflate to \d+ bytes:| \+) (?:UTF-8|msgpack) /, "")
    .replace(/a…a \(1500 × a\)/g, "a".repeat(1500))
    .replace(/#float32 /g, "")
    .replace(/#bytes "([0-9a-f]*)"/g, '#test/bytes "$1"')
    .replace(/#ext\[(-?\d+) ([0-9a-f ]*)\]/g, '#test/ext [$1 "$2"]');
  const r = readEdn(s, {
    tagHandlers: {
      "test/bytes": (v) => new Uint8Array(Buffer.from(v as string, "hex")),
      "test/ext": (v) => {
        const [type, hex] = v as [number, string];
        return new MsgpackExt(type, new Uint8Array(Buffer.from(hex.replace(/ /g, ""), "hex")));
      },
      // Java's Instant keeps nanoseconds; chsk reads a msgpack timestamp with sub-ms digits as an Instant.
      inst: (v) => {
        const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(v as string);
        if (m === null) return new Date(v as string);
        return new Instant(Date.parse(`${m[1]}Z`) / 1000, Number(m[2]));
      },
    },
  });
  assert.ok(r.ok, `reading ${s}: ${r.ok ? "" : r.error.message}`);
  return r.value;
}

/** What `decodeServerMessage` gives for an envelope read from a capture reading. */
function expectedMessage(kind: ServerMessage["kind"], envelope: unknown): ServerMessage {
  assert.ok(Array.isArray(envelope) && envelope.length === 2);
  const [value, cb] = envelope as [EdnValue, EdnValue];
  switch (kind) {
    case "handshake": {
      const [uid, , data] = (value as unknown[])[1] as unknown[];
      return { kind, uid, handshakeData: data ?? null };
    }
    case "reply":
      return { kind, cbId: cb as string, value };
    case "push":
      return { kind, events: (value as unknown[][]).map(([id, data]) => [(id as Keyword).fqn, data]) as never, bad: [] };
    case "value":
      return { kind, value };
    default:
      return { kind } as ServerMessage;
  }
}

const readsOf = (p: Payload, where: string): string => {
  assert.ok(p.reads, `${where}: the capture gives no reading`);
  return p.reads;
};

describe("Sente 1.22 binary captures: chsk's client decodes every server payload", () => {
  const all = serverPayloads(binarySections);

  it("covers every captured exchange of sections 12-14", () => {
    for (const ex of loadCaptured().exchanges.filter(binarySections)) {
      const kinds = KINDS[nameOf(ex)];
      assert.ok(kinds, `no kinds for ${ex.id}`);
      assert.equal(all.filter((p) => p.ex === ex).length, kinds.length, `${ex.id}: payload count`);
    }
    assert.ok(all.length >= 20, `${all.length} payloads`);
  });

  for (const p of all) {
    const where = `${p.ex.id} step ${p.step} (${p.context})`;
    it(where, () => {
      const packer = packerByName(p.ex.packer as PackerName);
      const kind = KINDS[nameOf(p.ex)]![serverPayloads((ex) => ex === p.ex).findIndex((q) => q.step === p.step)]!;
      const r = decodeServerMessage(packer, new Uint8Array(bytesOf(p.payload)), p.context);
      assert.ok(r.ok, `${where}: ${r.ok ? "" : r.error.message}`);
      assert.deepEqual(r.value, expectedMessage(kind, readingValue(readsOf(p.payload, where))), where);
    });
  }
});

describe("Sente 1.22 binary captures: chsk reads the captured client messages", () => {
  for (const ex of loadCaptured().exchanges.filter(binarySections)) {
    const packer = () => packerByName(ex.packer as PackerName);
    ex.steps.forEach((s, i) => {
      const messages: Payload[] = [];
      if (s.type === "send") messages.push(...s.frames.map((f) => f.payload).filter((p) => typeof p.hex === "string"));
      if (s.type === "http" && s.request.target.includes("binary%3F=") && s.request.body?.hex) messages.push(s.request.body);
      messages.forEach((m, j) => {
        const where = `${ex.id} step ${i}${j > 0 ? `.${j}` : ""}`;
        it(`${where}: decodes to the captured reading`, () => {
          const r = decodeClientMessage(packer(), new Uint8Array(bytesOf(m)));
          assert.ok(r.ok, `${where}: ${r.ok ? "" : r.error.message}`);
          // The padded POST has no reading of its own: it is the unpadded body's.
          const base = ex.id.endsWith("-padded") ? exchange(ex.id.replace(/-padded$/, "")).steps.find((x) => x.type === "http") : undefined;
          const reading = m.reads ?? readsOf(base?.type === "http" ? base.request.body! : m, where);
          const [event, cb] = readingValue(reading) as [unknown[], unknown];
          assert.deepEqual(r.value.event, [(event[0] as Keyword).fqn, ...event.slice(1)]);
          assert.equal(r.value.cbId, cb instanceof Keyword ? cb.fqn : (cb as string | null));
        });
      });
    });
  }

  it("a text frame / form ppstr is not a binary packer's message (the basis of the text-frame deviations)", () => {
    for (const name of ["msgpack", "gzip+edn", "gzip+msgpack"] as const) {
      const r = decodeClientMessage(packerByName(name), '[[:demo/echo 1] "cb-text"]');
      assert.ok(!r.ok);
      assert.equal(r.error.code, "CHSK_ERR_UNPACK");
    }
  });
});

describe("Sente 1.22 captures: what the server sent, unpacked and packed again by chsk, is the captured bytes", () => {
  // Server messages only: the capture's clients wrote with other writers (node's zlib
  // header, ClojureScript's float32 for 1.5), which a server never has to reproduce.
  const all = serverPayloads(() => true);
  for (const ex of loadCaptured().exchanges) {
    const mine = all.filter((p) => p.ex === ex);
    if (mine.length === 0) continue;
    it(ex.id, () => {
      const packer = packerByName(ex.packer as PackerName);
      for (const { step, payload } of mine) {
        const bytes = bytesOf(payload);
        const r = packer.unpack(packer.binary ? new Uint8Array(bytes) : bytes.toString("utf8"));
        assert.ok(r.ok, `${ex.id} step ${step}: ${r.ok ? "" : r.error.message}`);
        const enc = packer.binary ? "hex" : "utf8";
        assert.equal(Buffer.from(packer.pack(r.value)).toString(enc), bytes.toString(enc), `${ex.id} step ${step}`);
      }
    });
  }

  it("the u64 Sente could not echo (12.2/ws-u64): chsk can't pack it either", () => {
    const packer = packerByName("msgpack");
    const sent = loadCaptured().exchanges.find((e) => e.id === "12.2/ws-u64")!.steps[0]!;
    assert.ok(sent.type === "send");
    const r = packer.unpack(new Uint8Array(bytesOf(sent.frames[0]!.payload)));
    assert.ok(r.ok);
    const [[, n]] = r.value as [[unknown, bigint]];
    assert.equal(n, 18446744073709551615n);
    assert.throws(() => packer.pack([n, "cb-u64"]), { code: "CHSK_ERR_UNSUPPORTED_VALUE" });
  });
});
