/**
 * Every chsk packer on the same Sente frames: bytes per frame, encode and
 * decode ops/s. Then the msgpack library comparison behind the README's
 * "Packers" section (chsk's codec vs msgpackr made to speak Sente's dialect,
 * and both npm libraries on plain JSON-shaped data as a speed reference), and
 * the EDN codec against edn-data and transit-js. Everything runs in one
 * process, interleaved round by round, so ratios are comparable even on a
 * noisy machine; each figure is the best of the rounds.
 *
 * Run: npm run bench:packers  [-- --seconds 0.2 --rounds 3]
 */
import { decode as mpDecode, encode as mpEncode } from "@msgpack/msgpack";
import { parseEDNString, toEDNString } from "edn-data";
import { Packr, Unpackr } from "msgpackr";
import transit from "transit-js";

import { EdnSet, kw, parseEdn, readEdn, Uuid, writeEdn } from "../src/core/edn/index.js";
import { PACKER_NAMES, packerByName, type Packer } from "../src/core/packers/index.js";
import { msgpackrSente } from "./msgpack-libraries.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const SECONDS = arg("seconds", 0.2);
const ROUNDS = arg("rounds", 3);

// --- Payloads: whole Sente envelopes, as chsk values -------------------------
const ts = new Date(Date.UTC(2024, 0, 1, 12, 30, 0, 250));
const uuidText = "3f2a1b00-1111-4222-8333-444455556666";
const items = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
  sku: `SKU-${1000 + i}`,
  qty: i,
  price: 9.99 * i,
  tags: [kw("sale"), kw("new")],
  note: i % 2 === 0 ? 'fragile, "handle" with care' : null,
}));
const reply = {
  id: 1234,
  user: { name: "Alice", email: "alice@example.com", roles: new EdnSet([kw("admin"), kw("dev")]), active: true },
  items,
  total: 99.9,
  ts,
  uuid: new Uuid(uuidText),
  "session/id": "c0ffee42",
};

const payloads: { name: string; what: string; value: unknown }[] = [
  { name: "handshake", what: "[[:chsk/handshake [uid nil data]] nil]", value: [[kw("chsk/handshake"), ["alice", null, { hello: "world" }]], null] },
  {
    name: "push batch",
    what: "20 [:market/tick {…5 keys}] events",
    value: [
      Array.from({ length: 20 }, (_, i) => [kw("market/tick"), { sym: `SYM${i % 5}`, bid: 101.25 + i, ask: 101.5 + i, qty: i * 10, ts }]),
      null,
    ],
  },
  { name: "nested reply", what: "~1 KB reply: nested maps, set, uuid, inst", value: [reply, "3f2a1b"] },
  {
    name: "key cache",
    what: "50 rows with the same 6 keys",
    value: [
      [
        kw("demo/rows"),
        Array.from({ length: 50 }, (_, i) => ({ id: i, name: `user ${i}`, email: `u${i}@example.com`, active: i % 3 === 0, score: i / 7, role: kw("member") })),
      ],
      "cb-0001",
    ],
  },
  { name: "large text", what: "[:chat/msg {:text 4 KB}] (gzip territory)", value: [[kw("chat/msg"), { from: "bob", text: "lorem ipsum dolor sit amet ".repeat(150) }], null] },
];

let sink: unknown;

/** Ops per second of `fn`, run in batches for about `seconds`. */
function measure(fn: () => unknown, seconds: number): number {
  let batch = 16;
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

interface Case {
  group: string;
  name: string;
  payload: string;
  bytes: number | null;
  encode: (() => unknown) | null;
  decode: (() => unknown) | null;
  note?: string;
}

const bytesOf = (x: string | Uint8Array) => (typeof x === "string" ? Buffer.byteLength(x) : x.byteLength);
const cases: Case[] = [];

// --- 1. Every chsk packer on every payload ------------------------------------
for (const name of PACKER_NAMES) {
  if (name === "transit-verbose") continue;
  const packer: Packer = packerByName(name);
  for (const p of payloads) {
    const packed = packer.pack(p.value);
    const back = packer.unpack(packed);
    if (!back.ok) throw new Error(`${name} can't read its own ${p.name}: ${back.error.message}`);
    // JSON has no keywords, sets or dates: it only has to read back what it wrote.
    if (name !== "json" && writeEdn(back.value) !== writeEdn(p.value)) throw new Error(`${name} does not round-trip ${p.name}`);
    cases.push({ group: "packers", name, payload: p.name, bytes: bytesOf(packed), encode: () => packer.pack(p.value), decode: () => packer.unpack(packed) });
  }
}

// --- 2. msgpack libraries ------------------------------------------------------
const chskMsgpack = packerByName("msgpack");
const jsonShaped = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x)));
const packrPlain = new Packr({ useRecords: false });
const unpackrPlain = new Unpackr({ useRecords: false });
const exactness: string[] = [];
for (const p of payloads) {
  const ours = chskMsgpack.pack(p.value) as Uint8Array;
  const lib = msgpackrSente.pack(p.value);
  const same = Buffer.compare(Buffer.from(ours), Buffer.from(lib)) === 0;
  const readBack = writeEdn(msgpackrSente.unpack(ours)) === writeEdn(p.value);
  exactness.push(`${p.name}: writes Sente's bytes ${same ? "yes" : "NO"}, reads them back ${readBack ? "yes" : "NO"}`);
  cases.push({ group: "msgpack", name: "chsk msgpack", payload: p.name, bytes: ours.byteLength, encode: () => chskMsgpack.pack(p.value), decode: () => chskMsgpack.unpack(ours) });
  cases.push({ group: "msgpack", name: "msgpackr+Sente", payload: p.name, bytes: lib.byteLength, encode: () => msgpackrSente.pack(p.value), decode: () => msgpackrSente.unpack(ours) });
  cases.push({
    group: "msgpack",
    name: "↳ its pre-pass / msgpackr's decode alone",
    payload: p.name,
    bytes: null,
    encode: () => msgpackrSente.prePass(p.value),
    decode: () => msgpackrSente.unpackOnly(ours),
  });
  // Not Sente's dialect (keywords become strings, no key cache): the libraries' own speed on the same shape.
  const plain = jsonShaped(p.value);
  const rawR = packrPlain.pack(plain);
  cases.push({ group: "msgpack", name: "msgpackr (plain JSON data)", payload: p.name, bytes: rawR.byteLength, encode: () => packrPlain.pack(plain), decode: () => unpackrPlain.unpack(rawR) });
  const rawM = mpEncode(plain);
  cases.push({ group: "msgpack", name: "@msgpack/msgpack (plain JSON data)", payload: p.name, bytes: rawM.byteLength, encode: () => mpEncode(plain), decode: () => mpDecode(rawM) });
  const chskPlain = chskMsgpack.pack(plain) as Uint8Array;
  cases.push({ group: "msgpack", name: "chsk msgpack (plain JSON data)", payload: p.name, bytes: chskPlain.byteLength, encode: () => chskMsgpack.pack(plain), decode: () => chskMsgpack.unpack(chskPlain) });
}
// What @msgpack/msgpack does with a Sente map (a JS Map with keyword keys): an empty map.
const mapProbe = Buffer.from(mpEncode(new Map([[kw("a"), 1]]) as unknown as Record<string, unknown>)).toString("hex");
let readProbe = "";
try {
  mpDecode(Uint8Array.of(0x81, 0xd4, 0x00, 0x61, 0x01));
} catch (e) {
  readProbe = (e as Error).message;
}

// --- 3. EDN codec vs edn-data, transit-js, JSON (the nested reply) ------------
{
  const ednText = writeEdn(reply);
  const tk = transit.keyword;
  const transitValue = transit.map([
    tk("id"), 1234,
    tk("user"), transit.map([tk("name"), "Alice", tk("email"), "alice@example.com", tk("roles"), transit.set([tk("admin"), tk("dev")]), tk("active"), true]),
    tk("items"), items.map((it) => transit.map([tk("sku"), it.sku, tk("qty"), it.qty, tk("price"), it.price, tk("tags"), [tk("sale"), tk("new")], tk("note"), it.note])),
    tk("total"), 99.9,
    tk("ts"), ts,
    tk("uuid"), transit.uuid(uuidText),
    tk("session/id"), "c0ffee42",
  ]);
  const tWriter = transit.writer("json");
  const tReader = transit.reader("json");
  const transitText = tWriter.write(transitValue);
  const jsonText = JSON.stringify(reply);
  const jsonValue: unknown = JSON.parse(jsonText);
  const ednDataValue = parseEDNString(ednText) as Parameters<typeof toEDNString>[0];
  const ednDataText = toEDNString(ednDataValue);
  const r = readEdn(ednText);
  if (!r.ok || writeEdn(r.value) !== ednText) throw new Error("chsk EDN does not round-trip the reply");
  const edn: [string, string, () => unknown, () => unknown][] = [
    ["chsk edn", ednText, () => writeEdn(reply), () => parseEdn(ednText)],
    ["edn-data", ednDataText, () => toEDNString(ednDataValue), () => parseEDNString(ednText)],
    ["transit-js", transitText, () => tWriter.write(transitValue), () => tReader.read(transitText)],
    ["JSON", jsonText, () => JSON.stringify(jsonValue), () => JSON.parse(jsonText)],
  ];
  for (const [name, text, enc, dec] of edn) cases.push({ group: "edn", name, payload: "nested reply (no envelope)", bytes: bytesOf(text), encode: enc, decode: dec });
}

// --- Measure: warm up every path, then interleave rounds ----------------------
const results = new Map<Case, { encode: number[]; decode: number[] }>();
for (const c of cases) {
  results.set(c, { encode: [], decode: [] });
  if (c.encode) measure(c.encode, 0.02);
  if (c.decode) measure(c.decode, 0.02);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const r = results.get(c)!;
    if (c.encode) r.encode.push(measure(c.encode, SECONDS / 2));
    if (c.decode) r.decode.push(measure(c.decode, SECONDS / 2));
  }
}

// --- Report (markdown) -----------------------------------------------------------
const best = (xs: number[]): number => (xs.length === 0 ? NaN : Math.max(...xs));
const fmt = (n: number): string => (Number.isNaN(n) ? "—" : Math.round(n).toLocaleString("en-US"));

console.log(`# chsk packers bench\n\nnode ${process.version}, best of ${ROUNDS} rounds of ${SECONDS / 2} s per figure.\n`);
console.log("Payloads:");
for (const p of payloads) console.log(`- **${p.name}**: ${p.what}`);

console.log("\n## Every packer, same frames (bytes / encode ops/s / decode ops/s)\n");
const names = [...new Set(cases.filter((c) => c.group === "packers").map((c) => c.name))];
console.log(`| packer | ${payloads.map((p) => p.name).join(" | ")} |`);
console.log(`|---|${payloads.map(() => "---").join("|")}|`);
for (const n of names) {
  const cells = payloads.map((p) => {
    const c = cases.find((x) => x.group === "packers" && x.name === n && x.payload === p.name)!;
    const r = results.get(c)!;
    return `${c.bytes} B / ${fmt(best(r.encode))} / ${fmt(best(r.decode))}`;
  });
  console.log(`| ${n} | ${cells.join(" | ")} |`);
}

console.log("\n## msgpack: chsk's codec vs the npm libraries (encode ops/s / decode ops/s, bytes)\n");
const libNames = [...new Set(cases.filter((c) => c.group === "msgpack").map((c) => c.name))];
console.log(`| implementation | ${payloads.map((p) => p.name).join(" | ")} |`);
console.log(`|---|${payloads.map(() => "---").join("|")}|`);
for (const n of libNames) {
  const cells = payloads.map((p) => {
    const c = cases.find((x) => x.group === "msgpack" && x.name === n && x.payload === p.name)!;
    const r = results.get(c)!;
    return `${fmt(best(r.encode))} / ${fmt(best(r.decode))}${c.bytes === null ? "" : ` (${c.bytes} B)`}`;
  });
  console.log(`| ${n} | ${cells.join(" | ")} |`);
}
console.log("\nchsk msgpack vs msgpackr+Sente (encode×, decode×):");
for (const p of payloads) {
  const get = (n: string) => results.get(cases.find((x) => x.group === "msgpack" && x.name === n && x.payload === p.name)!)!;
  const a = get("chsk msgpack");
  const b = get("msgpackr+Sente");
  console.log(`- ${p.name}: ${(best(a.encode) / best(b.encode)).toFixed(2)}× / ${(best(a.decode) / best(b.decode)).toFixed(2)}×`);
}
console.log("\nmsgpackr+Sente exactness on these payloads:");
for (const line of exactness) console.log(`- ${line}`);
console.log("- (beyond them: reads an integral double `cb 40 00 …` as the integer 2; throws on unknown ext types)");
console.log(`\n@msgpack/msgpack on Sente data: writes Map{:a 1} as \`${mapProbe}\` (an empty map); reading \`{:a 1}\` throws "${readProbe}".`);

console.log("\n## EDN codec (the nested reply without its envelope)\n");
console.log("| library | bytes | encode/s | decode/s |");
console.log("|---|---|---|---|");
for (const c of cases.filter((x) => x.group === "edn")) {
  const r = results.get(c)!;
  console.log(`| ${c.name} | ${c.bytes} | ${fmt(best(r.encode))} | ${fmt(best(r.decode))} |`);
}
if (sink === Symbol.for("never")) console.log(sink);
