/**
 * The servers the bench compares and the devices that drive each: raw `ws`
 * and socket.io through lean adapters (`bench/clients/*.ts`), chsk through
 * its real public client (the engine's default), all with the same engine.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Target } from "./measure.js";
import { type ServerHandle, serverScript, spawnChskServe, spawnServer } from "./proc.js";

export type ServerKind = "raw-ws" | "raw-http" | "socketio-ws" | "socketio-polling" | "chsk" | "chsk-serve";

export interface BenchTarget extends Target {
  server: ServerKind;
  /** Who generates the load, for the tables. */
  generator: string;
}

const PROGRAMS: Record<Exclude<ServerKind, "chsk-serve">, { script: string; args?: string[] }> = {
  "raw-ws": { script: "raw-ws.ts" },
  "raw-http": { script: "raw-http.ts" },
  "socketio-ws": { script: "socketio.ts", args: ["--transports", "websocket"] },
  "socketio-polling": { script: "socketio.ts", args: ["--transports", "polling"] },
  chsk: { script: "chsk.ts" },
};

/** Starts `kind` in its own process; `nodeArgs` e.g. `--cpu-prof`. */
export function startServer(kind: ServerKind, nodeArgs: string[] = []): Promise<ServerHandle> {
  if (kind === "chsk-serve") return spawnChskServe({ nodeArgs });
  const p = PROGRAMS[kind];
  return spawnServer(kind, serverScript(p.script), { nodeArgs, ...(p.args ? { args: p.args } : {}) });
}

const root = fileURLToPath(new URL("../../", import.meta.url));
export const version = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(`${root}node_modules/${pkg}/package.json`, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
};

/** A `bench/clients/*.ts` adapter, as the module URL the engine's workers import. */
const adapter = (file: string): string => new URL(`../clients/${file}`, import.meta.url).href;

const WS = `raw ws ${version("ws")}`;
const SIO = `socket.io ${version("socket.io")}`;
const CHSK_CLIENT = "real chsk client";

/** Per-device keep-alive sockets the HTTP floor opens up front (the closed model's in-flight count). */
export const rawHttpSockets = (inFlight: number) => ({ params: [`sockets=${inFlight}`] });

export const TARGETS = {
  raw: { key: "raw", label: WS, server: "raw-ws", transport: "ws", url: (o) => `${o}/`, clientModule: adapter("raw-ws.ts"), generator: "adapter (clients/raw-ws.ts)" },
  sio: {
    key: "sio",
    label: `${SIO} (websocket)`,
    server: "socketio-ws",
    transport: "ws",
    url: (o) => `${o}/socket.io/`,
    clientModule: adapter("socketio.ts"),
    generator: "adapter (clients/socketio.ts)",
  },
  chsk: { key: "chsk", label: "chsk library (ws)", server: "chsk", transport: "ws", url: (o) => `${o}/chsk`, generator: CHSK_CLIENT },
  serve: { key: "serve", label: "chsk serve (ws)", server: "chsk-serve", transport: "ws", url: (o) => `${o}/chsk`, generator: CHSK_CLIENT },
  rawHttp: {
    key: "raw-http",
    label: "raw node:http POST echo (floor)",
    server: "raw-http",
    transport: "ajax",
    url: (o) => `${o}/echo`,
    clientModule: adapter("raw-http.ts"),
    generator: "adapter (clients/raw-http.ts)",
  },
  sioPolling: {
    key: "sio-polling",
    label: `${SIO} (polling)`,
    server: "socketio-polling",
    transport: "ajax",
    url: (o) => `${o}/socket.io/`,
    clientModule: adapter("socketio.ts"),
    generator: "adapter (clients/socketio.ts)",
  },
  chskAjax: { key: "chsk-ajax", label: "chsk library (ajax)", server: "chsk", transport: "ajax", url: (o) => `${o}/chsk`, generator: CHSK_CLIENT },
  serveAjax: { key: "serve-ajax", label: "chsk serve (ajax)", server: "chsk-serve", transport: "ajax", url: (o) => `${o}/chsk`, generator: CHSK_CLIENT },
} satisfies Record<string, BenchTarget>;
