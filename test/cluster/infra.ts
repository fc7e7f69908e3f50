/**
 * Test and ops infrastructure for the cluster tests (issue 10): a real
 * redis-server and a real round-robin balancer (haproxy) on free loopback
 * ports, stopped by pid. Independent of the cluster adapter's code: these
 * helpers only spawn and talk to the daemons.
 */
export { type Backend, type BackendSpec, type BalancerHandle, type BalancerOptions, haproxyConfig, type HaproxyConfigOptions, startBalancer } from "./haproxy.js";
export { AddrInUseError, daemonEnv, freePort, retryOnAddrInUse } from "./process.js";
export { type RedisHandle, type RedisOptions, redisPing, startRedis } from "./redis.js";
