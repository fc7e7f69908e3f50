/**
 * The type tests (`test/types/*.test-d.ts`) are compile-time only: this
 * runs the project's TypeScript over them, so `npm test` fails when a typed
 * event stops type-checking or a `// @ts-expect-error` rejection stops
 * being an error (tsc reports the directive as unused).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../e2e/cli.js";

const TYPES_DIR = join(ROOT, "test", "types");
const TSC = join(ROOT, "node_modules", ".bin", "tsc");

interface TscRun {
  code: number | null;
  output: string;
}

function runTsc(args: string[], signal: AbortSignal): Promise<TscRun> {
  return new Promise((resolve, reject) => {
    // Run by this node (no reliance on the shebang or PATH); `signal` (the test's) kills tsc if the test is cancelled.
    execFile(process.execPath, [TSC, ...args], { cwd: ROOT, signal, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), output: `${stdout}${stderr}` });
    });
  });
}

test("test/types/*.test-d.ts type-check (tsc -p test/types/tsconfig.json)", async (t) => {
  const { code, output } = await runTsc(["-p", join("test", "types", "tsconfig.json"), "--listFiles"], t.signal);
  const lines = output.split("\n");
  const errors = lines.filter((l) => /error TS\d+/.test(l) || l.startsWith(" "));
  assert.equal(code, 0, `tsc found type errors:\n${errors.join("\n") || output}`);

  // Every type-test file was part of the program, so none can pass by being skipped.
  const checked = new Set(lines.map((l) => l.trim()));
  const files = readdirSync(TYPES_DIR).filter((f) => f.endsWith(".test-d.ts"));
  assert.ok(files.length >= 5, `expected the type-test files, found ${files.join(", ")}`);
  for (const f of files) assert.ok(checked.has(join(TYPES_DIR, f)), `${f} was not type-checked`);
});

// The sources, the tests and the benchmarks type-check too: tsx runs them
// without checking, so a stale call in a test would otherwise only show up
// as a confusing runtime failure.
for (const project of ["tsconfig.json", join("test", "tsconfig.json"), join("bench", "tsconfig.json")]) {
  test(`tsc -p ${project} --noEmit finds no errors`, async (t) => {
    const { code, output } = await runTsc(["-p", project, "--noEmit"], t.signal);
    assert.equal(code, 0, `tsc -p ${project}:\n${output}`);
  });
}
