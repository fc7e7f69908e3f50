/**
 * The README's framework recipes and typed-events example stay true:
 *
 * - every fenced block marked `<!-- recipe: NAME -->` (on the line right
 *   above the fence) is `test/fixtures/recipes/NAME`, character for
 *   character, and every recipe there is in the README once; the block
 *   marked `<!-- types: readme.test-d.ts -->` is the region of
 *   `test/types/readme.test-d.ts` between its `// --- README: begin ---`
 *   and `// --- README: end ---` lines (which `tsc` checks). A drift fails
 *   with the first line that differs, README line number included;
 * - each recipe runs as a user runs it (`PORT=0 node --import tsx FILE`):
 *   the real chsk Node client, as `?user=alice`, gets its echo back over
 *   WebSocket and over Ajax; for Express the dashboard answers on
 *   `/ops/chsk` (401 without the staff password; admin with it: it sees alice on both transports and
 *   its push reaches both clients) and other `/rt/…` URLs still reach
 *   Express; Ctrl-C (SIGINT) with the clients still connected ends the
 *   process, exit 0, port closed.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, Transport } from "../../src/core/client/types.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import type { UsersMessage } from "../../src/server/dashboard/feed-types.js";
import { ROOT, waitFor } from "../e2e/cli.js";
import { withTimeout } from "./server-helpers.js";

const RECIPES_DIR = join(ROOT, "test", "fixtures", "recipes");
const TYPES_DIR = join(ROOT, "test", "types");
const TYPES_FILE = "readme.test-d.ts";
/** The recipes the second suite runs. */
const RUN_TESTED = ["express.ts", "fastify.ts"];
const BEGIN = /^\/\/ --- README: begin -*$/;
const END = /^\/\/ --- README: end -*$/;

// ---------------------------------------------------------------- README ↔ files

interface MarkedBlock {
  kind: "recipe" | "types";
  name: string;
  lang: string;
  body: string;
  /** 1-based README line of the block's first code line. */
  line: number;
}

/**
 * The marked blocks, plus markers that mark nothing (a blank line or prose
 * between the comment and the fence), so a broken marker fails loudly
 * instead of dropping the block from the check.
 */
function markedBlocks(readme: string): { blocks: MarkedBlock[]; stray: string[] } {
  const blocks: MarkedBlock[] = [];
  const bound = new Set<number>();
  for (const m of readme.matchAll(/^<!-- (recipe|types): (\S+) -->\n(`{3,})([^\n]*)\n([\s\S]*?)^\3[ \t]*$/gm)) {
    const [, kind, name, , lang, body] = m as unknown as [string, "recipe" | "types", string, string, string, string];
    bound.add(m.index);
    blocks.push({ kind, name, lang: lang.trim(), body, line: readme.slice(0, m.index).split("\n").length + 2 });
  }
  const stray: string[] = [];
  for (const m of readme.matchAll(/^<!-- (recipe|types):.*$/gm)) {
    if (!bound.has(m.index)) stray.push(`line ${readme.slice(0, m.index).split("\n").length}: ${m[0]}`);
  }
  return { blocks, stray };
}

/** The lines strictly between the README markers of a test-d file. */
function markedRegion(source: string, file: string): string {
  const lines = source.split("\n");
  const begins = lines.flatMap((l, i) => (BEGIN.test(l) ? [i] : []));
  const ends = lines.flatMap((l, i) => (END.test(l) ? [i] : []));
  assert.ok(begins.length === 1 && ends.length === 1, `${file} needs one "// --- README: begin ---" line and one "// --- README: end ---" line (found ${begins.length} and ${ends.length})`);
  assert.ok(begins[0]! < ends[0]!, `${file}: the README begin marker must come before the end marker`);
  return `${lines.slice(begins[0]! + 1, ends[0]!).join("\n")}\n`;
}

const dropFinalNewline = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);
/** Between bars, so trailing spaces show. */
const show = (l: string | undefined) => (l === undefined ? "(nothing: the text ends here)" : `|${l}|`);

/** `null` when equal (modulo one trailing newline), else where they first differ. */
function firstDifference(readmeText: string, fileText: string, readmeLine: number): string | null {
  const a = dropFinalNewline(readmeText).split("\n");
  const b = dropFinalNewline(fileText).split("\n");
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return [
        `first difference at line ${i + 1} of the block (README.md line ${readmeLine + i}):`,
        `  README: ${show(a[i])}`,
        `  file:   ${show(b[i])}`,
        ...(i > 0 ? [`  (after the common line ${show(a[i - 1])})`] : []),
      ].join("\n");
    }
  }
  return null;
}

/**
 * Everything wrong between a README's marked blocks and the files they
 * stand for, one message per problem (empty: all good).
 */
function readmeProblems(readme: string, recipes: Map<string, string>, types: Map<string, string>): string[] {
  const problems: string[] = [];
  const { blocks, stray } = markedBlocks(readme);
  for (const s of stray) problems.push(`README.md ${s}: the marker must sit on the line right above a fenced block`);
  const seen = new Map<string, number>();
  for (const b of blocks) {
    const key = `${b.kind}: ${b.name}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const label = `README.md block <!-- ${key} --> (line ${b.line})`;
    if (b.lang !== "ts") problems.push(`${label}: the fence must be \`\`\`ts, is \`\`\`${b.lang}`);
    const expected = (b.kind === "recipe" ? recipes : types).get(b.name);
    const where = b.kind === "recipe" ? `test/fixtures/recipes/${b.name}` : `the README region of test/types/${b.name}`;
    if (expected === undefined) {
      problems.push(`${label}: there is no ${b.kind === "recipe" ? `test/fixtures/recipes/${b.name}` : `test/types/${b.name} with README markers`}`);
      continue;
    }
    const diff = firstDifference(b.body, expected, b.line);
    if (diff !== null) problems.push(`${label} differs from ${where}; ${diff}`);
  }
  const wanted = [...[...recipes.keys()].map((n) => `recipe: ${n}`), ...[...types.keys()].map((n) => `types: ${n}`)];
  for (const key of wanted) {
    const count = seen.get(key) ?? 0;
    if (count !== 1) {
      problems.push(
        count === 0
          ? `README.md has no block marked <!-- ${key} --> (put it on the line right above the \`\`\`ts fence)`
          : `README.md marks ${count} blocks <!-- ${key} -->; one is wanted`,
      );
    }
  }
  return problems;
}

const readRecipes = (): Map<string, string> =>
  new Map(
    readdirSync(RECIPES_DIR)
      .sort()
      .map((f) => [f, readFileSync(join(RECIPES_DIR, f), "utf8")]),
  );
const readTypes = (): Map<string, string> => new Map([[TYPES_FILE, markedRegion(readFileSync(join(TYPES_DIR, TYPES_FILE), "utf8"), TYPES_FILE)]]);

/** A README that shows every file as it should be: what the check must accept. */
function faithfulReadme(recipes: Map<string, string>, types: Map<string, string>): string {
  const block = (kind: string, name: string, text: string) => `<!-- ${kind}: ${name} -->\n\`\`\`ts\n${dropFinalNewline(text)}\n\`\`\`\n`;
  return [
    "# chsk\n\nSome prose.\n",
    ...[...recipes].map(([n, t]) => `### ${n}\n\n${block("recipe", n, t)}`),
    "## Typed events\n",
    ...[...types].map(([n, t]) => block("types", n, t)),
  ].join("\n");
}

describe("README blocks equal their files", () => {
  test("the recipes and the typed-events region exist, and every recipe has a run test below", () => {
    assert.deepEqual([...readRecipes().keys()], RUN_TESTED, "a recipe added to test/fixtures/recipes needs a run test in this file");
    assert.match(readTypes().get(TYPES_FILE)!, /createServer<Events>/);
  });

  test("the checker accepts a faithful README and catches each kind of drift, naming the line", () => {
    const recipes = readRecipes();
    const types = readTypes();
    const good = faithfulReadme(recipes, types);
    assert.deepEqual(readmeProblems(good, recipes, types), []);

    const express = recipes.get("express.ts")!;
    const line = express.split("\n").findIndex((l) => l.includes("userId"));
    assert.ok(line > 0);
    const drifted = good.replace(express.split("\n")[line]!, "  userId: (req) => req.query.user,");
    const [p, ...more] = readmeProblems(drifted, recipes, types);
    assert.equal(more.length, 0, more.join("\n"));
    assert.match(p!, new RegExp(`<!-- recipe: express\\.ts -->.*first difference at line ${line + 1} of the block`, "s"));
    assert.match(p!, /README: \|  userId: \(req\) => req\.query\.user,\|/);
    assert.ok(p!.includes(`file:   |${express.split("\n")[line]}|`), p);
    // The README line number points at the drifted line.
    const readmeLine = Number(/README\.md line (\d+)\)/.exec(p!)?.[1]);
    assert.equal(drifted.split("\n")[readmeLine - 1], "  userId: (req) => req.query.user,");

    const typesFirst = types.get(TYPES_FILE)!.split("\n")[0]!;
    assert.match(readmeProblems(good.replace(typesFirst, `${typesFirst} `), recipes, types).join("\n"), /<!-- types: readme\.test-d\.ts -->.*line 1 of the block/s);
    const lastLine = dropFinalNewline(types.get(TYPES_FILE)!).split("\n").at(-1)!;
    assert.match(readmeProblems(good.replace(`\n${lastLine}\n\`\`\``, "\n```"), recipes, types).join("\n"), /README: \(nothing: the text ends here\)/);
    assert.match(readmeProblems(good.replace("<!-- recipe: fastify.ts -->\n", "<!-- recipe: fastify.ts -->\n\n"), recipes, types).join("\n"), /right above a fenced block[\s\S]*no block marked <!-- recipe: fastify\.ts -->/);
    assert.match(readmeProblems(`${good}\n${good}`, recipes, types).join("\n"), /marks 2 blocks <!-- recipe: express\.ts -->/);
    assert.match(readmeProblems(`${good}\n<!-- recipe: koa.ts -->\n\`\`\`ts\nx\n\`\`\`\n`, recipes, types).join("\n"), /no test\/fixtures\/recipes\/koa\.ts/);
    assert.match(readmeProblems(good.replace("<!-- recipe: fastify.ts -->\n```ts", "<!-- recipe: fastify.ts -->\n```js"), recipes, types).join("\n"), /must be ```ts, is ```js/);
    assert.match(readmeProblems("# chsk\n", recipes, types).join("\n"), /no block marked <!-- types: readme\.test-d\.ts -->/);
  });

  test("README.md shows each recipe and the typed-events example exactly as tested", () => {
    const problems = readmeProblems(readFileSync(join(ROOT, "README.md"), "utf8"), readRecipes(), readTypes());
    if (problems.length > 0) assert.fail(`README.md is out of step with the files it shows:\n\n${problems.join("\n\n")}`);
  });
});

// ---------------------------------------------------------------- the recipes run

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Recipe {
  proc: ChildProcess;
  /** The chsk URL from the listening line. */
  url: string;
  origin: string;
  port: number;
  output(): string;
  exited: Promise<Exit>;
  /** The clients connected to it, closed after it exits. */
  clients: Client[];
}

const started: ChildProcess[] = [];
const recipes: Recipe[] = [];
after(async () => {
  await Promise.all(recipes.flatMap((r) => r.clients.splice(0)).map((c) => c.close()));
  // Only what this file started, by pid; normally they are gone already.
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

/** The dashboard password the Express recipe reads from `$OPS_PASSWORD`. */
const OPS_PASSWORD = "test-ops-password";
const OPS = { authorization: `Basic ${btoa(`ops:${OPS_PASSWORD}`)}` };

/** `PORT=0 node --import tsx test/fixtures/recipes/FILE`, resolved on its listening line. */
async function startRecipe(file: string): Promise<Recipe> {
  const proc = spawn(process.execPath, ["--import", "tsx", join("test", "fixtures", "recipes", file)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: "0", NO_COLOR: "1", OPS_PASSWORD: OPS_PASSWORD },
  });
  started.push(proc);
  let out = "";
  proc.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => (out += s));
  // A backstop, not a threshold: a recipe that never exits is killed and fails on its exit status.
  const killer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) =>
    proc.once("close", (code, signal) => {
      clearTimeout(killer);
      resolve((exit = { code, signal }));
    }),
  );
  const url = await waitFor(
    () => {
      // `chsk/server` is this package's own dist/ (self-reference): a stale or missing build shows up here.
      if (exit) throw new Error(`${file} exited (${exit.code ?? exit.signal}) before listening (is dist/ built? npm run build):\n${out}`);
      return /^listening on (http:\/\/127\.0\.0\.1:\d+\/rt\/chsk)\b/m.exec(out)?.[1];
    },
    20_000,
    `${file}'s listening line`,
  );
  const u = new URL(url);
  const r: Recipe = { proc, url, origin: u.origin, port: Number(u.port), output: () => out, exited, clients: [] };
  recipes.push(r);
  return r;
}

async function connectAs(r: Recipe, type: Transport, user: string): Promise<Client> {
  const c = createClient({ url: r.url, type, params: { user }, backoffMs: () => 200, ajaxTimeoutMs: 5_000 });
  r.clients.push(c);
  await withTimeout(c.whenOpen(), 5_000, `the ${type} client to open`);
  assert.equal(c.state.type, type);
  return c;
}

const nextPush = (c: Client): Promise<ChskEvent> =>
  withTimeout(new Promise<ChskEvent>((resolve) => void c.on("recv", (ev) => resolve(ev))), 5_000, "a push");

/** Echo over each transport; returns the open clients (left open for the shutdown check). */
async function echoOnBothTransports(r: Recipe): Promise<Record<Transport, Client>> {
  const out = {} as Record<Transport, Client>;
  for (const type of ["ws", "ajax"] as const) {
    const c = await connectAs(r, type, "alice");
    const data = { text: `héllo over ${type} & = + %`, n: [1, 2, 3] };
    assert.deepEqual(await c.send(["my/echo", data], { timeoutMs: 5_000 }), data, `echo over ${type}`);
    out[type] = c;
  }
  return out;
}

/** Ctrl-C with clients still connected, as a developer stops it: exit 0 by itself, port closed. */
async function interruptAndCheck(r: Recipe): Promise<void> {
  r.proc.kill("SIGINT");
  const exit = await withTimeout(r.exited, 10_000, "the recipe to exit after SIGINT").catch((e: Error) => {
    r.proc.kill("SIGKILL");
    throw new Error(`${e.message} (it still serves something: a socket or timer left open)\n${r.output()}`);
  });
  assert.deepEqual(exit, { code: 0, signal: null }, `SIGINT should end the recipe with exit 0 by itself:\n${r.output()}`);
  const refused = await new Promise<string>((resolve) => {
    const s = tcpConnect(r.port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve("connected")));
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.equal(refused, "ECONNREFUSED", "nothing listens on the recipe's port after it exits");
  await Promise.all(r.clients.splice(0).map((c) => c.close()));
}

describe("the README recipes run as pasted", { concurrency: true }, () => {
  test("express.ts: echo over WebSocket and Ajax as ?user=alice, the dashboard on /ops/chsk, other /rt URLs stay Express's, Ctrl-C exits 0", async () => {
    const r = await startRecipe("express.ts");
    assert.equal(r.url, `${r.origin}/rt/chsk`);
    const byType = await echoOnBothTransports(r);

    // Without the password: 401 with a Basic challenge, so a browser asks for it.
    const denied = await fetch(`${r.origin}/ops/chsk`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate") ?? "", /^Basic realm="ops"/);
    await denied.arrayBuffer();
    const page = await fetch(`${r.origin}/ops/chsk`, { headers: OPS, signal: AbortSignal.timeout(5_000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html\b/);
    const html = await page.text();
    const token = /"actionToken":"([\w-]+)"/.exec(html)?.[1];
    assert.ok(token, "the staff password gets the admin page (it carries the action token)");

    // `user` from the query names the user, on both transports.
    const users = (await (await fetch(`${r.origin}/ops/chsk/api/users`, { headers: OPS, signal: AbortSignal.timeout(5_000) })).json()) as UsersMessage;
    const alice = users.users.find((u) => u.uid === "alice");
    assert.ok(alice, `the dashboard sees alice: ${JSON.stringify(users.users)}`);
    assert.deepEqual([...alice.transports].sort(), ["ajax", "ws"]);

    // An admin push from the dashboard reaches alice on both transports.
    const pushes = [nextPush(byType.ws), nextPush(byType.ajax)];
    const pushed = await fetch(`${r.origin}/ops/chsk/api/push`, {
      method: "POST",
      headers: { ...OPS, "content-type": "application/json", origin: r.origin, "x-chsk-dashboard": token },
      body: JSON.stringify({ uid: "alice", event: '[:ops/note {:text "hi"}]' }),
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(pushed.status, 200, await pushed.clone().text());
    for (const p of await Promise.all(pushes)) assert.deepEqual(p, ["ops/note", { text: "hi" }]);

    // Not chsk's path: Express answers (its own 404), not chsk and not a hang.
    const other = await fetch(`${r.origin}/rt/other`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(other.status, 404);
    assert.match(await other.text(), /Cannot GET \/rt\/other/);

    await interruptAndCheck(r);
  });

  test("fastify.ts: echo over WebSocket and Ajax as ?user=alice, Ctrl-C exits 0", async () => {
    const r = await startRecipe("fastify.ts");
    assert.equal(r.url, `${r.origin}/rt/chsk`);
    await echoOnBothTransports(r);
    await interruptAndCheck(r);
  });
});
