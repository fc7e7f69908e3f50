/**
 * The inspector's proxy source in front of TARGET, with a consumer of its
 * events, in-process:
 *
 * - `decode` (default): every event decoded (`createFrameDecoder`), the
 *   record discarded;
 * - `jsonl`: the pipeline of `chsk inspect --proxy --no-tui --format jsonl
 *   > /dev/null` (`createInspectSession`: decoded, held, written as JSONL);
 * - `none`: no listener (forwarding and frame reading only).
 *
 * Prints `LISTENING <port>` and answers the bench's IPC like the other
 * server programs (see ./common.ts).
 *
 *   node --import tsx bench/servers/inspect-proxy.ts http://127.0.0.1:PORT [decode|jsonl|none]
 */
import { createWriteStream } from "node:fs";
import { createFrameDecoder } from "../../src/core/index.js";
import { createInspectSession } from "../../src/inspector/inspect-session.js";
import { createJsonlWriter } from "../../src/inspector/output/jsonl-writer.js";
import { createProxySource } from "../../src/inspector/sources/proxy.js";
import type { ServerRequest, ServerStats } from "../lib/proc.js";

const MAX_LIFETIME_MS = 10 * 60_000;
const [target, consumer = "decode"] = process.argv.slice(2);
if (target === undefined || !["decode", "jsonl", "none"].includes(consumer)) throw new Error("usage: inspect-proxy.ts TARGET_URL [decode|jsonl|none]");

const proxy = createProxySource({ target, listen: "127.0.0.1:0" });
const decoder = createFrameDecoder();
if (consumer === "jsonl") {
  createInspectSession({ source: proxy, view: { writer: createJsonlWriter(createWriteStream("/dev/null")) }, tickMs: 500 });
} else if (consumer === "decode") {
  proxy.onEvent((e) => void decoder.push(e));
}
await proxy.start();

let exiting = false;
const exit = async () => {
  if (exiting) return;
  exiting = true;
  setTimeout(() => process.exit(0), 2_000).unref();
  await proxy.close().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", exit);
process.on("disconnect", exit);
setTimeout(exit, MAX_LIFETIME_MS).unref();
process.on("message", (m: ServerRequest) => {
  if (m.cmd === "gc") (globalThis as { gc?: () => void }).gc?.();
  const answer: ServerStats = { id: m.id, memory: process.memoryUsage(), cpu: process.cpuUsage() };
  process.send?.(answer);
});
process.stdout.write(`LISTENING ${proxy.address!.port}\n`);
