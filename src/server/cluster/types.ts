/**
 * The cluster seam: what several chsk server processes share so that a
 * push from any of them reaches every tab of a user on all of them.
 *
 * A {@link ClusterEngine} is the store and the bus, nothing else: each
 * method is one atomic step (a Lua script in Redis, a synchronous block in
 * memory), so engines agree on what happens when two nodes race. The
 * logic that decides *when* to call them (batching, grace periods, polls,
 * counters, resynchronisation after an outage) is engine-neutral and lives
 * in `ClusterLink` (socket.io's `ClusterAdapter` lesson: the subclass only
 * moves bytes).
 *
 * Vocabulary:
 * - a **node** is one server process (`nodeId`);
 * - a node's **inbox** is its channel: frames for its WS clients and
 *   wake-ups for the Ajax polls it holds;
 * - a **queue** holds frames for one client id that nobody could take yet
 *   (an Ajax client between polls, a WS client reconnecting), each with its
 *   expiry (Sente's redelivery window); whichever node the client reaches
 *   next takes them, once and in order;
 * - **presence** is per uid: the nodes holding its WS connections, and its
 *   Ajax client ids with the time each stays connected without a poll.
 *   A uid is *known* from the first connection anywhere until the last one
 *   is gone for its grace period; `chsk/uidport-open` / `-close` fire on the
 *   one node whose step made it known / unknown.
 *
 * Uids cross the engine JSON-encoded (`"alice"`, `42`, `null`), so a number
 * and a string never collide.
 */
import type { Transport } from "../types.js";

/** A frame as the server packed it: text for text packers, bytes for binary ones. */
export type Frame = string | Uint8Array;

/** What arrives in a node's inbox (or on the broadcast channel). */
export type ClusterMessage =
  /** A WS push batch for a user's clients on this node. */
  | { type: "user"; uid: string; frame: Frame }
  /** A WS push batch for one client id on this node. */
  | { type: "client"; clientId: string; frame: Frame }
  /** A WS broadcast batch from another node (`from`). */
  | { type: "broadcast"; from: string; frame: Frame }
  /** A frame was queued for `clientId`, whose poll / socket this node holds. */
  | { type: "wake"; clientId: string };

/** A step that queued frames: how many clients got it, and how many were full (the frame was dropped for them). */
export interface Queued {
  queued: number;
  full: number;
}

/** Frames taken from a client's queue, oldest first; `expired` were past their window and dropped. */
export interface Taken {
  frames: Frame[];
  expired: number;
}

/** One node as the cluster sees it (from its last heartbeat). */
export interface ClusterNodeInfo {
  nodeId: string;
  /** ms since epoch (the engine's clock) when its heartbeat lapses. */
  expiresAt: number;
  /** What the node reported about itself with its heartbeat. */
  info: NodeReport | null;
}

/** What a node reports with each heartbeat (its local view). */
export interface NodeReport {
  users: number;
  clients: { ws: number; ajax: number };
  startedAt: number;
  pid?: number;
  [k: string]: unknown;
}

/** Cluster-wide connected uids (JSON-encoded uids, see the module comment). */
export interface ClusterUids {
  ws: string[];
  ajax: string[];
  any: string[];
}

/** Tunables every engine step that needs them receives (ms). */
export interface Windows {
  /** How long a queued frame stays deliverable (Sente's retry window). */
  frameMs: number;
  /** Bound on one client's queue (frames); a full queue drops new frames (counted). */
  maxQueued: number;
}

export interface ClusterEngineEvents {
  /** A message for this node (its inbox or the broadcast channel). */
  message(msg: ClusterMessage): void;
  /** The connection to the store came back after a loss (state may be gone: resynchronise). */
  reconnected(): void;
  /** The connection to the store was lost. */
  disconnected(error: Error | null): void;
}

/**
 * The store and bus behind a cluster. Every method is one atomic step on
 * the shared state; a rejected promise means the step did not happen (the
 * store is unreachable), never that it half happened.
 */
export interface ClusterEngine {
  /** `redis`, `memory`, …: for stats and the dashboard. */
  readonly kind: string;
  /** Connects and subscribes this node's inbox and the broadcast channel. */
  start(nodeId: string, events: ClusterEngineEvents): Promise<void>;
  /** True while steps can be taken. */
  readonly isReady: boolean;

  /** WS batch for `uid` to every other node holding a WS connection of it; resolves to how many nodes. */
  pushUser(from: string, uid: string, frame: Frame): Promise<number>;
  /** Ajax batch for `uid`: queued for each of its live Ajax clients, waking the nodes holding their polls. */
  queueUser(uid: string, frame: Frame, w: Windows): Promise<Queued>;
  /** WS batch for one client: to the node holding its socket, unless that is `from`. */
  pushClient(from: string, clientId: string, frame: Frame): Promise<number>;
  /** Ajax batch for one client: queued if it is a live Ajax client. */
  queueClient(clientId: string, frame: Frame, w: Windows): Promise<Queued>;
  /** WS broadcast batch to every node; an engine may deliver it to `from` too (whose link drops it). */
  pushBroadcast(from: string, frame: Frame): Promise<void>;
  /** Ajax broadcast batch: queued for every live Ajax client of the cluster. */
  queueBroadcast(frame: Frame, w: Windows): Promise<Queued>;
  /** Keeps a frame for a client that can't take it now (WS reconnecting); wakes the node holding it, if any. */
  keep(clientId: string, frame: Frame, w: Windows): Promise<Queued>;

  /** This node holds a WS connection of `uid` now (its first); resolves true if that made the uid known. */
  wsUp(nodeId: string, uid: string): Promise<boolean>;
  /** This node's last WS connection of `uid` is gone (after its grace); true if that made the uid unknown. */
  wsDown(nodeId: string, uid: string): Promise<boolean>;
  /** A WS client opened on this node: frames queued for it are taken (and later keeps wake this node). */
  wsClientOpen(nodeId: string, clientId: string): Promise<Taken>;
  /** A WS client left this node for good. */
  wsClientGone(nodeId: string, clientId: string): Promise<void>;

  /** An Ajax client handshook: its client id now names `uid` on every node for `ttlMs`. */
  ajaxHandshake(clientId: string, uid: string, ttlMs: number): Promise<void>;
  /** The uid an Ajax client id handshook as, if it is still live anywhere. */
  ajaxLookup(clientId: string): Promise<string | null>;
  /**
   * This node holds a poll of the client until `holdMs` from now: the client
   * counts as connected that long, wake-ups come here, and one queued frame
   * (if any) is taken for the poll. `opened`: the uid became known.
   */
  ajaxHold(nodeId: string, clientId: string, uid: string, holdMs: number, ttlMs: number): Promise<Taken & { opened: boolean }>;
  /** Takes the next queued frame for a poll this node holds. */
  ajaxTake(clientId: string): Promise<Taken>;
  /** A taken frame found its poll gone: back to the front of the queue. */
  untake(clientId: string, frame: Frame, w: Windows): Promise<void>;
  /** The poll this node held ended: the client stays connected `graceMs` more unless it polls again. */
  ajaxRelease(nodeId: string, clientId: string, uid: string, graceMs: number, ttlMs: number): Promise<void>;

  /**
   * Heartbeat: this node is alive for `ttlMs` more, and reports `report`.
   * Resolves true if the cluster did not know the node (it was reaped after
   * a pause longer than its TTL, or the store was restarted): its
   * registrations are gone and must be made again.
   */
  heartbeat(nodeId: string, ttlMs: number, report: NodeReport): Promise<boolean>;
  /**
   * Clears nodes whose heartbeat lapsed (their WS users get `wsGraceMs` to
   * reappear elsewhere) and returns the uids that are now unknown (each
   * returned to exactly one caller).
   */
  reap(wsGraceMs: number, limit: number): Promise<string[]>;
  /** The cluster's connected uids. */
  connectedUids(): Promise<ClusterUids>;
  /** The nodes alive (or not yet reaped). */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** Leaves: this node's presence is cleared at once (its users get the grace), its inbox unsubscribed. */
  leave(nodeId: string, wsGraceMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Counters a cluster keeps (`/api/stats`, the dashboard). */
export interface ClusterStats {
  nodeId: string;
  engine: string;
  /** `ready` while steps work; `down` while the store is unreachable. */
  status: "starting" | "ready" | "down" | "closed";
  /** Batches handed to the engine / received from other nodes. */
  published: number;
  received: number;
  /** Frames queued for Ajax / reconnecting clients, taken by polls. */
  queued: number;
  taken: number;
  /** Queued frames that expired before their client came back. */
  expired: number;
  /** Frames dropped because a client's queue was full. */
  queueFull: number;
  /** Engine steps that failed (store unreachable); each one is counted once. */
  failures: number;
  /**
   * Pushed events (WS batches) that did not reach other nodes because the
   * step publishing them failed, counted where this node last knew the
   * user to have sockets on other nodes (or didn't know); this node's own
   * clients still got them.
   */
  lostEvents: number;
  /**
   * The same for Ajax batches that could not be queued: this node's own
   * Ajax clients got them (as a lone server would deliver them), clients
   * polling elsewhere may not have.
   */
  lostQueued: number;
  /** Times the store connection came back and this node re-registered. */
  resyncs: number;
  /** The last failure, if any. */
  lastError: { code: string; message: string; at: number } | null;
}

/** What `createServer({ cluster })` takes. */
export interface ClusterOption {
  readonly engine: ClusterEngine;
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  readonly maxQueuedFrames: number;
}

export type { Transport };
