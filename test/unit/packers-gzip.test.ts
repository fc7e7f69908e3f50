/**
 * Sente's gzip wrapper: protocol.md §3.5's vector, every frame of
 * captured-frames §13 (gzip+edn) and §14 (gzip+msgpack) read both ways and
 * the server's written byte for byte (Java's GZIPOutputStream frames
 * included), the 1024-byte threshold, Java and node gzip, and the guards:
 * corrupt gzip, text input, and gzip bombs stopped after ~maxBytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";

import { kw, writeEdn } from "../../src/core/edn/index.js";
import { gunzipBounded } from "../../src/core/packers/gunzip-bounded.js";
import {
  ednPacker,
  gzipPacker,
  jsonPacker,
  msgpackPacker,
  PACKER_NAMES,
  type Packer,
  packerByName,
  transitPacker,
} from "../../src/core/packers/index.js";
import { BIG, bytesOf, CAPTURED, type CapturedFrame, ednOf, hexOf } from "./packers-captured.js";

const gzEdn = gzipPacker(ednPacker());
const gzMsgpack = gzipPacker(msgpackPacker());
const packerFor = (f: CapturedFrame): Packer => (f.packer === "gzip+edn" ? gzEdn : gzMsgpack);

const unpackOk = (pk: Packer, b: Uint8Array): unknown => {
  const r = pk.unpack(b);
  if (!r.ok) assert.fail(`unpack failed: ${r.error.code} ${r.error.message}`);
  return r.value;
};
const unpackErr = (pk: Packer, b: Uint8Array | string, limits?: { maxBytes?: number }) => {
  const r = pk.unpack(b, limits);
  assert.equal(r.ok, false);
  return (r as { ok: false; error: { code: string; detail?: Record<string, unknown> } }).error;
};
const withFlag = (flag: number, body: Uint8Array) => {
  const out = new Uint8Array(body.length + 1);
  out[0] = flag;
  out.set(body, 1);
  return out;
};

describe("gzip wrapper: names and protocol.md §3.5", () => {
  it("gz+EDN of [[:my/ev {:a 1}] nil] is 00 + its UTF-8", () => {
    assert.equal(
      hexOf(gzEdn.pack([[kw("my/ev"), { a: 1 }], null]) as Uint8Array),
      "00 5b 5b 3a 6d 79 2f 65 76 20 7b 3a 61 20 31 7d 5d 20 6e 69 6c 5d",
    );
  });

  it("gzip+edn, gzip+msgpack, gzip+transit are binary packers by name", () => {
    for (const name of ["gzip+edn", "gzip+msgpack", "gzip+transit"] as const) {
      assert.ok(PACKER_NAMES.includes(name));
      const pk = packerByName(name);
      assert.equal(pk.name, name);
      assert.equal(pk.binary, true);
      assert.equal(pk.keywordsAsStrings, false);
      const v = [[kw("my/ev"), { a: 1, s: "x".repeat(2000) }], "3f2a1b"];
      assert.equal(writeEdn(unpackOk(pk, pk.pack(v) as Uint8Array)), writeEdn(v));
    }
    assert.equal(gzipPacker(jsonPacker()).keywordsAsStrings, true);
    assert.equal(gzipPacker(transitPacker({ verbose: true })).name, "gzip+transit");
  });
});

describe("gzip wrapper: captured-frames §13 (gzip+edn) and §14 (gzip+msgpack)", () => {
  for (const f of CAPTURED.filter((x) => x.packer !== "msgpack")) {
    it(`${f.id} ${f.packer}: reads as the capture says${f.dir === "server" ? " and is written byte for byte" : ""}`, () => {
      const pk = packerFor(f);
      const v = unpackOk(pk, bytesOf(f.hex));
      assert.equal(writeEdn(v), ednOf(f));
      if (f.dir === "server") assert.equal(hexOf(pk.pack(v) as Uint8Array), f.hex);
    });
  }

  it("the >1024-byte echo: node-zlib client frame in, Java GZIPOutputStream server frame out, byte for byte", () => {
    for (const packer of ["gzip+edn", "gzip+msgpack"] as const) {
      const [client, server] = CAPTURED.filter((x) => x.packer === packer && x.big);
      assert.ok(client && server && client.dir === "client" && server.dir === "server");
      assert.equal(client.hex.slice(0, 2), "01");
      const pk = packerFor(client);
      const [[, data], cb] = unpackOk(pk, bytesOf(client.hex)) as [[unknown, string], string];
      assert.equal(data, BIG);
      assert.equal(hexOf(pk.pack([data, cb]) as Uint8Array), server.hex);
    }
  });
});

describe("gzip wrapper: writing", () => {
  it("compresses only from 1024 inner bytes; the flag says which", () => {
    const raw = gzipPacker(jsonPacker());
    // JSON of a string of n-2 characters is n bytes.
    const at = (n: number) => raw.pack("x".repeat(n - 2)) as Uint8Array;
    assert.equal(at(1023)[0], 0x00);
    assert.equal(at(1023).length, 1024);
    assert.equal(at(1024)[0], 0x01);
    assert.ok(at(1024).length < 100);
    assert.equal(unpackOk(raw, at(1024)), "x".repeat(1022));
    const never = gzipPacker(jsonPacker(), { minCompressBytes: Infinity });
    assert.equal((never.pack("x".repeat(5000)) as Uint8Array)[0], 0x00);
  });

  it("writes Java's gzip header (no mtime, OS ff) and a trailer that node's zlib verifies", async () => {
    const { gunzipSync } = await import("node:zlib");
    for (const level of [1, 6, 9] as const) {
      const pk = gzipPacker(ednPacker(), { level });
      const v = ["y".repeat(3000), 1, 2, 3];
      const out = pk.pack(v) as Uint8Array;
      assert.equal(hexOf(out.subarray(0, 11)), "01 1f 8b 08 00 00 00 00 00 00 ff");
      assert.equal(gunzipSync(out.subarray(1)).toString("utf8"), writeEdn(v));
    }
  });
});

describe("gzip wrapper: reading", () => {
  it("any flag other than 01 is raw, as in Sente", () => {
    const body = new TextEncoder().encode("[:chsk/ws-ping nil]");
    for (const flag of [0x00, 0x02, 0x1f, 0xff]) assert.equal(writeEdn(unpackOk(gzEdn, withFlag(flag, body))), "[:chsk/ws-ping nil]");
  });

  it("reads node zlib's and headers with FNAME/FEXTRA/FHCRC", () => {
    const text = `[[:my/ev "${"z".repeat(1200)}"] nil]`;
    assert.equal(writeEdn(unpackOk(gzEdn, withFlag(1, gzipSync(text)))), text);
    const std = gzipSync(text);
    // Rebuild with FEXTRA (2 bytes), FNAME "f", FHCRC (not checked, as Java doesn't by default).
    const header = Uint8Array.of(0x1f, 0x8b, 0x08, 0x04 | 0x08 | 0x02, 0, 0, 0, 0, 0, 0x03, 2, 0, 0xaa, 0xbb, 0x66, 0x00, 0x12, 0x34);
    const framed = new Uint8Array(header.length + std.length - 10);
    framed.set(header);
    framed.set(std.subarray(10), header.length);
    assert.equal(writeEdn(unpackOk(gzEdn, withFlag(1, framed))), text);
  });

  it("text, an empty frame and corrupt gzip → CHSK_ERR_UNPACK", () => {
    assert.equal(unpackErr(gzEdn, "[:chsk/ws-ping nil]").code, "CHSK_ERR_UNPACK");
    assert.equal(unpackErr(gzEdn, new Uint8Array(0)).code, "CHSK_ERR_UNPACK");
    const good = gzEdn.pack(["q".repeat(2000)]) as Uint8Array;
    assert.equal(good[0], 1);
    const corrupt: [string, Uint8Array][] = [
      ["too short", good.subarray(0, 12)],
      ["truncated", good.subarray(0, good.length - 3)],
      ["bad magic", Uint8Array.from(good, (b, i) => (i === 1 ? 0 : b))],
      ["bad method", Uint8Array.from(good, (b, i) => (i === 3 ? 7 : b))],
      ["bad CRC", Uint8Array.from(good, (b, i) => (i === good.length - 6 ? b ^ 0xff : b))],
      ["bad length", Uint8Array.from(good, (b, i) => (i === good.length - 4 ? b ^ 0x01 : b))],
      ["bad stream", Uint8Array.from(good, (b, i) => (i === 11 ? 0xff : b))],
      ["not gzip", withFlag(1, new TextEncoder().encode("[:chsk/ws-ping nil] and some padding"))],
    ];
    for (const [why, b] of corrupt) assert.equal(unpackErr(gzEdn, b).code, "CHSK_ERR_UNPACK", why);
    // The inner packer's own errors come through.
    assert.equal(unpackErr(gzMsgpack, Uint8Array.of(0, 0xc1)).code, "CHSK_ERR_UNPACK");
    assert.equal(unpackErr(gzEdn, withFlag(0, new TextEncoder().encode("[1"))).code, "CHSK_ERR_EDN_SYNTAX");
  });

  it("maxBytes applies after inflating: a small frame that inflates past it is refused", () => {
    const frame = gzMsgpack.pack(["w".repeat(10_000)]) as Uint8Array;
    assert.ok(frame.length < 200);
    assert.equal(unpackErr(gzMsgpack, frame, { maxBytes: 5000 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
    assert.ok(gzMsgpack.unpack(frame, { maxBytes: 10_010 }).ok);
    // Raw frames: the inner packer applies it.
    const raw = gzEdn.pack(["v".repeat(500)]) as Uint8Array;
    assert.equal(unpackErr(gzEdn, raw, { maxBytes: 100 }).code, "CHSK_ERR_FRAME_TOO_LARGE");
    const limited = gzipPacker(ednPacker(), { limits: { maxBytes: 100 } });
    assert.equal(unpackErr(limited, raw).code, "CHSK_ERR_FRAME_TOO_LARGE");
  });

  it("a gzip bomb is refused with CHSK_ERR_FRAME_TOO_LARGE without inflating it all", () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20));
    assert.ok(bomb.length < 100_000);
    const maxBytes = 1 << 20;
    const r = gunzipBounded(bomb, maxBytes);
    assert.ok(!r.ok && r.error.code === "CHSK_ERR_FRAME_TOO_LARGE");
    const inflated = r.error.detail!["inflated"] as number;
    assert.ok(inflated > maxBytes && inflated < maxBytes + 70_000, `inflated ${inflated} bytes of 64 MiB`);
    // A trailer that lies about the size changes nothing.
    const liar = Buffer.from(bomb);
    liar.writeUInt32LE(100, liar.length - 4);
    const r2 = gunzipBounded(liar, 4096);
    assert.ok(!r2.ok && r2.error.code === "CHSK_ERR_FRAME_TOO_LARGE");
    assert.ok((r2.error.detail!["inflated"] as number) < 4096 + 70_000);
    // Through the packer.
    assert.equal(unpackErr(gzMsgpack, withFlag(1, bomb)).code, "CHSK_ERR_FRAME_TOO_LARGE");
  });

  it("fuzz: random bytes after a 01 flag, and flipped bytes in gzip frames, never throw", () => {
    const codes = new Set(["CHSK_ERR_UNPACK", "CHSK_ERR_EDN_DEPTH", "CHSK_ERR_FRAME_TOO_LARGE", "CHSK_ERR_EDN_SYNTAX"]);
    const safely = (pk: Packer, b: Uint8Array) => {
      let r: ReturnType<Packer["unpack"]>;
      try {
        r = pk.unpack(b, { maxBytes: 1 << 16 });
      } catch (e) {
        assert.fail(`threw on ${hexOf(b)}: ${String(e)}`);
      }
      if (!r.ok) assert.ok(codes.has(r.error.code), r.error.code);
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        safely(gzMsgpack, withFlag(1, b));
        safely(gzEdn, withFlag(1, b));
      }),
      { numRuns: 5000 },
    );
    const frames = CAPTURED.filter((f) => f.big).map((f) => bytesOf(f.hex));
    frames.push(gzipSync(Buffer.alloc(20_000, 0x61)));
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (f, flips) => {
        const b = Uint8Array.from(f);
        for (const [i, x] of flips) b[1 + (i % (b.length - 1))] = x;
        b[0] = 1;
        safely(gzMsgpack, b);
        safely(gzEdn, b);
      }),
      { numRuns: 5000 },
    );
  });
});
