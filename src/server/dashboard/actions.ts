/**
 * The dashboard's admin actions, `POST <path>/api/push` and
 * `POST <path>/api/disconnect`. Three gates, all required:
 *
 * 1. the app's `auth(req)` answers `"admin"` for this very request;
 * 2. the request is same-origin (`Origin` host = `Host`, and
 *    `Sec-Fetch-Site: same-origin` when the browser sends it). This stops
 *    cross-site forms and scripts, not DNS rebinding: there both headers
 *    carry the attacker's name and the browser calls it same-origin, so
 *    gate 1 must not rest on the peer address alone (see
 *    `DashboardOptions.auth`; `chsk serve` checks `Host` on loopback);
 * 3. it carries the dashboard's action token in `X-Chsk-Dashboard` and a
 *    JSON body. Only an admin page holds the token, and a cross-site form
 *    can neither set the header nor send JSON without a preflight.
 *
 * A push names its event in EDN, as everything else in chsk does:
 * `{"uid": "alice", "event": "[:demo/msg {:text \"hi\"}]"}`, read with the
 * core EDN reader. Errors answer `{error, field?}` so the page can show
 * them next to the field at fault.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readEdn } from "../../core/edn/index.js";
import { asEvent, type ChskEvent, type EventProblem, validateEvent } from "../../core/protocol/events.js";
import type { ChskServer, Uid } from "../types.js";
import { BodyTooLarge, readBody, sendJson } from "../demo/http.js";

const MAX_ACTION_BYTES = 64 * 1024;

/** What the actions log; structurally the reference server's logger. */
export interface DashboardLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface ActionContext {
  chsk: Pick<ChskServer, "clients" | "closeClient"> & Partial<Pick<ChskServer, "cluster">>;
  push: (uid: Uid, event: ChskEvent) => void;
  actionToken: string;
  log: DashboardLogger;
}

/** Same origin, the page's token, a JSON body: `null`, or why not. */
export function actionRefusal(req: IncomingMessage, actionToken: string): string | null {
  let originHost: string | undefined;
  try {
    originHost = req.headers.origin === undefined ? undefined : new URL(req.headers.origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost === undefined || originHost !== req.headers.host) return "cross-origin request refused";
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") return "cross-site request refused";
  const given = Buffer.from(String(req.headers["x-chsk-dashboard"] ?? ""));
  const expected = Buffer.from(actionToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "missing or wrong X-Chsk-Dashboard token";
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return "expected a JSON body";
  return null;
}

const PROBLEM_TEXT: Record<EventProblem, string> = {
  "wrong-type": "an event is a vector: [:ns/name data]",
  "wrong-length": "an event has one or two items: [:ns/name] or [:ns/name data]",
  "wrong-id-type": "the event id must be a keyword, like :demo/msg",
  "unnamespaced-id": "the event id needs a namespace, like :demo/msg",
};

/** An event typed as EDN (`[:demo/msg {:text "hi"}]`), or what is wrong with it. */
export function readEventEdn(text: string): { ok: true; event: ChskEvent } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: false, error: "type an event, like [:demo/msg {:text \"hi\"}]" };
  const r = readEdn(text);
  if (!r.ok) return { ok: false, error: r.error.message };
  // Keyword ids only, as on Sente's EDN wire.
  const problem = validateEvent(r.value, false);
  if (problem !== null) return { ok: false, error: PROBLEM_TEXT[problem] };
  const event = asEvent(r.value, false);
  if (event[0].startsWith("chsk/")) return { ok: false, error: "the :chsk namespace is reserved for the protocol" };
  return { ok: true, event };
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = JSON.parse(await readBody(req, MAX_ACTION_BYTES));
    if (body !== null && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
    sendJson(res, 400, { error: "the body must be a JSON object" });
  } catch (e) {
    if (e instanceof BodyTooLarge) sendJson(res, 413, { error: "body too large" });
    else sendJson(res, 400, { error: "body is not JSON" });
  }
  return undefined;
}

export async function pushAction(req: IncomingMessage, res: ServerResponse, ctx: ActionContext): Promise<void> {
  const fields = await readJson(req, res);
  if (fields === undefined) return;
  const uid = fields["uid"];
  if (uid !== null && (typeof uid !== "string" || uid === "")) {
    return sendJson(res, 400, { error: "the user id must be a non-empty string (or null for the anonymous group)", field: "uid" });
  }
  const text = fields["event"];
  if (typeof text !== "string") return sendJson(res, 400, { error: 'event must be EDN text, like "[:demo/msg {:text \\"hi\\"}]"', field: "event" });
  const read = readEventEdn(text);
  if (!read.ok) return sendJson(res, 400, { error: read.error, field: "event" });
  // This node's clients; a cluster node's push also reaches the user's clients on the others, which it can't count.
  const clients = ctx.chsk.clients().filter((c) => c.uid === uid).length;
  const clustered = (ctx.chsk.cluster ?? null) !== null;
  ctx.push(uid, read.event);
  ctx.log.info("dashboard push", { uid, event: read.event[0], clients });
  sendJson(res, 200, clustered ? { ok: true, clients, cluster: true } : { ok: true, clients });
}

export async function disconnectAction(req: IncomingMessage, res: ServerResponse, ctx: ActionContext): Promise<void> {
  const fields = await readJson(req, res);
  if (fields === undefined) return;
  const clientId = fields["clientId"];
  if (typeof clientId !== "string" || clientId === "") return sendJson(res, 400, { error: "clientId must be a non-empty string" });
  if (!ctx.chsk.clients().some((c) => c.clientId === clientId)) return sendJson(res, 404, { error: `no client ${clientId}` });
  ctx.chsk.closeClient(clientId);
  ctx.log.info("dashboard disconnect", { client: clientId });
  sendJson(res, 200, { ok: true });
}
