/**
 * The dashboard feed's messages, shared by the server side (`feed.ts`) and
 * the page (`pages/dashboard.ts`). Types only: no runtime code, so the page
 * bundle pulls in nothing from the server.
 *
 * The feed is Server-Sent Events on `GET <path>/events`:
 *
 * - `hello` once, on connect: mode, history for the chart, recent frames and
 *   lifecycle events, so a fresh page is full at once.
 * - `tick` every second: the last second's counters, a bounded sample of its
 *   frames, latency percentiles over the last minute, server stats.
 * - `users` every second and, debounced, soon after any connect/disconnect:
 *   the connected users and their clients (capped, filterable).
 */
import type { ClusterStats } from "../cluster/types.js";
export type Transport = "ws" | "ajax";

/**
 * What one dashboard request may see (the `auth` hook of `mountDashboard`
 * decides, per request):
 *
 * - `"admin"`: everything `"read"` sees, plus push and disconnect.
 * - `"read"`: identities (user ids, client ids) and traffic.
 * - `"counts"`: numbers and event ids only; no user or client ids, no
 *   error texts (they may name a client), no Node version or pid.
 */
export type DashboardAccessLevel = "admin" | "read" | "counts";

/**
 * What a sampled frame carried, for the page's colours: `control` is the
 * protocol's own frames (handshake, pings, pongs, Ajax timeouts and
 * dummy answers); `bad` no packer reads; `unknown` was too large for the
 * feed to decode.
 */
export type FrameKind = "event" | "push" | "reply" | "control" | "bad" | "unknown";

/** What `chsk inspect` calls a frame (core's `decodeFrame`). */
export type InspectFrameKind = "handshake" | "event" | "push" | "reply" | "ping" | "pong" | "timeout" | "dummy" | "bad";

export interface FrameSample {
  /** ms since epoch */
  at: number;
  /** `in`: client → server; `out`: server → client. */
  dir: "in" | "out";
  transport: Transport;
  /** Absent when identities are hidden (`"counts"`); `null` is the anonymous group. */
  uid?: string | null;
  /** Absent when identities are hidden. */
  clientId?: string;
  /** The event id (`demo/echo`), or what the frame answers (`demo/echo` for its reply). */
  eventId: string;
  kind: FrameKind;
  /** Events in a push batch (> 1 only for batches). */
  count: number;
  /** True when the client asked for a reply (in) / this is a reply (out). */
  cb: boolean;
  /** UTF-8 bytes (or binary length). */
  bytes: number;
  /** What `chsk inspect` and replay call the same frame; absent when it was not decoded (`unknown`). */
  inspectKind?: InspectFrameKind;
  /** Why it is `bad` (or which of a batch's events are not valid): the `CHSK_ERR_*` code. */
  error?: string;
  /** On a reply: ms from its call, as the server measured it. */
  latencyMs?: number;
}

export type LifecycleKind = "uidport:open" | "uidport:close" | "conn:open" | "conn:close" | "error";

export interface LifecycleEntry {
  at: number;
  kind: LifecycleKind;
  /** Absent when identities are hidden (`"counts"`); `null` is the anonymous group. */
  uid?: string | null;
  /** Absent when identities are hidden, or for uidport events. */
  clientId?: string;
  transport?: Transport;
  /** WS close code, when there was one. */
  code?: number;
  /** Why the server ended a connection (`ping-timeout`, `server-close`, …). */
  reason?: string;
  /** For errors: the code, and the message unless identities are hidden. */
  message?: string;
}

export interface ClientView {
  clientId: string;
  transport: Transport;
  connectedAt: number;
  lastActivity: number;
  /** False between Ajax polls or during a WS reconnect grace period. */
  connected: boolean;
}

export interface UserView {
  uid: string | null;
  transports: Transport[];
  clients: ClientView[];
  /** Clients left out of `clients` (a user with very many tabs). */
  moreClients: number;
}

export interface UsersMessage {
  at: number;
  counts: {
    users: { ws: number; ajax: number; any: number };
    clients: { ws: number; ajax: number; total: number };
  };
  /** Empty when identities are hidden. */
  users: UserView[];
  /** Users matching `filter` (`users` holds at most the configured cap). */
  matching: number;
  filter: string;
  /** False for a `"counts"` dashboard: only `counts` is filled in. */
  identities: boolean;
}

/** One second of traffic. `t` is the second's start, in seconds since epoch. */
export interface RatePoint {
  t: number;
  in: number;
  out: number;
}

export interface LatencySummary {
  /** Replies in the window. */
  count: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
  windowS: number;
}

export interface ServerStats {
  startedAt: number;
  uptimeS: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Client entries the server tracks (connected or in grace). */
  clients: number;
  /** Dashboards watching this feed. */
  dashboards: number;
  /** Absent when identities are hidden. */
  node?: string;
  /** Absent when identities are hidden. */
  pid?: number;
}

/**
 * Error counts: the server's own since it started when the app gives them
 * (`DashboardFeedOptions.totals`; `chsk serve` does), else those the feed
 * saw while it tapped the server (while dashboards watched).
 */
export interface FeedTotals {
  /** Errors the server reported on its tap (bad frames, refused requests, …). */
  errors: number;
  /** Clients dropped for not reading their output (`CHSK_ERR_SLOW_CONSUMER`). */
  slowConsumers: number;
}

/** One node of the cluster, as the panel lists it. */
export interface ClusterNodeSummary {
  /** The node's id; for a `"counts"` dashboard `#1`, `#2`, … (an id may carry a host name and pid). */
  nodeId: string;
  users: number;
  clients: { ws: number; ajax: number };
  /** ms since epoch; `null` when the node reported nothing. */
  startedAt: number | null;
  alive: boolean;
  /** The node this dashboard is served by. */
  self: boolean;
}

/**
 * A clustered server's cluster (`createServer({ cluster })`): the nodes,
 * cluster-wide user counts, and this node's cluster counters. Absent on a
 * server that is not clustered.
 */
export interface ClusterPanel {
  /** This node's id (`#n` for a `"counts"` dashboard, matching its row in `nodes`). */
  nodeId: string;
  /** `redis`, … */
  engine: string;
  /** `down` while the store is unreachable (this node then serves only its own clients). */
  status: "starting" | "ready" | "down" | "closed";
  /** When `nodes` and `users` were read from the store (ms since epoch); `0`: not yet. */
  at: number;
  nodes: ClusterNodeSummary[];
  /** Users connected anywhere in the cluster, by transport. */
  users: { ws: number; ajax: number; any: number };
  /** This node's counters since it started (see `ClusterStats`). */
  counters: Omit<ClusterStats, "nodeId" | "engine" | "status" | "lastError">;
  /** The last failure: its code, and (unless identities are hidden) its text. */
  lastError: { code: string; message?: string; at: number } | null;
  /** Why the last read of the store failed: `nodes` and `users` are then from `at`. Absent for `"counts"`. */
  readError?: string | null;
}

export interface TickMessage {
  at: number;
  rate: RatePoint & { bytesIn: number; bytesOut: number; replies: number; errors: number };
  /** At most `sampleLimit` frames of this second, in time order. */
  frames: FrameSample[];
  /** Frames this second (in + out), of which `frames` is a sample. */
  framesSeen: number;
  latency: LatencySummary | null;
  stats: ServerStats;
  totals: FeedTotals;
  /** Lifecycle events since the previous message. */
  lifecycle: LifecycleEntry[];
  /** Lifecycle events dropped since the previous message (floods). */
  lifecycleDropped: number;
  /** The cluster, when the server is clustered (its nodes and users as last read, at most a second or two old). */
  cluster?: ClusterPanel;
}

export interface HelloMessage {
  /** What this dashboard may see and do. */
  access: DashboardAccessLevel;
  /** The token admin actions must echo in `X-Chsk-Dashboard` (admin only). */
  actionToken?: string;
  sampleLimit: number;
  historyS: number;
  history: RatePoint[];
  frames: FrameSample[];
  lifecycle: LifecycleEntry[];
  stats: ServerStats;
  totals: FeedTotals;
  /** The cluster, when the server is clustered and it has been read already. */
  cluster?: ClusterPanel;
}

export interface FeedMessages {
  hello: HelloMessage;
  tick: TickMessage;
  users: UsersMessage;
}
