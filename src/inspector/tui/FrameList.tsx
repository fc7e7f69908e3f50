import { Text } from "./ink.js";
import { memo } from "react";
import type { FrameRecord } from "../../core/index.js";
import { cell, headerCell, type Column } from "./frame-columns.js";
import { Lines } from "./Lines.js";
import { KIND_COLOR, tint } from "./theme.js";

export interface FrameListProps {
  columns: Column[];
  /** The visible window, oldest first. */
  rows: { pos: number; record: FrameRecord }[];
  selectedPos: number | undefined;
  /** Rows of records (the column header is one more). */
  height: number;
  color: boolean;
  utc: boolean;
  /** Shown in the first row when there are no rows. */
  empty: string;
  /** The store's `revision`: records changed in place (flags, pairs) re-render their rows when it moves. */
  revision: number;
}

/** The virtualized frame list: a header and exactly `height` rows, one line each. */
export function FrameList({ columns, rows, selectedPos, height, color, utc, empty, revision }: FrameListProps) {
  const header = columns.map(headerCell).join(" ");
  return (
    <>
      <Text wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
        {"  " + header}
      </Text>
      <Lines count={height}>
        {rows.length === 0
          ? [
              <Text key="empty" wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
                {"  " + empty}
              </Text>,
            ]
          : // Keyed by screen row, not by record: in follow mode every row shows a
            // new record on each render, and reusing the row's nodes (a text
            // update) is far cheaper than unmounting and mounting them all.
            rows.map(({ pos, record }, i) => (
              <FrameRow key={i} record={record} columns={columns} selected={pos === selectedPos} color={color} utc={utc} revision={revision} />
            ))}
      </Lines>
    </>
  );
}

/**
 * One row. Memoized: while paused or scrolled, rows whose record did not
 * change are not re-rendered. With colour, the cells are grouped into as
 * few styled spans as the colours need (ink processes each span).
 */
// `revision` is not read: it is a prop so that memo sees a record that changed in place.
const FrameRow = memo(function FrameRow({ record, columns, selected, color, utc }: { record: FrameRecord; columns: Column[]; selected: boolean; color: boolean; utc: boolean; revision: number }) {
  const marker = selected ? "> " : "  ";
  if (!color) {
    // Trailing padding is trimmed: ink processes every character it is given, spaces included.
    return <Text wrap="truncate-end">{(marker + columns.map((c) => cell(c, record, utc)).join(" ")).trimEnd()}</Text>;
  }
  const spans: { text: string; style: Record<string, unknown> }[] = [];
  let plain = marker;
  columns.forEach((c, i) => {
    const text = cell(c, record, utc) + (i < columns.length - 1 ? " " : "");
    const style = styleFor(c.id, record);
    if (style === undefined) {
      plain += text;
      return;
    }
    if (plain !== "") spans.push({ text: plain, style: {} });
    plain = "";
    spans.push({ text, style });
  });
  if (plain.trimEnd() !== "") spans.push({ text: plain.trimEnd(), style: {} });
  return (
    <Text wrap="truncate-end" inverse={selected}>
      {spans.map((s, i) => (
        <Text key={i} {...s.style}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
});

function styleFor(id: Column["id"], r: FrameRecord): Record<string, unknown> | undefined {
  switch (id) {
    case "time":
      return { dimColor: true };
    case "dir":
      return tint(true, r.dir === "c2s" ? "cyan" : "magenta");
    case "kind":
      return tint(true, KIND_COLOR[r.kind]);
    case "flags":
      return r.flags !== undefined && r.flags.length > 0 ? tint(true, "red") : undefined;
    default:
      return undefined;
  }
}
