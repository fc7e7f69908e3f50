/**
 * A terminal screen (what `tmux capture-pane -p -e` prints) as an HTML
 * page, for screenshots of TUIs. Only SGR is understood: the 16 colours,
 * 256 colours, 24-bit colours, bold, dim, italic, underline and inverse;
 * any other escape is dropped. Dark background, monospace font.
 */

const BG = "#1b1e24";
const FG = "#d4d7dd";
/** 0–7, then the bright 8–15. */
const PALETTE16 = [
  "#3b4048", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#c8ccd4",
  "#5c6370", "#ff7a85", "#b5e890", "#ffd68a", "#7cc4ff", "#dc94f0", "#6fd4e0", "#f2f4f8",
];

function color256(n: number): string {
  if (n < 16) return PALETTE16[n]!;
  if (n >= 232) {
    const v = 8 + 10 * (n - 232);
    return rgb(v, v, v);
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + 40 * x);
  return rgb(level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6));
}

const rgb = (r: number, g: number, b: number): string => `#${[r, g, b].map((x) => Math.max(0, Math.min(255, x)).toString(16).padStart(2, "0")).join("")}`;

/** `a` moved `t` of the way towards `b` (dim text: the foreground towards the background). */
function mix(a: string, b: string, t: number): string {
  const p = (h: string, i: number) => parseInt(h.slice(1 + 2 * i, 3 + 2 * i), 16);
  return rgb(...([0, 1, 2].map((i) => Math.round(p(a, i) + (p(b, i) - p(a, i)) * t)) as [number, number, number]));
}

interface Sgr {
  fg?: string | undefined;
  bg?: string | undefined;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const plain = (): Sgr => ({ bold: false, dim: false, italic: false, underline: false, inverse: false });

function applySgr(s: Sgr, params: string): Sgr {
  const p = params === "" ? [0] : params.split(";").map((x) => (x === "" ? 0 : Number(x)));
  let next = { ...s };
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === 0) next = plain();
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 7) next.inverse = true;
    else if (c === 22) next.bold = next.dim = false;
    else if (c === 23) next.italic = false;
    else if (c === 24) next.underline = false;
    else if (c === 27) next.inverse = false;
    else if (c >= 30 && c <= 37) next.fg = PALETTE16[c - 30];
    else if (c >= 90 && c <= 97) next.fg = PALETTE16[c - 90 + 8];
    else if (c === 39) next.fg = undefined;
    else if (c >= 40 && c <= 47) next.bg = PALETTE16[c - 40];
    else if (c >= 100 && c <= 107) next.bg = PALETTE16[c - 100 + 8];
    else if (c === 49) next.bg = undefined;
    else if (c === 38 || c === 48) {
      let value: string | undefined;
      if (p[i + 1] === 5) {
        value = color256(p[i + 2] ?? 0);
        i += 2;
      } else if (p[i + 1] === 2) {
        value = rgb(p[i + 2] ?? 0, p[i + 3] ?? 0, p[i + 4] ?? 0);
        i += 4;
      }
      if (c === 38) next.fg = value;
      else next.bg = value;
    }
  }
  return next;
}

function style(s: Sgr): string {
  let fg = s.fg ?? FG;
  let bg = s.bg;
  if (s.inverse) [fg, bg] = [bg ?? BG, fg];
  if (s.dim) fg = mix(fg, bg ?? BG, 0.45);
  const css = [`color:${fg}`];
  if (bg !== undefined) css.push(`background:${bg}`);
  if (s.bold) css.push("font-weight:bold");
  if (s.italic) css.push("font-style:italic");
  if (s.underline) css.push("text-decoration:underline");
  return css.join(";");
}

const escapeHtml = (t: string): string => t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** One screen line as HTML spans. */
export function ansiLineToHtml(line: string, state: Sgr = plain()): { html: string; state: Sgr } {
  let html = "";
  let s = state;
  // SGR, then any other CSI or OSC escape (dropped).
  const re = /\u001b\[([0-9;]*)m|\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;
  let at = 0;
  // Runs of the same style are one span.
  let run = "";
  let runStyle = "";
  const flush = () => {
    if (run !== "") html += `<span style="${runStyle}">${escapeHtml(run)}</span>`;
    run = "";
  };
  const text = (t: string) => {
    if (t === "") return;
    const css = style(s);
    if (css !== runStyle) flush();
    runStyle = css;
    run += t;
  };
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    text(line.slice(at, m.index));
    if (m[1] !== undefined) s = applySgr(s, m[1]);
    at = m.index + m[0].length;
  }
  text(line.slice(at));
  flush();
  return { html, state: s };
}

export interface ScreenPageOptions {
  /** Columns of the terminal: the page is exactly that wide. */
  cols: number;
  /** The page's title. */
  title?: string;
}

/** A whole screen as an HTML page; the screen is the `<pre id="screen">`. */
export function screenToHtml(screen: string, o: ScreenPageOptions): string {
  const lines = screen.replace(/\n$/, "").split("\n");
  let state = plain();
  const rows = lines.map((line) => {
    const r = ansiLineToHtml(line, state);
    // tmux starts every line from the attributes it had; carry them over the same way.
    state = r.state;
    return r.html;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(o.title ?? "terminal")}</title>
<style>
  html, body { margin: 0; background: ${BG}; }
  #screen {
    display: inline-block; margin: 0; padding: 14px 18px;
    font: 14px/1.3 "DejaVu Sans Mono", "Liberation Mono", monospace;
    color: ${FG}; background: ${BG};
    width: ${o.cols}ch; white-space: pre; overflow: hidden;
  }
</style></head>
<body><pre id="screen">${rows.join("\n")}</pre></body></html>
`;
}
