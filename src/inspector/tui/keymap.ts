/**
 * Key bindings: the table the help bar, the help screen and the README are
 * made from, and the function that turns a key press into {@link UiAction}s.
 * Pure: what it needs to know about the list comes in a {@link KeyContext}.
 */
import type { Key } from "ink";
import type { FrameRecord } from "../../core/index.js";
import { lineOpForKey } from "./line-editor.js";
import type { Screen, UiAction, UiState } from "./ui-state.js";

/** One row of the key table. */
export interface Binding {
  keys: string;
  action: string;
  /** Where it applies. */
  where: "everywhere" | "frames" | "detail" | "summaries" | "help" | "filter line" | "send line";
  /** Shown in the bottom bar of these screens, in this short form. */
  bar?: { screens: readonly Screen[]; label: string };
}

export const BINDINGS: readonly Binding[] = [
  { keys: "q", action: "quit (restores the terminal)", where: "everywhere", bar: { screens: ["frames", "detail", "conns", "users", "help"], label: "q quit" } },
  { keys: "Ctrl-C", action: "quit, also while typing", where: "everywhere" },
  { keys: "?", action: "this help (again to close)", where: "everywhere", bar: { screens: ["frames", "detail", "conns", "users", "help"], label: "? help" } },
  { keys: "Tab", action: "next view: frames, connections, users", where: "everywhere", bar: { screens: ["frames", "conns", "users"], label: "tab views" } },
  { keys: "1 / 2 / 3", action: "frames / connections / users", where: "everywhere" },
  { keys: "/", action: "edit the filter line", where: "everywhere", bar: { screens: ["frames", "conns", "users"], label: "/ filter" } },
  { keys: "i or :", action: "type an event to send (client mode)", where: "everywhere", bar: { screens: ["frames"], label: "i send" } },
  { keys: "↑ ↓ or k j", action: "select the previous / next frame (stops following)", where: "frames", bar: { screens: ["frames"], label: "↑↓ move" } },
  { keys: "PgUp PgDn", action: "a page up / down", where: "frames" },
  { keys: "g or Home", action: "the oldest frame", where: "frames" },
  { keys: "G or End", action: "the newest frame, and follow", where: "frames" },
  { keys: "f", action: "follow the newest frame on / off", where: "frames", bar: { screens: ["frames"], label: "f follow" } },
  { keys: "Space or p", action: "pause / resume the view (frames keep arriving and are counted)", where: "frames", bar: { screens: ["frames"], label: "spc pause" } },
  { keys: "Enter", action: "open the selected frame", where: "frames", bar: { screens: ["frames"], label: "⏎ open" } },
  { keys: "Esc", action: "clear the filter", where: "frames" },
  { keys: "↑ ↓ PgUp PgDn g G", action: "scroll", where: "detail", bar: { screens: ["detail"], label: "↑↓ scroll" } },
  { keys: "← → or h l", action: "previous / next frame", where: "detail", bar: { screens: ["detail"], label: "←→ prev/next" } },
  { keys: "r", action: "raw frame / decoded value", where: "detail", bar: { screens: ["detail"], label: "r raw" } },
  { keys: "Esc or Enter", action: "back to the list", where: "detail", bar: { screens: ["detail"], label: "esc back" } },
  { keys: "↑ ↓", action: "select a row", where: "summaries", bar: { screens: ["conns", "users"], label: "↑↓ move" } },
  { keys: "Enter", action: "show that connection's / user's frames", where: "summaries", bar: { screens: ["conns", "users"], label: "⏎ frames" } },
  { keys: "Esc", action: "back to the frames", where: "summaries" },
  { keys: "↑ ↓ PgUp PgDn", action: "scroll this help; Esc or ? closes it", where: "help", bar: { screens: ["help"], label: "↑↓ scroll  esc close" } },
  { keys: "Enter", action: "keep the filter", where: "filter line" },
  { keys: "Esc", action: "undo the edit", where: "filter line" },
  { keys: "← → Home End, Ctrl-A/E/U/K/W", action: "edit, on both lines (move; kill to start / end / word)", where: "filter line" },
  { keys: "Enter", action: "send (a reply is awaited up to the timeout)", where: "send line" },
  { keys: "↑ ↓", action: "history", where: "send line" },
  { keys: "Esc", action: "leave the line", where: "send line" },
];

/** What key handling needs to know about what is on screen. */
export interface KeyContext {
  /** Matching frames in the (possibly frozen) view. */
  listLength: number;
  /** Index of the selected frame in the view, -1 when empty. */
  selIndex: number;
  posAt(i: number): number | undefined;
  recordAt(i: number): FrameRecord | undefined;
  /** Rows of the frame list (a page). */
  pageRows: number;
  /** Records ever pushed (what a pause freezes at). */
  total: number;
  /** Lines of the detail body and rows it shows. */
  detailLines: number;
  /** Rows of the detail pane (and the help screen). */
  detailRows: number;
  helpLines: number;
  /** Index of the detail's record in the view, -1 if it is not (or no longer) in it. */
  detailIndex: number;
  summaryLength: number;
  /** The filter line that shows summary row `i`'s frames. */
  summaryFilter(i: number): string | undefined;
  /** A send line exists (client mode). */
  canSend: boolean;
}

export interface KeyResult {
  actions: UiAction[];
  quit?: boolean;
}

/** A key event with nothing pressed: what `keyPresses` builds keys from (tests too). */
export const PLAIN_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One control character as the key ink reports for it alone; undefined for the others. */
function controlKey(ch: string): [string, Key] | undefined {
  if (ch === "\r" || ch === "\n") return ["", { ...PLAIN_KEY, return: true }];
  if (ch === "\t") return ["", { ...PLAIN_KEY, tab: true }];
  // Terminals send DEL for Backspace; ink reports it as `delete`.
  if (ch === "\u007f") return ["", { ...PLAIN_KEY, delete: true }];
  if (ch === "\b") return ["", { ...PLAIN_KEY, backspace: true }];
  const code = ch.codePointAt(0)!;
  if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...PLAIN_KEY, ctrl: true }];
  return undefined;
}

/**
 * The key presses in one input event, while keys are commands. ink hands a
 * burst of ordinary characters over as one string (it takes them for a
 * paste): keys typed while the TUI starts, before raw mode is on, or while
 * a busy event loop (thousands of frames a second) has not read stdin, such
 * as `jjj` or `i[:my/ev`. Each is a key here, as if typed alone. Escape
 * sequences (arrows) never arrive in a burst: ink splits those off itself.
 */
export function keyPresses(input: string, key: Key): [string, Key][] {
  const chars = [...input];
  if (chars.length < 2 || key.meta || key.ctrl) return [[input, key]];
  const presses: [string, Key][] = [];
  for (const ch of chars) {
    if (ch === "\u001b") return [[input, key]];
    const control = controlKey(ch);
    if (control !== undefined) presses.push(control);
    else presses.push([ch, { ...PLAIN_KEY, shift: /[A-Z]/.test(ch) }]);
  }
  return presses;
}

const NEXT: Partial<Record<Screen, Screen>> = { frames: "conns", conns: "users", users: "frames", detail: "conns" };

const none: KeyResult = { actions: [] };
const act = (...actions: UiAction[]): KeyResult => ({ actions });

export function keyToActions(s: UiState, input: string, key: Key, ctx: KeyContext): KeyResult {
  if (key.ctrl && input === "c") return { actions: [], quit: true };
  if (s.focus === "filter") return filterKey(input, key);
  if (s.focus === "input") return inputKey(input, key);

  if (input === "q") return { actions: [], quit: true };
  if (input === "?") return act({ type: "help" });
  if (s.screen === "help") return helpKey(input, key, ctx);
  if (key.tab) return act({ type: "screen", screen: NEXT[s.screen] ?? "frames" });
  if (input === "1") return act({ type: "screen", screen: "frames" });
  if (input === "2") return act({ type: "screen", screen: "conns" });
  if (input === "3") return act({ type: "screen", screen: "users" });
  if (input === "/") return act({ type: "focus", focus: "filter" });
  if ((input === "i" || input === ":") && ctx.canSend) return act({ type: "focus", focus: "input" });

  switch (s.screen) {
    case "frames":
      return framesKey(s, input, key, ctx);
    case "detail":
      return detailKey(input, key, ctx);
    case "conns":
    case "users":
      return summaryKey(s, input, key, ctx);
    default:
      return none;
  }
}

function filterKey(input: string, key: Key): KeyResult {
  if (key.return) return act({ type: "filter-commit" });
  if (key.escape) return act({ type: "filter-cancel" });
  const edit = lineOpForKey(input, key);
  return edit === undefined ? none : act({ type: "filter-edit", edit });
}

function inputKey(input: string, key: Key): KeyResult {
  if (key.return) return act({ type: "submit" });
  if (key.escape) return act({ type: "focus", focus: "keys" });
  if (key.upArrow) return act({ type: "history", delta: -1 });
  if (key.downArrow) return act({ type: "history", delta: 1 });
  const edit = lineOpForKey(input, key);
  return edit === undefined ? none : act({ type: "input-edit", edit });
}

function selectIndex(i: number, ctx: KeyContext): KeyResult {
  if (ctx.listLength === 0) return none;
  const idx = Math.max(0, Math.min(ctx.listLength - 1, i));
  const pos = ctx.posAt(idx);
  return pos === undefined ? none : act({ type: "select", pos, follow: false });
}

function framesKey(s: UiState, input: string, key: Key, ctx: KeyContext): KeyResult {
  if (key.upArrow || input === "k") return selectIndex(ctx.selIndex - 1, ctx);
  if (key.downArrow || input === "j") return selectIndex(ctx.selIndex + 1, ctx);
  if (key.pageUp) return selectIndex(ctx.selIndex - ctx.pageRows, ctx);
  if (key.pageDown) return selectIndex(ctx.selIndex + ctx.pageRows, ctx);
  if (key.home || input === "g") return selectIndex(0, ctx);
  if (key.end || input === "G") return act({ type: "follow", on: true });
  if (input === "f") return act({ type: "follow", on: !s.follow });
  if (input === " " || input === "p") return act(s.pausedAt === null ? { type: "pause", total: ctx.total } : { type: "resume" });
  if (key.return) {
    const pos = ctx.posAt(ctx.selIndex);
    const record = ctx.recordAt(ctx.selIndex);
    return pos === undefined || record === undefined ? none : act({ type: "open-detail", pos, record });
  }
  if (key.escape && s.filter.text !== "") return act({ type: "filter-set", text: "" });
  return none;
}

function scroll(input: string, key: Key, rows: number): number | undefined {
  if (key.upArrow || input === "k") return -1;
  if (key.downArrow || input === "j") return 1;
  if (key.pageUp) return -rows;
  if (key.pageDown || input === " ") return rows;
  if (key.home || input === "g") return -Infinity;
  if (key.end || input === "G") return Infinity;
  return undefined;
}

function helpKey(input: string, key: Key, ctx: KeyContext): KeyResult {
  if (key.escape || key.return) return act({ type: "help" });
  const delta = scroll(input, key, ctx.detailRows);
  return delta === undefined ? none : act({ type: "help-scroll", delta, max: ctx.helpLines - ctx.detailRows + 1 });
}

function detailKey(input: string, key: Key, ctx: KeyContext): KeyResult {
  const delta = scroll(input, key, ctx.detailRows);
  // The pane keeps its last row for the position marker when it scrolls.
  if (delta !== undefined) return act({ type: "detail-scroll", delta, max: ctx.detailLines - ctx.detailRows + 1 });
  if (input === "r") return act({ type: "raw" });
  if (key.leftArrow || key.rightArrow || input === "h" || input === "l") {
    if (ctx.detailIndex < 0) return none;
    const i = ctx.detailIndex + (key.leftArrow || input === "h" ? -1 : 1);
    const pos = ctx.posAt(i);
    const record = ctx.recordAt(i);
    return pos === undefined || record === undefined ? none : act({ type: "open-detail", pos, record });
  }
  if (key.escape || key.return || key.backspace || key.delete) return act({ type: "close-detail" });
  return none;
}

function summaryKey(s: UiState, input: string, key: Key, ctx: KeyContext): KeyResult {
  if (key.upArrow || input === "k") return act({ type: "summary-move", delta: -1, length: ctx.summaryLength });
  if (key.downArrow || input === "j") return act({ type: "summary-move", delta: 1, length: ctx.summaryLength });
  if (key.pageUp) return act({ type: "summary-move", delta: -ctx.pageRows, length: ctx.summaryLength });
  if (key.pageDown) return act({ type: "summary-move", delta: ctx.pageRows, length: ctx.summaryLength });
  if (key.escape) return act({ type: "screen", screen: "frames" });
  if (key.return) {
    const text = ctx.summaryFilter(s.summarySel);
    return text === undefined ? none : act({ type: "filter-set", text });
  }
  return none;
}

/** The bottom bar's hints for a screen. */
export function barHints(screen: Screen, canSend: boolean): string[] {
  return BINDINGS.filter((b) => b.bar?.screens.includes(screen) === true && (canSend || b.keys !== "i or :")).map((b) => b.bar!.label);
}
