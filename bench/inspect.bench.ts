/**
 * The inspector's decoder (`createFrameDecoder` + `createSessionModel`):
 *
 * 1. Throughput: records decoded, paired and summarised per second on one
 *    core, from WireEvents of realistic synthetic traffic (WS and Ajax
 *    clients: calls and replies, pushes, pings and pongs, polls, POSTs) for
 *    each packer, and from a JSONL recording of the same traffic (parse
 *    line → WireEvent → decode → summarise: what `--replay` does). Goal:
 *    ≥ 50,000 records/s.
 *    Plus `recordToJson` alone (what `--record` and `--format jsonl` pay per
 *    record), against the key-list replacer it replaced, in the same run.
 * 2. Memory: `--minutes` (10) of that traffic at `--rate` frames/s (5,000,
 *    the TUI's target) generated on the fly, with client churn (every client
 *    lives 30–120 s, then reconnects or is replaced), through the decoder,
 *    the session model and a ring buffer of `--ring` (10,000) records, as
 *    the TUI holds them. Heap after a full GC, once per simulated minute:
 *    it must stay flat.
 *
 * Run: npm run bench:inspect  [-- --minutes 10 --rate 5000 --ring 10000 --events 200000 --rounds 3
 *      --clients 500 --max-conns 2000 --packers edn,transit,json,msgpack,gzip+edn]
 *      (--minutes 0: throughput only; --packers "": memory only)
 */
import { writeFileSync } from "node:fs";

import {
  createFrameDecoder,
  createSessionModel,
  parseRecordLine,
  recordToJson,
  recordToWireEvent,
  type FrameRecord,
  type WireEvent,
} from "../src/core/index.js";
import { kw } from "../src/core/edn/index.js";
import { packerByName, type Packer, type PackerName } from "../src/core/packers/index.js";
import {
  encodeClientEvent,
  encodeClientPong,
  encodeDummyCb200,
  encodeHandshake,
  encodeLpTimeout,
  encodePong,
  encodePush,
  encodeReply,
  encodeServerPing,
} from "../src/core/protocol/codec.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const MINUTES = arg("minutes", 10);
const RATE = arg("rate", 5000);
const RING = arg("ring", 10_000);
const EVENTS = arg("events", 200_000);
const ROUNDS = arg("rounds", 3);
const CLIENTS = arg("clients", 500);
const PACKERS = (() => {
  const i = process.argv.indexOf("--packers");
  return (i >= 0 ? process.argv[i + 1]! : "edn,transit,json,msgpack,gzip+edn").split(",").filter(Boolean) as PackerName[];
})();
/**
 * The memory phase's bound on tracked connections (decoder `maxTracked`,
 * model `maxConns`), low enough that a 10-minute run reaches it: past it
 * the heap must stop growing. Each tracked connection costs about 1.3 KB,
 * so the default bound (10,000) plateaus about 10 MB higher.
 */
const MAX_CONNS = arg("max-conns", 2000);

// ---------------------------------------------------------------------------
// Synthetic traffic

/** A small deterministic PRNG (mulberry32): the same traffic every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Client {
  clientId: string;
  uid: string;
  ws: boolean;
  /** The WS socket id. */
  conn: string;
  diesAt: number;
  nextPingAt: number;
  nextPollAt: number;
  cb: number;
}

/**
 * Traffic of `clients` concurrent clients (70 % WS, 30 % Ajax) at about
 * `rate` frames/s, in time order. Per client action: a call (reply after
 * 1–60 ms, 1 % never), an event, a push batch of 1–5 events; WS clients are
 * pinged every 12.5 s idle and pong; Ajax polls time out every 20 s. A
 * client lives 30–120 s, then closes: 20 % come back with the same client
 * id (a reconnect), the rest are new tabs.
 */
class Traffic {
  readonly #r = rng(42);
  readonly #p: Packer;
  readonly #clients: Client[] = [];
  /** Future events by ms. */
  readonly #later = new Map<number, WireEvent[]>();
  #t: number;
  #nextId = 0;
  #xid = 0;
  readonly #perMs: number;

  constructor(
    packer: Packer,
    readonly clients: number,
    rate: number,
    t0 = Date.UTC(2026, 0, 1),
  ) {
    this.#p = packer;
    this.#t = t0;
    this.#perMs = rate / 1000;
  }

  #at(t: number, e: WireEvent): void {
    const list = this.#later.get(t);
    if (list === undefined) this.#later.set(t, [e]);
    else list.push(e);
  }

  #newClient(out: WireEvent[], reuse?: Client): Client {
    const id = this.#nextId++;
    const ws = reuse ? reuse.ws : this.#r() < 0.7;
    const c: Client = {
      clientId: reuse ? reuse.clientId : `cid-${id.toString(36)}-${Math.floor(this.#r() * 1e9).toString(36)}`,
      uid: reuse ? reuse.uid : `user-${Math.floor(this.#r() * (this.clients / 2))}`,
      ws,
      conn: `ws-${id}`,
      diesAt: this.#t + 30_000 + Math.floor(this.#r() * 90_000),
      nextPingAt: this.#t + 12_500,
      nextPollAt: this.#t + 20_000,
      cb: 0,
    };
    const p = this.#p;
    if (ws) {
      out.push({ type: "open", at: this.#t, transport: "ws", connId: c.conn, clientId: c.clientId, url: `/chsk?client-id=${c.clientId}` });
      out.push(this.#ws(c, "s2c", encodeHandshake(p, c.uid, { v: 1 })));
    } else {
      const x = `x-${this.#xid++}`;
      out.push({ type: "open", at: this.#t, transport: "ajax", connId: x, clientId: c.clientId });
      out.push({ type: "frame", at: this.#t, dir: "s2c", transport: "ajax", channel: "poll", connId: x, clientId: c.clientId, data: encodeHandshake(p, c.uid), status: 200, handshake: true });
    }
    return c;
  }

  #ws(c: Client, dir: "c2s" | "s2c", data: string | Uint8Array, at = this.#t): WireEvent {
    return { type: "frame", at, dir, transport: "ws", channel: "ws", connId: c.conn, data };
  }

  #value(): unknown {
    const r = this.#r;
    return { id: Math.floor(r() * 1e6), name: "item", qty: Math.floor(r() * 10), price: Math.floor(r() * 10000) / 100, tags: [kw("a"), kw("b")] };
  }

  #act(c: Client, out: WireEvent[]): void {
    const r = this.#r();
    const p = this.#p;
    const t = this.#t;
    const lat = 1 + Math.floor(this.#r() * 60);
    if (r < 0.45) {
      // A call and, 99 % of the time, its reply.
      const v = this.#value();
      if (c.ws) {
        const cb = (c.cb++).toString(16).padStart(6, "0");
        out.push(this.#ws(c, "c2s", encodeClientEvent(p, ["shop/get", v], cb)));
        if (this.#r() < 0.99) this.#at(t + lat, this.#ws(c, "s2c", encodeReply(p, { ok: true, item: v }, cb), t + lat));
      } else {
        const x = `x-${this.#xid++}`;
        out.push({ type: "frame", at: t, dir: "c2s", transport: "ajax", channel: "post", connId: x, clientId: c.clientId, data: encodeClientEvent(p, ["shop/get", v], "ajax") });
        const reply = this.#r() < 0.99 ? encodeReply(p, { ok: true, item: v }, null) : encodeLpTimeout(p);
        this.#at(t + lat, { type: "frame", at: t + lat, dir: "s2c", transport: "ajax", channel: "post-reply", connId: x, data: reply, status: 200 });
      }
    } else if (r < 0.6) {
      // Fire and forget.
      if (c.ws) out.push(this.#ws(c, "c2s", encodeClientEvent(p, ["ui/click", { x: 1, y: 2 }], null)));
      else {
        const x = `x-${this.#xid++}`;
        out.push({ type: "frame", at: t, dir: "c2s", transport: "ajax", channel: "post", connId: x, clientId: c.clientId, data: encodeClientEvent(p, ["ui/click", { x: 1 }], null) });
        this.#at(t + 1, { type: "frame", at: t + 1, dir: "s2c", transport: "ajax", channel: "post-reply", connId: x, data: encodeDummyCb200(p), status: 200 });
      }
    } else {
      // A push batch of 1-5 events.
      const n = 1 + Math.floor(this.#r() * 5);
      const batch = encodePush(
        p,
        Array.from({ length: n }, (_, i) => ["market/tick", { sym: `S${i}`, bid: 100 + i, ask: 101 + i }] as const),
      );
      if (c.ws) out.push(this.#ws(c, "s2c", batch));
      else out.push({ type: "frame", at: t, dir: "s2c", transport: "ajax", channel: "poll", connId: `x-${this.#xid++}`, clientId: c.clientId, data: batch, status: 200 });
    }
  }

  /** The events of the next simulated millisecond. */
  tick(out: WireEvent[]): void {
    const p = this.#p;
    while (this.#clients.length < this.clients) this.#clients.push(this.#newClient(out));
    const due = this.#later.get(this.#t);
    if (due !== undefined) {
      this.#later.delete(this.#t);
      for (const e of due) out.push(e);
    }
    // Poisson-ish: the fractional part of the per-ms rate as a probability.
    let n = Math.floor(this.#perMs);
    if (this.#r() < this.#perMs - n) n++;
    for (let i = 0; i < n; i++) this.#act(this.#clients[Math.floor(this.#r() * this.#clients.length)]!, out);
    // Keep-alive, polls and churn: a few clients per ms, round robin.
    for (let k = 0; k < 4; k++) {
      const idx = Math.floor(this.#r() * this.#clients.length);
      const c = this.#clients[idx]!;
      const t = this.#t;
      if (c.ws && t >= c.nextPingAt) {
        out.push(this.#ws(c, "s2c", encodeServerPing(p)));
        if (this.#r() < 0.995) this.#at(t + 3, this.#ws(c, "c2s", encodeClientPong(p), t + 3));
        if (this.#r() < 0.3) {
          out.push(this.#ws(c, "c2s", encodeClientEvent(p, ["chsk/ws-ping"], "pp" + (c.cb++).toString(16).padStart(4, "0"))));
          this.#at(t + 2, this.#ws(c, "s2c", encodePong(p, "pp" + (c.cb - 1).toString(16).padStart(4, "0")), t + 2));
        }
        c.nextPingAt = t + 12_500;
      }
      if (!c.ws && t >= c.nextPollAt) {
        out.push({ type: "frame", at: t, dir: "s2c", transport: "ajax", channel: "poll", connId: `x-${this.#xid++}`, clientId: c.clientId, data: encodeLpTimeout(p), status: 200 });
        c.nextPollAt = t + 20_000;
      }
      if (t >= c.diesAt) {
        if (c.ws) out.push({ type: "close", at: t, transport: "ws", connId: c.conn, code: this.#r() < 0.5 ? 1000 : 1006 });
        this.#clients[idx] = this.#newClient(out, this.#r() < 0.2 ? c : undefined);
      }
    }
    this.#t++;
  }

  get now(): number {
    return this.#t;
  }
}

function generate(packer: Packer, count: number): WireEvent[] {
  const g = new Traffic(packer, CLIENTS, RATE);
  const out: WireEvent[] = [];
  while (out.length < count) g.tick(out);
  return out;
}

// ---------------------------------------------------------------------------
// 1. Throughput

let sink = 0;

/**
 * `recordToJson` as it was: `JSON.stringify` with the key list as replacer
 * (which also filters nested objects' keys, hence `code` and `message`).
 * The baseline the serializer's rate is compared with, in the same run.
 */
const BASELINE_KEYS = [
  ...["seq", "ts", "dir", "transport", "channel", "conn", "exchange", "clientId", "uid", "kind", "eventId", "cbId", "latencyMs"],
  ...["pair", "prev", "flags", "status", "bytes", "packer", "envelope", "url", "requestTs", "error", "data", "events", "raw", "binary"],
  ...["code", "message"],
];
const baselineRecordToJson = (r: FrameRecord): string => JSON.stringify(r, BASELINE_KEYS);

/** Records serialized per second (the first `JSON_RECORDS` of a run: enough to leave the caches). */
const JSON_RECORDS = 50_000;
function jsonRate(records: FrameRecord[], toJson: (r: FrameRecord) => string): number {
  let chars = 0;
  const t0 = performance.now();
  for (let i = 0; i < records.length; i++) chars += toJson(records[i]!).length;
  const ms = performance.now() - t0;
  sink += chars;
  return (records.length / ms) * 1000;
}

/**
 * A run's recording and pairing counts (untimed), and `recordToJson`'s rate
 * against the baseline (timed here, while the records exist). Only the
 * lines are kept: a large live heap would make the timed rounds measure the GC.
 */
function record(events: WireEvent[]): { lines: string[]; paired: number; unanswered: number; jsonPerSec: number; jsonBaselinePerSec: number } {
  const d = createFrameDecoder();
  const records = events.map((e) => d.push(e));
  d.flush(Infinity);
  const lines = records.map(recordToJson);
  // The bench would otherwise time a serializer that writes something else.
  const differs = records.findIndex((r, i) => lines[i] !== baselineRecordToJson(r));
  if (differs >= 0) throw new Error(`recordToJson differs from the baseline at record ${differs + 1}:\n${lines[differs]}\n${baselineRecordToJson(records[differs]!)}`);
  const sample = records.slice(0, JSON_RECORDS);
  let jsonPerSec = 0;
  let jsonBaselinePerSec = 0;
  // Interleaved rounds, the baseline first: a noisy neighbour slows both alike.
  for (let i = 0; i < ROUNDS; i++) {
    jsonBaselinePerSec = Math.max(jsonBaselinePerSec, jsonRate(sample, baselineRecordToJson));
    jsonPerSec = Math.max(jsonPerSec, jsonRate(sample, recordToJson));
  }
  return {
    lines,
    paired: records.filter((r) => r.pair !== undefined && (r.kind === "reply" || r.kind === "pong")).length,
    unanswered: records.filter((r) => r.flags?.includes("unanswered")).length,
    jsonPerSec,
    jsonBaselinePerSec,
  };
}

/**
 * Decode, pair and summarise every event once, keeping the last `RING`
 * records as the inspector's store does; records per second.
 */
function decodeRate(events: WireEvent[]): number {
  const model = createSessionModel();
  const d = createFrameDecoder({ onUpdate: (r, c) => model.update(r, c) });
  const ring: (FrameRecord | undefined)[] = new Array(RING);
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const r = d.push(events[i]!);
    model.add(r);
    ring[i % RING] = r;
  }
  const ms = performance.now() - t0;
  sink += model.totals().records + ring.length;
  return (events.length / ms) * 1000;
}

/** What `--replay` does: JSONL line → record → WireEvent → decode → summarise (into the same ring). */
function replayRate(lines: string[]): number {
  const model = createSessionModel();
  const d = createFrameDecoder({ onUpdate: (r, c) => model.update(r, c) });
  const ring: (FrameRecord | undefined)[] = new Array(RING);
  const t0 = performance.now();
  for (let i = 0; i < lines.length; i++) {
    const r = parseRecordLine(lines[i]!, i + 1);
    if (!r.ok) continue;
    const rec = d.push(recordToWireEvent(r.value));
    model.add(rec);
    ring[i % RING] = rec;
  }
  const ms = performance.now() - t0;
  sink += model.totals().records + ring.length;
  return (lines.length / ms) * 1000;
}

interface ThroughputRow {
  packer: string;
  events: number;
  decodePerSec: number;
  replayPerSec: number;
  paired: number;
  unanswered: number;
  bytesPerRecordJsonl: number;
  /** `recordToJson` alone, records/s. */
  jsonPerSec: number;
  /** The key-list replacer it replaced, records/s, same records, same run. */
  jsonBaselinePerSec: number;
}

function throughput(): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const name of PACKERS) {
    const events = generate(packerByName(name), EVENTS);
    const { lines, paired, unanswered, jsonPerSec, jsonBaselinePerSec } = record(events);
    let best = 0;
    let bestReplay = 0;
    // Interleaved rounds: a noisy neighbour slows both alike.
    for (let i = 0; i < ROUNDS; i++) {
      best = Math.max(best, decodeRate(events));
      bestReplay = Math.max(bestReplay, replayRate(lines));
    }
    rows.push({
      packer: name,
      events: events.length,
      decodePerSec: Math.round(best),
      replayPerSec: Math.round(bestReplay),
      paired,
      unanswered,
      bytesPerRecordJsonl: Math.round(lines.reduce((n, l) => n + l.length + 1, 0) / lines.length),
      jsonPerSec: Math.round(jsonPerSec),
      jsonBaselinePerSec: Math.round(jsonBaselinePerSec),
    });
    console.error(`  ${name}: ${Math.round(best).toLocaleString("en")} records/s decoded+paired, ${Math.round(bestReplay).toLocaleString("en")}/s replayed from JSONL`);
    console.error(
      `  ${name}: recordToJson ${Math.round(jsonPerSec).toLocaleString("en")} records/s, key-list replacer ${Math.round(jsonBaselinePerSec).toLocaleString("en")}/s (${(jsonPerSec / jsonBaselinePerSec).toFixed(2)}x)`,
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------
// 2. Memory under a long session

interface MemorySample {
  minute: number;
  records: number;
  heapMB: number;
  conns: number;
  users: number;
}

function memory(): MemorySample[] {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc (npm run bench:inspect does)");
  const g = new Traffic(packerByName("edn"), CLIENTS, RATE);
  const model = createSessionModel({ maxConns: MAX_CONNS });
  const d = createFrameDecoder({ maxTracked: MAX_CONNS, onUpdate: (r, c) => model.update(r, c) });
  const ring: (FrameRecord | undefined)[] = new Array(RING);
  let n = 0;
  const samples: MemorySample[] = [];
  const t0 = g.now;
  const batch: WireEvent[] = [];
  const sample = (minute: number) => {
    gc();
    gc();
    const m = process.memoryUsage();
    const t = model.totals();
    samples.push({ minute, records: n, heapMB: Math.round((m.heapUsed / 1048576) * 10) / 10, conns: t.conns, users: t.users });
    console.error(`  minute ${minute}: ${n.toLocaleString("en")} records, heap ${samples.at(-1)!.heapMB} MB, ${t.conns} conns, ${t.users} users`);
  };
  sample(0);
  for (let minute = 1; minute <= MINUTES; minute++) {
    const end = t0 + minute * 60_000;
    while (g.now < end) {
      batch.length = 0;
      g.tick(batch);
      for (const e of batch) {
        const r = d.push(e);
        model.add(r);
        ring[n++ % RING] = r;
      }
    }
    d.flush(g.now);
    sample(minute);
  }
  sink += ring.length;
  return samples;
}

// ---------------------------------------------------------------------------

function report(rows: ThroughputRow[], mem: MemorySample[]): string {
  const fmt = (x: number) => x.toLocaleString("en");
  let md = `# chsk inspect: decoder benchmark\n\n`;
  md += `${new Date().toISOString()}, Node ${process.version}, one core (single thread). ${CLIENTS} concurrent clients (70 % WS, 30 % Ajax), ${fmt(RATE)} client actions/s (calls, events, pushes) plus their replies, pings, polls and reconnects.\n\n`;
  md += `## Throughput (best of ${ROUNDS})\n\n`;
  md += `Decode + pair + summarise: \`decoder.push\` and \`model.add\` on pre-built WireEvents. Replay: \`parseRecordLine\` → \`recordToWireEvent\` → decode → summarise (\`--replay\`). Goal ≥ 50,000 records/s.\n\n`;
  md += `| packer | records | decode+pair+summary /s | replay from JSONL /s | replies paired | unanswered | JSONL bytes/record |\n|---|---:|---:|---:|---:|---:|---:|\n`;
  for (const r of rows) md += `| ${r.packer} | ${fmt(r.events)} | ${fmt(r.decodePerSec)} | ${fmt(r.replayPerSec)} | ${fmt(r.paired)} | ${fmt(r.unanswered)} | ${r.bytesPerRecordJsonl} |\n`;
  md += `\n### recordToJson\n\nRecords serialized per second (the run's first ${fmt(JSON_RECORDS)} records; each line checked equal to the baseline's): \`recordToJson\` against \`JSON.stringify(record, keyList)\`, the key-list replacer it replaced, in interleaved rounds.\n\n`;
  md += `| packer | key-list replacer /s | recordToJson /s | ratio |\n|---|---:|---:|---:|\n`;
  for (const r of rows) md += `| ${r.packer} | ${fmt(r.jsonBaselinePerSec)} | ${fmt(r.jsonPerSec)} | ${(r.jsonPerSec / r.jsonBaselinePerSec).toFixed(2)}x |\n`;
  md += `\n## Memory: ${MINUTES} simulated minutes, ring buffer of ${fmt(RING)} records, ${fmt(MAX_CONNS)} connections tracked at most\n\n`;
  md += `Heap used after \`gc()\` at the end of each simulated minute (decoder + session model + ring buffer). Connections come and go (each client lives 30–120 s); once ${fmt(MAX_CONNS)} are tracked the oldest closed ones are forgotten.\n\n`;
  md += `| minute | records | records/s of traffic | heap MB | conns tracked | users |\n|---:|---:|---:|---:|---:|---:|\n`;
  for (const [i, s] of mem.entries()) {
    const rate = i === 0 ? "" : fmt(Math.round((s.records - mem[i - 1]!.records) / 60));
    md += `| ${s.minute} | ${fmt(s.records)} | ${rate} | ${s.heapMB} | ${fmt(s.conns)} | ${fmt(s.users)} |\n`;
  }
  if (rows.length === 0) md = md.replace(/## Throughput[\s\S]*?(?=## Memory)/, "");
  const first = mem.find((s) => s.minute === 1);
  const last = mem.at(-1);
  if (first && last && last !== first) {
    md += `\nHeap from minute 1 to minute ${last.minute}: ${first.heapMB} → ${last.heapMB} MB (${last.heapMB - first.heapMB >= 0 ? "+" : ""}${Math.round((last.heapMB - first.heapMB) * 10) / 10} MB) while records went ${fmt(first.records)} → ${fmt(last.records)}.\n`;
  }
  return md;
}

console.error("throughput…");
const rows = throughput();
console.error("memory…");
const mem = MINUTES > 0 ? memory() : [];
const md = report(rows, mem);
process.stdout.write(md);
const out = new URL("./results/", import.meta.url);
writeFileSync(new URL("latest-inspect.md", out), md);
writeFileSync(new URL("latest-inspect.json", out), JSON.stringify({ at: new Date().toISOString(), node: process.version, clients: CLIENTS, rate: RATE, ring: RING, throughput: rows, memory: mem }, null, 2) + "\n");
if (sink === -1) console.log(sink);
