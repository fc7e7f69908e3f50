/**
 * `createPackerDetector`: which packer a stream of frames uses, judged from
 * the frames themselves (`sniffFrame`), and kept once a frame settles it.
 *
 * A frame settles it when its format is unmistakable: EDN, transit (a
 * `"~:…"` or `"^ "` mark), msgpack, Sente's gzip wrapper, or JSON with an
 * event id written as a plain string (`["chsk/ws-ping",null]`). A JSON
 * frame with neither (`["pong","3f2a1b"]`) reads the same with the JSON
 * and transit packers, so it is decoded with JSON but settles nothing.
 * Text that no packer writes (an HTML error page) settles nothing either.
 */
import { ednPacker } from "../packers/edn.js";
import { gzipPacker } from "../packers/gzip.js";
import { jsonPacker } from "../packers/json.js";
import { msgpackPacker } from "../packers/msgpack.js";
import { sniffFrame, type Sniffed } from "../packers/sniff.js";
import { transitPacker } from "../packers/transit.js";
import type { DecodeLimits, Packer } from "../packers/types.js";

export interface PackerGuess {
  /** The packer to decode this frame with; undefined when the frame is no packer's output. */
  packer: Packer | undefined;
  /** What the frame looked like; undefined once the packer was settled (no sniffing then). */
  sniffed?: Sniffed;
}

export interface PackerDetector {
  /** The packer for this frame, settling the choice when the frame is decisive. */
  guess(data: string | Uint8Array): PackerGuess;
  /** The settled packer, if any. */
  readonly packer: Packer | undefined;
}

/** Packers by wire format, made once per detector. */
function make(format: string): Packer | undefined {
  switch (format) {
    case "edn":
      return ednPacker();
    case "transit":
      return transitPacker();
    case "json":
      return jsonPacker();
    case "msgpack":
      return msgpackPacker();
    case "gzip+edn":
      return gzipPacker(ednPacker());
    case "gzip+transit":
      return gzipPacker(transitPacker());
    case "gzip+json":
      return gzipPacker(jsonPacker());
    case "gzip+msgpack":
      return gzipPacker(msgpackPacker());
    default:
      return undefined;
  }
}

/** An event id written as a JSON string: `ns/name`, not a transit `~:` or cache `^` string. */
const isStringId = (x: unknown): boolean => typeof x === "string" && /^[^~^/\s][^/\s]*\/\S/.test(x);

/** A JSON frame whose shape only the JSON packer writes (a string event id where an event goes). */
function jsonDecisive(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text.charCodeAt(0) === 0x2b || text.charCodeAt(0) === 0x2d ? text.slice(1) : text);
  } catch {
    return false;
  }
  if (!Array.isArray(v) || v.length === 0) return isStringId(v);
  const x = v[0] as unknown;
  if (isStringId(x)) return true;
  if (!Array.isArray(x) || x.length === 0) return false;
  // An event `[id data]`, or a push batch `[[id data] …]`.
  return isStringId(x[0]) || (Array.isArray(x[0]) && isStringId(x[0][0]));
}

/**
 * A detector. With `fixed` the answer is always that packer (no sniffing).
 * `limits` bound the trial decodes of compressed frames.
 */
export function createPackerDetector(fixed?: Packer, limits?: DecodeLimits): PackerDetector {
  let settled: Packer | undefined = fixed;
  const cache = new Map<string, Packer>();
  const get = (format: string): Packer | undefined => {
    let p = cache.get(format);
    if (p === undefined) {
      p = make(format);
      if (p !== undefined) cache.set(format, p);
    }
    return p;
  };
  return {
    get packer() {
      return settled;
    },
    guess(data) {
      if (settled !== undefined) return { packer: settled };
      const sniffed = sniffFrame(data);
      const f = sniffed.format;
      switch (f) {
        case "html":
        case "text":
        case "binary":
        case "empty":
          return { packer: undefined, sniffed };
        case "json": {
          const p = get("json");
          const text = typeof data === "string" ? data : undefined;
          if (text !== undefined && sniffed.envelope && jsonDecisive(text)) settled = p;
          return { packer: p, sniffed };
        }
        case "gzip": {
          // Compressed: the inner format shows only once inflated; the first inner packer that reads an envelope wins.
          for (const inner of ["gzip+edn", "gzip+transit", "gzip+msgpack", "gzip+json"]) {
            const p = get(inner)!;
            const r = p.unpack(data, limits);
            if (r.ok && Array.isArray(r.value) && r.value.length >= 1 && r.value.length <= 2) {
              settled = p;
              return { packer: p, sniffed };
            }
          }
          return { packer: undefined, sniffed };
        }
        default: {
          const p = get(f);
          // A non-envelope (`{"a":1}` from some API) decides nothing.
          if (p !== undefined && sniffed.envelope) settled = p;
          return { packer: p, sniffed };
        }
      }
    },
  };
}
