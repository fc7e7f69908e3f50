/**
 * The proxy source's pure parts: the passive WebSocket frame reader (fed
 * hand-built frames, split at every byte), the header rules, and how an
 * answer body becomes a frame's data or a refusal's code.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { answerData, refusalCode } from "../../src/inspector/proxy/channel-sink.js";
import { requestHeaders, responseHeaders, rewriteLocation } from "../../src/inspector/proxy/headers.js";
import { type WsMessage, WsFrameReader } from "../../src/inspector/proxy/ws-frame-reader.js";
import { parseDeflate, WsObserver } from "../../src/inspector/proxy/ws-observer.js";

interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  mask?: boolean;
  rsv1?: boolean;
}

/** One frame's bytes (RFC 6455 §5.2), masked with a fixed key when `mask`. */
function frame({ opcode, payload = new Uint8Array(0), fin = true, mask = false, rsv1 = false }: FrameSpec): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const len = data.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  if (!mask) return Buffer.concat([head, data]);
  key.copy(head, 2 + ext);
  return Buffer.concat([head, Buffer.from(data.map((b, i) => b ^ key[i & 3]!))]);
}

const close = (code: number, reason: string, mask = false) => {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return frame({ opcode: 8, payload: body, mask });
};

interface Seen {
  messages: { opcode: number; text: string; size: number; compressed: boolean; tooLarge: boolean }[];
  closes: { code: number | undefined; reason: string }[];
  errors: string[];
}

function read(bytes: Buffer, max = 1 << 20, chunkSize = bytes.length): Seen {
  const seen: Seen = { messages: [], closes: [], errors: [] };
  const reader = new WsFrameReader(max, {
    message: (m: WsMessage) =>
      seen.messages.push({ opcode: m.opcode, text: m.payload.toString("latin1"), size: m.size, compressed: m.compressed, tooLarge: m.tooLarge }),
    close: (code, reason) => seen.closes.push({ code, reason }),
    error: (message) => seen.errors.push(message),
  });
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const chunk = bytes.subarray(i, i + chunkSize);
    const copy = Buffer.from(chunk);
    reader.push(chunk);
    assert.ok(chunk.equals(copy), "the reader never writes into the forwarded bytes");
  }
  return seen;
}

const msg = (text: string, opcode = 1, extra: Partial<Seen["messages"][number]> = {}) => ({
  opcode,
  text,
  size: Buffer.byteLength(text, "latin1"),
  compressed: false,
  tooLarge: false,
  ...extra,
});

describe("WsFrameReader", () => {
  const stream = Buffer.concat([
    frame({ opcode: 1, payload: '[[:my/ev {:a 1}] "3f2a1b"]', mask: true }),
    // A binary message in three fragments, a ping in the middle.
    frame({ opcode: 2, payload: "ab", fin: false, mask: true }),
    frame({ opcode: 9, payload: "ping?", mask: true }),
    frame({ opcode: 0, payload: "cd", fin: false, mask: true }),
    frame({ opcode: 0, payload: "ef", mask: true }),
    frame({ opcode: 1, payload: "x".repeat(300), mask: true }),
    frame({ opcode: 1, payload: "y".repeat(70_000), mask: true }),
    frame({ opcode: 1, payload: "", mask: true }),
    close(1000, "bye", true),
  ]);
  const want: Seen = {
    messages: [msg('[[:my/ev {:a 1}] "3f2a1b"]'), msg("abcdef", 2), msg("x".repeat(300)), msg("y".repeat(70_000)), msg("")],
    closes: [{ code: 1000, reason: "bye" }],
    errors: [],
  };

  test("reads masked frames whole, and split at every byte (lengths of 7, 16 and 64 bits; fragments; control frames between)", () => {
    assert.deepEqual(read(stream), want);
    assert.deepEqual(read(stream, 1 << 20, 1), want);
    assert.deepEqual(read(stream, 1 << 20, 7), want);
  });

  test("reads unmasked frames (server to client)", () => {
    const s2c = Buffer.concat([frame({ opcode: 1, payload: '[[:chsk/handshake ["alice" nil nil]] nil]' }), close(1001, "")]);
    assert.deepEqual(read(s2c, 1 << 20, 3), {
      messages: [msg('[[:chsk/handshake ["alice" nil nil]] nil]')],
      closes: [{ code: 1001, reason: "" }],
      errors: [],
    });
  });

  test("a message over the limit is skipped (counted, not kept) and the next one still read", () => {
    const s = Buffer.concat([
      frame({ opcode: 1, payload: "z".repeat(100), fin: false, mask: true }),
      frame({ opcode: 0, payload: "z".repeat(100), mask: true }),
      frame({ opcode: 1, payload: "ok", mask: true }),
    ]);
    assert.deepEqual(read(s, 150, 5).messages, [msg("", 1, { size: 200, tooLarge: true }), msg("ok")]);
  });

  test("RSV1 marks a compressed message; a close frame without a body has no code", () => {
    const s = Buffer.concat([frame({ opcode: 1, payload: "\x01\x02", rsv1: true }), frame({ opcode: 8 })]);
    const seen = read(s);
    assert.equal(seen.messages[0]!.compressed, true);
    assert.deepEqual(seen.closes, [{ code: undefined, reason: "" }]);
  });

  test("bytes that are not frames: reported once, then ignored; never a throw", () => {
    const bad = Buffer.concat([frame({ opcode: 1, payload: "fine" }), Buffer.from([0x83, 0x00]), frame({ opcode: 1, payload: "after" })]);
    const seen = read(bad, 1 << 20, 2);
    assert.deepEqual(seen.messages, [msg("fine")]);
    assert.deepEqual(seen.errors, ["unknown opcode 3"]);
    assert.deepEqual(read(frame({ opcode: 0, payload: "x" })).errors, ["continuation frame without a message to continue"]);
    assert.deepEqual(read(frame({ opcode: 9, payload: "p".repeat(126) })).errors, ["control frame of 126 bytes (at most 125)"]);
    const huge = Buffer.from([0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert.deepEqual(read(huge).errors, ["frame length over 2^53 bytes"]);
  });
});

describe("WsObserver", () => {
  test("a message read straight from the forwarded chunk is reported as a copy the listener may keep", () => {
    const seen: { dir: string; data: string | Uint8Array }[] = [];
    const obs = new WsObserver(1 << 20, null, {
      message: (dir, _at, data) => seen.push({ dir, data }),
      close: () => {},
      broken: () => {},
    });
    const chunk = Buffer.concat([frame({ opcode: 2, payload: new Uint8Array([1, 2, 3]) }), frame({ opcode: 1, payload: "hi" })]);
    obs.s2c(chunk);
    chunk.fill(0); // the socket's buffer, reused or not, is not the listener's
    obs.c2s(frame({ opcode: 1, payload: "masked", mask: true }));
    assert.deepEqual(seen, [
      { dir: "s2c", data: new Uint8Array([1, 2, 3]) },
      { dir: "s2c", data: "hi" },
      { dir: "c2s", data: "masked" },
    ]);
    obs.dispose();
  });
});

describe("permessage-deflate negotiation", () => {
  test("parseDeflate reads the 101's extensions header", () => {
    assert.equal(parseDeflate(undefined), null);
    assert.equal(parseDeflate("x-webkit-deflate-frame"), null);
    assert.deepEqual(parseDeflate("permessage-deflate; client_max_window_bits=15"), { serverNoContextTakeover: false, clientNoContextTakeover: false });
    assert.deepEqual(parseDeflate("foo, permessage-deflate; server_no_context_takeover; client_no_context_takeover"), {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    });
  });
});

describe("proxy headers", () => {
  const ctx = { targetHost: "127.0.0.1:8090", targetOrigin: "http://127.0.0.1:8090", preserveHost: false };
  const proxyOrigin = "http://localhost:9000";
  const req = (raw: string[]) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
    return { rawHeaders: raw, headers, socket: { remoteAddress: "127.0.0.1" } } as unknown as IncomingMessage;
  };

  test("the app sees its own host; Origin / Referer of the proxy become the target's; hop-by-hop headers stay", () => {
    const out = requestHeaders(
      req([
        "Host", "localhost:9000",
        "Connection", "keep-alive, X-Secret",
        "X-Secret", "hop",
        "Keep-Alive", "timeout=5",
        "Origin", "http://localhost:9000",
        "Referer", "http://localhost:9000/page",
        "Cookie", "a=b",
        "Cookie", "c=d",
        "X-Forwarded-For", "10.0.0.1",
        "Expect", "100-continue",
      ]),
      ctx,
      proxyOrigin,
      false,
    );
    assert.deepEqual(out, [
      "Host", "127.0.0.1:8090",
      "Origin", "http://127.0.0.1:8090",
      "Referer", "http://127.0.0.1:8090/page",
      "Cookie", "a=b",
      "Cookie", "c=d",
      "X-Forwarded-For", "10.0.0.1, 127.0.0.1",
      "X-Forwarded-Host", "localhost:9000",
      "X-Forwarded-Proto", "http",
    ]);
  });

  test("an upgrade keeps Upgrade and says Connection: Upgrade; a foreign Origin and preserveHost go as sent", () => {
    const raw = ["Host", "localhost:9000", "Connection", "Upgrade", "Upgrade", "websocket", "Origin", "http://evil.example", "Sec-WebSocket-Key", "k"];
    assert.deepEqual(requestHeaders(req(raw), ctx, proxyOrigin, true), [
      "Host", "127.0.0.1:8090",
      "Upgrade", "websocket",
      "Origin", "http://evil.example",
      "Sec-WebSocket-Key", "k",
      "Connection", "Upgrade",
      "X-Forwarded-For", "127.0.0.1",
      "X-Forwarded-Host", "localhost:9000",
      "X-Forwarded-Proto", "http",
    ]);
    const kept = requestHeaders(req(["Host", "localhost:9000", "Origin", proxyOrigin]), { ...ctx, preserveHost: true }, proxyOrigin, false);
    assert.deepEqual(kept.slice(0, 4), ["Host", "localhost:9000", "Origin", proxyOrigin]);
  });

  test("Location: the target's origin is pointed at the proxy; relative and foreign ones are kept", () => {
    const t = ctx.targetOrigin;
    assert.equal(rewriteLocation("/dashboard", t, proxyOrigin), "/dashboard");
    assert.equal(rewriteLocation("next?x=1", t, proxyOrigin), "next?x=1");
    assert.equal(rewriteLocation("http://127.0.0.1:8090/a?b=1#c", t, proxyOrigin), "http://localhost:9000/a?b=1#c");
    assert.equal(rewriteLocation("HTTP://127.0.0.1:8090", t, proxyOrigin), "http://localhost:9000");
    assert.equal(rewriteLocation("//127.0.0.1:8090/x", t, proxyOrigin), "http://localhost:9000/x");
    assert.equal(rewriteLocation("http://127.0.0.1:8091/x", t, proxyOrigin), "http://127.0.0.1:8091/x");
    assert.equal(rewriteLocation("https://127.0.0.1:8090/x", t, proxyOrigin), "https://127.0.0.1:8090/x");
  });

  test("response headers: hop-by-hop dropped, Set-Cookie and the rest kept in order and spelling", () => {
    const raw = ["Content-Type", "text/html", "Set-Cookie", "a=1; Path=/", "Connection", "keep-alive", "Transfer-Encoding", "chunked", "set-cookie", "b=2", "Location", "http://127.0.0.1:8090/x"].map(
      (s) => Buffer.from(s, "latin1"),
    );
    assert.deepEqual(responseHeaders(raw, ctx.targetOrigin, proxyOrigin), [
      "Content-Type", "text/html",
      "Set-Cookie", "a=1; Path=/",
      "set-cookie", "b=2",
      "Location", "http://localhost:9000/x",
    ]);
  });
});

describe("answer bodies and refusals", () => {
  test("text when it says text (or nothing) and is UTF-8; bytes otherwise; gzip inflated within the limit", () => {
    assert.deepEqual(answerData(Buffer.from("[:chsk/timeout nil]"), "text/plain; charset=utf-8", undefined, 100), { data: "[:chsk/timeout nil]" });
    assert.deepEqual(answerData(Buffer.from("[1]"), undefined, undefined, 100), { data: "[1]" });
    assert.deepEqual(answerData(Buffer.from([0x92, 0xc0, 0xc0]), undefined, undefined, 100), { data: new Uint8Array([0x92, 0xc0, 0xc0]) });
    assert.deepEqual(answerData(Buffer.from("[1]"), "application/octet-stream", undefined, 100), { data: new Uint8Array(Buffer.from("[1]")) });
    assert.deepEqual(answerData(gzipSync("[[:a/b 1]] nil]"), "text/plain", "gzip", 100), { data: "[[:a/b 1]] nil]" });
    const big = answerData(gzipSync("x".repeat(1000)), "text/plain", "gzip", 100);
    assert.equal("error" in big && big.error.code, "CHSK_ERR_FRAME_TOO_LARGE");
    const odd = answerData(Buffer.from("x"), "text/plain", "compress", 100);
    assert.equal("error" in odd && odd.error.code, "CHSK_ERR_UNPACK");
  });

  test("refusal codes: chsk's CODE: prefix, Sente's default bodies, else none", () => {
    assert.equal(refusalCode("Bad CSRF token"), "CHSK_ERR_BAD_CSRF");
    assert.equal(refusalCode("Unauthorized origin"), "CHSK_ERR_BAD_ORIGIN");
    assert.equal(refusalCode("Unauthorized request"), "CHSK_ERR_UNAUTHORIZED");
    assert.equal(refusalCode("CHSK_ERR_TOO_MANY_POLLS: too many polls"), "CHSK_ERR_TOO_MANY_POLLS");
    assert.equal(refusalCode("slow down"), undefined);
  });
});
