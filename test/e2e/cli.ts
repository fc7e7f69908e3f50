/**
 * Helpers for the e2e tests: run the real CLI as a user would
 * (`node --import tsx src/cli/main.ts …`, cwd = repo root), bounded by
 * timeouts, killing only the processes started here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  proc: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process exits (killed with SIGKILL after the run's timeout). */
  done: Promise<Finished>;
}

export interface StartOptions {
  /** "pipe": write to `proc.stdin`. @default "ignore" (/dev/null) */
  stdin?: "ignore" | "pipe";
  env?: Record<string, string>;
}

export function startCli(args: string[], timeoutMs = 30_000, options: StartOptions = {}): Running {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  let stdout = "";
  let stderr = "";
  proc.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const done = new Promise<Finished>((resolve) => {
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    proc,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}

/** Run the CLI to completion. */
export const runCli = (args: string[], timeoutMs?: number): Promise<Finished> => startCli(args, timeoutMs).done;

/** Poll `check` until it returns a value (not undefined), or fail after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const LISTENING = /^chsk serve listening on (http:\/\/\S+)$/m;

export interface Served extends Running {
  url: string;
  port: number;
  /** SIGTERM, then wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** `chsk serve --port 0 …`, resolved once the listening line is out. */
export async function serve(args: string[] = [], timeoutMs = 120_000, options: StartOptions = {}): Promise<Served> {
  const run = startCli(["serve", "--port", "0", ...args], timeoutMs, options);
  let exited: Finished | undefined;
  void run.done.then((f) => (exited = f));
  const url = await waitFor(
    () => {
      if (exited) throw new Error(`chsk serve exited early (${exited.code}): ${exited.stderr}`);
      return LISTENING.exec(run.stdout)?.[1];
    },
    20_000,
    "the listening line",
  );
  return Object.assign(run, {
    url,
    port: Number(new URL(url).port),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (run.proc.exitCode === null && run.proc.signalCode === null) run.proc.kill(signal);
      return run.done;
    },
  });
}
