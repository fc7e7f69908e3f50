/**
 * The dashboard's small rules, table-driven: the pages' one time format,
 * close codes in words, the admin push's EDN reading, `chsk serve`'s
 * loopback test and token rule, and `/api/stats` without identities.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { readEventEdn } from "../../src/server/dashboard/actions.js";
import { countsOnly, type StatsSnapshot } from "../../src/server/demo/stats.js";
import { allowedHostProblem, createVisibility, DASHBOARD_TOKEN_COOKIE, hostNameOf, isLocalHostHeader, isLoopbackHost } from "../../src/server/demo/visibility.js";
import { closeCodeName, describeClientClose } from "../../src/server/web/pages/close-text.js";
import { clockTime, fullTime } from "../../src/server/web/pages/time.js";

const req = (url: string, headers: Record<string, string> = {}, method = "GET") => ({ url, headers, method }) as unknown as IncomingMessage;

describe("time format", () => {
  it("is local HH:MM:SS, with the full timestamp (date, ms, offset) for tooltips", () => {
    const at = new Date(2026, 11, 2, 9, 5, 7, 42).getTime();
    assert.equal(clockTime(at), "09:05:07");
    assert.match(fullTime(at), /^2026-12-02 09:05:07\.042 UTC[+-]\d\d:\d\d$/);
  });
});

describe("close codes in words", () => {
  const cases: [Parameters<typeof describeClientClose>[0], string][] = [
    [{ reason: "clean", transport: "ws", ws: { code: 1001, reason: "" } }, "server went away (1001)"],
    [{ reason: "clean", transport: "ws", ws: { code: 1001, reason: "server closing" } }, "server went away (1001): server closing"],
    [{ reason: "unexpected", transport: "ws", ws: { code: 1006, reason: "" } }, "connection lost (1006)"],
    [{ reason: "clean", transport: "ws", ws: { code: 4001, reason: "" } }, "dropped by the server: too slow reading its messages (4001)"],
    [{ reason: "clean", transport: "ws", ws: { code: 4999, reason: "" } }, "closed (4999)"],
    [{ reason: "unexpected", transport: "ajax" }, "connection lost (the server did not answer)"],
    [{ reason: "requested-disconnect", transport: "ws", ws: { code: 1000, reason: "" } }, "you disconnected"],
    [{ reason: "ws-ping-timeout", transport: "ws" }, "no answer to keep-alive pings"],
  ];
  for (const [input, text] of cases) {
    it(`${input.reason} ${input.ws?.code ?? input.transport} → ${text}`, () => assert.equal(describeClientClose(input), text));
  }
  it("names codes neutrally for the server's log", () => {
    assert.equal(closeCodeName(1001), "going away (1001)");
    assert.equal(closeCodeName(4321), "code 4321");
  });
});

describe("admin push: the event, in EDN", () => {
  it("reads [:ns/name data] with the core EDN reader", () => {
    assert.deepEqual(readEventEdn('[:demo/msg {:text "hi" :n 1}]'), { ok: true, event: ["demo/msg", { text: "hi", n: 1 }] });
    assert.deepEqual(readEventEdn("[:demo/ping]"), { ok: true, event: ["demo/ping"] });
  });
  const bad: [string, RegExp][] = [
    ["", /type an event/],
    ['{"text": "json"}', /EDN syntax error|vector/],
    ["[:demo/msg", /EDN syntax error at offset 0: unexpected end of input in vector/],
    ['["demo/msg" 1]', /must be a keyword/],
    ["[:msg 1]", /needs a namespace/],
    ["[:demo/msg 1 2]", /one or two items/],
    ["[:chsk/close]", /reserved/],
  ];
  for (const [text, why] of bad) it(`refuses ${JSON.stringify(text)}`, () => {
    const r = readEventEdn(text);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, why);
  });
});

describe("chsk serve: who may see whom", () => {
  it("tells loopback listen addresses from the rest", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST", "app.localhost"]) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ["0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "::2", "fe80::1", "example.com", ""]) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });

  it("is open on loopback, and needs the token beyond it (the listen address decides, not the peer)", () => {
    const local = createVisibility({ host: "127.0.0.1" });
    assert.equal(local.mode, "open");
    assert.equal(local.allows(req("/api/stats", { host: "127.0.0.1:8090" })), true);
    for (const host of ["0.0.0.0", "::"]) {
      const v = createVisibility({ host });
      assert.equal(v.mode, "token");
      assert.match(v.token ?? "", /^[\w-]{32}$/, "a generated token");
      const peerLocal = { ...req("/api/stats"), socket: { remoteAddress: "127.0.0.1" } } as unknown as IncomingMessage;
      assert.equal(v.allows(peerLocal), false, "a request from 127.0.0.1 still needs it");
      assert.equal(v.allows(req("/api/stats", { authorization: `Bearer ${v.token}` })), true);
      assert.equal(v.allows(req("/api/stats", { cookie: `a=b; ${DASHBOARD_TOKEN_COOKIE}=${v.token}` })), true);
      assert.equal(v.allows(req(`/api/stats?token=${v.token}`)), true);
      assert.equal(v.allows(req("/api/stats", { authorization: "Bearer nope-nope-nope-nope" })), false);
    }
    assert.equal(createVisibility({ host: "0.0.0.0", public: true }).mode, "open", "--public-dashboard");
    const explicit = createVisibility({ host: "127.0.0.1", token: "a-token-of-16-chars" });
    assert.equal(explicit.mode, "token", "a given token applies on loopback too");
    assert.equal(explicit.token, "a-token-of-16-chars");
  });

  it("on loopback, opens only to a Host that names this machine (DNS rebinding sends the attacker's name)", () => {
    const cases: [string | undefined, string | undefined][] = [
      ["127.0.0.1:8090", "127.0.0.1"],
      ["[::1]:8090", "::1"],
      ["[::1]", "::1"],
      ["LocalHost.:80", "localhost"],
      ["evil.example:8090", "evil.example"],
      ["::1:80", "::1:80"],
      ["", undefined],
      [undefined, undefined],
    ];
    for (const [header, name] of cases) assert.equal(hostNameOf(header), name, String(header));
    for (const h of ["localhost", "localhost:1", "127.9.9.9:8090", "[::1]:8090", "app.localhost", "[::ffff:127.0.0.1]"]) assert.equal(isLocalHostHeader(h), true, h);
    for (const h of [undefined, "", "evil.example:8090", "127.0.0.1.nip.io", "localhost.evil.example", "[::2]", "0.0.0.0", "::1:80"]) assert.equal(isLocalHostHeader(h), false, String(h));
    assert.equal(isLocalHostHeader("dev.test:1", ["dev.test"]), true);
    assert.equal(isLocalHostHeader("a.dev.test", ["dev.test"]), false, "a plain name is that name only");
    assert.equal(isLocalHostHeader("a.dev.test", [".dev.test"]), true, "a leading dot takes subdomains");
    assert.equal(isLocalHostHeader("dev.test", [".dev.test"]), true);
    assert.equal(isLocalHostHeader("xdev.test", [".dev.test"]), false);

    const local = createVisibility({ host: "127.0.0.1", allowedHosts: ["dev.test"] });
    assert.equal(local.allows(req("/api/stats", { host: "evil.example:8090" })), false);
    assert.equal(local.allows(req("/api/stats")), false, "no Host: not a name of this machine");
    assert.equal(local.allows(req("/api/stats", { host: "dev.test:8090" })), true);
    assert.equal(createVisibility({ host: "127.0.0.1", public: true }).allows(req("/", { host: "evil.example" })), true, "--public-dashboard: no Host check");
    const tokenMode = createVisibility({ host: "127.0.0.1", token: "a-token-of-16-chars" });
    assert.equal(tokenMode.allows(req("/", { host: "evil.example", authorization: "Bearer a-token-of-16-chars" })), true, "with a token, the token decides");
    for (const bad of ["http://dev.test", "dev.test:80", "a b", "", "*.dev.test"]) {
      assert.notEqual(allowedHostProblem(bad), null, bad);
      assert.throws(() => createVisibility({ host: "127.0.0.1", allowedHosts: [bad] }), TypeError, bad);
    }
    for (const good of ["dev.test", ".dev.test", "my-box", "[::1]", "10.0.0.2"]) assert.equal(allowedHostProblem(good), null, good);
  });

  it("refuses weak or unsafe tokens, and a token together with a public dashboard", () => {
    for (const token of ["short", "has space in it xx", "semi;colon;xxxxxxxx", "x".repeat(257)]) {
      assert.throws(() => createVisibility({ host: "0.0.0.0", token }), TypeError, token);
    }
    assert.throws(() => createVisibility({ host: "0.0.0.0", token: "a-token-of-16-chars", public: true }), TypeError);
  });

  it("trades a ?token= link for a cookie and the same URL without the token", () => {
    const v = createVisibility({ host: "0.0.0.0", token: "a-token-of-16-chars" });
    const written: { status?: number; headers?: Record<string, unknown> } = {};
    const res = {
      writeHead(status: number, headers: Record<string, unknown>) {
        written.status = status;
        written.headers = headers;
      },
      end() {},
    } as unknown as ServerResponse;
    assert.equal(v.acceptTokenLink(req("/dashboard?token=wrong-token-0000000"), res, "/dashboard"), false);
    assert.equal(v.acceptTokenLink(req("/other?token=a-token-of-16-chars"), res, "/dashboard"), false);
    assert.equal(v.acceptTokenLink(req("//dashboard?token=a-token-of-16-chars"), res, "/dashboard"), false, "the path as chsk reads it");
    assert.equal(v.acceptTokenLink(req("/dashboard?token=a-token-of-16-chars", {}, "POST"), res, "/dashboard"), false);
    assert.equal(v.acceptTokenLink(req("/dashboard?x=1&token=a-token-of-16-chars"), res, "/dashboard"), true);
    assert.equal(written.status, 303);
    assert.equal(written.headers?.["location"], "/dashboard?x=1");
    assert.equal(written.headers?.["set-cookie"], `${DASHBOARD_TOKEN_COOKIE}=a-token-of-16-chars; Path=/; HttpOnly; SameSite=Strict`);
  });

  it("/api/stats without identities keeps every count and no user id", () => {
    const full = {
      uptimeMs: 1,
      connectedUids: { ws: ["alice", null], ajax: ["bob"], any: ["alice", "bob", null] },
      connections: { ws: 2, ajax: 1, total: 3 },
      errors: 0,
    } as unknown as StatsSnapshot;
    const c = countsOnly(full);
    assert.doesNotMatch(JSON.stringify(c), /alice|bob/);
    assert.deepEqual(c.users, { ws: 2, ajax: 1, any: 3 });
    assert.equal(c.identities, "hidden");
    assert.deepEqual(c.connections, full.connections);
  });
});
