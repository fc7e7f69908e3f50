import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  BigDec,
  Char,
  Double,
  EdnSet,
  Keyword,
  List,
  Ratio,
  Sym,
  Tagged,
  Uuid,
  double,
  kw,
  parseEdn,
  readEdn,
  sym,
  writeEdn,
  type EdnValue,
} from "../../src/core/edn/index.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { isChskError, type ChskErrorCode } from "../../src/core/protocol/errors.js";

/** Reads `text` and writes it back; the result must be `expected` (default: `text`). */
function roundTrip(text: string, expected = text): void {
  assert.equal(writeEdn(parseEdn(text)), expected, `round trip of ${text}`);
}

function errorOf(text: string, opts?: Parameters<typeof readEdn>[1]): { code: ChskErrorCode; offset: unknown } {
  const r = readEdn(text, opts);
  assert.equal(r.ok, false, `expected ${JSON.stringify(text)} to fail`);
  if (r.ok) throw new Error("unreachable");
  return { code: r.error.code, offset: r.error.detail?.offset };
}

function syntaxError(text: string): void {
  assert.equal(errorOf(text).code, "CHSK_ERR_EDN_SYNTAX", `code for ${JSON.stringify(text)}`);
}

describe("edn: Sente frames (protocol.md §3.2)", () => {
  const frames = [
    '[[:chsk/handshake ["alice" nil nil]] nil]',
    "[[:chsk/handshake [:sente/nil-uid nil nil]] nil]",
    '[[:chsk/handshake ["bob" nil {:hello "world"}]] nil]',
    '[[:my/ev {:a 1}] "3f2a1b"]',
    '[{:echo {:a 1}} "3f2a1b"]',
    "[[:my/ev {:a 1}] nil]",
    "[[[:my/push {:n 1}] [:my/push {:n 2}]] nil]",
    "[:chsk/ws-ping nil]",
    "[[:chsk/ws-pong] nil]",
    '[[:chsk/ws-ping] "a1b2c3"]',
    '["pong" "a1b2c3"]',
    "[[:my/ev {:a 1}] :ajax]",
    "[:chsk/dummy-cb-200 nil]",
    "[:chsk/timeout nil]",
    "[{:id 1, :name \"x\"} {:id 2, :name \"y\"}]",
  ];
  for (const f of frames) it(`round-trips ${f}`, () => roundTrip(f));

  it("builds frames from plain JS values", () => {
    assert.equal(writeEdn([[kw("chsk/handshake"), ["alice", null, null]], null]), frames[0]);
    assert.equal(writeEdn([[kw("my/ev"), { a: 1 }], "3f2a1b"]), frames[3]);
    assert.equal(writeEdn([{ id: 1, name: "x" }, { id: 2, name: "y" }]), frames[14]);
  });

  it("reads the handshake into the value model", () => {
    assert.deepEqual(parseEdn(frames[2]!), [[kw("chsk/handshake"), ["bob", null, { hello: "world" }]], null]);
  });
});

describe("edn: scalars", () => {
  const table: [text: string, value: EdnValue][] = [
    ["nil", null],
    ["true", true],
    ["false", false],
    ['"hi"', "hi"],
    ['""', ""],
    ["0", 0],
    ["42", 42],
    ["-7", -7],
    ["+7", 7],
    ["-0", 0],
    ["1.5", 1.5],
    ["-2.25", -2.25],
    ["1e-9", 1e-9],
    ["1.5e-300", 1.5e-300],
    ["0.001", 0.001],
    ["##Inf", Infinity],
    ["##-Inf", -Infinity],
    [":a", kw("a")],
    [":my/ev", kw("my/ev")],
    ["sym", sym("sym")],
    ["my.ns/sym", sym("my.ns/sym")],
    ["/", sym("/")],
    ["clojure.core//", sym("clojure.core//")],
    ["+", sym("+")],
    ["-", sym("-")],
    ["-a", sym("-a")],
    ["a.b", sym("a.b")],
    ["<=>", sym("<=>")],
    [":a.b-c?/d*e!", kw("a.b-c?/d*e!")],
    [":1", kw("1")],
  ];
  for (const [text, value] of table) {
    it(`reads ${text}`, () => assert.deepEqual(parseEdn(text), value));
  }

  it("reads -0 as integer zero, not negative zero", () => {
    assert.ok(Object.is(parseEdn("-0"), 0));
  });

  it("reads ##NaN", () => assert.ok(Number.isNaN(parseEdn("##NaN"))));

  it("interns keywords and symbols", () => {
    assert.equal(parseEdn(":my/ev"), kw("my/ev"));
    assert.equal(parseEdn("[:a :a]") !== null && (parseEdn("[:a :a]") as Keyword[])[0], kw("a"));
    assert.equal(parseEdn("foo/bar"), Sym.of("foo/bar"));
    const k = parseEdn(":ns/name") as Keyword;
    assert.equal(k.ns, "ns");
    assert.equal(k.name, "name");
  });

  for (const text of ["nil", "true", "false", ":a", ":my/ev", "sym", "a/b", "/", "c//", "42", "-7", "1.5", '"x"']) {
    it(`round-trips ${text}`, () => roundTrip(text));
  }
});

describe("edn: integers", () => {
  it("keeps ±(2^53-1) as numbers and goes to bigint beyond", () => {
    assert.equal(parseEdn("9007199254740991"), 9007199254740991);
    assert.equal(parseEdn("-9007199254740991"), -9007199254740991);
    assert.equal(parseEdn("9007199254740992"), 9007199254740992n);
    assert.equal(parseEdn("-9007199254740992"), -9007199254740992n);
    assert.equal(parseEdn("9007199254740993"), 9007199254740993n);
    assert.equal(parseEdn("123456789012345678901234567890"), 123456789012345678901234567890n);
    assert.equal(parseEdn("-123456789012345678901234567890"), -123456789012345678901234567890n);
    assert.equal(parseEdn("999999999999999"), 999999999999999);
    assert.equal(parseEdn("1000000000000000"), 1000000000000000);
  });

  it("writes bigints as plain digits", () => {
    roundTrip("9007199254740993");
    roundTrip("-123456789012345678901234567890");
    assert.equal(writeEdn(12n), "12");
    assert.equal(writeEdn(2n ** 64n), "18446744073709551616");
  });

  it("writes integral numbers beyond 2^53 as the doubles they are", () => {
    assert.equal(writeEdn(2 ** 53), "9.007199254740992E15");
    assert.equal(writeEdn(2 ** 64), "1.8446744073709552E19");
    assert.equal(writeEdn(-(2 ** 60)), "-1.152921504606847E18");
    assert.equal(writeEdn(1e300), "1.0E300");
    roundTrip("1.0E300");
  });

  it("reads N as bigint", () => {
    assert.equal(parseEdn("7N"), 7n);
    assert.equal(parseEdn("-7N"), -7n);
    assert.equal(parseEdn("+0N"), 0n);
    assert.equal(parseEdn("0N"), 0n);
    assert.equal(parseEdn("99999999999999999999N"), 99999999999999999999n);
    assert.equal(writeEdn(parseEdn("7N")), "7");
  });

  it("reads hex, octal and radix forms like the Clojure reader", () => {
    assert.equal(parseEdn("0x1F"), 31);
    assert.equal(parseEdn("0X1f"), 31);
    assert.equal(parseEdn("-0x10"), -16);
    assert.equal(parseEdn("0x1FN"), 31n);
    assert.equal(parseEdn("0xFFFFFFFFFFFFFFFF"), 0xffffffffffffffffn);
    assert.equal(parseEdn("017"), 15);
    assert.equal(parseEdn("-017"), -15);
    assert.equal(parseEdn("00"), 0);
    assert.equal(parseEdn("2r101"), 5);
    assert.equal(parseEdn("36rZZ"), 36 * 36 - 1);
    assert.equal(parseEdn("16rff"), 255);
    assert.equal(parseEdn("-8R17"), -15);
    assert.equal(parseEdn("2r" + "1".repeat(64)), 2n ** 64n - 1n);
  });

  for (const bad of ["08", "019", "0x", "0xG", "1r0", "37r1", "2r2", "1a", "1.5N", "1/0", "1/", "1/-2", "1e", "1e+", "1..2", "12abc", "0r1"]) {
    it(`rejects number ${bad}`, () => syntaxError(bad));
  }
});

describe("edn: floats, Double, BigDec, Ratio", () => {
  it("reads integral floats as Double and keeps the .0 on the way back", () => {
    for (const t of ["1.0", "-0.0", "0.0", "100.0", "1.0E21", "1.0E-9"]) {
      const v = parseEdn(t);
      if (t === "1.0E-9") {
        assert.equal(v, 1e-9);
      } else {
        assert.ok(v instanceof Double, t);
      }
      roundTrip(t);
    }
    assert.ok(Object.is((parseEdn("-0.0") as Double).valueOf(), -0));
    assert.equal((parseEdn("1.0") as Double).valueOf(), 1);
    assert.equal((parseEdn("1.0") as unknown as number) + 1, 2);
  });

  it("reads every float spelling of the Clojure grammar", () => {
    const table: [string, number][] = [
      ["1.", 1],
      ["1e3", 1000],
      ["1E3", 1000],
      ["1.e2", 100],
      ["+1.5", 1.5],
      ["-1.5e-3", -0.0015],
      ["09.5", 9.5],
      ["1e400", Infinity],
      ["5e-324", 5e-324],
    ];
    for (const [t, n] of table) assert.equal(Number(parseEdn(t)), n, t);
    assert.ok(parseEdn("1e3") instanceof Double);
    assert.ok(!(parseEdn("1e400") instanceof Double));
  });

  it("writes doubles like Java's Double.toString", () => {
    const table: [number | Double, string][] = [
      [double(1), "1.0"],
      [double(-0), "-0.0"],
      [double(0), "0.0"],
      [1.5, "1.5"],
      [0.1, "0.1"],
      [0.001, "0.001"],
      [0.000999, "9.99E-4"],
      [1e-9, "1.0E-9"],
      [1.5e-9, "1.5E-9"],
      [-2.5e-7, "-2.5E-7"],
      [1234567.5, "1234567.5"],
      [12345678.5, "1.23456785E7"],
      [double(1e7), "1.0E7"],
      [double(9999999), "9999999.0"],
      [double(1e21), "1.0E21"],
      [double(1e23), "1.0E23"],
      [2e-323, "2.0E-323"],
      [double(1e300), "1.0E300"],
      [1.7976931348623157e308, "1.7976931348623157E308"],
      [double(1.5e300), "1.5E300"],
      [5e-324, "4.9E-324"],
      [Infinity, "##Inf"],
      [-Infinity, "##-Inf"],
      [NaN, "##NaN"],
      [double(NaN), "##NaN"],
    ];
    for (const [v, s] of table) assert.equal(writeEdn(v), s, String(v));
  });

  it("writes integral plain numbers as integers", () => {
    assert.equal(writeEdn(1), "1");
    assert.equal(writeEdn(-0), "0");
    assert.equal(writeEdn(1e15), "1000000000000000");
  });

  it("maps M to BigDec", () => {
    const v = parseEdn("1.50M");
    assert.ok(v instanceof BigDec);
    assert.equal(v.text, "1.50");
    assert.deepEqual(parseEdn("+1.5M"), new BigDec("1.5"));
    assert.deepEqual(parseEdn("-3M"), new BigDec("-3"));
    assert.deepEqual(parseEdn("1e10M"), new BigDec("1e10"));
    roundTrip("1.50M");
    roundTrip("-3M");
  });

  it("maps a/b to an unreduced Ratio", () => {
    const v = parseEdn("22/7");
    assert.ok(v instanceof Ratio);
    assert.equal(v.numerator, 22n);
    assert.equal(v.denominator, 7n);
    assert.deepEqual(parseEdn("-1/2"), new Ratio(-1n, 2n));
    assert.deepEqual(parseEdn("+4/2"), new Ratio(4n, 2n));
    roundTrip("22/7");
    roundTrip("-1/2");
    roundTrip("4/2");
  });
});

describe("edn: strings", () => {
  const escapes: [edn: string, js: string][] = [
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', "a\\b"],
    ['"a\\nb"', "a\nb"],
    ['"a\\tb"', "a\tb"],
    ['"a\\rb"', "a\rb"],
    ['"a\\fb"', "a\fb"],
    ['"a\\bb"', "a\bb"],
  ];
  for (const [edn, js] of escapes) {
    it(`reads and writes ${edn}`, () => {
      assert.equal(parseEdn(edn), js);
      assert.equal(writeEdn(js), edn);
    });
  }

  it("reads \\uXXXX and octal escapes", () => {
    assert.equal(parseEdn('"\\u0041\\u00e9\\u20AC"'), "Aé€");
    assert.equal(parseEdn('"\\101\\0\\377x"'), "A\0\u00ffx");
    assert.equal(parseEdn('"\\1234"'), "S4");
    assert.equal(parseEdn('"\\uD83D\\uDE00"'), "😀");
  });

  it("writes other control characters as \\uXXXX", () => {
    assert.equal(writeEdn("\0\u0001\u001f\u007f\u0085"), '"\\u0000\\u0001\\u001f\\u007f\\u0085"');
    assert.equal(writeEdn("\u000b"), '"\\u000b"');
    roundTrip('"\\u0000\\u001f"');
  });

  it("passes non-ASCII through and escapes only lone surrogates", () => {
    assert.equal(writeEdn("é€😀日本"), '"é€😀日本"');
    assert.equal(writeEdn("a\ud800b"), '"a\\ud800b"');
    assert.equal(writeEdn("\udc00"), '"\\udc00"');
    assert.equal(parseEdn(writeEdn("a\ud800b")), "a\ud800b");
  });

  it("keeps raw newlines inside strings", () => {
    assert.equal(parseEdn('"a\nb"'), "a\nb");
  });

  for (const bad of ['"abc', '"a\\', '"\\x"', '"\\u12"', '"\\u12G4"', '"\\400"', '"\\8"']) {
    it(`rejects ${JSON.stringify(bad)}`, () => syntaxError(bad));
  }
});

describe("edn: characters", () => {
  const table: [edn: string, ch: string][] = [
    ["\\a", "a"],
    ["\\Z", "Z"],
    ["\\newline", "\n"],
    ["\\space", " "],
    ["\\tab", "\t"],
    ["\\return", "\r"],
    ["\\backspace", "\b"],
    ["\\formfeed", "\f"],
    ['\\"', '"'],
    ["\\\\", "\\"],
    ["\\(", "("],
    ["\\é", "é"],
    ["\\😀", "😀"],
  ];
  for (const [edn, ch] of table) {
    it(`reads and writes ${edn}`, () => {
      const v = parseEdn(edn);
      assert.ok(v instanceof Char);
      assert.equal(v.value, ch);
      assert.equal(writeEdn(v), edn);
    });
  }

  it("reads \\uXXXX and \\oNNN", () => {
    assert.deepEqual(parseEdn("\\u0041"), new Char("A"));
    assert.deepEqual(parseEdn("\\u00e9"), new Char("é"));
    assert.deepEqual(parseEdn("\\o101"), new Char("A"));
    assert.deepEqual(parseEdn("\\u"), new Char("u"));
    assert.deepEqual(parseEdn("\\o"), new Char("o"));
  });

  it("writes control characters as \\uXXXX", () => {
    assert.equal(writeEdn(new Char("\0")), "\\u0000");
    assert.equal(writeEdn(new Char("\u001b")), "\\u001b");
    roundTrip("\\u0000");
  });

  it("delimits chars inside collections", () => {
    assert.deepEqual(parseEdn("[\\a \\b\\c]"), [new Char("a"), new Char("b"), new Char("c")]);
    assert.deepEqual(parseEdn("[\\a,\\b]"), [new Char("a"), new Char("b")]);
    assert.deepEqual(parseEdn("(\\))"), List.from_([new Char(")")]));
    roundTrip("[\\a \\space \\] \\newline]");
  });

  for (const bad of ["\\", "\\abc", "\\uD800", "\\u00G0", "\\o400", "\\o8", "\\newlinex"]) {
    it(`rejects ${bad}`, () => syntaxError(bad));
  }

  it("refuses to write a Char that is not one code point", () => {
    assert.throws(() => writeEdn(new Char("ab")), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.throws(() => writeEdn(new Char("")), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.throws(() => writeEdn(new Char("\ud800")), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });
});

describe("edn: collections", () => {
  it("reads vectors as arrays and lists as List", () => {
    assert.deepEqual(parseEdn("[1 2 3]"), [1, 2, 3]);
    const l = parseEdn("(1 2 3)");
    assert.ok(l instanceof List);
    assert.ok(Array.isArray(l));
    assert.deepEqual([...l], [1, 2, 3]);
    assert.ok(!(parseEdn("[1]") instanceof List));
    roundTrip("(1 [2 (3)] ())");
    roundTrip("[]");
    roundTrip("()");
    assert.equal(writeEdn(List.from_([1, 2])), "(1 2)");
    assert.equal(writeEdn([]), "[]");
  });

  it("reads sets as EdnSet and writes Set and EdnSet as #{}", () => {
    const s = parseEdn("#{:admin :dev}");
    assert.ok(s instanceof EdnSet);
    assert.ok(s.has(kw("admin")));
    assert.ok(s.has(kw("dev")));
    roundTrip("#{:admin :dev}");
    roundTrip("#{}");
    assert.equal(writeEdn(new Set([1, 2])), "#{1 2}");
    assert.equal(writeEdn(new EdnSet(["a"])), '#{"a"}');
  });

  it("reads keyword-keyed maps as plain objects", () => {
    assert.deepEqual(parseEdn("{:a 1}"), { a: 1 });
    assert.deepEqual(parseEdn("{:a 1, :b/c 2}"), { a: 1, "b/c": 2 });
    assert.deepEqual(parseEdn("{}"), {});
    assert.equal(Object.getPrototypeOf(parseEdn("{}")), Object.prototype);
    assert.deepEqual(parseEdn("{:toString 1 :constructor 2 :hasOwnProperty 3}"), {
      toString: 1,
      constructor: 2,
      hasOwnProperty: 3,
    });
    roundTrip("{:a 1, :b/c 2}");
    roundTrip("{}");
  });

  it("reads string-keyed and mixed maps as Map", () => {
    const m = parseEdn('{"a" 1}');
    assert.ok(m instanceof Map);
    assert.equal(m.get("a"), 1);
    roundTrip('{"a" 1}');
    const mixed = parseEdn('{:a 1 "b" 2}');
    assert.ok(mixed instanceof Map);
    assert.equal(mixed.get(kw("a")), 1);
    assert.equal(mixed.get("b"), 2);
    roundTrip('{:a 1 "b" 2}', '{:a 1, "b" 2}');
    roundTrip('{1 :one, nil 2, [1 2] 3, {:a 1} 4, #{1} 5, 1.0 6, \\a 7}');
  });

  it("guards __proto__ keys", () => {
    const v = parseEdn("{:__proto__ {:polluted true}, :a 1}") as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.ok(Object.hasOwn(v, "__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
    roundTrip("{:__proto__ {:polluted true}, :a 1}");
  });

  it("rejects duplicate map keys and set elements, as Clojure does", () => {
    for (const bad of [
      "{:a 1 :a 2}",
      "{:__proto__ 1 :__proto__ 2}",
      '{"a" 1 "a" 2}',
      "{1 1 1 2}",
      "{[1 2] 1 [1 2] 2}",
      "{:a 1 \"b\" 2 :a 3}",
      "#{1 1}",
      "#{:a :a}",
      "#{[1] [1]}",
      '#{#uuid "3f2a1b00-0000-0000-0000-000000000000" #uuid "3F2A1B00-0000-0000-0000-000000000000"}',
      "#:ns{:a 1 :ns/a 2}",
    ]) {
      syntaxError(bad);
    }
    // Not duplicates: distinct keywords and distinct numeric types.
    assert.deepEqual(parseEdn("{:a 1 :b 1}"), { a: 1, b: 1 });
    assert.equal((parseEdn("#{1 1.0}") as EdnSet).size, 2);
  });

  it("writes Map keys as values and plain object keys as keywords where valid", () => {
    assert.equal(writeEdn(new Map<unknown, unknown>([["a", 1], [kw("b"), 2], [3, [4]]])), '{"a" 1, :b 2, 3 [4]}');
    assert.equal(writeEdn({ a: 1, "ns/b": 2 }), "{:a 1, :ns/b 2}");
    assert.equal(writeEdn({ "has space": 1, "": 2, "a/b/c": 3, "x:": 4, "a/1": 5, "[": 6 }), '{"has space" 1, "" 2, "a/b/c" 3, "x:" 4, "a/1" 5, "[" 6}');
    assert.equal(writeEdn({ a: undefined }), "{:a nil}");
    assert.equal(writeEdn(Object.assign(Object.create(null) as object, { a: 1 })), "{:a 1}");
  });

  it("reads namespaced maps #:ns{}", () => {
    assert.deepEqual(parseEdn("#:ns{:a 1 :_/b 2 :c/d 3}"), { "ns/a": 1, b: 2, "c/d": 3 });
    assert.deepEqual(parseEdn("#:ns {:a 1}"), { "ns/a": 1 });
    const m = parseEdn('#:ns{a 1 "s" 2}') as Map<EdnValue, EdnValue>;
    assert.equal(m.get(sym("ns/a")), 1);
    assert.equal(m.get("s"), 2);
    syntaxError("#::{:a 1}");
    syntaxError("#:ns[1]");
    syntaxError("#:a/b{:a 1}");
    syntaxError("#:{:a 1}");
  });

  it("treats commas as whitespace", () => {
    assert.deepEqual(parseEdn(",,[1,2,,3],"), [1, 2, 3]);
    assert.deepEqual(parseEdn("{:a,1,:b,2}"), { a: 1, b: 2 });
  });

  for (const bad of ["[1 2", "(1", "{:a 1", "#{1", "{:a}", "{:a 1 :b}", "[1 2)", "(]", "}", "]", ")", "[1 }"]) {
    it(`rejects ${bad}`, () => syntaxError(bad));
  }
});

describe("edn: tagged literals", () => {
  it("reads #inst in Clojure's print format, Z, offsets and reduced precision", () => {
    const table: [string, string][] = [
      ["2024-01-01T00:00:00.000-00:00", "2024-01-01T00:00:00.000Z"],
      ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"],
      ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"],
      ["2024-01-01T12:30:00.500+02:00", "2024-01-01T10:30:00.500Z"],
      ["2024-01-01T12:30-05:30", "2024-01-01T18:00:00.000Z"],
      ["2024-01-01", "2024-01-01T00:00:00.000Z"],
      ["2024-03", "2024-03-01T00:00:00.000Z"],
      ["2024", "2024-01-01T00:00:00.000Z"],
      ["2024-01-01T10", "2024-01-01T10:00:00.000Z"],
      ["2024-02-29T23:59:59.123456789Z", "2024-02-29T23:59:59.123Z"],
      ["2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.500Z"],
      ["2024-01-01T00:00:00.05Z", "2024-01-01T00:00:00.050Z"],
      ["2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"],
      ["0099-06-15", "0099-06-15T00:00:00.000Z"],
      ["0000-02-29", "0000-02-29T00:00:00.000Z"],
    ];
    for (const [text, iso] of table) {
      const v = parseEdn(`#inst "${text}"`);
      assert.ok(v instanceof Date, text);
      assert.equal(v.toISOString().replace(/^\+?0*(\d{4})/, "$1"), iso, text);
    }
  });

  it("writes Date the way Clojure prints java.util.Date", () => {
    assert.equal(writeEdn(new Date(Date.UTC(2024, 0, 1))), '#inst "2024-01-01T00:00:00.000-00:00"');
    assert.equal(writeEdn(new Date("2024-05-06T07:08:09.012Z")), '#inst "2024-05-06T07:08:09.012-00:00"');
    roundTrip('#inst "2024-01-01T00:00:00.000-00:00"');
    roundTrip('#inst "2024-01-01"', '#inst "2024-01-01T00:00:00.000-00:00"');
    roundTrip('#inst "2024-01-01T01:00:00+01:00"', '#inst "2024-01-01T00:00:00.000-00:00"');
    const early = parseEdn('#inst "0099-06-15"');
    assert.equal(writeEdn(early), '#inst "0099-06-15T00:00:00.000-00:00"');
    assert.throws(() => writeEdn(new Date(NaN)), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    assert.throws(() => writeEdn(new Date("+010000-01-01T00:00:00Z")), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });

  for (const bad of [
    "2024-13-01",
    "2024-00-01",
    "2023-02-29",
    "2024-01-32",
    "2024-01-01T24:00",
    "2024-01-01T00:60",
    "2024-01-01T00:00:60",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00+1:00",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01 00:00",
    "24-01-01",
    "2024-1-1",
    "2024-01-01t00:00",
    "2024-01-01T00:00:00z",
    "",
  ]) {
    it(`rejects #inst "${bad}"`, () => syntaxError(`#inst "${bad}"`));
  }
  it("rejects #inst of a non-string", () => syntaxError("#inst 1"));

  it("reads #uuid as Uuid, lower-cased", () => {
    const v = parseEdn('#uuid "3F2A1B00-1111-4222-8333-444455556666"');
    assert.ok(v instanceof Uuid);
    assert.equal(v.value, "3f2a1b00-1111-4222-8333-444455556666");
    roundTrip('#uuid "3f2a1b00-1111-4222-8333-444455556666"');
    assert.equal(writeEdn(new Uuid("3F2A1B00-1111-4222-8333-444455556666")), '#uuid "3f2a1b00-1111-4222-8333-444455556666"');
    syntaxError('#uuid "3f2a1b00"');
    syntaxError('#uuid "3f2a1b00-1111-4222-8333-44445555666g"');
    syntaxError('#uuid "3f2a1b0011114222833344445555666677"');
    syntaxError("#uuid 1");
  });

  it("reads unknown tags as Tagged and writes them back", () => {
    const v = parseEdn("#my/point [1 2]");
    assert.ok(v instanceof Tagged);
    assert.equal(v.tag, "my/point");
    assert.deepEqual(v.value, [1, 2]);
    roundTrip("#my/point [1 2]");
    roundTrip("#foo #bar 1");
    roundTrip("[#my/tag {:a 1} 2]");
    assert.equal(writeEdn(new Tagged("x/y", kw("z"))), "#x/y :z");
  });

  it("applies tag handlers, before the built-ins, without touching the prototype", () => {
    const opts = {
      tagHandlers: {
        "my/point": (v: EdnValue) => ({ x: (v as number[])[0], y: (v as number[])[1] }),
        inst: (v: EdnValue) => `inst:${String(v)}`,
        "my/undef": () => undefined,
      },
    };
    assert.deepEqual(parseEdn("#my/point [1 2]", opts), { x: 1, y: 2 });
    assert.equal(parseEdn('#inst "2024"', opts), "inst:2024");
    assert.equal(parseEdn("#my/undef 1", opts), null);
    assert.ok(parseEdn("#constructor 1", opts) instanceof Tagged);
    assert.ok(parseEdn("#toString 1", { tagHandlers: {} }) instanceof Tagged);
  });

  it("turns a throwing tag handler into CHSK_ERR_EDN_SYNTAX", () => {
    const boom = new Error("boom");
    const r = readEdn("[#my/bad 1]", {
      tagHandlers: {
        "my/bad": () => {
          throw boom;
        },
      },
    });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, "CHSK_ERR_EDN_SYNTAX");
      assert.equal(r.error.cause, boom);
      assert.equal(r.error.detail?.offset, 1);
    }
  });

  for (const bad of ["#", "#1 2", "#nil 1", "#+1 2", "#my/tag", "#<foo>", "#'a", "#=(+ 1 2)", "#?(:clj 1)", "#(inc %)", '#"re"', "# foo 1", "##Foo", "##", "#::a{}"]) {
    it(`rejects ${bad}`, () => syntaxError(bad));
  }
});

describe("edn: whitespace, comments, discard, metadata", () => {
  it("skips ; comments and #! lines", () => {
    assert.deepEqual(parseEdn("; hello\n[1 ; one\n 2] ; trailing"), [1, 2]);
    assert.deepEqual(parseEdn("#!shebang\n:a"), kw("a"));
    assert.deepEqual(parseEdn("[1 ;c\r2]"), [1, 2]);
  });

  it("discards #_ forms, nested too", () => {
    assert.deepEqual(parseEdn("[1 #_ 2 3]"), [1, 3]);
    assert.deepEqual(parseEdn("[1 #_[2 3] 4]"), [1, 4]);
    assert.deepEqual(parseEdn("#_ #_ 1 2 3"), 3);
    assert.deepEqual(parseEdn("[#_ #_ 1 2]"), []);
    assert.deepEqual(parseEdn("{:a #_ :b 1}"), { a: 1 });
    assert.deepEqual(parseEdn("#_{:a 1} [#_1]"), []);
    assert.deepEqual(parseEdn("[1 #_ ; comment\n 2]"), [1]);
    syntaxError("#_");
    syntaxError("[1 #_]");
    syntaxError("#_ 1");
  });

  it("skips Unicode whitespace as Java's Character.isWhitespace does", () => {
    assert.deepEqual(parseEdn("\u2028[1\u3000\u20002]\u2029"), [1, 2]);
    assert.deepEqual(parseEdn("\u001c:a\u001f"), kw("a"));
    // No-break spaces are not whitespace in Java: they belong to the symbol.
    assert.deepEqual(parseEdn("a\u00a0b"), sym("a\u00a0b"));
  });

  it("reads and drops metadata", () => {
    assert.deepEqual(parseEdn("^:private [1]"), [1]);
    assert.deepEqual(parseEdn("^{:a 1} sym"), sym("sym"));
    assert.deepEqual(parseEdn('^String x'), sym("x"));
    syntaxError("^1 x");
    syntaxError("^:a");
  });

  it("returns an error for non-string input from untyped callers", () => {
    for (const bad of [undefined, null, 1, new Uint8Array([0x31])]) {
      const r = readEdn(bad as unknown as string);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, "CHSK_ERR_EDN_SYNTAX");
    }
  });

  it("requires exactly one value", () => {
    syntaxError("");
    syntaxError("   ");
    syntaxError("; only a comment");
    syntaxError("1 2");
    syntaxError("[1] [2]");
    syntaxError("+[[:my/ev 1]]");
    assert.deepEqual(parseEdn("  [1]  \n"), [1]);
  });

  it("validates symbols and keywords like tools.reader", () => {
    for (const bad of [":", "::a", ":a:", ":a/", ":/a", ":a/1", "a/", "a:", "a/b/c", "/a", ":a:/b", "a/1"]) syntaxError(bad);
    assert.deepEqual(parseEdn(":/"), kw("/"));
    assert.deepEqual(parseEdn(":a:b"), kw("a:b"));
    assert.deepEqual(parseEdn("a#b"), sym("a#b"));
    assert.deepEqual(parseEdn("a'"), sym("a'"));
  });

  it("reports the offset of a syntax error", () => {
    assert.deepEqual(errorOf('[1 2 "abc'), { code: "CHSK_ERR_EDN_SYNTAX", offset: 5 });
    assert.deepEqual(errorOf("[1 }"), { code: "CHSK_ERR_EDN_SYNTAX", offset: 3 });
    assert.deepEqual(errorOf("[1 08]"), { code: "CHSK_ERR_EDN_SYNTAX", offset: 3 });
  });
});

describe("edn: limits", () => {
  it("fails a 100k-deep nesting bomb with CHSK_ERR_EDN_DEPTH, without blowing the stack", () => {
    for (const open of ["[", "(", "{:a ", "#{", "#_ ", "#t ", "^:m "]) {
      const bomb = open.repeat(100_000);
      assert.equal(errorOf(bomb).code, "CHSK_ERR_EDN_DEPTH", open);
    }
  });

  it("accepts exactly maxDepth levels", () => {
    const nest = (n: number): string => "[".repeat(n) + "]".repeat(n);
    assert.equal(readEdn(nest(64)).ok, true);
    assert.equal(errorOf(nest(65)).code, "CHSK_ERR_EDN_DEPTH");
    assert.equal(readEdn(nest(3), { maxDepth: 3 }).ok, true);
    assert.equal(errorOf(nest(4), { maxDepth: 3 }).code, "CHSK_ERR_EDN_DEPTH");
    assert.equal(errorOf("#inst \"2024\"", { maxDepth: 0 }).code, "CHSK_ERR_EDN_DEPTH");
    assert.equal(readEdn("1", { maxDepth: 0 }).ok, true);
  });

  it("survives a maxDepth larger than the JS stack", () => {
    const r = readEdn("[".repeat(200_000), { maxDepth: 1e9 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(["CHSK_ERR_EDN_DEPTH", "CHSK_ERR_EDN_SYNTAX"].includes(r.error.code));
  });

  it("fails oversize input with CHSK_ERR_FRAME_TOO_LARGE", () => {
    const big = '"' + "x".repeat(2 * 1024 * 1024) + '"';
    assert.equal(errorOf(big).code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(errorOf('"abcdef"', { maxBytes: 5 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(readEdn('"abc"', { maxBytes: 5 }).ok, true);
  });

  it("measures UTF-8 bytes exactly near the limit", () => {
    // 4 chars, 2 + 2 + 3 + 4 bytes = "é" "é" "€" "😀": 2+2+3+4 = 11, plus 2 quotes = 13
    const s = '"éé€😀"';
    assert.equal(readEdn(s, { maxBytes: 13 }).ok, true);
    assert.equal(errorOf(s, { maxBytes: 12 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(errorOf("[" + "é".repeat(10) + "]", { maxBytes: 21 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
  });
});

describe("edn: writer refusals", () => {
  const refused: [string, unknown][] = [
    ["function", () => 1],
    ["JS symbol", Symbol("x")],
    ["class instance", new (class Foo {})()],
    ["RegExp", /x/],
    ["Uint8Array", new Uint8Array(1)],
    ["nested function", { a: [1, () => 2] }],
    ["invalid date", new Date(NaN)],
  ];
  for (const [what, v] of refused) {
    it(`refuses a ${what}`, () => {
      assert.throws(() => writeEdn(v), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    });
  }

  it("refuses cyclic structures", () => {
    const a: unknown[] = [1];
    a.push(a);
    assert.throws(() => writeEdn(a), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    const o: Record<string, unknown> = {};
    o.self = o;
    assert.throws(() => writeEdn(o), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
    const m = new Map<unknown, unknown>();
    m.set(1, m);
    assert.throws(() => writeEdn(m), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });

  it("writes undefined as nil", () => {
    assert.equal(writeEdn(undefined), "nil");
    assert.equal(writeEdn([undefined, null]), "[nil nil]");
  });

  it("writes the whole value model", () => {
    const v = [
      kw("k"),
      sym("s"),
      new Char("c"),
      double(2),
      new BigDec("1.5"),
      new Ratio(1n, 3n),
      new Uuid("00000000-0000-0000-0000-000000000000"),
      new Date(0),
      new Tagged("t", [1]),
      List.from_([1]),
      new EdnSet([1]),
      new Map([[1, 2]]),
      { a: 1 },
      3n,
    ];
    assert.equal(
      writeEdn(v),
      '[:k s \\c 2.0 1.5M 1/3 #uuid "00000000-0000-0000-0000-000000000000" #inst "1970-01-01T00:00:00.000-00:00" #t [1] (1) #{1} {1 2} {:a 1} 3]',
    );
    roundTrip(writeEdn(v));
  });
});

describe("edn: packer", () => {
  const p = ednPacker();

  it("describes itself", () => {
    assert.equal(p.name, "edn");
    assert.equal(p.binary, false);
    assert.equal(p.keywordsAsStrings, false);
  });

  it("packs and unpacks strings and UTF-8 bytes", () => {
    const env = [[kw("my/ev"), { a: 1, s: "é😀" }], "3f2a1b"];
    const text = p.pack(env) as string;
    assert.equal(text, '[[:my/ev {:a 1, :s "é😀"}] "3f2a1b"]');
    assert.deepEqual(p.unpack(text), { ok: true, value: env });
    assert.deepEqual(p.unpack(new TextEncoder().encode(text)), { ok: true, value: env });
  });

  it("fails invalid UTF-8 with CHSK_ERR_UNPACK", () => {
    const r = p.unpack(new Uint8Array([0x5b, 0xff, 0x5d]));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, "CHSK_ERR_UNPACK");
  });

  it("respects DecodeLimits, per packer and per call", () => {
    const small = ednPacker({ limits: { maxBytes: 8, maxDepth: 2 } });
    const code = (r: ReturnType<typeof p.unpack>) => (r.ok ? "ok" : r.error.code);
    assert.equal(code(small.unpack("[[1]]")), "ok");
    assert.equal(code(small.unpack("[[[1]]]")), "CHSK_ERR_EDN_DEPTH");
    assert.equal(code(small.unpack('"123456789"')), "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(code(small.unpack(new TextEncoder().encode('"123456789"'))), "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(code(small.unpack("[[[1]]]", { maxDepth: 3 })), "ok");
    assert.equal(code(p.unpack("[[1]]", { maxDepth: 1 })), "CHSK_ERR_EDN_DEPTH");
    assert.equal(code(p.unpack(new TextEncoder().encode('"éé"'), { maxBytes: 5 })), "CHSK_ERR_FRAME_TOO_LARGE");
    assert.equal(code(p.unpack(new TextEncoder().encode('"éé"'), { maxBytes: 6 })), "ok");
  });

  it("passes tag handlers through", () => {
    const tp = ednPacker({ tagHandlers: { "my/n": (v) => Number(v) * 2 } });
    assert.deepEqual(tp.unpack("[#my/n 21]"), { ok: true, value: [42] });
  });

  it("throws CHSK_ERR_UNSUPPORTED_VALUE from pack", () => {
    assert.throws(() => p.pack([() => 1]), (e) => isChskError(e, "CHSK_ERR_UNSUPPORTED_VALUE"));
  });
});
