/**
 * The live progress area of `chsk bench`: what runs and where it is, the
 * devices connected, throughput with a sparkline of the last minute,
 * latency of the last second, the counters, and how busy the generator's
 * own workers are. Notices (`Progress.log`) go above it through ink's
 * `Static`, so they scroll with the terminal and the live area stays last.
 *
 * Colour is only a help: without it every state is still in the text
 * (the phase name, `errors 3`, `⚠ generator saturated`).
 */
import { useMemo, type ReactNode } from "react";
import { Box, Static, Text } from "./ink.js";
import { bar, fmtCount, fmtMs, fmtPercent, fmtSeconds, PHASE_COLOR, sparkline } from "./format.js";
import type { ProgressSnapshot } from "./types.js";

export interface Notice {
  id: number;
  text: string;
}

export interface ProgressViewProps {
  /** Nothing is drawn below the notices until the first snapshot. */
  snapshot: ProgressSnapshot | undefined;
  /** Throughput of the run's past seconds, oldest first. */
  history: readonly number[];
  /** Every notice so far, oldest first (`Static` prints each once). */
  notices: readonly Notice[];
  color: boolean;
  /** Terminal size. */
  columns: number;
  rows: number;
}

type Color = "red" | "yellow" | "green" | "gray" | "blue" | "cyan" | "magenta";

/** Props for a `Text`: the colour only when colour is on. */
const ink = (color: boolean, c: Color | undefined, more: { bold?: boolean } = {}) => (color ? { ...(c !== undefined ? { color: c } : {}), ...more } : {});

const LABEL = 10;
/** Wider than this and the bars stop growing: a long bar on a wide terminal reads no better. */
const MAX_WIDTH = 100;
const SPARK_SECONDS = 60;

export function ProgressView({ snapshot, history, notices, color, columns, rows }: ProgressViewProps): ReactNode {
  // Never as wide as the terminal: a line the terminal wraps itself is one ink does not erase.
  const width = Math.max(20, Math.min(MAX_WIDTH, columns - 1));
  // Never as tall either: ink clears the whole terminal (scrollback too) to redraw an area that fills it.
  const height = Math.max(1, rows - 1);
  // The same element until a notice is added: ink draws at once, past its frame-rate cap, whenever a `Static` is updated.
  const above = useMemo(() => <Static items={notices as Notice[]}>{(n) => <Text key={n.id}>{n.text}</Text>}</Static>, [notices]);
  return (
    <>
      {above}
      {snapshot !== undefined && <Live s={snapshot} history={history} color={color} width={width} height={height} />}
    </>
  );
}

/** A line of the live area; on a short terminal the lines with the lowest `rank` stay. */
interface Line {
  key: string;
  rank: number;
  el: ReactNode;
}

function Live({ s, history, color, width, height }: { s: ProgressSnapshot; history: readonly number[]; color: boolean; width: number; height: number }): ReactNode {
  const phaseColor = PHASE_COLOR[s.phase];
  const clock = `${fmtSeconds(s.elapsedS)} / ${fmtSeconds(s.totalS)}`;
  const run = bar(s.totalS > 0 ? s.elapsedS / s.totalS : 0, width - LABEL - clock.length - 2);
  const devices = bar(s.devices > 0 ? s.connected / s.devices : 0, Math.min(20, width - LABEL - 16));
  const spark = sparkline(history, Math.min(SPARK_SECONDS, width - LABEL - 11));
  const title = `chsk bench · ${s.runs > 1 ? `run ${s.run}/${s.runs} · ` : ""}${s.label}`;
  const lines: Line[] = [
    {
      key: "title",
      rank: 0,
      el: (
        <Text wrap="truncate-end" {...ink(color, undefined, { bold: true })}>
          {title}
        </Text>
      ),
    },
    {
      key: "run",
      rank: 1,
      el: (
        <Row label={s.phase} labelColor={phaseColor} color={color}>
          <Text {...ink(color, phaseColor)}>{run.filled}</Text>
          <Text {...ink(color, "gray")}>{run.empty}</Text>
          <Text>{`  ${clock}`}</Text>
        </Row>
      ),
    },
    {
      key: "devices",
      rank: 5,
      el: (
        <Row label="devices" color={color}>
          <Text>{`${fmtCount(s.connected)}/${fmtCount(s.devices)}  `}</Text>
          <Text {...ink(color, s.connected < s.devices ? "yellow" : "green")}>{devices.filled}</Text>
          <Text {...ink(color, "gray")}>{devices.empty}</Text>
        </Row>
      ),
    },
    {
      key: "rate",
      rank: 2,
      el: (
        <Row label="msgs/s" color={color}>
          <Text {...ink(color, undefined, { bold: true })}>{fmtCount(s.throughput).padStart(9)}</Text>
          <Text>{"  "}</Text>
          <Text {...ink(color, "cyan")}>{spark}</Text>
        </Row>
      ),
    },
    {
      key: "latency",
      rank: 3,
      el: (
        <Row label="latency" color={color}>
          <Text>{`p50 ${fmtMs(s.p50Ms)} ms   p99 ${fmtMs(s.p99Ms)} ms   max ${fmtMs(s.maxMs)} ms`}</Text>
          <Text {...ink(color, "gray")}>{"   (last second)"}</Text>
        </Row>
      ),
    },
    {
      key: "totals",
      rank: 4,
      el: (
        <Row label="totals" color={color}>
          <Text>{`sent ${fmtCount(s.sent)}  recv ${fmtCount(s.received)}  `}</Text>
          <Count name="errors" n={s.errors} color={color} />
          <Text>{"  "}</Text>
          <Count name="timeouts" n={s.timeouts} color={color} />
          {s.lost !== undefined && (
            <>
              <Text>{"  "}</Text>
              <Count name="lost" n={s.lost} color={color} />
            </>
          )}
        </Row>
      ),
    },
    ...workerLines(s.workerElu, color, width),
  ];
  if (s.saturated) {
    lines.push({
      key: "saturated",
      rank: 1.5,
      el: (
        <Text wrap="truncate-end" {...ink(color, "red", { bold: true })}>
          {"⚠ generator saturated: the bench itself is the bottleneck, not the server"}
        </Text>
      ),
    });
  }
  if (s.note !== undefined && s.note !== "") {
    lines.push({
      key: "note",
      rank: 8,
      el: (
        <Text wrap="truncate-end" {...ink(color, "gray")}>
          {s.note}
        </Text>
      ),
    });
  }
  const kept = new Set([...lines].sort((a, b) => a.rank - b.rank).slice(0, height));
  return (
    <Box flexDirection="column" width={width}>
      {lines.filter((l) => kept.has(l)).map((l) => (
        <Box key={l.key} flexDirection="column">
          {l.el}
        </Box>
      ))}
    </Box>
  );
}

function Row({ label, labelColor, color, children }: { label: string; labelColor?: Color; color: boolean; children: ReactNode }): ReactNode {
  return (
    <Box>
      <Box width={LABEL} flexShrink={0}>
        <Text {...ink(color, labelColor ?? "gray")}>{label}</Text>
      </Box>
      <Text wrap="truncate-end">{children}</Text>
    </Box>
  );
}

function Count({ name, n, color }: { name: string; n: number; color: boolean }): ReactNode {
  return <Text {...ink(color, n > 0 ? "red" : undefined, { bold: n > 0 })}>{`${name} ${fmtCount(n)}`}</Text>;
}

const ELU_BAR = 8;
/** `w12 ████░░░░  72%` and the gap after it. */
const WORKER_CELL = 4 + ELU_BAR + 5 + 2;

/** One small bar per worker thread, as many to a row as fit. */
function workerLines(elu: readonly number[], color: boolean, width: number): Line[] {
  const perRow = Math.max(1, Math.floor((width - LABEL) / WORKER_CELL));
  const lines: Line[] = [];
  for (let first = 0; first < elu.length; first += perRow) {
    const row = elu.slice(first, first + perRow);
    lines.push({
      key: `workers-${first}`,
      rank: 6 + first / elu.length,
      el: (
        <Row label={first === 0 ? "workers" : ""} color={color}>
          {row.map((f, j) => {
            const b = bar(f, ELU_BAR);
            return (
              <Text key={j}>
                <Text>{`w${first + j + 1}`.padEnd(4)}</Text>
                <Text {...ink(color, f >= 0.9 ? "red" : f >= 0.7 ? "yellow" : "green")}>{b.filled}</Text>
                <Text {...ink(color, "gray")}>{b.empty}</Text>
                <Text>{fmtPercent(f).padStart(5)}</Text>
                <Text>{"  "}</Text>
              </Text>
            );
          })}
        </Row>
      ),
    });
  }
  return lines;
}
