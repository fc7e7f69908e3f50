/**
 * The dashboard document: a static shell that `pages/dashboard.ts` fills
 * in from the feed. What the request may see decides what it contains: no
 * action token or admin form below `"admin"`, no identity columns' data
 * ever in the HTML (they arrive, or don't, through the feed).
 */
import type { DashboardConfig } from "../web/pages/config.js";
import { escapeHtml, type NavLink, shell } from "../web/shell.js";

export interface DashboardPageOptions {
  version: string;
  config: DashboardConfig;
  /** Where the logo links. */
  home: string;
  nav: NavLink[];
  meta: string;
  /** The server is a cluster node: the page gets the cluster panel. @default false */
  clustered?: boolean;
}

const MODE_LABEL = { admin: "admin", read: "read-only", counts: "counts only" } as const;

const COUNTERS: [id: string, label: string, title: string][] = [
  ["published", "published", "Push batches this node handed to the cluster store"],
  ["received", "received", "Push batches this node received from other nodes"],
  ["queued", "queued", "Frames queued for Ajax clients between polls (or WebSockets reconnecting)"],
  ["taken", "taken", "Queued frames taken by this node's polls and sockets"],
  ["expired", "expired", "Queued frames whose client did not come back in time"],
  ["queueFull", "queue full", "Frames dropped because a client's queue was full"],
  ["failures", "failures", "Cluster steps that failed (the store unreachable)"],
  ["lostEvents", "lost events", "Pushed WebSocket batches that may not have reached other nodes' clients (this node's clients got them)"],
  ["lostQueued", "lost queued", "Pushed Ajax batches that could not be queued for clients polling other nodes (this node's clients got them)"],
  ["resyncs", "resyncs", "Times the store came back and this node registered again"],
];

/** Nodes, cluster-wide users and this node's counters; filled in by the page from the feed's `cluster`. */
const clusterCard = (): string => `<section class="card cluster-card" id="cluster" data-status="starting" aria-labelledby="cluster-h">
    <div class="cluster-head">
      <h2 id="cluster-h">Cluster</h2>
      <span class="pill" id="cluster-status" data-state="starting">starting</span>
      <span class="muted small" id="cluster-meta"></span>
    </div>
    <p class="banner bad" id="cluster-banner" role="status" hidden></p>
    <div class="cluster-body">
      <div class="cluster-users"><span class="stat-label">Users in the cluster</span><span class="stat-value" id="c-users">–</span><span class="stat-sub" id="c-users-sub"></span></div>
      <dl class="counters" aria-label="This node's cluster counters">
${COUNTERS.map(([id, label, title]) => `        <div class="counter" title="${escapeHtml(title)}"><dt>${label}</dt><dd id="c-${id}">0</dd></div>`).join("\n")}
      </dl>
    </div>
    <div class="table-wrap">
      <table class="nodes" id="cluster-nodes">
        <thead><tr><th>Node</th><th class="num">Users</th><th class="num">WS clients</th><th class="num">Ajax clients</th><th>Started</th><th>Alive</th></tr></thead>
        <tbody id="cluster-nodes-body"></tbody>
      </table>
      <p class="empty-note muted" id="cluster-empty">Reading the cluster…</p>
    </div>
  </section>`;

export function dashboardPage(o: DashboardPageOptions): string {
  const { access, notes } = o.config;
  const admin = access === "admin";
  const body = `<main class="dash" data-access="${access}">
  <div class="dash-head">
    <h1>Dashboard</h1>
    <span class="pill" id="mode-pill" data-state="${access}">${MODE_LABEL[access]}</span>
    <span class="pill" id="feed-pill" data-state="connecting">connecting</span>
    <span class="grow"></span>
    <span class="muted small" id="server-meta"></span>
  </div>
  <p class="banner" id="feed-banner" role="status" hidden></p>

  <section class="stats" aria-label="Summary">
    <div class="stat"><span class="stat-label">Users</span><span class="stat-value" id="s-users">0</span><span class="stat-sub" id="s-users-sub">ws 0 · ajax 0</span></div>
    <div class="stat"><span class="stat-label">Connections</span><span class="stat-value" id="s-conns">0</span><span class="stat-sub" id="s-conns-sub">ws 0 · ajax 0</span></div>
    <div class="stat"><span class="stat-label">Frames in / out</span><span class="stat-value" id="s-rate">0 / 0</span><span class="stat-sub" id="s-rate-sub">per second</span></div>
    <div class="stat"><span class="stat-label">Reply latency</span><span class="stat-value" id="s-latency">–</span><span class="stat-sub" id="s-latency-sub">p50 / p99, last minute</span></div>
    <div class="stat"><span class="stat-label">Errors</span><span class="stat-value" id="s-errors">0</span><span class="stat-sub" id="s-errors-sub">slow consumers dropped 0</span></div>
    <div class="stat"><span class="stat-label">Uptime</span><span class="stat-value" id="s-uptime">–</span><span class="stat-sub" id="s-uptime-sub"></span></div>
    <div class="stat"><span class="stat-label">Memory</span><span class="stat-value" id="s-memory">–</span><span class="stat-sub" id="s-memory-sub">RSS</span></div>
  </section>
${o.clustered === true ? `
  ${clusterCard()}
` : ""}
  <section class="card chart-card" aria-labelledby="chart-h">
    <h2 id="chart-h">Frames per second</h2>
    <div id="chart" class="chart"></div>
  </section>

  <section class="card users-card" aria-labelledby="users-h">
    <h2 id="users-h">Connected users <span class="muted small" id="users-count"></span></h2>
    <p class="note counts-only" id="counts-note">${escapeHtml(notes.counts)}</p>
    <div class="row ids-only">
      <input id="users-filter" type="search" placeholder="Filter by user or client id" spellcheck="false" aria-label="Filter users">
    </div>
    <div class="table-wrap ids-only">
      <table class="users" id="users">
        <thead id="users-head"><tr><th>User</th><th>Client id</th><th>Transport</th><th>Connected since</th><th>Last activity</th>${admin ? '<th class="admin-only"></th>' : ""}</tr></thead>
      </table>
      <p class="empty-note muted" id="users-empty">No one is connected.</p>
    </div>
  </section>

  ${
    admin
      ? `<section class="card admin-card admin-only" aria-labelledby="admin-h">
    <h2 id="admin-h">Push to a user</h2>
    <form id="admin-push-form" class="row" novalidate>
      <label><span class="label">User id</span><input id="admin-push-uid" required spellcheck="false" placeholder="alice" aria-describedby="admin-push-error"></label>
      <label class="grow"><span class="label">Event, in EDN: <code>[:ns/name data]</code></span><input id="admin-push-event" spellcheck="false" autocomplete="off" value='[:demo/msg {:text "hello from the dashboard"}]' aria-describedby="admin-push-error"></label>
      <button type="submit" class="primary">Push</button>
    </form>
    <p class="field-error" id="admin-push-error" role="alert" hidden></p>
    <p class="muted small" id="admin-result" role="status"></p>
  </section>`
      : ""
  }
  <p class="muted small note read-only" id="readonly-note">${escapeHtml(notes.readOnly)}</p>

  <div class="logs">
    <section class="card" aria-labelledby="frames-h">
      <h2 id="frames-h">Frames <span class="muted small" id="frames-note"></span></h2>
      <div class="table-wrap log-wrap">
        <table class="frames"><thead><tr><th>Time</th><th></th><th class="id-col">User</th><th class="id-col">Client</th><th>Event</th><th class="num">Bytes</th></tr></thead>
        <tbody id="frames-body"></tbody></table>
        <p class="empty-note muted" id="frames-empty">No frames yet.</p>
      </div>
    </section>
    <section class="card" aria-labelledby="life-h">
      <h2 id="life-h">Connections and uidports</h2>
      <div class="table-wrap log-wrap">
        <table class="lifecycle"><thead><tr><th>Time</th><th>Event</th><th class="id-col">User</th><th class="id-col">Client</th><th>Detail</th></tr></thead>
        <tbody id="life-body"></tbody></table>
        <p class="empty-note muted" id="life-empty">Nothing yet.</p>
      </div>
    </section>
  </div>
</main>`;
  return shell({
    title: "chsk dashboard",
    page: "dashboard",
    base: o.config.base,
    version: o.version,
    config: o.config,
    home: o.home,
    nav: o.nav,
    meta: o.meta,
    body,
  });
}
