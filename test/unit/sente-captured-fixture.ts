/**
 * The real-Sente captures (`fixtures/sente-1.22/exchanges.json`, written by
 * `scripts/extract-sente-frames.mjs` from captured-frames.md): types, the
 * loader, and the bytes of a captured payload.
 */
import { readFileSync } from "node:fs";
import type { MessageContext, ServerMessage } from "../../src/core/protocol/codec.js";

export interface Payload {
  /** Exact UTF-8 text. */
  text?: string;
  /** Exact bytes, lower-case hex; `null` when the capture shows only the reading. */
  hex?: string | null;
  /** How the capture tool read the bytes (EDN notation). */
  reads?: string;
  note?: string;
  derived?: string;
}

export interface Frame {
  /** 1 text, 2 binary. */
  opcode: number;
  /** The server frame's first two header bytes, hex (`8129`). */
  frameHeader?: string;
  payload: Payload;
}

export interface HttpRequest {
  method: "GET" | "POST";
  /** Path and query; `{{csrf}}` stands for the actor's CSRF token. */
  target: string;
  /** In capture order; `Cookie: ring-session={{session}}` stands for the actor's session cookie. */
  headers: [string, string][];
  body: Payload | null;
}

export interface HttpResponse {
  status: number;
  reason: string;
  /** The Jetty adapter's headers (minus Date / Set-Cookie): not Sente's. */
  headers: [string, string][];
  body: Payload | null;
  setsSessionCookie?: boolean;
}

export interface Timing {
  afterMs: number;
  note: string;
  /** `lp-timeout`: Sente's `:lp-timeout-ms`; `ws-kalive`: half its `:ws-kalive-ms`; `push`: a push batch. */
  cause: "lp-timeout" | "ws-kalive" | "push";
}

export type Step =
  | { type: "ws-connect"; actor: string; request: HttpRequest; response: HttpResponse }
  | {
      type: "http";
      actor: string;
      request: HttpRequest;
      response: HttpResponse;
      /** The request was held open until this happened. */
      heldUntil?: "push" | "lp-timeout";
      answeredAfter?: Timing;
      note?: string;
    }
  | { type: "send"; actor: string; frames: Frame[]; oneWrite?: boolean; caption: string }
  | ({ type: "recv"; actor: string; first?: boolean; afterIdle?: Timing; caption?: string } & Frame)
  | { type: "silence"; actor: string; note: string };

export interface Actor {
  /** Whose session (`anonymous`: GET /csrf; null: no session at all). */
  session: string | null;
  transport: "ws" | "ajax" | "http";
}

export interface Exchange {
  /** `<section>/<name>`, e.g. `2/ws-reply`, `12.5/post-whoami`. */
  id: string;
  section: string;
  title: string;
  /** Sente's packer: edn, transit, msgpack, gzip+edn, gzip+msgpack. */
  packer: string;
  /** The peer's flags for this section (`--ws-kalive-ms 2000`, `--allowed-origins …`). */
  serverFlags: string[];
  actors: Record<string, Actor>;
  steps: Step[];
  notes?: string[];
}

export interface CapturedFixture {
  source: { file: string; sha256: string };
  provenance: { sente: string; senteCommit: string; captureDefaults: Record<string, unknown> } & Record<string, unknown>;
  sessions: Record<string, { uid: string | null; how: string }>;
  actors: Record<string, Actor>;
  exchanges: Exchange[];
}

export const FIXTURE_PATH = new URL("../../fixtures/sente-1.22/exchanges.json", import.meta.url);

let cached: CapturedFixture | undefined;

export function loadCaptured(): CapturedFixture {
  return (cached ??= JSON.parse(readFileSync(FIXTURE_PATH, "utf8")) as CapturedFixture);
}

/** The exchange with this id; throws if the fixture has none (a renamed capture must fail, not skip). */
export function exchange(id: string): Exchange {
  const ex = loadCaptured().exchanges.find((e) => e.id === id);
  if (ex === undefined) throw new Error(`no captured exchange ${id}`);
  return ex;
}

/** The exact bytes of a payload. */
export function bytesOf(p: Payload): Buffer {
  if (p.text !== undefined) return Buffer.from(p.text, "utf8");
  if (typeof p.hex === "string") return Buffer.from(p.hex, "hex");
  throw new Error(`payload has no bytes in the capture (only its reading: ${p.reads ?? "?"})`);
}

/** The payload as a packer takes it: text for text frames, bytes for binary ones. */
export function wireOf(p: Payload): string | Uint8Array {
  return p.text !== undefined ? p.text : new Uint8Array(bytesOf(p));
}

/** Every step of type `T` in the fixture, with its exchange. */
export function stepsOf<T extends Step["type"]>(type: T): { ex: Exchange; step: Extract<Step, { type: T }>; index: number }[] {
  const out: { ex: Exchange; step: Extract<Step, { type: T }>; index: number }[] = [];
  for (const ex of loadCaptured().exchanges) {
    ex.steps.forEach((s, index) => {
      if (s.type === type) out.push({ ex, step: s as Extract<Step, { type: T }>, index });
    });
  }
  return out;
}

/** A request header's captured value. */
export function headerOf(headers: [string, string][], name: string): string | undefined {
  return headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

export interface ServerPayload {
  ex: Exchange;
  step: number;
  context: MessageContext;
  payload: Payload;
}

/**
 * Every payload the captured server sent on the chsk path with a 200 (or as
 * a WS frame), with its context: WS frames → `ws`, GET bodies → `poll`
 * (handshakes included), POST bodies → `post`. Refusals and the login are
 * HTTP answers, not Sente messages.
 */
export function serverPayloads(filter: (ex: Exchange) => boolean): ServerPayload[] {
  const out: ServerPayload[] = [];
  for (const ex of loadCaptured().exchanges.filter(filter)) {
    ex.steps.forEach((s, step) => {
      if (s.type === "recv") out.push({ ex, step, context: "ws", payload: s.payload });
      else if (s.type === "http" && s.response.status === 200 && s.request.target.startsWith("/chsk") && s.response.body !== null) {
        out.push({ ex, step, context: s.request.method === "GET" ? "poll" : "post", payload: s.response.body });
      }
    });
  }
  return out;
}

/** What each exchange's server payloads are, in order, by exchange name (same names in every section). */
export const KINDS: Record<string, ServerMessage["kind"][]> = {
  login: [],
  "ws-handshake": ["handshake"],
  "ws-reply": ["reply"],
  "ws-reply-key-cache": ["reply"],
  "ws-reply-types": ["reply"],
  "ws-reply-gzip": ["reply"],
  "ws-client-ping": ["reply"],
  "ws-no-cb": ["reply"],
  "ws-legacy-plus": [],
  "ws-u64": [],
  "ws-text-frame": [],
  "push-batch": ["push", "push"],
  "ajax-handshake": ["handshake"],
  "ajax-handshake-anonymous": ["handshake"],
  "ajax-poll-timeout": ["timeout"],
  "post-reply": ["value"],
  "post-reply-cb-0": ["value"],
  "post-reply-int64": ["value"],
  "post-reply-padded": ["value"],
  "post-no-cb": ["accepted"],
  "post-whoami": ["value"],
  "post-never-answered": ["timeout"],
  "post-text-form": [],
  "bad-csrf-ws": [],
  "bad-csrf-post": [],
  "bad-csrf-no-session": [],
  "missing-client-id-ajax": [],
  "missing-client-id-ws": [],
  "server-ping": ["ping"],
  "bad-origin-ws": [],
};

export const nameOf = (ex: Exchange): string => ex.id.slice(ex.id.indexOf("/") + 1);
