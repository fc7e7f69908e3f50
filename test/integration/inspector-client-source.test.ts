/**
 * The inspector's client source against the reference server (`chsk
 * serve`'s app, with its login and CSRF session), on both transports: it
 * logs in, connects, and reports the session as WireEvents (open, frames
 * both ways with channel / connId / uid, refusals, close); its `send` is
 * the TUI's input line (EDN in, the reply as EDN out).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { describe, test } from "node:test";
import { createFrameDecoder, isChskError, type WireEvent } from "../../src/core/index.js";
import { startReferenceServer } from "../../src/server/demo/app.js";
import { createClientSource } from "../../src/inspector/sources/client.js";
import type { SourceNotice } from "../../src/inspector/sources/types.js";
import { until } from "./server-helpers.js";

type Frame = Extract<WireEvent, { type: "frame" }>;
const SECRET = "inspector-client-source-test-secret";
const text = (d: string | Uint8Array) => (typeof d === "string" ? d : Buffer.from(d).toString("utf8"));

for (const transport of ["ws", "ajax"] as const) {
  describe(`client source over ${transport}`, () => {
    test("login, frames both ways as WireEvents, send with a reply, a push, close", { timeout: 20_000 }, async () => {
      const app = await startReferenceServer({ port: 0, sessionSecret: SECRET });
      const source = createClientSource({ url: `${app.url}/chsk`, transport, login: "alice" });
      const events: WireEvent[] = [];
      const notices: SourceNotice[] = [];
      source.onEvent((e) => events.push(e));
      source.onNotice((n) => notices.push(n));
      try {
        assert.equal(source.kind, "client");
        assert.equal(source.packer, "edn");
        await source.start();
        const frames = () => events.filter((e): e is Frame => e.type === "frame");
        await until(() => frames().some((f) => f.dir === "s2c" && /chsk\/handshake/.test(text(f.data))), 5000, "the handshake");
        assert.equal(await source.send("[:demo/echo {:a 1}]", 5000), "{:a 1}");
        assert.equal(await source.send('[:demo/push {:uid "alice" :event [:demo/hello {:n 1}]}]', 5000), ":ok");
        await until(() => frames().some((f) => f.dir === "s2c" && /demo\/hello/.test(text(f.data))), 5000, "the push");
        assert.equal(await source.send("[:demo/echo 2]"), undefined, "sent without a reply");
        if (transport === "ajax") await until(() => frames().filter((f) => f.channel === "post-reply").length === 3, 5000, "the last POST's answer");
        // The input line's mistakes are ChskErrors with their codes, and nothing is sent.
        const sent = frames().length;
        await assert.rejects(source.send("[:demo/echo", 1000), (e) => isChskError(e, "CHSK_ERR_EDN_SYNTAX"));
        await assert.rejects(source.send("[1 2]", 1000), (e) => isChskError(e, "CHSK_ERR_BAD_EVENT"));
        assert.equal(frames().length, sent);
        await source.close();
        assert.deepEqual(await source.done, { reason: "closed" });

        const first = events[0]!;
        assert.equal(first.type, "open");
        assert.ok(first.type === "open" && first.transport === transport && first.url === "/chsk");
        const last = events.at(-1)!;
        assert.equal(last.type, "close");
        assert.ok(last.type === "close" && last.uid === '"alice"');

        const fs = frames();
        const clientId = fs[0]!.clientId;
        assert.ok(clientId !== undefined && fs.every((f) => f.clientId === clientId && f.transport === transport));
        const handshake = fs[0]!;
        assert.equal(handshake.dir, "s2c");
        assert.equal(handshake.uid, undefined, "the handshake names the uid itself");
        assert.ok(fs.slice(1).every((f) => f.uid === '"alice"'), "frames after the handshake carry the uid");
        if (transport === "ws") {
          assert.ok(fs.every((f) => f.channel === "ws" && f.connId === handshake.connId && f.connId === first.connId));
          assert.deepEqual(
            fs.filter((f) => f.dir === "c2s").map((f) => text(f.data).replace(/"[0-9a-f]{6}"\]$/, '"cb"]')),
            ['[[:demo/echo {:a 1}] "cb"]', '[[:demo/push {:uid "alice", :event [:demo/hello {:n 1}]}] "cb"]', "[[:demo/echo 2] nil]"],
          );
        } else {
          assert.equal(handshake.channel, "poll");
          assert.equal(handshake.handshake, true);
          assert.equal(handshake.status, 200);
          const posts = fs.filter((f) => f.channel === "post");
          assert.deepEqual(
            posts.map((f) => text(f.data)),
            ["[[:demo/echo {:a 1}] :ajax]", '[[:demo/push {:uid "alice", :event [:demo/hello {:n 1}]}] :ajax]', "[[:demo/echo 2] nil]"],
          );
          for (const p of posts) {
            assert.equal(p.dir, "c2s");
            const answers = fs.filter((f) => f.channel === "post-reply" && f.connId === p.connId);
            assert.equal(answers.length, 1);
            assert.equal(answers[0]!.dir, "s2c");
            assert.equal(answers[0]!.status, 200);
          }
          assert.ok(fs.filter((f) => f.channel === "poll").every((f) => f.dir === "s2c"));
        }
        assert.ok(notices.some((n) => n.message === 'logged in as "alice"'));

        // The inspector's decoder reads them as one connection of alice's, every call paired, nothing bad.
        const decoder = createFrameDecoder();
        const records = events.map((e) => decoder.push(e));
        assert.deepEqual(new Set(records.map((r) => r.conn)).size, 1);
        assert.equal(records[0]!.conn, transport === "ws" ? first.connId : `ajax:${clientId}`);
        assert.deepEqual(
          records.filter((r) => r.dir === "c2s" && r.kind === "event").map((r) => [r.eventId, r.pair !== undefined]),
          [
            ["demo/echo", true],
            ["demo/push", true],
            // Over Ajax even a send without a reply has its answer (the dummy), paired by the exchange.
            ["demo/echo", transport === "ajax"],
          ],
        );
        assert.ok(records.filter((r) => r.kind === "reply").every((r) => typeof r.latencyMs === "number" && r.flags === undefined));
        assert.deepEqual(
          records.filter((r) => r.kind === "push").map((r) => r.eventId),
          ["demo/hello"],
        );
        assert.ok(records.every((r) => r.kind !== "bad" && r.kind !== "refused"));
        assert.ok(records.slice(1).every((r) => r.uid === '"alice"'));
      } finally {
        await source.close();
        await app.close();
      }
    });

    test("a refused connection is a `refused` event naming Sente's refusal", { timeout: 20_000 }, async () => {
      const app = await startReferenceServer({ port: 0, sessionSecret: SECRET });
      const source = createClientSource({ url: `${app.url}/chsk`, transport, csrfToken: "not-this-session's" });
      const events: WireEvent[] = [];
      const notices: SourceNotice[] = [];
      source.onEvent((e) => events.push(e));
      source.onNotice((n) => notices.push(n));
      try {
        await source.start();
        await until(() => events.some((e) => e.type === "refused"), 5000, "the refusal");
        const refused = events.find((e) => e.type === "refused")!;
        assert.ok(refused.type === "refused");
        assert.deepEqual([refused.transport, refused.status, refused.body, refused.code], [transport, 403, "Bad CSRF token", "CHSK_ERR_BAD_CSRF"]);
        assert.equal(events[0]!.type, "open");
        assert.equal(events[0]!.connId, refused.connId);
        assert.ok(notices.some((n) => n.level === "warn" && n.code === "CHSK_ERR_HTTP_STATUS"));
        assert.equal(events.filter((e) => e.type === "frame").length, 0);
      } finally {
        await source.close();
        await app.close();
      }
    });
  });
}

test("a refused login fails start() with CHSK_ERR_LOGIN_REFUSED, and `done` says so", { timeout: 20_000 }, async () => {
  const http = createHttpServer((_req, res) => res.writeHead(403, { "content-type": "text/plain" }).end("Invalid anti-forgery token"));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/chsk`;
  const source = createClientSource({ url, login: "mallory" });
  try {
    await assert.rejects(source.start(), (e) => isChskError(e, "CHSK_ERR_LOGIN_REFUSED") && e.status === 403);
    const end = await source.done;
    assert.equal(end.reason, "failed");
    assert.ok(end.reason === "failed" && end.error.code === "CHSK_ERR_LOGIN_REFUSED");
    await assert.rejects(source.send("[:demo/echo 1]", 100), (e) => isChskError(e, "CHSK_ERR_CLOSED"));
  } finally {
    await source.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  }
});
