import { Text } from "./ink.js";
import type { ReactNode } from "react";

/**
 * `count` rows, always: the given ones, then blank ones. Every screen is a
 * fixed number of lines, so the output never changes height between
 * renders (a shrinking frame is what makes a terminal UI flicker).
 */
export function Lines({ count, children }: { count: number; children: ReactNode[] }) {
  const rows = children.slice(0, Math.max(0, count));
  for (let i = rows.length; i < count; i++) rows.push(<Text key={`blank-${i}`}> </Text>);
  return <>{rows}</>;
}
