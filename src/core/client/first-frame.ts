/**
 * A client whose packer differs from the server's never opens: the
 * handshake fails to decode, or (EDN reading transit) decodes into
 * meaningless strings. Before the first handshake, a frame that is not a
 * handshake is sniffed, and if it is plainly another packer's output the
 * client says so (`CHSK_ERR_PACKER_MISMATCH` in `state.lastError` and on
 * the tap) instead of leaving the user to guess.
 */
import type { Packer } from "../packers/types.js";
import { packerWireFormat, readsFormat, sniffFrame } from "../packers/sniff.js";
import { ChskError } from "../protocol/errors.js";

/** The mismatch error for `data` read with `packer`, or null when it could be this packer's (or isn't Sente at all). */
export function packerMismatch(packer: Packer, data: string | Uint8Array): ChskError | null {
  const expected = packerWireFormat(packer.name);
  if (expected === undefined) return null; // a custom packer: nothing to compare with
  const s = sniffFrame(data);
  if (!s.envelope || s.format === "html" || s.format === "text" || s.format === "binary" || s.format === "empty") return null;
  if (readsFormat(expected, s.format)) return null;
  return new ChskError("CHSK_ERR_PACKER_MISMATCH", `The server speaks ${s.format}, not ${packer.name}: use the server's packer`, {
    detail: { expected: packer.name, found: s.format, excerpt: s.excerpt },
  });
}
