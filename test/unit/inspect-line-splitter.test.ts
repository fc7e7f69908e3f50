/**
 * The attach source's line reading: `\n`-terminated UTF-8 lines from
 * chunks cut anywhere (inside a character too), an over-long line kept
 * only by its ends, and such a line read back as the frame it was.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LongLine, LineSplitter } from "../../src/inspector/sources/line-splitter.js";
import { longFrame } from "../../src/inspector/sources/long-frame.js";

function split(chunks: Uint8Array[], maxLineBytes: number) {
  const lines: string[] = [];
  const long: LongLine[] = [];
  const s = new LineSplitter({ maxLineBytes, onLine: (l) => void lines.push(l), onLongLine: (l) => void long.push(l), headBytes: 16, tailBytes: 8 });
  for (const c of chunks) s.push(c);
  return { lines, long, pending: s.pending };
}

/** `text` cut into chunks of `n` bytes. */
const chunked = (text: string, n: number): Uint8Array[] => {
  const b = Buffer.from(text, "utf8");
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
};

describe("LineSplitter", () => {
  it("lines whole, whatever the chunking, multi-byte characters included; the unfinished one waits", () => {
    const text = 'é{"a":"ü€𝄞"}\n\nsecond\r\nthird-unfinished';
    for (const n of [1, 2, 3, 5, 7, 64]) {
      const r = split(chunked(text, n), 1024);
      assert.deepEqual(r.lines, ['é{"a":"ü€𝄞"}', "", "second\r"], `chunks of ${n}`);
      assert.equal(r.pending, Buffer.byteLength("third-unfinished"));
    }
  });

  it("a line over the limit: its size and ends only, then the next line as usual", () => {
    const big = `HEAD-0123456789abcdef${"x".repeat(200)}-TAIL-end`;
    for (const n of [1, 10, 1000]) {
      const r = split(chunked(`${big}\nok\n`, n), 64);
      assert.deepEqual(r.lines, ["ok"], `chunks of ${n}`);
      assert.equal(r.long.length, 1);
      assert.deepEqual(r.long[0], { bytes: big.length, head: "HEAD-0123456789a", tail: "TAIL-end" });
    }
    // Exactly at the limit is still a line.
    assert.deepEqual(split([Buffer.from("abcd\n")], 4).lines, ["abcd"]);
    assert.equal(split([Buffer.from("abcde\n")], 4).long.length, 1);
  });

  it("a long line going by is counted, not kept; reset() forgets it", () => {
    const s = new LineSplitter({ maxLineBytes: 100, onLine: () => {}, onLongLine: () => {} });
    for (let i = 0; i < 1000; i++) s.push(Buffer.alloc(1000, 0x61));
    // Counted, not kept: the splitter's pieces were dropped at the limit.
    assert.equal(s.pending, 1_000_000);
    assert.equal(s.reset(), 1_000_000);
    assert.equal(s.pending, 0);
  });
});

describe("longFrame", () => {
  const frame = (data: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: "frame", at: 5, dir: "s2c", transport: "ajax", channel: "poll", connId: "get-9", clientId: "c", uid: '"u"', data, ...extra });

  it("rebuilds a frame's fields from the line's ends, with its flags and the data's size", () => {
    const data = "A".repeat(4000);
    const line = frame(data, { binary: true, handshake: true, status: 200 });
    const f = longFrame({ bytes: line.length, head: line.slice(0, 300), tail: line.slice(-100) }, 1000)!;
    assert.deepEqual(
      [f.type, f.at, f.dir, f.transport, f.channel, f.connId, f.clientId, f.uid, f.data, f.handshake, f.status, f.bytes, f.error?.code],
      ["frame", 5, "s2c", "ajax", "poll", "get-9", "c", '"u"', "", true, 200, 3000, "CHSK_ERR_FRAME_TOO_LARGE"],
    );
    const text = frame(`a\\"},"status":7}${"b".repeat(100)}`);
    const t = longFrame({ bytes: text.length, head: text.slice(0, 300), tail: text.slice(-40) }, 10)!;
    assert.equal(t.status, undefined, "a field-like text inside the data is data");
    assert.equal(t.bytes, JSON.stringify(`a\\"},"status":7}${"b".repeat(100)}`).length - 2);
  });

  it("null for a line that is not a frame, or whose start is unreadable", () => {
    const open = JSON.stringify({ type: "open", at: 1, transport: "ws", connId: "ws-1", data: "x" });
    assert.equal(longFrame({ bytes: open.length, head: open, tail: "" }, 1), null);
    assert.equal(longFrame({ bytes: 10_000, head: "<html>".repeat(10), tail: "" }, 1), null);
    assert.equal(longFrame({ bytes: 10_000, head: '{"type":"frame",,"data":"', tail: "" }, 1), null);
  });
});
