/**
 * The one way the pages write a point in time: local `HH:MM:SS` (24 h), with
 * the full timestamp for tooltips. Pure (no DOM), so tests run it in Node.
 */
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `14:03:07`, local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `2026-12-02 14:03:07.123 UTC+01:00`, local time with its offset. */
export function fullTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const zone = `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(ms)}.${pad(d.getMilliseconds(), 3)} ${zone}`;
}
