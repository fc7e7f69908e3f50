#!/usr/bin/env node
// Builds the browser files into dist/web (or --outdir DIR): the ESM client
// bundle /chsk-client.js with its source map, and the demo page and
// dashboard scripts and styles. The esbuild config lives in
// src/server/web/build.ts, shared with the web UI's in-memory dev build.
import { statSync } from "node:fs";
import { relative } from "node:path";
import { tsImport } from "tsx/esm/api";

const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = at >= 0 ? args[at + 1] : undefined;

const { buildWebAssets, defaultOutdir } = await tsImport("../src/server/web/build.ts", import.meta.url);
const dir = outdir ?? defaultOutdir;
try {
  const files = await buildWebAssets({ outdir: dir, write: true });
  const rows = files
    .map((f) => `${f.path.padEnd(36)} ${(statSync(`${dir}/${f.path}`).size / 1024).toFixed(1).padStart(7)} KiB`)
    .join("\n  ");
  if (!args.includes("--quiet")) console.log(`build-web: ${relative(process.cwd(), dir) || "."}\n  ${rows}`);
} catch (e) {
  console.error(`build-web: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
