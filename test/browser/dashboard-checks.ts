/**
 * What a newcomer checks by eye on the dashboard, as assertions: one time
 * format everywhere, and ids and event names readable at any width.
 */
import type { Page } from "playwright-core";

/** Local `HH:MM:SS`, the pages' one format. */
export const CLOCK = /^\d\d:\d\d:\d\d$/;

/**
 * Every time the page shows: the `<time>` elements (text and tooltip), the
 * chart legend's time, and any other time-like text in the visible page
 * (a `14:03:07.123`, a `4:36 PM`, a `2026-12-02` would be a second format).
 */
export function timeFormatProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const problems = [];
    const times = [...document.querySelectorAll("main time")];
    if (times.length === 0) problems.push("no <time> elements");
    for (const t of times) {
      if (!/^\\d\\d:\\d\\d:\\d\\d$/.test(t.textContent)) problems.push("time text " + JSON.stringify(t.textContent));
      if (!/^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} UTC[+-]\\d\\d:\\d\\d/.test(t.title)) problems.push("time tooltip " + JSON.stringify(t.title));
    }
    const legend = document.querySelector(".u-legend .u-series:first-child .u-value");
    if (legend && !/^(\\d\\d:\\d\\d:\\d\\d|–)$/.test(legend.textContent)) problems.push("chart legend time " + JSON.stringify(legend.textContent));
    const text = document.querySelector("main").innerText;
    for (const re of [/\\d\\d:\\d\\d:\\d\\d\\.\\d{3}/, /\\b\\d{1,2}:\\d\\d(:\\d\\d)?\\s?(AM|PM|am|pm)\\b/, /\\d{4}-\\d\\d-\\d\\d/, /(^|\\s):\\d\\d(\\s|$)/m]) {
      const m = re.exec(text);
      if (m) problems.push("other time format in the page: " + JSON.stringify(m[0]));
    }
    return problems;
  })()`) as Promise<string[]>;
}

/**
 * Text that a reader can't read in full at this width: a scroll box that
 * needs sideways scrolling, an id/event cell clipped by its box without its
 * full text in `title`, or a page wider than the window.
 */
export function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const problems = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) problems.push("the page is wider than the window: " + document.documentElement.scrollWidth + " > " + vw);
    for (const w of document.querySelectorAll(".table-wrap")) {
      if (w.offsetParent !== null && w.scrollWidth > w.clientWidth + 1) problems.push((w.closest("section")?.getAttribute("aria-labelledby") ?? "a table") + " needs sideways scrolling: " + w.scrollWidth + " > " + w.clientWidth);
    }
    const cells = document.querySelectorAll("#users .uid, #users .cid, #frames-body td.uid, #frames-body td.event, #frames-body .cid, #life-body td.uid, #life-body .cid, .stat-value, .stat-sub");
    for (const c of cells) {
      if (c.offsetParent === null) continue;
      const r = c.getBoundingClientRect();
      if (r.right > vw + 1 || r.left < -1) problems.push("off screen: " + JSON.stringify(c.textContent));
      const clipped = c.scrollWidth > c.clientWidth + 1 && getComputedStyle(c).overflowX !== "visible";
      const titled = (c.getAttribute("title") ?? c.closest("[title]")?.getAttribute("title") ?? "").length >= (c.textContent ?? "").replace(/…$/, "").length;
      if (clipped && !titled) problems.push("clipped without its full text: " + JSON.stringify(c.textContent));
      // An ancestor that hides overflow must contain the cell.
      for (let a = c.parentElement; a && a !== document.body; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX === "visible") continue;
        const ar = a.getBoundingClientRect();
        if (r.right > ar.right + 1 && !titled) problems.push("cut off by its container: " + JSON.stringify(c.textContent));
        break;
      }
    }
    return problems;
  })()`) as Promise<string[]>;
}

/**
 * Text with bidi controls (a U+202E in a user id) that can reorder its
 * neighbours ("ålice 😀 [ws] live"): the nearest ancestor that ends its
 * reach (one with `unicode-bidi: isolate`, like `<bdi>`, or a block) must
 * hold that text and nothing else.
 */
export function bidiProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const problems = [];
    const controls = /[\\u202a-\\u202e\\u2066-\\u2069]/;
    const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
    let seen = 0;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!controls.test(n.data)) continue;
      seen++;
      let a = n.parentElement;
      for (; a; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (["isolate", "isolate-override", "plaintext"].includes(s.unicodeBidi) || !s.display.startsWith("inline")) break;
      }
      if (a && a.textContent !== n.data) {
        problems.push("not isolated: " + JSON.stringify(n.data) + " shares <" + a.tagName.toLowerCase() + (a.id ? "#" + a.id : "") + (a.className ? "." + a.className : "") + "> with " + JSON.stringify(a.textContent));
      }
    }
    if (seen === 0) problems.push("no text with bidi controls on the page");
    return problems;
  })()`) as Promise<string[]>;
}
