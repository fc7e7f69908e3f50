/** CRC-32 (IEEE 802.3, as gzip's trailer uses it). fflate keeps its own private. */
let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

/** CRC-32 of `chunks`, taken as one byte sequence (unsigned). */
export function crc32(...chunks: Uint8Array[]): number {
  const t = (table ??= makeTable());
  let c = -1;
  for (const b of chunks) {
    for (let i = 0; i < b.length; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ -1) >>> 0;
}
