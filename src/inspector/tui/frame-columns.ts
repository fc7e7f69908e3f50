/**
 * The frame list's columns: which fit a given width, and each cell's text.
 * Narrow terminals drop the least useful columns first (client, size,
 * transport, user…) and keep time, direction, kind and the event, so a row
 * is always one line.
 */
import type { FrameRecord } from "../../core/index.js";
import { clockTime, pushValue, uidLabel } from "../output/text-line.js";
import { bytesLabel, fit, latencyLabel, printable } from "./text.js";

export type ColumnId = "time" | "dir" | "tr" | "user" | "client" | "kind" | "ev" | "size" | "lat" | "flags";

export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  align: "left" | "right";
}

const SPEC: Record<ColumnId, Omit<Column, "id">> = {
  time: { title: "time", width: 12, align: "left" },
  dir: { title: "", width: 2, align: "left" },
  tr: { title: "tr", width: 4, align: "left" },
  user: { title: "user", width: 9, align: "left" },
  client: { title: "client", width: 8, align: "left" },
  kind: { title: "kind", width: 9, align: "left" },
  ev: { title: "event / value", width: 0, align: "left" },
  size: { title: "size", width: 5, align: "right" },
  lat: { title: "latency", width: 7, align: "right" },
  flags: { title: "flags", width: 10, align: "left" },
};

/**
 * Display order. The event / value column is the wide one; the short
 * numeric ones follow it, as in the issue's column list.
 */
const ORDER: readonly ColumnId[] = ["time", "dir", "tr", "user", "client", "kind", "ev", "size", "lat", "flags"];
/** Added while they fit, in this order, after the ones that always show. */
const OPTIONAL: readonly ColumnId[] = ["lat", "flags", "user", "tr", "size", "client"];
/** The event column never gets narrower than this when optional columns are added. */
const EV_MIN = 16;

/** Width of the selection marker and its space, before the first column. */
export const MARKER_WIDTH = 2;

/** The columns for a terminal `width` wide. Their widths plus separators add up to `width - MARKER_WIDTH`. */
export function frameColumns(width: number): Column[] {
  const avail = Math.max(1, width - MARKER_WIDTH);
  const chosen = new Set<ColumnId>(["dir", "ev"]);
  const used = (ids: Iterable<ColumnId>) => [...ids].reduce((n, id) => n + (id === "ev" ? 0 : SPEC[id].width + 1), 0);
  // Time and kind go only when even they do not fit next to an 8-character event.
  for (const id of ["time", "kind"] as const) if (used([...chosen, id]) + 8 <= avail) chosen.add(id);
  for (const id of OPTIONAL) if (used([...chosen, id]) + EV_MIN <= avail) chosen.add(id);
  const evWidth = Math.max(1, avail - used(chosen));
  return ORDER.filter((id) => chosen.has(id)).map((id) => ({ id, ...SPEC[id], width: id === "ev" ? evWidth : SPEC[id].width }));
}

// ASCII on purpose, here and in `fit`'s `~`: ink measures every line with
// string-width, whose fast path is printable ASCII; one arrow or ellipsis
// per row made a full-screen render at 5,000 frames/s cost a third more CPU.
const arrow = (r: FrameRecord): string => (r.kind === "open" || r.kind === "close" ? "--" : r.dir === "c2s" ? "->" : "<-");

/** The event id (`:my/ev`) and the value on one line. */
export function eventCell(r: FrameRecord): string {
  let value: string;
  if (r.kind === "refused") value = `HTTP ${r.status ?? "?"}${r.error ? ` ${r.error.code}` : ""}`;
  else if (r.kind === "bad") value = r.error ? `${r.error.code}: ${r.error.message}` : r.raw;
  else if (r.kind === "close") value = [r.status, r.error?.message].filter((x) => x !== undefined && x !== "").join(" ");
  else if (r.kind === "open") value = r.url ?? "";
  else if (r.kind === "push") value = pushValue(r) ?? r.data ?? r.raw;
  else if (r.data !== undefined) value = r.data;
  else value = r.binary === true ? `<${r.bytes} bytes>` : r.raw;
  const id = r.eventId === undefined ? "" : `:${r.eventId}`;
  const pair = r.kind === "reply" && r.pair !== undefined ? `re#${r.pair}` : "";
  // Only the start is ever visible; don't collapse a megabyte of whitespace to show 80 characters.
  const head = value.length > 512 ? value.slice(0, 512) : value;
  return printable([pair, id, head.replace(/\s+/g, " ").trim()].filter((x) => x !== "").join(" "));
}

export function cellText(id: ColumnId, r: FrameRecord, utc: boolean): string {
  switch (id) {
    case "time":
      return clockTime(r.ts, utc);
    case "dir":
      return arrow(r);
    case "tr":
      return r.transport;
    case "user":
      return printable(uidLabel(r.uid));
    case "client":
      return printable(r.clientId ?? r.conn);
    case "kind":
      return r.kind;
    case "ev":
      return eventCell(r);
    case "size":
      return r.kind === "open" || r.kind === "close" ? "" : bytesLabel(r.bytes);
    case "lat":
      return latencyLabel(r.latencyMs);
    case "flags":
      return r.flags?.join(",") ?? "";
  }
}

/** One cell, cut and padded to its column. */
export const cell = (c: Column, r: FrameRecord, utc: boolean): string => fit(cellText(c.id, r, utc), c.width, c.align);

/** The header row's cells. */
export const headerCell = (c: Column): string => fit(c.title, c.width, c.align);
