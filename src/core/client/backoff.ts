/**
 * Reconnect delays (protocol.md §5.5).
 *
 * Sente's `backoff-ms-fn` defaults to encore's `exp-backoff`:
 * `floor((2^n + random() * 2^n) * 0.5 * 1000)` ms with n capped at 36 and no
 * maximum, so attempt 2 waits 2–4 s, 3 → 4–8 s, 4 → 8–16 s, … The first
 * retry after a drop (attempt 1) is always immediate: Sente's
 * `retry-connect-chsk!` never consults the backoff function for it.
 */

/** encore `exp-backoff(n)` (factor 1000 ms), with an injectable `random`. */
export function expBackoff(attempt: number, random: () => number = Math.random): number {
  const n = attempt > 36 ? 36 : attempt;
  const b = 2 ** n;
  return Math.floor((b + random() * b) * 0.5 * 1000);
}

/**
 * The delay before reconnect attempt `attempt` (1-based): 0 for the first,
 * `expBackoff(attempt)` (or the user's function) after that.
 */
export function reconnectDelayMs(attempt: number, backoffMs: (attempt: number) => number = expBackoff): number {
  if (attempt <= 1) return 0;
  const ms = backoffMs(attempt);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
