/**
 * Shared plumbing for the server programs under test: listen on 127.0.0.1
 * port 0, print `LISTENING <port>`, answer the parent's IPC `gc` / `stats`
 * requests, and exit on SIGTERM, when the parent goes away, or after a hard
 * lifetime cap (so nothing outlives a crashed bench).
 */
import type { Server } from "node:http";
import { installIpc } from "./ipc.js";

export async function serve(server: Server, close: () => Promise<void> | void = () => {}): Promise<void> {
  // Many idle connections in the memory suite: don't let Node time them out.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  server.requestTimeout = 0;
  server.maxConnections = 50_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");

  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    const hard = setTimeout(() => process.exit(0), 2_000);
    hard.unref();
    try {
      await close();
    } catch {
      /* exiting anyway */
    }
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", exit);
  installIpc(() => void exit());

  process.stdout.write(`LISTENING ${addr.port}\n`);
}
