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
export {
  mountDashboard,
  type Dashboard,
  type DashboardAccess,
  type DashboardOptions,
} from "./dashboard/mount-dashboard.js";
export type { DashboardAccessLevel } from "./dashboard/feed-types.js";
export { mountInspector, DEFAULT_INSPECTOR_PATH, type Inspector, type InspectorOptions } from "./inspect/mount-inspector.js";
export {
  parseInspectorLine,
  INSPECTOR_STREAM_VERSION,
  type InspectorLine,
  type InspectorHello,
  type InspectorOpen,
  type InspectorRefused,
  type InspectorError,
  type InspectorHeartbeat,
} from "./inspect/stream-lines.js";
export { consoleLogger } from "./console-logger.js";
export { redisCluster, type RedisClusterOptions, type IoRedisLike } from "./cluster/redis.js";
export { memoryCluster, createMemoryHub, type MemoryHub, type MemoryHubOptions, type MemoryClusterOptions } from "./cluster/memory.js";
export type { ClusterOptions } from "./cluster/option.js";
export type { ClusterEngine, ClusterNodeInfo, ClusterOption, ClusterStats, NodeReport } from "./cluster/types.js";
export type { Logger, LogFields } from "../core/logger.js";
export type { DashboardLogger } from "./dashboard/actions.js";
export { expressAdapter, type ExpressMiddleware, type ExpressRequestLike } from "./http/express-adapter.js";
export {
  fastifyAdapter,
  type FastifyPlugin,
  type FastifyInstanceLike,
  type FastifyReplyLike,
  type FastifyRequestLike,
} from "./http/fastify-adapter.js";
export type { MountableServer } from "./http/mount.js";
export { allowOrigin, validCsrfToken, clientCsrfToken, constantTimeEqual, type CheckableRequest } from "./security.js";
export { MAX_LP_TIMEOUT_MS } from "./options.js";
export { RETRY_BACKOFFS_MS } from "./pending-frames.js";
export {
  SKIP_CSRF,
  type AttachOptions,
  type HandleRequestOptions,
  type ChskRequest,
  type ChskServer,
  type ClientInfo,
  type ConnectedUids,
  type HttpAnswer,
  type SendOptions,
  type ServerCluster,
  type ServerEventMsg,
  type ServerEventMsgOf,
  type ServerEvents,
  type ServerOptions,
  type ServerTapEvent,
  type TapChannel,
  type Transport,
  type Uid,
} from "./types.js";

// Packers and the protocol helpers a server application commonly needs.
export {
  ednPacker,
  jsonPacker,
  transitPacker,
  msgpackPacker,
  gzipPacker,
  MsgpackExt,
  packerByName,
  PACKER_NAMES,
  type EdnPackerOptions,
  type JsonPackerOptions,
  type TransitPackerOptions,
  type MsgpackPackerOptions,
  type GzipPackerOptions,
  type PackerName,
  type DecodeLimits,
  type Packer,
} from "../core/packers/index.js";
export { ChskError, CloseCode, isChskError, type ChskErrorCode } from "../core/protocol/errors.js";
export { assertEvent, validateEvent, Reserved, type ChskEvent, type EventProblem } from "../core/protocol/events.js";
export type * from "../core/protocol/event-map.js";
export { NIL_UID } from "../core/protocol/codec.js";
export { type Clock, type Unsubscribe, systemClock } from "../core/clock.js";
export { kw, Keyword } from "../core/edn/values.js";
