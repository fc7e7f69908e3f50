/**
 * The demo page (Sente's example project, in TypeScript): log in as a user,
 * watch the connection, send events, see pushes and replies.
 *
 * `?transport=auto|ws|ajax` picks the client type. For the console, the
 * client is `window.chsk`: `chsk.state` ({open, type, uid, …}) and
 * `await chsk.send(["demo/echo", 1], 5000)`.
 */
import { createClient, kw, type Packer, packerByName, type PackerName, writeEdn } from "../../../core/client/index.js";
import type { Client, ClientState, ClientType } from "../../../core/client/types.js";
import type { ChskEvent } from "../../../core/protocol/events.js";
import { describeClientClose } from "./close-text.js";
import { bdi, byId, clockTime, el, readConfig, timeEl } from "./common.js";
import type { DemoConfig } from "./config.js";

/** A value as the server would print it, cut short for the log. */
function showValue(x: unknown, max = 400): string {
  let text: string;
  try {
    text = writeEdn(x);
  } catch {
    text = String(x);
  }
  return text.length > max ? `${text.slice(0, max)} …` : text;
}

/** What the page exposes as `window.chsk`. */
export interface DemoHandle {
  /** A snapshot: `open`, `type` (`auto` until the first handshake), `uid`, … */
  readonly state: {
    open: boolean;
    type: ClientType;
    uid: unknown;
    clientId: string;
    everOpened: boolean;
    lastCloseReason: string | null;
    nextReconnectAt: number | null;
    /** When the page last saw the connection open (ms since epoch). */
    lastOpenedAt: number | null;
    /** The last refusal / transport failure (`CHSK_ERR_BAD_CSRF`, …). */
    lastError: string | null;
  };
  /** Sends `["ns/name", data]` and resolves with the reply (rejects on timeout/close). */
  send(event: ChskEvent, timeoutMs?: number): Promise<unknown>;
  login(uid: string): Promise<void>;
  logout(): Promise<void>;
  reconnect(): void;
  disconnect(): void;
  /** The underlying client (`chsk/client` API). */
  readonly client: Client;
}

declare global {
  interface Window {
    chsk: DemoHandle;
  }
}

type LogKind = "push" | "reply" | "sent" | "state" | "error" | "info";

const config = readConfig<DemoConfig>();
const MAX_LOG = 300;
const REPLY_TIMEOUT_MS = 5000;

const requestedType = ((): ClientType => {
  const t = new URLSearchParams(location.search).get("transport");
  return t === "ws" || t === "ajax" ? t : "auto";
})();

// --- Session (plain HTTP, outside the channel socket) -----------------------

let csrfToken: string | null = null;
let sessionUid: string | null = null;

interface SessionAnswer {
  uid: string | null;
  csrfToken: string;
}

async function postJson(path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

/** `GET /csrf`: the session's token (the server creates an anonymous session if needed). */
async function refreshSession(): Promise<void> {
  const res = await fetch("/csrf", { credentials: "same-origin", cache: "no-store" });
  if (!res.ok) throw new Error(`GET /csrf: HTTP ${res.status}`);
  const s = (await res.json()) as SessionAnswer;
  const changed = s.csrfToken !== csrfToken || s.uid !== sessionUid;
  csrfToken = s.csrfToken;
  sessionUid = s.uid;
  if (changed) renderSession();
}

// --- Log --------------------------------------------------------------------

const logList = byId<HTMLOListElement>("log");
let logTotal = 0;

/** A log line; ids in `title` come as `bdi(…)` nodes, so none can reverse the words around it. */
function log(kind: LogKind, title: string | (string | Node)[], value?: unknown): void {
  const entry = el(
    "li",
    { class: `entry entry-${kind}`, "data-kind": kind },
    timeEl(Date.now()),
    el("span", { class: `tag tag-${kind}` }, kind),
    el("span", { class: "entry-title" }, ...(typeof title === "string" ? [title] : title)),
    value === undefined ? null : el("code", { class: "entry-value" }, bdi(showValue(value))),
  );
  logList.prepend(entry);
  while (logList.childElementCount > MAX_LOG) logList.lastElementChild?.remove();
  logTotal++;
  byId("log-count").textContent = `${logTotal} ${logTotal === 1 ? "entry" : "entries"}`;
}

byId("log-clear").addEventListener("click", () => {
  logList.replaceChildren();
  logTotal = 0;
  byId("log-count").textContent = "";
});

// --- Client -----------------------------------------------------------------

try {
  await refreshSession();
} catch (e) {
  log("error", `could not read the session: ${(e as Error).message}`);
}

/** The server's wire format (`chsk serve --packer`). */
const packer = ((): Packer => {
  try {
    return packerByName(config.packer as PackerName);
  } catch {
    log("error", `the server uses packer "${config.packer}", which this page doesn't know; trying edn`);
    return packerByName("edn");
  }
})();

const client = createClient({
  url: config.chskPath,
  type: requestedType,
  packer,
  // Re-read on every connect, so a login or a refreshed session is picked up.
  csrfToken: () => csrfToken,
});

let lastReconnectLogged: number | undefined;
let lastOpenedAt: number | null = null;
/** Opens this page has seen (the first, then each reconnect). */
let opens = 0;
let lastErrorLogged: number | undefined;

client.on("state", (change) => {
  const s = change.new;
  if (change.opened) {
    lastOpenedAt = Date.now();
    opens++;
    log("state", [`open over ${s.type} as `, bdi(showUid(s.uid)), change.firstOpen ? " (first open)" : ""]);
  } else if (change.closed) {
    log("state", `closed: ${closeText(s)}${s.lastClose ? ` (Sente reason :${s.lastClose.reason})` : ""}`);
  }
  if (s.lastError && s.lastError.udt !== lastErrorLogged && !s.open && s.everOpened) {
    // A failed reconnect attempt while the server is away: expected, and said so.
    lastErrorLogged = s.lastError.udt;
    log("error", `reconnect attempt failed: ${s.lastError.code}${s.lastError.status ? ` (HTTP ${s.lastError.status})` : ""}: ${s.lastError.message}`);
  }
  if (s.lastError && s.lastError.udt !== lastErrorLogged) {
    lastErrorLogged = s.lastError.udt;
    log("error", `${s.lastError.code}${s.lastError.status ? ` (HTTP ${s.lastError.status})` : ""}: ${s.lastError.message}`);
  }
  if (s.udtNextReconnect !== undefined && s.udtNextReconnect !== lastReconnectLogged) {
    lastReconnectLogged = s.udtNextReconnect;
    const inMs = Math.max(0, s.udtNextReconnect - Date.now());
    log("state", `reconnecting in ${(inMs / 1000).toFixed(1)} s (backoff)`);
  }
  if (!s.open && s.everOpened) {
    // The server may have restarted; its session for us may have changed.
    refreshSession().catch(() => {});
  }
  renderState();
});

client.on("recv", (event) => log("push", [bdi(event[0])], event[1]));

let seq = 0;

/** Sends with a reply wanted, logging the request and its outcome. */
async function request(event: ChskEvent, timeoutMs = REPLY_TIMEOUT_MS): Promise<unknown> {
  const n = ++seq;
  log("sent", [`#${n} `, bdi(event[0])], event.length > 1 ? event[1] : undefined);
  try {
    const reply = await client.send(event, timeoutMs);
    log("reply", [`#${n} `, bdi(event[0])], reply);
    return reply;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    log("error", [`#${n} `, bdi(event[0]), `: ${err.code ?? err.message ?? String(e)}`]);
    throw e;
  }
}

const quietly = (p: Promise<unknown>) => void p.catch(() => {});

// --- Rendering --------------------------------------------------------------

function showUid(uid: unknown): string {
  return uid === null || uid === undefined ? "anonymous" : String(uid);
}

/**
 * Why the connection last closed, in words: `server went away (1001)`, not
 * Sente's `:clean`. The WS close event counts only if it ended this close.
 */
function closeText(s: Readonly<ClientState>): string {
  const last = s.lastClose;
  if (!last) return "unknown";
  // Failed reconnect attempts replace lastWsClose later; keep what this close said.
  if (closeMemo?.udt === last.udt) return closeMemo.text;
  const ws = s.lastWsClose;
  const related = ws !== undefined && s.type !== "ajax" && ws.udt === last.udt;
  const text = describeClientClose({ reason: last.reason, transport: s.type, ws: related ? { code: ws.code, reason: ws.reason } : undefined });
  closeMemo = { udt: last.udt, text };
  return text;
}

let closeMemo: { udt: number; text: string } | undefined;

/** `text at <time>`, the time in the pages' one format. */
function withTime(node: HTMLElement, text: string | null, at?: number): void {
  if (text === null || at === undefined) node.replaceChildren("–");
  else node.replaceChildren(`${text} at `, timeEl(at));
}

/**
 * The last error, if it still describes the connection: one from before
 * the last open (a failed attempt while the server was away) is kept, muted
 * and labelled, rather than shown as if the open connection had it.
 */
function renderLastError(s: Readonly<ClientState>): void {
  const node = byId("st-last-error");
  const e = s.lastError;
  const text = e ? `${e.code}${e.status ? ` (HTTP ${e.status})` : ""}` : null;
  if (e === undefined || text === null || lastOpenedAt === null || e.udt > lastOpenedAt) {
    node.dataset["stale"] = "false";
    return withTime(node, text, e?.udt);
  }
  node.dataset["stale"] = "true";
  const when = opens > 1 ? "before the last reconnect" : "before it connected";
  node.replaceChildren("– ", el("span", { class: "muted" }, `(${text} at `, timeEl(e.udt), `, ${when})`));
}

function renderSession(): void {
  byId("session-status").replaceChildren(
    ...(sessionUid === null ? ["Not logged in: the connection belongs to the anonymous group."] : ["Logged in as ", bdi(sessionUid), "."]),
  );
  byId("session-status").classList.toggle("muted", sessionUid === null);
  byId<HTMLButtonElement>("logout-btn").disabled = sessionUid === null;
}

function pill(s: Readonly<ClientState>): [state: string, text: string] {
  if (s.open) return ["open", "open"];
  if (s.lastClose?.reason === "requested-disconnect" && s.udtNextReconnect === undefined) return ["closed", "disconnected"];
  if (s.udtNextReconnect !== undefined) return ["waiting", "reconnecting"];
  return ["waiting", "connecting"];
}

function renderState(): void {
  const s = client.state;
  const [state, text] = pill(s);
  const p = byId("conn-pill");
  p.dataset["state"] = state;
  p.textContent = text;
  byId("st-transport").textContent = s.type === "auto" ? "auto (not yet connected)" : s.type;
  byId("st-requested").textContent = requestedType === "auto" ? "" : `(requested ${requestedType})`;
  byId("st-open").textContent = String(s.open);
  byId("st-uid").replaceChildren(s.everOpened ? bdi(showUid(s.uid)) : "–");
  byId("st-client-id").replaceChildren(bdi(client.clientId));
  const lastClose = byId("st-last-close");
  withTime(lastClose, s.lastClose ? closeText(s) : null, s.lastClose?.udt);
  lastClose.dataset["reason"] = s.lastClose?.reason ?? "";
  renderLastError(s);
  const next = s.udtNextReconnect;
  byId("st-next-reconnect").textContent =
    next === undefined ? "–" : `in ${(Math.max(0, next - Date.now()) / 1000).toFixed(1)} s (${clockTime(next)})`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("a[data-transport]")) {
    a.toggleAttribute("aria-current", a.dataset["transport"] === requestedType);
  }
}

// Keep the reconnect countdown moving.
setInterval(() => {
  if (client.state.udtNextReconnect !== undefined) renderState();
}, 250);

// --- Session actions --------------------------------------------------------

async function login(uid: string): Promise<void> {
  const res = await postJson("/login", { uid });
  if (!res.ok) throw new Error(`POST /login: HTTP ${res.status} ${await res.text()}`);
  const s = (await res.json()) as SessionAnswer;
  csrfToken = s.csrfToken;
  sessionUid = s.uid;
  renderSession();
  log("info", ["logged in as ", bdi(String(s.uid)), "; reconnecting to pick up the new user id"]);
  // Sente's advice: after a login over HTTP, reconnect so the handshake carries the new uid.
  client.reconnect();
}

async function logout(): Promise<void> {
  const res = await postJson("/logout");
  if (!res.ok) throw new Error(`POST /logout: HTTP ${res.status}`);
  sessionUid = null;
  await refreshSession();
  renderSession();
  log("info", "logged out; reconnecting as anonymous");
  client.reconnect();
}

byId<HTMLFormElement>("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const uid = byId<HTMLInputElement>("login-uid").value.trim();
  if (uid === "") return;
  login(uid).catch((err: Error) => log("error", err.message));
});

byId("logout-btn").addEventListener("click", () => {
  logout().catch((err: Error) => log("error", err.message));
});

byId("reconnect-btn").addEventListener("click", () => {
  log("info", "reconnect requested");
  client.reconnect();
});

byId("disconnect-btn").addEventListener("click", () => {
  log("info", "disconnect requested");
  client.disconnect();
});

// --- Send forms -------------------------------------------------------------

/** `[:demo/msg {:text … :from …}]`, with a keyword id as a Clojure peer would send it. */
const messageFrom = (text: string) => [packer.keywordsAsStrings ? "demo/msg" : kw("demo/msg"), { text, from: showUid(client.state.uid) }];

byId<HTMLFormElement>("echo-form").addEventListener("submit", (e) => {
  e.preventDefault();
  quietly(request(["demo/echo", byId<HTMLInputElement>("echo-text").value]));
});

byId<HTMLFormElement>("push-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const uid = byId<HTMLInputElement>("push-uid").value.trim();
  const text = byId<HTMLInputElement>("push-text").value;
  quietly(request(["demo/push", { uid, event: messageFrom(text) }]));
});

byId<HTMLFormElement>("broadcast-form").addEventListener("submit", (e) => {
  e.preventDefault();
  quietly(request(["demo/broadcast", messageFrom(byId<HTMLInputElement>("broadcast-text").value)]));
});

byId("whoami-btn").addEventListener("click", () => quietly(request(["demo/whoami"])));

// --- Console handle ---------------------------------------------------------

window.chsk = {
  get state() {
    const s = client.state;
    return {
      open: s.open,
      type: s.type,
      uid: s.uid,
      clientId: client.clientId,
      everOpened: s.everOpened,
      lastCloseReason: s.lastClose?.reason ?? null,
      nextReconnectAt: s.udtNextReconnect ?? null,
      lastOpenedAt,
      lastError: s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : null,
    };
  },
  send: (event, timeoutMs = REPLY_TIMEOUT_MS) => request(event, timeoutMs),
  login,
  logout,
  reconnect: () => client.reconnect(),
  disconnect: () => client.disconnect(),
  client,
};

renderSession();
renderState();
log("info", ["client ", bdi(client.clientId), ` created (type ${requestedType})`]);
