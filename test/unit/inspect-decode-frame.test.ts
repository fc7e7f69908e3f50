/**
 * `decodeFrame` (src/core/inspect/decode-frame.ts): the one stateless
 * reading of a frame, shared by the inspector's decoder and the dashboard
 * feed. On real Sente 1.22 traffic (every packer) it gives each frame the
 * fields the decoder puts on its record; the same frame always reads the
 * same; and nothing a peer or a packer does makes it throw.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { decodeFrame, type DecodedFrame } from "../../src/core/inspect/decode-frame.js";
import { createFrameDecoder } from "../../src/core/inspect/frame-decoder.js";
import type { FrameRecord } from "../../src/core/inspect/types.js";
import { ednPacker, jsonPacker, packerByName, type Packer, type PackerName } from "../../src/core/packers/index.js";
import { encodeClientEvent, encodeHandshake, encodeLpTimeout, encodePong, encodePush, encodeReply } from "../../src/core/protocol/codec.js";
import { ok } from "../../src/core/protocol/errors.js";
import { capturedRuns } from "./inspect-fixtures.js";

/** The record fields a frame's decoding sets (the rest is pairing and stitching). */
const FIELDS = ["bytes", "raw", "binary", "packer", "envelope", "eventId", "cbId", "data", "events", "error", "status"] as const;

const pick = (x: DecodedFrame | FrameRecord) => Object.fromEntries(FIELDS.filter((k) => x[k] !== undefined).map((k) => [k, x[k]]));

describe("decodeFrame", () => {
  for (const run of capturedRuns()) {
    it(`reads every frame of the ${run.packer} capture as the decoder's record says`, () => {
      const packer = packerByName(run.packer as PackerName);
      const decoder = createFrameDecoder({ packer });
      let frames = 0;
      let refined = 0;
      for (const ev of run.events) {
        const rec: FrameRecord = decoder.push(ev);
        if (ev.type !== "frame") continue;
        frames++;
        const d: DecodedFrame = decodeFrame(ev, packer, { maxBytes: 16 * 1024 * 1024, maxDepth: 64 });
        const where = `${run.packer} seq ${rec.seq} (${rec.kind})`;
        assert.deepEqual(pick(d), pick(rec), where);
        if (d.kind === "handshake") assert.equal(d.uid, rec.uid, where);
        // Only pairing refines the kind: a "pong" answering a pending call is its reply (and a pending ping's answer its pong).
        if (d.kind !== rec.kind) {
          assert.ok(d.replyTo !== undefined && ["reply", "pong"].includes(d.kind) && ["reply", "pong"].includes(rec.kind), where);
          refined++;
        }
      }
      assert.ok(frames > 0, "the capture has frames");
      assert.ok(refined <= 1, `${refined} kinds refined by pairing`);
    });
  }

  it("says what pairing needs: the cb id a call's reply will carry, the cb id a reply answers", () => {
    const p = ednPacker();
    const call = decodeFrame({ dir: "c2s", channel: "ws", data: encodeClientEvent(p, ["demo/echo", 1], "cb-7") }, p);
    assert.deepEqual([call.kind, call.eventId, call.cbId, call.callId], ["event", "demo/echo", "cb-7", "cb-7"]);
    const noReply = decodeFrame({ dir: "c2s", channel: "ws", data: encodeClientEvent(p, ["demo/echo", 1], null) }, p);
    assert.deepEqual([noReply.kind, noReply.cbId, noReply.callId], ["event", null, undefined]);
    const post = decodeFrame({ dir: "c2s", channel: "post", data: encodeClientEvent(p, ["demo/echo"], "ajax") }, p);
    assert.deepEqual([post.kind, post.cbId, post.callId], ["event", ":ajax", "ajax"]);
    const ping = decodeFrame({ dir: "c2s", channel: "ws", data: encodeClientEvent(p, ["chsk/ws-ping"], "cb-8") }, p);
    assert.deepEqual([ping.kind, ping.callId], ["ping", "cb-8"]);
    const reply = decodeFrame({ dir: "s2c", channel: "ws", data: encodeReply(p, { a: 1 }, "cb-7") }, p);
    assert.deepEqual([reply.kind, reply.replyTo, reply.data], ["reply", "cb-7", "{:a 1}"]);
    const pong = decodeFrame({ dir: "s2c", channel: "ws", data: encodePong(p, "cb-8") }, p);
    assert.deepEqual([pong.kind, pong.replyTo], ["pong", "cb-8"]);
    // An Ajax POST's answer carries no cb id: its exchange pairs it.
    const value = decodeFrame({ dir: "s2c", channel: "post-reply", data: encodeReply(p, [["demo/x"]], null) }, p);
    assert.deepEqual([value.kind, value.replyTo], ["reply", undefined]);
    const hs = decodeFrame({ dir: "s2c", channel: "poll", data: encodeHandshake(p, null) }, p);
    assert.deepEqual([hs.kind, hs.eventId, hs.uid], ["handshake", "chsk/handshake", ":sente/nil-uid"]);
    const timeout = decodeFrame({ dir: "s2c", channel: "poll", data: encodeLpTimeout(p) }, p);
    assert.deepEqual([timeout.kind, timeout.eventId], ["timeout", "chsk/timeout"]);
  });

  it("reads a frame the same however often and with whatever else in between (no state)", () => {
    const edn = ednPacker();
    const json = jsonPacker();
    const batch = { dir: "s2c", channel: "ws", data: encodePush(edn, [["demo/a", 1], ["demo/b"]]) } as const;
    const first = decodeFrame(batch, edn);
    decodeFrame({ dir: "s2c", channel: "ws", data: encodeReply(json, "x", "c") }, json);
    decodeFrame({ dir: "c2s", channel: "ws", data: "[[:demo/x" }, edn);
    assert.deepEqual(decodeFrame(batch, edn), first);
    assert.deepEqual(first.events, [{ eventId: "demo/a", data: "1" }, { eventId: "demo/b" }]);
  });

  it("never throws: unreadable data, no packer, HTTP errors, capture errors, a packer that throws", () => {
    const p = ednPacker();
    const throwing: Packer = {
      ...p,
      unpack: () => {
        throw new Error("boom");
      },
    };
    const cases: [DecodedFrame, string][] = [
      [decodeFrame({ dir: "c2s", channel: "ws", data: 42 as unknown as string }, p), "CHSK_ERR_UNPACK"],
      [decodeFrame({ dir: "c2s", channel: "ws", data: "[[:demo/x" }, p), "CHSK_ERR_EDN_SYNTAX"],
      [decodeFrame({ dir: "s2c", channel: "poll", data: "<html><title>Bad gateway</title></html>" }, undefined), "CHSK_ERR_NOT_SENTE"],
      [decodeFrame({ dir: "s2c", channel: "poll", data: "oops", status: 502 }, p), "CHSK_ERR_HTTP_STATUS"],
      [decodeFrame({ dir: "c2s", channel: "ws", data: "", error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: "too big" } }, p), "CHSK_ERR_FRAME_TOO_LARGE"],
      [decodeFrame({ dir: "s2c", channel: "ws", data: encodeReply(p, 1, "c") }, throwing), "CHSK_ERR_UNPACK"],
      [decodeFrame({ dir: "c2s", channel: "ws", data: new Uint8Array([0xff, 0x00, 0xfe]) }, p), "CHSK_ERR_UNPACK"],
    ];
    for (const [d, code] of cases) assert.deepEqual([d.kind, d.error?.code], ["bad", code], JSON.stringify(d));
    assert.match(cases[5]![0].error!.message, /decoder failed: boom/);
    assert.equal(cases[6]![0].binary, true, "bytes that are not UTF-8 are kept as base64");
    // A frame the packer reads but that is no Sente message is bad too, not a throw.
    const notEnvelope = decodeFrame({ dir: "s2c", channel: "ws", data: p.pack({ a: 1 }) }, { ...p, unpack: () => ok(Symbol("x")) });
    assert.equal(notEnvelope.kind, "bad");
  });
});
