/**
 * The package as a newcomer gets it. A staged copy of this checkout is
 * packed with `npm pack` (its `prepare` script builds dist/ in the copy, so
 * the shared dist/ that other tests read is never rewritten mid-suite, and a
 * stale file left in dist/ by a renamed source cannot slip into the
 * tarball). The tarball goes into a fresh `"type": "module"` project with
 * `@types/node`, `typescript` and `tsx` (the versions this repo uses, so the
 * npm cache warmed by `npm ci` serves them). Then:
 *
 * - the tarball holds dist/ (with the browser files), LICENSE and README,
 *   and no sources, tests or source maps pointing at missing sources;
 * - its runtime `dependencies` are exactly the packages its dist/ code
 *   imports, and its public types pull in no other package's types;
 * - the README quick start's files, taken exactly as written, type-check
 *   (strict, `skipLibCheck: false`, NodeNext) and, run with the README's
 *   commands, print a reply and a push, then exit by themselves;
 * - the installed `chsk` binary answers `--help`, and `chsk serve` serves
 *   its pages and answers `chsk call`.
 *
 * README markers (only inside "## Library quick start"): an HTML comment
 * `<!-- file: NAME -->` on the line right before a fenced block makes that
 * block the file NAME; `<!-- output: NAME -->` before a block lists lines
 * that running NAME must print (in any order; `8080` stands for the port
 * the test picks, passed as `$PORT`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import * as esbuild from "esbuild";
import { LISTENING, ROOT, waitFor } from "./cli.js";

/** Top-level entries of the checkout that a pack never needs (or that the build recreates). */
const NOT_STAGED = new Set([".git", "node_modules", "dist", "artifacts", ".scratch", ".tmp"]);

/**
 * devDependencies that dist/ code may load with a dynamic `import()`:
 * esbuild, which the web UI loads only when it runs from the TypeScript
 * sources (to bundle the pages in memory), never from dist/.
 */
const BUILD_ONLY: ReadonlySet<string> = new Set(["esbuild"]);

/** Packages whose types a consumer's program may contain besides chsk's own. */
const TYPE_PACKAGES = /\/node_modules\/(chsk|typescript|@typescript\/[^/]+|@types\/node|undici-types)\//;

const INSTALL_TIMEOUT_MS = 90_000;
const RUN_TIMEOUT_MS = 30_000;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  proc: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<Finished>;
  /** Signals the process group (npx and the processes it starts), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** Environment for child npm/node processes: none of a parent `npm test`'s package or lifecycle variables. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_/i.test(k)) continue;
    if (/^npm_config_(local_prefix|prefix|global)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

const running = new Set<Running>();

/**
 * Starts `command` in its own process group, so that `npx`, and the node
 * process it starts in turn, can be stopped together by the group's pid.
 * SIGKILLed after `timeoutMs`.
 */
function start(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = RUN_TIMEOUT_MS): Running {
  const proc = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-proc.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };
  const timer = setTimeout(() => signalGroup("SIGKILL"), timeoutMs);
  const run: Running = {
    proc,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    // "close" waits for every holder of the pipes, i.e. also npx's children.
    done: new Promise<Finished>((resolve) => {
      proc.on("close", (code, signal) => {
        clearTimeout(timer);
        running.delete(run);
        resolve({ code, signal, stdout, stderr });
      });
      proc.on("error", (e) => {
        stderr += `spawn failed: ${e.message}\n`;
      });
    }),
    stop(signal = "SIGTERM") {
      signalGroup(signal);
      return run.done;
    },
  };
  running.add(run);
  return run;
}

const exec = (cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<Finished> =>
  start(cwd, command, args, env, timeoutMs).done;

/** One line per step, printed as test diagnostics: where the time goes. */
const timings: string[] = [];
async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings.push(`${what}: ${Math.round(performance.now() - t0)} ms`);
  }
}

const tail = (s: string, n = 25): string => s.trimEnd().split("\n").slice(-n).join("\n");

/** A port that was free a moment ago (the quick-start server takes its port from `$PORT`). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

interface QuickStart {
  files: Map<string, string>;
  outputs: Map<string, string[]>;
  text: string;
}

/** The blocks marked `<!-- file: … -->` / `<!-- output: … -->` in the README's library quick start. */
function readQuickStart(): QuickStart {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const from = readme.indexOf("\n## Library quick start\n");
  assert.ok(from >= 0, 'README.md has no "## Library quick start" section');
  const end = readme.indexOf("\n## ", from + 1);
  const text = readme.slice(from, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  const outputs = new Map<string, string[]>();
  for (const m of text.matchAll(/^<!-- (file|output): (\S+) -->\n(`{3,})[^\n]*\n([\s\S]*?)^\3\s*$/gm)) {
    const [, kind, name, , body] = m as unknown as [string, string, string, string, string];
    if (kind === "file") files.set(name, body);
    else outputs.set(name, body.split("\n").filter((l) => l.trim() !== ""));
  }
  return { files, outputs, text };
}

/** Bare package name of an import specifier (`ws`, `@scope/pkg`), or undefined for relative, URL and builtin ones. */
function packageName(spec: string): string | undefined {
  if (/^(\.|\/|[a-z]+:)/i.test(spec)) return undefined;
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every import in the package's `.js` files: esbuild parses them and a plugin records each specifier. */
async function importsOf(pkgDir: string): Promise<{ spec: string; importer: string; kind: string }[]> {
  const found: { spec: string; importer: string; kind: string }[] = [];
  const entryPoints = walk(join(pkgDir, "dist")).filter((f) => f.endsWith(".js"));
  await esbuild.build({
    entryPoints,
    bundle: true,
    write: false,
    outdir: join(pkgDir, ".scan"),
    platform: "node",
    format: "esm",
    logLevel: "silent",
    plugins: [
      {
        name: "record-imports",
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === "entry-point") return undefined;
            found.push({ spec: args.path, importer: relative(pkgDir, args.importer), kind: args.kind });
            // Follow relative imports (the scan covers every file anyway); keep everything else out.
            return /^\.\.?\//.test(args.path) ? undefined : { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return found;
}

describe("the packed package, installed into a fresh project", () => {
  let tmp: string;
  let app: string;
  let tarball: string;
  let tarFiles: string[];
  const qs = readQuickStart();

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "chsk-package-"));
    const stage = join(tmp, "stage");
    const packDir = join(tmp, "pack");
    app = join(tmp, "app");
    mkdirSync(packDir);
    mkdirSync(app);

    await timed("stage a copy of the checkout", async () => {
      cpSync(ROOT, stage, {
        recursive: true,
        filter: (src) => !NOT_STAGED.has(relative(ROOT, src).split(/[\\/]/)[0]!),
      });
      symlinkSync(join(ROOT, "node_modules"), join(stage, "node_modules"), "dir");
    });

    const packed = await timed("npm pack (prepare: tsc + esbuild)", () =>
      exec(stage, "npm", ["pack", "--json", "--pack-destination", packDir], childEnv(), INSTALL_TIMEOUT_MS),
    );
    assert.equal(packed.code, 0, `npm pack failed (the prepare script builds dist/):\n${tail(packed.stdout)}\n${tail(packed.stderr)}`);
    // The prepare script's own output comes first on stdout; npm's JSON report is last.
    const json = packed.stdout.slice(packed.stdout.search(/^\[\s*\{/m));
    const report = JSON.parse(json) as [{ filename: string; files: { path: string }[] }];
    tarball = join(packDir, report[0].filename);
    tarFiles = report[0].files.map((f) => f.path);

    const version = (name: string): string =>
      (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "chsk-quickstart", private: true, type: "module" }, null, 2));
    const args = ["install", "--prefer-offline", "--no-audit", "--no-fund", "--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000", "--fetch-timeout=30000"];
    const wanted = [tarball, `@types/node@${version("@types/node")}`, `typescript@${version("typescript")}`, `tsx@${version("tsx")}`];
    const installed = await timed("npm install (tarball, @types/node, typescript, tsx)", () =>
      exec(app, "npm", [...args, ...wanted], childEnv(), INSTALL_TIMEOUT_MS),
    );
    assert.ok(
      installed.code === 0,
      installed.signal === "SIGKILL"
        ? `npm install took over ${INSTALL_TIMEOUT_MS} ms: is the npm registry reachable? (this test expects the npm cache warmed by \`npm ci\`)\n${tail(installed.stderr)}`
        : `npm install failed${/E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT)|ENOTCACHED|network/i.test(installed.stderr) ? " (the npm registry is unreachable and the npm cache lacks a package)" : ""}:\n${tail(installed.stderr)}`,
    );
  });

  after(async () => {
    for (const r of [...running]) await r.stop("SIGKILL");
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    console.log(`package test, where the time goes:\n  ${timings.join("\n  ")}`);
  });

  test("the tarball holds dist/ with the browser files, LICENSE and README, and no sources or tests", () => {
    const has = new Set(tarFiles);
    for (const f of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/cli/main.js", "dist/web/chsk-client.js", "dist/web/chsk-client.js.map", "dist/web/assets/dashboard.js", "dist/web/assets/third-party-licenses.txt"]) {
      assert.ok(has.has(f), `${f} is missing from the tarball`);
    }
    const pkg = JSON.parse(readFileSync(join(app, "node_modules", "chsk", "package.json"), "utf8")) as {
      exports: Record<string, unknown>;
      bin: Record<string, string>;
      types: string;
    };
    // Every target of `exports`, `types` and `bin` is in the tarball.
    const targets: string[] = [pkg.types, ...Object.values(pkg.bin)];
    const collect = (v: unknown): void => {
      if (typeof v === "string") targets.push(v);
      else if (v !== null && typeof v === "object") Object.values(v).forEach(collect);
    };
    collect(pkg.exports);
    for (const t of targets) assert.ok(has.has(t.replace(/^\.\//, "")), `${t} (named in package.json) is missing from the tarball`);
    assert.match(readFileSync(join(app, "node_modules", "chsk", pkg.bin["chsk"]!), "utf8"), /^#!\/usr\/bin\/env node\n/);
    assert.match(readFileSync(join(app, "node_modules", "chsk", "LICENSE"), "utf8"), /^MIT License\n\nCopyright \(c\) 2026 the chsk authors\n/);

    const unwanted = tarFiles.filter(
      (f) =>
        !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(f) ||
        (/\.ts$/.test(f) && !f.endsWith(".d.ts")) ||
        // tsc's source maps point at src/, which is not shipped; dist/web's maps embed their sources.
        (f.endsWith(".map") && !f.startsWith("dist/web/")) ||
        // Browser page sources compiled by tsc; dist/web has their bundles.
        (f.includes("/pages/") && !f.startsWith("dist/web/")),
    );
    assert.deepEqual(unwanted, [], "files that do not belong in the package");
  });

  test("dependencies are exactly the packages dist/ imports; browser bundles import none", async () => {
    const pkgDir = join(app, "node_modules", "chsk");
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    const imports = await importsOf(pkgDir);
    const byPackage = new Map<string, Set<string>>();
    for (const { spec, importer, kind } of imports) {
      const name = packageName(spec);
      if (name === undefined || name === "chsk") continue;
      if (importer.startsWith("dist/web/")) assert.fail(`the browser bundle ${importer} imports ${spec}`);
      if (BUILD_ONLY.has(name) && kind === "dynamic-import") continue;
      byPackage.set(name, (byPackage.get(name) ?? new Set()).add(importer));
    }
    const report = [...byPackage].map(([n, f]) => `${n} <- ${[...f].join(", ")}`).join("\n  ");
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}).sort(), [...byPackage.keys()].sort(), `dist/ imports:\n  ${report}`);
  });

  test("the README quick start type-checks (strict, skipLibCheck: false, NodeNext), as do every entry point and the browser client's types", async () => {
    assert.ok(qs.files.has("server.ts") && qs.files.has("client.ts"), "the quick start marks server.ts and client.ts with <!-- file: … -->");
    for (const [name, body] of qs.files) writeFileSync(join(app, name), body);
    writeFileSync(
      join(app, "entries.ts"),
      ['import * as root from "chsk";', 'import * as server from "chsk/server";', 'import * as client from "chsk/client";', 'import * as core from "chsk/core";', "export const entries = [root, server, client, core];", ""].join("\n"),
    );
    const strict = { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022" };
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { ...strict, module: "NodeNext", moduleResolution: "NodeNext", types: ["node"] }, include: [...qs.files.keys(), "entries.ts"] }, null, 2),
    );
    // A browser project: bundler resolution with the "browser" condition, no Node types. The
    // clients' `Symbol.asyncDispose` needs a lib that declares it (@types/node does in Node).
    writeFileSync(
      join(app, "browser.ts"),
      ['import { createClient } from "chsk/client";', 'import { writeEdn } from "chsk/core";', 'const client = createClient({ url: "/chsk" });', "client.on(\"recv\", (event) => { document.title = writeEdn(event); });", ""].join("\n"),
    );
    writeFileSync(
      join(app, "tsconfig.browser.json"),
      JSON.stringify({ compilerOptions: { ...strict, module: "ESNext", moduleResolution: "Bundler", customConditions: ["browser"], lib: ["ES2022", "DOM", "ESNext.Disposable"], types: [] }, include: ["browser.ts"] }, null, 2),
    );

    const node = await timed("tsc: quick start + entry points (NodeNext)", () => exec(app, "npx", ["tsc", "-p", "tsconfig.json", "--listFiles"], childEnv()));
    assert.equal(node.code, 0, `tsc (NodeNext):\n${node.stdout}\n${node.stderr}`);
    const foreign = node.stdout.split("\n").filter((f) => f.includes("/node_modules/") && !TYPE_PACKAGES.test(f));
    assert.deepEqual(foreign, [], "chsk's public types pull in types from packages a user did not install");

    const browser = await timed("tsc: chsk/client for browsers (Bundler)", () => exec(app, "npx", ["tsc", "-p", "tsconfig.browser.json", "--listFiles"], childEnv()));
    assert.equal(browser.code, 0, `tsc (browser):\n${browser.stdout}\n${browser.stderr}`);
    assert.ok(browser.stdout.includes("/chsk/dist/core/client/index.d.ts"), "the browser condition resolves chsk/client to the browser build's types");
    assert.ok(!browser.stdout.includes("/index.node.d.ts") && !browser.stdout.includes("@types/node"), "the browser types reach into Node's");
  });

  test("the README quick start runs as pasted: the client prints the reply and the push, and both exit by themselves", async () => {
    for (const [name, body] of qs.files) writeFileSync(join(app, name), body);
    for (const cmd of ["npm i chsk", "npx tsx server.ts", "npx tsx client.ts"]) assert.ok(qs.text.includes(cmd), `the quick start says \`${cmd}\``);
    const expectServer = qs.outputs.get("server.ts");
    const expectClient = qs.outputs.get("client.ts");
    assert.ok(expectServer && expectClient, "the quick start shows the output of server.ts and client.ts with <!-- output: … -->");
    assert.ok(expectClient.some((l) => l.startsWith("reply:")) && expectClient.some((l) => l.startsWith("push:")), "the shown client output has a reply and a push");

    const port = await freePort();
    const env = childEnv({ PORT: String(port) });
    const t0 = performance.now();
    const server = start(app, "npx", ["tsx", "server.ts"], env);
    let serverExit: Finished | undefined;
    void server.done.then((f) => (serverExit = f));
    await waitFor(
      () => {
        if (serverExit) throw new Error(`server.ts exited early (${serverExit.code}):\n${serverExit.stdout}\n${serverExit.stderr}`);
        return /^listening on /m.test(server.stdout) ? true : undefined;
      },
      20_000,
      "server.ts to listen",
    );
    timings.push(`quick start: server.ts listening: ${Math.round(performance.now() - t0)} ms`);

    const client = await timed("quick start: client.ts, start to exit", () => exec(app, "npx", ["tsx", "client.ts"], env));
    assert.equal(client.code, 0, `client.ts did not exit by itself with 0 (${client.code} ${client.signal}):\n${client.stdout}\n${client.stderr}`);
    const clientLines = client.stdout.split("\n");
    for (const line of expectClient) assert.ok(clientLines.includes(line), `client.ts did not print ${JSON.stringify(line)}; it printed:\n${client.stdout}${client.stderr}`);

    // It stops once alice has left (after the server's reconnect grace period).
    const done = await timed("quick start: server.ts, client exit to server exit", () => server.done);
    assert.equal(done.code, 0, `server.ts did not exit by itself with 0 (${done.code} ${done.signal}):\n${done.stdout}\n${done.stderr}`);
    const serverLines = done.stdout.split("\n");
    for (const line of expectServer.map((l) => l.replaceAll("8080", String(port)))) {
      assert.ok(serverLines.includes(line), `server.ts did not print ${JSON.stringify(line)}; it printed:\n${done.stdout}${done.stderr}`);
    }
  });

  test("npx chsk --help and npx chsk serve --port 0 work from the installed package", async () => {
    // Sessions are signed with this key instead of creating ~/.chsk/session-secret.
    const env = childEnv({ CHSK_SESSION_SECRET: "package-test-session-secret-0123456789" });
    const help = await timed("npx chsk --help", () => exec(app, "npx", ["chsk", "--help"], env));
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^\s+serve\b/m);
    assert.match(help.stdout, /^\s+call\b/m);

    const t0 = performance.now();
    const serve = start(app, "npx", ["chsk", "serve", "--port", "0"], env);
    let exited: Finished | undefined;
    void serve.done.then((f) => (exited = f));
    const url = await waitFor(
      () => {
        if (exited) throw new Error(`chsk serve exited early (${exited.code}):\n${exited.stderr}`);
        return LISTENING.exec(serve.stdout)?.[1];
      },
      20_000,
      "the listening line",
    );
    timings.push(`npx chsk serve: listening: ${Math.round(performance.now() - t0)} ms`);

    // The browser files come from the package's dist/web.
    const res = await fetch(`${url}/chsk-client.js`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^\/\*! chsk browser file/);
    const call = await timed("npx chsk call (echo)", () => exec(app, "npx", ["chsk", "call", `${url}/chsk`, "[:demo/echo {:a 1}]"], env));
    assert.equal(call.stdout, "{:a 1}\n", call.stderr);
    assert.equal(call.code, 0);

    const stopped = await serve.stop("SIGTERM");
    assert.match(stopped.stderr, /\bclosed\b/, `chsk serve did not shut down gracefully:\n${stopped.stderr}`);
  });
});
