/**
 * A MessagePack extension value that Sente's packer has no type for (Sente's
 * `PackableExt`): read as is and written back unchanged, so a peer's own
 * extensions survive an echo through chsk byte for byte.
 *
 * @example
 * msgpackPacker().unpack(Uint8Array.of(0xd4, 0x2a, 0x07)); // ok: MsgpackExt { type: 42, data: [7] }
 */
export class MsgpackExt {
  constructor(
    /** The extension type, -128 … 127. */
    readonly type: number,
    /** The payload, without the ext header. */
    readonly data: Uint8Array,
  ) {}
}

/** The extension types of Sente's `taoensso.msgpack` (captured-frames §15). */
export const SenteExt = {
  keyword: 0,
  symbol: 1,
  char: 2,
  ratio: 3,
  set: 4,
  int32Array: 5,
  float32Array: 6,
  float64Array: 7,
  /** A map key seen earlier in the same message: `d4 08 <index>`. */
  cachedKey: 8,
  uuid: 9,
  /** Always the 12-byte (timestamp 96) form when Sente writes it. */
  timestamp: -1,
} as const;

/** Sente numbers at most this many distinct map keys per message (0 … 255). */
export const KEY_CACHE_SIZE = 256;
