/**
 * What a simulated device is to the bench: by default a real public chsk
 * client (`createClient`), with its reconnects, keepalive and Ajax
 * behaviour. `BenchOptions.clientModule` swaps in another protocol's client
 * behind the same small interface, which is how `npm run bench:peers` drives
 * raw ws and socket.io with this same engine.
 */
import type { ChskError, Packer } from "../core/index.js";
import { type ClientTapEvent, createClient } from "../core/client/index.node.js";
import type { DeviceTransport } from "./types.js";

export interface BenchClientOptions {
  url: string;
  type: DeviceTransport;
  packer: Packer;
  csrfToken: string | null;
  headers: Record<string, string>;
  params: Record<string, string>;
  /** Counts the device's HTTP requests; use it for any HTTP the client makes. */
  fetch: typeof fetch;
  /** Devices connect when the bench says so. */
  autoConnect: false;
}

/** The part of chsk's `Client` the bench uses; another protocol's adapter implements just this. */
export interface BenchClient {
  connect(): void;
  /**
   * Request/reply: `cb` is called once, with the reply or an error
   * (`CHSK_ERR_TIMEOUT` after `timeoutMs`). `event` is read before `send`
   * returns, never kept: the bench refills one array per request loop.
   */
  send(event: readonly [string, unknown], timeoutMs: number, cb: (error: ChskError | null, reply?: unknown) => void): boolean;
  on(type: "handshake", listener: (info: { uid: unknown }) => void): unknown;
  on(type: "state", listener: (change: { closed?: boolean }) => void): unknown;
  on(type: "recv", listener: (event: readonly [string, unknown?]) => void): unknown;
  /** `conn:close` and `error` (connect failures by cause); the bench asks for no frame events. */
  tap(listener: (event: ClientTapEvent) => void, options: { frames: false }): unknown;
  /** Bytes sent and received so far (chsk's `client.traffic()`): the window's share is the bench's bytes per event. */
  traffic(): { bytesIn: number; bytesOut: number };
  reconnect(): void;
  breakConnection(): void;
  close(): Promise<void>;
}

export type BenchClientFactory = (options: BenchClientOptions) => BenchClient;

export const chskBenchClient: BenchClientFactory = (options) => createClient(options) as unknown as BenchClient;
