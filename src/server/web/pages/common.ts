/** Helpers shared by the demo page and the dashboard (browser only). */
import { clockTime, fullTime } from "./time.js";

export { clockTime, fullTime } from "./time.js";

/** The element with `id`; throws if the page shell lacks it (a build mismatch). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
}

/** The page's settings (`#chsk-config`, written by the server). */
export function readConfig<T>(): T {
  return JSON.parse(byId("chsk-config").textContent ?? "{}") as T;
}

/** `el("td", { class: "x", title: "…" }, "text", child)` */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/**
 * An id someone else chose (a user id, a client id, an event id), isolated
 * from the text around it: a right-to-left override (U+202E) in it must not
 * reverse its neighbours ("ålice" then the transport badges, "Logged in
 * as …"). `<bdi>` isolates in every browser, without CSS.
 */
export const bdi = (text: string, attrs: Record<string, string | undefined> = {}): HTMLElement => el("bdi", attrs, text);

/** The same for attribute text (`title`), where elements can't go: U+2068 FIRST STRONG ISOLATE … U+2069 POP. */
export const isolated = (text: string): string => `\u2068${text}\u2069`;

/**
 * A point in time as every page shows it: `<time>` with local `HH:MM:SS`,
 * the full timestamp (date, milliseconds, UTC offset) as its tooltip, and
 * ISO in `datetime`. `note` is added to the tooltip (`"6 s ago"`).
 */
export function timeEl(ms: number, note?: string): HTMLTimeElement {
  const t = el("time", { datetime: new Date(ms).toISOString() });
  setTime(t, ms, note);
  return t;
}

/** Updates a {@link timeEl} in place (no DOM churn when nothing changed). */
export function setTime(t: HTMLTimeElement, ms: number, note?: string): void {
  const text = clockTime(ms);
  const title = note ? `${fullTime(ms)} (${note})` : fullTime(ms);
  if (t.textContent !== text) t.textContent = text;
  if (t.title !== title) t.title = title;
  const iso = new Date(ms).toISOString();
  if (t.dateTime !== iso) t.dateTime = iso;
}

/** `3 s ago`, `5 min ago`, `2 h ago`. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function duration(totalS: number): string {
  const s = Math.max(0, Math.floor(totalS));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** `12`, `1.2k`, `34k`, `1.2M`. */
export function count(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Two latencies with one unit: `0.18 / 6.2 ms`, `120 / 1,400 ms`. */
export function millisPair(a: number, b: number): string {
  const f = (ms: number) => (ms < 1 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms).toLocaleString("en-US"));
  return `${f(a)} / ${f(b)} ms`;
}

/** The first 8 characters of an id, for log tables (the full id goes in `title`). */
export const shortId = (id: string): string => (id.length > 10 ? `${id.slice(0, 8)}…` : id);
