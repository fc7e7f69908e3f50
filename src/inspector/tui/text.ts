/**
 * Terminal-safe text for the TUI. Everything shown comes from the wire, so
 * a peer controls it: control characters (ESC above all) are made visible
 * before they reach the terminal, and cells are cut to their width so one
 * long id cannot wrap a row and shift the whole screen.
 */

// C0 and C1 controls, DEL, and the bidi overrides that can reorder a line.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control character shown as `\uXXXX` (tabs as two spaces). */
export function printable(s: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE, (c) => (c === "\t" ? "  " : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/**
 * `s` cut to `n` characters (`~` marks the cut: ASCII keeps ink's width
 * measurement on its fast path, see `frame-columns.ts`) and padded to exactly `n`.
 */
export function fit(s: string, n: number, align: "left" | "right" = "left"): string {
  if (n <= 0) return "";
  const t = s.length <= n ? s : n === 1 ? "~" : `${s.slice(0, n - 1)}~`;
  return align === "left" ? t.padEnd(n) : t.padStart(n);
}

/** `s` cut to at most `n` characters, with `…` at the cut. */
export function cut(s: string, n: number): string {
  return s.length <= n ? s : n <= 1 ? "…".slice(0, Math.max(0, n)) : `${s.slice(0, n - 1)}~`;
}

/** Splits `s` into lines of at most `width` characters (hard wrap; `\n` breaks too). */
export function wrapHard(s: string, width: number, maxLines = Infinity): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const line of s.split("\n")) {
    if (line.length === 0) out.push("");
    for (let i = 0; i < line.length && out.length < maxLines; i += w) out.push(line.slice(i, i + w));
    if (out.length >= maxLines) break;
  }
  return out;
}

/** `12ms`, `1.2s`, `75s`; `` when undefined. */
export function latencyLabel(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms / 1000)}s`;
}

/** `17B`, `1.2k`, `34k`, `1.2M`: five characters at most. */
export function bytesLabel(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  if (n < 10_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return `${Math.round(n / 1_000_000)}M`;
}

/** `1,234`. */
export const count = (n: number): string => n.toLocaleString("en-US");
