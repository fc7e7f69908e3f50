import { Keyword, List } from "../edn/values.js";
import { ChskError } from "./errors.js";

/**
 * An event as the TypeScript API sees it: `["ns/name", data]`. On the wire
 * the id is the keyword `:ns/name` (a string with the JSON packer).
 */
export type ChskEvent<Id extends string = string, Data = unknown> = readonly [id: Id, data?: Data];

/** Why a value is not an event: Sente's `validate-event` answers. */
export type EventProblem = "wrong-type" | "wrong-length" | "wrong-id-type" | "unnamespaced-id";

/** Reserved ids, as TS strings. */
export const Reserved = {
  handshake: "chsk/handshake",
  state: "chsk/state",
  recv: "chsk/recv",
  wsPing: "chsk/ws-ping",
  wsPong: "chsk/ws-pong",
  uidportOpen: "chsk/uidport-open",
  uidportClose: "chsk/uidport-close",
  badEvent: "chsk/bad-event",
  badPackage: "chsk/bad-package",
  close: "chsk/close",
  timeout: "chsk/timeout",
  closed: "chsk/closed",
  error: "chsk/error",
  dummyCb200: "chsk/dummy-cb-200",
} as const;

/** The id of an event-like value as a string, whether it is a Keyword or a string. */
export function idString(id: unknown): string | undefined {
  if (id instanceof Keyword) return id.fqn;
  if (typeof id === "string") return id;
  return undefined;
}

/**
 * Sente's `validate-event`. `acceptStringIds` is for the local TS API and
 * keyword-less packers, where ids are strings; on the EDN/transit wire an id
 * must be a keyword.
 */
export function validateEvent(x: unknown, acceptStringIds = true): EventProblem | null {
  // An EDN list `(:my/ev 1)` is not a vector, so Sente rejects it too.
  if (!Array.isArray(x) || x instanceof List) return "wrong-type";
  if (x.length !== 1 && x.length !== 2) return "wrong-length";
  const id = x[0];
  let fqn: string;
  if (id instanceof Keyword) fqn = id.fqn;
  else if (acceptStringIds && typeof id === "string") fqn = id;
  else return "wrong-id-type";
  const slash = fqn.indexOf("/");
  if (slash <= 0 || slash === fqn.length - 1) return "unnamespaced-id";
  return null;
}

/** Sente's `assert-event`, for events about to be sent locally. */
export function assertEvent(x: unknown): asserts x is ChskEvent {
  const problem = validateEvent(x);
  if (problem !== null) {
    throw new ChskError("CHSK_ERR_BAD_EVENT", `Invalid event (${problem}): expected ["ns/name", data?]`, {
      detail: { problem },
    });
  }
}

/**
 * Sente's `as-event`, for events received from a peer: a valid event comes
 * back with a string id; anything else becomes `["chsk/bad-event", x]`.
 */
export function asEvent(x: unknown, acceptStringIds = false): ChskEvent {
  if (validateEvent(x, acceptStringIds) !== null) return [Reserved.badEvent, x];
  const arr = x as unknown[];
  const id = idString(arr[0]) as string;
  return arr.length === 1 ? [id] : [id, arr[1]];
}

/** The namespace part of an event id (`"my"` for `"my/ev"`). */
export const eventNs = (id: string): string => id.slice(0, Math.max(0, id.indexOf("/")));
