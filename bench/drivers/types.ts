/**
 * A driver speaks one protocol for the load generator. The generator never
 * sees payloads: it asks for request `tag` and is told when reply `tag`
 * arrived. Drivers correlate by the protocol's own id (a tag in the raw ws
 * payload, the socket.io ack id, the chsk cb id, or the HTTP request).
 */
export interface DriverConn {
  /** Sends one request; the driver later calls `onReply(tag, ok)` exactly once. */
  request(tag: number): void;
  close(): void;
}

export interface ConnectContext {
  port: number;
  /** Index of this connection within its worker (for ids). */
  index: number;
  /** Requests this connection will keep in flight (closed model), so HTTP drivers can open sockets up front. */
  inflight: number;
  onReply: (tag: number, ok: boolean) => void;
  /** A protocol error or unexpected close that is not tied to one request. */
  onError: (e: Error) => void;
}

export interface Driver {
  readonly name: string;
  connect(ctx: ConnectContext): Promise<DriverConn>;
  /** Releases shared resources (HTTP pools) after every conn is closed. */
  dispose?(): Promise<void>;
}

/** The echoed value, the same for every protocol: ~70 bytes of JSON / EDN. */
export const PAYLOAD = { user: "bench", n: 12345, msg: "0123456789abcdef0123456789abcdef" } as const;

/** Driver names as the worker loads them (file = drivers/<name>.ts). */
export type DriverName =
  | "raw-ws"
  | "raw-http"
  | "socketio-ws"
  | "socketio-client-ws"
  | "socketio-client-polling"
  | "socketio-polling"
  | "chsk-ws"
  | "chsk-client-ws"
  | "chsk-ajax"
  | "chsk-client-ajax";
