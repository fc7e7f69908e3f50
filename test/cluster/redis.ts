/**
 * A real redis-server (Debian's 7.0) for the cluster tests, on a free
 * loopback port, without persistence: `--save ''` and `--appendonly no`, so
 * a restart comes back empty, which is what a test of "Redis restarted"
 * wants.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddrInUseError, type Daemon, daemonEnv, launch, retryOnAddrInUse, signal, stopDaemon, tcpExchange, waitReady } from "./process.js";

export interface RedisOptions {
  /** Redis's `--dir` (kept on stop). @default a fresh temp dir, removed by `stop()` */
  dir?: string;
  /** Extra redis-server arguments, e.g. `["--maxmemory", "10mb"]`. */
  args?: string[];
  /** Fixed port instead of a free one (no retry if it is taken). */
  port?: number;
  /** @default 10_000 */
  startTimeoutMs?: number;
}

export interface RedisHandle {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The pid of the redis-server running now (a restart changes it). */
  readonly pid: number;
  /** Stops it for good and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops it (SIGTERM and wait, SIGKILL after 5 s; or `SIGKILL` at once) and
   * starts a new one on the same port. Everything stored is lost.
   */
  restart(opts?: { signal?: "SIGTERM" | "SIGKILL" }): Promise<void>;
  /** Only the stopping half of `restart()`: the port refuses connections until `up()`. */
  down(opts?: { signal?: "SIGTERM" | "SIGKILL" }): Promise<void>;
  /** Starts it again on the same port after `down()`. */
  up(): Promise<void>;
  /** `redis-cli -h 127.0.0.1 -p <port> ...args`; its stdout without the final newline. */
  cli(...args: string[]): Promise<string>;
  /** The tail of the running redis-server's log (stdout and stderr). */
  output(): string;
}

const BIND_FAILED = /Address already in use/;

/** `PING` on a raw socket: true once redis answers `+PONG`. */
export const redisPing = async (port: number): Promise<boolean> =>
  (await tcpExchange(port, "PING\r\n", (s) => s.includes("\r\n")))?.startsWith("+PONG") ?? false;

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "chsk-redis-"));
  const timeoutMs = opts.startTimeoutMs ?? 10_000;

  const spawnOn = async (port: number): Promise<Daemon> => {
    const d = launch(`redis-server :${port}`, "redis-server", [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      ...(opts.args ?? []),
    ]);
    try {
      await waitReady(d, () => redisPing(port), timeoutMs, "PONG");
    } catch (e) {
      if (BIND_FAILED.test(d.output())) throw new AddrInUseError(port, d.output());
      throw e;
    }
    return d;
  };

  const spawnAt = async (port: number) => ({ port, daemon: await spawnOn(port) });
  let started: { port: number; daemon: Daemon };
  try {
    started = opts.port !== undefined ? await spawnAt(opts.port) : await retryOnAddrInUse(spawnAt);
  } catch (e) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = started.port;
  let daemon = started.daemon;
  let stopped = false;

  const down = async (o: { signal?: "SIGTERM" | "SIGKILL" } = {}) => {
    if (o.signal === "SIGKILL") signal(daemon, "SIGKILL");
    await stopDaemon(daemon);
  };
  const up = async () => {
    if (stopped) throw new Error("startRedis: up() after stop()");
    if (!daemon.hasExited()) throw new Error(`redis-server :${port} is still running (pid ${daemon.pid})`);
    // The old server is gone, but something else may have taken the port
    // meanwhile; that is reported, not worked around by moving port.
    daemon = await spawnOn(port);
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return daemon.pid;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopDaemon(daemon);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart(o) {
      await down(o);
      await up();
    },
    down,
    up,
    cli: (...args) => redisCli(port, args),
    output: () => daemon.output(),
  };
}

function redisCli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000, encoding: "utf8", env: daemonEnv() }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${err.message}${stderr ? `\n${stderr}` : ""}`));
      else resolve(stdout.replace(/\n$/, ""));
    });
  });
}
