/**
 * The lines of the inspector endpoint's stream (`mountInspector`): one
 * JSON object per line, `\n`-terminated (JSONL, `application/x-ndjson`).
 *
 * | `type`      | when                                   | fields beyond `type`, `at` (ms since epoch) |
 * |-------------|----------------------------------------|--------------------------------------------|
 * | `hello`     | first line                             | `version` (1), `packer`, `path` (the channel path), `clients` (how many `open` lines of the snapshot follow) |
 * | `open`      | the snapshot (`snapshot: true`), then each new connection | `transport`, `connId`, `clientId`, `uid`; snapshot lines add `connected`, `connectedAt` |
 * | `frame`     | every frame in or out                  | `dir`, `transport`, `channel`, `connId`, `clientId`, `uid`, `data`; `binary: true` when `data` is base64; `handshake`, `status` on Ajax answers |
 * | `close`     | a connection ended                     | `transport`, `connId`, `clientId`, `uid`, `code?`, `reason?` |
 * | `refused`   | a request refused                      | `transport`, `connId`, `clientId?`, `uid?`, `status`, `body`, `code`, `message?` (a failing hook's error) |
 * | `error`     | an error a peer caused                 | `code`, `message`, `clientId?`, `uid?` |
 * | `heartbeat` | every `heartbeatMs` without traffic     | nothing more |
 *
 * `open`, `frame`, `close` and `refused` are the inspector's `WireEvent`s
 * (`chsk/core`), `uid` written as EDN text (`"alice"`, `:sente/nil-uid`).
 * Readers ignore types and fields they don't know: later versions may add some.
 */
import { writeEdn } from "../../core/edn/writer.js";
import type { WireEvent } from "../../core/inspect/types.js";
import { NIL_UID } from "../../core/protocol/codec.js";
import type { ServerTapEvent, Uid } from "../types.js";

/** The stream's format version, in its `hello` line. */
export const INSPECTOR_STREAM_VERSION = 1;

export interface InspectorHello {
  type: "hello";
  version: typeof INSPECTOR_STREAM_VERSION;
  at: number;
  /** The server's packer (`edn`, `transit`, `json`, `msgpack`, `gzip+…`): how to read the frames. */
  packer: string;
  /** The channel path (`/chsk`). */
  path: string;
  /** How many snapshot `open` lines follow. */
  clients: number;
}

type WireOpen = Extract<WireEvent, { type: "open" }>;

/** A connection the server had before the subscriber came (`snapshot: true`), or a new one. */
export type InspectorOpen = WireOpen & { snapshot?: true; connected?: boolean; connectedAt?: number };

export type InspectorRefused = Extract<WireEvent, { type: "refused" }> & { uid?: string; message?: string };

export interface InspectorError {
  type: "error";
  at: number;
  code: string;
  message: string;
  clientId?: string;
  uid?: string;
}

export interface InspectorHeartbeat {
  type: "heartbeat";
  at: number;
}

/** One line of the stream, as {@link parseInspectorLine} gives it back (binary `data` as bytes). */
export type InspectorLine =
  | InspectorHello
  | InspectorOpen
  | Extract<WireEvent, { type: "frame" | "close" }>
  | InspectorRefused
  | InspectorError
  | InspectorHeartbeat;

const NIL_UID_TEXT = `:${NIL_UID}`;

/** A uid as EDN text: `"alice"`, `42`, `:sente/nil-uid`. */
export const uidText = (uid: Uid): string => (uid === null ? NIL_UID_TEXT : writeEdn(uid));

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

const MAX_MESSAGE = 500;

/**
 * A tap event as one stream line (JSON text, no newline), or null for the
 * events the stream leaves out (`uidport:*`, `reply`: the reader pairs
 * calls and replies itself).
 */
export function tapLine(ev: ServerTapEvent): string | null {
  switch (ev.type) {
    case "frame:in":
    case "frame:out": {
      const bin = typeof ev.data !== "string";
      const line: Record<string, unknown> = {
        type: "frame",
        at: ev.at,
        dir: ev.type === "frame:in" ? "c2s" : "s2c",
        transport: ev.transport,
        channel: ev.channel,
        connId: ev.connId,
        clientId: ev.clientId,
        uid: uidText(ev.uid),
        data: bin ? base64(ev.data as Uint8Array) : ev.data,
      };
      if (bin) line["binary"] = true;
      if (ev.type === "frame:out") {
        if (ev.handshake) line["handshake"] = true;
        if (ev.status !== undefined) line["status"] = ev.status;
      }
      return JSON.stringify(line);
    }
    case "conn:open":
      return JSON.stringify({ type: "open", at: ev.at, transport: ev.transport, connId: ev.connId, clientId: ev.clientId, uid: uidText(ev.uid) });
    case "conn:close": {
      const line: Record<string, unknown> = { type: "close", at: ev.at, transport: ev.transport, connId: ev.connId, clientId: ev.clientId, uid: uidText(ev.uid) };
      if (ev.code !== undefined) line["code"] = ev.code;
      if (ev.reason !== undefined) line["reason"] = ev.reason;
      return JSON.stringify(line);
    }
    case "refused": {
      const line: Record<string, unknown> = { type: "refused", at: ev.at, transport: ev.transport, connId: ev.connId };
      if (ev.clientId !== undefined) line["clientId"] = ev.clientId;
      if (ev.uid !== undefined) line["uid"] = uidText(ev.uid);
      line["status"] = ev.status;
      line["body"] = ev.body;
      line["code"] = ev.code;
      if (ev.cause !== undefined) line["message"] = messageOf(ev.cause);
      return JSON.stringify(line);
    }
    case "error": {
      const line: Record<string, unknown> = { type: "error", at: ev.at, code: ev.error.code, message: messageOf(ev.error) };
      if (ev.clientId !== undefined && ev.clientId !== "") line["clientId"] = ev.clientId;
      if (ev.uid !== undefined) line["uid"] = uidText(ev.uid);
      return JSON.stringify(line);
    }
    default:
      return null;
  }
}

function messageOf(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return m.length > MAX_MESSAGE ? `${m.slice(0, MAX_MESSAGE)}…` : m;
}

/**
 * Reads one line of the stream: the object, with a `binary` frame's
 * `data` decoded back to bytes; null for a blank line or one that is not a
 * JSON object with a string `type` (a reader skips it).
 */
export function parseInspectorLine(text: string): InspectorLine | null {
  if (text.trim() === "") return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v) || typeof (v as { type?: unknown }).type !== "string") return null;
  const line = v as Record<string, unknown>;
  if (line["type"] === "frame" && line["binary"] === true && typeof line["data"] === "string") {
    line["data"] = new Uint8Array(Buffer.from(line["data"], "base64"));
    delete line["binary"];
  }
  return line as unknown as InspectorLine;
}
