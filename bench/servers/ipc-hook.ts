/**
 * Preloaded (`--import`) into a server program the bench did not write, the
 * real `chsk serve`: the same IPC as the bench's own servers (./ipc.ts).
 * Going away means SIGTERM, so the program shuts down its own way; a hard
 * exit follows if it does not within 3 s.
 */
import { installIpc } from "./ipc.js";

if (process.send !== undefined) {
  installIpc(() => {
    setTimeout(() => process.exit(0), 3_000).unref();
    process.kill(process.pid, "SIGTERM");
  });
}
