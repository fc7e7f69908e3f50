/** Pure pieces of the CLI and the reference app: flag parsers, cookie jar, token scraping, EVENT parsing, sessions, log lines. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "commander";
import { formatEvent, parseEventArg } from "../../src/cli/call.js";
import { collectHeader, collectParam, parseChskUrl, parseOrigins, parsePort, parsePositiveInt } from "../../src/cli/options.js";
import { CookieJar, scrapeCsrfToken } from "../../src/cli/session.js";
import { ChskError } from "../../src/core/protocol/errors.js";
import { createLogger } from "../../src/server/demo/logger.js";
import { SessionStore, sessionCookie } from "../../src/server/demo/sessions.js";

test("parsePort / parsePositiveInt", () => {
  assert.equal(parsePort("0"), 0);
  assert.equal(parsePort("8090"), 8090);
  for (const bad of ["-1", "65536", "80a", "", "1.5"]) assert.throws(() => parsePort(bad), InvalidArgumentError);
  assert.equal(parsePositiveInt("5000"), 5000);
  for (const bad of ["0", "-3", "x"]) assert.throws(() => parsePositiveInt(bad), InvalidArgumentError);
});

test("parseOrigins keeps exact origins", () => {
  assert.deepEqual(parseOrigins("https://site.com, http://localhost:3000/x"), ["https://site.com", "http://localhost:3000"]);
  assert.equal(parseOrigins("all"), "all");
  assert.throws(() => parseOrigins("not a url"), InvalidArgumentError);
  assert.throws(() => parseOrigins(","), InvalidArgumentError);
});

test("collectParam / collectHeader accumulate", () => {
  assert.deepEqual(collectParam("b=2=3", collectParam("a=1")), { a: "1", b: "2=3" });
  assert.throws(() => collectParam("=x"), InvalidArgumentError);
  assert.deepEqual(collectHeader("Origin: http://x", collectHeader("X-A:1")), { "X-A": "1", Origin: "http://x" });
  assert.throws(() => collectHeader("no colon"), InvalidArgumentError);
});

test("parseChskUrl: ws(s) → http(s), a bare origin gets /chsk", () => {
  assert.equal(parseChskUrl("ws://h:1").href, "http://h:1/chsk");
  assert.equal(parseChskUrl("wss://h/app/chsk?x=1").href, "https://h/app/chsk?x=1");
  assert.equal(parseChskUrl("http://h:2/sock").href, "http://h:2/sock");
  assert.throws(() => parseChskUrl("ftp://h"), InvalidArgumentError);
  assert.throws(() => parseChskUrl("nope"), InvalidArgumentError);
});

test("parseEventArg reads EDN and validates the event", () => {
  assert.deepEqual(parseEventArg("[:demo/echo {:a 1}]"), ["demo/echo", { a: 1 }]);
  assert.deepEqual(parseEventArg("[:demo/whoami]"), ["demo/whoami"]);
  const syntax = parseEventArg("[:demo/echo");
  assert.ok(syntax instanceof ChskError && syntax.code === "CHSK_ERR_EDN_SYNTAX");
  const bad = parseEventArg("[:echo 1]");
  assert.ok(bad instanceof ChskError && bad.code === "CHSK_ERR_BAD_EVENT");
  assert.equal(formatEvent(["demo/hello", { n: 1 }]), "[:demo/hello {:n 1}]");
  assert.equal(formatEvent(["demo/hi"]), "[:demo/hi]");
});

test("CookieJar: initial cookies, Set-Cookie updates and expiry", () => {
  const jar = new CookieJar("a=1; b=2");
  jar.update(["b=3; Path=/; HttpOnly", "c=4", "a=; Max-Age=0", "d=5; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
  assert.equal(jar.header(), "b=3; c=4");
  assert.equal(new CookieJar().header(), undefined);
});

test("scrapeCsrfToken: Sente's data attribute, meta tags, anti-forgery fields", () => {
  assert.equal(scrapeCsrfToken('<div id="sente-csrf-token" data-csrf-token="abc+/=="></div>'), "abc+/==");
  assert.equal(scrapeCsrfToken('<meta name="csrf-token" content="t&amp;1">'), "t&1");
  assert.equal(scrapeCsrfToken("<meta content='m2' name='csrf-token'>"), "m2");
  assert.equal(scrapeCsrfToken('<input type="hidden" name="__anti-forgery-token" value="f&#x2B;3">'), "f+3");
  assert.equal(scrapeCsrfToken("<p>nothing</p>"), undefined);
});

test("SessionStore: signed, fresh tokens, logout revokes, cookie attributes", () => {
  const store = new SessionStore({ secret: "0123456789abcdef0123" });
  const a = store.create("a");
  const b = store.create(null);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrfToken, b.csrfToken);
  assert.deepEqual(store.get(a.id), a);
  assert.equal(new SessionStore({ secret: "another-secret-0123456" }).get(a.id), undefined, "other key");
  assert.equal(store.get(a.id.slice(0, -2) + "xx"), undefined, "tampered");
  assert.equal(store.delete(a.id), true);
  assert.equal(store.get(a.id), undefined, "logged out");
  assert.equal(sessionCookie(b), `chsk-session=${b.id}; Path=/; HttpOnly; SameSite=Lax`);
  assert.match(sessionCookie(null), /^chsk-session=; .*Max-Age=0$/);
  assert.throws(() => new SessionStore({ secret: "short" }), RangeError);
});

test("logger: text and JSON lines", () => {
  const lines: string[] = [];
  const now = () => new Date(0);
  createLogger({ write: (l) => lines.push(l), now }).info("conn:open", { uid: "alice", client: "c 1", code: undefined });
  createLogger({ format: "json", write: (l) => lines.push(l), now }).warn("oops", { error: new Error("bad") });
  assert.equal(lines[0], '1970-01-01T00:00:00.000Z info  conn:open uid=alice client="c 1"');
  assert.deepEqual(JSON.parse(lines[1]!), { time: "1970-01-01T00:00:00.000Z", level: "warn", msg: "oops", error: { message: "bad" } });
});
