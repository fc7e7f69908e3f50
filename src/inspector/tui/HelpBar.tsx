import { Text } from "./ink.js";

/** The key hints that fit on one line; what does not fit is behind `?`. */
export function HelpBar({ hints, width, color }: { hints: string[]; width: number; color: boolean }) {
  let line = "";
  for (const h of hints) {
    const next = line === "" ? h : `${line}  ${h}`;
    if (next.length > width - 1) break;
    line = next;
  }
  return (
    <Text wrap="truncate-end" {...(color ? { dimColor: true } : {})}>
      {line === "" ? " " : line}
    </Text>
  );
}
