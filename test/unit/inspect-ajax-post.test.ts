/**
 * Reading Sente Ajax requests (src/core/inspect/ajax-post.ts) on the
 * captured POSTs and GETs of a real Sente 1.22 server: the packed message
 * the server decoded, for every packer, form over query, binary? bodies.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { readAjaxPost, readAjaxQuery } from "../../src/core/inspect/ajax-post.js";
import { decodeClientMessage } from "../../src/core/protocol/codec.js";
import { packerByName, type PackerName } from "../../src/core/packers/index.js";
import { bytesOf, headerOf, stepsOf } from "./sente-captured-fixture.js";

describe("readAjaxPost on captured POSTs", () => {
  const posts = stepsOf("http").filter(({ step }) => step.request.method === "POST" && step.request.target.startsWith("/chsk"));

  it("covers text and binary POSTs", () => {
    assert.ok(posts.some(({ step }) => step.request.target.includes("binary%3F")));
    assert.ok(posts.some(({ step }) => step.request.body?.text?.includes("ppstr=")));
  });

  for (const { ex, step, index } of posts) {
    if (step.request.body === null || step.response.status !== 200) continue;
    it(`${ex.id} step ${index}: the message Sente read`, () => {
      const body = new Uint8Array(bytesOf(step.request.body!));
      const r = readAjaxPost(body, headerOf(step.request.headers, "content-type"), step.request.target);
      assert.ok(!("error" in r), JSON.stringify(r));
      assert.match(r.clientId ?? "", /^cid-/);
      const packer = packerByName(ex.packer as PackerName);
      assert.equal(r.binary, packer.binary);
      const m = decodeClientMessage(packer, r.packed);
      assert.ok(m.ok, `${ex.id}: ${m.ok ? "" : m.error.message}`);
      assert.equal(m.value.wantsReply, ex.id.includes("no-cb") ? false : true);
    });
  }

  it("a text-style form POST to a binary packer yields ppstr text (the server's unpack then fails)", () => {
    const post = posts.find(({ ex }) => ex.id === "12.5/post-text-form")!;
    const r = readAjaxPost(post.step.request.body!.text!, "application/x-www-form-urlencoded;charset=UTF-8", post.step.request.target);
    assert.ok(!("error" in r));
    assert.equal(r.packed, "[[:demo/echo 5] :ajax]");
    assert.equal(r.binary, false);
  });
});

describe("readAjaxPost rules", () => {
  it("form params win over query params (Ring's merge)", () => {
    const r = readAjaxPost("ppstr=%5B%5B%3Aa%2Fb%5D%20nil%5D&client-id=form", undefined, "/chsk?client-id=query&ppstr=ignored");
    assert.ok(!("error" in r));
    assert.equal(r.packed, "[[:a/b] nil]");
    assert.equal(r.clientId, "form");
  });

  it("ppstr from the query when the body has none", () => {
    const r = readAjaxPost("", undefined, "?client-id=q&ppstr=%5B%5B%3Aa%2Fb%5D%5D");
    assert.ok(!("error" in r));
    assert.equal(r.packed, "[[:a/b]]");
    assert.equal(r.clientId, "q");
  });

  it("a body that is not a form is not read as one when a content type says so", () => {
    const r = readAjaxPost("ppstr=x", "application/json", "client-id=c");
    assert.ok("error" in r);
    assert.match(r.error, /application\/json/);
    const lenient = readAjaxPost("ppstr=x", undefined, "client-id=c");
    assert.ok(!("error" in lenient) && lenient.packed === "x");
  });

  it("binary? in the query: the raw body, bytes or text as given", () => {
    const bytes = new Uint8Array([0x92, 0xc0, 0xc0]);
    const r = readAjaxPost(bytes, "application/octet-stream", "udt=1&client-id=c1&binary%3F=true");
    assert.ok(!("error" in r));
    assert.equal(r.packed, bytes);
    assert.equal(r.binary, true);
    assert.equal(r.clientId, "c1");
    const t = readAjaxPost("[[:a/b] nil]", undefined, { "binary?": "", "client-id": "c2" });
    assert.ok(!("error" in t) && t.packed === "[[:a/b] nil]" && t.clientId === "c2");
  });

  it("no message: an error, never a throw; blank client ids are absent", () => {
    const r = readAjaxPost("udt=1&client-id=%20", undefined, "");
    assert.ok("error" in r);
    assert.match(r.error, /ppstr/);
    assert.equal(r.form?.["udt"], "1");
    const ok = readAjaxPost("ppstr=x&client-id=%20", undefined, "");
    assert.ok(!("error" in ok) && ok.clientId === undefined);
  });

  it("malformed escapes are kept as sent", () => {
    const r = readAjaxPost("ppstr=%E0%A4%A&client-id=c", undefined, "");
    assert.ok(!("error" in r) && r.packed === "%E0%A4%A");
  });
});

describe("readAjaxQuery", () => {
  it("reads captured GET targets", () => {
    const gets = stepsOf("http").filter(({ step }) => step.request.method === "GET" && step.request.target.includes("client-id=cid-ajax"));
    assert.ok(gets.length > 3);
    for (const { step } of gets) {
      const q = readAjaxQuery(step.request.target);
      assert.equal(q.clientId?.startsWith("cid-ajax"), true);
      assert.equal(q.handshake, step.request.target.includes("handshake%3F"));
      assert.equal(q.binary, false);
      assert.equal(typeof q.udt, "number");
    }
  });

  it("URLs, paths and bare queries; presence-only flags; fragments dropped", () => {
    assert.deepEqual(readAjaxQuery("http://h:1/chsk?client-id=a&handshake%3F=false#x"), { clientId: "a", handshake: true, binary: false });
    assert.deepEqual(readAjaxQuery("?binary%3F&udt=17"), { handshake: false, binary: true, udt: 17 });
    assert.deepEqual(readAjaxQuery("client-id=a?b"), { clientId: "a?b", handshake: false, binary: false });
    assert.deepEqual(readAjaxQuery("/chsk"), { handshake: false, binary: false });
    assert.deepEqual(readAjaxQuery("/chsk?csrf-token=t&udt=x"), { handshake: false, binary: false, csrfToken: "t" });
  });
});
