/**
 * `chsk bench` output: the final table, the HdrHistogram interval log (read
 * back with hdr-histogram-js's reader), `chsk bench merge` (percentiles from
 * merged histograms, never averaged; seconds aligned on wall-clock time;
 * bad files refused with stable codes) and the HTML report's markup. Every
 * report here is made of real recorded histograms (bench-report-fixture.ts).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as hdr from "hdr-histogram-js";
import { isChskError } from "../../src/core/protocol/errors.js";
import { createHistogram, decodeHist, encodeHist, initHistograms, latencyMsOfEncoded, mergeToEncoded, recordUs } from "../../src/bench/histogram.js";
import { mergeReports, readReportFile } from "../../src/bench/merge.js";
import { formatHlog } from "../../src/bench/report/hlog.js";
import { renderHtmlReport } from "../../src/bench/report/html.js";
import { formatRunTable } from "../../src/bench/report/table.js";
import { fmtMs } from "../../src/bench/report/summary.js";
import type { BenchReport, RunResult } from "../../src/bench/types.js";
import { compareReport, latencySampler, MACHINE, pushConnectReport, report, syntheticRun } from "./bench-report-fixture.js";

const ESC = "\u001b[";
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const countOf = (encoded: string): number => latencyMsOfEncoded(encoded).count;

before(() => initHistograms());

describe("formatRunTable", () => {
  it("prints one row per run with throughput and p50/p90/p99/p99.9/max from the report", () => {
    const r = compareReport();
    const text = formatRunTable(r, { color: false });
    for (const run of r.runs) {
      const row = text.split("\n").find((l) => l.startsWith(`  ${run.scenario} · ${run.transport} `) && l.includes("×"));
      assert.ok(row, `a latency row for ${run.transport}:\n${text}`);
      const cells = row.trim().split(/\s{2,}/);
      const l = run.latencyMs;
      assert.deepEqual(cells.slice(1), [
        `${run.users}×${run.devices}`,
        Math.round(run.throughput).toLocaleString("en-US"),
        fmtMs(l.p50),
        fmtMs(l.p90),
        fmtMs(l.p99),
        fmtMs(l.p999),
        fmtMs(l.max),
      ]);
    }
    const ajax = r.runs[1]!;
    const counts = text.split("\n").find((l) => l.startsWith("  echo · ajax ") && !l.includes("×") && !l.includes("CPU"));
    assert.deepEqual(counts?.trim().split(/\s{2,}/).slice(1), [ajax.sent, ajax.received, ajax.errors, 0, 0, 0].map((n) => n.toLocaleString("en-US")));
    assert.match(text, /echo · ajax errors: CHSK_ERR_TIMEOUT ×8/);
  });

  it("shows a mix run's devices by transport", () => {
    const text = formatRunTable(compareReport(), { color: false });
    const mix = compareReport().runs[2]!;
    for (const t of ["ws", "ajax"] as const) {
      const row = text.split("\n").find((l) => l.includes(`└ ${t} devices`));
      assert.ok(row, text);
      assert.ok(row.includes(fmtMs(mix.byTransport[t]!.latencyMs.p99)), row);
    }
  });

  it("is plain text that fits 80 columns without color, with aligned columns", () => {
    const r = compareReport();
    r.runs[1]!.generatorCpu = { ...r.runs[1]!.generatorCpu, saturated: true, reason: "load worker 2's event loop was busy 97% of the window (add --workers)" };
    const text = formatRunTable(r, { color: false });
    assert.ok(!text.includes(ESC), "no escape without color");
    for (const line of text.split("\n")) assert.ok([...line].length <= 80, `over 80 columns: ${JSON.stringify(line)}`);
    // Right-aligned numbers: every row of a section ends in the same column.
    const latencyRows = text.split("\n").filter((l) => /^ {2}echo · \w+ +\d+×\d/.test(l));
    assert.equal(latencyRows.length, 3);
    assert.equal(new Set(latencyRows.map((l) => l.length)).size, 1, latencyRows.join("\n"));
  });

  it("paints with color, and only the paint differs", () => {
    const r = compareReport();
    const colored = formatRunTable(r, { color: true });
    assert.match(colored, /\u001b\[31m +8\u001b\[39m/, "a non-zero error count is red");
    assert.equal(colored.replace(/\u001b\[\d+m/g, ""), formatRunTable(r, { color: false }));
  });

  it("flags a saturated generator with its reason, and lists each worker's ELU", () => {
    const r = compareReport();
    r.runs[0]!.generatorCpu = { processShare: 1.93, workerElu: [0.97, 0.52], saturated: true, reason: "load worker 1's event loop was busy 97% of the window (add --workers)" };
    const text = formatRunTable(r, { color: false });
    assert.match(text, /echo · ws +CPU 1\.93 cores · worker ELU 97% 52%/);
    const joined = text.replace(/\n +/g, " ");
    assert.ok(
      joined.includes("⚠ generator saturated: load worker 1's event loop was busy 97% of the window (add --workers) — latencies may be the generator's, not the server's"),
      text,
    );
    assert.match(text, /⚠ 3 runs completed, with problems:\n {2}echo · ws: generator saturated\n {2}echo · ajax: 8 errors/);
    assert.doesNotMatch(formatRunTable(compareReport(), { color: false }), /generator saturated/);
  });

  it("compares ws and ajax side by side with ajax/ws ratios", () => {
    const r = compareReport();
    const [ws, ajax] = r.runs as [RunResult, RunResult];
    const text = formatRunTable(r, { color: false });
    const block = text.slice(text.indexOf("ws vs ajax · echo"));
    const row = (label: string) => block.split("\n").find((l) => l.trim().startsWith(label))?.trim().split(/\s{2,}/);
    assert.deepEqual(row("throughput msg/s"), ["throughput msg/s", "4,000", "1,500", `${(ajax.throughput / ws.throughput).toFixed(2)}×`]);
    assert.equal(row("p99 ms")?.[3], `${(ajax.latencyMs.p99 / ws.latencyMs.p99).toFixed(2)}×`);
    assert.deepEqual(row("bytes / event"), ["bytes / event", "80.0", "420.0", "5.25×"]);
    // No ratio to a zero: WebSocket makes no HTTP request per event.
    assert.deepEqual(row("HTTP requests / event"), ["HTTP requests / event", "0.000", "1.020", "–"]);
    const single = report([ws]);
    assert.doesNotMatch(formatRunTable(single, { color: false }), /ws vs ajax/);
  });

  it("adds push delivery and connect figures when the runs have them", () => {
    const r = pushConnectReport();
    const [push, connect] = r.runs as [RunResult, RunResult];
    const text = formatRunTable(r, { color: false });
    const pushRow = text.split("\n").find((l) => l.startsWith("  push · ws ") && l.includes("%"));
    assert.deepEqual(pushRow?.trim().split(/\s{2,}/), [
      "push · ws",
      `${((push.push!.completeness * 100).toFixed(1))}%`,
      "99.8%",
      `${push.push!.deliveredInWindow.toLocaleString("en-US")}/${push.push!.expected.toLocaleString("en-US")}`,
      fmtMs(push.push!.skewMs.p99),
      "0",
      "1",
    ]);
    const c = connect.connect!;
    const connectRow = text.split("\n").find((l) => l.startsWith("  connect · ajax ") && l.includes("/"));
    assert.deepEqual(connectRow?.trim().split(/\s{2,}/), [
      "connect · ajax",
      `${c.connected}/${c.attempts}`,
      fmtMs(c.handshakeMs.p50),
      fmtMs(c.handshakeMs.p99),
      fmtMs(c.handshakeMs.max),
      "2",
      "6.2 / 14.1 / 60.3",
    ]);
    assert.match(text, /connect · ajax failures: http-503 ×2/);
    assert.match(text, /reconnect storm \(every client dropped\): 150\/150 back/);
    assert.doesNotMatch(formatRunTable(compareReport(), { color: false }), /push delivery|connect \(ms\)/);
  });
});

describe("formatHlog", () => {
  it("writes the standard header: version, StartTime, BaseTime, units, legend", () => {
    const r = compareReport();
    const lines = formatHlog(r).split("\n");
    const base = Math.min(...r.runs.flatMap((x) => x.intervals.map((i) => i.t)));
    assert.equal(lines[0], "#[Histogram log format version 1.3]");
    assert.equal(lines[1], `#[StartTime: ${(base / 1000).toFixed(3)} (seconds since epoch), ${new Date(base).toISOString()}]`);
    assert.equal(lines[2], `#[BaseTime: ${(base / 1000).toFixed(3)} (seconds since epoch)]`);
    assert.ok(lines.includes("#[chsk bench: values in microseconds; Interval_Max in milliseconds (max / 1000)]"));
    assert.ok(lines.includes('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'));
    assert.ok(!lines.slice(0, -1).includes(""), "no blank line (the Java reader takes it for a bad interval)");
    const first = lines.find((l) => l.startsWith("Tag="));
    assert.match(first ?? "", /^Tag=echo-ws,0\.000,1\.000,\d+\.\d{3},HISTF/);
  });

  it("reads back with HistogramLogReader: one tag per run, every interval's time and counts", () => {
    const r = compareReport();
    const log = formatHlog(r);
    assert.deepEqual(hdr.listTags(log).sort(), ["echo-ajax", "echo-mix", "echo-ws"]);
    const reader = new hdr.HistogramLogReader(log, 32, false);
    const read: { tag: string; start: number; end: number; count: number; p99: number; max: number }[] = [];
    for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
      read.push({ tag: h.tag, start: h.startTimeStampMsec, end: h.endTimeStampMsec, count: h.totalCount, p99: h.getValueAtPercentile(99), max: h.maxValue });
    }
    const expected = r.runs.flatMap((run, i) =>
      run.intervals.map((iv) => {
        const h = decodeHist(iv.histogram);
        const e = { tag: ["echo-ws", "echo-ajax", "echo-mix"][i]!, start: iv.t, end: iv.t + 1000, count: h.totalCount, p99: h.getValueAtPercentile(99), max: h.maxValue };
        h.destroy();
        return e;
      }),
    );
    expected.sort((a, b) => a.start - b.start);
    assert.equal(read.length, expected.length);
    for (const [i, e] of expected.entries()) {
      const got = read[i]!;
      assert.equal(got.tag, e.tag);
      assert.ok(Math.abs(got.start - e.start) < 1 && Math.abs(got.end - e.end) < 1, `interval ${i} time ${got.start} vs ${e.start}`);
      assert.deepEqual([got.count, got.p99, got.max], [e.count, e.p99, e.max], `interval ${i} of ${e.tag}`);
    }
    // The whole measured window of a run, rebuilt from the log, is the report's histogram.
    const ws = r.runs[0]!;
    const measured = ws.intervals.filter((iv) => iv.phase === "measure").map((iv) => iv.t);
    const fromLog = read.filter((x) => x.tag === "echo-ws" && measured.some((t) => Math.abs(t - x.start) < 1)).reduce((a, x) => a + x.count, 0);
    assert.equal(fromLog, ws.latencyMs.count);
  });
});

/** Two segments of one echo run on two machines: different latencies, the second a second late. */
function segments(): { a: BenchReport; b: BenchReport; values: number[] } {
  const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
  const one = syntheticRun({ scenario: "echo", transport: "mix", users: 50, devices: 2, t0, perSecond: 2000, sampler: latencySampler(11, 800), ajaxSampler: latencySampler(12, 5000) });
  const two = syntheticRun({
    scenario: "echo",
    transport: "mix",
    users: 50,
    devices: 2,
    t0: t0 + 1000,
    perSecond: 500,
    sampler: latencySampler(13, 4000, 20),
    ajaxSampler: latencySampler(14, 9000),
    errorsPerSecond: 2,
  });
  const seg = (i: number) => ({ segment: { index: i, count: 2 }, transport: "mix" as const });
  const a = report([one.run], seg(1));
  const b = report([two.run], seg(2), { machine: [{ ...MACHINE, hostname: "bench-2" }] });
  return { a, b, values: [...one.values, ...two.values] };
}

describe("mergeReports", () => {
  it("merges histograms: the percentiles of one histogram of every value, never averages", () => {
    const { a, b, values } = segments();
    const merged = mergeReports([a, b], ["a.json", "b.json"]);
    const all = createHistogram();
    for (const v of values) recordUs(all, v);
    // As a single machine's report would hold it: encoded (its max is then the top of the max's bucket).
    const truth = latencyMsOfEncoded(encodeHist(all));
    all.destroy();
    const run = merged.runs[0]!;
    assert.deepEqual(run.latencyMs, truth);
    const [pa, pb] = [a.runs[0]!.latencyMs.p99, b.runs[0]!.latencyMs.p99];
    assert.notEqual(run.latencyMs.p99, (pa + pb) / 2, "the segments differ enough that an average would show");
    // byTransport merged the same way.
    for (const t of ["ws", "ajax"] as const) {
      const h = mergeToEncoded([a.runs[0]!.byTransport[t]!.histogram, b.runs[0]!.byTransport[t]!.histogram]);
      assert.deepEqual(run.byTransport[t]!.latencyMs, latencyMsOfEncoded(h));
      assert.equal(run.byTransport[t]!.devices, a.runs[0]!.byTransport[t]!.devices + b.runs[0]!.byTransport[t]!.devices);
    }
  });

  it("sums counts and users, recomputes throughput over the union of the windows, and concatenates machines", () => {
    const { a, b } = segments();
    const [ra, rb] = [a.runs[0]!, b.runs[0]!];
    const merged = mergeReports([a, b], ["a.json", "b.json"]);
    const run = merged.runs[0]!;
    for (const k of ["sent", "received", "errors", "timeouts", "lost"] as const) assert.equal(run[k], ra[k] + rb[k], k);
    assert.equal(run.users, 100);
    assert.equal(run.devices, 2, "devices per user do not add up");
    const windowS = (rb.windowEnd - ra.windowStart) / 1000;
    assert.equal(run.durationS, windowS);
    assert.equal(run.throughput, Math.round(((ra.received + rb.received) / windowS) * 10) / 10);
    assert.equal(run.wire.bytesSent, ra.wire.bytesSent + rb.wire.bytesSent);
    assert.deepEqual(run.errorCodes, { CHSK_ERR_TIMEOUT: rb.errors });
    assert.deepEqual(run.generatorCpu.workerElu, [...ra.generatorCpu.workerElu, ...rb.generatorCpu.workerElu]);
    assert.deepEqual(merged.machine.map((m) => m.hostname), ["bench-1", "bench-2"]);
    assert.deepEqual(merged.mergedFrom, ["a.json", "b.json"]);
    assert.equal(merged.params.segment, undefined);
    assert.equal(merged.params.users, 100);
    assert.equal(merged.startedAt, a.startedAt);
  });

  it("aligns intervals on their wall-clock second: same second summed and merged", () => {
    const { a, b } = segments();
    const merged = mergeReports([a, b], ["a.json", "b.json"]);
    const [ia, ib] = [a.runs[0]!.intervals, b.runs[0]!.intervals];
    const iv = merged.runs[0]!.intervals;
    const seconds = [...new Set([...ia, ...ib].map((i) => i.t))].sort((x, y) => x - y);
    assert.deepEqual(
      iv.map((i) => i.t),
      seconds,
    );
    for (const s of iv) {
      const parts = [...ia, ...ib].filter((i) => i.t === s.t);
      assert.equal(s.received, parts.reduce((n, p) => n + p.received, 0));
      assert.equal(s.connected, parts.reduce((n, p) => n + p.connected, 0));
      const h = mergeToEncoded(parts.map((p) => p.histogram));
      const l = latencyMsOfEncoded(h);
      assert.deepEqual([countOf(s.histogram), s.p50, s.p99, s.max], [l.count, l.p50, l.p99, l.max], `second ${s.t}`);
      assert.equal(s.elapsedS, (s.t - ia[0]!.t) / 1000);
    }
    // A second both segments measured is measured.
    const both = iv.find((s) => ia.some((x) => x.t === s.t && x.phase === "measure") && ib.some((x) => x.t === s.t && x.phase === "warmup"));
    assert.equal(both?.phase, "measure");
  });

  it("recomputes push completeness, skew and connect figures from sums and merged histograms", () => {
    const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
    const mk = (i: number, median: number) => {
      const r = syntheticRun({ scenario: "push", transport: "ws", users: 20, devices: 3, t0, perSecond: 300, sampler: latencySampler(20 + i, median) });
      r.run.connect = { attempts: 60, connected: 58 + i, failures: { "http-503": 2 - i }, handshakeMs: latencyMsOfEncoded(r.run.histograms.handshake!) };
      return report([r.run], { scenario: "push", segment: { index: i + 1, count: 2 } });
    };
    const [a, b] = [mk(0, 1000), mk(1, 6000)];
    const [pa, pb] = [a.runs[0]!.push!, b.runs[0]!.push!];
    pb.deliveredInWindow -= 40;
    const run = mergeReports([a, b], ["a", "b"]).runs[0]!;
    const p = run.push!;
    assert.equal(p.expected, pa.expected + pb.expected);
    assert.equal(p.completeness, (pa.deliveredInWindow + pb.deliveredInWindow) / (pa.expected + pb.expected));
    assert.deepEqual(p.skewMs, latencyMsOfEncoded(mergeToEncoded([a.runs[0]!.histograms.skew!, b.runs[0]!.histograms.skew!])));
    assert.equal(p.reorders, pa.reorders + pb.reorders);
    const c = run.connect!;
    assert.deepEqual([c.attempts, c.connected, c.failures], [120, 117, { "http-503": 3 }]);
    assert.deepEqual(c.handshakeMs, latencyMsOfEncoded(mergeToEncoded([a.runs[0]!.histograms.handshake!, b.runs[0]!.histograms.handshake!])));
  });

  it("refuses files that are not segments of one run, with CHSK_ERR_BENCH_MERGE", () => {
    const { a, b } = segments();
    const refuses = (reports: unknown[], match: RegExp) =>
      assert.throws(
        () => mergeReports(reports as BenchReport[], ["a.json", "b.json", "c.json"]),
        (e: unknown) => isChskError(e, "CHSK_ERR_BENCH_MERGE") && match.test(e.message),
      );
    refuses([a, { ...clone(b), params: { ...b.params, scenario: "push" } }], /b\.json: scenario push differs/);
    refuses([a, { ...clone(b), params: { ...b.params, rate: 500 } }], /b\.json: parameters differ .*\(inFlight, rate\)|b\.json: parameters differ .*rate/);
    refuses([a, { ...clone(b), format: "chsk-bench/0" }], /b\.json: not a chsk-bench\/1 report/);
    refuses([a, { hello: "world" }], /b\.json: not a chsk-bench\/1 report/);
    refuses([a, clone(a)], /segment 1\/2 is given twice/);
    refuses([a], /segment 2 of 2 missing/);
    refuses([a, { ...clone(b), runs: [{ ...clone(b.runs[0]!), transport: "ws" }] }], /b\.json: runs .* differ/);
    refuses([a, { ...clone(b), runs: [{ ...clone(b.runs[0]!), histograms: {} }] }], /b\.json: run 1 has no encoded latency histogram/);
    const corrupt = clone(b);
    corrupt.runs[0]!.histograms.latency = "HISTFAAAnot-a-histogram";
    refuses([a, corrupt], /cannot merge run echo\/mix/);
    const unsegmented = (r: BenchReport) => {
      const c = clone(r);
      delete c.params.segment;
      return c;
    };
    refuses([unsegmented(a), unsegmented(b)], /a\.json: is not a segment/);
    // Workers differ with each machine's cores: that is fine, and summed.
    assert.equal(mergeReports([a, { ...clone(b), params: { ...b.params, workers: 7 } }], ["a", "b"]).params.workers, 9);
  });

  describe("readReportFile", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "chsk-bench-report-"));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it("reads a report, and says why a file is not one", async () => {
      const { a } = segments();
      await writeFile(join(dir, "a.json"), JSON.stringify(a));
      await writeFile(join(dir, "bad.json"), "{ not json");
      await writeFile(join(dir, "other.json"), JSON.stringify({ log: { entries: [] } }));
      assert.deepEqual(await readReportFile(join(dir, "a.json")), a);
      await assert.rejects(readReportFile(join(dir, "missing.json")), (e: unknown) => isChskError(e, "CHSK_ERR_FILE") && /no such file/.test(e.message));
      await assert.rejects(readReportFile(join(dir, "bad.json")), (e: unknown) => isChskError(e, "CHSK_ERR_BENCH_MERGE") && /not JSON/.test(e.message));
      await assert.rejects(readReportFile(join(dir, "other.json")), (e: unknown) => isChskError(e, "CHSK_ERR_BENCH_MERGE") && /not a chsk-bench\/1 report/.test(e.message));
      await assert.rejects(readReportFile(dir), (e: unknown) => isChskError(e, "CHSK_ERR_FILE"));
    });
  });
});

describe("renderHtmlReport (markup)", () => {
  it("is one self-contained file: no URL to load, one hashed script, a CSP that forbids fetching", async () => {
    const html = await renderHtmlReport(compareReport());
    assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, "nothing loaded by reference");
    assert.doesNotMatch(html, /@import|url\(\s*["']?https?:/i);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? "";
    assert.match(csp, /default-src 'none'/);
    const hash = /script-src 'sha256-([^']+)'/.exec(csp)?.[1];
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    const { createHash } = await import("node:crypto");
    assert.equal(createHash("sha256").update(scripts[0]!, "utf8").digest("base64"), hash, "the CSP hash is the script's");
    assert.match(scripts[0]!, /Leon Sorokin/, "uPlot's license travels with it");
    for (const id of ["latency", "echo-ws-rate", "echo-ws-latency", "echo-ajax-rate", "echo-mix-latency"]) assert.ok(html.includes(`data-chart="${id}"`), id);
  });

  it("escapes every string from the report", async () => {
    const r = pushConnectReport();
    const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    r.params.url = `http://x/${evil}`;
    r.machine[0]!.hostname = evil;
    r.runs[1]!.connect!.failures = { [evil]: 1 };
    r.runs[0]!.errorCodes = { [`</script>${evil}`]: 3 };
    const html = await renderHtmlReport(r);
    assert.ok(!html.includes("<script>alert"), "no script injected");
    assert.ok(!html.includes("<img"), "no element injected");
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The plot data cannot close its element either.
    const data = /<script type="application\/json" id="chsk-bench-plots">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    assert.ok(JSON.parse(data).charts.length > 0);
  });
});
