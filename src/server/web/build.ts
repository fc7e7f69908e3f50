/**
 * The browser build: one esbuild config shared by `scripts/build-web.mjs`
 * (writes `dist/web/`, run by `npm run build` / `prepare`) and by the pages'
 * server side when it runs from TypeScript sources (tsx), where it bundles the
 * same entry points in memory so the pages always match the code.
 *
 * Outputs, relative to the output folder:
 *
 * | file                          | from                                   |
 * |-------------------------------|----------------------------------------|
 * | `chsk-client.js` (+ `.map`)   | `src/core/client/index.ts`, ESM        |
 * | `assets/demo.js` (+ `.map`)   | `pages/demo.ts` (imports `/chsk-client.js` at run time) |
 * | `assets/dashboard.js` (+ map) | `pages/dashboard.ts` (uPlot bundled in) |
 * | `assets/demo.css`, `assets/dashboard.css` | `pages/*.css` (uPlot's CSS inlined) |
 * | `assets/bench-report.js`, `assets/bench-report-style.css` | `src/bench/report/pages/*` (uPlot bundled; inlined into each `chsk bench --html` file, so no map) |
 *
 * Nothing is fetched from a CDN: every byte the pages load comes from these
 * files, served by the page's own origin.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { BuildOptions, Plugin } from "esbuild";
import { defaultOutdir, packageRoot } from "./paths.js";

export { defaultOutdir, packageRoot } from "./paths.js";

const srcRoot = join(packageRoot, "src");
const pagesDir = join(srcRoot, "server", "web", "pages");
const clientEntry = join(srcRoot, "core", "client", "index.ts");

/** The public URL of the client bundle; page scripts import it at run time. */
export const CLIENT_URL = "/chsk-client.js";

/**
 * Page scripts import the client module by its source path (so they
 * typecheck against the real types); in the bundle that import becomes the
 * URL of the separately served client, so the page and `window.chsk` use the
 * very same `/chsk-client.js` an application would.
 */
const clientAsExternal: Plugin = {
  name: "chsk-client-external",
  setup(build) {
    build.onResolve({ filter: /core\/client\/index(\.js|\.ts)?$/ }, () => ({ path: CLIENT_URL, external: true }));
  },
};

/** Where the licenses of bundled third-party code are served. */
export const LICENSES_PATH = "assets/third-party-licenses.txt";

const banner = `/*! chsk browser file. Bundled third-party code and its licenses: /${LICENSES_PATH} */`;

const common: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  sourcemap: "linked",
  sourcesContent: true,
  minify: true,
  legalComments: "none",
  banner: { js: banner, css: banner },
  logLevel: "silent",
  // Browser entries must not reach for Node built-ins.
  external: [],
};

/** The two esbuild builds (client bundle; pages), writing under `outdir`. */
export function webBuildOptions(outdir: string = defaultOutdir): BuildOptions[] {
  return [
    {
      ...common,
      entryPoints: { "chsk-client": clientEntry },
      outdir,
      // Keep the class and function names readable in stack traces.
      keepNames: true,
    },
    {
      ...common,
      entryPoints: {
        "assets/demo": join(pagesDir, "demo.ts"),
        "assets/dashboard": join(pagesDir, "dashboard.ts"),
        "assets/demo-style": join(pagesDir, "demo.css"),
        "assets/dashboard-style": join(pagesDir, "dashboard.css"),
      },
      outdir,
      plugins: [clientAsExternal],
      // Served by the web UI itself, next to the pages.
      external: ["/favicon.svg"],
    },
    benchReportBuildOptions(outdir),
  ];
}

/** The `chsk bench --html` page's script and styles, relative to the output folder. */
export const BENCH_REPORT_JS = "assets/bench-report.js";
export const BENCH_REPORT_CSS = "assets/bench-report-style.css";

/**
 * The bench report page: an IIFE (it is inlined into a `<script>`, no
 * module loading from a file:// page) without a source map, carrying
 * uPlot's license itself since the report file travels alone.
 */
export function benchReportBuildOptions(outdir: string = defaultOutdir): BuildOptions {
  const banner = `/*! chsk bench report page. Bundled third-party code and its license:\n\n${licensesText(["uplot"]).replaceAll("*/", "* /")}*/`;
  const dir = join(srcRoot, "bench", "report", "pages");
  return {
    ...common,
    format: "iife",
    sourcemap: false,
    banner: { js: banner, css: banner },
    entryPoints: {
      [BENCH_REPORT_JS.replace(/\.js$/, "")]: join(dir, "report-page.ts"),
      [BENCH_REPORT_CSS.replace(/\.css$/, "")]: join(dir, "report-page.css"),
    },
    outdir,
  };
}

/** Builds the bench report page in memory (running from sources). */
export async function buildBenchReportPage(): Promise<{ js: string; css: string }> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({ ...benchReportBuildOptions(defaultOutdir), write: false });
  const text = (suffix: string) => new TextDecoder().decode(result.outputFiles.find((f) => f.path.endsWith(suffix))?.contents);
  return { js: text(".js"), css: text(".css") };
}

/** One built file, keyed by its URL path without the leading slash. */
export interface BuiltFile {
  path: string;
  contents: Uint8Array;
}

/** The package name of a bundled input under node_modules (`uplot`, `@scope/pkg`). */
function packageOf(input: string): string | undefined {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
}

/** The license texts of every bundled package, as one text file. */
function licensesText(packages: Iterable<string>): string {
  const parts = ["Third-party code bundled into chsk's browser files (chsk-client.js, assets/*).", ""];
  for (const name of [...new Set(packages)].sort()) {
    const dir = join(packageRoot, "node_modules", name);
    const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string; license?: string };
    const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license", "LICENCE"].map((f) => join(dir, f)).find((f) => existsSync(f));
    parts.push(`== ${name} ${meta.version ?? ""} (${meta.license ?? "see below"}) ==`, "");
    parts.push(file ? readFileSync(file, "utf8").trim() : `License: ${meta.license ?? "unknown"}`, "", "");
  }
  return parts.join("\n");
}

/**
 * Runs the builds. `write: false` returns the files instead of writing them
 * (the in-memory dev mode of the web UI).
 */
export async function buildWebAssets(options: { outdir?: string; write?: boolean } = {}): Promise<BuiltFile[]> {
  const outdir = options.outdir ?? defaultOutdir;
  const write = options.write ?? true;
  const esbuild = await import("esbuild");
  const files: BuiltFile[] = [];
  const packages: string[] = [];
  for (const config of webBuildOptions(outdir)) {
    const result = await esbuild.build({ ...config, write, metafile: true });
    for (const input of Object.keys(result.metafile?.inputs ?? {})) {
      const pkg = packageOf(input);
      if (pkg !== undefined) packages.push(pkg);
    }
    if (result.outputFiles) {
      for (const f of result.outputFiles) files.push({ path: relative(outdir, f.path).split("\\").join("/"), contents: f.contents });
    } else {
      for (const p of Object.keys(result.metafile?.outputs ?? {})) files.push({ path: relative(outdir, join(process.cwd(), p)).split("\\").join("/"), contents: new Uint8Array() });
    }
  }
  const licenses = new TextEncoder().encode(licensesText(packages));
  files.push({ path: LICENSES_PATH, contents: licenses });
  if (write) {
    await mkdir(join(outdir, dirname(LICENSES_PATH)), { recursive: true });
    await writeFile(join(outdir, LICENSES_PATH), licenses);
  }
  return files;
}
