/** UTF-8 helpers without `Buffer` (core is isomorphic). */

/** The UTF-8 length of `s`, in bytes (lone surrogates count 3, as TextEncoder writes U+FFFD). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 2 UTF-16 units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

let decoder: TextDecoder | undefined;

/** Bytes as text, invalid sequences as U+FFFD. */
export const decodeUtf8 = (b: Uint8Array): string => (decoder ??= new TextDecoder()).decode(b);
