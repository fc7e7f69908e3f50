/**
 * Daemons for the cluster tests (redis-server, haproxy): spawned on loopback
 * ports picked here, waited for with a bound, stopped by the pid started
 * here (SIGTERM, then SIGKILL), and killed with the test process however it
 * ends, so a failed test leaves no redis or haproxy holding a port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** The last this-many characters of a daemon's stdout+stderr are kept for error messages. */
const OUTPUT_KEEP = 16_384;

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** The tail of what it printed on stdout and stderr, interleaved. */
  output(): string;
}

const live = new Set<Daemon>();
let hooked = false;

function killLiveOnExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const d of live) {
      try {
        process.kill(d.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    // `once`, then re-raise: the test process still dies of the signal as it
    // would have, after its daemons.
    process.once(sig, () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/**
 * The environment daemons and their tools run with: Debian installs haproxy
 * in /usr/sbin, which a non-root user's PATH may lack.
 */
export function daemonEnv(): NodeJS.ProcessEnv {
  const path = (process.env["PATH"] ?? "").split(":").filter((p) => p !== "");
  for (const sbin of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!path.includes(sbin)) path.push(sbin);
  return { ...process.env, PATH: path.join(":") };
}

export function launch(name: string, command: string, args: string[], cwd?: string): Daemon {
  killLiveOnExit();
  const proc = spawn(command, args, { cwd, env: daemonEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (s: string) => {
    out = (out + s).slice(-OUTPUT_KEEP);
  };
  proc.stdout!.setEncoding("utf8").on("data", keep);
  proc.stderr!.setEncoding("utf8").on("data", keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("error", (e) => {
      keep(`${name}: ${e.message}\n`);
      done = true;
      resolve({ code: null, signal: null });
    });
    proc.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  if (proc.pid === undefined) {
    // spawn failed (ENOENT): 'error' follows on the next tick.
    return { name, pid: -1, proc, exited, hasExited: () => true, output: () => out || `${name}: could not spawn ${command}` };
  }
  const d: Daemon = { name, pid: proc.pid, proc, exited, hasExited: () => done, output: () => out };
  live.add(d);
  void exited.then(() => live.delete(d));
  return d;
}

/**
 * SIGTERM to `d.pid`, SIGKILL if it is still running after `graceMs`.
 * Resolves once it has exited; rejects if even SIGKILL did not end it in 5 s.
 */
export async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (d.hasExited()) return;
  const exitedWithin = (ms: number) =>
    Promise.race([d.exited.then(() => true), sleep(ms, false, { ref: false })]);
  signal(d, "SIGTERM");
  if (await exitedWithin(graceMs)) return;
  signal(d, "SIGKILL");
  if (!(await exitedWithin(5_000))) throw new Error(`${d.name} (pid ${d.pid}) did not exit after SIGKILL`);
}

export function signal(d: Daemon, sig: NodeJS.Signals): void {
  if (d.hasExited()) return;
  try {
    process.kill(d.pid, sig);
  } catch {
    /* exited between the check and the kill */
  }
}

/** A loopback port nobody listens on right now (listen on 0, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === "string") throw new Error("freePort: no port");
  return addr.port;
}

/** Thrown by a start attempt whose daemon could not bind its port. */
export class AddrInUseError extends Error {
  constructor(readonly port: number, detail: string) {
    super(`port ${port} is already in use: ${detail}`);
  }
}

/**
 * `attempt(port)` on ports from `pick`, again on a fresh port while it throws
 * {@link AddrInUseError}: between `freePort()` closing its probe and the
 * daemon binding, another process may take the port.
 */
export async function retryOnAddrInUse<T>(
  attempt: (port: number) => Promise<T>,
  pick: () => Promise<number> = freePort,
  attempts = 5,
): Promise<T> {
  for (let i = 1; ; i++) {
    const port = await pick();
    try {
      return await attempt(port);
    } catch (e) {
      if (!(e instanceof AddrInUseError) || i >= attempts) throw e;
    }
  }
}

/**
 * Polls `ready()` every 50 ms until it is true. Fails as soon as the daemon
 * exits (with its output), or after `timeoutMs`.
 */
export async function waitReady(d: Daemon, ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (d.hasExited()) {
      const { code, signal: sig } = await d.exited;
      throw new Error(`${d.name} exited (${sig ?? `code ${code}`}) before ${what}:\n${d.output()}`);
    }
    if (await ready()) return;
    if (Date.now() > until) {
      await stopDaemon(d);
      throw new Error(`${d.name} (pid ${d.pid}): no ${what} within ${timeoutMs} ms:\n${d.output()}`);
    }
    await sleep(50);
  }
}

/**
 * Connects to 127.0.0.1:`port`, writes `send` (if any) and resolves with what
 * arrives until `until(received)` holds; undefined on refusal, close or after
 * `timeoutMs`.
 */
export function tcpExchange(
  port: number,
  send: string | undefined,
  until: (received: string) => boolean,
  timeoutMs = 1_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    const finish = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => {
      if (send === undefined) finish("");
      else sock.write(send);
    });
    sock.on("data", (s: string) => {
      got += s;
      if (until(got)) finish(got);
    });
    sock.on("error", () => finish(undefined));
    sock.on("close", () => finish(undefined));
  });
}
