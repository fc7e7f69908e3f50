/**
 * Servers under test run in their own child process, so their CPU time and
 * RSS can be read alone. CPU and RSS come from /proc (zero interference with
 * the server); IPC is used only for the explicit GC hook of the memory suite.
 *
 * The real `chsk serve` is spawned as users run it, with the same IPC
 * preloaded ({@link spawnChskServe}). Every child is killed by pid when the
 * bench exits, however it exits.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** What a server program prints once it listens: `LISTENING <port>`. */
export const LISTENING = "LISTENING";

/** IPC requests a server program answers (see servers/common.ts). */
export type ServerRequest = { cmd: "gc"; id: number } | { cmd: "stats"; id: number };
export interface ServerStats {
  id: number;
  /** process.memoryUsage() after the request (after GC for `gc`). */
  memory: NodeJS.MemoryUsage;
  /** process.cpuUsage() µs. */
  cpu: NodeJS.CpuUsage;
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime and stime of `pid` in µs (resolution 1/CLK_TCK s, 10 ms on Linux). */
export function procCpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) may contain spaces; everything after the last ')' is fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const us = 1e6 / ticksPerSecond();
  return { user: Number(fields[11]) * us, system: Number(fields[12]) * us };
}

/** utime + stime of `pid` in µs. */
export function procCpuMicros(pid: number): number {
  const c = procCpuSplit(pid);
  return c.user + c.system;
}

/** VmRSS of `pid` in bytes. */
export function procRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface ServerHandle {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Server CPU time so far (user + system, all threads), µs. */
  cpuMicros(): number;
  cpuSplit(): { user: number; system: number };
  rssBytes(): number;
  /** Runs `gc()` in the server (twice) and returns its memory and CPU usage. */
  gc(): Promise<ServerStats>;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;
function killAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of live) {
      if (c.pid !== undefined && c.exitCode === null) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    }
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export interface SpawnOptions {
  /** Extra argv for the server program. */
  args?: string[];
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** @default 20_000 */
  startTimeoutMs?: number;
}

/** Path of a server program in bench/servers. */
export const serverScript = (file: string): string =>
  fileURLToPath(new URL(`../servers/${file}`, import.meta.url));

/**
 * Starts `node --expose-gc --import tsx <script>` and waits for its
 * `LISTENING <port>` line.
 */
export function spawnServer(name: string, script: string, opts: SpawnOptions = {}): Promise<ServerHandle> {
  const re = new RegExp(`^${LISTENING} (\\d+)$`);
  return spawnProgram(name, [script, ...(opts.args ?? [])], (line) => {
    const m = re.exec(line);
    return m ? `http://127.0.0.1:${m[1]}` : undefined;
  }, opts);
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The real `chsk serve` (`node --import tsx src/cli/main.ts serve --port 0
 * --quiet`), with the bench's IPC preloaded (`servers/ipc-hook.ts`: `gc` /
 * `stats` for the memory suite, exit when the bench goes away). Waits for
 * `chsk serve listening on URL`. CHSK_SESSION_SECRET is a fresh random
 * key, so the bench never reads or creates ~/.chsk/session-secret.
 */
export function spawnChskServe(opts: SpawnOptions = {}): Promise<ServerHandle> {
  const argv = ["--import", serverScript("ipc-hook.ts"), `${ROOT}src/cli/main.ts`, "serve", "--host", "127.0.0.1", "--port", "0", "--quiet", ...(opts.args ?? [])];
  return spawnProgram("chsk serve", argv, (line) => /^chsk serve listening on (\S+)/.exec(line)?.[1]?.replace(/\/$/, ""), {
    ...opts,
    env: { CHSK_SESSION_SECRET: randomBytes(32).toString("hex"), ...opts.env },
  });
}

/** A program that prints the reference server's `chsk serve listening on URL` line (fixtures/stalled-server.ts). */
export const spawnListening = (name: string, script: string, opts: SpawnOptions = {}): Promise<ServerHandle> =>
  spawnProgram(name, [script, ...(opts.args ?? [])], (line) => /^chsk serve listening on (\S+)/.exec(line)?.[1]?.replace(/\/$/, ""), opts);

/** Spawns `node --expose-gc [nodeArgs] --import tsx ...argv` and waits for the line `listening` turns into its origin. */
async function spawnProgram(name: string, argv: string[], listening: (line: string) => string | undefined, opts: SpawnOptions): Promise<ServerHandle> {
  killAllOnExit();
  const child = spawn(process.execPath, ["--expose-gc", ...(opts.nodeArgs ?? []), "--import", "tsx", ...argv], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, ...opts.env },
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn failed`);

  const origin = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    let found = false;
    const timer = setTimeout(() => {
      reject(new Error(`${name}: no listening line within ${opts.startTimeoutMs ?? 20_000} ms`));
    }, opts.startTimeoutMs ?? 20_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with ${code} before listening`));
    };
    child.once("exit", onExit);
    rl.on("line", (line) => {
      const o = found ? undefined : listening(line.trim());
      if (o !== undefined) {
        found = true;
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(o);
      } else if (line.trim()) {
        process.stderr.write(`[${name}] ${line}\n`);
      }
    });
  }).catch((e) => {
    if (child.exitCode === null) process.kill(pid, "SIGKILL");
    throw e;
  });

  let nextId = 1;
  const pending = new Map<number, (s: ServerStats) => void>();
  child.on("message", (m: ServerStats) => {
    const done = pending.get(m.id);
    if (done) {
      pending.delete(m.id);
      done(m);
    }
  });
  const ask = (cmd: ServerRequest["cmd"]) =>
    new Promise<ServerStats>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: no answer to ${cmd}`));
      }, 30_000);
      pending.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      child.send({ cmd, id } satisfies ServerRequest);
    });

  return {
    name,
    pid,
    port: Number(new URL(origin).port),
    origin,
    cpuMicros: () => procCpuMicros(pid),
    cpuSplit: () => procCpuSplit(pid),
    rssBytes: () => procRssBytes(pid),
    gc: () => ask("gc"),
    stats: () => ask("stats"),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          if (child.exitCode === null) process.kill(pid, "SIGKILL");
        }, 3_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        process.kill(pid, "SIGTERM");
      }),
  };
}

/** CPU time the whole machine spent busy (all cores, from /proc/stat), µs. */
export function machineBusyMicros(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal …
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return (busy * 1e6) / ticksPerSecond();
}

/** Total CPU time of `pids` (those still alive), µs. */
function pidsCpuMicros(pids: readonly number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      t += procCpuMicros(pid);
    } catch {
      /* gone */
    }
  }
  return t;
}

/**
 * Waits (at most `maxWaitMs`) until the rest of the machine — everything
 * but this process and `ownPids` — uses less than `maxShare` of one core over
 * a `sampleMs` sample. Returns the last measured share, so a caller can
 * report a noisy machine it could not wait out.
 */
export async function waitForQuiet(maxWaitMs: number, maxShare = 0.3, sampleMs = 250, ownPids: readonly number[] = []): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const b0 = machineBusyMicros();
    const c0 = process.cpuUsage();
    const p0 = pidsCpuMicros(ownPids);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, sampleMs));
    const own = process.cpuUsage(c0);
    const share =
      Math.max(0, machineBusyMicros() - b0 - own.user - own.system - (pidsCpuMicros(ownPids) - p0)) / 1000 / (performance.now() - t0);
    if (share < maxShare || Date.now() >= deadline) return share;
  }
}

/**
 * Machine-wide count of connections dropped because a listen queue was full
 * (TcpExt ListenDrops). A drop costs the client a 1 s (then 2 s, …) SYN
 * retry, which shows up as a latency outlier; other processes count too.
 */
export function listenDrops(): number {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((l) => l.startsWith("TcpExt:"));
    const keys = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    return Number(vals[keys.indexOf("ListenDrops")] ?? 0);
  } catch {
    return 0;
  }
}
