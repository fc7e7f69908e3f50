/**
 * `--format text`: one human line per {@link FrameRecord}.
 *
 * ```
 * 12:00:01.234 → ws   alice/5f1c2d3e event     :demo/echo           cb=3f2a1b     17 B          "hello"
 * 12:00:01.240 ← ws   alice/5f1c2d3e reply     :demo/echo           cb=3f2a1b      9 B    6 ms  "hello"
 * 12:00:09.002 ← ajax -/77aa01bc     timeout                                      18 B          :chsk/timeout
 * ```
 *
 * Columns: time, direction (`→` client to server, `←` server to client,
 * `·` an open or close), transport, user/client (the uid without quotes,
 * `-` anonymous, `?` not known yet; the client id's first 8 characters),
 * kind, event id, cb id, size, reply latency, flags in brackets, and the
 * decoded value as one line of EDN, cut at `previewChars`. Fixed widths so
 * columns line up; the line never ends in spaces.
 */
import type { FrameKind, FrameRecord } from "../../core/index.js";

export interface TextLineOptions {
  /** Wrap columns in ANSI colour (see `shouldUseColor`). @default false */
  color?: boolean;
  /** Times in UTC rather than the local zone (tests, logs shared across zones). @default false */
  utc?: boolean;
  /** The EDN preview is cut to this many characters (`…` marks the cut). @default 80 */
  previewChars?: number;
}

const ESC = "\u001b[";
const paint = (on: boolean, code: string, s: string): string => (on && s !== "" ? `${ESC}${code}m${s}${ESC}0m` : s);

const KIND_COLOR: Record<FrameKind, string> = {
  handshake: "33",
  event: "36",
  push: "35",
  reply: "32",
  ping: "2",
  pong: "2",
  timeout: "2",
  dummy: "2",
  bad: "31;1",
  open: "33",
  close: "33",
  refused: "31;1",
};

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `HH:MM:SS.mmm` of an ISO time; the text as given when it does not parse. */
export function clockTime(ts: string, utc: boolean): string {
  const d = new Date(ts);
  const ms = d.getTime();
  if (Number.isNaN(ms)) return ts;
  const [h, m, s, milli] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${String(milli).padStart(3, "0")}`;
}

/** `alice`, `-` (`:sente/nil-uid`), `?` (not known), or the EDN text for other uids. */
export function uidLabel(uid: string | undefined): string {
  if (uid === undefined) return "?";
  if (uid === ":sente/nil-uid" || uid === ":taoensso.sente/nil-uid" || uid === "nil") return "-";
  // A string uid without its quotes, unless it needs them to read as one word.
  if (uid.length >= 2 && uid.startsWith('"') && uid.endsWith('"') && !/[\s"\\]/.test(uid.slice(1, -1))) return uid.slice(1, -1);
  return uid;
}

const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, Math.max(0, n - 1))}…`);

/** `17 B`, `1.2 kB`, `3.4 MB`. */
export function sizeLabel(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * What a row shows of a push of one event: that event's data, not the batch
 * around it (the id has its own column). A batch of several is shown whole.
 */
export function pushValue(r: FrameRecord): string | undefined {
  const events = r.events;
  return r.kind === "push" && events?.length === 1 ? (events[0]!.data ?? "") : undefined;
}

/** The decoded value on one line: runs of whitespace become one space. */
function preview(r: FrameRecord, n: number): string {
  let s: string;
  if (r.kind === "refused") s = r.error ? `${r.error.code}: ${r.error.message}` : `HTTP ${r.status ?? "?"}`;
  else if (r.kind === "close") s = [r.status, r.error?.message].filter((x) => x !== undefined && x !== "").join(" ");
  else if (r.kind === "open") s = r.url ?? "";
  else if (r.kind === "bad") s = r.error ? `${r.error.code}: ${r.error.message}` : r.raw;
  else if (r.kind === "push") s = pushValue(r) ?? r.data ?? r.raw;
  else if (r.data !== undefined) s = r.data;
  else s = r.binary ? `<${r.bytes} bytes>` : r.raw;
  return cut(s.replace(/\s+/g, " ").trim(), n);
}

/** One line for `r`, without a newline. */
export function formatTextLine(r: FrameRecord, options: TextLineOptions = {}): string {
  const color = options.color === true;
  const lifecycle = r.kind === "open" || r.kind === "close";
  const arrow = lifecycle ? "·" : r.dir === "c2s" ? "→" : "←";
  const who = `${cut(uidLabel(r.uid), 12)}/${(r.clientId ?? r.conn).slice(0, 8)}`;
  const cb = r.cbId === undefined || r.cbId === null ? "" : `cb=${r.cbId}`;
  const size = lifecycle || r.kind === "refused" ? "" : sizeLabel(r.bytes);
  const latency = r.latencyMs === undefined ? "" : `${Math.round(r.latencyMs)} ms`;
  const flags = r.flags && r.flags.length > 0 ? `[${r.flags.join(",")}]` : "";
  const cols = [
    paint(color, "2", clockTime(r.ts, options.utc === true)),
    paint(color, r.dir === "c2s" ? "36" : "35", arrow),
    r.transport.padEnd(4),
    who.padEnd(21),
    paint(color, KIND_COLOR[r.kind] ?? "0", r.kind.padEnd(9)),
    (r.eventId === undefined ? "" : `:${r.eventId}`).padEnd(20),
    cb.padEnd(9),
    size.padStart(7),
    latency.padStart(7),
  ];
  let line = cols.join(" ");
  if (flags !== "") line += `  ${paint(color, "31;1", flags)}`;
  const p = preview(r, options.previewChars ?? 80);
  if (p !== "") line += `  ${p}`;
  return line.trimEnd();
}
