/**
 * The live dashboard: reads the server's aggregated feed
 * (`GET <base>/events`, Server-Sent Events) and renders it. The page never
 * sees individual frames beyond the server's per-second sample, so it stays
 * responsive however many clients are connected. What it shows follows the
 * feed's `access`: `"counts"` hides every identity column (the feed carries
 * none), `"admin"` adds the actions.
 */
import uPlot from "uplot";
import type {
  ClusterPanel,
  DashboardAccessLevel,
  FeedTotals,
  FrameSample,
  HelloMessage,
  LifecycleEntry,
  RatePoint,
  TickMessage,
  UsersMessage,
  UserView,
} from "../../dashboard/feed-types.js";
import { closeCodeName } from "./close-text.js";
import { ago, bdi, byId, bytes, clockTime, count, duration, el, isolated, millisPair, readConfig, setTime, shortId, timeEl } from "./common.js";
import type { DashboardConfig } from "./config.js";

const config = readConfig<DashboardConfig>();
const MAX_ROWS = 200;
const main = document.querySelector<HTMLElement>("main.dash") as HTMLElement;

let access: DashboardAccessLevel = config.access;
let actionToken = config.actionToken;
let historyS = 120;
let history: RatePoint[] = [];

const MODE_LABEL: Record<DashboardAccessLevel, string> = { admin: "admin", read: "read-only", counts: "counts only" };

/** The feed has the final word on what this page may show (CSS hides the rest). */
function applyAccess(a: DashboardAccessLevel): void {
  access = a;
  main.dataset["access"] = a;
  const pill = byId("mode-pill");
  pill.dataset["state"] = a;
  pill.textContent = MODE_LABEL[a];
}

const isAdmin = () => access === "admin" && document.getElementById("admin-push-form") !== null;

// --- Chart ------------------------------------------------------------------

const chartBox = byId("chart");
const css = getComputedStyle(document.documentElement);
const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
const inColor = color("--in", "#6366f1");
const outColor = color("--out", "#10b981");
const axisColor = color("--muted", "#6b7280");
const gridColor = color("--grid", "rgba(127,127,127,0.15)");

const axis = (): uPlot.Axis => ({
  stroke: axisColor,
  grid: { stroke: gridColor, width: 1 },
  ticks: { stroke: gridColor, width: 1 },
  font: "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
});

const chartHeight = () => (chartBox.clientWidth < 500 ? 160 : 220);

const chart = new uPlot(
  {
    width: Math.max(240, chartBox.clientWidth),
    height: chartHeight(),
    cursor: { drag: { x: false, y: false } },
    // Room on the right for the newest tick's label, which is centred on the edge.
    padding: [null, 34, null, null],
    legend: { live: true },
    scales: {
      // A fixed window ending at the newest second, so the chart scrolls.
      // It grows from 30 s to the full history, so a fresh server's first seconds aren't a sliver.
      x: { time: true, range: (_u, _min, max) => [max - Math.min(historyS, Math.max(30, history.length)) + 1, max] },
      y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] },
    },
    axes: [
      // The pages' one time format, HH:MM:SS (uPlot's default mixes :20, 4pm and dates).
      { ...axis(), space: 90, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600], values: (_u, splits) => splits.map((s) => clockTime(s * 1000)) },
      { ...axis(), size: 50, values: (_u, splits) => splits.map((v) => count(v)) },
    ],
    series: [
      { label: "Time", value: (_u, v) => (v === null ? "–" : clockTime(v * 1000)) },
      { label: "in", stroke: inColor, fill: `${inColor}22`, width: 2, points: { show: false }, value: (_u, v) => (v === null ? "–" : `${count(v)}/s`) },
      { label: "out", stroke: outColor, fill: `${outColor}22`, width: 2, points: { show: false }, value: (_u, v) => (v === null ? "–" : `${count(v)}/s`) },
    ],
  },
  [[], [], []],
  chartBox,
);

new ResizeObserver(() => chart.setSize({ width: Math.max(240, chartBox.clientWidth), height: chartHeight() })).observe(chartBox);

function drawChart(): void {
  const xs = history.map((p) => p.t);
  chart.setData([xs, history.map((p) => p.in), history.map((p) => p.out)]);
  // Unless the pointer is over the chart, the legend shows the latest second.
  if (xs.length > 0 && (chart.cursor.left ?? -1) < 0) chart.setLegend({ idx: xs.length - 1 });
}

// --- Stats ------------------------------------------------------------------

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** `123.4 MiB` with a small unit, so the number fits its card. */
function setValue(node: HTMLElement, text: string): void {
  if (node.textContent === text) return;
  const at = text.lastIndexOf(" ");
  if (at < 0 || !/^[a-zA-Z]+$/.test(text.slice(at + 1))) return void (node.textContent = text);
  node.replaceChildren(text.slice(0, at), el("span", { class: "unit" }, text.slice(at)));
}

function renderTick(t: TickMessage): void {
  setText(byId("s-rate"), `${count(t.rate.in)} / ${count(t.rate.out)}`);
  const peak = history.reduce((m, p) => Math.max(m, p.in, p.out), 0);
  setText(byId("s-rate-sub"), `per second · peak ${count(peak)}/s`);
  byId("s-rate-sub").title = `${bytes(t.rate.bytesIn)} in, ${bytes(t.rate.bytesOut)} out in the last second`;
  if (t.latency) {
    setValue(byId("s-latency"), millisPair(t.latency.p50, t.latency.p99));
    setText(byId("s-latency-sub"), `p50 / p99 · last ${t.latency.windowS} s`);
    byId("s-latency-sub").title = `${t.latency.count} replies; max ${t.latency.max} ms`;
  } else {
    setText(byId("s-latency"), "–");
    setText(byId("s-latency-sub"), "no replies in the last minute");
  }
  renderStats(t.stats);
  renderTotals(t.totals, t.rate.errors);
  renderCluster(t.cluster);
  const note = byId("frames-note");
  setText(
    note,
    t.framesSeen > t.frames.length ? `sampled: ${t.frames.length} of ${count(t.framesSeen)} in the last second` : "every frame (under the sample limit)",
  );
}

function renderTotals(totals: FeedTotals, lastSecond?: number): void {
  setText(byId("s-errors"), count(totals.errors));
  setText(byId("s-errors-sub"), `slow consumers dropped ${count(totals.slowConsumers)}`);
  byId("s-errors").title = `${totals.errors} errors since this dashboard's server started${lastSecond ? `, ${lastSecond} in the last second` : ""}`;
  byId("s-errors-sub").title = "Clients cut off for leaving too much output unread (CHSK_ERR_SLOW_CONSUMER); counted in errors too";
}

function renderStats(s: HelloMessage["stats"]): void {
  setText(byId("s-uptime"), duration(s.uptimeS));
  const sub = byId("s-uptime-sub");
  sub.replaceChildren("since ", timeEl(s.startedAt));
  setValue(byId("s-memory"), bytes(s.rssBytes));
  setText(byId("s-memory-sub"), `RSS · heap ${bytes(s.heapUsedBytes)}`);
  const proc = s.node !== undefined ? `Node ${s.node} · pid ${s.pid} · ` : "";
  setText(byId("server-meta"), `${proc}${s.dashboards} ${s.dashboards === 1 ? "dashboard" : "dashboards"} watching`);
}

// --- Cluster ----------------------------------------------------------------

/** Present only on a cluster node's page. */
const clusterCard = document.getElementById("cluster");
const STATUS_LABEL: Record<ClusterPanel["status"], string> = { starting: "starting", ready: "ready", down: "down", closed: "left" };
const COUNTER_KEYS = ["published", "received", "queued", "taken", "expired", "queueFull", "failures", "lostEvents", "lostQueued", "resyncs"] as const;
/** Counters that mean something went missing: highlighted once above zero. */
const LOSS_KEYS = new Set<string>(["expired", "queueFull", "failures", "lostEvents", "lostQueued"]);
let clusterRows = "";

function nodeRow(n: ClusterPanel["nodes"][number]): HTMLTableRowElement {
  return el(
    "tr",
    { "data-node-id": n.nodeId, "data-alive": String(n.alive), class: n.alive ? "node-row" : "node-row gone" },
    el("td", { class: "node-cell" }, el("code", {}, bdi(n.nodeId)), n.self ? el("span", { class: "muted small" }, " this node") : null),
    el("td", { class: "num" }, count(n.users)),
    el("td", { class: "num" }, count(n.clients.ws)),
    el("td", { class: "num" }, count(n.clients.ajax)),
    el("td", {}, n.startedAt === null ? "–" : timeEl(n.startedAt)),
    el("td", {}, el("span", { class: `badge ${n.alive ? "badge-alive" : "badge-gone"}`, title: n.alive ? "heartbeat current" : "heartbeat lapsed: being reaped" }, n.alive ? "alive" : "lapsed")),
  );
}

function renderCluster(c: ClusterPanel | undefined): void {
  if (clusterCard === null || c === undefined) return;
  clusterCard.dataset["status"] = c.status;
  const pill = byId("cluster-status");
  pill.dataset["state"] = c.status;
  setText(pill, STATUS_LABEL[c.status]);
  const alive = c.nodes.filter((n) => n.alive).length;
  setText(byId("cluster-meta"), `${c.engine} · node ${c.nodeId} · ${alive} ${alive === 1 ? "node" : "nodes"} alive`);
  setText(byId("c-users"), count(c.users.any));
  setText(byId("c-users-sub"), `ws ${count(c.users.ws)} · ajax ${count(c.users.ajax)}`);
  for (const k of COUNTER_KEYS) {
    const dd = byId(`c-${k}`);
    setText(dd, count(c.counters[k]));
    dd.classList.toggle("bad", LOSS_KEYS.has(k) && c.counters[k] > 0);
  }
  const banner = byId("cluster-banner");
  if (c.status === "down") {
    const why = c.lastError?.message ?? c.lastError?.code ?? "unreachable";
    const lost = count(c.counters.lostEvents + c.counters.lostQueued);
    const asOf = c.at > 0 ? [" The nodes and users below are as of ", timeEl(c.at), "."] : [];
    banner.replaceChildren(`The cluster store is down (${why}): this node serves only its own clients; ${lost} pushed batches may not have reached other nodes' clients.`, ...asOf);
    banner.hidden = false;
  } else if (c.readError) {
    banner.replaceChildren(`Could not read the cluster (${c.readError}); the nodes below are as of `, c.at > 0 ? timeEl(c.at) : "never", ".");
    banner.hidden = false;
  } else banner.hidden = true;
  // A handful of nodes: rebuilt only when something in them changed.
  const rows = JSON.stringify(c.nodes);
  if (rows !== clusterRows) {
    clusterRows = rows;
    byId("cluster-nodes-body").replaceChildren(...c.nodes.map(nodeRow));
  }
  const empty = byId("cluster-empty");
  empty.hidden = c.nodes.length > 0;
  setText(empty, c.at === 0 ? "Reading the cluster…" : "No node has reported yet.");
}

// --- Users ------------------------------------------------------------------

const transportBadge = (t: string) => el("span", { class: `badge badge-${t}` }, t);
const showUid = (uid: string | null | undefined) => (uid === null ? "(anonymous)" : uid === undefined ? "hidden" : uid);

/** One user's rows, in a `<tbody>` of its own, rebuilt only when its clients change. */
interface UserGroup {
  tbody: HTMLTableSectionElement;
  signature: string;
  /** Last-activity cells, patched in place every second. */
  activity: HTMLTimeElement[];
}

const groups = new Map<string, UserGroup>();
const groupKey = (uid: string | null) => (uid === null ? "\u0000anonymous" : `u:${uid}`);

/** What, if it changes, needs the rows rebuilt (activity times are patched in place). */
const signature = (u: UserView): string =>
  JSON.stringify([isAdmin(), u.transports, u.moreClients, u.clients.map((c) => [c.clientId, c.transport, c.connected, c.connectedAt])]);

function buildGroup(u: UserView, now: number): UserGroup {
  const activity: HTMLTimeElement[] = [];
  const admin = isAdmin();
  const columns = admin ? 5 : 4;
  const tbody = el("tbody", { class: "user-group", "data-uid": u.uid ?? "" });
  const span = Math.max(1, u.clients.length + (u.moreClients > 0 ? 1 : 0));
  const userCell = el(
    "td",
    { class: "user-cell", rowspan: String(span) },
    bdi(showUid(u.uid), { class: "uid" }),
    el("span", { class: "badges" }, ...u.transports.map(transportBadge)),
    admin && u.uid !== null ? el("button", { class: "ghost small", type: "button", "data-push-uid": u.uid, title: `Push an event to ${isolated(u.uid)}` }, "Push…") : null,
  );
  if (u.clients.length === 0) {
    tbody.append(el("tr", { "data-uid": u.uid ?? "" }, userCell, el("td", { colspan: String(columns), class: "muted" }, "no client entries (closing)")));
  }
  u.clients.forEach((c, i) => {
    const last = timeEl(c.lastActivity, ago(c.lastActivity, now));
    activity.push(last);
    tbody.append(
      el(
        "tr",
        { "data-uid": u.uid ?? "", "data-client-id": c.clientId, "data-transport": c.transport, class: c.connected ? "client-row" : "client-row grace" },
        i === 0 ? userCell : null,
        el("td", { class: "client-cell", "data-label": "Client id" }, el("code", { class: "cid" }, bdi(c.clientId))),
        el(
          "td",
          { class: "transport-cell", "data-label": "Transport" },
          transportBadge(c.transport),
          c.connected ? null : el("span", { class: "muted small", title: "Not connected right now; listed until its reconnect grace period ends" }, " grace period"),
        ),
        el("td", { class: "since-cell", "data-label": "Connected since" }, timeEl(c.connectedAt)),
        el("td", { class: "activity-cell", "data-label": "Last activity" }, last),
        admin
          ? el("td", { class: "actions admin-only" }, c.connected ? el("button", { class: "ghost small danger", type: "button", "data-disconnect": c.clientId }, "Disconnect") : null)
          : null,
      ),
    );
  });
  if (u.moreClients > 0) tbody.append(el("tr", {}, el("td", { colspan: String(columns), class: "muted small" }, `… and ${u.moreClients} more clients`)));
  return { tbody, signature: signature(u), activity };
}

/**
 * Keyed rendering: a user whose clients didn't change keeps its DOM and only
 * gets its activity times patched, so a second's update with hundreds of
 * rows costs a few text writes rather than a rebuild.
 */
function renderUsers(m: UsersMessage): void {
  const c = m.counts;
  setText(byId("s-users"), count(c.users.any));
  // A cluster node's own users; the cluster's are in the cluster panel.
  setText(byId("s-users-sub"), `ws ${count(c.users.ws)} · ajax ${count(c.users.ajax)}${clusterCard === null ? "" : " · this node"}`);
  setText(byId("s-conns"), count(c.clients.total));
  setText(byId("s-conns-sub"), `ws ${count(c.clients.ws)} · ajax ${count(c.clients.ajax)}`);
  if (!m.identities) {
    setText(byId("users-count"), `${c.users.any} ${c.users.any === 1 ? "user" : "users"}`);
    for (const g of groups.values()) g.tbody.remove();
    groups.clear();
    return;
  }
  const shown = m.users.length;
  setText(
    byId("users-count"),
    `${m.matching} ${m.matching === 1 ? "user" : "users"}${m.filter ? ` matching “${m.filter}”` : ""}` + (shown < m.matching ? `, showing ${shown}` : ""),
  );
  const now = Date.now();
  const present = new Set<string>();
  let previous: Element = byId("users-head");
  for (const u of m.users) {
    const key = groupKey(u.uid);
    present.add(key);
    let g = groups.get(key);
    if (g === undefined || g.signature !== signature(u)) {
      const fresh = buildGroup(u, now);
      g?.tbody.remove();
      g = fresh;
      groups.set(key, g);
    } else {
      const cells = g.activity;
      u.clients.forEach((cl, i) => {
        const cell = cells[i];
        if (cell) setTime(cell, cl.lastActivity, ago(cl.lastActivity, now));
      });
    }
    if (previous.nextElementSibling !== g.tbody) previous.after(g.tbody);
    previous = g.tbody;
  }
  for (const [key, g] of groups) {
    if (!present.has(key)) {
      g.tbody.remove();
      groups.delete(key);
    }
  }
  const empty = byId("users-empty");
  empty.hidden = m.users.length > 0;
  setText(empty, m.filter ? "No user matches the filter." : "No one is connected.");
}

// --- Logs -------------------------------------------------------------------

/** An id cell: the id in full, wrapping where it must (`title` repeats it for ellipsized layouts). */
const uidCell = (uid: string | null | undefined) => el("td", { class: "uid id-col", title: showUid(uid) }, bdi(showUid(uid)));
const clientCell = (clientId: string | undefined) =>
  el("td", { class: "id-col", title: clientId ?? "" }, clientId ? el("code", { class: "cid" }, bdi(shortId(clientId))) : "–");

function frameRow(f: FrameSample): HTMLTableRowElement {
  const label = f.kind === "reply" ? `↩ ${f.eventId}` : f.count > 1 ? `${f.eventId} ×${f.count}` : f.eventId;
  return el(
    "tr",
    { class: `frame frame-${f.dir} kind-${f.kind}` },
    el("td", { class: "time" }, timeEl(f.at)),
    el("td", { class: "dir-cell" }, el("span", { class: `dir dir-${f.dir}`, title: f.dir === "in" ? "client → server" : "server → client" }, f.dir), " ", transportBadge(f.transport)),
    uidCell(f.uid),
    clientCell(f.clientId),
    el("td", { class: "event", title: label }, el("code", {}, bdi(label)), f.cb && f.dir === "in" ? el("span", { class: "muted small", title: "asks for a reply" }, " ⟲") : null),
    el("td", { class: "num bytes" }, bytes(f.bytes)),
  );
}

function lifecycleDetail(e: LifecycleEntry): string {
  return [e.transport, e.code !== undefined ? closeCodeName(e.code) : undefined, e.reason, e.message].filter(Boolean).join(" · ");
}

function lifecycleRow(e: LifecycleEntry): HTMLTableRowElement {
  const detail = lifecycleDetail(e);
  return el(
    "tr",
    { class: `life life-${e.kind.replace(":", "-")}`, "data-kind": e.kind, "data-uid": e.uid ?? "" },
    el("td", { class: "time" }, timeEl(e.at)),
    el("td", { class: "kind-cell" }, el("span", { class: `badge life-badge` }, e.kind)),
    uidCell(e.uid),
    clientCell(e.clientId),
    el("td", { class: "muted detail", title: detail }, bdi(detail)),
  );
}

function prependRows(bodyId: string, rows: HTMLTableRowElement[]): void {
  const body = byId(bodyId);
  if (rows.length > 0) {
    const frag = document.createDocumentFragment();
    // Newest first.
    for (let i = rows.length - 1; i >= 0; i--) frag.append(rows[i] as HTMLTableRowElement);
    body.prepend(frag);
    while (body.childElementCount > MAX_ROWS) body.lastElementChild?.remove();
  }
  const empty = document.getElementById(bodyId === "frames-body" ? "frames-empty" : "life-empty");
  if (empty) empty.hidden = body.childElementCount > 0;
}

// --- Feed -------------------------------------------------------------------

let source: EventSource | undefined;
let filter = "";

function setFeedState(state: "live" | "waiting", text: string): void {
  const p = byId("feed-pill");
  p.dataset["state"] = state;
  p.textContent = text;
}

/**
 * While the feed is down the numbers on screen are old: say so, since when,
 * and dim them, instead of leaving a small pill as the only hint.
 */
function feedDown(why: string): void {
  const banner = byId("feed-banner");
  if (main.dataset["feed"] !== "down") {
    main.dataset["feed"] = "down";
    downSince = Date.now();
  }
  banner.replaceChildren(`${why} (since `, timeEl(downSince), "); the numbers below are from then.");
  banner.hidden = false;
}

let downSince = 0;

function feedUp(): void {
  main.dataset["feed"] = "live";
  byId("feed-banner").hidden = true;
}

let retryTimer: ReturnType<typeof setTimeout> | undefined;

const data = <T>(e: Event): T => JSON.parse((e as MessageEvent<string>).data) as T;

function connect(): void {
  clearTimeout(retryTimer);
  source?.close();
  const url = filter ? `${config.base}/events?filter=${encodeURIComponent(filter)}` : `${config.base}/events`;
  const es = new EventSource(url);
  source = es;
  es.addEventListener("open", () => setFeedState("live", "live"));
  es.addEventListener("error", () => {
    setFeedState("waiting", "reconnecting");
    if (es.readyState !== EventSource.CLOSED) return feedDown("Lost the server's feed, reconnecting");
    // An HTTP answer other than 200 (a refusal, a full server) ends an EventSource for good: find out which, and retry unless refused.
    fetch(url, { method: "HEAD", cache: "no-store" }).then(
      (r) => {
        if (r.status === 401 || r.status === 403) {
          setFeedState("waiting", "refused");
          return feedDown(`The server refuses this dashboard now (HTTP ${r.status}): reload the page to sign in again`);
        }
        feedDown(`The server's feed is unavailable (HTTP ${r.status}), retrying`);
        retryTimer = setTimeout(connect, 3000);
      },
      () => {
        feedDown("Lost the server's feed, retrying");
        retryTimer = setTimeout(connect, 3000);
      },
    );
  });
  es.addEventListener("hello", (e) => {
    const h = data<HelloMessage>(e);
    applyAccess(h.access);
    actionToken = h.actionToken ?? actionToken;
    historyS = h.historyS;
    history = h.history.slice(-historyS);
    drawChart();
    byId("frames-body").replaceChildren();
    byId("life-body").replaceChildren();
    prependRows("frames-body", h.frames.map(frameRow));
    prependRows("life-body", h.lifecycle.map(lifecycleRow));
    renderStats(h.stats);
    renderTotals(h.totals);
    renderCluster(h.cluster);
    setFeedState("live", "live");
    feedUp();
  });
  es.addEventListener("tick", (e) => {
    const t = data<TickMessage>(e);
    history.push({ t: t.rate.t, in: t.rate.in, out: t.rate.out });
    if (history.length > historyS) history.splice(0, history.length - historyS);
    drawChart();
    renderTick(t);
    prependRows("frames-body", t.frames.map(frameRow));
    prependRows("life-body", t.lifecycle.map(lifecycleRow));
  });
  es.addEventListener("users", (e) => renderUsers(data<UsersMessage>(e)));
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
byId<HTMLInputElement>("users-filter").addEventListener("input", (e) => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    filter = (e.target as HTMLInputElement).value.trim();
    connect();
  }, 300);
});

// --- Admin actions ----------------------------------------------------------

class ActionError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

async function act(path: string, body: unknown): Promise<{ clients?: number; cluster?: boolean }> {
  const res = await fetch(`${config.base}${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-chsk-dashboard": actionToken ?? "" },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as { error?: string; field?: string; clients?: number; cluster?: boolean };
  if (!res.ok) throw new ActionError(answer.error ?? `HTTP ${res.status}`, answer.field);
  return answer;
}

function showResult(text: string | (string | Node)[], isError = false): void {
  const out = document.getElementById("admin-result");
  if (!out) return;
  out.replaceChildren(...(typeof text === "string" ? [text] : text));
  out.classList.toggle("error", isError);
}

/** Marks the field at fault and says why, right under the form (cleared on the next edit). */
function showFieldError(field: "uid" | "event" | undefined, message: string): void {
  const box = byId("admin-push-error");
  box.textContent = message;
  box.hidden = false;
  for (const f of ["uid", "event"] as const) {
    byId<HTMLInputElement>(`admin-push-${f}`).toggleAttribute("aria-invalid", f === (field ?? "event"));
  }
}

function clearFieldError(): void {
  const box = document.getElementById("admin-push-error");
  if (!box || box.hidden) return;
  box.hidden = true;
  box.textContent = "";
  for (const f of ["uid", "event"]) document.getElementById(`admin-push-${f}`)?.removeAttribute("aria-invalid");
}

byId("users").addEventListener("click", (e) => {
  const target = e.target as HTMLElement;
  const clientId = target.dataset["disconnect"];
  if (clientId !== undefined) {
    target.setAttribute("disabled", "");
    act("/api/disconnect", { clientId }).then(
      () => showResult(["Disconnected ", bdi(shortId(clientId)), "."]),
      (err: Error) => showResult(err.message, true),
    );
  }
  const uid = target.dataset["pushUid"];
  if (uid !== undefined) {
    const input = document.getElementById("admin-push-uid") as HTMLInputElement | null;
    if (input) {
      input.value = uid;
      clearFieldError();
      (document.getElementById("admin-push-event") as HTMLInputElement | null)?.focus();
    }
  }
});

const pushForm = document.getElementById("admin-push-form");
pushForm?.addEventListener("input", clearFieldError);
pushForm?.addEventListener("submit", (e) => {
  e.preventDefault();
  const uid = byId<HTMLInputElement>("admin-push-uid").value.trim();
  const event = byId<HTMLInputElement>("admin-push-event").value;
  if (uid === "") return showFieldError("uid", "Type the user id to push to.");
  clearFieldError();
  showResult("");
  act("/api/push", { uid, event }).then(
    (answer) =>
      showResult(
        answer.cluster === true
          ? [`Pushed to `, bdi(uid), ` through the cluster (${answer.clients ?? 0} client(s) on this node) at ${clockTime(Date.now())}.`]
          : [`Pushed to ${answer.clients ?? 0} client(s) of `, bdi(uid), ` at ${clockTime(Date.now())}.`],
      ),
    (err: Error) => (err instanceof ActionError && err.field ? showFieldError(err.field === "uid" ? "uid" : "event", err.message) : showResult(err.message, true)),
  );
});

applyAccess(access);
connect();
