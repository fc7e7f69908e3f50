/**
 * `chsk`: everything in one entry for Node applications — the isomorphic
 * core (`chsk/core`), the Node client (`chsk/client`) and the server
 * (`chsk/server`).
 *
 * Two names mean different things on the two sides, so they are exported
 * with prefixes: `ClientSendOptions` (`{ timeoutMs, flush }`, for
 * `client.send`) and `ServerSendOptions` (`{ flush }`, for `server.send`).
 * `SendOptions` and `Transport` are the server's, as in `chsk/server`.
 *
 * @example
 * import { createServer, createClient, kw, writeEdn } from "chsk";
 */
export * from "./core/index.js";
export * from "./core/client/index.node.js";
export * from "./server/index.js";
export type { SendOptions as ClientSendOptions } from "./core/client/types.js";
export type { SendOptions, SendOptions as ServerSendOptions, Transport } from "./server/types.js";
