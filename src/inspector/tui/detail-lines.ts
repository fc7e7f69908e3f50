/**
 * The detail pane's content for one record, as display lines cut to the
 * width: a few lines of facts, then the value pretty-printed as EDN, or
 * (`raw`) the frame as it crossed the wire. Computed once per record,
 * width and mode (the pane memoizes it) and scrolled by line.
 */
import type { FrameRecord } from "../../core/index.js";
import { clockTime } from "../output/text-line.js";
import { prettyEdnText } from "./edn-pretty.js";
import { latencyLabel, printable, wrapHard } from "./text.js";

export interface DetailLine {
  text: string;
  tone?: "head" | "dim" | "error";
}

/** Raw frames longer than this are cut in the pane (the recording has them whole). */
export const MAX_RAW_CHARS = 256 * 1024;

const fact = (label: string, v: string | number | null | undefined): string =>
  v === undefined || v === null || v === "" ? "" : `${label} ${printable(String(v))}`;

const join = (...parts: string[]): string => parts.filter((p) => p !== "").join("  ");

export function detailLines(r: FrameRecord, raw: boolean, width: number, utc: boolean): DetailLine[] {
  const w = Math.max(10, width);
  const out: DetailLine[] = [];
  const push = (text: string, tone?: DetailLine["tone"]) => {
    if (text === "") return;
    for (const t of wrapHard(text, w)) out.push(tone === undefined ? { text: t } : { text: t, tone });
  };
  const dir = r.dir === "c2s" ? "→ c2s" : "← s2c";
  push(join(`#${r.seq}`, clockTime(r.ts, utc), printable(r.ts), dir, `${r.transport}/${r.channel}`, r.kind, r.eventId === undefined ? "" : `:${printable(r.eventId)}`), "head");
  push(join(fact("conn", r.conn), fact("client", r.clientId), fact("user", r.uid), fact("exchange", r.exchange)));
  const pair = r.pair === undefined ? "" : r.kind === "reply" ? `reply to #${r.pair}` : `replied by #${r.pair}`;
  push(join(fact("cb", r.cbId), r.latencyMs === undefined ? "" : `latency ${latencyLabel(r.latencyMs)}`, pair, r.prev === undefined ? "" : `previous open #${r.prev}`));
  push(join(fact("packer", r.packer), fact("envelope", r.envelope), `${r.bytes} B`, fact("status", r.status), fact("url", r.url)), "dim");
  if (r.flags !== undefined && r.flags.length > 0) push(`flags: ${r.flags.join(", ")}`, "error");
  if (r.error !== undefined) push(`${printable(r.error.code)}: ${printable(r.error.message)}`, "error");
  out.push({ text: "" });

  if (raw) {
    const enc = r.binary === true ? "base64" : "text";
    out.push({ text: `── raw frame (${enc}, ${r.raw.length} chars) ── r: value`, tone: "head" });
    const body = r.raw.length > MAX_RAW_CHARS ? r.raw.slice(0, MAX_RAW_CHARS) : r.raw;
    for (const t of wrapHard(printable(body), w)) out.push({ text: t });
    if (body.length < r.raw.length) out.push({ text: `… cut at ${MAX_RAW_CHARS} characters`, tone: "dim" });
    return out;
  }

  if (r.events !== undefined && r.events.length > 0) {
    out.push({ text: `── ${r.events.length} event${r.events.length === 1 ? "" : "s"} (EDN) ── r: raw frame`, tone: "head" });
    for (const e of r.events) {
      push(`:${printable(e.eventId)}`, "head");
      valueLines(e.data, w - 2, out, "  ");
    }
    return out;
  }
  out.push({ text: "── value (EDN) ── r: raw frame", tone: "head" });
  valueLines(r.data, w, out, "");
  return out;
}

function valueLines(data: string | undefined, width: number, out: DetailLine[], indent: string): void {
  if (data === undefined) {
    out.push({ text: `${indent}(no value)`, tone: "dim" });
    return;
  }
  const pretty = prettyEdnText(data, width);
  if (!pretty.ok) out.push({ text: `${indent}(not EDN; shown as is)`, tone: "dim" });
  for (const line of pretty.lines) for (const t of wrapHard(printable(line), width)) out.push({ text: indent + t });
}
