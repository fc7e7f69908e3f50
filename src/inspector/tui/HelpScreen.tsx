import type { DetailLine } from "./detail-lines.js";
import { DetailPane } from "./DetailPane.js";
import { BINDINGS } from "./keymap.js";
import { fit } from "./text.js";

/** Every key binding, grouped by where it applies, then the filter language. */
export function helpLines(): DetailLine[] {
  const lines: DetailLine[] = [];
  let where = "";
  for (const b of BINDINGS) {
    if (b.where !== where) {
      where = b.where;
      lines.push({ text: where, tone: "head" });
    }
    lines.push({ text: `  ${fit(b.keys, 16)} ${b.action}` });
  }
  lines.push({ text: "" });
  lines.push({ text: "filter line (all terms must match)", tone: "head" });
  for (const t of [
    "ev:NAME  user:UID  client:ID  conn:ID   contains (case-insensitive)",
    "dir:c2s|s2c  kind:event,reply,…  tr:ws|ajax  flag:unanswered,…",
    "/regex/i   a JavaScript regex over the frame's text",
    "word       the frame's text contains it",
    "-term      negates a term: -kind:ping,pong hides heartbeats",
  ])
    lines.push({ text: `  ${t}` });
  return lines;
}

export const HELP_LINES: readonly DetailLine[] = helpLines();

/** The help screen: {@link HELP_LINES}, scrollable. */
export function HelpScreen({ height, scroll, color }: { height: number; scroll: number; color: boolean }) {
  return <DetailPane lines={HELP_LINES as DetailLine[]} scroll={scroll} height={height} color={color} />;
}
