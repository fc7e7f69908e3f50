/**
 * The transit and JSON packers: exact wire strings (protocol.md §3.3), the
 * value-model mapping both ways, round trips, agreement with plain
 * transit-js, error handling, and decode limits for every packer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import transit from "transit-js";

import {
  BigDec,
  Char,
  Double,
  EdnSet,
  Keyword,
  List,
  Ratio,
  Tagged,
  Uuid,
  double,
  isPlainObject,
  kw,
  sym,
  type EdnValue,
} from "../../src/core/edn/values.js";
import {
  PACKER_NAMES,
  ednPacker,
  jsonPacker,
  packerByName,
  transitPacker,
  type DecodeLimits,
  type Packer,
  type PackerName,
} from "../../src/core/packers/index.js";
import { jsonDepthExceeds, utf8Length } from "../../src/core/packers/json.js";
import { ChskError, isChskError, type ChskErrorCode } from "../../src/core/protocol/errors.js";
import { fqnArb, stringArb, valueArb } from "./edn-arbitraries.js";

function unpackOk(p: Packer, data: string | Uint8Array, limits?: DecodeLimits): unknown {
  const r = p.unpack(data, limits);
  assert.ok(r.ok, `unpack of ${typeof data === "string" ? data.slice(0, 200) : "bytes"} failed: ${!r.ok ? `${r.error.code} ${r.error.message}` : ""}`);
  return r.value;
}

function unpackErr(p: Packer, data: string | Uint8Array, code: ChskErrorCode, limits?: DecodeLimits): ChskError {
  let r;
  try {
    r = p.unpack(data, limits);
  } catch (e) {
    assert.fail(`unpack threw: ${String(e)}`);
  }
  assert.equal(r.ok, false, `expected ${code}, got a value`);
  assert.ok(!r.ok && r.error instanceof ChskError);
  assert.equal(r.error.code, code, r.error.message);
  return r.error;
}

const throwsCode = (code: ChskErrorCode) => (e: unknown) => isChskError(e, code);

// ---------------------------------------------------------------------------
// transit: the strings of protocol.md §3.3

const ev = (id: string, data?: unknown) => (data === undefined ? [kw(id)] : [kw(id), data]);

const spec33: [string, unknown, string, string?][] = [
  ["F1", [ev("chsk/handshake", ["alice", null, null]), null], '[["~:chsk/handshake",["alice",null,null]],null]'],
  ["F2", [ev("chsk/handshake", [kw("sente/nil-uid"), null, null]), null], '[["~:chsk/handshake",["~:sente/nil-uid",null,null]],null]'],
  ["F4", [ev("my/ev", { a: 1 }), "3f2a1b"], '[["~:my/ev",["^ ","~:a",1]],"3f2a1b"]', '[["~:my/ev",{"~:a":1}],"3f2a1b"]'],
  [
    "F7",
    [[ev("my/push", { n: 1 }), ev("my/push", { n: 2 })], null],
    '[[["~:my/push",["^ ","~:n",1]],["^0",["^ ","~:n",2]]],null]',
    '[[["~:my/push",{"~:n":1}],["~:my/push",{"~:n":2}]],null]',
  ],
  ["F8", [kw("chsk/ws-ping"), null], '["~:chsk/ws-ping",null]'],
  ["F9", [ev("chsk/ws-pong"), null], '[["~:chsk/ws-pong"],null]'],
  ["F11", ["pong", "3f2a1b"], '["pong","3f2a1b"]'],
  ["F12", [ev("my/ev", { a: 1 }), kw("ajax")], '[["~:my/ev",["^ ","~:a",1]],"~:ajax"]', '[["~:my/ev",{"~:a":1}],"~:ajax"]'],
  ["F16", [kw("chsk/timeout"), null], '["~:chsk/timeout",null]'],
];

describe("transit: protocol.md §3.3", () => {
  const t = transitPacker();
  const v = transitPacker({ verbose: true });
  for (const [id, value, wire, verbose] of spec33) {
    it(`${id}: packs exactly`, () => {
      assert.equal(t.pack(value), wire);
      assert.equal(v.pack(value), verbose ?? wire);
    });
    it(`${id}: unpacks (both encodings, with either packer)`, () => {
      for (const p of [t, v]) {
        assert.deepStrictEqual(unpackOk(p, wire), value);
        assert.deepStrictEqual(unpackOk(p, verbose ?? wire), value);
      }
    });
  }

  it("resets the write cache for every message", () => {
    const f7 = spec33[3]!;
    assert.equal(t.pack(f7[1]), f7[2]);
    assert.equal(t.pack(f7[1]), f7[2]);
  });

  it("a failed pack does not leave cache entries behind for the next message", () => {
    assert.throws(() => t.pack([kw("my/push"), kw("my/other"), () => 1]), throwsCode("CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.equal(t.pack(spec33[3]![1]), spec33[3]![2]);
  });

  it("a failed unpack does not leave cache entries behind for the next message", () => {
    unpackErr(t, '["~:my/push","~#nonsense"]', "CHSK_ERR_UNPACK");
    unpackErr(t, '["^0"]', "CHSK_ERR_UNPACK");
  });

  it("has the packer properties Sente's transit packer has", () => {
    assert.deepStrictEqual([t.name, t.binary, t.keywordsAsStrings], ["transit", false, false]);
    assert.deepStrictEqual([v.name, v.binary, v.keywordsAsStrings], ["transit", false, false]);
  });
});

// ---------------------------------------------------------------------------
// transit: the value model, both ways

const UUID = "6b1c4e2a-0f3d-4b5a-9c8d-7e6f5a4b3c2d";
const D = new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 500));

describe("transit: value model", () => {
  const t = transitPacker();
  const v = transitPacker({ verbose: true });

  // [value, json, json-verbose (if different), value read back (if different)]
  const table: [string, unknown, string, string | null, unknown?][] = [
    ["top-level keyword (quoted)", kw("a"), '["~#\'","~:a"]', '{"~#\'":"~:a"}'],
    ["top-level symbol (quoted)", sym("my/sym"), '["~#\'","~$my/sym"]', '{"~#\'":"~$my/sym"}'],
    ["top-level string (quoted)", "x", '["~#\'","x"]', '{"~#\'":"x"}'],
    ["strings that need escaping", ["~a", "^b", "`c", "^ "], '["~~a","~^b","~`c","~^ "]', null],
    ["nil / booleans", [null, true, false], "[null,true,false]", null],
    ["undefined writes nil", [undefined], "[null]", null, [null]],
    ["integers", [0, -1, 9007199254740991], "[0,-1,9007199254740991]", null],
    ["non-integral numbers", [1.5, -2.25e-7], "[1.5,-2.25e-7]", null],
    ["special numbers", [NaN, Infinity, -Infinity], '["~zNaN","~zINF","~z-INF"]', null],
    ["Double keeps its decimal point (Java text) but reads as a number", [double(1), double(-0), double(1e7), double(2.5)], "[1.0,-0.0,1.0E7,2.5]", null, [1, -0, 1e7, 2.5]],
    ["non-finite Double", [double(NaN)], '["~zNaN"]', null, [NaN]],
    ["small bigint writes as a number", [5n, -7n], "[5,-7]", null, [5, -7]],
    ["bigint beyond 2^53 within int64 is ~i", [2n ** 60n, -(2n ** 63n)], '["~i1152921504606846976","~i-9223372036854775808"]', null],
    ["bigint beyond int64 is ~n", [2n ** 64n], '["~n18446744073709551616"]', null],
    ["ratio", [new Ratio(22n, 7n)], '[["~#ratio",["~n22","~n7"]]]', '[{"~#ratio":["~n22","~n7"]}]'],
    ["bigdec", [new BigDec("1.50")], '["~f1.50"]', null],
    ["char", [new Char("x"), new Char("😀")], '["~cx","~c😀"]', null],
    ["uuid", [new Uuid(UUID.toUpperCase())], `["~u${UUID}"]`, null],
    ["date", [D], '["~m1704067200500"]', '["~t2024-01-01T00:00:00.500Z"]'],
    ["vector / list", [[1, [2]], List.from_([1, 2])], '[[1,[2]],["~#list",[1,2]]]', '[[1,[2]],{"~#list":[1,2]}]'],
    ["set", [new EdnSet([1, kw("x")])], '[["~#set",[1,"~:x"]]]', '[{"~#set":[1,"~:x"]}]'],
    ["any Set writes as a set", [new Set([1])], '[["~#set",[1]]]', '[{"~#set":[1]}]', [new EdnSet([1])]],
    ["plain object: keys are keywords", [{ a: 1, "b/c": 2 }], '[["^ ","~:a",1,"~:b/c",2]]', '[{"~:a":1,"~:b/c":2}]'],
    ["empty object", [{}], '[["^ "]]', "[{}]"],
    [
      "Map with keyword keys reads as an object",
      [new Map([[kw("a"), 1]])],
      '[["^ ","~:a",1]]',
      '[{"~:a":1}]',
      [{ a: 1 }],
    ],
    ["Map with string keys stays a Map", [new Map([["a", 1], ["long-key", 2]])], '[["^ ","a",1,"long-key",2]]', '[{"a":1,"long-key":2}]'],
    [
      "Map with scalar keys of other types",
      [new Map<unknown, unknown>([[1, "i"], [1.5, "d"], [double(2), "D"], [null, "n"], [true, "t"], [2n ** 60n, "L"], [new Uuid(UUID), "u"], [D, "m"]])],
      `[["^ ","~i1","i","~d1.5","d","~d2.0","D","~_","n","~?t","t","~i1152921504606846976","L","~u${UUID}","u","~m1704067200500","m"]]`,
      `[{"~i1":"i","~d1.5":"d","~d2.0":"D","~_":"n","~?t":"t","~i1152921504606846976":"L","~u${UUID}":"u","~t2024-01-01T00:00:00.500Z":"m"}]`,
      [new Map<unknown, unknown>([[1, "i"], [1.5, "d"], [2, "D"], [null, "n"], [true, "t"], [2n ** 60n, "L"], [new Uuid(UUID), "u"], [D, "m"]])],
    ],
    [
      "Map with composite keys is a cmap",
      [new Map<unknown, unknown>([[[1], "v"], [{ a: 1 }, "o"]])],
      '[["~#cmap",[[1],"v",["^ ","~:a",1],"o"]]]',
      '[{"~#cmap":[[1],"v",{"~:a":1},"o"]}]',
    ],
    ["tagged value", [new Tagged("my/point", [1, 2])], '[["~#my/point",[1,2]]]', '[{"~#my/point":[1,2]}]'],
    ["tagged with a one-letter tag and a string", [new Tagged("r", "http://x")], '["~rhttp://x"]', null],
    ["tagged with a one-letter tag and another value", [new Tagged("x", [1])], '[["~#x",[1]]]', '[{"~#x":[1]}]'],
    ["__proto__ as a key", [JSON.parse('{"__proto__":1}')], '[["^ ","~:__proto__",1]]', '[{"~:__proto__":1}]'],
    ["null-prototype object", [Object.assign(Object.create(null), { a: 1 })], '[["^ ","~:a",1]]', '[{"~:a":1}]', [{ a: 1 }]],
    ["object with an own constructor key", [{ constructor: 1 }], '[["^ ","~:constructor",1]]', '[{"~:constructor":1}]'],
  ];

  for (const [name, value, json, verbose, back] of table) {
    it(name, () => {
      assert.equal(t.pack(value), json);
      assert.equal(v.pack(value), verbose ?? json);
      const expected = back ?? value;
      assert.deepStrictEqual(unpackOk(t, json), expected);
      assert.deepStrictEqual(unpackOk(t, verbose ?? json), expected);
    });
  }

  it("reads keywords and symbols as interned instances", () => {
    const r = unpackOk(t, '["~:my/ev","~$s",["^ ","~:my/ev",1]]') as unknown[];
    assert.equal(r[0], kw("my/ev"));
    assert.equal(r[1], sym("s"));
  });

  it("reads a Double from a JVM peer (1.0) as a number", () => {
    assert.deepStrictEqual(unpackOk(t, "[1.0,1.0E-9,-0.0]"), [1, 1e-9, -0]);
  });

  it("reads the other representations transit writers use", () => {
    assert.deepStrictEqual(unpackOk(t, '[["~#u",[0,1]],["~#m",1704067200500],"~dNaN","~n5","~i5","~i-9007199254740993"]'), [
      new Uuid("00000000-0000-0000-0000-000000000001"),
      D,
      NaN,
      5n,
      5,
      -9007199254740993n,
    ]);
    assert.deepStrictEqual(unpackOk(t, '["~#\'","~i9223372036854775807"]'), 9223372036854775807n);
    // A quoted array's items bypass transit-js's array builder; they are still converted.
    assert.deepStrictEqual(unpackOk(t, '["~#\'",["~i9223372036854775807",["~#x",1]]]'), [9223372036854775807n, new Tagged("x", 1)]);
    unpackErr(t, '["~#\'",["~#x"]]', "CHSK_ERR_UNPACK");
  });

  it('reads "~i" integers beyond int64 exactly (transit-js would wrap them), and writes them as "~n"', () => {
    const wire = '[["~:demo/echo",["~i12345678901234567890","~i-9223372036854775809","~i9223372036854775807",{"~i99999999999999999999":1}]],"x"]';
    const v = unpackOk(t, wire) as [unknown, unknown];
    const data = (v[0] as unknown[])[1] as unknown[];
    assert.deepStrictEqual(data.slice(0, 3), [12345678901234567890n, -9223372036854775809n, 9223372036854775807n]);
    assert.deepStrictEqual([...(data[3] as Map<unknown, unknown>).keys()], [99999999999999999999n]);
    assert.equal(
      t.pack(v),
      '[["~:demo/echo",["~n12345678901234567890","~n-9223372036854775809","~i9223372036854775807",["^ ","~n99999999999999999999",1]]],"x"]',
    );
  });

  it("reads unknown tags as Tagged, and writes them back the same", () => {
    for (const wire of ['["~xabc"]', '[["~#my/t",["^ ","~:a",1]]]', '[{"~#my/t":[1]}]', '[["~#constructor","abc"]]', '[["~#toString",[1]]]']) {
      const value = unpackOk(t, wire) as unknown[];
      assert.ok(value[0] instanceof Tagged, wire);
      const again = t.pack(value);
      assert.deepStrictEqual(unpackOk(t, again), value, wire);
    }
    assert.deepStrictEqual(unpackOk(t, '[["~#constructor","abc"]]'), [new Tagged("constructor", "abc")]);
  });

  it("reads binary as bytes", () => {
    const r = unpackOk(t, '["~bAQID"]') as unknown[];
    assert.ok(r[0] instanceof Uint8Array);
    assert.deepStrictEqual([...(r[0] as Uint8Array)], [1, 2, 3]);
    assert.equal(t.pack([new Uint8Array([1, 2, 3])]), '["~bAQID"]');
  });

  it("uses two-character cache codes after 44 entries and wraps after 1936", () => {
    for (const n of [3, 44, 45, 100, 1936, 1937, 2500]) {
      const keys = Array.from({ length: n }, (_, i) => kw(`k/key-${i}`));
      const value = [keys, keys];
      const wire = t.pack(value) as string;
      const native = transit.writer("json").write(keys.map((k) => transit.keyword(k.fqn)).concat(keys.map((k) => transit.keyword(k.fqn))));
      // Same cache codes as transit-js (our envelope nests the two halves one level deeper).
      assert.equal(JSON.stringify(JSON.parse(wire).flat()), native, `n=${n}`);
      assert.deepStrictEqual(unpackOk(t, wire), value, `n=${n}`);
    }
  });

  it("caches map keys longer than 3 characters, including strings", () => {
    const value = [new Map([["abcd", 1]]), new Map([["abcd", 2]]), { ab: 1 }, { ab: 2 }, { a: 1 }, { a: 2 }, new Map([["abc", 1]]), new Map([["abc", 2]])];
    const wire = t.pack(value);
    assert.equal(
      wire,
      '[["^ ","abcd",1],["^ ","^0",2],["^ ","~:ab",1],["^ ","^1",2],["^ ","~:a",1],["^ ","~:a",2],["^ ","abc",1],["^ ","abc",2]]',
    );
    assert.deepStrictEqual(unpackOk(t, wire), value);
  });

  it("rejects malformed transit as CHSK_ERR_UNPACK", () => {
    for (const wire of [
      '["^0"]', // a cache reference to nothing
      '[["^ ","~:abcd",1],"^1"]',
      '["^"]',
      '["^~~~"]',
      '["~#x"]', // a tag outside a tagged value
      '[1,"~#set"]',
      '[["~#set",1]]', // a set of a non-array
      '[["~#list","x"]]',
      '[["~#cmap",[1]]]',
      '[["~#ratio",[1]]]',
      '[["~#ratio",["x","y"]]]',
      '[["~#ratio",["~n1","~n0"]]]',
      '["~nabc"]',
      '["~n"]',
      '["~f1.2.3"]',
      '["~unot-a-uuid"]',
      '["~mabc"]',
      '["~tnot a date"]',
      '["~zfoo"]',
      '[["~#__proto__",1]]',
      "[1,]",
      "",
    ]) {
      unpackErr(t, wire, "CHSK_ERR_UNPACK");
    }
  });

  it("refuses to write values outside the value model", () => {
    class Point {
      x = 1;
    }
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const values = [
      [() => 1],
      [Symbol("s")],
      [new Point()],
      [new Date(NaN)],
      cyclic,
      [new Tagged("map", {})],
      [new Tagged("", 1)],
      [Object.create({ inherited: 1 })],
      [new Number(1)],
      [new WeakMap()],
      () => 1,
      new Point(),
    ];
    values.forEach((value, i) => {
      assert.throws(() => t.pack(value), throwsCode("CHSK_ERR_UNSUPPORTED_VALUE"), `#${i}`);
      assert.throws(() => v.pack(value), throwsCode("CHSK_ERR_UNSUPPORTED_VALUE"), `#${i}`);
    });
  });

  it("writes subclasses of Array/Map/Set by copying them", () => {
    class MyArray extends Array<number> {}
    class MyMap extends Map<string, number> {}
    const a = MyArray.from([1, 2]);
    assert.equal(t.pack([a, new MyMap([["abcd", 1]])]), '[[1,2],["^ ","abcd",1]]');
  });
});

// ---------------------------------------------------------------------------
// transit: properties

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** What a value reads back as through transit (see the table in transit.ts). */
function transitNorm(x: unknown): unknown {
  if (x instanceof Double) return x.valueOf();
  if (typeof x === "number") return Object.is(x, -0) ? 0 : x;
  if (typeof x === "bigint") return x >= -MAX_SAFE && x <= MAX_SAFE ? Number(x) : x;
  if (Array.isArray(x)) return x instanceof List ? List.from_(x.map(transitNorm)) : x.map(transitNorm);
  if (x instanceof Set) return new EdnSet([...x].map(transitNorm));
  if (x instanceof Tagged) return new Tagged(x.tag, transitNorm(x.value) as EdnValue);
  if (x instanceof Map) {
    const entries = [...x].map(([k, v]) => [transitNorm(k), transitNorm(v)] as const);
    if (entries.every(([k]) => k instanceof Keyword)) return objectOf(entries.map(([k, v]) => [(k as Keyword).fqn, v]));
    return new Map(entries);
  }
  if (isPlainObject(x)) return objectOf(Object.keys(x).map((k) => [k, transitNorm(x[k])]));
  return x;
}

function objectOf(entries: (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

describe("transit: properties", () => {
  for (const verbose of [false, true]) {
    const p = transitPacker({ verbose });
    it(`round-trips the value model (${verbose ? "json-verbose" : "json"})`, () => {
      fc.assert(
        fc.property(valueArb, (value) => {
          const wire = p.pack([value, null]) as string;
          assert.deepStrictEqual(unpackOk(p, wire, { maxDepth: 1000 }), [transitNorm(value), null]);
        }),
        { numRuns: 500 },
      );
    });
  }

  // Values transit-js can express natively, with ≤ 8 map entries (so its
  // maps keep insertion order) and keyword/string pools that force cache hits.
  const pooledKw = fc.constantFrom("a", "my/ev", "my/push", "id", "name", "chsk/ws-ping", "x/yy", "long-keyword-name").map(kw);
  const pooledStr = fc.oneof(stringArb, fc.constantFrom("abcd", "ab", "hello", "^caret", "~tilde", "`tick"));
  const nativeArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { maxDepth: 4, depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
      pooledStr,
      pooledKw,
      fqnArb.map(kw),
      fqnArb.map(sym),
      fc.uuid().map((u) => new Uuid(u)),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((n) => n > MAX_SAFE || n < -MAX_SAFE),
      fc.array(tie("v"), { maxLength: 6 }),
      fc.array(tie("v"), { maxLength: 4 }).map((a) => List.from_(a as EdnValue[])),
      fc.array(fc.tuple(fc.oneof(fqnArb, fc.constantFrom("a", "my/ev", "name")), tie("v")), { maxLength: 8 }).map((kvs) => objectOf(kvs)),
      fc.uniqueArray(fc.tuple(pooledStr, tie("v")), { maxLength: 8, selector: ([k]) => k }).map((kvs) => new Map(kvs)),
    ),
  })).v;

  /** The same value as transit-js's own types. */
  function toNative(x: unknown): unknown {
    if (x instanceof Keyword) return transit.keyword(x.fqn);
    if (typeof x === "object" && x !== null && x.constructor?.name === "Sym") return transit.symbol((x as { fqn: string }).fqn);
    if (x instanceof Uuid) return transit.uuid(x.value);
    if (typeof x === "bigint") return transit.integer(String(x));
    if (x instanceof List) return transit.list(x.map(toNative));
    if (Array.isArray(x)) return x.map(toNative);
    if (x instanceof Map) return transit.map([...x].flatMap(([k, v]) => [toNative(k), toNative(v)]));
    if (isPlainObject(x)) return transit.map(Object.keys(x).flatMap((k) => [transit.keyword(k), toNative(x[k])]));
    return x;
  }

  for (const verbose of [false, true]) {
    const p = transitPacker({ verbose });
    const w = transit.writer(verbose ? "json-verbose" : "json");
    const r = transit.reader("json");
    it(`writes what transit-js writes, and reads it (${verbose ? "json-verbose" : "json"})`, () => {
      fc.assert(
        fc.property(nativeArb, (value) => {
          const env = [value, null];
          const ours = p.pack(env) as string;
          assert.equal(ours, w.write(toNative(env)));
          assert.deepStrictEqual(unpackOk(p, ours, { maxDepth: 1000 }), transitNorm(env));
          // and transit-js reads ours as the same value it would have written
          assert.equal(w.write(r.read(ours)), ours);
        }),
        { numRuns: 500 },
      );
    });
  }
});

// ---------------------------------------------------------------------------
// JSON packer

describe("json packer", () => {
  const j = jsonPacker();

  it("has keywordsAsStrings", () => {
    assert.deepStrictEqual([j.name, j.binary, j.keywordsAsStrings], ["json", false, true]);
  });

  it("maps the value model onto JSON", () => {
    const value = [
      kw("my/ev"),
      sym("s"),
      new Uuid(UUID),
      new Char("c"),
      new BigDec("1.50"),
      D,
      new Ratio(1n, 4n),
      double(1),
      5n,
      new Map<unknown, unknown>([["a", 1], [kw("b/c"), 2]]),
      new EdnSet([1, 2]),
      new Set(["x"]),
      List.from_([1]),
      undefined,
      { u: undefined, n: null },
      NaN,
      Infinity,
    ];
    assert.equal(
      j.pack(value),
      `["my/ev","s","${UUID}","c","1.50","2024-01-01T00:00:00.500Z",0.25,1,5,{"a":1,"b/c":2},[1,2],["x"],[1],null,{"u":null,"n":null},null,null]`,
    );
  });

  it("writes a Map key named __proto__ as an ordinary key", () => {
    assert.equal(j.pack(new Map([["__proto__", 1]])), '{"__proto__":1}');
  });

  it("refuses values JSON cannot carry faithfully", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [
      [2n ** 53n],
      [-(2n ** 53n)],
      [new Map([[1, "x"]])],
      [new Map([[null, "x"]])],
      [new Tagged("my/t", 1)],
      [() => 1],
      { f: () => 1 },
      [Symbol("s")],
      cyclic,
      () => 1,
    ]) {
      assert.throws(() => j.pack(value), throwsCode("CHSK_ERR_UNSUPPORTED_VALUE"));
    }
    assert.equal(j.pack([2n ** 53n - 1n]), "[9007199254740991]");
    assert.equal(j.pack(undefined), "null");
  });

  it("round-trips JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const norm = JSON.parse(JSON.stringify(value));
        assert.deepStrictEqual(unpackOk(j, j.pack([norm, null]), { maxDepth: 100 }), [norm, null]);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects invalid JSON as CHSK_ERR_UNPACK", () => {
    for (const wire of ["", "[", "[1,]", "{'a':1}", "nil", "[1] x", "\u0000"]) unpackErr(j, wire, "CHSK_ERR_UNPACK");
  });
});

// ---------------------------------------------------------------------------
// Limits, for every packer

const ALL: [string, Packer][] = [
  ["edn", ednPacker()],
  ["transit", transitPacker()],
  ["transit-verbose", transitPacker({ verbose: true })],
  ["json", jsonPacker()],
];

/** `[[…[1]…]]` nested `depth` levels in each format's syntax. */
function nested(depth: number): string {
  return "[".repeat(depth) + "1" + "]".repeat(depth);
}

describe("decode limits (every packer)", () => {
  for (const [name, p] of ALL) {
    const isEdn = name === "edn";

    it(`${name}: nesting within maxDepth is accepted, one more level is CHSK_ERR_EDN_DEPTH`, () => {
      unpackOk(p, nested(8), { maxDepth: 8 });
      unpackErr(p, nested(9), "CHSK_ERR_EDN_DEPTH", { maxDepth: 8 });
      unpackOk(p, nested(64));
      unpackErr(p, nested(65), "CHSK_ERR_EDN_DEPTH");
    });

    it(`${name}: nesting bombs fail with a depth error, never a stack overflow`, () => {
      const bombs = isEdn
        ? ["[".repeat(200_000), "(".repeat(200_000), "{:a ".repeat(100_000), "#{".repeat(100_000), "#my/t ".repeat(100_000) + "1", nested(100_000)]
        : ["[".repeat(200_000), '{"a":'.repeat(100_000), '["~#set",'.repeat(100_000), nested(100_000)];
      for (const bomb of bombs) unpackErr(p, bomb, "CHSK_ERR_EDN_DEPTH", { maxBytes: 10_000_000 });
    });

    if (!isEdn) {
      it(`${name}: brackets inside strings do not count as nesting`, () => {
        unpackOk(p, JSON.stringify(["[[[[[[[[[[", '\\"[[[[[', "{{{{{{{{{{"]), { maxDepth: 2 });
      });

      it(`${name}: a maxDepth beyond the call stack is CHSK_ERR_EDN_DEPTH or a value, never a throw`, () => {
        const r = p.unpack(nested(100_000), { maxDepth: Infinity, maxBytes: Infinity });
        if (!r.ok) assert.equal(r.error.code, "CHSK_ERR_EDN_DEPTH");
      });
    }

    it(`${name}: input over maxBytes is CHSK_ERR_FRAME_TOO_LARGE (text and bytes)`, () => {
      const wire = isEdn ? '["' + "x".repeat(100) + '" nil]' : '["' + "x".repeat(100) + '",null]';
      const len = wire.length;
      unpackOk(p, wire, { maxBytes: len });
      unpackErr(p, wire, "CHSK_ERR_FRAME_TOO_LARGE", { maxBytes: len - 1 });
      const bytes = new TextEncoder().encode(wire);
      unpackOk(p, bytes, { maxBytes: len });
      unpackErr(p, bytes, "CHSK_ERR_FRAME_TOO_LARGE", { maxBytes: len - 1 });
      unpackErr(p, "[" + " ".repeat(2 * 1024 * 1024) + "]", "CHSK_ERR_FRAME_TOO_LARGE");
    });

    it(`${name}: maxBytes counts UTF-8 bytes, not UTF-16 units`, () => {
      const wire = isEdn ? '["€€€€€€€€€€" nil]' : '["€€€€€€€€€€",null]'; // 10 × 3 bytes
      const bytes = new TextEncoder().encode(wire).length;
      assert.equal(bytes, wire.length + 20);
      unpackOk(p, wire, { maxBytes: bytes });
      unpackErr(p, wire, "CHSK_ERR_FRAME_TOO_LARGE", { maxBytes: bytes - 1 });
    });

    it(`${name}: invalid UTF-8 bytes are CHSK_ERR_UNPACK`, () => {
      unpackErr(p, new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]), "CHSK_ERR_UNPACK");
    });
  }

  it("packer options set default limits; per-call limits override them", () => {
    for (const p of [transitPacker({ limits: { maxDepth: 2 } }), jsonPacker({ limits: { maxDepth: 2 } }), ednPacker({ limits: { maxDepth: 2 } })]) {
      unpackErr(p, "[[[1]]]", "CHSK_ERR_EDN_DEPTH");
      unpackOk(p, "[[[1]]]", { maxDepth: 3 });
    }
  });

  it("utf8Length / jsonDepthExceeds helpers", () => {
    for (const s of ["", "abc", "é", "€", "😀", "\ud800", "a\udc00b", "\ud83d\ude00\ud83d"]) {
      assert.equal(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
    }
    assert.equal(jsonDepthExceeds("[[1]]", 2), false);
    assert.equal(jsonDepthExceeds("[[[1]]]", 2), true);
    assert.equal(jsonDepthExceeds('["\\\\",[[1]]]', 2), true);
    assert.equal(jsonDepthExceeds('["\\"[[[[[["]', 2), false);
    assert.equal(jsonDepthExceeds('["[[[[[[', 2), false); // unterminated: JSON.parse rejects it
  });
});

// ---------------------------------------------------------------------------
// packerByName

describe("packerByName", () => {
  it("builds each named packer", () => {
    const expected: Record<PackerName, [string, boolean]> = {
      edn: ["edn", false],
      transit: ["transit", false],
      "transit-verbose": ["transit", false],
      msgpack: ["msgpack", false],
      "gzip+edn": ["gzip+edn", false],
      "gzip+msgpack": ["gzip+msgpack", false],
      "gzip+transit": ["gzip+transit", false],
      json: ["json", true],
    };
    for (const name of PACKER_NAMES) {
      const p = packerByName(name);
      assert.deepStrictEqual([p.name, p.keywordsAsStrings], expected[name]);
    }
    assert.equal(packerByName("transit-verbose").pack([kw("my/ev"), { a: 1 }]), '["~:my/ev",{"~:a":1}]');
  });

  it("throws TypeError for an unknown name", () => {
    for (const name of ["gzip", "msgpack+gzip", "", "EDN", undefined, 1]) {
      assert.throws(() => packerByName(name as PackerName), TypeError);
    }
  });
});
