/**
 * `chsk bench` as a user runs it: the real CLI spawned against a real
 * `chsk serve` (or its own with --spawn), short runs over WebSocket, Ajax
 * and a mix, every scenario, the outputs, segments and their merge, and the
 * refusals. The reports' counts are checked against each other and against
 * the server's own /api/stats.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BenchReport, RunResult } from "../../src/bench/types.js";
import { runCli, type Served, serve, startCli } from "./cli.js";

const dir = mkdtempSync(join(tmpdir(), "chsk-bench-e2e-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const readReport = (file: string) => JSON.parse(readFileSync(file, "utf8")) as BenchReport;

interface Stats {
  events: { in: number; out: number; replies: number };
  refused: number;
}
const stats = async (s: Served) => (await (await fetch(`${s.url}/api/stats`)).json()) as Stats;

/** The bench's own books must balance. */
function assertCountsAddUp(r: RunResult): void {
  if (r.scenario === "echo") assert.equal(r.sent, r.received + r.errors + r.timeouts + r.inFlightAtStop, "sent = received + errors + timeouts + in flight");
  if (r.push) assert.equal(r.push.expected, r.push.delivered + r.push.lost, "expected = delivered + lost");
  assert.equal(r.latencyMs.count, r.scenario === "push" ? r.push!.delivered : r.received, "one latency sample per reply / delivery / handshake");
  const intervalReceived = r.intervals.reduce((a, i) => a + i.received, 0);
  assert.ok(intervalReceived >= r.received, "the per-second intervals hold all the traffic");
}

const SHORT = ["--warmup", "0s", "--duration", "1500ms", "--quiet"];

describe("chsk bench against chsk serve", () => {
  let server: Served;
  before(async () => {
    server = await serve(["--quiet"]);
  });
  after(async () => {
    await server.stop();
  });

  test("echo over WebSocket: exit 0, the table, a JSON report whose counts match the server's", async () => {
    const before = await stats(server);
    const json = join(dir, "echo-ws.json");
    const r = await runCli(["bench", `${server.url}/chsk`, "--users", "4", "--devices", "2", "--in-flight", "2", ...SHORT, "--json", json], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /echo/);
    assert.match(r.stdout, /p99/);
    const report = readReport(json);
    assert.equal(report.format, "chsk-bench/1");
    const run = report.runs[0]!;
    for (const k of ["transport", "scenario", "users", "devices", "durationS", "sent", "received", "errors", "timeouts", "lost", "throughput", "latencyMs", "generatorCpu", "histograms"]) {
      assert.ok(k in run, `JSON has ${k}`);
    }
    for (const k of ["p50", "p90", "p99", "p999", "max"]) assert.equal(typeof (run.latencyMs as unknown as Record<string, number>)[k], "number");
    assert.equal(run.transport, "ws");
    assert.equal(run.users, 4);
    assert.equal(run.devices, 2);
    assert.ok(run.received > 100, `received ${run.received}`);
    assert.equal(run.errors, 0);
    assert.equal(run.byTransport.ws?.devices, 8);
    assertCountsAddUp(run);
    // The server saw every request the bench counted and answered each one it counted as received.
    const after = await stats(server);
    assert.equal(after.events.replies - before.events.replies, run.received + run.inFlightAtStop);
    const routed = after.events.in - before.events.in;
    assert.ok(routed >= run.sent && routed <= run.sent + 20, `server routed ${routed}, bench sent ${run.sent} (plus a few chsk/uidport-* events)`);
  });

  test("echo over Ajax, open model: HTTP requests per event, latency from the intended send time", async () => {
    const json = join(dir, "echo-ajax.json");
    const r = await runCli(["bench", `${server.url}/chsk`, "--transport", "ajax", "--users", "3", "--rate", "200", ...SHORT, "--json", json], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const run = readReport(json).runs[0]!;
    assert.equal(run.transport, "ajax");
    assert.ok(run.received > 100, `received ${run.received}`);
    assert.ok(run.wire.httpRequests >= run.received, "an Ajax request/reply is at least one POST");
    assert.ok(run.wire.httpRequestsPerEvent >= 1);
    assert.ok(run.generatorCpu.sendLagMs !== undefined, "open model reports the generator's own lateness");
    assertCountsAddUp(run);
  });

  test("push to users with devices on both transports: every delivery matched by its stamp, the server's push count agrees", async () => {
    const before = await stats(server);
    const json = join(dir, "push-mix.json");
    const html = join(dir, "push-mix.html");
    const hlog = join(dir, "push-mix.hlog");
    const r = await runCli(
      ["bench", `${server.url}/chsk`, "--scenario", "push", "--transport", "mix", "--ajax-share", "0.5", "--users", "4", "--devices", "3", "--rate", "40", ...SHORT, "--json", json, "--html", html, "--hlog", hlog],
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const run = readReport(json).runs[0]!;
    const p = run.push!;
    assert.ok(p.pushes > 20, `pushes ${p.pushes}`);
    assert.equal(p.lost, 0);
    assert.equal(p.duplicates, 0);
    assert.equal(p.delivered, p.expected);
    assert.equal(p.expected, p.pushes * 3, "every push reaches the user's three devices");
    assert.equal(p.completeness, 1);
    assert.ok(run.byTransport.ws && run.byTransport.ajax, "devices on both transports");
    assert.equal(run.byTransport.ws.received + run.byTransport.ajax.received, run.received);
    assertCountsAddUp(run);
    const after = await stats(server);
    assert.equal(after.events.out - before.events.out, p.pushes, "one app push per bench push");
    const page = readFileSync(html, "utf8");
    assert.match(page, /^<!doctype html>/i);
    assert.doesNotMatch(page, /<script[^>]+src=|<link[^>]+href="?https?:/i, "self-contained: no external scripts or styles");
    assert.match(readFileSync(hlog, "utf8"), /^#\[StartTime: /m);
  });

  test("mixed: echo, push and connect users in one run", async () => {
    const json = join(dir, "mixed.json");
    const r = await runCli(["bench", `${server.url}/chsk`, "--scenario", "mixed", "--users", "10", "--devices", "2", "--churn", "500ms", ...SHORT, "--json", json], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const run = readReport(json).runs[0]!;
    assert.equal(run.scenario, "mixed");
    assert.ok(run.received > 0);
    assert.ok(run.push !== undefined && run.push.pushes > 0, "push users pushed");
    assert.ok(run.connect !== undefined && run.connect.attempts > 20, "connect users reconnected");
  });

  test("--compare: the same scenario over ws, then ajax, side by side", async () => {
    const json = join(dir, "compare.json");
    const r = await runCli(["bench", `${server.url}/chsk`, "--compare", "--users", "2", "--duration", "1s", "--warmup", "0s", "--quiet", "--json", json], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const report = readReport(json);
    assert.deepEqual(
      report.runs.map((x) => x.transport),
      ["ws", "ajax"],
    );
    assert.equal(report.params.compare, true);
    assert.match(r.stdout, /ajax/);
    assert.match(r.stdout, /ws/);
  });

  test("segments run as separate processes, started together, merge into one report", async () => {
    const startAt = new Date(Date.now() + 4_000).toISOString();
    const files = [join(dir, "seg1.json"), join(dir, "seg2.json")];
    const runs = files.map((f, i) =>
      startCli(["bench", `${server.url}/chsk`, "--users", "5", "--rate", "100", "--segment", `${i + 1}/2`, "--start-at", startAt, ...SHORT, "--json", f], 60_000).done,
    );
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
    const [a, b] = files.map(readReport) as [BenchReport, BenchReport];
    assert.equal(a.runs[0]!.users + b.runs[0]!.users, 5, "the shares cover every user once");
    assert.ok(Math.abs(a.runs[0]!.users - b.runs[0]!.users) <= 1);
    const merged = join(dir, "merged.json");
    const m = await runCli(["bench", "merge", ...files, "--json", merged], 30_000);
    assert.equal(m.code, 0, m.stderr);
    const run = readReport(merged).runs[0]!;
    assert.equal(run.users, 5);
    assert.equal(run.sent, a.runs[0]!.sent + b.runs[0]!.sent);
    assert.equal(run.received, a.runs[0]!.received + b.runs[0]!.received);
    assert.equal(run.latencyMs.count, a.runs[0]!.latencyMs.count + b.runs[0]!.latencyMs.count);
    assert.ok(run.latencyMs.max >= Math.max(a.runs[0]!.latencyMs.max, b.runs[0]!.latencyMs.max) * 0.999);
  });

  test("progress without a terminal: plain lines on stderr, no escape codes under NO_COLOR", async () => {
    const r = await runCli(["bench", `${server.url}/chsk`, "--users", "2", "--warmup", "0s", "--duration", "2s"], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr + r.stdout, /\u001b\[/);
    assert.match(r.stderr, /measure/);
  });
});

describe("chsk bench --spawn", () => {
  test("a connect storm, then everyone dropped by restarting the server: the time until 50/95/100% are back", async () => {
    const json = join(dir, "storm.json");
    const r = await runCli(["bench", "--spawn", "--scenario", "connect", "--users", "20", "--devices", "2", "--reconnect-storm", "--warmup", "500ms", "--duration", "20s", "--quiet", "--json", json], 90_000);
    assert.equal(r.code, 0, r.stderr);
    const run = readReport(json).runs[0]!;
    assert.equal(run.connect!.connected, 40);
    assert.equal(run.connect!.handshakeMs.count, 40);
    const rc = run.connect!.reconnect!;
    assert.equal(rc.how, "server-restart");
    assert.equal(rc.devices, 40);
    assert.equal(rc.back, 40, "every device came back (signed sessions outlive the restart)");
    assert.ok(rc.ms50 !== null && rc.ms95 !== null && rc.ms100 !== null);
    assert.ok(rc.ms50 <= rc.ms95 && rc.ms95 <= rc.ms100);
  });
});

describe("chsk bench refusals", () => {
  test("nothing listening: exit 1 with a stable code, no report", async () => {
    const json = join(dir, "refused.json");
    const r = await runCli(["bench", "http://127.0.0.1:9/chsk", "--users", "1", "--duration", "1s", "--timeout", "2s", "--quiet", "--json", json], 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /CHSK_ERR_BENCH_TARGET/);
  });

  test("usage errors exit 2", async () => {
    for (const args of [
      ["http://127.0.0.1:1/chsk", "--in-flight", "2", "--rate", "10"],
      ["http://127.0.0.1:1/chsk", "--segment", "3/2"],
      ["http://127.0.0.1:1/chsk", "--duration", "soon"],
      ["--spawn", "http://127.0.0.1:1/chsk"],
      [],
    ]) {
      const r = await runCli(["bench", ...args], 30_000);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    }
  });

  test("merge refuses a file that is not a bench report", async () => {
    const r = await runCli(["bench", "merge", join(dir, "missing.json")], 30_000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CHSK_ERR_/);
  });
});
