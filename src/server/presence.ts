/**
 * Presence as a reducer: which uids are connected, by transport, and the
 * decisions that follow from a change (`chsk/uidport-open` / `-close`).
 *
 *   input                       sets                     effects
 *   up(t, uid)       t:  ∅ → {uid}  (first on t)      transport-up(t)
 *                    any: ∅ → {uid} (first at all)    uidport-open
 *   down(t, uid)     t:  {uid} → ∅  (last on t)       transport-down(t)
 *                    any: {uid} → ∅ (last at all)     uidport-close (if notify)
 *
 * The registry owns the grace periods: it sends `down` only once a closed
 * connection's grace is over. One server alone carries out the uidport
 * effects; a clustered one hands the transport effects to the cluster,
 * which decides uidport for the whole cluster (and falls back to these
 * local decisions while its store is unreachable).
 */
import type { Transport, Uid } from "./types.js";

export interface PresenceSets {
  ws: Set<Uid>;
  ajax: Set<Uid>;
  any: Set<Uid>;
}

export type PresenceInput =
  | { type: "up"; transport: Transport; uid: Uid }
  /** `stillOnTransport`: another entry of the uid is still connected on `transport`. */
  | { type: "down"; transport: Transport; uid: Uid; stillOnTransport: boolean; notify: boolean };

export type PresenceEffect =
  | { type: "uidport-open"; uid: Uid }
  | { type: "uidport-close"; uid: Uid; notified: boolean }
  | { type: "transport-up"; transport: Transport; uid: Uid }
  | { type: "transport-down"; transport: Transport; uid: Uid };

const NONE: readonly PresenceEffect[] = Object.freeze([]);

export function stepPresence(s: PresenceSets, input: PresenceInput): readonly PresenceEffect[] {
  const { transport: t, uid } = input;
  if (input.type === "up") {
    if (s[t].has(uid)) return NONE;
    s[t].add(uid);
    const fx: PresenceEffect[] = [{ type: "transport-up", transport: t, uid }];
    if (!s.any.has(uid)) {
      s.any.add(uid);
      fx.push({ type: "uidport-open", uid });
    }
    return fx;
  }
  if (input.stillOnTransport || !s[t].has(uid)) return NONE;
  s[t].delete(uid);
  const fx: PresenceEffect[] = [{ type: "transport-down", transport: t, uid }];
  const other = t === "ws" ? s.ajax : s.ws;
  if (s.any.has(uid) && !other.has(uid)) {
    s.any.delete(uid);
    fx.push({ type: "uidport-close", uid, notified: input.notify });
  }
  return fx;
}
