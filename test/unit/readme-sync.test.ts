/**
 * The README's reference tables that are made from code stay in step with
 * it: every error code has its row, and the TUI's key table is the
 * bindings table the help screen is drawn from.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { BINDINGS } from "../../src/inspector/tui/keymap.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const ERRORS = readFileSync(new URL("../../src/core/protocol/errors.ts", import.meta.url), "utf8");

describe("README reference tables", () => {
  it("lists every error code of ChskErrorCode", () => {
    const union = /export type ChskErrorCode =([^;]+);/.exec(ERRORS)?.[1] ?? "";
    const codes = [...union.matchAll(/"(CHSK_ERR_[A-Z_]+)"/g)].map((m) => m[1]!);
    assert.ok(codes.length > 30, "the union was found");
    const missing = codes.filter((c) => !README.includes(`| \`${c}\` |`));
    assert.deepEqual(missing, [], "error codes without a README row");
  });

  it("has the TUI's key bindings, row for row", () => {
    const rows = BINDINGS.map((b) => `| ${b.keys.replaceAll("|", "\\|")} | ${b.where} | ${b.action} |`);
    const table = `| keys | where | action |\n|---|---|---|\n${rows.join("\n")}\n`;
    assert.ok(README.includes(table), `the README's key table should be:\n${table}`);
  });
});
