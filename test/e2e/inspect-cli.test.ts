/**
 * `chsk inspect` as a user runs it: the real CLI spawned against a real
 * `chsk serve`, in each mode without a terminal (lines on stdout), with
 * SIGINT / SIGTERM ending it cleanly and a recording that is complete
 * afterwards. The TUI in a real terminal is `inspect-tmux.test.ts`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type FrameRecord, parseRecordLines } from "../../src/core/index.js";
import { bootstrapSession, createClient } from "../../src/core/client/index.node.js";
import { startServer } from "../integration/server-helpers.js";
import tilde from "../fixtures/inspect/tilde-packer.js";
import { ROOT, runCli, type Served, serve, startCli, waitFor } from "./cli.js";

const dir = mkdtempSync(join(tmpdir(), "chsk-inspect-cli-"));
const file = (name: string) => join(dir, name);
const records = (text: string): FrameRecord[] => {
  const { records: out, errors } = parseRecordLines(text);
  assert.deepEqual(errors, [], "every line is a record");
  return out;
};
const jsonLines = (text: string): FrameRecord[] => records(text.trim() === "" ? "" : text);

describe("chsk inspect (CLI)", () => {
  let server: Served;
  before(async () => {
    server = await serve(["--quiet"]);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("--help names every mode and flag the issue's checks rely on, and exits 0", async () => {
    const r = await runCli(["inspect", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--proxy", "--listen", "--target", "--path", "--attach", "--token", "--replay", "--har", "--har-out", "--record", "--to", "--as-fast-as-possible", "--no-tui", "--format", "--filter", "--packer", "--packer-module", "--login", "--cookie", "--header", "--csrf-token", "--param", "--transport"]) {
      assert.match(r.stdout, new RegExp(`${flag}\\b`), flag);
    }
    assert.match(r.stdout, /Exit codes:/);
  });

  it("usage errors exit 2 with one line", async () => {
    const cases: [string[], RegExp][] = [
      [["inspect"], /nothing to inspect/],
      [["inspect", server.url, "--replay", "x.jsonl"], /only one of/],
      [["inspect", "--proxy"], /--proxy needs --target/],
      [["inspect", "--target", server.url], /go with --proxy/],
      [["inspect", server.url, "--filter", "kind:nope"], /invalid --filter/],
      [["inspect", "--replay", "x.jsonl", "--as-fast-as-possible"], /go with --to/],
      [["inspect", "--attach", server.url], /needs the server's inspector token/],
      [["inspect", "--packer-module", file("missing.mjs"), server.url], /cannot load --packer-module .*CHSK_ERR_PACKER_MODULE/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, 20_000);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });

  it("a missing recording or a refused login exits 1 with the error's code", async () => {
    const missing = await runCli(["inspect", "--replay", file("nope.jsonl")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CHSK_ERR_FILE/);
    const refused = await runCli(["inspect", `http://127.0.0.1:${server.port}/chsk`, "--login", "x".repeat(5000), "--no-tui"]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /CHSK_ERR_[A-Z_]+/);
  });

  it("client mode: --send and stdin events, jsonl out, --record complete after SIGINT (exit 0)", async () => {
    const rec = file("client.jsonl");
    const run = startCli(
      ["inspect", `${server.url}/chsk`, "--login", "alice", "--format", "jsonl", "--record", rec, "--send", "[:demo/echo {:a 1}]"],
      30_000,
      { stdin: "pipe" },
    );
    await waitFor(() => (/"kind":"reply"[^\n]*"data":"\{:a 1\}"/.test(run.stdout) ? true : undefined), 10_000, "the --send reply");
    run.proc.stdin!.write("[:demo/echo 42]\n[:demo/whoami]\n");
    await waitFor(() => (/"kind":"reply"[^\n]*"data":"\{:uid \\"alice\\"/.test(run.stdout) ? true : undefined), 10_000, "the stdin replies");
    run.proc.kill("SIGINT");
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /records written to/);

    const shown = jsonLines(done.stdout);
    const kept = records(readFileSync(rec, "utf8"));
    assert.ok(kept.length >= shown.length && shown.length > 0);
    const hs = kept.find((r) => r.kind === "handshake");
    assert.equal(hs?.uid, '"alice"');
    const calls = kept.filter((r) => r.kind === "event" && r.dir === "c2s" && r.eventId?.startsWith("demo/"));
    assert.deepEqual(calls.map((r) => r.data), ["{:a 1}", "42", undefined]);
    for (const call of calls) {
      const reply = kept.find((r) => r.seq === call.pair);
      assert.equal(reply?.kind, "reply", `the call ${call.seq} is paired`);
      assert.equal(typeof reply?.latencyMs, "number");
      assert.equal(reply?.pair, call.seq);
    }
    // Streamed lines carry their pairing too: each is held until its reply is in.
    const shownCall = shown.find((r) => r.kind === "event" && r.data === "42");
    assert.equal(typeof shownCall?.pair, "number");
  });

  it("text lines, --filter, NO_COLOR: one line per matching frame", async () => {
    const run = startCli(["inspect", `${server.url}/chsk`, "--send", "[:demo/echo :hi]", "--filter", "kind:reply", "--no-tui"]);
    await waitFor(() => (/:hi/.test(run.stdout) ? true : undefined), 10_000, "the filtered reply");
    run.proc.kill("SIGTERM");
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    const lines = done.stdout.trim().split("\n");
    assert.equal(lines.length, 1, done.stdout);
    assert.match(lines[0]!, /←.*reply.*:hi/);
    assert.doesNotMatch(done.stdout, /\u001b\[/, "no colour");
  });

  it("proxy mode: a client through --listen 127.0.0.1:0 works unchanged; SIGTERM leaves a complete recording", async () => {
    const rec = file("proxy.jsonl");
    const run = startCli(["inspect", "--proxy", "--listen", "127.0.0.1:0", "--target", server.url, "--record", rec, "--format", "jsonl"]);
    const url = await waitFor(() => /^chsk inspect proxy listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(run.stderr)?.[1], 10_000, "the listening line");
    for (const type of ["ws", "ajax"] as const) {
      // Logged in through the proxy: its cookie and CSRF token pass both ways.
      const session = await bootstrapSession({ url, login: `carol-${type}` });
      const client = createClient({ url: `${url}/chsk`, type, csrfToken: session.csrfToken, headers: session.headers });
      try {
        await waitFor(() => (client.state.open ? true : undefined), 10_000, `${type} open`);
        assert.deepEqual(await client.send(["demo/echo", { through: type }], 5000), { through: type });
      } finally {
        await client.close();
      }
    }
    run.proc.kill("SIGTERM");
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    const kept = records(readFileSync(rec, "utf8"));
    for (const transport of ["ws", "ajax"]) {
      const call = kept.find((r) => r.transport === transport && r.kind === "event" && r.eventId === "demo/echo");
      assert.ok(call, `a ${transport} call`);
      const reply = kept.find((r) => r.seq === call.pair);
      assert.equal(reply?.kind, "reply", `${transport}: paired`);
    }
    const ajaxConns = new Set(kept.filter((r) => r.transport === "ajax" && r.kind !== "open").map((r) => r.conn));
    assert.equal(ajaxConns.size, 1, "the Ajax client's polls and POSTs are one connection");
    assert.deepEqual(jsonLines(done.stdout).map((r) => r.seq), kept.map((r) => r.seq), "stdout and the recording hold the same frames");
  });

  it("attach mode: every client of a chsk serve, token from $CHSK_INSPECT_TOKEN; a wrong token exits 1", async () => {
    const token = "attach-test-token-0123456789";
    const watched = await serve(["--quiet", "--inspect-token", token]);
    try {
      const rec = file("attach.jsonl");
      const run = startCli(["inspect", "--attach", watched.url, "--format", "jsonl", "--record", rec], 30_000, { env: { CHSK_INSPECT_TOKEN: token } });
      const call = await waitFor(async () => {
        // Until the stream is up, a call may come before it: call again until one shows.
        const r = await runCli(["call", "--login", "zoe", `${watched.url}/chsk`, "[:demo/echo :seen]"]);
        assert.equal(r.code, 0, r.stderr);
        return /"uid":"\\"zoe\\""[^\n]*"kind":"reply"[^\n]*":seen"/.test(run.stdout) ? r : undefined;
      }, 20_000, "zoe's reply on the attach stream");
      assert.equal(call.stdout, ":seen\n");
      run.proc.kill("SIGTERM");
      const done = await run.done;
      assert.equal(done.code, 0, done.stderr);
      const kept = records(readFileSync(rec, "utf8"));
      const reply = kept.find((r) => r.kind === "reply" && r.uid === '"zoe"' && r.data === ":seen");
      assert.ok(reply && typeof reply.latencyMs === "number" && reply.pair !== undefined, "the server-side reply, paired");
      assert.ok(kept.some((r) => r.kind === "handshake" && r.uid === '"zoe"'));

      const wrong = await runCli(["inspect", "--attach", watched.url, "--token", "not-the-token-0123456789", "--no-tui"]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /CHSK_ERR_UNAUTHORIZED/);
    } finally {
      await watched.stop();
    }
  });

  it("--packer-module: a custom packer's frames are sent and decoded", async () => {
    const custom = await startServer({ packer: tilde }, (msg) => {
      if (msg.id === "my/echo") msg.reply?.(msg.data);
    });
    try {
      const run = startCli(["inspect", `${custom.base}/chsk`, "--no-session", "--packer-module", join(ROOT, "test/fixtures/inspect/tilde-packer.ts"), "--format", "jsonl", "--send", "[:my/echo {:x 1}]"]);
      await waitFor(() => (/"kind":"reply"/.test(run.stdout) ? true : undefined), 10_000, "the reply");
      run.proc.kill("SIGINT");
      const done = await run.done;
      assert.equal(done.code, 0, done.stderr);
      const reply = jsonLines(done.stdout).find((r) => r.kind === "reply");
      assert.equal(reply?.data, "{:x 1}");
      assert.equal(reply?.packer, "tilde-edn");
      assert.match(reply?.raw ?? "", /^~/);
    } finally {
      await custom.stop();
    }
  });

  it("replay: text, jsonl, --har-out; --to finds no difference, then one in an edited recording (exit 1)", async () => {
    const rec = file("replay-src.jsonl");
    const run = startCli(["inspect", `${server.url}/chsk`, "--format", "jsonl", "--record", rec, "--send", "[:demo/echo 1]", "--send", "[:demo/echo [2 3]]"]);
    await waitFor(() => (/"data":"\[2 3\]"[^\n]*"kind":"reply"|"kind":"reply"[^\n]*"data":"\[2 3\]"/.test(run.stdout) ? true : undefined), 10_000, "both replies");
    run.proc.kill("SIGINT");
    assert.equal((await run.done).code, 0);

    const text = await runCli(["inspect", "--replay", rec]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /→.*demo\/echo/);
    const jsonl = await runCli(["inspect", "--replay", rec, "--json"]);
    assert.equal(jsonl.code, 0);
    assert.deepEqual(
      jsonLines(jsonl.stdout).map((r) => [r.kind, r.data]),
      records(readFileSync(rec, "utf8")).map((r) => [r.kind, r.data]),
    );
    const har = file("replay.har");
    const toHar = await runCli(["inspect", "--replay", rec, "--har-out", har, "--format", "jsonl"]);
    assert.equal(toHar.code, 0, toHar.stderr);
    const entries = (JSON.parse(readFileSync(har, "utf8")) as { log: { entries: { _webSocketMessages?: unknown[] }[] } }).log.entries;
    assert.ok(entries.some((e) => (e._webSocketMessages?.length ?? 0) >= 4), "the socket's messages are in the HAR");
    const fromHar = await runCli(["inspect", "--har", har, "--format", "jsonl"]);
    assert.equal(fromHar.code, 0, fromHar.stderr);
    assert.deepEqual(
      jsonLines(fromHar.stdout).filter((r) => r.kind === "reply").map((r) => r.data),
      ["1", "[2 3]"],
    );

    const same = await runCli(["inspect", "--replay", rec, "--to", `${server.url}/chsk`, "--as-fast-as-possible"]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /2 calls: 2 equal/);
    assert.match(same.stdout, /result: no differences/);

    const edited = file("replay-edited.jsonl");
    // The server's answer to [:demo/echo 1], as if it had once replied 111.
    const lines = readFileSync(rec, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes('"kind":"reply"') && l.includes('"data":"1"'));
    assert.ok(i >= 0);
    lines[i] = lines[i]!.replace('"data":"1"', '"data":"111"').replace('"raw":"[1 ', '"raw":"[111 ');
    writeFileSync(edited, lines.join("\n"));
    assert.notEqual(readFileSync(edited, "utf8"), readFileSync(rec, "utf8"));
    const differs = await runCli(["inspect", "--replay", edited, "--to", `${server.url}/chsk`, "--as-fast-as-possible"]);
    assert.equal(differs.code, 1, differs.stdout + differs.stderr);
    assert.match(differs.stdout, /1 equal, 1 different/);
    assert.match(differs.stdout, /result: differences found/);
  });
});
