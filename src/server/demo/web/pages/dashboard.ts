/**
 * The live dashboard: reads the server's aggregated feed
 * (`GET /dashboard/events`, Server-Sent Events) and renders it. The page
 * never sees individual frames beyond the server's per-second sample, so it
 * stays responsive however many clients are connected.
 */
import uPlot from "uplot";
import type {
  FrameSample,
  HelloMessage,
  LifecycleEntry,
  RatePoint,
  TickMessage,
  UsersMessage,
  UserView,
} from "../feed-types.js";
import { ago, byId, bytes, clockTime, count, duration, el, millisPair, readConfig, shortId } from "./common.js";

const config = readConfig();
const MAX_ROWS = 200;

let admin = config.admin;
let actionToken = config.actionToken;
let historyS = 120;
let history: RatePoint[] = [];

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

const pad2 = (n: number) => String(n).padStart(2, "0");
function tickLabel(t: number): string {
  const d = new Date(t * 1000);
  return d.getSeconds() === 0 ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}` : `:${pad2(d.getSeconds())}`;
}

const chart = new uPlot(
  {
    width: Math.max(300, chartBox.clientWidth),
    height: 220,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      // A fixed window ending at the newest second, so the chart scrolls.
      // It grows from 30 s to the full history, so a fresh server's first seconds aren't a sliver.
      x: { time: true, range: (_u, _min, max) => [max - Math.min(historyS, Math.max(30, history.length)) + 1, max] },
      y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] },
    },
    axes: [
      // One line per tick (uPlot's default adds a date line that collides at this width):
      // whole minutes as 15:49, other ticks as :20.
      { ...axis(), space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600], values: (_u, splits) => splits.map(tickLabel) },
      { ...axis(), size: 50, values: (_u, splits) => splits.map((v) => count(v)) },
    ],
    series: [
      {},
      { label: "in", stroke: inColor, fill: `${inColor}22`, width: 2, points: { show: false }, value: (_u, v) => (v === null ? "–" : `${count(v)}/s`) },
      { label: "out", stroke: outColor, fill: `${outColor}22`, width: 2, points: { show: false }, value: (_u, v) => (v === null ? "–" : `${count(v)}/s`) },
    ],
  },
  [[], [], []],
  chartBox,
);

new ResizeObserver(() => chart.setSize({ width: Math.max(300, chartBox.clientWidth), height: 220 })).observe(chartBox);

function drawChart(): void {
  // A fixed window ending now, so the chart scrolls even when idle.
  const xs = history.map((p) => p.t);
  chart.setData([xs, history.map((p) => p.in), history.map((p) => p.out)]);
  // Unless the pointer is over the chart, the legend shows the latest second.
  if (xs.length > 0 && (chart.cursor.left ?? -1) < 0) chart.setLegend({ idx: xs.length - 1 });
}

// --- Stats ------------------------------------------------------------------

function renderTick(t: TickMessage): void {
  byId("s-rate").textContent = `${count(t.rate.in)} / ${count(t.rate.out)}`;
  const peak = history.reduce((m, p) => Math.max(m, p.in, p.out), 0);
  byId("s-rate-sub").textContent = `per second · peak ${count(peak)}/s`;
  byId("s-rate-sub").title = `${bytes(t.rate.bytesIn)} in, ${bytes(t.rate.bytesOut)} out in the last second`;
  if (t.latency) {
    byId("s-latency").textContent = millisPair(t.latency.p50, t.latency.p99);
    byId("s-latency-sub").textContent = `p50 / p99 · last ${t.latency.windowS} s`;
    byId("s-latency-sub").title = `${t.latency.count} replies; max ${t.latency.max} ms`;
  } else {
    byId("s-latency").textContent = "–";
    byId("s-latency-sub").textContent = "no replies in the last minute";
  }
  renderStats(t.stats);
  const note = byId("frames-note");
  note.textContent =
    t.framesSeen > t.frames.length ? `sampled: ${t.frames.length} of ${count(t.framesSeen)} in the last second` : "every frame (under the sample limit)";
}

function renderStats(s: HelloMessage["stats"]): void {
  byId("s-uptime").textContent = duration(s.uptimeS);
  byId("s-uptime-sub").textContent = `since ${new Date(s.startedAt).toLocaleTimeString()}`;
  byId("s-memory").textContent = bytes(s.rssBytes);
  byId("s-memory-sub").textContent = `RSS · heap ${bytes(s.heapUsedBytes)}`;
  byId("server-meta").textContent = `Node ${s.node} · pid ${s.pid} · ${s.dashboards} ${s.dashboards === 1 ? "dashboard" : "dashboards"} watching`;
}

// --- Users ------------------------------------------------------------------

const transportBadge = (t: string) => el("span", { class: `badge badge-${t}` }, t);
const showUid = (uid: string | null) => (uid === null ? "(anonymous)" : uid);

/** Cells whose relative times ("6 s ago") change every second. */
interface LiveCells {
  since: HTMLElement;
  activity: HTMLElement;
}

/** One user's rows, in a `<tbody>` of its own, rebuilt only when its clients change. */
interface UserGroup {
  tbody: HTMLTableSectionElement;
  signature: string;
  live: LiveCells[];
}

const groups = new Map<string, UserGroup>();
const groupKey = (uid: string | null) => (uid === null ? "\u0000anonymous" : `u:${uid}`);

/** What, if it changes, needs the rows rebuilt (relative times are patched in place). */
const signature = (u: UserView): string =>
  JSON.stringify([admin, u.transports, u.moreClients, u.clients.map((c) => [c.clientId, c.transport, c.connected, c.connectedAt])]);

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function buildGroup(u: UserView, now: number): UserGroup {
  const live: LiveCells[] = [];
  const tbody = el("tbody", { class: "user-group", "data-uid": u.uid ?? "" });
  const span = Math.max(1, u.clients.length + (u.moreClients > 0 ? 1 : 0));
  const userCell = el(
    "td",
    { class: "user-cell", rowspan: String(span) },
    el("span", { class: "uid" }, showUid(u.uid)),
    el("span", { class: "badges" }, ...u.transports.map(transportBadge)),
    admin && u.uid !== null ? el("button", { class: "ghost small", type: "button", "data-push-uid": u.uid }, "Push…") : null,
  );
  if (u.clients.length === 0) {
    tbody.append(el("tr", { "data-uid": u.uid ?? "" }, userCell, el("td", { colspan: admin ? "5" : "4", class: "muted" }, "no client entries (closing)")));
  }
  u.clients.forEach((c, i) => {
    const since = el("span", { class: "muted small" }, ` · ${ago(c.connectedAt, now)}`);
    const activity = el("td", { title: new Date(c.lastActivity).toLocaleString() }, ago(c.lastActivity, now));
    live.push({ since, activity });
    tbody.append(
      el(
        "tr",
        { "data-uid": u.uid ?? "", "data-client-id": c.clientId, "data-transport": c.transport, class: c.connected ? "" : "grace" },
        i === 0 ? userCell : null,
        el("td", { title: c.clientId }, el("code", {}, shortId(c.clientId))),
        el(
          "td",
          {},
          transportBadge(c.transport),
          c.connected ? null : el("span", { class: "muted small", title: "Not connected right now; listed until its reconnect grace period ends" }, " grace period"),
        ),
        el("td", { title: new Date(c.connectedAt).toLocaleString() }, clockTime(c.connectedAt, false), since),
        activity,
        admin
          ? el("td", { class: "actions" }, c.connected ? el("button", { class: "ghost small danger", type: "button", "data-disconnect": c.clientId }, "Disconnect") : null)
          : null,
      ),
    );
  });
  if (u.moreClients > 0) tbody.append(el("tr", {}, el("td", { colspan: admin ? "5" : "4", class: "muted small" }, `… and ${u.moreClients} more clients`)));
  return { tbody, signature: signature(u), live };
}

/**
 * Keyed rendering: a user whose clients didn't change keeps its DOM and only
 * gets its relative times patched, so a second's update with hundreds of
 * rows costs a few text writes rather than a rebuild.
 */
function renderUsers(m: UsersMessage): void {
  const c = m.counts;
  setText(byId("s-users"), count(c.users.any));
  setText(byId("s-users-sub"), `ws ${count(c.users.ws)} · ajax ${count(c.users.ajax)}`);
  setText(byId("s-conns"), count(c.clients.total));
  setText(byId("s-conns-sub"), `ws ${count(c.clients.ws)} · ajax ${count(c.clients.ajax)}`);
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
      u.clients.forEach((cl, i) => {
        const cells = (g as UserGroup).live[i];
        if (!cells) return;
        setText(cells.since, ` · ${ago(cl.connectedAt, now)}`);
        setText(cells.activity, ago(cl.lastActivity, now));
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

function frameRow(f: FrameSample): HTMLTableRowElement {
  const label = f.kind === "reply" ? `↩ ${f.eventId}` : f.count > 1 ? `${f.eventId} ×${f.count}` : f.eventId;
  return el(
    "tr",
    { class: `frame frame-${f.dir} kind-${f.kind}` },
    el("td", { class: "time" }, clockTime(f.at)),
    el("td", {}, el("span", { class: `dir dir-${f.dir}`, title: f.dir === "in" ? "client → server" : "server → client" }, f.dir === "in" ? "in" : "out"), " ", transportBadge(f.transport)),
    el("td", { class: "uid" }, showUid(f.uid)),
    el("td", { title: f.clientId }, el("code", {}, shortId(f.clientId))),
    el("td", { class: "event" }, el("code", {}, label), f.cb && f.dir === "in" ? el("span", { class: "muted small", title: "asks for a reply" }, " ⟲") : null),
    el("td", { class: "num" }, bytes(f.bytes)),
  );
}

function lifecycleRow(e: LifecycleEntry): HTMLTableRowElement {
  const detail = [e.transport, e.code !== undefined ? `code ${e.code}` : undefined, e.reason, e.message].filter(Boolean).join(" · ");
  return el(
    "tr",
    { class: `life life-${e.kind.replace(":", "-")}`, "data-kind": e.kind, "data-uid": e.uid ?? "" },
    el("td", { class: "time" }, clockTime(e.at)),
    el("td", {}, el("span", { class: `badge life-badge` }, e.kind)),
    el("td", { class: "uid" }, showUid(e.uid)),
    el("td", { title: e.clientId ?? "" }, e.clientId ? el("code", {}, shortId(e.clientId)) : "–"),
    el("td", { class: "muted" }, detail),
  );
}

function prependRows(bodyId: string, rows: HTMLTableRowElement[]): void {
  if (rows.length === 0) return;
  const body = byId(bodyId);
  const frag = document.createDocumentFragment();
  // Newest first.
  for (let i = rows.length - 1; i >= 0; i--) frag.append(rows[i] as HTMLTableRowElement);
  body.prepend(frag);
  while (body.childElementCount > MAX_ROWS) body.lastElementChild?.remove();
}

// --- Feed -------------------------------------------------------------------

let source: EventSource | undefined;
let filter = "";

function setFeedState(state: "live" | "waiting", text: string): void {
  const p = byId("feed-pill");
  p.dataset["state"] = state;
  p.textContent = text;
}

function connect(): void {
  source?.close();
  const url = filter ? `/dashboard/events?filter=${encodeURIComponent(filter)}` : "/dashboard/events";
  const es = new EventSource(url);
  source = es;
  es.addEventListener("open", () => setFeedState("live", "live"));
  es.addEventListener("error", () => setFeedState("waiting", "reconnecting"));
  es.addEventListener("hello", (e) => {
    const h = JSON.parse((e as MessageEvent<string>).data) as HelloMessage;
    admin = h.admin;
    actionToken = h.actionToken ?? actionToken;
    historyS = h.historyS;
    history = h.history.slice(-historyS);
    drawChart();
    byId("frames-body").replaceChildren();
    byId("life-body").replaceChildren();
    prependRows("frames-body", h.frames.map(frameRow));
    prependRows("life-body", h.lifecycle.map(lifecycleRow));
    renderStats(h.stats);
    setFeedState("live", "live");
  });
  es.addEventListener("tick", (e) => {
    const t = JSON.parse((e as MessageEvent<string>).data) as TickMessage;
    history.push({ t: t.rate.t, in: t.rate.in, out: t.rate.out });
    if (history.length > historyS) history.splice(0, history.length - historyS);
    drawChart();
    renderTick(t);
    prependRows("frames-body", t.frames.map(frameRow));
    prependRows("life-body", t.lifecycle.map(lifecycleRow));
  });
  es.addEventListener("users", (e) => renderUsers(JSON.parse((e as MessageEvent<string>).data) as UsersMessage));
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

async function act(path: string, body: unknown): Promise<string> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-chsk-dashboard": actionToken ?? "" },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as { error?: string; clients?: number };
  if (!res.ok) throw new Error(answer.error ?? `HTTP ${res.status}`);
  return path.endsWith("push") ? `Pushed to ${answer.clients ?? 0} client(s).` : "Disconnected.";
}

function showResult(text: string, isError = false): void {
  const out = document.getElementById("admin-result");
  if (!out) return;
  out.textContent = text;
  out.classList.toggle("error", isError);
}

byId("users").addEventListener("click", (e) => {
  const target = e.target as HTMLElement;
  const clientId = target.dataset["disconnect"];
  if (clientId !== undefined) {
    target.setAttribute("disabled", "");
    act("/dashboard/api/disconnect", { clientId }).then(showResult, (err: Error) => showResult(err.message, true));
  }
  const uid = target.dataset["pushUid"];
  if (uid !== undefined) {
    const input = document.getElementById("admin-push-uid") as HTMLInputElement | null;
    if (input) {
      input.value = uid;
      (document.getElementById("admin-push-data") as HTMLInputElement | null)?.focus();
    }
  }
});

document.getElementById("admin-push-form")?.addEventListener("submit", (e) => {
  e.preventDefault();
  const uid = byId<HTMLInputElement>("admin-push-uid").value.trim();
  const id = byId<HTMLInputElement>("admin-push-id").value.trim();
  const raw = byId<HTMLInputElement>("admin-push-data").value.trim();
  let data: unknown = null;
  try {
    data = raw === "" ? null : JSON.parse(raw);
  } catch {
    showResult("Data is not valid JSON.", true);
    return;
  }
  act("/dashboard/api/push", { uid, event: [id, data] }).then(showResult, (err: Error) => showResult(err.message, true));
});

connect();
