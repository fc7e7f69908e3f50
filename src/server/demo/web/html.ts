/**
 * The demo page document: a static shell that `pages/demo.ts` fills in.
 */
import type { DemoConfig } from "../../web/pages/config.js";
import { shell } from "../../web/shell.js";

export function demoPage(version: string, config: DemoConfig): string {
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
  return shell({
    title: "chsk demo",
    page: "demo",
    base: "",
    version,
    config,
    home: "/",
    nav: [
      { href: "/", label: "Demo", current: true },
      { href: "/dashboard", label: "Dashboard" },
    ],
    meta: `packer ${config.packer} · CSRF ${config.csrf ? "on" : "off"}`,
    modulepreload: "/chsk-client.js",
    body,
  });
}
