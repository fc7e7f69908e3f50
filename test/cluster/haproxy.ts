/**
 * A real haproxy (Debian's 2.6) doing plain round-robin in front of chsk
 * nodes, for the cluster tests. The config comes from {@link haproxyConfig},
 * the same function that wrote docs/haproxy.cfg (test/unit/cluster-docs.test.ts
 * checks the two agree), so what the tests run is what the docs ship.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddrInUseError, type Daemon, launch, retryOnAddrInUse, stopDaemon, tcpExchange, waitReady } from "./process.js";

export interface Backend {
  host: string;
  port: number;
}

/** A backend, or only its port on 127.0.0.1. */
export type BackendSpec = Backend | number;

export interface HaproxyConfigOptions {
  listenPort: number;
  backends: BackendSpec[];
}

const asBackend = (b: BackendSpec): Backend => (typeof b === "number" ? { host: "127.0.0.1", port: b } : b);

/**
 * The haproxy config for chsk nodes behind one port. Comments included: the
 * docs copy is this text verbatim (`node --import tsx test/cluster/write-docs.ts`).
 */
export function haproxyConfig({ listenPort, backends }: HaproxyConfigOptions): string {
  if (backends.length === 0) throw new RangeError("haproxyConfig: no backends");
  const servers = backends
    .map(asBackend)
    .map((b, i) => `    server node${i + 1} ${b.host}:${b.port}`)
    .join("\n");
  return `\
# haproxy (2.6+) in front of ${backends.length} \`chsk serve --redis\` processes: one public port,
# plain round-robin, no sticky sessions.
#
#   haproxy -f docs/haproxy.cfg          # add -db to stay in the foreground
#
# Written by haproxyConfig() in test/cluster/infra.ts; the cluster tests run
# this same config on free ports (regenerate this file with
# \`node --import tsx test/cluster/write-docs.ts\`).
#
# No global section: haproxy sizes maxconn from the fd limit (ulimit -n);
# an explicit global maxconn above that limit makes it refuse to start.

defaults
    mode http

    # A node that does not accept a connection in 2 s is treated as down
    # for this request (see retries below).
    timeout connect 2s

    # Ajax long-polls: a node holds a GET for lp-timeout-ms (Sente's default
    # 20 s; chsk refuses 60 s or more) with no byte flowing either way. Both
    # sides' inactivity timeouts must outlast it, or haproxy answers a
    # waiting poll with 504 and the client reconnects for nothing.
    timeout client 75s
    timeout server 75s

    # After the 101, a WebSocket is a tunnel. chsk pings every 12.5 s
    # (clients every 10 s), so this only reaps tunnels whose peer vanished.
    timeout tunnel 1h

    # haproxy's default, spelled out: keep-alive on both sides, and every
    # request is balanced on its own, even on one reused client connection,
    # so an Ajax client's polls and POSTs land on different nodes (the Redis
    # cluster adapter is built for exactly that). "mode tcp" would pick a
    # node once per connection, and "option prefer-last-server" (with
    # "http-reuse never") keeps a client on one node: neither is needed.
    option http-keep-alive

    # Nodes see the client's address in X-Forwarded-For.
    option forwardfor

    # A request whose node refuses the connection (killed, restarting) goes
    # to another node at once ("redispatch 1": on every retry, not only the
    # last). Only connection failures are retried (retry-on conn-failure, the
    # default): a POST a node may already have handled is never replayed.
    retries 2
    option redispatch 1
    retry-on conn-failure

frontend chsk
    # Loopback only; "bind :${listenPort}" serves other machines.
    bind 127.0.0.1:${listenPort}
    default_backend chsk_nodes

backend chsk_nodes
    # Plain round-robin over WebSocket upgrades and plain HTTP alike: no
    # cookie, no stick-table, no "balance source". Any node can serve any
    # request of any client: sessions are signed cookies every node checks
    # with the same secret, and pushes, presence and undelivered Ajax
    # frames live in Redis.
    balance roundrobin

    # TCP connect check every 500 ms: one failure takes a node out of the
    # rotation, one success puts it back. Between a node's death and the
    # next check, redispatch above covers the requests sent to it.
    default-server check inter 500ms fall 1 rise 1
${servers}
`;
}

export interface BalancerOptions {
  backends: BackendSpec[];
  /** Only haproxy: nginx is not installed where these tests run (docs/nginx.conf is the nginx recipe). */
  kind?: "haproxy";
  /** @default 10_000 */
  startTimeoutMs?: number;
}

export interface BalancerHandle {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The config it runs (haproxyConfig() output). */
  readonly config: string;
  /** Where that config is, in a temp dir `stop()` removes. */
  readonly configPath: string;
  /** haproxy's stderr and stdout so far (alerts, "Server chsk_nodes/node1 is DOWN", ...). */
  output(): string;
  /** Stops it by pid and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const BIND_FAILED = /cannot bind socket|Address already in use/;

export async function startBalancer(opts: BalancerOptions): Promise<BalancerHandle> {
  if ((opts.kind ?? "haproxy") !== "haproxy") throw new TypeError(`startBalancer: unsupported kind ${String(opts.kind)}`);
  const dir = mkdtempSync(join(tmpdir(), "chsk-haproxy-"));
  const cfgPath = join(dir, "haproxy.cfg");
  const timeoutMs = opts.startTimeoutMs ?? 10_000;

  const spawnAt = async (port: number) => {
    const config = haproxyConfig({ listenPort: port, backends: opts.backends });
    writeFileSync(cfgPath, config);
    // -db: foreground, no master process, so the pid is haproxy's own.
    // -dR: no SO_REUSEPORT. With it a second haproxy on a taken port would
    // bind anyway and silently share that port's connections.
    const d = launch(`haproxy :${port}`, "haproxy", ["-f", cfgPath, "-db", "-dR"], dir);
    try {
      await waitReady(d, async () => (await tcpExchange(port, undefined, () => true)) !== undefined, timeoutMs, "listening port");
    } catch (e) {
      if (BIND_FAILED.test(d.output())) throw new AddrInUseError(port, d.output());
      throw e;
    }
    return { port, config, daemon: d };
  };

  let started: { port: number; config: string; daemon: Daemon };
  try {
    started = await retryOnAddrInUse(spawnAt);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const { port, config, daemon } = started;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: daemon.pid,
    config,
    configPath: cfgPath,
    output: () => daemon.output(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopDaemon(daemon);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
