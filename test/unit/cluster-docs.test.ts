/**
 * The balancer configs in docs/ stay what the cluster needs: docs/haproxy.cfg
 * is haproxyConfig()'s output (the config the cluster tests run), and both
 * it and docs/nginx.conf balance round-robin without stickiness, pass
 * WebSocket upgrades and outlast the longest long-poll chsk allows.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MAX_LP_TIMEOUT_MS } from "../../src/server/options.js";
import { DOCS_HAPROXY } from "../cluster/docs-example.js";
import { haproxyConfig } from "../cluster/infra.js";

const read = (p: string) => readFileSync(new URL(`../../docs/${p}`, import.meta.url), "utf8");

/** Non-comment lines, trimmed, without `#` comments. */
const directives = (text: string): string[] =>
  text
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "");

/** `75s`, `2m`, `500ms`, `1h` (haproxy and nginx units) in ms. */
function ms(v: string): number {
  const m = /^(\d+)(ms|s|m|h)?;?$/.exec(v);
  assert.ok(m, `a duration: ${v}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
}

function setting(lines: string[], name: string): string {
  const hits = lines.filter((l) => l.startsWith(`${name} `));
  assert.equal(hits.length, 1, `one "${name}" line`);
  return hits[0]!.slice(name.length + 1).trim();
}

describe("docs/haproxy.cfg", () => {
  const generated = haproxyConfig(DOCS_HAPROXY);

  it("is haproxyConfig()'s output, byte for byte", () => {
    assert.equal(read("haproxy.cfg"), generated, "regenerate it: node --import tsx test/cluster/write-docs.ts");
  });

  it("balances round-robin with no stickiness over the three nodes", () => {
    const lines = directives(generated);
    assert.equal(setting(lines, "mode"), "http", "mode tcp would balance per connection, not per request");
    assert.equal(setting(lines, "balance"), "roundrobin");
    const sticky = lines.filter((l) => /^(cookie|stick|stick-table|option prefer-last-server|option http-server-close|option httpclose|hash-type)\b/.test(l));
    assert.deepEqual(sticky, []);
    assert.deepEqual(
      lines.filter((l) => l.startsWith("server ")),
      ["server node1 127.0.0.1:3001", "server node2 127.0.0.1:3002", "server node3 127.0.0.1:3003"],
    );
    assert.equal(setting(lines, "bind"), "127.0.0.1:3000");
    assert.equal(setting(lines, "default-server"), "check inter 500ms fall 1 rise 1");
  });

  it("outlasts the longest long-poll chsk allows", () => {
    const lines = directives(generated);
    for (const t of ["timeout client", "timeout server"]) {
      assert.ok(ms(setting(lines, t)) > MAX_LP_TIMEOUT_MS, `${t} > ${MAX_LP_TIMEOUT_MS} ms`);
    }
    assert.ok(ms(setting(lines, "timeout tunnel")) > MAX_LP_TIMEOUT_MS);
  });
});

describe("docs/nginx.conf", () => {
  const lines = directives(read("nginx.conf"));

  it("balances round-robin with no stickiness over the three nodes", () => {
    assert.deepEqual(
      lines.filter((l) => /^(ip_hash|hash|sticky|least_conn|random)\b/.test(l)),
      [],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith("server 127.")).map((l) => l.split(/\s+/)[1]),
      ["127.0.0.1:3001", "127.0.0.1:3002", "127.0.0.1:3003"],
    );
    assert.equal(setting(lines, "listen"), "127.0.0.1:3000;");
    assert.equal(setting(lines, "proxy_pass"), "http://chsk_nodes;");
  });

  it("passes WebSocket upgrades and does not buffer pushes", () => {
    assert.equal(setting(lines, "proxy_http_version"), "1.1;");
    assert.ok(lines.includes("proxy_set_header Upgrade $http_upgrade;"));
    assert.ok(lines.includes("proxy_set_header Connection $connection_upgrade;"));
    assert.ok(lines.includes("map $http_upgrade $connection_upgrade {"));
    assert.equal(setting(lines, "proxy_buffering"), "off;");
  });

  it("outlasts the longest long-poll chsk allows", () => {
    for (const t of ["proxy_read_timeout", "proxy_send_timeout"]) {
      assert.ok(ms(setting(lines, t)) > MAX_LP_TIMEOUT_MS, `${t} > ${MAX_LP_TIMEOUT_MS} ms`);
    }
  });
});
