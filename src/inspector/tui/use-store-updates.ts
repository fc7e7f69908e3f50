import { useEffect, useReducer } from "react";
import type { FrameStore } from "../store.js";

/**
 * Re-renders the calling component when the store reports new records. The
 * store batches its reports (`notifyIntervalMs`), so this renders at most
 * that often however fast frames arrive.
 */
export function useStoreUpdates(store: FrameStore): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump()), [store]);
}
