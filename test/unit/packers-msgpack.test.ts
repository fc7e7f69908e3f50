/**
 * The msgpack packer against Sente's bytes: protocol.md §3.4's vectors, every
 * captured frame of captured-frames §12 (read both directions; the server's
 * frames written byte for byte from what they read as, and from the client
 * frame they answer), and the cases of Sente's own msgpack_tests.cljc that
 * apply to JS. Then malformed input: error results with stable codes, never
 * a throw, including for random bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";

import {
  BigDec,
  Char,
  Double,
  double,
  EdnSet,
  Instant,
  Keyword,
  kw,
  List,
  Ratio,
  sym,
  Tagged,
  Uuid,
  writeEdn,
} from "../../src/core/edn/index.js";
import { MsgpackExt, msgpackPacker, packerByName } from "../../src/core/packers/index.js";
import { isChskError } from "../../src/core/protocol/errors.js";
import { leafArb, valueArb } from "./edn-arbitraries.js";
import { bytesOf, CAPTURED, type CapturedFrame, ednOf, hexOf } from "./packers-captured.js";

const p = msgpackPacker();
const pack = (v: unknown): string => hexOf(p.pack(v) as Uint8Array);
const unpack = (hex: string | Uint8Array): unknown => {
  const r = p.unpack(typeof hex === "string" ? bytesOf(hex) : hex);
  if (!r.ok) assert.fail(`unpack failed: ${r.error.code} ${r.error.message}`);
  return r.value;
};
const unpackErr = (b: Uint8Array, limits?: { maxBytes?: number; maxDepth?: number }) => {
  const r = p.unpack(b, limits);
  assert.equal(r.ok, false, `expected an error for ${hexOf(b).slice(0, 60)}`);
  return (r as { ok: false; error: { code: string; message: string; detail?: Record<string, unknown> } }).error;
};
/** Round trip: written, read back, written again to the same bytes. */
const rt = (v: unknown): unknown => {
  const bytes = pack(v);
  const back = unpack(bytes);
  assert.equal(pack(back), bytes, `unstable bytes for ${String(v)}`);
  return back;
};
const hexStr = (s: string) => hexOf(new TextEncoder().encode(s));

describe("msgpack: protocol.md §3.4 vectors", () => {
  const cases: [string, unknown, string][] = [
    ["F1", [[kw("chsk/handshake"), ["alice", null, null]], null], "92 92 c7 0e 00 63 68 73 6b 2f 68 61 6e 64 73 68 61 6b 65 93 a5 61 6c 69 63 65 c0 c0 c0"],
    ["F4", [[kw("my/ev"), { a: 1 }], "3f2a1b"], "92 92 c7 05 00 6d 79 2f 65 76 81 d4 00 61 01 a6 33 66 32 61 31 62"],
    ["F8", [kw("chsk/ws-ping"), null], "92 c7 0c 00 63 68 73 6b 2f 77 73 2d 70 69 6e 67 c0"],
    ["F9", [[kw("chsk/ws-pong")], null], "92 91 c7 0c 00 63 68 73 6b 2f 77 73 2d 70 6f 6e 67 c0"],
    ["F11", ["pong", "3f2a1b"], "92 a4 70 6f 6e 67 a6 33 66 32 61 31 62"],
    [
      "F7",
      [[[kw("my/push"), { n: 1 }], [kw("my/push"), { n: 2 }]], null],
      "92 92 92 c7 07 00 6d 79 2f 70 75 73 68 81 d4 00 6e 01 92 c7 07 00 6d 79 2f 70 75 73 68 81 d4 08 00 02 c0",
    ],
    [
      "key cache",
      [[kw("my/ev"), [{ id: 1, name: "x" }, { id: 2, name: "y" }]], null],
      "92 92 c7 05 00 6d 79 2f 65 76 92 82 d5 00 69 64 01 d6 00 6e 61 6d 65 a1 78 82 d4 08 00 02 d4 08 01 a1 79 c0",
    ],
    [
      "uuid",
      [new Uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), null],
      `92 c7 24 09 ${hexStr("6ba7b810-9dad-11d1-80b4-00c04fd430c8")} c0`,
    ],
    ["inst", [new Date("2024-01-01T00:00:00.500Z"), null], "92 c7 0c ff 1d cd 65 00 00 00 00 00 65 92 00 80 c0"],
    ["set + 1.5 (JVM)", [new EdnSet([1]), 1.5], "92 d5 04 91 01 cb 3f f8 00 00 00 00 00 00"],
  ];
  for (const [name, value, hex] of cases) {
    it(`${name} is written exactly and reads back`, () => {
      assert.equal(pack(value), hex);
      assert.equal(writeEdn(unpack(hex)), writeEdn(value));
      assert.equal(pack(unpack(hex)), hex);
    });
  }

  it("uses the name, flags and limits of a Packer", () => {
    assert.equal(p.name, "msgpack");
    assert.equal(p.binary, true);
    assert.equal(p.keywordsAsStrings, false);
    assert.equal(packerByName("msgpack").name, "msgpack");
  });
});

describe("msgpack: captured-frames §12 (a real Sente 1.22 server)", () => {
  const frames = CAPTURED.filter((f) => f.packer === "msgpack");

  for (const f of frames) {
    it(`${f.id} reads as the capture says: ${f.label.slice(0, 50)}`, () => {
      const v = unpack(f.hex);
      const edn = ednOf(f);
      if (edn !== null) assert.equal(writeEdn(v), edn);
      if (f.dir === "server") assert.equal(pack(v), f.hex, "written back byte for byte");
    });
  }

  /** The server frame that answers a client frame, as the echo handler makes it. */
  const answer = (client: CapturedFrame, server: CapturedFrame, ajax = false) => {
    const [[, data], cb] = unpack(client.hex) as [[unknown, unknown], unknown];
    assert.equal(pack([data, ajax ? null : cb]), server.hex, `${client.id} → ${server.id}`);
  };
  const byId = (id: string) => frames.find((f) => f.id === id)!;

  it("an echo of each client frame is the server's frame, byte for byte", () => {
    answer(byId("§12.2 client #1"), byId("§12.2 server #1"));
    answer(byId("§12.2 client #2"), byId("§12.2 server #2"));
    // The float32 `ca` the client sent comes back as a `cb`, as the JVM writes a Double.
    answer(byId("§12.2 client #3"), byId("§12.2 server #3"));
    answer(byId("§12.5 client #1"), byId("§12.5 server #1"), true);
  });

  it("reads the `other types` frame into the value model", () => {
    const [[, items]] = unpack(byId("§12.2 client #3").hex) as [[Keyword, unknown[]]];
    const [s, c, u, inst, ratio, dbl, f32, bytes, ext] = items as [unknown, Char, Uuid, Instant, Ratio, unknown, unknown, Uint8Array, MsgpackExt];
    assert.equal(s, sym("foo/bar"));
    assert.ok(c instanceof Char && c.value === "c");
    assert.ok(u instanceof Uuid && u.value === "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    assert.ok(inst instanceof Instant);
    assert.equal(inst.toISOString(), "2024-01-02T03:04:05.123Z");
    assert.equal(inst.nanos, 123456789);
    assert.ok(ratio instanceof Ratio && ratio.numerator === 1n && ratio.denominator === 3n);
    assert.equal(dbl, 1.5);
    assert.equal(f32, 1.5);
    assert.deepEqual([...bytes], [1, 2, 3]);
    assert.ok(ext instanceof MsgpackExt && ext.type === 42 && ext.data.length === 1 && ext.data[0] === 7);
  });

  it("a cf above 2^63-1 reads as a bigint and can't be packed back (Sente: no reply)", () => {
    const [[, n], cb] = unpack(byId("§12.2 client #4").hex) as [[Keyword, bigint], string];
    assert.equal(n, 18446744073709551615n);
    assert.throws(() => p.pack([n, cb]), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });

  it("the ClojureScript client's zero-padded 1024-byte Ajax body reads like the 54 bytes", () => {
    const body = byId("§12.5 client #1");
    const padded = new Uint8Array(1024);
    padded.set(bytesOf(body.hex));
    assert.equal(writeEdn(unpack(padded)), ednOf(body));
    assert.equal(pack(unpack(padded)), pack(unpack(body.hex)));
  });
});

describe("msgpack: Sente's msgpack_tests.cljc cases", () => {
  it("nil, true, false", () => {
    assert.equal(pack(null), "c0");
    assert.equal(pack(undefined), "c0");
    assert.equal(pack(true), "c3");
    assert.equal(pack(false), "c2");
    for (const v of [null, true, false]) assert.equal(rt(v), v);
  });

  it("ints at every boundary take the smallest form (d3 above 0xffffffff, never cf)", () => {
    const cases: [number | bigint, string][] = [
      [0, "00"],
      [0x10, "10"],
      [0x7f, "7f"],
      [-1, "ff"],
      [-16, "f0"],
      [-32, "e0"],
      [0x80, "cc 80"],
      [0xff, "cc ff"],
      [0x100, "cd 01 00"],
      [0xffff, "cd ff ff"],
      [0x10000, "ce 00 01 00 00"],
      [0xffffffff, "ce ff ff ff ff"],
      [0x100000000, "d3 00 00 00 01 00 00 00 00"],
      [0x200000000000, "d3 00 00 20 00 00 00 00 00"],
      [-33, "d0 df"],
      [-128, "d0 80"],
      [-129, "d1 ff 7f"],
      [-32768, "d1 80 00"],
      [-32769, "d2 ff ff 7f ff"],
      [-2147483648, "d2 80 00 00 00"],
      [-2147483649, "d3 ff ff ff ff 7f ff ff ff"],
      [-1000000000000000002n, "d3 f2 1f 49 4c 58 9b ff fe"],
      [-9223372036854775808n, "d3 80 00 00 00 00 00 00 00"],
      [9223372036854775807n, "d3 7f ff ff ff ff ff ff ff"],
      [9007199254740993n, "d3 00 20 00 00 00 00 00 01"],
      // A bigint within int64 is an integer, as the JVM writes 5N.
      [123n, "7b"],
    ];
    for (const [n, hex] of cases) {
      assert.equal(pack(n), hex, String(n));
      const back = rt(n);
      assert.equal(BigInt(back as number | bigint), BigInt(n));
      // Safe integers come back as numbers, larger ones as bigints.
      assert.equal(typeof back, Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === BigInt(n) ? "number" : "bigint");
    }
  });

  it("ints beyond int64 throw CHSK_ERR_UNSUPPORTED_VALUE", () => {
    for (const n of [-0x8000000000001000n, 0x10000000000001000n, 1n << 63n]) {
      assert.throws(() => p.pack(n), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    }
  });

  it("cf (uint64) reads as a number, or a bigint beyond 2^53-1; below 2^63 it packs back as d3", () => {
    assert.equal(unpack("cf 00 00 00 00 00 00 00 01"), 1);
    assert.equal(unpack("cf 7f ff ff ff ff ff ff ff"), 9223372036854775807n);
    assert.equal(pack(unpack("cf 7f ff ff ff ff ff ff ff")), "d3 7f ff ff ff ff ff ff ff");
    assert.equal(unpack("cf 80 00 00 00 00 00 00 00"), 1n << 63n);
  });

  it("floats: ca and cb read as numbers, integral ones as Double; all written as cb", () => {
    assert.equal(pack(1.23), "cb 3f f3 ae 14 7a e1 47 ae");
    const f0 = unpack("ca 00 00 00 00");
    assert.ok(f0 instanceof Double && f0.valueOf() === 0);
    assert.equal(pack(f0), "cb 00 00 00 00 00 00 00 00");
    assert.equal(unpack("ca 40 20 00 00"), 2.5);
    assert.equal(pack(unpack("ca 40 20 00 00")), "cb 40 04 00 00 00 00 00 00");
    const three = unpack("cb 40 08 00 00 00 00 00 00");
    assert.ok(three instanceof Double && three.valueOf() === 3);
    assert.equal(pack(three), "cb 40 08 00 00 00 00 00 00");
    assert.equal(pack(double(3)), "cb 40 08 00 00 00 00 00 00");
    // -0 as a plain number is the integer 0 (as EDN writes it); a Double keeps its sign.
    assert.equal(pack(-0), "00");
    assert.equal(pack(double(-0)), "cb 80 00 00 00 00 00 00 00");
    assert.ok(Object.is((unpack("cb 80 00 00 00 00 00 00 00") as Double).valueOf(), -0));
    for (const x of [1e-46, 1e39, 2.5, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity]) assert.equal(Number(rt(x)), x);
    assert.ok(Number.isNaN(rt(NaN)));
    // A JS number beyond 2^53 has lost integer precision: written as the double it is (as in EDN).
    assert.equal(pack(1e20), "cb 44 15 af 1d 78 b5 8c 40");
  });

  it("ratios, BigInt and BigDecimal as the JVM writes them", () => {
    assert.equal(pack(new Ratio(22n, 7n)), "d5 03 16 07");
    const r = rt(new Ratio(22n, 7n));
    assert.ok(r instanceof Ratio && r.numerator === 22n && r.denominator === 7n);
    // BigDecimal → its double, `cb`.
    assert.equal(pack(new BigDec("123")), "cb 40 5e c0 00 00 00 00 00");
    assert.equal(pack(new BigDec("3")), "cb 40 08 00 00 00 00 00 00");
    // Clojure's (/ n d): reduced, whole ratios become integers, sign on the numerator.
    assert.equal(unpack("d5 03 04 02"), 2);
    const half = unpack("d5 03 02 04") as Ratio;
    assert.ok(half.numerator === 1n && half.denominator === 2n);
    const neg = unpack("d5 03 01 fe") as Ratio;
    assert.ok(neg.numerator === -1n && neg.denominator === 2n);
    assert.equal(unpackErr(bytesOf("d5 03 01 00")).code, "CHSK_ERR_UNPACK");
    assert.equal(unpackErr(bytesOf("d5 03 01 c0")).code, "CHSK_ERR_UNPACK");
  });

  it("keywords and symbols, with and without a namespace", () => {
    assert.equal(pack(kw("foo")), "c7 03 00 66 6f 6f");
    assert.equal(pack(kw("foo/bar")), "c7 07 00 66 6f 6f 2f 62 61 72");
    assert.equal(pack(sym("foo")), "c7 03 01 66 6f 6f");
    assert.equal(pack(sym("foo/bar")), "c7 07 01 66 6f 6f 2f 62 61 72");
    for (const v of [kw("foo"), kw("foo/bar"), sym("foo"), sym("foo/bar"), kw("a"), kw("ab"), kw("abcd")]) assert.equal(rt(v), v);
  });

  it("strings at every header boundary, and Unicode", () => {
    const cases: [number, string][] = [
      [0, "a0"],
      [31, "bf"],
      [32, "d9 20"],
      [100, "d9 64"],
      [255, "d9 ff"],
      [256, "da 01 00"],
      [65535, "da ff ff"],
      [65536, "db 00 01 00 00"],
    ];
    for (const [n, header] of cases) {
      const s = "x".repeat(n);
      assert.ok(pack(s).startsWith(header), `length ${n}`);
      assert.equal(rt(s), s);
    }
    for (const s of ["Hi ಬಾ ಇಲ್ಲಿ ಸಂಭವಿಸ 10", "😀 é \u0000", "\ufeffBOM kept", "ಬ".repeat(11), "é".repeat(200)]) assert.equal(rt(s), s);
    // Three-byte characters: a 10-char string needs 30 bytes (fixstr), 11 chars 33 (str8).
    assert.ok(pack("ಬ".repeat(10)).startsWith("be"));
    assert.ok(pack("ಬ".repeat(11)).startsWith("d9 21"));
    // A lone surrogate becomes U+FFFD, as TextEncoder writes it.
    assert.equal(pack("\ud800"), "a3 ef bf bd");
    // Invalid UTF-8 reads leniently (U+FFFD), as the JVM and TextDecoder do.
    assert.equal(unpack("a2 c3 28"), "\ufffd(");
  });

  it("chars are ext 2 holding the UTF-8 char", () => {
    assert.equal(pack(new Char("c")), "d4 02 63");
    assert.equal(pack(new Char("é")), "d5 02 c3 a9");
    const c = rt(new Char("😀"));
    assert.ok(c instanceof Char && c.value === "😀");
    assert.equal(unpackErr(bytesOf("c7 00 02")).code, "CHSK_ERR_UNPACK");
  });

  it("empty and non-empty collections; lists and sets come back as vectors and EdnSets", () => {
    assert.equal(pack([]), "90");
    assert.equal(pack(List.from_([])), "90");
    assert.equal(pack(new EdnSet()), "d4 04 90");
    assert.equal(pack({}), "80");
    assert.equal(pack(new Map()), "80");
    const items = [1, "2", 3, null, kw("x"), [], {}];
    assert.deepEqual(rt(items), items);
    assert.deepEqual(rt(List.from_(items)), items);
    const set = rt(new EdnSet(items)) as EdnSet;
    assert.ok(set instanceof EdnSet && set.size === 7 && set.has(kw("x")) && set.has("2"));
    const mixed = new Map<unknown, unknown>([
      [kw("a"), "a"],
      ["b", "b"],
      [123, 456],
      [null, kw("x")],
      [[], {}],
    ]);
    const back = rt(mixed) as Map<unknown, unknown>;
    assert.ok(back instanceof Map);
    assert.deepEqual([...back.values()], ["a", "b", 456, kw("x"), {}]);
    assert.deepEqual([...back.keys()].slice(0, 4), [kw("a"), "b", 123, null]);
  });

  it("colls of size 256, 65535 and 65536 use array16/32 and map16/32", () => {
    for (const [n, arr, map] of [
      [256, "dc 01 00", "de 01 00"],
      [65535, "dc ff ff", "de ff ff"],
      [65536, "dd 00 01 00 00", "df 00 01 00 00"],
    ] as const) {
      const a = Array.from({ length: n }, (_, i) => i);
      assert.ok(pack(a).startsWith(arr));
      assert.deepEqual(rt(a), a);
      const m = new Map(a.map((i) => [i, i]));
      assert.ok(pack(m).startsWith(map));
      assert.deepEqual(rt(m), m);
      const s = rt(new EdnSet(a)) as EdnSet;
      assert.equal(s.size, n);
    }
  });

  it("byte arrays are bin8/16/32 and read as Uint8Array copies", () => {
    for (const [n, header] of [
      [0, "c4 00"],
      [1, "c4 01"],
      [32, "c4 20"],
      [255, "c4 ff"],
      [256, "c5 01 00"],
      [65536, "c6 00 01 00 00"],
    ] as const) {
      const b = new Uint8Array(n).fill(1);
      assert.ok(pack(b).startsWith(header));
      const back = rt(b) as Uint8Array;
      assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
      assert.deepEqual(back, b);
    }
    // A Buffer is a Uint8Array; what is read is a copy, not a view of the input.
    const input = Buffer.from("92c40201020c", "hex");
    const [bin] = unpack(input) as [Uint8Array];
    input.fill(0);
    assert.deepEqual([...bin], [1, 2]);
  });

  it("int, float and double arrays are ext 5/6/7, big-endian like the JVM", () => {
    const ints = Int32Array.from({ length: 128 }, (_, i) => i);
    assert.ok(pack(ints).startsWith("c8 02 00 05 00 00 00 00 00 00 00 01"));
    assert.deepEqual(rt(ints), ints);
    const floats = Float32Array.from({ length: 128 }, (_, i) => i);
    assert.ok(pack(floats).startsWith("c8 02 00 06 00 00 00 00 3f 80 00 00"));
    assert.deepEqual(rt(floats), floats);
    const doubles = Float64Array.from({ length: 128 }, (_, i) => i);
    assert.ok(pack(doubles).startsWith("c8 04 00 07 00 00 00 00 00 00 00 00 3f f0 00 00"));
    assert.deepEqual(rt(doubles), doubles);
    assert.equal(pack(Int32Array.of(-2)), "d6 05 ff ff ff fe");
    // A partial trailing element is ignored, as the JVM's IntBuffer does.
    assert.deepEqual(unpack("c7 05 05 00 00 00 07 ff"), Int32Array.of(7));
  });

  it("unknown ext types (106) of every payload size read as MsgpackExt and write back unchanged", () => {
    for (const [n, header] of [
      [1, "d4 6a"],
      [2, "d5 6a"],
      [4, "d6 6a"],
      [8, "d7 6a"],
      [16, "d8 6a"],
      [255, "c7 ff 6a"],
      [256, "c8 01 00 6a"],
      [65536, "c9 00 01 00 00 6a"],
    ] as const) {
      const ext = new MsgpackExt(106, new Uint8Array(n).fill(1));
      assert.ok(pack(ext).startsWith(header), String(n));
      const back = rt(ext) as MsgpackExt;
      assert.ok(back instanceof MsgpackExt && back.type === 106);
      assert.deepEqual(back.data, ext.data);
    }
    assert.equal(pack(new MsgpackExt(-5, new Uint8Array(3))), "c7 03 fb 00 00 00");
  });

  it("timestamps: always 12 bytes; nanoseconds survive an echo", () => {
    const now = new Date();
    assert.equal((rt(now) as Date).getTime(), now.getTime());
    // Date(-1): one millisecond before the epoch is second -1 + 999 000 000 ns.
    assert.equal(pack(new Date(-1)), "c7 0c ff 3b 8b 87 c0 ff ff ff ff ff ff ff ff");
    assert.equal((rt(new Date(-1)) as Date).getTime(), -1);
    assert.equal(pack(new Date(0)), "c7 0c ff 00 00 00 00 00 00 00 00 00 00 00 00");
    const inst = rt(new Instant(1704164645, 123456789)) as Instant;
    assert.ok(inst instanceof Instant && inst.nanos === 123456789);
    assert.equal(pack(inst), "c7 0c ff 07 5b cd 15 00 00 00 00 65 93 7d 25");
    // Whole milliseconds read as a plain Date.
    assert.equal(Object.getPrototypeOf(unpack("c7 0c ff 1d cd 65 00 00 00 00 00 65 92 00 80")), Date.prototype);
    // An Instant whose Date part was changed no longer claims its nanos.
    const moved = new Instant(0, 123456789);
    moved.setTime(5000);
    assert.equal(pack(moved), pack(new Date(5000)));
    assert.throws(() => p.pack(new Date(NaN)), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });

  it("timestamps: the standard 4- and 8-byte forms read too; one beyond Date's range stays opaque", () => {
    assert.equal((unpack("d6 ff 65 92 00 80") as Date).toISOString(), "2024-01-01T00:00:00.000Z");
    // timestamp 64: 30-bit nanos (500 000 000), 34-bit seconds.
    const t64 = unpack("d7 ff 77 35 94 00 65 92 00 80") as Date;
    assert.equal(t64.toISOString(), "2024-01-01T00:00:00.500Z");
    const far = "c7 0c ff 00 00 00 00 00 00 10 00 00 00 00 00";
    const ext = unpack(far);
    assert.ok(ext instanceof MsgpackExt && ext.type === -1);
    assert.equal(pack(ext), far);
    assert.equal(unpackErr(bytesOf("d5 ff 00 00")).code, "CHSK_ERR_UNPACK");
  });

  it("UUIDs are ext 9 holding the 36-char text", () => {
    const u = new Uuid("66d96ab4-9834-40db-a3cd-42b361503ab9");
    assert.equal(pack(u), `c7 24 09 ${hexStr(u.value)}`);
    assert.equal((rt(u) as Uuid).value, u.value);
    // Upper case reads (as java.util.UUID/fromString does) and writes back lower case.
    assert.equal((unpack(`c7 24 09 ${hexStr(u.value.toUpperCase())}`) as Uuid).value, u.value);
    assert.equal(unpackErr(bytesOf(`c7 03 09 ${hexStr("abc")}`)).code, "CHSK_ERR_UNPACK");
  });

  it("key caching: a repeated map key, >256 keys (the cache stops at 256), complex keys", () => {
    const basic = [{ a: kw("A") }, { a: kw("A") }];
    assert.equal(pack(basic), "92 81 d4 00 61 d4 00 41 81 d4 08 00 d4 00 41");
    assert.deepEqual(rt(basic), basic);
    const nested = { foo: new Map<unknown, unknown>([[1, { x: kw("X") }], [2, { y: kw("Y") }]]) };
    assert.deepEqual(rt(nested), nested);

    const m = new Map<unknown, unknown>(Array.from({ length: 512 }, (_, n) => [`key${n}`, n]));
    const big = [m, m, { a: kw("A"), b: kw("B") }, m];
    const bytes = p.pack(big) as Uint8Array;
    const back = unpack(bytes) as [Map<unknown, unknown>, Map<unknown, unknown>, Record<string, unknown>, Map<unknown, unknown>];
    for (const x of [back[0], back[1], back[3]]) assert.deepEqual(x, m);
    assert.deepEqual(back[2], { a: kw("A"), b: kw("B") });
    // 256 keys numbered (0..255): key256..key511 and :a/:b are written in full every time.
    const h = hexOf(bytes);
    assert.equal(h.split(hexStr("key300")).length - 1, 3);
    assert.equal(h.split(" d4 08 ff ").length - 1, 2);
    assert.ok(h.includes("d4 00 61"));

    const complex = new Map<unknown, unknown>([
      [kw("this-is-a-cachable-key"), 0],
      [kw("this/is-a-cachable-key"), 1],
      ["this-is-a-cachable-key", 2],
      [{ "this-is-a-cachable-key": 3, "this/is-a-cachable-key": 4 }, 5],
      [["complex key", new EdnSet([kw("a"), kw("b"), kw("c")])], 6],
    ]);
    const c = rt(complex) as Map<unknown, unknown>;
    assert.equal(c.size, 5);
    assert.equal(writeEdn(c), writeEdn(complex));
    // The keyword and string keys of the key map were cached: d4 08 00, d4 08 01 for its keys.
    assert.ok(pack(complex).includes("82 d4 08 00 03 d4 08 01 04"));
  });

  it("key caching: keys inside sets share the message's numbering", () => {
    const v = [new EdnSet([{ a: 1 }]), { a: 2 }];
    assert.equal(pack(v), "92 c7 06 04 91 81 d4 00 61 01 81 d4 08 00 02");
    assert.deepEqual(rt(v), v);
  });

  it("key caching: long keys, and keys across many messages, are numbered the same way", () => {
    const long = "k".repeat(100);
    const v = [{ [long]: 1 }, { [long]: 2 }, new Map([[long, 3]]), new Map([[long, 4]])];
    const h = pack(v);
    // The keyword key and the string key are numbered apart (0 and 1).
    assert.equal(h.split(hexStr(long)).length - 1, 2);
    assert.ok(h.includes("81 d4 08 00 02") && h.endsWith("81 d4 08 01 04"));
    assert.deepEqual(rt(v), v);
    // A message with thousands of distinct keys, then messages that reuse a few.
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, i]));
    const back = rt([many, many]) as Record<string, number>[];
    assert.equal(back[1]!["key4999"], 4999);
    for (let i = 0; i < 3; i++) assert.equal(pack([{ a: 1 }, { a: 2 }]), "92 81 d4 00 61 01 81 d4 08 00 02");
  });

  it("a keyword read from a Buffer that is later reused is not confused with the next one", () => {
    const input = Buffer.from("d40061", "hex");
    assert.equal(unpack(input), kw("a"));
    input[2] = 0x62;
    assert.equal(unpack(input), kw("b"));
    assert.equal(unpack("d4 00 61"), kw("a"));
  });

  it("key caching on read: keys are numbered as read in full; an unknown index is a nil key", () => {
    // Two full "s" keys (a writer without a cache): indexes 0 and 1 are both "s".
    assert.deepEqual(unpack("93 81 a1 73 01 81 a1 73 02 81 d4 08 01 03"), [
      new Map([["s", 1]]),
      new Map([["s", 2]]),
      new Map([["s", 3]]),
    ]);
    assert.deepEqual(unpack("81 d4 08 07 01"), new Map([[null, 1]]));
    // A cached key written with a longer ext header, and one in value position.
    assert.deepEqual(unpack("92 81 d4 00 61 01 81 c7 01 08 00 d4 08 00"), [{ a: 1 }, { a: kw("a") }]);
    assert.equal(unpackErr(bytesOf("81 c7 00 08 01")).code, "CHSK_ERR_UNPACK");
  });

  it("plain objects: keyword-text keys are keywords, others strings (as in EDN); __proto__ is data", () => {
    assert.equal(pack({ a: 1 }), "81 d4 00 61 01");
    assert.equal(pack({ "a b": 1 }), "81 a3 61 20 62 01");
    assert.deepEqual(rt({ "a b": 1 }), new Map([["a b", 1]]));
    const o = unpack("81 c7 09 00 5f 5f 70 72 6f 74 6f 5f 5f 01") as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(o["__proto__"], 1);
    assert.equal(pack(o), "81 c7 09 00 5f 5f 70 72 6f 74 6f 5f 5f 01");
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1 });
    assert.equal(pack(nullProto), "81 d4 00 78 01");
    // A repeated key: the last one wins, as in Sente.
    assert.deepEqual(unpack("82 d4 00 61 01 d4 08 00 02"), { a: 2 });
  });

  it("values Sente can't pack throw CHSK_ERR_UNSUPPORTED_VALUE", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    for (const v of [() => 1, Symbol("s"), new Tagged("my/t", 1), new (class Foo {})(), new Uint16Array(2), cyclic]) {
      assert.throws(() => p.pack([v]), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"), String(typeof v));
    }
  });
});

describe("msgpack: bad input is an error result, never a throw", () => {
  it("text, empty, truncated at every length, c1, bad ext payloads", () => {
    assert.equal(unpackErr(new Uint8Array(0)).code, "CHSK_ERR_UNPACK");
    const r = p.unpack("[[:my/ev 1] nil]");
    assert.ok(!r.ok && r.error.code === "CHSK_ERR_UNPACK");
    assert.equal(unpackErr(bytesOf("c1")).code, "CHSK_ERR_UNPACK");
    for (const f of CAPTURED.filter((x) => x.packer === "msgpack")) {
      const full = bytesOf(f.hex);
      for (let n = 0; n < full.length; n++) assert.equal(unpackErr(full.subarray(0, n)).code, "CHSK_ERR_UNPACK");
    }
    // A set whose payload is not an array.
    assert.equal(unpackErr(bytesOf("d5 04 81 01")).code, "CHSK_ERR_UNPACK");
  });

  it("absurd declared lengths fail at once, without allocating them", () => {
    for (const hex of ["dd ff ff ff ff 01", "df ff ff ff ff 01 02", "db ff ff ff ff 61", "c6 ff ff ff ff 00", "c9 ff ff ff ff 2a 00", "dc ff ff", "de ff ff 01"]) {
      const e = unpackErr(bytesOf(hex));
      assert.equal(e.code, "CHSK_ERR_UNPACK", hex);
      assert.match(e.message, /truncated/);
    }
  });

  it("nesting deeper than maxDepth → CHSK_ERR_EDN_DEPTH (sets and ratios count)", () => {
    assert.equal(unpackErr(new Uint8Array(100_000).fill(0x91)).code, "CHSK_ERR_EDN_DEPTH");
    assert.deepEqual(unpack("91 91 91 90"), [[[[]]]]);
    assert.equal(unpackErr(bytesOf("91 91 91 90"), { maxDepth: 3 }).code, "CHSK_ERR_EDN_DEPTH");
    assert.ok(p.unpack(bytesOf("91 91 90"), { maxDepth: 3 }).ok);
    assert.equal(unpackErr(bytesOf("91 d4 04 90"), { maxDepth: 1 }).code, "CHSK_ERR_EDN_DEPTH");
    assert.equal(unpackErr(bytesOf("81 01 81 01 90"), { maxDepth: 2 }).code, "CHSK_ERR_EDN_DEPTH");
  });

  it("input over maxBytes → CHSK_ERR_FRAME_TOO_LARGE; options set the default limits", () => {
    assert.equal(unpackErr(new Uint8Array(65), { maxBytes: 64 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
    const small = msgpackPacker({ limits: { maxBytes: 8, maxDepth: 1 } });
    const r1 = small.unpack(new Uint8Array(9));
    assert.ok(!r1.ok && r1.error.code === "CHSK_ERR_FRAME_TOO_LARGE");
    const r2 = small.unpack(bytesOf("91 90"));
    assert.ok(!r2.ok && r2.error.code === "CHSK_ERR_EDN_DEPTH");
    assert.ok(small.unpack(bytesOf("91 90"), { maxDepth: 2 }).ok);
  });

  const CODES = new Set(["CHSK_ERR_UNPACK", "CHSK_ERR_EDN_DEPTH", "CHSK_ERR_FRAME_TOO_LARGE"]);
  const safely = (b: Uint8Array) => {
    let r: ReturnType<typeof p.unpack>;
    try {
      r = p.unpack(b, { maxDepth: 16, maxBytes: 1 << 16 });
    } catch (e) {
      assert.fail(`unpack threw on ${hexOf(b)}: ${String(e)}`);
    }
    if (!r.ok) assert.ok(CODES.has(r.error.code), `${r.error.code} for ${hexOf(b)}`);
    return r;
  };

  it("fuzz: random bytes never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void safely(b)), { numRuns: 20_000 });
    // Bytes biased towards headers, so that collections and exts nest.
    const headerByte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x80, 0x81, 0x82, 0x90, 0x91, 0x92, 0xc4, 0xc7, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xdc, 0xde, 0xcb, 0xca, 0xcf, 0xd3),
      fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xff),
    );
    fc.assert(fc.property(fc.array(headerByte, { maxLength: 48 }), (a) => void safely(Uint8Array.from(a))), { numRuns: 20_000 });
  });

  it("fuzz: captured frames with bytes flipped never throw", () => {
    const frames = CAPTURED.filter((f) => f.packer === "msgpack").map((f) => bytesOf(f.hex));
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (f, flips) => {
        const b = Uint8Array.from(f);
        for (const [i, x] of flips) b[i % b.length] = x;
        safely(b);
      }),
      { numRuns: 10_000 },
    );
  });

  it("property: any writable value packs, reads back, and packs to the same bytes", () => {
    const fits = (v: unknown): boolean => {
      if (typeof v === "bigint") return v >= -(1n << 63n) && v < 1n << 63n;
      if (v instanceof Tagged) return false;
      if (v instanceof Ratio) return fits(v.numerator) && fits(v.denominator);
      if (Array.isArray(v) || v instanceof Set) return [...v].every(fits);
      if (v instanceof Map) return [...v].every(([k, x]) => fits(k) && fits(x));
      if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).every(fits);
      return true;
    };
    // Sente reads a ratio reduced; only reduced ones are stable.
    const reduced = (v: unknown): boolean => {
      if (v instanceof Ratio) {
        let [a, b] = [v.numerator < 0n ? -v.numerator : v.numerator, v.denominator];
        while (b !== 0n) [a, b] = [b, a % b];
        return a === 1n && v.denominator > 1n;
      }
      if (Array.isArray(v) || v instanceof Set) return [...v].every(reduced);
      if (v instanceof Map) return [...v].every(([k, x]) => reduced(k) && reduced(x));
      if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).every(reduced);
      return true;
    };
    fc.assert(
      fc.property(valueArb.filter((v) => fits(v) && reduced(v)), (v) => {
        const bytes = p.pack(v) as Uint8Array;
        const r = p.unpack(bytes);
        assert.ok(r.ok, r.ok ? "" : r.error.message);
        assert.equal(hexOf(p.pack(r.value) as Uint8Array), hexOf(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(leafArb.filter((v) => fits(v) && reduced(v)), (v) => {
        const r = p.unpack(p.pack([v, v]) as Uint8Array);
        assert.ok(r.ok);
      }),
      { numRuns: 2000 },
    );
  });
});
