import { useStdout } from "./ink.js";
import { useEffect, useState } from "react";

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Columns and rows of ink's stdout (80 × 24 when it is not a terminal), updated on `resize`. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => read(stdout));
  useEffect(() => {
    const onResize = () => setSize(read(stdout));
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

const read = (s: { columns?: number; rows?: number }): TerminalSize => ({ columns: s.columns || 80, rows: s.rows || 24 });
