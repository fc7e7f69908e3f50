/**
 * `chsk serve --redis`: two real reference servers on one real
 * redis-server share their users. A session cookie issued by one node
 * verifies on the other (same `--session-key`; each node's
 * `$CHSK_SESSION_SECRET` differs, so the flag is what makes it work), a
 * push sent through one node reaches the user's client on the other, and
 * `/api/stats` on each shows both nodes and the cluster-wide users. An
 * unreachable Redis exits 1 with `CHSK_ERR_CLUSTER`; a URL that is not
 * redis:// is a usage error.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { type Client, createClient } from "../../src/core/client/index.node.js";
import { kw } from "../../src/core/edn/values.js";
import { freePort, type RedisHandle, startRedis } from "../cluster/infra.js";
import { LISTENING, runCli, type Served, serve, waitFor } from "./cli.js";

const KEY = "shared-session-key-0123456789";

/** `chsk serve --port 0 ARGS` with its own environment, resolved on the listening line. */
const serveNode = (args: string[], env: Record<string, string>): Promise<Served> => serve(args, 120_000, { env });

/** GET as JSON, with a `Host` header of our choosing (fetch won't set one). */
function getJson(url: string, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (s: string) => (body += s));
      res.on("end", () => {
        try {
          assert.equal(res.statusCode, 200, body);
          resolve(JSON.parse(body) as Record<string, any>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

const stats = (node: Served, headers?: Record<string, string>) => getJson(`${node.url}/api/stats`, headers);

/** Polls `/api/stats` until `ok` holds (the cluster part is read at most once a second, heartbeats every second). */
async function statsWhen(node: Served, ok: (s: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> {
  let last: Record<string, any> | undefined;
  try {
    return await waitFor(
      async () => {
        last = await stats(node);
        return ok(last) ? last : undefined;
      },
      15_000,
      what,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last /api/stats cluster: ${JSON.stringify(last?.["cluster"])}`);
  }
}

describe("chsk serve --redis: two nodes share users", () => {
  let redis: RedisHandle;
  let n1: Served;
  let n2: Served;
  const clients: Client[] = [];

  before(async () => {
    redis = await startRedis();
    const common = ["--redis", redis.url, "--session-key", KEY, "--redis-prefix", "e2e:"];
    // Different keys in the environment: only --session-key can make n1's cookies verify on n2.
    [n1, n2] = await Promise.all([
      serveNode([...common, "--node-id", "n1"], { CHSK_SESSION_SECRET: "env-secret-of-node-one-0123" }),
      serveNode([...common, "--node-id", "n2"], { CHSK_SESSION_SECRET: "env-secret-of-node-two-0123" }),
    ]);
  });

  after(async () => {
    for (const c of clients) c.close();
    const finished = await Promise.all([n1?.stop(), n2?.stop()]);
    await redis?.stop();
    for (const f of finished) if (f !== undefined) assert.equal(f.code, 0, `serve exit: ${f.code} ${f.signal} ${f.stderr}`);
  });

  test("each node says which cluster it joined, before its first request", () => {
    assert.match(n1.stdout, /^chsk serve listening on http:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(n1.stdout, new RegExp(`^cluster:\\s+node n1 via ${redis.url.replace(/\./g, "\\.")} \\(prefix e2e:\\)$`, "m"));
    assert.match(n2.stdout, /^cluster:\s+node n2 via /m);
    // A key was given: no warning about per-machine keys.
    assert.doesNotMatch(n1.stdout, /--session-key/);
  });

  test("a session from n1 works on n2; a push sent through n2 reaches alice's client on n1; /api/stats shows the cluster", async () => {
    // Log in on n1.
    const login = await fetch(`${n1.url}/login`, { method: "POST", body: new URLSearchParams({ uid: "alice" }) });
    assert.equal(login.status, 200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    assert.match(cookie, /^chsk-session=v1\./);

    // The cookie verifies on n2: same user, same token (no new anonymous session).
    const csrf = await fetch(`${n2.url}/csrf`, { headers: { cookie } });
    assert.equal(csrf.headers.get("set-cookie"), null);
    assert.deepEqual(await csrf.json(), { uid: "alice", csrfToken });

    const connect = async (node: Served, type: "ws" | "ajax") => {
      const c = createClient({ url: `${node.url}/chsk`, type, csrfToken, headers: { cookie } });
      clients.push(c);
      const got: unknown[] = [];
      c.on("recv", (ev) => {
        if (ev[0] === "demo/hi") got.push(ev[1]);
      });
      await c.whenOpen();
      return { c, got };
    };

    // Alice on n1 only: n2 sees her in the cluster, not locally.
    const onN1 = await connect(n1, "ws");
    const early = await statsWhen(n2, (s) => s["cluster"]?.users === 1, "alice in n2's cluster-wide users");
    assert.deepEqual(early["connectedUids"].any, [], "n2's own view stays local");
    assert.deepEqual(early["cluster"].connectedUids, { ws: ["alice"], ajax: [], any: ["alice"] });

    // Alice's second tab, on n2 over Ajax: the session verified there too.
    const onN2 = await connect(n2, "ajax");
    const who = await onN2.c.send(["demo/whoami"], 10_000);
    assert.equal((who as { uid?: unknown }).uid, "alice", JSON.stringify(who));

    // Pushed through n2, delivered on both nodes.
    const ok = await onN2.c.send(["demo/push", { uid: "alice", event: [kw("demo/hi"), "through n2"] }], 10_000);
    assert.deepEqual(ok, kw("ok"));
    await waitFor(() => (onN1.got.length > 0 ? true : undefined), 10_000, "the push on n1's client");
    await waitFor(() => (onN2.got.length > 0 ? true : undefined), 10_000, "the push on n2's client");
    assert.deepEqual(onN1.got, ["through n2"]);
    assert.deepEqual(onN2.got, ["through n2"]);

    // Both nodes, each with what it holds, and one user in the whole cluster.
    const nodesAre = (s: Record<string, any>) =>
      JSON.stringify(s["cluster"]?.nodes.map((n: any) => [n.nodeId, n.users, n.clients.ws, n.clients.ajax, n.alive])) ===
      JSON.stringify([
        ["n1", 1, 1, 0, true],
        ["n2", 1, 0, 1, true],
      ]);
    for (const [node, id] of [
      [n1, "n1"],
      [n2, "n2"],
    ] as const) {
      const s = await statsWhen(node, (x) => nodesAre(x) && x["cluster"].users === 1 && x["cluster"].connected.ajax === 1, `both nodes in ${id}'s stats`);
      const c = s["cluster"];
      assert.equal(c.nodeId, id);
      assert.equal(c.engine, "redis");
      assert.equal(c.status, "ready");
      assert.deepEqual(c.connected, { ws: 1, ajax: 1, any: 1 });
      assert.deepEqual(c.connectedUids.any, ["alice"]);
      assert.equal(c.stats.nodeId, id);
      assert.equal(c.stats.failures, 0);
      assert.equal(c.readError, null);
      assert.ok(!Number.isNaN(Date.parse(c.asOf)), c.asOf);
      for (const n of c.nodes) assert.ok(!Number.isNaN(Date.parse(n.startedAt)), n.startedAt);
      // The fields that were there before stay this node's own.
      assert.deepEqual(s["connectedUids"].any, ["alice"]);
      assert.equal(s["connections"].total, 1);
    }
    assert.ok((await stats(n2))["cluster"].stats.published >= 1, "n2 published the push");
    assert.ok((await stats(n1))["cluster"].stats.received >= 1, "n1 received it");

    // A request that may not see identities (a Host that doesn't name this machine) gets counts only, the cluster's too.
    const hidden = await stats(n1, { host: "elsewhere.test" });
    assert.equal(hidden["identities"], "hidden");
    assert.equal(hidden["connectedUids"], undefined);
    assert.equal(hidden["cluster"].connectedUids, undefined);
    assert.equal(hidden["cluster"].users, 1);
    assert.deepEqual(
      hidden["cluster"].nodes.map((n: any) => n.nodeId),
      ["n1", "n2"],
    );
  });
});

describe("chsk serve --redis: refusals", () => {
  test("Redis unreachable: exit 1 with CHSK_ERR_CLUSTER, no listening line", async () => {
    const closed = await freePort();
    const r = await runCli(["serve", "--port", "0", "--quiet", "--redis", `redis://127.0.0.1:${closed}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, LISTENING);
    assert.match(r.stderr, new RegExp(`^chsk serve: cannot join the cluster at redis://127\\.0\\.0\\.1:${closed}: .*\\(CHSK_ERR_CLUSTER\\)$`, "m"));
  });

  test("a URL that is not redis://, a bad node id, or --node-id without --redis: usage error (exit 2)", async () => {
    for (const args of [
      ["--redis", "http://127.0.0.1:6379"],
      ["--redis", "127.0.0.1:6379"],
      ["--redis", "redis://127.0.0.1:6379", "--node-id", "no spaces"],
      ["--node-id", "n1"],
      ["--redis", "redis://127.0.0.1:6379", "--session-key", "short"],
    ]) {
      const r = await runCli(["serve", "--port", "0", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, LISTENING);
      assert.match(r.stderr, /error: /, args.join(" "));
    }
  });

  test("serve --help lists the cluster flags", async () => {
    const r = await runCli(["serve", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--redis <url>", "--node-id <name>", "--redis-prefix <prefix>", "--session-key <key>", "CHSK_REDIS_URL", "CHSK_SESSION_SECRET"]) {
      assert.ok(r.stdout.includes(flag), `${flag} in serve --help`);
    }
  });
});
