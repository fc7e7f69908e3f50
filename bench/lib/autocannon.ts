/**
 * autocannon's CPU per HTTP request, against a server the bench spawned:
 * autocannon runs alone in a child process (`autocannon-child.mjs`, plain
 * `node`, no tsx), which reports its own `process.cpuUsage()` with each of
 * autocannon's one-second progress ticks; the server's CPU is read from
 * /proc when each tick arrives. The first `warmupS` ticks are warm-up; the
 * window runs from the end of the warm-up to the last full second.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { machineBusyMicros, type ServerHandle } from "./proc.js";

export interface AutocannonSettings {
  connections: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining). */
  pipelining: number;
  warmupS: number;
  durationS: number;
  /** The POST body (the raw-http server echoes it). @default "12345" */
  body?: string;
}

export interface AutocannonResult {
  connections: number;
  pipelining: number;
  windowS: number;
  requests: number;
  reqPerSec: number;
  /** autocannon's process (every thread) per request, and its kernel share. */
  genCpuUsPerReq: number;
  genSysCpuUsPerReq: number;
  genCpuShare: number;
  serverCpuUsPerReq: number;
  serverCpuShare: number;
  /** Busy CPU of the rest of the machine / wall (other processes, kernel work charged to neither). */
  otherCpuShare: number;
  errors: number;
  non2xx: number;
  latencyMs: { p50: number; p99: number };
}

interface Tick {
  tick: number;
  counter: number;
  user: number;
  system: number;
}
interface Done {
  done: true;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latencyMs: { p50: number; p99: number };
}

const CHILD = fileURLToPath(new URL("./autocannon-child.mjs", import.meta.url));

export async function runAutocannon(server: ServerHandle, url: string, s: AutocannonSettings): Promise<AutocannonResult> {
  const seconds = s.warmupS + s.durationS;
  const child = spawn(process.execPath, [CHILD, url, String(s.connections), String(s.pipelining), String(seconds), s.body ?? "12345"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("autocannon: spawn failed");
  const ticks: { t: Tick; server: number; busy: number }[] = [];
  let done: Done | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`autocannon: no result within ${seconds + 20} s`)), (seconds + 20) * 1000);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const m = JSON.parse(line) as Tick | Done;
        if ("done" in m) done = m;
        else ticks.push({ t: m, server: server.cpuMicros(), busy: machineBusyMicros() });
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        if (done) resolve();
        else reject(new Error(`autocannon exited with ${code} before its result`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
  }
  // Tick k closes second k; the last full second is `seconds` (autocannon adds a final empty tick when it stops).
  const full = ticks.filter((x) => x.t.tick <= seconds);
  const from = full.find((x) => x.t.tick === s.warmupS);
  const to = full[full.length - 1];
  if (!done || !from || !to || to === from) throw new Error("autocannon: too few progress ticks to measure a window");
  const requests = full.filter((x) => x.t.tick > s.warmupS).reduce((a, x) => a + x.t.counter, 0);
  if (requests === 0) throw new Error("autocannon: no responses in the measured window");
  const windowS = to.t.tick - from.t.tick;
  const genUs = to.t.user + to.t.system - (from.t.user + from.t.system);
  const serverUs = to.server - from.server;
  return {
    connections: s.connections,
    pipelining: s.pipelining,
    windowS,
    requests,
    reqPerSec: requests / windowS,
    genCpuUsPerReq: genUs / requests,
    genSysCpuUsPerReq: (to.t.system - from.t.system) / requests,
    genCpuShare: genUs / 1e6 / windowS,
    serverCpuUsPerReq: serverUs / requests,
    serverCpuShare: serverUs / 1e6 / windowS,
    otherCpuShare: Math.max(0, to.busy - from.busy - genUs - serverUs) / 1e6 / windowS,
    errors: done.errors + done.timeouts,
    non2xx: done.non2xx,
    latencyMs: done.latencyMs,
  };
}
