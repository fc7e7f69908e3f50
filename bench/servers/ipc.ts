/**
 * The bench's side channel into a server process: answers the parent's IPC
 * `gc` / `stats` requests (the memory suite's explicit GC), and ends the
 * process when the bench goes away or after a hard lifetime cap, so nothing
 * outlives a crashed bench.
 */
import type { ServerRequest, ServerStats } from "../lib/proc.js";

const MAX_LIFETIME_MS = 10 * 60_000;

export function installIpc(exit: () => void): void {
  process.on("disconnect", exit);
  setTimeout(exit, MAX_LIFETIME_MS).unref();
  process.on("message", (m: ServerRequest) => {
    if (m.cmd === "gc") {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
    }
    const answer: ServerStats = { id: m.id, memory: process.memoryUsage(), cpu: process.cpuUsage() };
    process.send?.(answer);
  });
}
