/**
 * The cluster tests' infrastructure (test/cluster/infra.ts) against the real
 * daemons: redis-server starts, answers and loses everything on restart on
 * the same port; haproxy balances every request of one keep-alive client
 * connection, passes WebSocket upgrades, and routes around a dead backend;
 * both stop by pid and leave no temp dir.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import WebSocket, { WebSocketServer } from "ws";
import { daemonEnv, freePort, haproxyConfig, redisPing, retryOnAddrInUse, startBalancer, startRedis } from "../cluster/infra.js";

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits (bounded) for `pid` to be gone: a stopped daemon's pid is reaped right after its exit event. */
async function gone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe("startRedis", () => {
  it("starts a redis-server that answers, and stop() kills it and removes its dir", async () => {
    const redis = await startRedis();
    let stopped = false;
    try {
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
      assert.ok(await redisPing(redis.port));
      assert.equal(await redis.cli("SET", "k", "v"), "OK");
      assert.equal(await redis.cli("GET", "k"), "v");
      assert.equal(await redis.cli("CONFIG", "GET", "save"), "save\n");
      assert.equal(await redis.cli("CONFIG", "GET", "appendonly"), "appendonly\nno");
      const dir = (await redis.cli("CONFIG", "GET", "dir")).split("\n")[1]!;
      assert.ok(existsSync(dir));
      const pid = redis.pid;
      await redis.stop();
      stopped = true;
      assert.ok(await gone(pid), "redis-server exited");
      assert.equal(await redisPing(redis.port), false);
      assert.equal(existsSync(dir), false, "temp dir removed");
      await redis.stop(); // idempotent
    } finally {
      if (!stopped) await redis.stop();
    }
  });

  it("restart() loses the data and comes back on the same port with a new pid", async () => {
    const redis = await startRedis();
    try {
      await redis.cli("SET", "k", "v");
      const { port, url, pid } = redis;
      await redis.restart();
      assert.ok(await gone(pid), "the first redis-server exited");
      assert.equal(redis.port, port);
      assert.equal(redis.url, url);
      assert.notEqual(redis.pid, pid);
      assert.ok(await redisPing(port));
      assert.equal(await redis.cli("EXISTS", "k"), "0");

      await redis.cli("SET", "k", "v");
      const pid2 = redis.pid;
      await redis.restart({ signal: "SIGKILL" });
      assert.ok(await gone(pid2));
      assert.equal(await redis.cli("EXISTS", "k"), "0");
    } finally {
      await redis.stop();
    }
  });

  it("down() refuses connections until up()", async () => {
    const redis = await startRedis();
    try {
      await redis.down();
      assert.equal(await redisPing(redis.port), false);
      await redis.up();
      assert.ok(await redisPing(redis.port));
    } finally {
      await redis.stop();
    }
  });

  it("keeps a dir it was given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chsk-redis-given-"));
    try {
      const redis = await startRedis({ dir });
      assert.equal((await redis.cli("CONFIG", "GET", "dir")).split("\n")[1], dir);
      await redis.stop();
      assert.ok(existsSync(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails with redis-server's own words when it cannot start", async () => {
    await assert.rejects(startRedis({ args: ["--no-such-directive", "1"] }), (e: Error) => {
      assert.match(e.message, /redis-server :\d+ exited/);
      assert.match(e.message, /no-such-directive/);
      return true;
    });
  });

  it("moves to another free port when its port was taken meanwhile", async () => {
    const squatter = createTcpServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const taken = (squatter.address() as AddressInfo).port;
    const picks = [taken];
    try {
      const redis = await retryOnAddrInUse(
        (port) => startRedis({ port }),
        async () => picks.shift() ?? freePort(),
      );
      assert.notEqual(redis.port, taken);
      assert.ok(await redisPing(redis.port));
      await redis.stop();
      // With a fixed port there is no retry: the error says what happened.
      await assert.rejects(startRedis({ port: taken }), /port \d+ is already in use/);
    } finally {
      squatter.close();
    }
  });
});

/** A node:http server answering every request with its name; WebSocket messages come back as `name:msg`. */
async function backend(name: string): Promise<{ port: number; server: Server; kill(): Promise<void> }> {
  const server = createServer((_req, res) => res.end(name));
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`${name}:${m.toString()}`)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    // As good as dead to the balancer: the port refuses, every open connection is cut.
    async kill() {
      for (const c of wss.clients) c.terminate();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function get(url: string, dispatcher: Agent): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function wsEcho(url: string, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("no echo within 5 s"));
    }, 5_000);
    ws.on("open", () => ws.send(msg));
    ws.on("message", (m) => {
      clearTimeout(timer);
      ws.close();
      resolve(m.toString());
    });
    ws.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe("startBalancer (haproxy)", () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it("balances every request of one keep-alive client connection round-robin", async () => {
    const a = await backend("a");
    const b = await backend("b");
    cleanup.push(a.kill, b.kill);
    const lb = await startBalancer({ backends: [{ host: "127.0.0.1", port: a.port }, b.port] });
    cleanup.push(lb.stop);
    const agent = new Agent({ connections: 1 });
    cleanup.push(() => agent.close());
    let connects = 0;
    agent.on("connect", () => connects++);

    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(lb.url, agent);
      assert.equal(r.status, 200);
      names.push(r.body);
    }
    assert.equal(connects, 1, "one client connection carried every request");
    assert.deepEqual(new Set(names), new Set(["a", "b"]));
    for (let i = 1; i < names.length; i++) assert.notEqual(names[i], names[i - 1], `alternates: ${names.join(",")}`);
  });

  it("passes WebSocket upgrades, each to the next backend", async () => {
    const a = await backend("a");
    const b = await backend("b");
    cleanup.push(a.kill, b.kill);
    const lb = await startBalancer({ backends: [a.port, b.port] });
    cleanup.push(lb.stop);
    const wsUrl = lb.url.replace(/^http/, "ws");
    const first = await wsEcho(wsUrl, "hi");
    const second = await wsEcho(wsUrl, "there");
    assert.match(first, /^[ab]:hi$/);
    assert.match(second, /^[ab]:there$/);
    assert.notEqual(first[0], second[0], "the two upgrades went to different backends");
  });

  it("sends every request to the live backend once the other is killed", async () => {
    const a = await backend("a");
    const b = await backend("b");
    cleanup.push(a.kill, b.kill);
    const lb = await startBalancer({ backends: [a.port, b.port] });
    cleanup.push(lb.stop);
    const agent = new Agent({ connections: 1 });
    cleanup.push(() => agent.close());
    assert.deepEqual(new Set([(await get(lb.url, agent)).body, (await get(lb.url, agent)).body]), new Set(["a", "b"]));

    // Straight after the kill, before a health check can have noticed:
    // the requests haproxy still sends to a are redispatched to b.
    await a.kill();
    const after: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(lb.url, agent);
      after.push(`${r.status} ${r.body}`);
    }
    assert.deepEqual(after, Array(6).fill("200 b"), lb.output());
    const ws = await wsEcho(lb.url.replace(/^http/, "ws"), "x");
    assert.equal(ws, "b:x");
  });

  it("stops by pid and removes its config dir", async () => {
    const a = await backend("a");
    cleanup.push(a.kill);
    const lb = await startBalancer({ backends: [a.port] });
    const agent = new Agent({ connections: 1 });
    cleanup.push(() => agent.close());
    assert.equal((await get(lb.url, agent)).body, "a");
    assert.equal(lb.config, haproxyConfig({ listenPort: lb.port, backends: [a.port] }));
    assert.ok(existsSync(lb.configPath));
    await lb.stop();
    assert.ok(await gone(lb.pid));
    assert.equal(existsSync(dirname(lb.configPath)), false);
    await assert.rejects(get(lb.url, agent));
  });
});

describe("docs/haproxy.cfg", () => {
  it("is a config haproxy accepts", async () => {
    const path = fileURLToPath(new URL("../../docs/haproxy.cfg", import.meta.url));
    const out = await new Promise<string>((resolve, reject) =>
      execFile("haproxy", ["-c", "-f", path], { timeout: 10_000, env: daemonEnv() }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout + stderr),
      ),
    );
    assert.match(out, /Configuration file is valid/);
    assert.doesNotMatch(out, /WARNING|ALERT/);
  });
});
