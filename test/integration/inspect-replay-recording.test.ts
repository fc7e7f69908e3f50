/**
 * `--record FILE.jsonl` keeps its tail when the process is told to stop:
 * a child writes records non-stop, gets SIGTERM mid-stream, closes the
 * recording as the CLI does and exits; the file then holds every record it
 * took, whole lines only, in order.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseRecordLines } from "../../src/core/index.js";
import { ROOT } from "../e2e/cli.js";
import { withTimeout } from "./server-helpers.js";

describe("--record on SIGTERM", () => {
  const dir = mkdtempSync(join(tmpdir(), "chsk-record-kill-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the file is complete and parseable: every record taken, in order, no half line", async () => {
    // Given a child recording as fast as it can…
    const file = join(dir, "killed.jsonl");
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/inspect/record-until-killed.ts", file], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          child.stdout.on("data", () => stdout.includes("ready") && resolve());
          child.once("exit", (code) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
        }),
        20_000,
        "the child to be recording",
      );
      // …when it is told to stop in the middle of a burst…
      child.kill("SIGTERM");
      const code = await withTimeout(exited, 10_000, "the child to exit");
      assert.equal(code, 0, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    // …then the file has exactly the records it took, 1…N.
    const taken = Number(/recorded (\d+)/.exec(stderr)?.[1]);
    assert.ok(taken >= 2000, `the child took ${taken} records`);
    const text = readFileSync(file, "utf8");
    assert.ok(text.endsWith("\n"), "ends with a whole line");
    const { records, errors } = parseRecordLines(text);
    assert.deepEqual(errors, []);
    assert.equal(records.length, taken);
    assert.deepEqual(
      records.map((r) => r.seq),
      Array.from({ length: taken }, (_, i) => i + 1),
    );
  });
});
