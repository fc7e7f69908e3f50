/**
 * Where the browser files live, found from this module's own URL so it
 * holds wherever the package sits: this repo (`src/server/web` under tsx),
 * its build (`dist/server/web`), or an install
 * (`node_modules/chsk/dist/server/web`). Kept apart from `build.ts` so
 * serving prebuilt files never loads the esbuild config.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The package root: three levels up from `src/server/web` or `dist/server/web`. */
export const packageRoot = join(here, "..", "..", "..");

/** Where `npm run build` writes the browser files (shipped in the package). */
export const defaultOutdir = join(packageRoot, "dist", "web");

/** True when this module runs from the TypeScript sources (tsx), not from `dist/`. */
export const runningFromSource = (): boolean => fileURLToPath(import.meta.url).endsWith(".ts");
