/**
 * What a `"counts"` dashboard gets instead: the same messages with every
 * user id, client id and error text taken out (absent, not blanked, so the
 * page can't mistake a hidden uid for the anonymous group).
 */
import type { ClusterPanel, FrameSample, LifecycleEntry, ServerStats, TickMessage, UsersMessage } from "./feed-types.js";

export function redactFrame(f: FrameSample): FrameSample {
  const { uid: _uid, clientId: _clientId, ...rest } = f;
  return rest;
}

export function redactLifecycle(e: LifecycleEntry): LifecycleEntry {
  const { uid: _uid, clientId: _clientId, message, ...rest } = e;
  // An error's text may name a client or user; its code (before the colon) does not.
  return message === undefined ? rest : { ...rest, message: message.split(":", 1)[0] as string };
}

export function redactStats(s: ServerStats): ServerStats {
  const { node: _node, pid: _pid, ...rest } = s;
  return rest;
}

/** The counts of a users message, with no one listed. */
export function countsOnlyUsers(m: UsersMessage): UsersMessage {
  return { at: m.at, counts: m.counts, users: [], matching: 0, filter: "", identities: false };
}

/**
 * Node ids become `#1`, `#2`, … (in the panel's order; the default id is
 * `host-pid`, and the pid is hidden here as in `redactStats`), error texts
 * (they name hosts and ports) go; the counts stay.
 */
export function redactCluster(c: ClusterPanel): ClusterPanel {
  const { readError: _readError, lastError, ...rest } = c;
  const nodes = c.nodes.map((n, i) => ({ ...n, nodeId: `#${i + 1}` }));
  const self = nodes.find((n) => n.self);
  return {
    ...rest,
    nodeId: self?.nodeId ?? "#?",
    nodes,
    lastError: lastError === null ? null : { code: lastError.code, at: lastError.at },
  };
}

export function redactTick(t: TickMessage): TickMessage {
  const { cluster, ...rest } = t;
  return {
    ...rest,
    frames: t.frames.map(redactFrame),
    lifecycle: t.lifecycle.map(redactLifecycle),
    stats: redactStats(t.stats),
    ...(cluster === undefined ? {} : { cluster: redactCluster(cluster) }),
  };
}
