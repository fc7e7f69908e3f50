/**
 * The browser build (`scripts/build-web.mjs`): an ESM client bundle with a
 * source map, page scripts that load the client from `/chsk-client.js`, and
 * nothing that reaches for a CDN or a Node built-in.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "./helpers.js";

const run = promisify(execFile);

describe("browser build", () => {
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), "chsk-web-"));
    await run(process.execPath, ["scripts/build-web.mjs", "--outdir", out, "--quiet"], { cwd: ROOT });
  });
  after(async () => rm(out, { recursive: true, force: true }));

  it("writes the client bundle, the page scripts and styles, each with a source map", async () => {
    const files = [...(await readdir(out)), ...(await readdir(join(out, "assets"))).map((f) => `assets/${f}`)];
    for (const f of ["chsk-client.js", "assets/demo.js", "assets/dashboard.js", "assets/demo-style.css", "assets/dashboard-style.css"]) {
      assert.ok(files.includes(f), `${f} is built`);
      assert.ok(files.includes(`${f}.map`), `${f}.map is built`);
    }
  });

  it("ships the licenses of the bundled third-party code and points to them from every file", async () => {
    const licenses = await readFile(join(out, "assets/third-party-licenses.txt"), "utf8");
    assert.match(licenses, /^== uplot [\d.]+ \(MIT\) ==$/m);
    assert.match(licenses, /^== transit-js [\d.]+ \(Apache-2\.0\) ==$/m);
    for (const f of ["chsk-client.js", "assets/demo.js", "assets/dashboard.js", "assets/dashboard-style.css"]) {
      assert.match(await readFile(join(out, f), "utf8"), /third-party-licenses\.txt/, f);
    }
  });

  it("the client bundle is an ES module exporting createClient, free of Node built-ins", async () => {
    const js = await readFile(join(out, "chsk-client.js"), "utf8");
    assert.match(js, /export\s*\{[^}]*\bcreateClient\b/);
    assert.doesNotMatch(js, /from\s*["']node:/);
    assert.doesNotMatch(js, /require\(["'](ws|node:|fs|net|http)/);
    const mod = (await import(`${join(out, "chsk-client.js")}?t=${Date.now()}`)) as { createClient?: unknown; ednPacker?: unknown };
    assert.equal(typeof mod.createClient, "function");
    assert.equal(typeof mod.ednPacker, "function");
  });

  it("page scripts import the client from /chsk-client.js and load nothing from other origins", async () => {
    for (const f of ["assets/demo.js", "assets/dashboard.js", "chsk-client.js"]) {
      const js = await readFile(join(out, f), "utf8");
      const imports = [...js.matchAll(/\bimport\s*(?:[^"'()]*?from\s*)?["']([^"']+)["']/g)].map((m) => m[1]);
      for (const spec of imports) assert.equal(spec, "/chsk-client.js", `${f} imports only the served client, got ${spec}`);
      assert.doesNotMatch(js, /\bimport\(\s*["']https?:/);
      assert.doesNotMatch(js, /(src|href)=["']https?:\/\//);
    }
    const demo = await readFile(join(out, "assets/demo.js"), "utf8");
    assert.match(demo, /["']\/chsk-client\.js["']/);
    const dashboard = await readFile(join(out, "assets/dashboard.js"), "utf8");
    assert.match(dashboard, /uplot|uPlot/, "uPlot is bundled into the dashboard");
  });
});
