import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appendQuery, encoreUrlEncode, formatQuery, resolveEndpoints } from "../../src/core/client/url.js";

describe("client URLs and query strings", () => {
  it("encore url-encode: encodeURIComponent plus * → %2A", () => {
    assert.equal(encoreUrlEncode("a*b c/d?e"), "a%2Ab%20c%2Fd%3Fe");
  });

  it("formatQuery keeps order, drops nil, optionally skips keys, and picks the encoder", () => {
    assert.equal(formatQuery({ a: 1, b: null, c: true, "d*": "x*" }), "a=1&c=true&d%2A=x%2A");
    assert.equal(formatQuery({ a: 1, "d*": "x*" }, false), "a=1&d*=x*");
    assert.equal(formatQuery({ "client-id": "x", a: 1 }, true, new Set(["client-id"])), "a=1");
    assert.equal(formatQuery({ "handshake?": 1 }, false), "handshake%3F=1");
  });

  it("appendQuery respects an existing query", () => {
    assert.equal(appendQuery("http://h/p", "a=1"), "http://h/p?a=1");
    assert.equal(appendQuery("http://h/p?x=1", "a=1"), "http://h/p?x=1&a=1");
    assert.equal(appendQuery("http://h/p?", "a=1"), "http://h/p?a=1");
    assert.equal(appendQuery("http://h/p", ""), "http://h/p");
  });

  it("derives ws/ajax endpoints", () => {
    assert.deepEqual(resolveEndpoints("http://h:1/chsk"), { ws: "ws://h:1/chsk", ajax: "http://h:1/chsk" });
    assert.deepEqual(resolveEndpoints("https://h/chsk?x=1#frag"), { ws: "wss://h/chsk?x=1", ajax: "https://h/chsk?x=1" });
    assert.deepEqual(resolveEndpoints("wss://h/chsk"), { ws: "wss://h/chsk", ajax: "https://h/chsk" });
    assert.deepEqual(resolveEndpoints("/chsk", "https://site.com/app/page"), { ws: "wss://site.com/chsk", ajax: "https://site.com/chsk" });
    assert.throws(() => resolveEndpoints("/chsk"), TypeError);
    assert.throws(() => resolveEndpoints("file:///chsk"), TypeError);
  });
});
