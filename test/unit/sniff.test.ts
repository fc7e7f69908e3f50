/**
 * `sniffFrame`: every server payload a real Sente 1.22 server sent
 * (fixtures/sente-1.22/exchanges.json, each packer it was captured with),
 * every frame chsk's own packers write, and the non-Sente bodies a wrong
 * URL answers with, are recognised for what they are.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { PACKER_NAMES, packerByName } from "../../src/core/packers/index.js";
import { isWireFormat, packerWireFormat, readsFormat, sniffFrame } from "../../src/core/packers/sniff.js";
import { encodeHandshake, encodeLpTimeout, encodePush, encodeReply, encodeServerPing } from "../../src/core/protocol/codec.js";
import { kw } from "../../src/core/edn/values.js";

interface Payload {
  text?: string;
  hex?: string;
}
interface Step {
  type: string;
  payload?: Payload;
  request?: { method: string; target: string };
  response?: { status: number; body: Payload | null } | null;
}
interface Exchange {
  id: string;
  packer: string;
  steps: Step[];
}

const fixture = JSON.parse(readFileSync(new URL("../../fixtures/sente-1.22/exchanges.json", import.meta.url), "utf8")) as { exchanges: Exchange[] };
const bytesOf = (p: Payload): Uint8Array => (p.hex !== undefined ? Buffer.from(p.hex, "hex") : new TextEncoder().encode(p.text ?? ""));

/** What the server sent on /chsk: WS frames, and the bodies of Ajax answers. */
function serverPayloads(): Array<{ id: string; packer: string; status: number; payload: Payload }> {
  const out: Array<{ id: string; packer: string; status: number; payload: Payload }> = [];
  for (const ex of fixture.exchanges) {
    for (const s of ex.steps) {
      if (s.type === "recv" && s.payload) out.push({ id: ex.id, packer: ex.packer, status: 200, payload: s.payload });
      const body = s.response?.body;
      if (s.type === "http" && body && s.request!.target.startsWith("/chsk")) out.push({ id: ex.id, packer: ex.packer, status: s.response!.status, payload: body });
    }
  }
  return out;
}

describe("sniffFrame on a real Sente 1.22 server's payloads", () => {
  const payloads = serverPayloads();

  it("covers every packer the fixture was captured with", () => {
    assert.deepEqual([...new Set(payloads.map((p) => p.packer))].sort(), ["edn", "gzip+edn", "gzip+msgpack", "msgpack", "transit"]);
  });

  for (const p of payloads) {
    const label = `${p.id} (${p.packer}, HTTP ${p.status})`;
    if (p.status === 200) {
      it(`${label}: ${p.packer}, an envelope`, () => {
        const s = sniffFrame(bytesOf(p.payload));
        const expected = packerWireFormat(p.packer)!;
        assert.ok(readsFormat(expected, s.format), `sniffed ${s.format}, expected ${expected}`);
        // A compressed payload (flag 01) only says "gzip".
        assert.equal(s.format, p.payload.hex?.startsWith("011f8b") ? "gzip" : expected);
        assert.equal(s.envelope, true);
        // Text packers' frames arrive as strings, too.
        if (p.payload.text !== undefined) assert.deepEqual(sniffFrame(p.payload.text), s);
      });
    } else {
      it(`${label}: a refusal is text, not a packer's output`, () => {
        const s = sniffFrame(bytesOf(p.payload));
        assert.equal(s.format, "text");
        assert.equal(s.envelope, false);
        assert.ok(s.excerpt.length > 0 && s.excerpt.length <= 80, s.excerpt);
      });
    }
  }

  it("binary payloads read as text by a text packer (U+FFFD, NUL) are still told apart", () => {
    const lossy = (hex: string) => new TextDecoder().decode(Buffer.from(hex, "hex"));
    const hs = payloads.find((p) => p.id === "12.1/ws-handshake")!;
    assert.equal(sniffFrame(lossy(hs.payload.hex!)).format, "msgpack");
    const gzEdn = payloads.find((p) => p.id === "13.1/ws-handshake")!;
    assert.equal(sniffFrame(lossy(gzEdn.payload.hex!)).format, "gzip+edn");
  });
});

describe("sniffFrame on chsk's own packers", () => {
  for (const name of PACKER_NAMES) {
    it(`${name}: handshake, push, reply, ping, timeout`, () => {
      const packer = packerByName(name);
      const expected = packerWireFormat(name);
      assert.ok(expected !== undefined, `sniff.ts does not know the packer ${name}: add its wire format`);
      const frames = [
        encodeHandshake(packer, "alice", { hello: "world" }),
        encodeHandshake(packer, null),
        encodePush(packer, [["demo/n", 1], ["demo/n", { a: [1, 2] }]]),
        encodeReply(packer, { ok: true, n: 1.5, k: kw("x") }, "3f2a1b"),
        encodeServerPing(packer),
        encodeLpTimeout(packer),
      ];
      for (const f of frames) {
        const s = sniffFrame(f);
        assert.ok(readsFormat(expected, s.format), `${name}: sniffed ${s.format} for ${String(f)}`);
        assert.equal(s.envelope, true, `${name}: ${String(f)}`);
      }
    });
  }
});

describe("sniffFrame on what a wrong URL answers", () => {
  const cases: Array<[string, string | Uint8Array, string, boolean, string]> = [
    ["an HTML page", "<!DOCTYPE html>\n<html><head><title>My &amp; App</title></head><body><h1>Hi</h1></body></html>", "html", false, "My & App"],
    ["an HTML error page without a title", "<html><body><h1>404 Not Found</h1><hr><center>nginx</center></body></html>", "html", false, "404 Not Found"],
    ["a plain-text 404", "Not Found", "text", false, "Not Found"],
    ["a bare word (a symbol to EDN)", "Unauthorized", "text", false, "Unauthorized"],
    ["a JSON API object", '{"uptimeMs":12,"packer":"edn"}', "json", false, '{"uptimeMs":12,"packer":"edn"}'],
    ["a socket.io open packet", '0{"sid":"abc","upgrades":[],"pingInterval":25000}', "text", false, '0{"sid":"abc","upgrades":[],"pingInterval":25000}'],
    ["an empty body", "", "empty", false, ""],
    ["whitespace", " \n ", "empty", false, ""],
    ["random bytes", Uint8Array.of(0xff, 0xfe, 0x00, 0x41), "binary", false, "ff fe 00 41"],
    ["plain gzip (no Sente flag byte)", Uint8Array.of(0x1f, 0x8b, 0x08, 0x00), "binary", false, "1f 8b 08 00"],
    ["Sente ≤1.17's prefixed EDN", '-[:chsk/handshake ["alice" nil]]', "edn", true, '-[:chsk/handshake ["alice" nil]]'],
    ["an EDN map (not an envelope)", '{:error "nope"}', "edn", false, '{:error "nope"}'],
  ];
  for (const [what, data, format, envelope, excerpt] of cases) {
    it(what, () => {
      const s = sniffFrame(data);
      assert.deepEqual(s, { format, envelope, excerpt });
    });
  }

  it("excerpts are one line of at most 80 chars", () => {
    const s = sniffFrame(`${"x".repeat(200)}\nsecond line`);
    assert.equal(s.excerpt.length, 80);
    assert.ok(s.excerpt.endsWith("…"));
  });

  it("a body cut short (an HTTP error's first KiB) is judged by its tokens", () => {
    assert.equal(sniffFrame('[[:chsk/handshake ["alice" nil ni').format, "edn");
    assert.equal(sniffFrame('[["~:chsk/handshake",["alice",nu').format, "transit");
  });

  it("is total: arbitrary input never throws", () => {
    for (let i = 0; i < 2000; i++) {
      const n = (i * 7919) % 64;
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 17) & 0xff;
      const s = sniffFrame(b);
      assert.equal(typeof s.format, "string");
      sniffFrame(new TextDecoder().decode(b));
    }
  });

  it("isWireFormat / packerWireFormat / readsFormat", () => {
    assert.equal(isWireFormat("html"), false);
    assert.equal(isWireFormat("gzip"), true);
    assert.equal(packerWireFormat("transit-verbose"), "transit");
    assert.equal(packerWireFormat("yaml"), undefined);
    assert.equal(readsFormat("gzip+msgpack", "gzip"), true);
    assert.equal(readsFormat("edn", "gzip"), false);
    assert.equal(readsFormat("edn", "gzip+edn"), false);
  });
});
