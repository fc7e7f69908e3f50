/**
 * The packers chsk ships: `edn` (Sente's default), `transit` (Sente's
 * transit packer, json or json-verbose), `msgpack` (Sente's MessagePack
 * packer), Sente's gzip wrapper around any of them (`gzip+edn`, …) and
 * `json` (chsk-only, for JS peers).
 */
import { ednPacker } from "./edn.js";
import { gzipPacker } from "./gzip.js";
import { jsonPacker } from "./json.js";
import { msgpackPacker } from "./msgpack.js";
import { transitPacker } from "./transit.js";
import type { Packer } from "./types.js";

export { ednPacker, type EdnPackerOptions } from "./edn.js";
export { gzipPacker, type GzipPackerOptions } from "./gzip.js";
export { jsonPacker, type JsonPackerOptions } from "./json.js";
export { msgpackPacker, type MsgpackPackerOptions } from "./msgpack.js";
export { MsgpackExt } from "./msgpack-ext.js";
export { transitPacker, type TransitPackerOptions } from "./transit.js";
export { DEFAULT_DECODE_LIMITS, type DecodeLimits, type Packer } from "./types.js";

/** The names {@link packerByName} accepts. */
export type PackerName =
  | "edn"
  | "transit"
  | "transit-verbose"
  | "msgpack"
  | "gzip+edn"
  | "gzip+msgpack"
  | "gzip+transit"
  | "json";

/** Every name {@link packerByName} accepts (for CLI flag validation and help text). */
export const PACKER_NAMES: readonly PackerName[] = [
  "edn",
  "transit",
  "transit-verbose",
  "msgpack",
  "gzip+edn",
  "gzip+msgpack",
  "gzip+transit",
  "json",
];

/**
 * A new packer with default options, by name. `"transit-verbose"` is the
 * transit packer writing json-verbose (its `name` is still `"transit"`).
 * `"gzip+X"` is Sente's gzip wrapper around packer X (binary frames).
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
    case "msgpack":
      return msgpackPacker();
    case "gzip+edn":
      return gzipPacker(ednPacker());
    case "gzip+msgpack":
      return gzipPacker(msgpackPacker());
    case "gzip+transit":
      return gzipPacker(transitPacker());
    case "json":
      return jsonPacker();
    default:
      throw new TypeError(
        `Unknown packer ${JSON.stringify(name as unknown)}: expected one of ${PACKER_NAMES.map((n) => `"${n}"`).join(", ")}`,
      );
  }
}
