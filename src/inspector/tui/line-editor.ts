/**
 * One editable line (the filter line, the send line): text and a cursor,
 * changed by a pure reducer so both lines behave the same and are tested
 * without a terminal.
 */

export interface LineState {
  readonly text: string;
  /** 0 … text.length. */
  readonly cursor: number;
}

export type LineOp =
  | { op: "insert"; text: string }
  /** Backspace: the character before the cursor. */
  | { op: "back" }
  | { op: "left" }
  | { op: "right" }
  | { op: "home" }
  | { op: "end" }
  /** Ctrl-U: everything before the cursor. */
  | { op: "kill-start" }
  /** Ctrl-K: everything from the cursor. */
  | { op: "kill-end" }
  /** Ctrl-W: the word before the cursor. */
  | { op: "kill-word" }
  | { op: "set"; text: string };

export const emptyLine: LineState = { text: "", cursor: 0 };

export const lineOf = (text: string): LineState => ({ text, cursor: text.length });

export function editLine(s: LineState, o: LineOp): LineState {
  const { text, cursor } = s;
  switch (o.op) {
    case "insert": {
      // A paste arrives as one chunk; a line keeps one line.
      const t = o.text.replace(/[\r\n]+/g, " ");
      return { text: text.slice(0, cursor) + t + text.slice(cursor), cursor: cursor + t.length };
    }
    case "back":
      return cursor === 0 ? s : { text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 };
    case "left":
      return { text, cursor: Math.max(0, cursor - 1) };
    case "right":
      return { text, cursor: Math.min(text.length, cursor + 1) };
    case "home":
      return { text, cursor: 0 };
    case "end":
      return { text, cursor: text.length };
    case "kill-start":
      return { text: text.slice(cursor), cursor: 0 };
    case "kill-end":
      return { text: text.slice(0, cursor), cursor };
    case "kill-word": {
      let i = cursor;
      while (i > 0 && text[i - 1] === " ") i--;
      while (i > 0 && text[i - 1] !== " ") i--;
      return { text: text.slice(0, i) + text.slice(cursor), cursor: i };
    }
    case "set":
      return lineOf(o.text);
  }
}

/** Key press → edit, for the keys every line understands; undefined for the others. */
export function lineOpForKey(
  input: string,
  key: { leftArrow: boolean; rightArrow: boolean; home: boolean; end: boolean; backspace: boolean; delete: boolean; ctrl: boolean; meta: boolean; tab: boolean; return: boolean; escape: boolean; upArrow: boolean; downArrow: boolean },
): LineOp | undefined {
  // Terminals send DEL (0x7f) for Backspace, which ink reports as `delete`.
  if (key.backspace || key.delete) return { op: "back" };
  if (key.leftArrow) return { op: "left" };
  if (key.rightArrow) return { op: "right" };
  if (key.home || (key.ctrl && input === "a")) return { op: "home" };
  if (key.end || (key.ctrl && input === "e")) return { op: "end" };
  if (key.ctrl && input === "u") return { op: "kill-start" };
  if (key.ctrl && input === "k") return { op: "kill-end" };
  if (key.ctrl && input === "w") return { op: "kill-word" };
  if (key.ctrl || key.meta || key.tab || key.return || key.escape || key.upArrow || key.downArrow) return undefined;
  return input === "" ? undefined : { op: "insert", text: input };
}
