import { hostname } from "node:os";
import type { ClusterEngine, ClusterOption } from "./types.js";

/** Options every cluster engine takes. */
export interface ClusterOptions {
  /** This process's name in the cluster (stats, dashboard, Redis keys). @default `${hostname}-${pid}` */
  nodeId?: string;
  /** How often the node says it is alive. @default 1000 */
  heartbeatMs?: number;
  /**
   * A node silent this long is taken for dead: its WS users get their
   * grace period to reconnect elsewhere, then `chsk/uidport-close`.
   * @default 5000
   */
  nodeTtlMs?: number;
  /** Bound on the frames queued for one absent client; more are dropped and counted. @default 1000 */
  maxQueuedFrames?: number;
}

const positiveInt = (name: string, v: number | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`cluster option ${name} must be an integer, got ${String(v)}`);
  if (v <= 0) throw new RangeError(`cluster option ${name} must be > 0, got ${v}`);
  return v;
};

export function clusterOption(engine: ClusterEngine, o: ClusterOptions): ClusterOption {
  const nodeId = o.nodeId ?? `${hostname()}-${process.pid}`;
  if (typeof nodeId !== "string" || !/^[\w.:-]{1,64}$/.test(nodeId)) {
    throw new TypeError(`cluster option nodeId must be 1-64 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(nodeId)}`);
  }
  const heartbeatMs = positiveInt("heartbeatMs", o.heartbeatMs, 1000);
  const nodeTtlMs = positiveInt("nodeTtlMs", o.nodeTtlMs, 5000);
  if (nodeTtlMs <= heartbeatMs) throw new RangeError(`cluster option nodeTtlMs (${nodeTtlMs}) must exceed heartbeatMs (${heartbeatMs})`);
  return Object.freeze({
    engine,
    nodeId,
    heartbeatMs,
    nodeTtlMs,
    maxQueuedFrames: positiveInt("maxQueuedFrames", o.maxQueuedFrames, 1000),
  });
}
