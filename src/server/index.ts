/**
 * `chsk/server`: a Sente-compatible channel-socket server for Node.
 *
 * @example
 * import { createServer as createHttpServer } from "node:http";
 * import { createServer } from "chsk/server";
 *
 * const chsk = createServer({ csrfToken: (req) => sessionOf(req)?.csrfToken ?? null });
 * chsk.startRouter((msg) => { if (msg.id === "my/echo") msg.reply?.(msg.data); });
 * const http = createHttpServer((req, res) => { res.writeHead(404).end(); });
 * chsk.attach(http);
 * http.listen(8080);
 */
export { createServer } from "./create-server.js";
export { allowOrigin, validCsrfToken, clientCsrfToken, constantTimeEqual, type CheckableRequest } from "./security.js";
export { MAX_LP_TIMEOUT_MS } from "./options.js";
export { RETRY_BACKOFFS_MS } from "./send-buffer.js";
export {
  SKIP_CSRF,
  type ChskRequest,
  type ChskServer,
  type ClientInfo,
  type ConnectedUids,
  type HttpAnswer,
  type SendOptions,
  type ServerEventMsg,
  type ServerEvents,
  type ServerOptions,
  type ServerTapEvent,
  type Transport,
  type Uid,
} from "./types.js";

// Packers and the protocol helpers a server application commonly needs.
export {
  ednPacker,
  jsonPacker,
  transitPacker,
  packerByName,
  PACKER_NAMES,
  type EdnPackerOptions,
  type JsonPackerOptions,
  type TransitPackerOptions,
  type PackerName,
  type DecodeLimits,
  type Packer,
} from "../core/packers/index.js";
export { ChskError, CloseCode, isChskError, type ChskErrorCode } from "../core/protocol/errors.js";
export { assertEvent, validateEvent, Reserved, type ChskEvent, type EventProblem } from "../core/protocol/events.js";
export { NIL_UID } from "../core/protocol/codec.js";
export { type Clock, type Unsubscribe, systemClock } from "../core/clock.js";
export { kw, Keyword } from "../core/edn/values.js";
