/**
 * Read+write throughput of a ~1 KB Sente-like event for: chsk's EDN, the npm
 * `edn-data` package, transit-js (the same data as transit values) and
 * JSON.parse/stringify as a ceiling. Every library runs in the same process
 * and run, interleaved, so the ratios are comparable even on a noisy machine.
 *
 * Run: npm run bench:edn  [-- --seconds 1 --rounds 5]
 */
import { parseEDNString, toEDNString } from "edn-data";
import transit from "transit-js";

import { EdnSet, Uuid, kw, parseEdn, readEdn, writeEdn } from "../src/core/edn/index.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const SECONDS = arg("seconds", 1);
const ROUNDS = arg("rounds", 5);

// --- The event, as chsk values ---------------------------------------------
const items = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
  sku: `SKU-${1000 + i}`,
  qty: i,
  price: 9.99 * i,
  tags: [kw("sale"), kw("new")],
  note: i % 2 === 0 ? "fragile, \"handle\" with care" : null,
}));
const ts = new Date(Date.UTC(2024, 0, 1, 12, 30, 0, 250));
const uuidText = "3f2a1b00-1111-4222-8333-444455556666";
const event = [
  [
    kw("my-app/update"),
    {
      id: 1234,
      user: { name: "Alice", email: "alice@example.com", roles: new EdnSet([kw("admin"), kw("dev")]), active: true },
      items,
      total: 99.9,
      ts,
      uuid: new Uuid(uuidText),
      "session/id": "c0ffee42",
    },
  ],
  "3f2a1b",
];
const ednText = writeEdn(event);

// --- The same data as transit values ---------------------------------------
const tk = transit.keyword;
const transitValue = [
  [
    tk("my-app/update"),
    transit.map([
      tk("id"), 1234,
      tk("user"), transit.map([
        tk("name"), "Alice",
        tk("email"), "alice@example.com",
        tk("roles"), transit.set([tk("admin"), tk("dev")]),
        tk("active"), true,
      ]),
      tk("items"), items.map((it) =>
        transit.map([
          tk("sku"), it.sku,
          tk("qty"), it.qty,
          tk("price"), it.price,
          tk("tags"), [tk("sale"), tk("new")],
          tk("note"), it.note,
        ]),
      ),
      tk("total"), 99.9,
      tk("ts"), ts,
      tk("uuid"), transit.uuid(uuidText),
      tk("session/id"), "c0ffee42",
    ]),
  ],
  "3f2a1b",
];
const tWriter = transit.writer("json");
const tReader = transit.reader("json");
const transitText = tWriter.write(transitValue);

// --- The same data as JSON ---------------------------------------------------
const jsonText = JSON.stringify(event);
const jsonValue: unknown = JSON.parse(jsonText);

// --- edn-data: its own rich representation, parsed from our text -------------
const ednDataValue = parseEDNString(ednText) as Parameters<typeof toEDNString>[0];
const ednDataText = toEDNString(ednDataValue);

// Sanity: everyone reads what the others mean.
{
  const r = readEdn(ednText);
  if (!r.ok || writeEdn(r.value) !== ednText) throw new Error("chsk EDN does not round-trip the event");
  if (toEDNString(parseEDNString(ednDataText) as Parameters<typeof toEDNString>[0]) !== ednDataText) {
    throw new Error("edn-data does not round-trip the event");
  }
  if (tWriter.write(tReader.read(transitText)) !== transitText) throw new Error("transit does not round-trip");
}

type Case = { name: string; bytes: number; readWrite: () => unknown; read: () => unknown; write: () => unknown };
let sink: unknown;
const cases: Case[] = [
  {
    name: "chsk edn",
    bytes: Buffer.byteLength(ednText),
    readWrite: () => writeEdn(parseEdn(ednText)),
    read: () => parseEdn(ednText),
    write: () => writeEdn(event),
  },
  {
    name: "edn-data",
    bytes: Buffer.byteLength(ednDataText),
    readWrite: () => toEDNString(parseEDNString(ednText) as Parameters<typeof toEDNString>[0]),
    read: () => parseEDNString(ednText),
    write: () => toEDNString(ednDataValue),
  },
  {
    name: "transit-js",
    bytes: Buffer.byteLength(transitText),
    readWrite: () => tWriter.write(tReader.read(transitText)),
    read: () => tReader.read(transitText),
    write: () => tWriter.write(transitValue),
  },
  {
    name: "JSON",
    bytes: Buffer.byteLength(jsonText),
    readWrite: () => JSON.stringify(JSON.parse(jsonText)),
    read: () => JSON.parse(jsonText),
    write: () => JSON.stringify(jsonValue),
  },
];

/** Ops per second of `fn`, run in batches for about `seconds`. */
function measure(fn: () => unknown, seconds: number): number {
  let batch = 64;
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) sink = fn();
    ops += batch;
    now = performance.now();
    if (batch < 4096) batch *= 2;
  }
  return (ops * 1000) / (now - start);
}

type Kind = "readWrite" | "read" | "write";
const kinds: Kind[] = ["readWrite", "read", "write"];
const results = new Map<string, Record<Kind, number[]>>();
for (const c of cases) results.set(c.name, { readWrite: [], read: [], write: [] });

// Warm up every path so the JIT has seen them all before measuring.
for (const c of cases) for (const k of kinds) measure(c[k], 0.2);
for (let round = 0; round < ROUNDS; round++) {
  for (const k of kinds) {
    for (const c of cases) results.get(c.name)![k].push(measure(c[k], SECONDS / 3));
  }
}

// Best of the rounds: interference from other processes only ever slows a
// round down, so the fastest one is the least disturbed estimate.
const best = (xs: number[]): number => Math.max(...xs);
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(10);

console.log(`EDN event: ${Buffer.byteLength(ednText)} bytes; best of ${ROUNDS} rounds; node ${process.version}`);
console.log(ednText);
console.log();
const base = results.get("edn-data")!;
console.log(
  "library".padEnd(12) +
    "bytes".padStart(7) +
    "read+write/s".padStart(14) +
    "vs edn-data".padStart(13) +
    "read/s".padStart(12) +
    "write/s".padStart(12),
);
for (const c of cases) {
  const r = results.get(c.name)!;
  const rw = best(r.readWrite);
  console.log(
    c.name.padEnd(12) +
      String(c.bytes).padStart(7) +
      fmt(rw).padStart(14) +
      (rw / best(base.readWrite)).toFixed(2).padStart(12) +
      "x" +
      fmt(best(r.read)).padStart(12) +
      fmt(best(r.write)).padStart(12),
  );
}
const ours = best(results.get("chsk edn")!.readWrite);
const tr = best(results.get("transit-js")!.readWrite);
console.log();
console.log(`chsk edn vs edn-data: ${(ours / best(base.readWrite)).toFixed(2)}x (target >= 2x)`);
console.log(`chsk edn vs transit-js: ${(ours / tr).toFixed(2)}x (target >= 1x)`);
if (sink === Symbol.for("never")) console.log(sink);
