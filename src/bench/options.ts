/**
 * `chsk bench`'s options as the engine takes them, with their defaults and
 * the small parsers the CLI shares (durations, `--segment i/n`, templates).
 */
import { ChskError, type PackerName } from "../core/index.js";
import type { DeviceTransport, Scenario, TransportChoice } from "./types.js";

/** How each simulated user gets its session. */
export interface AuthOptions {
  /** `POST <origin><loginPath>` with `uid=<user>` for each user (the reference contract). */
  loginPath?: string;
  /** `Cookie` header templates (`name=v{user}`), `{user}` and `{device}` filled in per device. */
  cookies?: string[];
  /** `Name: value` header templates. */
  headers?: string[];
  /** `k=v` query parameter templates for the channel socket. */
  params?: string[];
  /** A CSRF token every device sends (otherwise the session's, or none). */
  csrfToken?: string;
  /**
   * A module whose default export (or `setup`) logs one user in:
   * `async ({ user, userIndex, url }) => ({ cookie?, headers?, params?, csrfToken? })`.
   */
  setupModule?: string;
}

export interface BenchOptions {
  /** The channel socket's URL (`http(s)://host/chsk` or `ws(s)://…`). */
  url: string;
  scenario: Scenario;
  users: number;
  devices: number;
  transport: TransportChoice;
  /** `mix`: the share of devices on Ajax. */
  ajaxShare: number;
  /** Echo, closed model: requests in flight per device. */
  inFlight?: number;
  /** Open model: echo requests/s, or pushes/s, in total. */
  rate?: number;
  rampMs: number;
  warmupMs: number;
  durationMs: number;
  /** Push: a delivery within this long of its push counts for completeness. */
  windowMs: number;
  /** Reply timeout of each echo / push request. */
  timeoutMs: number;
  /** Hard bound on messages sent (echo requests + push requests + connects), over all workers. */
  maxMessages: number;
  workers: number;
  packer: PackerName;
  auth: AuthOptions;
  /** The event an echo sends; its reply must be the data, or `{:echo data}` (Sente's example). */
  echoEvent: string;
  /** The event that asks the server to push: `demo/push` takes `{:uid u :event ev}`, `demo/broadcast` takes `ev`. */
  pushEvent: string;
  /** Users are named `<prefix><index>`. */
  userPrefix: string;
  /** Connect: drop everyone after the storm and time the way back. */
  reconnectStorm: boolean;
  /** Mixed: relative weights of the three scenarios, over users. */
  mix: Record<"echo" | "push" | "connect", number>;
  /** Mixed: how often a connect-role device reconnects. */
  churnMs: number;
  segment?: { index: number; count: number };
  /**
   * A module URL exporting `createBenchClient` (see `BenchClient`): devices
   * speak another protocol. @default chsk's own client
   */
  clientModule?: string;
  /** Epoch ms at which every segment starts connecting. */
  startAt?: number;
}

export const BENCH_DEFAULTS = {
  scenario: "echo" as Scenario,
  users: 10,
  devices: 1,
  transport: "ws" as TransportChoice,
  ajaxShare: 0.3,
  rampMs: 0,
  warmupMs: 2_000,
  durationMs: 10_000,
  windowMs: 1_000,
  timeoutMs: 10_000,
  maxMessages: 50_000_000,
  workers: 1,
  packer: "edn" as PackerName,
  echoEvent: "demo/echo",
  pushEvent: "demo/push",
  userPrefix: "u",
  reconnectStorm: false,
  mix: { echo: 6, push: 3, connect: 1 },
  churnMs: 5_000,
  auth: {} as AuthOptions,
};

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/** `250ms`, `10s`, `1.5m`, or a bare number of ms. Null when it is none of those. */
export function parseDurationMs(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "ms"]!);
}

/** `--segment 2/4`: the 2nd of 4 shares (1-based), or null. */
export function parseSegment(text: string): { index: number; count: number } | null {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return index >= 1 && count >= 1 && index <= count ? { index, count } : null;
}

/**
 * The users of segment `index` of `count` (1-based) as a half-open range of
 * global user indices: k6's execution segments, so shares never overlap,
 * cover every user once, and differ in size by one at most.
 */
export function segmentUsers(users: number, segment: { index: number; count: number } | undefined): { from: number; to: number } {
  if (segment === undefined) return { from: 0, to: users };
  const at = (k: number) => Math.floor((users * k) / segment.count);
  return { from: at(segment.index - 1), to: at(segment.index) };
}

/** Splits `total` into `parts` integers that differ by one at most. */
export const splitEvenly = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

/**
 * Which transport device `d` of user `u` uses. `mix` spreads Ajax devices
 * evenly over the whole population (a Bresenham walk on the global device
 * index), so every segment and worker gets its share.
 */
export function deviceTransport(choice: TransportChoice, ajaxShare: number, globalDevice: number): DeviceTransport {
  if (choice !== "mix") return choice;
  return Math.floor((globalDevice + 1) * ajaxShare) > Math.floor(globalDevice * ajaxShare) ? "ajax" : "ws";
}

/** `{user}` and `{device}` filled in. */
export const fillTemplate = (t: string, user: string, device: number): string =>
  t.replaceAll("{user}", user).replaceAll("{device}", String(device));

/** Checks an options object before a run; throws `CHSK_ERR_BENCH_OPTIONS` naming the first problem. */
export function checkBenchOptions(o: BenchOptions): void {
  const bad = (what: string) => {
    throw new ChskError("CHSK_ERR_BENCH_OPTIONS", `chsk bench: ${what}`);
  };
  const posInt = (n: number, name: string) => {
    if (!(Number.isInteger(n) && n >= 1)) bad(`${name} must be a positive integer, not ${n}`);
  };
  posInt(o.users, "--users");
  posInt(o.devices, "--devices");
  posInt(o.workers, "--workers");
  posInt(o.maxMessages, "--max-messages");
  if (o.inFlight !== undefined) posInt(o.inFlight, "--in-flight");
  if (o.inFlight !== undefined && o.rate !== undefined) bad("--in-flight (closed model) and --rate (open model) exclude each other");
  if (o.rate !== undefined && !(o.rate > 0 && Number.isFinite(o.rate))) bad(`--rate must be a positive number, not ${o.rate}`);
  if (!(o.ajaxShare >= 0 && o.ajaxShare <= 1)) bad(`--ajax-share must be between 0 and 1, not ${o.ajaxShare}`);
  for (const [name, v] of [["--ramp", o.rampMs], ["--warmup", o.warmupMs], ["--window", o.windowMs]] as const) {
    if (!(v >= 0 && Number.isFinite(v))) bad(`${name} must be a duration`);
  }
  if (!(o.durationMs > 0)) bad("--duration must be longer than 0");
  if (!(o.timeoutMs > 0)) bad("--timeout must be longer than 0");
  if (o.scenario === "mixed" && !(o.mix.echo + o.mix.push + o.mix.connect > 0)) bad("--mix needs a positive weight");
  if (o.segment !== undefined && o.segment.count > o.users) bad(`--segment ${o.segment.index}/${o.segment.count}: fewer users (${o.users}) than segments`);
}
