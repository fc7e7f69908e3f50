import { Box, Text, useApp, useInput, useStdin, type Key } from "./ink.js";
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { isChskError, systemClock, type Clock } from "../../core/index.js";
import type { SourceEnd, SourceNotice, WireSource } from "../sources/types.js";
import type { FrameStore, FrameView, RecordPredicate } from "../store.js";
import { DetailPane } from "./DetailPane.js";
import { detailLines } from "./detail-lines.js";
import { EditLine } from "./EditLine.js";
import { compileFilter } from "../filter.js";
import { frameColumns } from "./frame-columns.js";
import { FrameList } from "./FrameList.js";
import { HelpBar } from "./HelpBar.js";
import { HELP_LINES, HelpScreen } from "./HelpScreen.js";
import { barHints, keyPresses, keyToActions, type KeyContext } from "./keymap.js";
import { rowKey, SummaryView, type SummaryRows } from "./SummaryView.js";
import { count, cut, printable } from "./text.js";
import { initialUi, reduceUi, type Screen, type SendOutcome, type UiState } from "./ui-state.js";
import { useStoreUpdates } from "./use-store-updates.js";
import { useTerminalSize } from "./use-terminal-size.js";

/**
 * Sends an event typed in the send line (EDN text) and resolves with the
 * reply as EDN text (undefined when none was asked for); rejects with a
 * `ChskError`. The client source's `send` fits: `(t, o) => source.send(t, o.timeoutMs)`.
 */
export type Sender = (ednText: string, options: { timeoutMs: number }) => Promise<string | undefined>;

/** What the TUI uses of a source: its name for the header, and optionally its notices and end. */
export type TuiSource = Pick<WireSource, "kind" | "label"> & Partial<Pick<WireSource, "onNotice" | "done">>;

export interface AppProps {
  /** Where the records are; whoever feeds it (a source through the decoder, a test) is not the TUI's business. */
  store: FrameStore;
  source?: TuiSource | undefined;
  /** Client mode: enables the send line. */
  onSend?: Sender | undefined;
  /**
   * How long the send line waits for a reply before showing `CHSK_ERR_TIMEOUT`
   * (also passed to `onSend`).
   * @default 10_000
   */
  sendTimeoutMs?: number | undefined;
  /** Use colour (decided by `runTui` from the terminal and `NO_COLOR`). @default false */
  color?: boolean | undefined;
  /** Show times in UTC instead of the local zone. @default false */
  utc?: boolean | undefined;
  /** The filter line to start with (same language as the `/` line). @default "" */
  initialFilter?: string | undefined;
  /** Timers (the send timeout) and time. @default systemClock */
  clock?: Clock | undefined;
}

/** What the app passes to ink's `exit` when the user quits. */
export interface QuitResult {
  reason: "quit" | "ctrl-c";
}

/**
 * The inspector's screen: a header, the frame list (or a frame's detail,
 * the connection / user summaries, the help), the filter line, the send
 * line in client mode, a status line and the key bar. Always exactly
 * `rows - 1` lines, so ink redraws in place without clearing the screen.
 */
export function App(props: AppProps) {
  const { store, source, onSend } = props;
  const color = props.color === true;
  const utc = props.utc === true;
  const clock = props.clock ?? systemClock;
  const sendTimeoutMs = props.sendTimeoutMs ?? 10_000;
  const canSend = onSend !== undefined;
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns: width, rows: height } = useTerminalSize();
  const [ui, dispatch] = useReducer(reduceUi, props.initialFilter ?? "", initialUi);
  useStoreUpdates(store);
  const notice = useNotices(source);
  const ended = useSourceEnd(source);
  useSender(ui, dispatch, onSend, sendTimeoutMs, clock);

  // An invalid filter (a regex being typed) keeps the last valid one in force.
  const compiled = useMemo(() => compileFilter(ui.filter.text), [ui.filter.text]);
  const lastGood = useRef<RecordPredicate | undefined>(undefined);
  if (compiled.ok) lastGood.current = compiled.predicate;
  const predicate = compiled.ok ? compiled.predicate : lastGood.current;
  const view = useMemo(() => store.view(predicate), [store, predicate]);
  view.refresh(ui.pausedAt ?? store.total);

  // Layout: header, body, filter line, [send line], status, key bar; one line short of the screen.
  const lines = Math.max(1, height - 1);
  const body = Math.max(2, lines - (canSend ? 5 : 4));
  const listRows = body - 1;

  // The visible window of the list. `top` is remembered as a store position
  // so the view holds still while records arrive above or are evicted.
  const n = view.length;
  const selIndex = selectedIndex(ui, view);
  const topPos = useRef<number | null>(null);
  let top = ui.follow ? n - listRows : topPos.current === null ? selIndex - listRows + 1 : view.indexAtOrAfter(topPos.current);
  if (selIndex < top) top = selIndex;
  if (selIndex >= top + listRows) top = selIndex - listRows + 1;
  top = Math.max(0, Math.min(top, n - listRows));
  topPos.current = view.posAt(top) ?? null;
  const columns = useMemo(() => frameColumns(width), [width]);

  // The revision: the decoder may pair or flag the record after it was opened.
  const detail = useMemo(
    () => (ui.detail === null ? [] : detailLines(ui.detail.record, ui.raw, width, utc)),
    [ui.detail, ui.raw, width, utc, store.revision],
  );
  // Summaries are computed only while a summary screen shows.
  const summaryFor = (screen: Screen): SummaryRows =>
    screen === "users" ? { kind: "users", rows: store.summaries.users() } : { kind: "conns", rows: screen === "conns" ? store.summaries.conns() : [] };
  const summary = summaryFor(ui.screen);

  // What a key needs to know, for a state that may be ahead of this render
  // (keys that arrive before React re-renders build on each other).
  const ctxFor = (s: UiState): KeyContext => {
    const rows = s.screen === ui.screen ? summary : summaryFor(s.screen);
    let detailIndex = -1;
    if (s.detail !== null) {
      const i = view.indexAtOrAfter(s.detail.pos);
      if (view.posAt(i) === s.detail.pos) detailIndex = i;
    }
    return {
      listLength: n,
      selIndex: selectedIndex(s, view),
      posAt: (i) => view.posAt(i),
      recordAt: (i) => view.at(i),
      pageRows: listRows,
      total: store.total,
      detailLines: s.detail === ui.detail && s.raw === ui.raw ? detail.length : s.detail === null ? 0 : detailLines(s.detail.record, s.raw, width, utc).length,
      detailRows: body,
      helpLines: HELP_LINES.length,
      detailIndex,
      summaryLength: rows.rows.length,
      summaryFilter: (i) => {
        const key = rowKey(rows, i);
        // The filter line splits on spaces; a key with one cannot be written as a term.
        if (key === undefined || /\s/.test(key)) return undefined;
        return `${rows.kind === "conns" ? "conn" : "user"}:${key}`;
      },
      canSend,
    };
  };
  const latest = useRef({ ui, ctxFor });
  latest.current = { ui, ctxFor };
  // The state as of the keys handled since this render; null once React has caught up.
  const ahead = useRef<UiState | null>(null);
  ahead.current = null;
  useInput(
    (input: string, key: Key) => {
      try {
        let s = ahead.current ?? latest.current.ui;
        // A burst of keys is split while keys are commands; typed into a line, it is a paste.
        for (const [one, k] of s.focus === "keys" ? keyPresses(input, key) : [[input, key] as const]) {
          const r = keyToActions(s, one, k, latest.current.ctxFor(s));
          if (r.quit === true) {
            exit({ reason: k.ctrl ? "ctrl-c" : "quit" } satisfies QuitResult);
            return;
          }
          for (const a of r.actions) {
            s = reduceUi(s, a);
            dispatch(a);
          }
        }
        ahead.current = s;
      } catch (e) {
        // A key handler is outside React's error boundaries: crash the same way.
        exit(e instanceof Error ? e : new Error(String(e)));
      }
    },
    { isActive: isRawModeSupported },
  );

  const shown = ui.screen === "frames" ? view.window(top, top + listRows) : [];
  const header = headerLine(store, source, ui, n, ended, predicate !== undefined);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end" {...(color ? { bold: true } : {})}>
        {header}
      </Text>
      {ui.screen === "frames" ? (
        <FrameList
          columns={columns}
          rows={shown}
          selectedPos={view.posAt(selIndex)}
          height={listRows}
          color={color}
          utc={utc}
          empty={emptyText(store, ui, predicate !== undefined)}
          revision={store.revision}
        />
      ) : ui.screen === "detail" ? (
        <DetailPane lines={detail} scroll={ui.detailScroll} height={body} color={color} />
      ) : ui.screen === "help" ? (
        <HelpScreen height={body} scroll={ui.helpScroll} color={color} />
      ) : (
        <SummaryView table={summary} selected={ui.summarySel} height={listRows} width={width} color={color} />
      )}
      <EditLine
        label="filter: "
        line={ui.filter}
        focused={ui.focus === "filter"}
        error={compiled.ok ? undefined : compiled.error}
        hint="/ to filter: ev:… user:… kind:… -kind:ping,pong /regex/"
        note={predicate !== undefined ? `${count(n)} of ${count(store.size)}` : undefined}
        width={width}
        color={color}
      />
      {canSend ? (
        <EditLine label="send> " line={ui.input} focused={ui.focus === "input"} hint="i to type an event: [:my/event {:a 1}]" width={width} color={color} />
      ) : null}
      <StatusLine ui={ui} notice={notice} color={color} />
      <HelpBar hints={hintsFor(ui, canSend)} width={width} color={color} />
    </Box>
  );
}

/** Index in the view of the selected frame: the newest while following; -1 when the view is empty. */
function selectedIndex(s: UiState, view: FrameView): number {
  const n = view.length;
  return s.follow || s.selected === null ? n - 1 : Math.min(view.indexAtOrAfter(s.selected), n - 1);
}

function headerLine(store: FrameStore, source: TuiSource | undefined, ui: UiState, shown: number, ended: SourceEnd | null, filtered: boolean): string {
  const parts = ["chsk inspect"];
  if (source !== undefined) parts.push(printable(source.label));
  parts.push(`${count(store.size)} frames` + (store.evicted > 0 ? ` (last ${count(store.capacity)})` : ""));
  if (filtered) parts.push(`${count(shown)} shown`);
  if (ui.pausedAt !== null) parts.push(`PAUSED +${count(store.total - ui.pausedAt)} new`);
  else parts.push(ui.follow ? "following" : "scrolled");
  if (ended !== null) parts.push(ended.reason === "failed" ? `source failed: ${ended.error.code}` : `source ended (${ended.reason})`);
  return parts.join(" · ");
}

function emptyText(store: FrameStore, ui: UiState, filtered: boolean): string {
  if (store.size === 0) return "waiting for frames…";
  if (filtered) return "no frame matches the filter (Esc clears it)";
  return ui.pausedAt !== null ? "paused before the first frame (Space resumes)" : "";
}

function hintsFor(ui: UiState, canSend: boolean): string[] {
  if (ui.focus === "filter") return ["⏎ keep", "esc undo", "ctrl-u clear", "ctrl-c quit"];
  if (ui.focus === "input") return ["⏎ send", "↑↓ history", "esc leave", "ctrl-c quit"];
  return barHints(ui.screen, canSend);
}

function StatusLine({ ui, notice, color }: { ui: UiState; notice: SourceNotice | null; color: boolean }) {
  let text = " ";
  let tone: "red" | "green" | "yellow" | undefined;
  if (ui.sending !== null) {
    text = `sending ${cut(ui.sending.text, 60)} …`;
  } else if (ui.lastSend !== null && (ui.focus === "input" || notice === null)) {
    text = outcomeText(ui.lastSend);
    tone = ui.lastSend.ok ? "green" : "red";
  } else if (notice !== null) {
    text = `${notice.level}: ${notice.code === undefined ? "" : `${notice.code} `}${notice.message}`;
    tone = notice.level === "error" ? "red" : notice.level === "warn" ? "yellow" : undefined;
  }
  return (
    <Text wrap="truncate-end" {...(color && tone !== undefined ? { color: tone } : {})}>
      {printable(text.replace(/\s+/g, " "))}
    </Text>
  );
}

function outcomeText(o: SendOutcome): string {
  if (!o.ok) return `✗ ${o.code}: ${o.message}`;
  return o.reply === undefined ? `sent ${o.text}` : `⇐ ${o.reply}  (${Math.round(o.ms)} ms)`;
}

function useNotices(source: TuiSource | undefined): SourceNotice | null {
  const [notice, setNotice] = useState<SourceNotice | null>(null);
  useEffect(() => source?.onNotice?.((n) => setNotice(n)), [source]);
  return notice;
}

function useSourceEnd(source: TuiSource | undefined): SourceEnd | null {
  const [ended, setEnded] = useState<SourceEnd | null>(null);
  useEffect(() => {
    let live = true;
    void source?.done?.then((e) => {
      if (live) setEnded(e);
    });
    return () => {
      live = false;
    };
  }, [source]);
  return ended;
}

/** Runs the send in flight: calls `onSend`, arms the timeout, reports the outcome once. */
function useSender(ui: UiState, dispatch: (a: { type: "sent"; id: number; outcome: SendOutcome }) => void, onSend: Sender | undefined, timeoutMs: number, clock: Clock): void {
  const job = ui.sending;
  useEffect(() => {
    if (job === null || onSend === undefined) return;
    let settled = false;
    const started = clock.now();
    const finish = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      cancel();
      dispatch({ type: "sent", id: job.id, outcome });
    };
    const cancel = clock.setTimer(timeoutMs, () =>
      finish({ ok: false, text: job.text, code: "CHSK_ERR_TIMEOUT", message: `no reply within ${timeoutMs} ms` }),
    );
    Promise.resolve()
      .then(() => onSend(job.text, { timeoutMs }))
      .then(
        (reply) => finish({ ok: true, text: job.text, reply, ms: clock.now() - started }),
        (e: unknown) =>
          finish({
            ok: false,
            text: job.text,
            code: isChskError(e) ? e.code : e instanceof Error ? e.name : "Error",
            message: e instanceof Error ? e.message : String(e),
          }),
      );
    return () => {
      // Unmounted (or superseded): the outcome has nowhere to go.
      settled = true;
      cancel();
    };
    // Keyed on the job's id: a new send is a new effect.
  }, [job?.id]); // eslint-disable-line react-hooks/exhaustive-deps
}
