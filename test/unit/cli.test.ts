/** Pure pieces of the CLI and the reference app: flag parsers, cookie jar, token scraping, EVENT parsing, sessions, log lines. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "commander";
import { formatEvent, parseEventArg } from "../../src/cli/call.js";
import { collectHeader, collectParam, parseChskUrl, parseOrigins, parsePort, parsePositiveInt } from "../../src/cli/options.js";
import { describeAnswer, diagnoseFrame, diagnoseRefusal, errorCodeOf, networkReason, shortAnswer } from "../../src/cli/diagnose.js";
import { toJsonText } from "../../src/cli/json-value.js";
import { browseUrl, startHints } from "../../src/cli/serve.js";
import { sniffFrame } from "../../src/core/packers/sniff.js";
import { BigDec, Char, double, EdnSet, kw, List, Ratio, sym, Tagged, Uuid } from "../../src/core/edn/values.js";
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

test("parseChskUrl: ws(s) → http(s) (remembered), a bare origin gets /chsk, no scheme means http", () => {
  const ws = parseChskUrl("ws://h:1");
  assert.equal(ws.url.href, "http://h:1/chsk");
  assert.equal(ws.ws, true);
  assert.equal(parseChskUrl("wss://h/app/chsk?x=1").url.href, "https://h/app/chsk?x=1");
  const http = parseChskUrl("http://h:2/sock");
  assert.equal(http.url.href, "http://h:2/sock");
  assert.equal(http.ws, false);
  assert.equal(parseChskUrl("localhost:8090").url.href, "http://localhost:8090/chsk");
  assert.equal(parseChskUrl("127.0.0.1:8090/app/chsk").url.href, "http://127.0.0.1:8090/app/chsk");
});

test("parseChskUrl names what is wrong: the port, the scheme, the host", () => {
  const message = (v: string) => {
    try {
      parseChskUrl(v);
    } catch (e) {
      assert.ok(e instanceof InvalidArgumentError);
      return e.message;
    }
    assert.fail(`${v} was accepted`);
  };
  // `new URL` refuses these with "Invalid URL"; the port is the problem, not the scheme.
  assert.equal(message("http://127.0.0.1:99999/chsk"), "port 99999 is out of range (1-65535)");
  assert.equal(message("ws://127.0.0.1:70000"), "port 70000 is out of range (1-65535)");
  assert.equal(message("http://h:0/chsk"), "port 0 is out of range (1-65535)");
  assert.equal(message("http://h:8o8o/chsk"), 'port "8o8o" is not a number');
  assert.equal(message("ftp://h"), "unsupported scheme ftp://: expected http(s):// or ws(s)://");
  assert.match(message("http:///chsk"), /^no host/);
  assert.match(message("/chsk"), /^no host/);
  assert.match(message(""), /^missing URL/);
  assert.equal(message("http://a b/"), 'invalid host "a b"');
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

const CSRF = { noSession: false, tokenGiven: false, tokenSent: true };
const URL_ = "http://127.0.0.1:8080/chsk";

test("describeAnswer / shortAnswer: one short line, never the whole page", () => {
  const page = `<!doctype html><html><head><title>404 Not Found</title></head><body>${"<p>x</p>".repeat(500)}</body></html>`;
  assert.equal(describeAnswer(404, page, "text/html; charset=utf-8"), '404 text/html ("404 Not Found")');
  assert.equal(describeAnswer(404, ""), "404 (empty body)");
  assert.equal(shortAnswer(403, "Bad CSRF token"), "HTTP 403 Bad CSRF token");
  assert.equal(shortAnswer(400, '{"error":"uid must be a non-empty string"}', "application/json"), "HTTP 400 uid must be a non-empty string");
  assert.equal(shortAnswer(404, page, "text/html"), 'HTTP 404 text/html ("404 Not Found")');
});

test("diagnoseRefusal: a page, a 404, a 405 or a redirect is not a Sente endpoint", () => {
  for (const [status, body, type] of [
    [404, "<html><title>Not Found</title></html>", "text/html"],
    [404, "Not Found", "text/plain"],
    [405, "Method Not Allowed", undefined],
    [302, "", undefined],
    [200, "<!doctype html><title>My SPA</title>", "text/html"],
    [500, "<html><body><h1>Whitelabel Error Page</h1></body></html>", "text/html"],
  ] as const) {
    const d = diagnoseRefusal(URL_, status, body, type, CSRF);
    assert.equal(d.code, "CHSK_ERR_NOT_SENTE", `${status} ${body}`);
    assert.ok(d.message.startsWith(`${URL_} answered ${status}`), d.message);
    assert.ok(d.message.endsWith("— not a Sente endpoint; is the path right? (chsk serve uses /chsk)"), d.message);
    assert.ok(!d.message.includes("<"), d.message);
  }
  assert.equal(
    diagnoseRefusal(URL_, 404, "<html><head><title>Not Found</title></head></html>", "text/html", CSRF).message,
    `${URL_} answered 404 text/html ("Not Found") — not a Sente endpoint; is the path right? (chsk serve uses /chsk)`,
  );
});

test("diagnoseRefusal: Sente's own refusals get their code and a hint that fits how the token was got", () => {
  const csrf = (c: Partial<typeof CSRF>) => diagnoseRefusal(URL_, 403, "Bad CSRF token", "text/plain", { ...CSRF, ...c });
  assert.equal(csrf({}).code, "CHSK_ERR_BAD_CSRF");
  assert.match(csrf({}).message, /^refused: HTTP 403 Bad CSRF token; .*--login/);
  assert.match(csrf({ noSession: true, tokenSent: false }).message, /drop --no-session/);
  assert.match(csrf({ tokenGiven: true }).message, /--csrf-token given/);
  assert.match(csrf({ tokenSent: false }).message, /no token was found/);
  assert.equal(diagnoseRefusal(URL_, 403, "Unauthorized origin", undefined, CSRF).code, "CHSK_ERR_BAD_ORIGIN");
  assert.match(diagnoseRefusal(URL_, 403, "Unauthorized origin", undefined, CSRF).message, /--header 'Origin: /);
  assert.equal(diagnoseRefusal(URL_, 401, "Unauthorized request", undefined, CSRF).code, "CHSK_ERR_UNAUTHORIZED");
  // chsk servers name the code in the body.
  assert.deepEqual(diagnoseRefusal(URL_, 503, "CHSK_ERR_SERVER_CLOSED: server is closing", "text/plain", CSRF), {
    message: "refused: HTTP 503 CHSK_ERR_SERVER_CLOSED: server is closing",
    code: "CHSK_ERR_SERVER_CLOSED",
  });
  assert.deepEqual(diagnoseRefusal(URL_, 500, "Client's Ring request doesn't have a client id.", undefined, CSRF), {
    message: "refused: HTTP 500 Client's Ring request doesn't have a client id.",
    code: "CHSK_ERR_HTTP_STATUS",
  });
});

test("diagnoseFrame: another packer's frame, a page, non-envelope data", () => {
  const edn = sniffFrame('[[:chsk/handshake ["alice" nil nil]] nil]');
  assert.equal(diagnoseFrame(URL_, edn, "edn", "edn", "sent"), undefined);
  assert.deepEqual(diagnoseFrame(URL_, edn, "transit", "transit-verbose", "sent"), {
    message: "the server speaks edn, not transit-verbose: try --packer edn",
    code: "CHSK_ERR_PACKER_MISMATCH",
  });
  const gz = sniffFrame(Uint8Array.of(0x01, 0x1f, 0x8b, 0x08, 0, 0));
  assert.equal(diagnoseFrame(URL_, gz, "gzip+msgpack", "gzip+msgpack", "sent"), undefined);
  assert.match(diagnoseFrame(URL_, gz, "edn", "edn", "sent")!.message, /^the server speaks a gzip-wrapped packer \(compressed\), not edn: try --packer gzip\+/);
  const page = diagnoseFrame(URL_, sniffFrame("<!doctype html><title>Shop</title>"), "edn", "edn", "answered 200 with")!;
  assert.deepEqual(page, {
    message: `${URL_} answered 200 with an HTML page ("Shop") — not a Sente endpoint; is the path right? (chsk serve uses /chsk)`,
    code: "CHSK_ERR_NOT_SENTE",
  });
  assert.equal(diagnoseFrame(URL_, sniffFrame('{"status":"ok"}'), "json", "json", "answered 200 with")!.code, "CHSK_ERR_NOT_SENTE");
  assert.equal(diagnoseFrame(URL_, sniffFrame("hello"), "edn", "edn", "sent")!.code, "CHSK_ERR_NOT_SENTE");
});

test("networkReason: the error's code, in words", () => {
  const refused = new Error("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
  assert.equal(errorCodeOf(refused), "ECONNREFUSED");
  assert.equal(networkReason(refused), "connection refused (ECONNREFUSED); is the server running?");
  // ws reports only a message.
  assert.equal(networkReason(new Error("WebSocket error: getaddrinfo ENOTFOUND nope.invalid")), "host not found (ENOTFOUND)");
  assert.equal(networkReason(new Error("something odd")), "something odd");
  assert.equal(networkReason(Object.assign(new Error("boom"), { code: "EWEIRD" })), "boom (EWEIRD)");
});

test("toJsonText: the documented EDN → JSON mapping", () => {
  const m = new Map<unknown, unknown>([[1, kw("x")], [[1, 2], "y"], ["s", 1], [kw("k"), 2]]);
  const cases: Array<[unknown, string]> = [
    [null, "null"],
    [undefined, "null"],
    [[true, false], "[true,false]"],
    ["a\"b", '"a\\"b"'],
    [kw("demo/hello"), '"demo/hello"'],
    [sym("my/sym"), '"my/sym"'],
    [new Char("c"), '"c"'],
    [new Uuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"), '"6ba7b810-9dad-11d1-80b4-00c04fd430c8"'],
    [42, "42"],
    [1.5, "1.5"],
    [double(1), "1"],
    [9007199254740993n, "9007199254740993"],
    [new BigDec("1.50"), "1.50"],
    [new Ratio(1n, 4n), "0.25"],
    [[Infinity, -Infinity, NaN], '["##Inf","##-Inf","##NaN"]'],
    [new Date(0), '"1970-01-01T00:00:00.000Z"'],
    [List.from_([1, 2]), "[1,2]"],
    [new EdnSet([kw("a")]), '["a"]'],
    [{ a: 1, "b/c": [2] }, '{"a":1,"b/c":[2]}'],
    [m, '{"1":"x","[1 2]":"y","s":1,"k":2}'],
    [new Tagged("my/tag", [1]), '{"#my/tag":[1]}'],
    [Uint8Array.of(1, 2, 3), '"AQID"'],
  ];
  for (const [value, json] of cases) {
    assert.equal(toJsonText(value), json);
    JSON.parse(json);
  }
});

test("startHints: pages (with a web hook) and a first command that fits the packer", () => {
  const web = () => ({ handleRequest: () => false });
  assert.equal(
    startHints("http://127.0.0.1:8090", { web: web as never }),
    "demo:      http://127.0.0.1:8090/\ndashboard: http://127.0.0.1:8090/dashboard\ntry:       npx chsk call http://127.0.0.1:8090/chsk '[:demo/echo {:a 1}]'\n",
  );
  assert.equal(startHints("http://h:1", { packer: "transit" }), "try:       npx chsk call --packer transit http://h:1/chsk '[:demo/echo {:a 1}]'\n");
});

test("browseUrl: a wildcard listen address becomes the loopback address a browser can open", () => {
  const cases: [string, string][] = [
    ["0.0.0.0", "http://127.0.0.1:8090"],
    ["::", "http://[::1]:8090"],
    ["0:0:0:0:0:0:0:0", "http://[::1]:8090"],
    ["127.0.0.1", "http://127.0.0.1:8090"],
    ["::1", "http://[::1]:8090"],
    ["192.168.1.10", "http://192.168.1.10:8090"],
    ["localhost", "http://localhost:8090"],
  ];
  for (const [host, url] of cases) assert.equal(browseUrl(host, 8090), url, host);
});
