/**
 * The Node client's frame reader: plain data frames are read off the
 * socket's chunks, every other byte goes to `ws`'s receiver, in order, and
 * however the stream is cut into chunks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FrameReader, MAX_DIRECT_PAYLOAD } from "../../src/core/client/ws-input.node.js";
import { wsFrame } from "../integration/ws-wire.js";

interface Spec {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

const frameBytes = (f: Spec): Buffer => wsFrame(f.opcode, f.payload, { fin: f.fin, rsv: f.rsv, mask: f.masked && Buffer.from([1, 2, 3, 4]) });

type Event = { direct: "text" | "binary"; data: string } | { pass: string };

/** What the reader must do with these frames: the oracle, written from the rules in ws-input.node.ts. */
function expected(frames: Spec[], maxPayload: number): Event[] {
  const out: Event[] = [];
  let fragmented = false;
  let closed = false;
  for (const f of frames) {
    const direct =
      !closed && f.fin && f.rsv === 0 && (f.opcode === 1 || f.opcode === 2) && !f.masked && !fragmented &&
      f.payload.length <= MAX_DIRECT_PAYLOAD && f.payload.length <= maxPayload &&
      (f.opcode === 2 || Buffer.from(f.payload.toString("utf8"), "utf8").equals(f.payload));
    if (direct) {
      out.push(f.opcode === 1 ? { direct: "text", data: f.payload.toString("utf8") } : { direct: "binary", data: f.payload.toString("hex") });
      continue;
    }
    const last = out.at(-1);
    const hex = frameBytes(f).toString("hex");
    if (last !== undefined && "pass" in last) last.pass += hex;
    else out.push({ pass: hex });
    if (closed) continue;
    if (f.opcode === 8) closed = true;
    else if (f.opcode < 8) fragmented = !f.fin;
  }
  return out;
}

/** `failOnMasked`: the sink's `ws` fails the connection once a masked frame is passed to it. */
function run(stream: Buffer, cuts: number[], maxPayload: number, failOnMasked = false): Event[] {
  const got: Event[] = [];
  let failed = false;
  const reader = new FrameReader(
    {
      text: (data) => got.push({ direct: "text", data }),
      binary: (data) => got.push({ direct: "binary", data: data.toString("hex") }),
      passOn: (bytes) => {
        if (bytes.length === 0) return;
        if (failOnMasked && bytes.length >= 2 && (bytes[1]! & 0x80) !== 0) failed = true;
        const last = got.at(-1);
        if (last !== undefined && "pass" in last) last.pass += bytes.toString("hex");
        else got.push({ pass: bytes.toString("hex") });
      },
      open: () => !failed,
    },
    maxPayload,
  );
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    reader.push(stream.subarray(at, c));
    at = c;
  }
  return got;
}

const text = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => Buffer.from(s, "utf8"));
const invalidUtf8 = fc.constantFrom(Buffer.from([0xc3]), Buffer.from([0xff, 0x61]), Buffer.from([0xed, 0xa0, 0x80]));
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const big = fc.constantFrom(126, 300, 70_000).map((n) => Buffer.alloc(n, 0x61));
const specArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constant(1), masked: fc.constant(false), payload: text }) },
  { weight: 2, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constant(2), masked: fc.constant(false), payload: bytes }) },
  { weight: 1, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constant(1), masked: fc.constant(false), payload: invalidUtf8 }) },
  { weight: 1, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constantFrom(1, 2), masked: fc.constant(false), payload: big }) },
  { weight: 2, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constantFrom(9, 10), masked: fc.constant(false), payload: bytes }) },
  { weight: 2, arbitrary: fc.record({ fin: fc.boolean(), rsv: fc.constant(0), opcode: fc.constantFrom(0, 1, 2), masked: fc.constant(false), payload: text }) },
  { weight: 1, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constantFrom(0, 4), opcode: fc.constantFrom(1, 2), masked: fc.boolean(), payload: text }) },
  { weight: 1, arbitrary: fc.record({ fin: fc.constant(true), rsv: fc.constant(0), opcode: fc.constant(8), masked: fc.constant(false), payload: fc.constant(Buffer.from([0x03, 0xe8])) }) },
);

describe("client frame reader (ws-input.node.ts)", () => {
  it("delivers plain data frames itself and passes every other byte on, in order, however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(specArb, { maxLength: 25, size: "max" }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom(100 * 1024 * 1024, 200),
        (frames, rawCuts, maxPayload) => {
          const stream = Buffer.concat(frames.map(frameBytes));
          const cuts = [...new Set(rawCuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
          assert.deepEqual(run(stream, cuts, maxPayload), expected(frames, maxPayload));
        },
      ),
      { numRuns: 800 },
    );
  });

  it("a frame cut at every byte boundary comes out whole", () => {
    const frames: Spec[] = [
      { fin: true, rsv: 0, opcode: 1, masked: false, payload: Buffer.from('[42 "3f2a1b"]') },
      { fin: true, rsv: 0, opcode: 1, masked: false, payload: Buffer.from("é".repeat(200)) },
      { fin: true, rsv: 0, opcode: 9, masked: false, payload: Buffer.from("ping") },
      { fin: true, rsv: 0, opcode: 2, masked: false, payload: Buffer.from([1, 2, 3]) },
    ];
    const stream = Buffer.concat(frames.map(frameBytes));
    for (let i = 0; i <= stream.length; i++) {
      for (const j of [i, Math.min(stream.length, i + 1), Math.min(stream.length, i + 7)]) {
        assert.deepEqual(run(stream, [...new Set([i, j])], 1e8), expected(frames, 1e8), `cut at ${i} and ${j}`);
      }
    }
  });

  it("once `ws` has failed the connection over a frame passed on, the frames after it go to `ws` too", () => {
    const plain: Spec = { fin: true, rsv: 0, opcode: 1, masked: false, payload: Buffer.from("[1 nil]") };
    const bad: Spec = { fin: true, rsv: 0, opcode: 1, masked: true, payload: Buffer.from("x") };
    const frames = [plain, bad, plain, plain];
    const stream = Buffer.concat(frames.map(frameBytes));
    for (const cuts of [[], [3], [frameBytes(plain).length + 2], [stream.length - 1]]) {
      assert.deepEqual(run(stream, cuts, 1e8, true), [
        { direct: "text", data: "[1 nil]" },
        { pass: Buffer.concat([bad, plain, plain].map(frameBytes)).toString("hex") },
      ]);
    }
  });
});
