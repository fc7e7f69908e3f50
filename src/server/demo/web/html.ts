/**
 * The two HTML documents. They are static shells: the page scripts
 * (`pages/*.ts`) fill them in. Settings reach the scripts as a JSON block
 * (`#chsk-config`), which keeps the CSP free of inline scripts.
 */

/** Settings a page script reads from `#chsk-config`. */
export interface PageConfig {
  /** The chsk endpoint path (`/chsk`). */
  chskPath: string;
  packer: string;
  csrf: boolean;
  admin: boolean;
  /** Admin pages only: echoed in `X-Chsk-Dashboard` on actions. */
  actionToken?: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** JSON safe inside `<script>`: no `</script>`, no `<!--`. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, "\\u003c");

function shell(opts: { title: string; page: "demo" | "dashboard"; version: string; config: PageConfig; body: string }): string {
  const v = encodeURIComponent(opts.version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(opts.title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/${opts.page}-style.css?v=${v}">
${opts.page === "demo" ? `<link rel="modulepreload" href="/chsk-client.js?v=${v}">\n` : ""}<script type="application/json" id="chsk-config">${scriptJson(opts.config)}</script>
<script type="module" src="/assets/${opts.page}.js?v=${v}"></script>
</head>
<body data-page="${opts.page}">
<header class="topbar">
  <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>chsk</a>
  <nav class="tabs">
    <a href="/"${opts.page === "demo" ? ' aria-current="page"' : ""}>Demo</a>
    <a href="/dashboard"${opts.page === "dashboard" ? ' aria-current="page"' : ""}>Dashboard</a>
  </nav>
  <span class="topbar-meta">packer <code>${escapeHtml(opts.config.packer)}</code> · CSRF ${opts.config.csrf ? "on" : "off"}</span>
</header>
${opts.body}
</body>
</html>
`;
}

export function demoPage(version: string, config: PageConfig): string {
  const body = `<main class="demo">
  <section class="card" id="session-card" aria-labelledby="session-h">
    <h2 id="session-h">Session</h2>
    <p class="muted" id="session-status">Checking session…</p>
    <form id="login-form" class="row" autocomplete="off">
      <label class="grow"><span class="label">User id</span>
        <input id="login-uid" name="uid" placeholder="alice" required maxlength="256" spellcheck="false"></label>
      <button type="submit" class="primary" id="login-btn">Log in</button>
      <button type="button" id="logout-btn">Log out</button>
    </form>
  </section>

  <section class="card" id="conn-card" aria-labelledby="conn-h">
    <h2 id="conn-h">Connection <span class="pill" id="conn-pill" data-state="connecting">connecting</span></h2>
    <dl class="kv">
      <dt>Transport</dt><dd><span id="st-transport">–</span> <span class="muted" id="st-requested"></span></dd>
      <dt>Open</dt><dd id="st-open">false</dd>
      <dt>User id</dt><dd id="st-uid">–</dd>
      <dt>Client id</dt><dd><code id="st-client-id">–</code></dd>
      <dt>Last close</dt><dd id="st-last-close">–</dd>
      <dt>Next reconnect</dt><dd id="st-next-reconnect">–</dd>
      <dt>Last error</dt><dd id="st-last-error">–</dd>
    </dl>
    <div class="row">
      <button type="button" id="reconnect-btn">Reconnect</button>
      <button type="button" id="disconnect-btn">Disconnect</button>
      <span class="grow"></span>
      <span class="muted small">Client type:
        <a href="?transport=auto" data-transport="auto">auto</a> ·
        <a href="?transport=ws" data-transport="ws">ws</a> ·
        <a href="?transport=ajax" data-transport="ajax">ajax</a></span>
    </div>
  </section>

  <section class="card" id="actions-card" aria-labelledby="actions-h">
    <h2 id="actions-h">Send</h2>
    <form id="echo-form" class="row">
      <label class="grow"><span class="label">Echo <code>[:demo/echo x]</code></span>
        <input id="echo-text" name="text" placeholder="hello" value="hello"></label>
      <button type="submit">Echo</button>
    </form>
    <form id="push-form" class="row">
      <label><span class="label">Push to user</span>
        <input id="push-uid" name="uid" placeholder="alice" required spellcheck="false"></label>
      <label class="grow"><span class="label">Message <code>[:demo/msg {:text …}]</code></span>
        <input id="push-text" name="text" placeholder="hi there" required></label>
      <button type="submit">Push</button>
    </form>
    <form id="broadcast-form" class="row">
      <label class="grow"><span class="label">Broadcast to everyone</span>
        <input id="broadcast-text" name="text" placeholder="hello, all" required></label>
      <button type="submit">Broadcast</button>
    </form>
    <div class="row">
      <button type="button" id="whoami-btn">Who am I?</button>
      <span class="muted small">Replies time out after 5 s. In the console: <code>await chsk.send(["demo/echo", 1], 5000)</code></span>
    </div>
  </section>

  <section class="card log-card" aria-labelledby="log-h">
    <h2 id="log-h">Event log <span class="muted small" id="log-count"></span>
      <button type="button" class="ghost small" id="log-clear">Clear</button></h2>
    <ol class="log" id="log" aria-live="polite"></ol>
  </section>
</main>`;
  return shell({ title: "chsk demo", page: "demo", version, config, body });
}

export function dashboardPage(version: string, config: PageConfig): string {
  const admin = config.admin;
  const body = `<main class="dash">
  <div class="dash-head">
    <h1>Dashboard</h1>
    <span class="pill" id="mode-pill" data-state="${admin ? "admin" : "readonly"}">${admin ? "admin" : "read-only"}</span>
    <span class="pill" id="feed-pill" data-state="connecting">connecting</span>
    <span class="grow"></span>
    <span class="muted small" id="server-meta"></span>
  </div>

  <section class="stats" aria-label="Summary">
    <div class="stat"><span class="stat-label">Users</span><span class="stat-value" id="s-users">0</span><span class="stat-sub" id="s-users-sub">ws 0 · ajax 0</span></div>
    <div class="stat"><span class="stat-label">Connections</span><span class="stat-value" id="s-conns">0</span><span class="stat-sub" id="s-conns-sub">ws 0 · ajax 0</span></div>
    <div class="stat"><span class="stat-label">Frames in / out</span><span class="stat-value" id="s-rate">0 / 0</span><span class="stat-sub" id="s-rate-sub">per second</span></div>
    <div class="stat"><span class="stat-label">Reply latency</span><span class="stat-value" id="s-latency">–</span><span class="stat-sub" id="s-latency-sub">p50 / p99, last minute</span></div>
    <div class="stat"><span class="stat-label">Uptime</span><span class="stat-value" id="s-uptime">–</span><span class="stat-sub" id="s-uptime-sub"></span></div>
    <div class="stat"><span class="stat-label">Memory</span><span class="stat-value" id="s-memory">–</span><span class="stat-sub" id="s-memory-sub">RSS</span></div>
  </section>

  <section class="card chart-card" aria-labelledby="chart-h">
    <h2 id="chart-h">Frames per second</h2>
    <div id="chart" class="chart"></div>
  </section>

  <section class="card users-card" aria-labelledby="users-h">
    <h2 id="users-h">Connected users <span class="muted small" id="users-count"></span></h2>
    <div class="row">
      <input id="users-filter" type="search" placeholder="Filter by user or client id" spellcheck="false" aria-label="Filter users">
    </div>
    <div class="table-wrap">
      <table class="users" id="users">
        <thead id="users-head"><tr><th>User</th><th>Client id</th><th>Transport</th><th>Connected since</th><th>Last activity</th>${admin ? "<th></th>" : ""}</tr></thead>
      </table>
      <p class="empty-note muted" id="users-empty">No one is connected.</p>
    </div>
  </section>

  ${
    admin
      ? `<section class="card admin-card" aria-labelledby="admin-h">
    <h2 id="admin-h">Push to a user</h2>
    <form id="admin-push-form" class="row">
      <label><span class="label">User id</span><input id="admin-push-uid" required spellcheck="false" placeholder="alice"></label>
      <label><span class="label">Event id</span><input id="admin-push-id" required spellcheck="false" value="demo/msg"></label>
      <label class="grow"><span class="label">Data (JSON)</span><input id="admin-push-data" spellcheck="false" value='{"text": "hello from the dashboard"}'></label>
      <button type="submit" class="primary">Push</button>
    </form>
    <p class="muted small" id="admin-result"></p>
  </section>`
      : `<p class="muted small readonly-note">Read-only. Start the server with <code>--dashboard-admin</code> to push to users and disconnect clients from here.</p>`
  }

  <div class="logs">
    <section class="card" aria-labelledby="frames-h">
      <h2 id="frames-h">Frames <span class="muted small" id="frames-note"></span></h2>
      <div class="table-wrap log-wrap">
        <table class="frames"><thead><tr><th>Time</th><th></th><th>User</th><th>Client</th><th>Event</th><th class="num">Bytes</th></tr></thead>
        <tbody id="frames-body"></tbody></table>
      </div>
    </section>
    <section class="card" aria-labelledby="life-h">
      <h2 id="life-h">Connections and uidports</h2>
      <div class="table-wrap log-wrap">
        <table class="lifecycle"><thead><tr><th>Time</th><th>Event</th><th>User</th><th>Client</th><th>Detail</th></tr></thead>
        <tbody id="life-body"></tbody></table>
      </div>
    </section>
  </div>
</main>`;
  return shell({ title: "chsk dashboard", page: "dashboard", version, config, body });
}

/** Shown instead of a page when the browser files are missing. */
export function missingAssetsPage(problem: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>chsk</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>chsk: the browser files are not built</h1><p>${escapeHtml(problem)}.</p></body></html>
`;
}
