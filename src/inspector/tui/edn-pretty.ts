/**
 * A small EDN pretty printer for the detail pane, in the spirit of
 * `clojure.pprint`: a form that fits the width stays on one line; one that
 * doesn't puts each element (each map entry) on its own line, indented
 * under its opening bracket.
 *
 * ```
 * {:user "alice",
 *  :items [{:id 1, :tags #{:a :b}}
 *          {:id 2, :tags #{}}],
 *  :at #inst "2026-12-02T10:00:00.000-00:00"}
 * ```
 *
 * Leaves are written by the core writer (`showEdn`, which never throws), so
 * strings, numbers and tags print exactly as on the wire. Fitting is
 * checked with a budget: a node's flat form is built only up to the width
 * that is left, so a deep value costs O(size × width), not O(size × depth)
 * string copies.
 */
import { EdnSet, Keyword, List, Tagged, isPlainObject, kw, readEdn, showEdn } from "../../core/index.js";

/** Most lines one value is printed to; the rest is cut with a marker. */
export const MAX_PRETTY_LINES = 5000;

type Coll =
  | { kind: "seq"; open: string; close: string; items: unknown[] }
  | { kind: "map"; entries: [unknown, unknown][] }
  | { kind: "tagged"; tag: string; value: unknown };

function asColl(v: unknown): Coll | undefined {
  if (v === null || typeof v !== "object") return undefined;
  if (Array.isArray(v)) {
    const list = v instanceof List;
    return { kind: "seq", open: list ? "(" : "[", close: list ? ")" : "]", items: v };
  }
  if (v instanceof EdnSet || v instanceof Set) return { kind: "seq", open: "#{", close: "}", items: [...(v as Set<unknown>)] };
  if (v instanceof Map) return { kind: "map", entries: [...(v as Map<unknown, unknown>)] };
  if (v instanceof Tagged) return { kind: "tagged", tag: v.tag, value: v.value };
  if (isPlainObject(v)) return { kind: "map", entries: Object.keys(v).map((k) => [kw(k), v[k]]) };
  return undefined;
}

/** The flat form of `v` if it is at most `budget` characters, else null. */
function flatWithin(v: unknown, budget: number): string | null {
  if (budget <= 0) return null;
  const c = asColl(v);
  if (c === undefined || c.kind === "tagged") {
    // Tagged values are rare and small (`#inst`, `#uuid`); printing them whole is fine.
    const s = c === undefined ? showLeaf(v) : showEdn(v);
    return s.length <= budget ? s : null;
  }
  let s = c.kind === "seq" ? c.open : "{";
  const close = c.kind === "seq" ? c.close : "}";
  const parts: unknown[] = c.kind === "seq" ? c.items : c.entries;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) s += c.kind === "seq" ? " " : ", ";
    if (c.kind === "seq") {
      const x = flatWithin(c.items[i], budget - s.length - close.length);
      if (x === null) return null;
      s += x;
    } else {
      const [k, x] = c.entries[i]!;
      const ks = flatWithin(k, budget - s.length - close.length);
      if (ks === null) return null;
      s += ks + " ";
      const xs = flatWithin(x, budget - s.length - close.length);
      if (xs === null) return null;
      s += xs;
    }
    if (s.length + close.length > budget) return null;
  }
  s += close;
  return s.length <= budget ? s : null;
}

const showLeaf = (v: unknown): string => (v instanceof Keyword ? `:${v.fqn}` : showEdn(v));

class Printer {
  lines: string[] = [""];
  cut = false;

  constructor(
    readonly width: number,
    readonly maxLines: number,
  ) {}

  /** Appends text to the current line. */
  put(s: string): void {
    this.lines[this.lines.length - 1] += s;
  }

  /** Starts a new line indented to `col`. Returns false once the line budget is spent. */
  newline(col: number): boolean {
    if (this.lines.length >= this.maxLines) {
      this.cut = true;
      return false;
    }
    this.lines.push(" ".repeat(col));
    return true;
  }

  /** Prints `v` starting at column `col` of the current line. */
  print(v: unknown, col: number): void {
    if (this.cut) return;
    const flat = flatWithin(v, this.width - col);
    if (flat !== null) return this.put(flat);
    const c = asColl(v);
    if (c === undefined) return this.put(showLeaf(v));
    if (c.kind === "tagged") {
      const head = `#${c.tag} `;
      this.put(head);
      return this.print(c.value, col + head.length);
    }
    if (c.kind === "seq") {
      this.put(c.open);
      const inner = col + c.open.length;
      let prevLeaf = false;
      c.items.forEach((x, i) => {
        if (this.cut) return;
        const leaf = asColl(x) === undefined;
        if (i > 0 && leaf && prevLeaf) {
          // Runs of scalars fill the line (`[1 2 3 …` wrapped), as pprint does.
          const s = showLeaf(x);
          const used = this.lines[this.lines.length - 1]!.length;
          if (used + 1 + s.length + c.close.length <= this.width) {
            this.put(" " + s);
            return;
          }
        }
        prevLeaf = leaf;
        if (i > 0 && !this.newline(inner)) return;
        this.print(x, inner);
      });
      return this.put(c.close);
    }
    this.put("{");
    const inner = col + 1;
    c.entries.forEach(([k, x], i) => {
      if (this.cut || (i > 0 && !this.newline(inner))) return;
      const ks = flatWithin(k, this.width - inner) ?? showLeaf(k);
      this.put(ks);
      const valueCol = inner + ks.length + 1;
      // A long key pushes its value onto the next line rather than squeezing it to the right edge.
      if (flatWithin(x, this.width - valueCol) === null && asColl(x) !== undefined && ks.length > (this.width - inner) / 3) {
        if (!this.newline(inner + 1)) return;
        this.print(x, inner + 1);
      } else {
        this.put(" ");
        this.print(x, valueCol);
      }
      if (i < c.entries.length - 1) this.put(",");
    });
    this.put("}");
  }
}

/** `value` pretty-printed to lines of (about) `width` columns; a leaf longer than that stays one line. */
export function prettyEdn(value: unknown, width: number, maxLines = MAX_PRETTY_LINES): string[] {
  const p = new Printer(Math.max(8, width), maxLines);
  p.print(value, 0);
  if (p.cut) p.lines.push("… (cut)");
  return p.lines;
}

/**
 * EDN text (a record's `data`) pretty-printed. Text that does not read as
 * EDN is returned as its own lines, with `ok: false`.
 */
export function prettyEdnText(text: string, width: number, maxLines = MAX_PRETTY_LINES): { ok: boolean; lines: string[] } {
  const r = readEdn(text);
  if (!r.ok) return { ok: false, lines: text.split("\n").slice(0, maxLines) };
  return { ok: true, lines: prettyEdn(r.value, width, maxLines) };
}
