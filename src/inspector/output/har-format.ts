/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the parts
 * chsk reads and writes, with Chrome DevTools' extensions (`_resourceType`,
 * `_webSocketMessages`) and chsk's own `_chsk*` fields for what HAR has no
 * place for. Every field a reader may meet is optional here: HAR files come
 * from many tools, and a missing field is never a crash.
 */

/** A WebSocket message as Chrome DevTools exports it. */
export interface HarWebSocketMessage {
  /** `send` (client to server) or `receive`. */
  type?: string;
  /** Seconds since the epoch, with a fraction. */
  time?: number;
  /** 1 text, 2 binary (`data` is base64). */
  opcode?: number;
  data?: string;
  [chsk: `_chsk${string}`]: unknown;
}

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarPostData {
  mimeType?: string;
  text?: string;
  params?: HarNameValue[];
  /** Not in HAR 1.2; some tools (and chsk) write `base64` for a binary body. */
  encoding?: string;
  _encoding?: string;
}

export interface HarContent {
  size?: number;
  mimeType?: string;
  text?: string;
  /** `base64` for a binary body. */
  encoding?: string;
}

export interface HarRequest {
  method?: string;
  url?: string;
  httpVersion?: string;
  headers?: HarNameValue[];
  queryString?: HarNameValue[];
  cookies?: unknown[];
  headersSize?: number;
  bodySize?: number;
  postData?: HarPostData;
  [chsk: `_chsk${string}`]: unknown;
}

export interface HarResponse {
  status?: number;
  statusText?: string;
  httpVersion?: string;
  headers?: HarNameValue[];
  cookies?: unknown[];
  content?: HarContent;
  redirectURL?: string;
  headersSize?: number;
  bodySize?: number;
  _error?: string | null;
  [chsk: `_chsk${string}`]: unknown;
}

export interface HarTimings {
  blocked?: number;
  dns?: number;
  connect?: number;
  ssl?: number;
  send?: number;
  wait?: number;
  receive?: number;
}

export interface HarEntry {
  startedDateTime?: string;
  /** Total ms. */
  time?: number;
  request?: HarRequest;
  response?: HarResponse;
  cache?: object;
  timings?: HarTimings;
  /** Chrome: `websocket`, `xhr`, `fetch`, `document`… */
  _resourceType?: string;
  _webSocketMessages?: HarWebSocketMessage[];
  [chsk: `_chsk${string}`]: unknown;
}

/**
 * An `open` or `close` of a connection, which HAR has no entry for
 * (`log._chskLifecycle`, chsk's exports only).
 */
export interface HarChskLifecycle {
  seq?: number;
  ts: string;
  kind: "open" | "close";
  transport: "ws" | "ajax";
  conn: string;
  /** Ajax: the exchange the source saw it on. */
  exchange?: string;
  clientId?: string | null;
  uid?: string;
  url?: string;
  /** WS close code. */
  code?: number;
  reason?: string;
  dir?: "c2s" | "s2c";
}

export interface HarLog {
  version?: string;
  creator?: { name?: string; version?: string };
  pages?: unknown[];
  entries?: HarEntry[];
  /** Set by chsk's exports: `{ version: 1 }`. */
  _chsk?: { version: number; path?: string };
  _chskLifecycle?: HarChskLifecycle[];
}

export interface Har {
  log?: HarLog;
}
