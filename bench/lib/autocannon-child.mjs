/**
 * autocannon alone in its own process, so its CPU time is its own (no tsx,
 * no bench engine): `node autocannon-child.mjs URL CONNECTIONS PIPELINING
 * SECONDS BODY`. POSTs BODY to URL and prints one JSON line per second,
 * `{"tick":k,"counter":n,"user":µs,"system":µs}` (`counter`: responses in
 * that second, autocannon's own progress tick; CPU: `process.cpuUsage()`
 * when the tick fired), then `{"done":true,...}` with autocannon's totals.
 * bench/lib/autocannon.ts spawns it and reads the lines.
 */
import autocannon from "autocannon";

const [url, connections, pipelining, seconds, body] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
// A bench that died must not leave this running: bounded whatever happens.
setTimeout(() => process.exit(3), (Number(seconds) + 15) * 1000).unref();

const instance = autocannon({
  url,
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
  connections: Number(connections),
  pipelining: Number(pipelining),
  duration: Number(seconds),
});
let tick = 0;
instance.on("tick", ({ counter }) => {
  const c = process.cpuUsage();
  out({ tick: ++tick, counter, user: c.user, system: c.system });
});
instance.on("done", (r) => {
  out({
    done: true,
    requests: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99 },
  });
  process.exit(0);
});
