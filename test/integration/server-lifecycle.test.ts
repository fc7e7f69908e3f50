/**
 * close(), AbortSignal, attach/detach, and the exit fixture.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { createServer } from "../../src/server/index.js";
import { ajaxGet, openPeer, startServer, withTimeout } from "./server-helpers.js";

describe("server lifecycle", () => {
  it("close(): WS peers get 1001, held polls are answered, buffered pushes flushed first; idempotent", async () => {
    const srv = await startServer({ lpTimeoutMs: 10_000 });
    const { peer } = await openPeer(srv.port, "client-id=l1&uid=lu");
    await ajaxGet(srv.base, "client-id=l2&uid=lu2&handshake%3F=1");
    const poll = ajaxGet(srv.base, "client-id=l2&uid=lu2");
    await srv.nextEvent((m) => m.id === "chsk/uidport-open" && m.data === "lu2");
    srv.chsk.send("lu", ["my/last", 1]);
    const p1 = srv.chsk.close();
    const p2 = srv.chsk.close();
    assert.equal(p1, p2);
    assert.equal(await peer.next(), "[[[:my/last 1]] nil]");
    assert.equal((await withTimeout(peer.closed, 3000, "close")).code, 1001);
    assert.equal((await poll).body, "[:chsk/timeout nil]");
    await p1;
    // Closed: sends are ignored, the registry is empty.
    srv.chsk.send("lu", ["my/ignored", 1]);
    assert.deepEqual(srv.chsk.clients(), []);
    assert.equal(srv.chsk.connectedUids.any.size, 0);
    await srv.stop();
  });

  it("an aborted signal closes the server; Symbol.asyncDispose closes too", async () => {
    const ac = new AbortController();
    const chsk = createServer({ csrfToken: null, signal: ac.signal });
    const http = createHttpServer((req, res) => {
      if (!chsk.handleRequest(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      assert.equal((await ajaxGet(base, "client-id=s1&handshake%3F=1")).status, 200);
      ac.abort();
      assert.equal((await ajaxGet(base, "client-id=s1&handshake%3F=1")).status, 503);
      {
        await using disposable = createServer({ csrfToken: null });
        assert.equal(typeof disposable.close, "function");
      }
      const pre = new AbortController();
      pre.abort();
      const dead = createServer({ csrfToken: null, signal: pre.signal });
      await dead.close();
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  it("attach() leaves other paths to the previous listeners; detach restores them", async () => {
    const chsk = createServer({ csrfToken: null });
    const http = createHttpServer((_req, res) => res.writeHead(418).end("app"));
    const detach = chsk.attach(http);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/other`).then((r) => r.status)), 418);
      assert.equal((await ajaxGet(base, "client-id=d1&handshake%3F=1")).status, 200);
      detach();
      assert.equal((await ajaxGet(base, "client-id=d1&handshake%3F=1")).status, 418);
    } finally {
      await chsk.close();
      http.closeAllConnections();
      http.close();
    }
  });

  it("close() leaves no open handles: the exit fixture ends by itself", async () => {
    const fixture = fileURLToPath(new URL("../fixtures/exit/server-close.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let code: number | null;
    try {
      code = await withTimeout(exited, 8000, "the fixture to exit");
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }
    assert.equal(code, 0, err);
    assert.match(out, /closed ws=1001 poll=\[:chsk\/timeout nil\]/);
  });
});
