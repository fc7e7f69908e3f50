/**
 * `chsk serve`: runs the reference server until `signal` aborts (SIGINT /
 * SIGTERM in the CLI), then closes it gracefully.
 */
import { startReferenceServer, type ReferenceServer, type WebHook, type WebHookFactory } from "../server/demo/app.js";
import { createLogger, type LogFormat, silentLogger } from "../server/demo/logger.js";
import type { PackerName } from "../core/packers/index.js";
import { type CliIo, ExitCode } from "./exit-codes.js";

export interface ServeOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8090 */
  port?: number;
  /** @default "edn" */
  packer?: PackerName;
  /** @default true */
  csrf?: boolean;
  /** @default "all" */
  allowedOrigins?: "all" | readonly string[];
  /** Only the listening line and fatal errors. @default false */
  quiet?: boolean;
  /** @default "text" */
  logFormat?: LogFormat;
  /** Print the demo and dashboard URLs. @default false */
  open?: boolean;
  /** Passed to the web hook. @default false */
  dashboardAdmin?: boolean;
  /** The browser demo page / dashboard (see `WebHook`). */
  web?: WebHook | WebHookFactory;
  /** Server limits (`createServer` options of the same names); unset: the library's defaults. */
  limits?: ServeLimits;
}

export interface ServeLimits {
  maxFrameBytes?: number | undefined;
  maxDepth?: number | undefined;
  maxPendingPollsPerClient?: number | undefined;
  maxPendingPostsPerClient?: number | undefined;
}

export interface ServeDeps extends CliIo {
  /** Aborting closes the server; `runServe` then resolves. */
  signal: AbortSignal;
  /** Called once listening (tests use it to reach the server). */
  onListening?: (server: ReferenceServer) => void;
}

/** exactOptionalPropertyTypes: drop the limits not given. */
const definedOnly = (limits: ServeLimits): { [K in keyof ServeLimits]?: number } =>
  Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));

export const listeningLine = (url: string) => `chsk serve listening on ${url}`;

export async function runServe(options: ServeOptions, deps: ServeDeps): Promise<number> {
  const log = options.quiet
    ? silentLogger
    : createLogger({ format: options.logFormat ?? "text", write: (line) => void deps.stderr.write(`${line}\n`) });
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8090;
  let server: ReferenceServer;
  try {
    server = await startReferenceServer({
      host,
      port,
      packer: options.packer ?? "edn",
      csrf: options.csrf ?? true,
      allowedOrigins: options.allowedOrigins ?? "all",
      log,
      dashboardAdmin: options.dashboardAdmin ?? false,
      serverOptions: definedOnly(options.limits ?? {}),
      ...(options.web === undefined ? {} : { web: options.web }),
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = e instanceof Error ? e.message : String(e);
    deps.stderr.write(`chsk serve: cannot start on ${host}:${port}: ${why}${typeof code === "string" && !why.includes(code) ? ` (${code})` : ""}\n`);
    return ExitCode.FAILED;
  }

  deps.stdout.write(`${listeningLine(server.url)}\n`);
  if (options.open) {
    deps.stdout.write(`demo:      ${server.url}/\ndashboard: ${server.url}/dashboard\n`);
  }
  log.info("ready", {
    packer: server.chsk.packer.name,
    csrf: options.csrf ?? true,
    allowedOrigins: options.allowedOrigins === undefined || options.allowedOrigins === "all" ? "all" : options.allowedOrigins.join(","),
  });
  deps.onListening?.(server);

  if (!deps.signal.aborted) await new Promise((resolve) => deps.signal.addEventListener("abort", resolve, { once: true }));
  log.info("shutting down");
  try {
    await server.close();
  } catch (e) {
    deps.stderr.write(`chsk serve: error while closing: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.FAILED;
  }
  log.info("closed");
  return ExitCode.OK;
}
