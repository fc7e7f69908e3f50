import { Text } from "./ink.js";
import type { DetailLine } from "./detail-lines.js";
import { Lines } from "./Lines.js";
import { tint } from "./theme.js";

export interface DetailPaneProps {
  lines: DetailLine[];
  scroll: number;
  /** Rows the pane fills. */
  height: number;
  color: boolean;
}

/** A window of a record's detail lines (`detail-lines.ts`), with a position marker when it scrolls. */
export function DetailPane({ lines, scroll, height, color }: DetailPaneProps) {
  const more = lines.length > height;
  const bodyRows = more ? height - 1 : height;
  const top = Math.max(0, Math.min(scroll, lines.length - bodyRows));
  const shown = lines.slice(top, top + bodyRows);
  const rows = shown.map((l, i) => (
    <Text key={top + i} wrap="truncate-end" {...styleOf(l, color)}>
      {l.text === "" ? " " : l.text}
    </Text>
  ));
  if (more) {
    rows.length = Math.min(rows.length, bodyRows);
    while (rows.length < bodyRows) rows.push(<Text key={`pad-${rows.length}`}> </Text>);
    const end = Math.min(lines.length, top + bodyRows);
    rows.push(
      <Text key="pos" wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
        {`-- lines ${top + 1}-${end} of ${lines.length} --`}
      </Text>,
    );
  }
  return <Lines count={height}>{rows}</Lines>;
}

function styleOf(l: DetailLine, color: boolean): { bold?: boolean; dimColor?: boolean; color?: "red" } {
  if (!color || l.tone === undefined) return {};
  if (l.tone === "head") return { bold: true };
  if (l.tone === "dim") return { dimColor: true };
  return tint(true, "red") as { color: "red" };
}
