/**
 * Sente's `test-allow-origin?` and `test-valid-csrf-token?` (protocol.md §11),
 * plus the param/cookie parsers the checks rely on.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowOrigin, constantTimeEqual, SKIP_CSRF, validCsrfToken } from "../../src/server/index.js";
import { parseCookies, parseParams } from "../../src/server/request.js";

describe("allowOrigin (Sente test-allow-origin?)", () => {
  const site = ["http://site.com"] as const;
  it(":all passes", () => {
    assert.equal(allowOrigin("all", { origin: "http://evil.com" }), true);
    assert.equal(allowOrigin("all", {}), true);
  });
  it("an exact Origin passes", () => assert.equal(allowOrigin(site, { origin: "http://site.com" }), true));
  it("a Referer fallback passes", () => assert.equal(allowOrigin(site, { referer: "http://site.com/x" }), true));
  it("no headers fail", () => assert.equal(allowOrigin(site, {}), false));
  it("a wrong Origin fails (even with a good Referer)", () => {
    assert.equal(allowOrigin(site, { origin: "http://evil.com" }), false);
    assert.equal(allowOrigin(site, { origin: "http://evil.com", referer: "http://site.com/x" }), false);
  });
  it("a wrong Referer fails", () => assert.equal(allowOrigin(site, { referer: "http://evil.com/" }), false));
  it("the prefix-spoof Referer http://site.com.evil.com/ fails", () => {
    assert.equal(allowOrigin(site, { referer: "http://site.com.evil.com/" }), false);
    assert.equal(allowOrigin(site, { referer: "http://site.com" }), false, "needs the trailing slash");
  });
  it("an empty Origin is present, so it must match", () => assert.equal(allowOrigin(site, { origin: "", referer: "http://site.com/" }), false));
});

describe("validCsrfToken (Sente test-valid-csrf-token?)", () => {
  const req = (query: Record<string, string>, headers: Record<string, string> = {}, form?: Record<string, string>) => ({
    headers,
    query,
    ...(form ? { form } : {}),
  });
  it("a csrf-token param matches", () => assert.equal(validCsrfToken("tok", req({ "csrf-token": "tok" })), true));
  it("x-csrf-token and x-xsrf-token headers match", () => {
    assert.equal(validCsrfToken("tok", req({}, { "x-csrf-token": "tok" })), true);
    assert.equal(validCsrfToken("tok", req({}, { "x-xsrf-token": "tok" })), true);
  });
  it("a form param matches and wins over the query", () => {
    assert.equal(validCsrfToken("tok", req({ "csrf-token": "bad" }, {}, { "csrf-token": "tok" })), true);
  });
  it("the first token present wins, even if empty", () => {
    assert.equal(validCsrfToken("tok", req({ "csrf-token": "" }, { "x-csrf-token": "tok" })), false);
  });
  it("a mismatch fails", () => assert.equal(validCsrfToken("tok", req({ "csrf-token": "nope" })), false));
  it("a missing client token fails", () => assert.equal(validCsrfToken("tok", req({})), false));
  it("a missing reference token fails (null, undefined, empty)", () => {
    for (const ref of [null, undefined, ""]) assert.equal(validCsrfToken(ref, req({ "csrf-token": "" })), false);
  });
  it("a non-string reference fails without throwing", () => assert.equal(validCsrfToken(42, req({ "csrf-token": "42" })), false));
  it("SKIP_CSRF passes", () => assert.equal(validCsrfToken(SKIP_CSRF, req({})), true));
  it("constantTimeEqual", () => {
    assert.equal(constantTimeEqual("abc", "abc"), true);
    assert.equal(constantTimeEqual("abc", "abd"), false);
    assert.equal(constantTimeEqual("abc", "abcd"), false);
    assert.equal(constantTimeEqual("é", "é"), true);
  });
});

describe("parseParams / parseCookies", () => {
  it("decodes keys and values, + as space, first of repeated keys", () => {
    const p = parseParams("udt=1&client-id=a%20b&handshake%3F=1&ppstr=%5B%5B%3Amy%2Fev+%7B%3Aa+1%7D%5D+%3Aajax%5D&x=1&x=2&flag");
    assert.equal(p["client-id"], "a b");
    assert.equal(p["handshake?"], "1");
    assert.equal(p["ppstr"], "[[:my/ev {:a 1}] :ajax]");
    assert.equal(p["x"], "1");
    assert.equal(p["flag"], "");
  });
  it("keeps malformed escapes as sent, and __proto__ is just a key", () => {
    const p = parseParams("a=%E0%A4%A&__proto__=x");
    assert.equal(p["a"], "%E0%A4%A");
    assert.equal(p["__proto__"], "x");
    assert.equal("constructor" in p, false);
    assert.equal("toString" in p, false);
  });
  it("cookies", () => {
    const c = parseCookies('sid=abc; theme="dark"; enc=a%20b; bad');
    assert.deepEqual({ ...c }, { sid: "abc", theme: "dark", enc: "a b" });
    assert.deepEqual({ ...parseCookies(undefined) }, {});
  });
});
