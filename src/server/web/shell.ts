/**
 * The HTML shell every page shares: the top bar, the page's stylesheet and
 * script, and its settings as a JSON block (`#chsk-config`), which keeps the
 * Content-Security-Policy free of inline scripts.
 */
import type { ServerResponse } from "node:http";

/** Pages may load and connect only to their own origin. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sizes its canvas and legend through inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

export const PAGE_HEADERS = {
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** JSON safe inside `<script>`: no `</script>`, no `<!--`. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, "\\u003c");

export interface NavLink {
  href: string;
  label: string;
  current?: boolean;
}

export interface ShellOptions {
  title: string;
  /** Picks `assets/<page>.js` and `assets/<page>-style.css`. */
  page: "demo" | "dashboard";
  /** URL prefix of the page's files: `""` serves `/assets/…`, `"/ops"` serves `/ops/assets/…`. */
  base: string;
  /** Cache-busting version of the files (`?v=`). */
  version: string;
  /** Read by the page script from `#chsk-config`. */
  config: unknown;
  /** Where the logo links. */
  home: string;
  nav: NavLink[];
  /** Right side of the top bar (plain text). */
  meta: string;
  /** Preloaded module (the demo page's client bundle). */
  modulepreload?: string;
  body: string;
}

export function shell(o: ShellOptions): string {
  const v = encodeURIComponent(o.version);
  const nav = o.nav
    .map((l) => `<a href="${escapeHtml(l.href)}"${l.current ? ' aria-current="page"' : ""}>${escapeHtml(l.label)}</a>`)
    .join("\n    ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(o.title)}</title>
<link rel="icon" href="${o.base}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${o.base}/assets/${o.page}-style.css?v=${v}">
${o.modulepreload ? `<link rel="modulepreload" href="${o.modulepreload}?v=${v}">\n` : ""}<script type="application/json" id="chsk-config">${scriptJson(o.config)}</script>
<script type="module" src="${o.base}/assets/${o.page}.js?v=${v}"></script>
</head>
<body data-page="${o.page}">
<header class="topbar">
  <a class="brand" href="${escapeHtml(o.home)}"><img class="logo" src="${o.base}/favicon.svg" alt="" width="22" height="22">chsk</a>
  <nav class="tabs">
    ${nav}
  </nav>
  <span class="topbar-meta">${escapeHtml(o.meta)}</span>
</header>
${o.body}
</body>
</html>
`;
}

/** Writes a page (HEAD: headers only). */
export function sendPage(res: ServerResponse, status: number, html: string, head = false): void {
  const body = Buffer.from(html);
  res.writeHead(status, { ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8", "content-length": body.length });
  res.end(head ? undefined : body);
}

/** Shown instead of a page when the browser files are missing. */
export function missingAssetsPage(problem: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>chsk</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>chsk: the browser files are not built</h1><p>${escapeHtml(problem)}.</p></body></html>
`;
}

/** A short plain page for refusals (403) and the like. */
export function messagePage(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1 style="font-size: 1.3rem">${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>
`;
}
