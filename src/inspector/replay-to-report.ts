/**
 * The `--to` report as text: one line per replayed event, the recorded and
 * new values under each one that differs, then a summary line.
 *
 * ```
 * replay to http://127.0.0.1:8090/chsk over ws (edn): 3 events
 *   #1  :demo/echo        equal       4 ms (recorded 6 ms)
 *   #2  :demo/echo        different   3 ms (recorded 5 ms)
 *         recorded: "hello"
 *         new:      "HELLO"
 *   #3  :demo/note        sent
 * 2 calls: 1 equal, 1 different, 0 missing, 0 new errors; 1 event sent without a reply
 * pushes: not compared (they depend on other clients and the server's timers; --compare-pushes compares them)
 * ```
 */
import type { CallOutcome, ReplayedEvent, ReplayToResult } from "./replay-to.js";

export interface ReplayReportOptions {
  /** ANSI colour (see `shouldUseColor`). @default false */
  color?: boolean;
  /** Values are cut to this many characters. @default 400 */
  valueChars?: number;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
const STATUS_COLOR: Record<ReplayedEvent["status"], string> = { equal: "32", sent: "2", different: "31;1", missing: "33;1", "new-error": "31;1" };
const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

function outcomeText(o: CallOutcome | undefined, n: number): string {
  if (o === undefined || o.kind === "none") return "(no reply)";
  if (o.kind === "reply") return cut(o.value.replace(/\s+/g, " "), n);
  return `${o.code}: ${cut(o.message, n)}`;
}

const ms = (x: number | undefined) => (x === undefined ? undefined : `${Math.round(x)} ms`);

/** One line per event (plus detail lines for those that differ). */
export function formatReplayedEvent(e: ReplayedEvent, options: ReplayReportOptions = {}): string[] {
  const color = options.color === true;
  const n = options.valueChars ?? 400;
  const got = e.received?.kind === "reply" ? ms(e.received.latencyMs) : undefined;
  const was = e.recorded?.kind === "reply" ? ms(e.recorded.latencyMs) : undefined;
  const timing = got === undefined ? "" : was === undefined ? got : `${got} (recorded ${was})`;
  const head = `  #${String(e.n).padEnd(3)} ${`:${e.eventId}`.padEnd(18)} ${paint(color, STATUS_COLOR[e.status], e.status.padEnd(10))} ${timing}`.trimEnd();
  if (e.status === "equal" || e.status === "sent") return [head];
  if (!e.call) return [head, `        ${outcomeText(e.received, n)}`];
  return [head, `        recorded: ${outcomeText(e.recorded, n)}`, `        new:      ${outcomeText(e.received, n)}`, `        event:    ${cut(e.event, n)}`];
}

const plural = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;

/** The whole report, lines without newlines. */
export function formatReplayReport(r: ReplayToResult, options: ReplayReportOptions = {}): string[] {
  const s = r.summary;
  const lines = [`replay to ${r.url} over ${r.transport} (${r.packer}): ${plural(s.events, "event")}`];
  for (const e of r.events) lines.push(...formatReplayedEvent(e, options));
  const sentOnly = s.sent > 0 ? `; ${plural(s.sent, "event")} sent without a reply` : "";
  lines.push(`${plural(s.calls, "call")}: ${s.equal} equal, ${s.different} different, ${s.missing} missing, ${plural(s.newError, "new error")}${sentOnly}`);
  if (r.pushes === undefined) {
    lines.push("pushes: not compared (they depend on other clients and the server's timers; --compare-pushes compares them)");
  } else if (r.pushes.equal) {
    lines.push(`pushes: ${plural(r.pushes.received.length, "push", "pushes")}, as recorded`);
  } else {
    const i = r.pushes.firstDifference ?? 0;
    lines.push(
      `pushes: differ at #${i + 1} (recorded ${r.pushes.recorded.length}, received ${r.pushes.received.length})`,
      `        recorded: ${r.pushes.recorded[i] ?? "(none)"}`,
      `        new:      ${r.pushes.received[i] ?? "(none)"}`,
    );
  }
  if (r.interrupted) lines.push("interrupted: not every event was replayed");
  lines.push(r.ok ? "result: no differences" : "result: differences found");
  return lines;
}
