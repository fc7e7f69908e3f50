/**
 * `parseParams`: query strings and `application/x-www-form-urlencoded`
 * bodies, read as Ring's `wrap-params` reads them for Sente. Shared by the
 * server (every request) and the inspector (an Ajax POST seen by a proxy),
 * so both read a channel request the same way.
 */

function decodeComponent(s: string): string {
  if (s.indexOf("+") !== -1) s = s.replace(/\+/g, " ");
  if (s.indexOf("%") === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // Malformed escapes: keep the text as sent rather than failing the request.
    return s;
  }
}

/**
 * Param objects inherit from an empty null-prototype object: no
 * `Object.prototype` keys show through (`"constructor" in params` is
 * false, `__proto__` is an ordinary key), yet V8 keeps them in fast mode,
 * unlike `Object.create(null)` objects, which start as dictionaries (a few
 * hundred bytes more per WS connection).
 */
const Params = function Params(this: Record<string, string>) {} as unknown as new () => Record<string, string>;
Params.prototype = Object.create(null);

/** A new empty params object (see {@link parseParams} for its prototype). */
export const emptyParams = (): Record<string, string> => new Params();

/**
 * Parses `a=1&b%3F=2` (query strings and form bodies alike: `+` is a
 * space). Keys are decoded too, so Sente's `handshake%3F` reads as
 * `handshake?`. The first of repeated keys wins. Total: malformed escapes
 * are kept as sent.
 */
export function parseParams(s: string): Record<string, string> {
  const out = new Params();
  const n = s.length;
  let i = 0;
  while (i < n) {
    let amp = s.indexOf("&", i);
    if (amp === -1) amp = n;
    if (amp > i) {
      const eq = s.indexOf("=", i);
      let key: string;
      let value: string;
      if (eq === -1 || eq > amp) {
        key = decodeComponent(s.slice(i, amp));
        value = "";
      } else {
        key = decodeComponent(s.slice(i, eq));
        value = decodeComponent(s.slice(eq + 1, amp));
      }
      if (!(key in out)) out[key] = value;
    }
    i = amp + 1;
  }
  return out;
}
