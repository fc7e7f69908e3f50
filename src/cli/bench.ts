/**
 * `chsk bench` and `chsk bench merge`: options in, a report out (the table
 * on stdout, `--json` / `--hlog` / `--html` files), live progress on stderr.
 * The engine is `src/bench`; this file only wires it to a terminal.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { ChskError, isChskError } from "../core/index.js";
import { runBench } from "../bench/engine.js";
import { mergeReports, readReportFile } from "../bench/merge.js";
import { BENCH_DEFAULTS, type BenchOptions } from "../bench/options.js";
import { chooseProgressMode, createProgress } from "../bench/progress/index.js";
import { formatHlog } from "../bench/report/hlog.js";
import { renderHtmlReport } from "../bench/report/html.js";
import { formatRunTable } from "../bench/report/table.js";
import type { BenchReport, TransportChoice } from "../bench/types.js";
import { type CliIo, ExitCode } from "./exit-codes.js";
import { shouldUseColor } from "../inspector/output/use-color.js";

export interface BenchOutputs {
  /** `-` writes the JSON to stdout (and the table to stderr). */
  json?: string;
  hlog?: string;
  html?: string;
}

export interface BenchCommand {
  options: BenchOptions;
  /** Start `chsk serve` for the run (its URL replaces `options.url`). */
  spawn: boolean;
  compare: boolean;
  outputs: BenchOutputs;
  /** No live progress (still the notices and the table). */
  quiet: boolean;
}

export interface BenchIo extends CliIo {
  stderr: CliIo["stderr"] & { isTTY?: boolean };
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** A reference server this command started, restarted on the same port for a reconnect storm. */
interface Spawned {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const LISTENING = /chsk serve listening on (\S+)/;

/** `chsk serve` on 127.0.0.1, from this same CLI entry and Node flags (so tsx works in development). */
async function spawnServer(port = 0, secret: string): Promise<{ child: ChildProcess; url: string }> {
  const args = [...process.execArgv, process.argv[1]!, "serve", "--host", "127.0.0.1", "--port", String(port), "--quiet"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CHSK_SESSION_SECRET: secret } });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => void (err = (err + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ChskError("CHSK_ERR_BENCH_TARGET", "--spawn: chsk serve did not start within 20 s")), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = LISTENING.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new ChskError("CHSK_ERR_BENCH_TARGET", `--spawn: chsk serve exited (${code}) before listening: ${err.trim()}`));
    });
  });
  child.stdout!.resume();
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(t);
}

async function startSpawned(): Promise<Spawned> {
  // Sessions are signed cookies: one secret for the server and its restarts keeps every device's session valid.
  const secret = randomBytes(32).toString("base64url");
  let { child, url } = await spawnServer(0, secret);
  const port = Number(new URL(url).port);
  return {
    url,
    async restart() {
      await stopChild(child);
      ({ child } = await spawnServer(port, secret));
    },
    stop: () => stopChild(child),
  };
}

function writeOutputs(report: BenchReport, outputs: BenchOutputs, io: BenchIo): Promise<void> | void {
  const write = (path: string, text: string) => {
    try {
      writeFileSync(path, text);
    } catch (e) {
      throw new ChskError("CHSK_ERR_FILE", `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  if (outputs.json !== undefined) {
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (outputs.json === "-") io.stdout.write(text);
    else write(outputs.json, text);
  }
  if (outputs.hlog !== undefined) write(outputs.hlog, formatHlog(report));
  if (outputs.html !== undefined) {
    const html = outputs.html;
    return Promise.resolve(renderHtmlReport(report)).then((text) => write(html, text));
  }
}

function fail(e: unknown, io: BenchIo): number {
  const code = isChskError(e) ? e.code : undefined;
  io.stderr.write(`chsk bench: ${e instanceof Error ? e.message : String(e)}${code && !(e as Error).message.includes(code) ? ` (${code})` : ""}\n`);
  if (code === "CHSK_ERR_BENCH_OPTIONS") return ExitCode.USAGE;
  return ExitCode.FAILED;
}

/** `chsk bench`: exit 0 when the run completed (whatever its latencies), 1 when it could not start, 130 when interrupted. */
export async function runBenchCommand(cmd: BenchCommand, io: BenchIo): Promise<number> {
  const env = io.env ?? process.env;
  const progress = cmd.quiet ? undefined : createProgress({ stream: io.stderr as NodeJS.WriteStream, ...chooseProgressMode(io.stderr, env) });
  const notice = (line: string) => (progress ? progress.log(`note: ${line}`) : io.stderr.write(`chsk bench: note: ${line}\n`));
  let spawned: Spawned | undefined;
  let report: BenchReport;
  try {
    const options = { ...cmd.options };
    if (cmd.spawn) {
      spawned = await startSpawned();
      options.url = `${spawned.url}/chsk`;
      notice(`spawned chsk serve at ${spawned.url}`);
    }
    const needsUsers = options.scenario === "push" || options.scenario === "mixed";
    const a = options.auth;
    if (needsUsers && a.loginPath === undefined && a.setupModule === undefined && !a.cookies?.length && !a.headers?.length && !a.params?.length) {
      // Pushes go to a user: anonymous devices all share the nil uid, so log the users in by the reference contract.
      options.auth = { ...a, loginPath: "/login" };
      notice("push goes to users: logging each user in with POST /login (set --login-path, --cookie/--header/--param or --setup for your app's way)");
    }
    const transports: TransportChoice[] = cmd.compare ? ["ws", "ajax"] : [options.transport];
    report = await runBench(options, {
      transports,
      signal: io.signal,
      onNotice: notice,
      ...(progress ? { onProgress: (s) => progress.update(s) } : {}),
      ...(spawned && options.scenario === "connect" && options.reconnectStorm ? { restartServer: () => spawned!.restart() } : {}),
    });
    await progress?.close();
  } catch (e) {
    await progress?.close();
    await spawned?.stop();
    return fail(e, io);
  }
  await spawned?.stop();
  try {
    await writeOutputs(report, cmd.outputs, io);
  } catch (e) {
    return fail(e, io);
  }
  const table = formatRunTable(report, { color: shouldUseColor(io.stdout as NodeJS.WriteStream, env) });
  (cmd.outputs.json === "-" ? io.stderr : io.stdout).write(`${table}\n`);
  return io.signal?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** `chsk bench merge FILE...`: one report from several segments' `--json` files. */
export async function runBenchMerge(files: string[], outputs: BenchOutputs, io: BenchIo): Promise<number> {
  let report: BenchReport;
  try {
    report = mergeReports(await Promise.all(files.map((f) => readReportFile(f))), files);
    await writeOutputs(report, outputs, io);
  } catch (e) {
    return fail(e, io);
  }
  const table = formatRunTable(report, { color: shouldUseColor(io.stdout as NodeJS.WriteStream, io.env ?? process.env) });
  (outputs.json === "-" ? io.stderr : io.stdout).write(`${table}\n`);
  return ExitCode.OK;
}

export { BENCH_DEFAULTS };
