/**
 * `redisCluster()`: the cluster engine on a real Redis (7; 6.2 at least for
 * `ZADD GT/LT`), through ioredis. One connection takes the steps (each a
 * Lua script from `lua.ts`), a second one is subscribed to this node's
 * inbox and the broadcast channel.
 *
 * Failure policy: commands are not queued while Redis is unreachable
 * (`enableOfflineQueue: false`, no retry per request): a step fails at
 * once, the caller counts it, and memory stays bounded. ioredis reconnects
 * by itself; `reconnected` then tells the node to register again, since a
 * restarted Redis has forgotten everything.
 *
 * @example
 * const chsk = createServer({ csrfToken: null, cluster: redisCluster({ url: "redis://127.0.0.1:6379" }) });
 */
import type { Redis, RedisOptions } from "ioredis";
import { ChskError } from "../../core/protocol/errors.js";
import type {
  ClusterEngine,
  ClusterEngineEvents,
  ClusterMessage,
  ClusterNodeInfo,
  ClusterUids,
  Frame,
  NodeReport,
  Queued,
  Taken,
  Windows,
} from "./types.js";
import * as lua from "./lua.js";
import { clusterOption, type ClusterOptions } from "./option.js";
import type { ClusterOption } from "./types.js";

export interface RedisClusterOptions extends ClusterOptions {
  /** `redis://host:port/db`. One of `url` / `client`. */
  url?: string;
  /**
   * An ioredis client of yours (its options are yours too: chsk only
   * duplicates it for the subscription). One of `url` / `client`. Typed
   * by shape, so chsk's types don't require ioredis's.
   */
  client?: IoRedisLike;
  /** Prefix of every key and channel, so several apps can share one Redis. @default "chsk:" */
  prefix?: string;
  /** Gives up starting when Redis doesn't answer within this. @default 5000 */
  connectTimeoutMs?: number;
}

/** What chsk uses of an ioredis `Redis` instance (any ioredis 5/6 client fits). */
export interface IoRedisLike {
  duplicate(...args: never[]): unknown;
  defineCommand(...args: never[]): unknown;
  publish(...args: never[]): unknown;
}

type Step = (...args: (string | number | Buffer)[]) => Promise<unknown>;

const SCRIPTS = {
  chskPushUser: lua.PUSH_USER,
  chskQueueUser: lua.QUEUE_USER,
  chskPushClient: lua.PUSH_CLIENT,
  chskQueueClient: lua.QUEUE_CLIENT,
  chskQueueBroadcast: lua.QUEUE_BROADCAST,
  chskKeep: lua.KEEP,
  chskWsUp: lua.WS_UP,
  chskWsDown: lua.WS_DOWN,
  chskWsClientOpen: lua.WS_CLIENT_OPEN,
  chskWsClientGone: lua.WS_CLIENT_GONE,
  chskAjaxHandshake: lua.AJAX_HANDSHAKE,
  chskAjaxHold: lua.AJAX_HOLD,
  chskAjaxTake: lua.AJAX_TAKE,
  chskUntake: lua.UNTAKE,
  chskAjaxRelease: lua.AJAX_RELEASE,
  chskHeartbeat: lua.HEARTBEAT,
  chskReap: lua.REAP,
  chskLeave: lua.LEAVE,
  chskConnectedUids: lua.CONNECTED_UIDS,
  chskNodes: lua.NODES,
} as const;
type ScriptName = keyof typeof SCRIPTS;

/** Frames cross Redis with a one-byte tag, so text stays text and bytes stay bytes. */
const TEXT = 0x74; // t
const BINARY = 0x62; // b
/** An engine's own probe message (`P` + id): never a cluster message. */
const PROBE = 0x50; // P

function tagged(frame: Frame): Buffer {
  if (typeof frame === "string") {
    const b = Buffer.allocUnsafe(1 + Buffer.byteLength(frame));
    b[0] = TEXT;
    b.write(frame, 1, "utf8");
    return b;
  }
  const b = Buffer.allocUnsafe(1 + frame.byteLength);
  b[0] = BINARY;
  b.set(frame, 1);
  return b;
}

function untagged(b: Buffer, at = 0): Frame {
  return b[at] === TEXT ? b.toString("utf8", at + 1) : new Uint8Array(b.buffer, b.byteOffset + at + 1, b.length - at - 1);
}

/** Inbox message: kind byte, 2-byte header length, header (uid / client id / sender), tagged frame. */
function message(kind: string, header: string, frame: Frame): Buffer {
  const h = Buffer.from(header, "utf8");
  const f = tagged(frame);
  const b = Buffer.allocUnsafe(3 + h.length + f.length);
  b[0] = kind.charCodeAt(0);
  b.writeUInt16BE(h.length, 1);
  h.copy(b, 3);
  f.copy(b, 3 + h.length);
  return b;
}

function parseMessage(b: Buffer): ClusterMessage | null {
  const kind = String.fromCharCode(b[0]!);
  // Wake-ups are written by Lua: "W-" .. client id.
  if (kind === "W") return { type: "wake", clientId: b.toString("utf8", 2) };
  if (b.length < 4) return null;
  const n = b.readUInt16BE(1);
  const header = b.toString("utf8", 3, 3 + n);
  const frame = untagged(b, 3 + n);
  if (kind === "U") return { type: "user", uid: header, frame };
  if (kind === "C") return { type: "client", clientId: header, frame };
  if (kind === "B") return { type: "broadcast", from: header, frame };
  return null;
}

function taken(r: unknown, from = 0): Taken {
  const a = r as (Buffer | number)[];
  const frames: Frame[] = [];
  for (let i = from + 1; i < a.length; i++) frames.push(untagged(a[i] as Buffer));
  return { expired: Number(a[from]), frames };
}

const queued = (r: unknown): Queued => {
  const [q, f] = r as number[];
  return { queued: Number(q), full: Number(f) };
};

class RedisEngine implements ClusterEngine {
  readonly kind = "redis";
  readonly #prefix: string;
  readonly #options: RedisClusterOptions;
  /** Created by start(). */
  #cmd!: Redis;
  #sub!: Redis;
  readonly #owned: boolean;
  readonly #connectTimeoutMs: number;
  #events: ClusterEngineEvents | null = null;
  #wasReady = false;
  #lost = false;
  #lastError: Error | null = null;
  readonly #probes = new Map<string, () => void>();
  #closed = false;

  constructor(o: RedisClusterOptions) {
    this.#options = o;
    this.#prefix = o.prefix ?? "chsk:";
    this.#connectTimeoutMs = o.connectTimeoutMs ?? 5000;
    this.#owned = o.client === undefined;
  }

  /**
   * Creates the two connections. ioredis is loaded here, not with
   * `chsk/server` (about 250 ms and 25 MB that a server without a cluster
   * shouldn't pay).
   */
  async #connections(): Promise<void> {
    const o = this.#options;
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Back off to 1 s between attempts, forever: the node keeps serving its own clients meanwhile.
      retryStrategy: (n) => Math.min(50 * 2 ** Math.min(n, 5), 1000),
    };
    if (o.client !== undefined) {
      this.#cmd = o.client as unknown as Redis;
      this.#sub = this.#cmd.duplicate({ ...common, enableOfflineQueue: true });
    } else {
      const { Redis } = await import("ioredis");
      this.#cmd = new Redis(o.url!, common);
      // The subscriber may queue its SUBSCRIBE until connected (it is bounded: two channels).
      this.#sub = new Redis(o.url!, { ...common, enableOfflineQueue: true });
    }
    for (const [name, source] of Object.entries(SCRIPTS)) this.#cmd.defineCommand(name, { numberOfKeys: 0, lua: source });
    // ioredis emits 'error' for every failed attempt; the node reports the outage once, through its
    // counters. The last one names the cause (ECONNREFUSED…) that a failed start reports.
    this.#cmd.on("error", (e: Error) => {
      this.#lastError = e;
    });
    this.#sub.on("error", () => {});
  }

  get isReady(): boolean {
    return (this.#cmd as Redis | undefined)?.status === "ready";
  }

  async start(nodeId: string, events: ClusterEngineEvents): Promise<void> {
    this.#events = events;
    await this.#connections();
    if (this.#closed) throw new ChskError("CHSK_ERR_CLUSTER", "closed while starting");
    const inbox = `${this.#prefix}ch:n:${nodeId}`;
    const bcast = `${this.#prefix}ch:b`;
    this.#sub.on("messageBuffer", (_channel: Buffer, raw: Buffer) => {
      // A probe of our own (see #probe) proves the subscription is back.
      if (raw[0] === PROBE) {
        this.#probes.get(raw.toString("utf8", 1))?.();
        return;
      }
      const m = parseMessage(raw);
      if (m !== null) events.message(m);
    });
    this.#cmd.on("ready", () => {
      if (this.#wasReady && this.#lost) {
        // Steps work again, but messages only once the subscriber has resubscribed.
        void this.#probe(inbox).then(() => {
          if (this.#closed || !this.#lost) return;
          this.#lost = false;
          events.reconnected();
        });
      }
      this.#wasReady = true;
    });
    this.#cmd.on("close", () => {
      if (!this.#wasReady || this.#closed || this.#lost) return;
      this.#lost = true;
      events.disconnected(null);
    });
    const timeout = this.#connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChskError("CHSK_ERR_CLUSTER", `Redis did not answer within ${timeout} ms`, { detail: { connectTimeoutMs: timeout } })),
        timeout,
      );
    });
    try {
      const connect = async (r: Redis): Promise<void> => {
        if (r.status === "wait") await r.connect();
        else if (r.status !== "ready") await new Promise<void>((resolve) => r.once("ready", () => resolve()));
      };
      await Promise.race([Promise.all([connect(this.#cmd), connect(this.#sub)]), deadline]);
      await Promise.race([this.#sub.subscribe(inbox, bcast), deadline]);
      this.#wasReady = true;
    } catch (e) {
      await this.close();
      if (e instanceof ChskError) throw e;
      const cause = this.#lastError ?? (e as Error);
      throw new ChskError("CHSK_ERR_CLUSTER", `Could not connect to Redis: ${cause.message}`, { cause });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Publishes to our own inbox until one comes back through the subscriber (bounded: 5 s). */
  async #probe(inbox: string): Promise<void> {
    const id = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const back = new Promise<void>((resolve) => this.#probes.set(id, resolve));
    const deadline = Date.now() + 5000;
    try {
      while (Date.now() < deadline && !this.#closed) {
        await this.#cmd.publish(inbox, Buffer.concat([Buffer.from([PROBE]), Buffer.from(id)])).catch(() => 0);
        const ok = await Promise.race([back.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100).unref())]);
        if (ok) return;
      }
    } finally {
      this.#probes.delete(id);
    }
  }

  #step(name: ScriptName, ...args: (string | number | Buffer)[]): Promise<unknown> {
    const f = (this.#cmd as unknown as Record<string, Step>)[`${name}Buffer`]!;
    return f.call(this.#cmd, this.#prefix, ...args);
  }

  async pushUser(from: string, uid: string, frame: Frame): Promise<number> {
    return Number(await this.#step("chskPushUser", from, uid, message("U", uid, frame)));
  }
  async queueUser(uid: string, frame: Frame, w: Windows): Promise<Queued> {
    return queued(await this.#step("chskQueueUser", uid, tagged(frame), w.frameMs, w.maxQueued));
  }
  async pushClient(from: string, clientId: string, frame: Frame): Promise<number> {
    return Number(await this.#step("chskPushClient", from, clientId, message("C", clientId, frame)));
  }
  async queueClient(clientId: string, frame: Frame, w: Windows): Promise<Queued> {
    return queued(await this.#step("chskQueueClient", clientId, tagged(frame), w.frameMs, w.maxQueued));
  }
  async pushBroadcast(from: string, frame: Frame): Promise<void> {
    await this.#cmd.publish(`${this.#prefix}ch:b`, message("B", from, frame));
  }
  async queueBroadcast(frame: Frame, w: Windows): Promise<Queued> {
    return queued(await this.#step("chskQueueBroadcast", tagged(frame), w.frameMs, w.maxQueued));
  }
  async keep(clientId: string, frame: Frame, w: Windows): Promise<Queued> {
    return queued(await this.#step("chskKeep", clientId, tagged(frame), w.frameMs, w.maxQueued));
  }
  async wsUp(nodeId: string, uid: string): Promise<boolean> {
    return Number(await this.#step("chskWsUp", nodeId, uid)) === 1;
  }
  async wsDown(nodeId: string, uid: string): Promise<boolean> {
    return Number(await this.#step("chskWsDown", nodeId, uid)) === 1;
  }
  async wsClientOpen(nodeId: string, clientId: string): Promise<Taken> {
    return taken(await this.#step("chskWsClientOpen", nodeId, clientId));
  }
  async wsClientGone(nodeId: string, clientId: string): Promise<void> {
    await this.#step("chskWsClientGone", nodeId, clientId);
  }
  async ajaxHandshake(clientId: string, uid: string, ttlMs: number): Promise<void> {
    await this.#step("chskAjaxHandshake", clientId, uid, ttlMs);
  }
  async ajaxLookup(clientId: string): Promise<string | null> {
    return this.#cmd.hget(`${this.#prefix}a:${clientId}`, "u");
  }
  async ajaxHold(nodeId: string, clientId: string, uid: string, holdMs: number, ttlMs: number): Promise<Taken & { opened: boolean }> {
    const r = (await this.#step("chskAjaxHold", nodeId, clientId, uid, holdMs, ttlMs)) as unknown[];
    return { opened: Number(r[0]) === 1, ...taken(r, 1) };
  }
  async ajaxTake(clientId: string): Promise<Taken> {
    return taken(await this.#step("chskAjaxTake", clientId));
  }
  async untake(clientId: string, frame: Frame, w: Windows): Promise<void> {
    await this.#step("chskUntake", clientId, tagged(frame), w.frameMs);
  }
  async ajaxRelease(nodeId: string, clientId: string, uid: string, graceMs: number, ttlMs: number): Promise<void> {
    await this.#step("chskAjaxRelease", nodeId, clientId, uid, graceMs, ttlMs);
  }
  async heartbeat(nodeId: string, ttlMs: number, report: NodeReport): Promise<boolean> {
    return Number(await this.#step("chskHeartbeat", nodeId, ttlMs, JSON.stringify(report))) === 1;
  }
  async reap(wsGraceMs: number, limit: number): Promise<string[]> {
    const r = (await this.#step("chskReap", wsGraceMs, limit)) as Buffer[];
    return r.map((b) => b.toString("utf8"));
  }
  async connectedUids(): Promise<ClusterUids> {
    const r = (await this.#step("chskConnectedUids")) as (Buffer | number)[];
    const out: ClusterUids = { ws: [], ajax: [], any: [] };
    for (let i = 0; i < r.length; i += 2) {
      const uid = (r[i] as Buffer).toString("utf8");
      const f = Number(r[i + 1]);
      out.any.push(uid);
      if (f & 1) out.ws.push(uid);
      if (f & 2) out.ajax.push(uid);
    }
    return out;
  }
  async nodes(): Promise<ClusterNodeInfo[]> {
    const r = (await this.#step("chskNodes")) as Buffer[];
    const out: ClusterNodeInfo[] = [];
    for (let i = 0; i < r.length; i += 3) {
      const raw = r[i + 2]!.toString("utf8");
      let info: NodeReport | null = null;
      try {
        info = raw === "" ? null : (JSON.parse(raw) as NodeReport);
      } catch {
        info = null;
      }
      out.push({ nodeId: r[i]!.toString("utf8"), expiresAt: Number(r[i + 1]!.toString("utf8")), info });
    }
    return out;
  }
  async leave(nodeId: string, wsGraceMs: number): Promise<void> {
    await this.#step("chskLeave", nodeId, wsGraceMs);
    await this.#sub.unsubscribe(`${this.#prefix}ch:n:${nodeId}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if ((this.#cmd as Redis | undefined) === undefined) return;
    this.#sub.disconnect();
    if (this.#owned) {
      // QUIT lets pending steps finish; a dead Redis gets a plain disconnect.
      if (this.#cmd.status === "ready") await this.#cmd.quit().catch(() => this.#cmd.disconnect());
      else this.#cmd.disconnect();
    }
  }
}

/**
 * A cluster on Redis: several servers created with it share their users,
 * presence and Ajax clients (see the README's scale-out recipe).
 *
 * @throws TypeError without exactly one of `url` / `client`.
 */
export function redisCluster(options: RedisClusterOptions): ClusterOption {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new TypeError("redisCluster({ url | client }): give exactly one of url and client");
  }
  if (options.url !== undefined && !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError(`redisCluster({ url }): expected redis://host:port, got ${JSON.stringify(options.url)}`);
  }
  if (options.prefix !== undefined && (typeof options.prefix !== "string" || options.prefix === "")) {
    throw new TypeError("redisCluster({ prefix }): prefix must be a non-empty string");
  }
  return clusterOption(new RedisEngine(options), options);
}
