/**
 * The packers chsk ships: `edn` (Sente's default), `transit` (Sente's
 * transit packer, json or json-verbose) and `json` (chsk-only, for JS peers).
 */
import { ednPacker } from "./edn.js";
import { jsonPacker } from "./json.js";
import { transitPacker } from "./transit.js";
import type { Packer } from "./types.js";

export { ednPacker, type EdnPackerOptions } from "./edn.js";
export { jsonPacker, type JsonPackerOptions } from "./json.js";
export { transitPacker, type TransitPackerOptions } from "./transit.js";
export { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

/** The names {@link packerByName} accepts. */
export type PackerName = "edn" | "transit" | "transit-verbose" | "json";

/** Every name {@link packerByName} accepts (for CLI flag validation and help text). */
export const PACKER_NAMES: readonly PackerName[] = ["edn", "transit", "transit-verbose", "json"];

/**
 * A new packer with default options, by name. `"transit-verbose"` is the
 * transit packer writing json-verbose (its `name` is still `"transit"`).
 *
 * @throws TypeError for any other name.
 * @example
 * packerByName(opts.packer ?? "edn")
 */
export function packerByName(name: PackerName): Packer {
  switch (name) {
    case "edn":
      return ednPacker();
    case "transit":
      return transitPacker();
    case "transit-verbose":
      return transitPacker({ verbose: true });
    case "json":
      return jsonPacker();
    default:
      throw new TypeError(
        `Unknown packer ${JSON.stringify(name as unknown)}: expected one of ${PACKER_NAMES.map((n) => `"${n}"`).join(", ")}`,
      );
  }
}
