/** Finding the anti-forgery token a server rendered into its page. */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

const PATTERNS = [
  // Sente's example project: <div id="sente-csrf-token" data-csrf-token="…">
  /data-csrf-token\s*=\s*["']([^"']*)["']/i,
  /<meta\b[^>]*\bname\s*=\s*["'](?:csrf-token|_csrf|csrf)["'][^>]*\bcontent\s*=\s*["']([^"']*)["']/i,
  /<meta\b[^>]*\bcontent\s*=\s*["']([^"']*)["'][^>]*\bname\s*=\s*["'](?:csrf-token|_csrf|csrf)["']/i,
  // ring-anti-forgery's hidden field
  /<input\b[^>]*\bname\s*=\s*["']__anti-forgery-token["'][^>]*\bvalue\s*=\s*["']([^"']*)["']/i,
  /<input\b[^>]*\bvalue\s*=\s*["']([^"']*)["'][^>]*\bname\s*=\s*["']__anti-forgery-token["']/i,
];

/**
 * The CSRF token embedded in an HTML page, as Sente's example and Ring apps
 * embed it: `data-csrf-token="…"`, `<meta name="csrf-token" content="…">`,
 * or an `__anti-forgery-token` form field. Undefined when there is none.
 */
export function scrapeCsrfToken(html: string): string | undefined {
  for (const re of PATTERNS) {
    const m = re.exec(html);
    if (m?.[1]) return decodeEntities(m[1]);
  }
  return undefined;
}
