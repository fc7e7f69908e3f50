/**
 * A Node client and the life of its process, with real child processes
 * (`test/fixtures/exit/client-*.ts`) against a real server that is stopped
 * and restarted on the same port:
 *
 * - a client that means to be connected keeps its process alive while it
 *   waits to reconnect (as socket.io-client does), reconnects after the
 *   restart and gets a push;
 * - once `close()` / `disconnect()` is called (or after a clean open and
 *   close), the process exits by itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createServer } from "../../src/server/index.js";
import type { ChskServer } from "../../src/server/types.js";
import { withTimeout } from "./server-helpers.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/exit/${name}`, import.meta.url));

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

interface Served {
  chsk: ChskServer;
  stop(): Promise<void>;
}

/** A chsk server on a fixed port (uid from the `uid` query param). */
async function serveOn(port: number): Promise<Served> {
  const chsk = createServer({ csrfToken: null, userId: (req) => req.query["uid"] ?? null });
  const http: Server = createHttpServer();
  chsk.attach(http);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", resolve);
  });
  return {
    chsk,
    async stop() {
      await chsk.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** A fixture process whose stdout lines can be awaited; failing fast if it exits first. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters = new Set<() => void>();
  #partial = "";

  constructor(name: string, args: string[]) {
    this.proc = spawn(process.execPath, ["--import", "tsx", fixture(name), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
      const parts = (this.#partial + s).split("\n");
      this.#partial = parts.pop()!;
      this.lines.push(...parts);
      this.#wake();
    });
    this.proc.stderr!.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) =>
      this.proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        this.#wake();
        resolve(this.exit);
      }),
    );
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Waits for the `n`-th line (1-based) matching `re`; rejects if the process exits first. */
  line(re: RegExp, n = 1, timeoutMs = 15_000): Promise<string> {
    const find = () => this.lines.filter((l) => re.test(l))[n - 1];
    return withTimeout(
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const l = find();
          if (l !== undefined) {
            this.#waiters.delete(check);
            resolve(l);
          } else if (this.exit !== undefined) {
            this.#waiters.delete(check);
            reject(new Error(`the client process exited (code ${this.exit.code}) before printing ${re} #${n}; it printed ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`));
          }
        };
        this.#waiters.add(check);
        check();
      }),
      timeoutMs,
      `${re} #${n} (printed so far: ${JSON.stringify(this.lines)})`,
    );
  }

  kill(): Promise<unknown> {
    if (this.exit === undefined) this.proc.kill("SIGTERM");
    return this.exited;
  }
}

describe("a Node client's process", () => {
  test("stays alive while it waits to reconnect: started before its server, then through a restart on the same port, it reopens and gets a push", { timeout: 60_000 }, async () => {
    const port = await freePort();
    // The README quick start's shape: a top-level `await whenOpen()`, run before the server.
    const child = new Child("client-reconnect.ts", [`http://127.0.0.1:${port}/chsk`, "300"]);
    let server: Served | undefined;
    try {
      await child.line(/^waiting$/);
      server = await serveOn(port);
      await child.line(/^open /);
      await child.line(/^whenOpen resolved$/);

      await server.stop();
      server = undefined;
      await child.line(/^closed /);
      // Retry 1 is immediate and fails (nothing listens); the retry after it is armed.
      await child.line(/^waiting$/, 2);
      assert.equal(child.exit, undefined, "the process exited while waiting to reconnect");

      server = await serveOn(port);
      await child.line(/^open /, 2);
      server.chsk.send("kid", ["test/after-restart", { n: 1 }], { flush: true });
      assert.equal(await child.line(/^recv /), 'recv ["test/after-restart",{"n":1}]');
    } finally {
      await child.kill();
      await server?.stop();
    }
  });

  for (const mode of ["close", "disconnect"] as const) {
    test(`exits by itself once ${mode}() is called while a reconnect is armed`, { timeout: 30_000 }, async () => {
      const port = await freePort();
      const child = new Child("client-close.ts", [`http://127.0.0.1:${port}/chsk`, mode]);
      try {
        const exit = await withTimeout(child.exited, 15_000, "the process to exit by itself");
        assert.deepEqual(exit, { code: 0, signal: null }, child.stderr);
        assert.deepEqual(child.lines, [`${mode} done: not open`]);
      } finally {
        await child.kill();
      }
    });
  }

  test("exits by itself after its client opened and was closed", { timeout: 30_000 }, async () => {
    const port = await freePort();
    const server = await serveOn(port);
    const child = new Child("client-close.ts", [`http://127.0.0.1:${port}/chsk`, "open-close"]);
    try {
      const exit = await withTimeout(child.exited, 15_000, "the process to exit by itself");
      assert.deepEqual(exit, { code: 0, signal: null }, child.stderr);
      assert.deepEqual(child.lines, ["open-close done: not open"]);
    } finally {
      await child.kill();
      await server.stop();
    }
  });
});
