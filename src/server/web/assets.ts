/**
 * The browser files the pages load, held in memory with their ETags.
 *
 * Shipped (`dist/`, or the package installed under `node_modules`): read
 * from the package's own `dist/web/`, which `npm run build` writes. From
 * sources (tsx): bundled in memory by the same esbuild config, so the pages
 * never lag behind the code being run.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import { defaultOutdir, runningFromSource } from "./paths.js";

export interface Asset {
  body: Buffer;
  /** Precomputed for text assets over 1 KiB. */
  gzip?: Buffer;
  contentType: string;
  etag: string;
}

export interface AssetTable {
  /** An asset by URL path without the leading slash (`"chsk-client.js"`). */
  get(path: string): Asset | undefined;
  /** A short hash of every asset, used as a cache-busting query. */
  readonly version: string;
  /** Where the files came from. */
  readonly source: "dist" | "memory" | "none";
  /** Why there are no files (source `"none"`), with the fix. */
  readonly problem?: string;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".png": "image/png",
};

export const contentTypeOf = (path: string): string => TYPES[extname(path)] ?? "application/octet-stream";

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#4f46e5"/><path d="M9 11h14M9 16h9M9 21h12" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>`;

function table(files: Map<string, Buffer>, source: AssetTable["source"], problem?: string): AssetTable {
  files.set("favicon.svg", Buffer.from(FAVICON));
  const assets = new Map<string, Asset>();
  const all = createHash("sha256");
  for (const [path, body] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const hash = createHash("sha256").update(body).digest("base64url").slice(0, 16);
    all.update(path).update(hash);
    const contentType = contentTypeOf(path);
    const asset: Asset = { body, contentType, etag: `"${hash}"` };
    if (body.length > 1024 && /^(text\/|application\/json|image\/svg)/.test(contentType)) asset.gzip = gzipSync(body, { level: 9 });
    assets.set(path, asset);
  }
  const t: AssetTable = { get: (p) => assets.get(p), version: all.digest("base64url").slice(0, 10), source };
  return problem === undefined ? t : { ...t, problem };
}

async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.set(relative(dir, p).split("\\").join("/"), await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

export interface LoadAssetsOptions {
  /**
   * `"auto"`: bundle in memory when running from TypeScript sources, else
   * read `dir`. @default "auto"
   */
  mode?: "auto" | "dist" | "memory";
  /** @default `<package>/dist/web` (found from this module's location, so it works installed) */
  dir?: string;
}

const loaded = new Map<string, Promise<AssetTable>>();

/**
 * Loads every browser file once per process and source (the demo page and
 * the dashboard share one load); never throws: a missing build becomes
 * `problem`.
 */
export function loadAssets(options: LoadAssetsOptions = {}): Promise<AssetTable> {
  const mode = options.mode ?? "auto";
  const dir = options.dir ?? defaultOutdir;
  const key = `${mode}\u0000${dir}`;
  let table = loaded.get(key);
  if (table === undefined) loaded.set(key, (table = load(mode, dir)));
  return table;
}

async function load(mode: NonNullable<LoadAssetsOptions["mode"]>, dir: string): Promise<AssetTable> {
  if (mode === "memory" || (mode === "auto" && runningFromSource())) {
    try {
      // Loaded only here: esbuild is a development dependency.
      const { buildWebAssets } = await import("./build.js");
      const built = await buildWebAssets({ write: false });
      return table(new Map(built.map((f) => [f.path, Buffer.from(f.contents)])), "memory");
    } catch (e) {
      if (mode === "memory") {
        return table(new Map(), "none", `bundling the browser files failed: ${(e as Error).message}`);
      }
      // Fall through to a prebuilt dist/web if there is one.
    }
  }
  try {
    if (!(await stat(join(dir, "chsk-client.js"))).isFile()) throw new Error("not a file");
    return table(await readTree(dir), "dist");
  } catch {
    return table(new Map(), "none", `the browser files are missing from ${dir}; run \`npm run build\``);
  }
}

/**
 * Answers a GET/HEAD for `asset` with its ETag, gzip when accepted, and
 * immutable caching when the URL carries the current `?v=` version.
 */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, versioned: boolean): void {
  const headers: Record<string, string | number> = {
    "content-type": asset.contentType,
    etag: asset.etag,
    "x-content-type-options": "nosniff",
    // Versioned URLs (`?v=`) never change; anything else revalidates by ETag.
    "cache-control": versioned ? "public, max-age=31536000, immutable" : "no-cache",
  };
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = asset.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? (asset.gzip as Buffer) : asset.body;
  if (asset.gzip !== undefined) headers["vary"] = "accept-encoding";
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}
