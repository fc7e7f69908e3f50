/**
 * The TUI's state and its reducer: which screen, what is selected, follow
 * and pause, the filter and send lines. Pure; the keys that drive it are in
 * `keymap.ts`, the effects (sending, timers) in the components.
 *
 * Records are identified by their store position (`pos`, see `store.ts`),
 * which never changes while the ring fills, so a selection survives new
 * records, evictions and filter changes.
 */
import { isChskError, readEdn, type FrameRecord } from "../../core/index.js";
import { editLine, emptyLine, lineOf, type LineOp, type LineState } from "./line-editor.js";

export type Screen = "frames" | "detail" | "conns" | "users" | "help";

/** Which line the keys go to: none (`keys`: commands), the filter line, the send line. */
export type Focus = "keys" | "filter" | "input";

/** The outcome of the last send, for the status line. */
export type SendOutcome =
  | { ok: true; text: string; reply: string | undefined; ms: number }
  | { ok: false; text: string; code: string; message: string };

export interface UiState {
  screen: Screen;
  /** The screen `help` returns to. */
  back: Screen;
  focus: Focus;
  /** Keep the newest record selected and in view. */
  follow: boolean;
  /** While paused: the store total the view is frozen at. */
  pausedAt: number | null;
  /** Store position of the selected frame; null while following (the newest is selected). */
  selected: number | null;
  filter: LineState;
  /** The filter as it was before `/`, restored by Esc. */
  filterSaved: string;
  /** The record the detail pane shows, held so an eviction cannot take it away. */
  detail: { pos: number; record: FrameRecord } | null;
  raw: boolean;
  detailScroll: number;
  helpScroll: number;
  summarySel: number;
  input: LineState;
  /** Sent lines, oldest first, without repeats in a row; at most {@link MAX_HISTORY}. */
  history: string[];
  /** Index into `history` while browsing it with ↑/↓. */
  historyAt: number | null;
  /** What was typed before browsing history began. */
  draft: string;
  /** A send in flight. */
  sending: { id: number; text: string } | null;
  lastSend: SendOutcome | null;
  nextSendId: number;
}

export const MAX_HISTORY = 100;

export type UiAction =
  | { type: "select"; pos: number | null; follow?: boolean }
  | { type: "follow"; on: boolean }
  | { type: "pause"; total: number }
  | { type: "resume" }
  | { type: "screen"; screen: Screen }
  | { type: "help" }
  | { type: "focus"; focus: Focus }
  | { type: "filter-edit"; edit: LineOp }
  | { type: "filter-commit" }
  | { type: "filter-cancel" }
  | { type: "filter-set"; text: string }
  | { type: "open-detail"; pos: number; record: FrameRecord }
  | { type: "close-detail" }
  | { type: "raw" }
  | { type: "detail-scroll"; delta: number; max: number }
  | { type: "help-scroll"; delta: number; max: number }
  | { type: "summary-move"; delta: number; length: number }
  | { type: "input-edit"; edit: LineOp }
  | { type: "history"; delta: -1 | 1 }
  | { type: "submit" }
  | { type: "sent"; id: number; outcome: SendOutcome };

export function initialUi(filter = ""): UiState {
  return {
    screen: "frames",
    back: "frames",
    focus: "keys",
    follow: true,
    pausedAt: null,
    selected: null,
    filter: lineOf(filter),
    filterSaved: filter,
    detail: null,
    raw: false,
    detailScroll: 0,
    helpScroll: 0,
    summarySel: 0,
    input: emptyLine,
    history: [],
    historyAt: null,
    draft: "",
    sending: null,
    lastSend: null,
    nextSendId: 1,
  };
}

const clamp = (n: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, n));

export function reduceUi(s: UiState, a: UiAction): UiState {
  switch (a.type) {
    case "select":
      return { ...s, selected: a.pos, follow: a.follow ?? false };
    case "follow":
      return { ...s, follow: a.on, selected: a.on ? null : s.selected };
    case "pause":
      return s.pausedAt === null ? { ...s, pausedAt: a.total } : s;
    case "resume":
      return { ...s, pausedAt: null };
    case "screen":
      return { ...s, screen: a.screen, focus: "keys", summarySel: a.screen === s.screen ? s.summarySel : 0 };
    case "help":
      return s.screen === "help" ? { ...s, screen: s.back } : { ...s, screen: "help", back: s.screen, focus: "keys", helpScroll: 0 };
    case "focus":
      return a.focus === "filter" ? { ...s, focus: "filter", filterSaved: s.filter.text } : { ...s, focus: a.focus };
    case "filter-edit":
      return { ...s, filter: editLine(s.filter, a.edit) };
    case "filter-commit":
      return { ...s, focus: "keys", filterSaved: s.filter.text };
    case "filter-cancel":
      return { ...s, focus: "keys", filter: lineOf(s.filterSaved) };
    case "filter-set":
      return { ...s, filter: lineOf(a.text), filterSaved: a.text, screen: "frames", focus: "keys", follow: true, selected: null };
    case "open-detail":
      return { ...s, screen: "detail", detail: { pos: a.pos, record: a.record }, detailScroll: 0, selected: a.pos, follow: false };
    case "close-detail":
      return { ...s, screen: "frames" };
    case "raw":
      return { ...s, raw: !s.raw, detailScroll: 0 };
    case "detail-scroll":
      return { ...s, detailScroll: clamp(s.detailScroll + a.delta, 0, Math.max(0, a.max)) };
    case "help-scroll":
      return { ...s, helpScroll: clamp(s.helpScroll + a.delta, 0, Math.max(0, a.max)) };
    case "summary-move":
      return { ...s, summarySel: clamp(s.summarySel + a.delta, 0, Math.max(0, a.length - 1)) };
    case "input-edit":
      return { ...s, input: editLine(s.input, a.edit), historyAt: null };
    case "history":
      return browseHistory(s, a.delta);
    case "submit":
      return submit(s);
    case "sent":
      return s.sending?.id === a.id ? { ...s, sending: null, lastSend: a.outcome } : s;
  }
}

function browseHistory(s: UiState, delta: -1 | 1): UiState {
  const n = s.history.length;
  if (n === 0) return s;
  const at = s.historyAt ?? n;
  const next = clamp(at + delta, 0, n);
  if (next === at) return s;
  const draft = s.historyAt === null ? s.input.text : s.draft;
  // Past the newest entry is the line being typed before browsing began.
  return { ...s, historyAt: next === n ? null : next, draft, input: lineOf(next === n ? draft : s.history[next]!) };
}

function submit(s: UiState): UiState {
  const text = s.input.text.trim();
  if (text === "" || s.sending !== null) return s;
  const history = s.history[s.history.length - 1] === text ? s.history : [...s.history, text].slice(-MAX_HISTORY);
  const r = readEdn(text);
  if (!r.ok) {
    // Kept in the line so the typo can be fixed, and in history so ↑ brings it back after a clear.
    const code = isChskError(r.error) ? r.error.code : "CHSK_ERR_EDN_SYNTAX";
    return { ...s, history, historyAt: null, lastSend: { ok: false, text, code, message: r.error.message } };
  }
  return {
    ...s,
    history,
    historyAt: null,
    draft: "",
    input: emptyLine,
    sending: { id: s.nextSendId, text },
    nextSendId: s.nextSendId + 1,
  };
}
