/**
 * `chsk serve`'s inspector flags, on the real CLI: the stream is off by
 * default (404, on loopback and beyond); `--allow-inspect` mounts it behind
 * a generated token printed at start (even with --quiet); `--inspect-token`
 * (or $CHSK_INSPECT_TOKEN) behind the one given, never echoed; the token is
 * required everywhere, a wildcard host reached through 127.0.0.1 included;
 * a bad token is a usage error. Refusals reach serve's log, not the console.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openInspectorStream } from "../integration/inspector-stream.js";
import { runCli, serve, waitFor } from "./cli.js";

const INSPECT_LINE = /^inspect: {3}(http:\/\/\S+\/chsk-inspect) \(Authorization: Bearer (.+)\)$/m;

const status = async (url: string, token?: string): Promise<number> => {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
};

describe("chsk serve: the inspector stream", () => {
  it("off by default, on loopback and on 0.0.0.0 alike", async () => {
    const [local, wide] = await Promise.all([serve([]), serve(["--host", "0.0.0.0"])]);
    try {
      for (const s of [local, wide]) {
        assert.equal(await status(`http://127.0.0.1:${s.port}/chsk-inspect`, "any-token-any-token"), 404);
        assert.doesNotMatch(s.stdout, /^inspect:/m);
      }
    } finally {
      await Promise.all([local.stop(), wide.stop()]);
    }
  });

  it("--allow-inspect on 127.0.0.1: a generated token, printed even with --quiet; the stream names a client that calls", async () => {
    const s = await serve(["--allow-inspect", "--quiet"]);
    try {
      const [, url, token] = await waitFor(() => INSPECT_LINE.exec(s.stdout) ?? undefined, 5000, "the inspect line");
      assert.equal(url, `http://127.0.0.1:${s.port}/chsk-inspect`);
      assert.match(token!, /^[\w-]{32}$/);
      assert.equal(await status(url!), 401);
      assert.equal(await status(url!, `${token}x`), 403);
      const stream = await openInspectorStream(url!, token);
      try {
        assert.equal(stream.status, 200);
        await stream.waitFor((l) => l.type === "hello", "hello");
        const call = await runCli(["call", "--login", "zoe", `http://127.0.0.1:${s.port}/chsk`, "[:demo/echo 42]"]);
        assert.equal(call.stdout, "42\n", call.stderr);
        const reply = await stream.waitFor((l) => l.type === "frame" && l.dir === "s2c" && l.uid === '"zoe"' && /^\[42 /.test(String(l.data)), "zoe's reply");
        assert.ok(reply.type === "frame" && reply.clientId);
      } finally {
        stream.close();
      }
    } finally {
      const f = await s.stop();
      assert.equal(f.code, 0);
      assert.equal(f.stderr, "", "--quiet: nothing on stderr, nothing from the library on the console");
    }
  });

  it("--inspect-token on 0.0.0.0, reached through 127.0.0.1: that token only, never echoed; refusals in serve's log", async () => {
    const token = "my-inspect-token-0123456789";
    const s = await serve(["--host", "0.0.0.0", "--inspect-token", token, "--log-format", "json"]);
    try {
      const [, url, shown] = await waitFor(() => INSPECT_LINE.exec(s.stdout) ?? undefined, 5000, "the inspect line");
      assert.equal(url, `http://127.0.0.1:${s.port}/chsk-inspect`);
      assert.equal(shown, "<your --inspect-token>");
      assert.doesNotMatch(s.stdout, new RegExp(token));
      assert.equal(await status(url!), 401);
      assert.equal(await status(url!, "another-token-0123456789"), 403);
      const stream = await openInspectorStream(url!, token);
      assert.equal(stream.status, 200);
      // A refused socket: on the stream with its code, and one line in serve's log.
      const refused = await fetch(`http://127.0.0.1:${s.port}/chsk?client-id=nocsrf&handshake%3F=1`);
      assert.equal(refused.status, 403);
      await refused.text();
      const line = await stream.waitFor((l) => l.type === "refused", "the refusal");
      assert.deepEqual(line.type === "refused" && [line.status, line.code, line.clientId], [403, "CHSK_ERR_BAD_CSRF", "nocsrf"]);
      stream.close();
    } finally {
      const f = await s.stop();
      const log = f.stderr.trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string; code?: string; clientId?: string });
      const refusals = log.filter((l) => l.code === "CHSK_ERR_BAD_CSRF");
      assert.deepEqual(refusals.map((l) => [l.level, l.clientId]), [["info", "nocsrf"]]);
    }
  });

  it("$CHSK_INSPECT_TOKEN stands for --inspect-token; a bad token is a usage error (exit 2)", async () => {
    const bad = await runCli(["serve", "--port", "0", "--inspect-token", "short"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /an inspect token is 16 to 256 characters/);
    const prev = process.env["CHSK_INSPECT_TOKEN"];
    process.env["CHSK_INSPECT_TOKEN"] = "env-inspect-token-0123456789";
    let s: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      s = await serve(["--quiet"]);
    } finally {
      if (prev === undefined) delete process.env["CHSK_INSPECT_TOKEN"];
      else process.env["CHSK_INSPECT_TOKEN"] = prev;
    }
    try {
      await waitFor(() => INSPECT_LINE.exec(s!.stdout) ?? undefined, 5000, "the inspect line");
      const stream = await openInspectorStream(`http://127.0.0.1:${s.port}/chsk-inspect`, "env-inspect-token-0123456789");
      stream.close();
      assert.equal(stream.status, 200);
    } finally {
      await s.stop();
    }
  });
});
