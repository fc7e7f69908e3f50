/**
 * The server tap's frame events are the wire, one to one: a scripted
 * session on each transport, every frame the peer sent and received
 * recorded on the peer's side, and the tap's `frame:in` / `frame:out`
 * compared to it in number, order, payload, `channel` and `connId`
 * (handshakes, replies, pushes, pings and pongs, poll timeouts, dummy
 * replies, POST timeouts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ServerTapEvent } from "../../src/server/types.js";
import { ajaxGet, ajaxPost, openPeer, startServer, type TestServer, until, withTimeout } from "./server-helpers.js";

type Frame = Extract<ServerTapEvent, { type: "frame:in" | "frame:out" }>;
const framesOf = (srv: TestServer, clientId: string): Frame[] =>
  srv.taps.filter((t): t is Frame => (t.type === "frame:in" || t.type === "frame:out") && t.clientId === clientId);

describe("tap frames = wire frames", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer(
      // Fast keep-alive and poll timeouts so the script sees a server ping and both timeouts.
      { wsKaliveMs: 300, wsPingTimeoutMs: 5_000, lpTimeoutMs: 400, sendBufMsWs: 0, sendBufMsAjax: 0 },
      (msg) => {
        if (msg.id === "my/echo") msg.reply?.(msg.data);
      },
    );
  });
  after(() => srv.stop());

  it("WebSocket: handshake, reply, pong, push, server ping and its pong, a bad frame; one connId", async () => {
    const { peer, handshake } = await openPeer(srv.port, "client-id=w1&uid=alice");
    const received = [handshake];
    const sent: string[] = [];
    const send = (f: string) => {
      sent.push(f);
      peer.send(f);
    };
    send('[[:my/echo {:a 1}] "cb1"]');
    received.push(await peer.next());
    send("[[:my/ev 2]]");
    send('[[:chsk/ws-ping] "cb2"]');
    received.push(await peer.next()); // "pong"
    srv.chsk.send("alice", ["my/push", 3], { flush: true });
    received.push(await peer.next());
    // Idle: the server pings; the peer answers like Sente's client.
    received.push(await peer.next(3000));
    assert.equal(received.at(-1), "[:chsk/ws-ping nil]");
    send("[[:chsk/ws-pong]]");
    send("[[:my/ev {:unclosed");
    await withTimeout(peer.closed, 3000, "the close after a bad frame");
    await until(() => srv.taps.some((t) => t.type === "conn:close" && t.clientId === "w1"), 3000, "conn:close");

    const frames = framesOf(srv, "w1");
    assert.deepEqual(
      frames.filter((f) => f.type === "frame:out").map((f) => f.data),
      received,
      "every frame the peer received, once, in order",
    );
    assert.deepEqual(
      frames.filter((f) => f.type === "frame:in").map((f) => f.data),
      sent,
      "every frame the peer sent, once, in order",
    );
    const connIds = new Set(frames.map((f) => f.connId));
    assert.equal(connIds.size, 1);
    const [connId] = connIds;
    assert.match(connId!, /^ws-\d+$/);
    assert.ok(frames.every((f) => f.channel === "ws" && f.transport === "ws" && f.uid === "alice"));
    assert.ok(frames.every((f) => f.type === "frame:in" || (f.handshake === undefined && f.status === undefined)), "no Ajax fields on WS frames");
    // The interleaving as it happened: a call, its reply; the ping, its pong.
    assert.deepEqual(
      frames.map((f) => `${f.type === "frame:in" ? ">" : "<"} ${String(f.data)}`).slice(0, 6),
      [
        "< " + handshake,
        '> [[:my/echo {:a 1}] "cb1"]',
        '< [{:a 1} "cb1"]',
        "> [[:my/ev 2]]",
        '> [[:chsk/ws-ping] "cb2"]',
        '< ["pong" "cb2"]',
      ],
    );
    const open = srv.taps.find((t) => t.type === "conn:open" && t.clientId === "w1");
    const close = srv.taps.find((t) => t.type === "conn:close" && t.clientId === "w1");
    assert.ok(open && open.type === "conn:open" && open.connId === connId);
    assert.ok(close && close.type === "conn:close" && close.connId === connId);
    assert.ok(srv.taps.indexOf(open) < srv.taps.indexOf(frames[0]!) && srv.taps.indexOf(close) > srv.taps.indexOf(frames.at(-1)!));
    // The undecodable frame is tapped without an event; the decoded ones with theirs.
    assert.deepEqual(
      frames.filter((f) => f.type === "frame:in").map((f) => (f.type === "frame:in" && f.event ? f.event[0] : null)),
      ["my/echo", "my/ev", "chsk/ws-ping", "chsk/ws-pong", null],
    );
  });

  it("Ajax: handshake, a push, a poll timeout, a reply, a dummy reply, a POST timeout, a bad POST; one connId per exchange", async () => {
    /** Each HTTP exchange as the peer saw it: what it sent (ppstr) and what it got. */
    const exchanges: { kind: "poll" | "post"; sent?: string; got: string; status: number }[] = [];
    const get = async (query: string) => {
      const r = await ajaxGet(srv.base, `client-id=a1&uid=bob&${query}`);
      exchanges.push({ kind: "poll", got: r.body, status: r.status });
      return r;
    };
    const post = async (ppstr: string) => {
      const r = await ajaxPost(srv.base, { "client-id": "a1", ppstr }, { query: "uid=bob" });
      exchanges.push({ kind: "post", sent: ppstr, got: r.body, status: r.status });
      return r;
    };

    await get("handshake%3F=1");
    // A held poll answered by a push.
    const pushed = get("");
    await until(() => srv.chsk.clients().some((c) => c.clientId === "a1" && c.connected), 3000, "the held poll");
    srv.chsk.send("bob", ["my/push", 1], { flush: true });
    await pushed;
    // A held poll nobody pushes to: [:chsk/timeout nil] after lpTimeoutMs.
    assert.equal((await get("")).body, "[:chsk/timeout nil]");
    await post("[[:my/echo 7] :ajax]");
    await post("[[:my/ev 8] nil]");
    // A call the handler never answers: the POST times out.
    assert.equal((await post("[[:my/silent 9] :ajax]")).body, "[:chsk/timeout nil]");
    const bad = await post("[[:my/ev");
    assert.equal(bad.status, 400);

    const frames = framesOf(srv, "a1");
    // Group by exchange: each connId is one HTTP exchange, in the order they happened.
    const byConn = new Map<string, Frame[]>();
    for (const f of frames) byConn.set(f.connId, [...(byConn.get(f.connId) ?? []), f]);
    assert.equal(byConn.size, exchanges.length, "one connId per exchange");
    const tapped = [...byConn.values()];
    exchanges.forEach((ex, i) => {
      const fs = tapped[i]!;
      const ins = fs.filter((f) => f.type === "frame:in");
      const outs = fs.filter((f): f is Extract<Frame, { type: "frame:out" }> => f.type === "frame:out");
      assert.match(fs[0]!.connId, ex.kind === "poll" ? /^get-\d+$/ : /^post-\d+$/, `exchange ${i}`);
      if (ex.kind === "post") {
        assert.deepEqual(ins.map((f) => [f.data, f.channel]), [[ex.sent, "post"]], `exchange ${i}: the POST's frame`);
      } else assert.equal(ins.length, 0);
      if (ex.status === 200) {
        assert.deepEqual(
          outs.map((f) => [f.data, f.channel, f.status]),
          [[ex.got, ex.kind === "poll" ? "poll" : "post-reply", 200]],
          `exchange ${i}: its answer`,
        );
      } else assert.equal(outs.length, 0, `exchange ${i}: a refusal is no frame`);
      // The frame in comes before the answer.
      if (ins.length && outs.length) assert.ok(frames.indexOf(ins[0]!) < frames.indexOf(outs[0]!));
    });
    const outs = frames.filter((f): f is Extract<Frame, { type: "frame:out" }> => f.type === "frame:out");
    assert.deepEqual(
      outs.map((f) => f.handshake === true),
      [true, false, false, false, false, false],
      "only the handshake answer is marked",
    );
    assert.deepEqual(
      outs.map((f) => f.data),
      exchanges.filter((e) => e.status === 200).map((e) => e.got),
    );
    assert.equal(outs[1]!.data, "[[[:my/push 1]] nil]");
    assert.equal(outs[3]!.data, "[7 nil]");
    assert.equal(outs[4]!.data, "[:chsk/dummy-cb-200 nil]");
    assert.ok(frames.every((f) => f.transport === "ajax" && f.uid === "bob"));
    // The client's conn:open names its handshake GET.
    const open = srv.taps.find((t) => t.type === "conn:open" && t.clientId === "a1");
    assert.ok(open && open.type === "conn:open" && open.connId === tapped[0]![0]!.connId);
    const refusal = srv.taps.find((t) => t.type === "refused" && t.clientId === "a1");
    assert.ok(refusal && refusal.type === "refused" && refusal.connId === tapped.at(-1)![0]!.connId, "the bad POST's refusal shares its connId");
  });
});
