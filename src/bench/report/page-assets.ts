/**
 * The report page's script and styles (uPlot bundled in), to inline into
 * each `--html` file. Shipped (`dist/`): read from `dist/web/assets/`, which
 * `npm run build` writes. From sources (tsx): bundled in memory by the same
 * esbuild config, so the report never lags behind the page's code.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ChskError } from "../../core/protocol/errors.js";
import { defaultOutdir, runningFromSource } from "../../server/web/paths.js";

export interface PageAssets {
  js: string;
  css: string;
}

// Same paths as `BENCH_REPORT_JS` / `BENCH_REPORT_CSS` in `server/web/build.ts`, which is not loaded when shipped.
const JS = "assets/bench-report.js";
const CSS = "assets/bench-report-style.css";

export interface LoadPageAssetsOptions {
  /**
   * `"auto"`: bundle in memory when running from TypeScript sources, else
   * read `dir`. @default "auto"
   */
  mode?: "auto" | "dist" | "memory";
  /** @default `<package>/dist/web` */
  dir?: string;
}

const loaded = new Map<string, Promise<PageAssets>>();

/** Loads the page files once per process and source. Throws `CHSK_ERR_FILE` when no build is found. */
export function loadPageAssets(options: LoadPageAssetsOptions = {}): Promise<PageAssets> {
  const mode = options.mode ?? "auto";
  const dir = options.dir ?? defaultOutdir;
  const key = `${mode}\u0000${dir}`;
  let p = loaded.get(key);
  if (p === undefined) {
    p = load(mode, dir);
    loaded.set(key, p);
    // A failed load is retried next time (after `npm run build`, say).
    p.catch(() => loaded.delete(key));
  }
  return p;
}

async function load(mode: NonNullable<LoadPageAssetsOptions["mode"]>, dir: string): Promise<PageAssets> {
  if (mode === "memory" || (mode === "auto" && runningFromSource())) {
    try {
      // Loaded only here: esbuild is a development dependency.
      const { buildBenchReportPage } = await import("../../server/web/build.js");
      return await buildBenchReportPage();
    } catch (e) {
      if (mode === "memory") throw new ChskError("CHSK_ERR_FILE", `bundling the HTML report's script failed: ${(e as Error).message}`, { cause: e });
      // Fall through to a prebuilt dist/web if there is one.
    }
  }
  try {
    const [js, css] = await Promise.all([readFile(join(dir, JS), "utf8"), readFile(join(dir, CSS), "utf8")]);
    return { js, css };
  } catch (e) {
    throw new ChskError("CHSK_ERR_FILE", `the HTML report's script is missing from ${dir}; run \`npm run build\``, {
      cause: e,
      detail: { file: join(dir, JS) },
    });
  }
}
