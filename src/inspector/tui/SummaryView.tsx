import { Text } from "./ink.js";
import type { ConnSummary, UserSummary } from "../../core/index.js";
import { uidLabel } from "../output/text-line.js";
import { Lines } from "./Lines.js";
import { count, fit, latencyLabel, printable } from "./text.js";

export type SummaryRows = { kind: "conns"; rows: ConnSummary[] } | { kind: "users"; rows: UserSummary[] };

export interface SummaryViewProps {
  table: SummaryRows;
  selected: number;
  /** Rows for table rows (the header is one more). */
  height: number;
  width: number;
  color: boolean;
}

type Row = ConnSummary | UserSummary;

interface Col {
  title: string;
  width: number;
  value: (r: Row) => string;
  right?: boolean;
}

/** Problems a row had: decoding errors, refusals, and calls never or too late answered, replies to nothing, missed pongs. */
export const problems = (r: Row): number => r.errors + r.unanswered + r.late + r.orphans + r.missedPongs;

const num = (title: string, width: number, value: (r: Row) => string): Col => ({ title, width, value, right: true });

const NUMS: Col[] = [
  num("calls", 6, (r) => count(r.calls)),
  num("pushes", 7, (r) => count(r.pushes)),
  num("p50", 6, (r) => latencyLabel(r.latency?.p50)),
  num("p99", 6, (r) => latencyLabel(r.latency?.p99)),
  num("errors", 6, (r) => count(r.errors)),
  num("unans", 5, (r) => count(r.unanswered)),
  num("reconn", 6, (r) => count(r.reconnects)),
  num("frames", 7, (r) => count(r.frames)),
];

const CONN_LEAD: Col[] = [
  { title: "connection", width: 14, value: (r) => printable((r as ConnSummary).conn) },
  { title: "tr", width: 4, value: (r) => (r as ConnSummary).transport },
  { title: "user", width: 9, value: (r) => printable(uidLabel((r as ConnSummary).uid)) },
  { title: "client", width: 8, value: (r) => printable((r as ConnSummary).clientId ?? "") },
  { title: "", width: 6, value: (r) => ((r as ConnSummary).open ? "open" : "closed") },
];

const USER_LEAD: Col[] = [
  { title: "user", width: 16, value: (r) => printable(uidLabel((r as UserSummary).uid)) },
  num("conns", 5, (r) => `${(r as UserSummary).openConns}/${(r as UserSummary).conns}`),
  num("tabs", 4, (r) => count((r as UserSummary).clients)),
];

function columnsFor(kind: "conns" | "users", width: number): Col[] {
  const lead = kind === "conns" ? CONN_LEAD : USER_LEAD;
  // Narrow terminals keep the first column and as many numbers as fit, then the other labels.
  const order = [...lead, ...NUMS];
  const chosen = new Set<Col>([lead[0]!]);
  let used = 2 + lead[0]!.width;
  for (const c of [...NUMS.slice(0, 5), ...lead.slice(1), ...NUMS.slice(5)]) {
    if (used + 1 + c.width <= width) {
      chosen.add(c);
      used += 1 + c.width;
    }
  }
  return order.filter((c) => chosen.has(c));
}

/** The key a row is filtered by in the frame list (`conn:…` / `user:…`). */
export const rowKey = (table: SummaryRows, i: number): string | undefined =>
  table.kind === "conns" ? table.rows[i]?.conn : table.rows[i]?.uid;

/** The per-connection or per-user table, windowed around the selected row. */
export function SummaryView({ table, selected, height, width, color }: SummaryViewProps) {
  const cols = columnsFor(table.kind, width);
  const line = (cells: string[]) => cells.join(" ");
  const header = "  " + line(cols.map((c) => fit(c.title, c.width, c.right ? "right" : "left")));
  const rows: Row[] = table.rows;
  const start = Math.max(0, selected - height + 1);
  const shown = rows.slice(start, start + height);
  return (
    <>
      <Text wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
        {header}
      </Text>
      <Lines count={height}>
        {shown.length === 0
          ? [<Text key="empty">{`  no ${table.kind === "conns" ? "connections" : "users"} yet`}</Text>]
          : shown.map((r, i) => {
              const sel = start + i === selected;
              const text = (sel ? "> " : "  ") + line(cols.map((c) => fit(c.value(r), c.width, c.right ? "right" : "left")));
              return (
                <Text key={i} wrap="truncate-end" {...(color && sel ? { inverse: true } : {})} {...(color && problems(r) > 0 ? { color: "red" } : {})}>
                  {text.trimEnd()}
                </Text>
              );
            })}
      </Lines>
    </>
  );
}
