import { Text } from "./ink.js";
import type { LineState } from "./line-editor.js";
import { printable } from "./text.js";

export interface EditLineProps {
  label: string;
  line: LineState;
  focused: boolean;
  /** Shown after the text, in red when colour is on (an invalid filter, a bad event). */
  error?: string | undefined;
  /** Shown dimmed when the line is empty and not focused. */
  hint?: string;
  /** Shown after the text when there is no error. */
  note?: string | undefined;
  width: number;
  color: boolean;
}

/**
 * One line of text with a cursor while focused. The terminal's own cursor
 * stays hidden (ink hides it), so the cursor is drawn: inverse video with
 * colour, a `|` without.
 */
export function EditLine({ label, line, focused, error, hint, note, width, color }: EditLineProps) {
  const text = printable(line.text);
  // Keep the cursor in view on a line longer than the terminal.
  const room = Math.max(1, width - label.length - 2);
  const from = focused && line.cursor > room ? line.cursor - room : 0;
  const visible = text.slice(from);
  const cur = line.cursor - from;
  const tail = error !== undefined ? `  ✗ ${error}` : note !== undefined ? `  ${note}` : "";
  if (!focused && text === "" && hint !== undefined) {
    return (
      <Text wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
        {label}
        {hint}
      </Text>
    );
  }
  const before = visible.slice(0, cur);
  const at = visible.slice(cur, cur + 1);
  const after = visible.slice(cur + 1);
  return (
    <Text wrap="truncate-end">
      <Text {...(color ? { bold: focused } : {})}>{label}</Text>
      {focused ? (
        color ? (
          <>
            {before}
            <Text inverse>{at === "" ? " " : at}</Text>
            {after}
          </>
        ) : (
          `${before}|${at}${after}`
        )
      ) : (
        visible
      )}
      <Text {...(color ? { color: error !== undefined ? "red" : "gray" } : {})}>{tail}</Text>
    </Text>
  );
}
