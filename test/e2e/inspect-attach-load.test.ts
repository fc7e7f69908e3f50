/**
 * Issue 8's "done when": an attach recording under load names every client
 * and user. The real `chsk serve --inspect-token T`; 12 users with 2 or 3
 * devices each, WS and Ajax mixed, each logged in as `chsk call --login`
 * does, a few of them connected before the inspector attached (they come
 * from the stream's snapshot); each calls `[:demo/echo …]` and pushes to
 * other users with `[:demo/push …]`. The attach source feeds the decoder
 * and a `--record` file, which is read back: every client id and uid is
 * in it, every call has its reply, and each client's frames, both ways,
 * are exactly the ones the client's own tap counted. All on 127.0.0.1,
 * bounded in count and time.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bootstrapSession, type Client, type ClientType, createClient } from "../../src/core/client/index.node.js";
import { createFrameDecoder, type FrameRecord, kw, packerByName, parseRecordLines, type PackerName } from "../../src/core/index.js";
import { createRecording } from "../../src/inspector/output/recording.js";
import { createAttachSource } from "../../src/inspector/sources/attach.js";
import type { SourceNotice } from "../../src/inspector/sources/types.js";
import { type Served, serve, waitFor } from "./cli.js";

const TOKEN = "load-inspect-token-0123456789";
const USERS = 12;
const ECHOES = 10;
/** Users whose devices connect before the inspector attaches. */
const EARLY_USERS = 2;

interface Device {
  uid: string;
  clientId: string;
  type: ClientType;
  client: Client;
  /** Frames this client's tap saw: out (c2s) and in (s2c). */
  tapped: { c2s: number; s2c: number };
  /** What it had tapped when the inspector attached (early devices: their handshake). */
  before: { c2s: number; s2c: number };
  pushes: number;
}

const uidOf = (u: number) => `u${String(u).padStart(2, "0")}`;
/** Which users user `u` pushes to. */
const targetsOf = (u: number) => [(u + 1) % USERS, (u + 5) % USERS];

async function connect(url: string, uid: string, d: number, type: ClientType): Promise<Device> {
  const session = await bootstrapSession({ url, login: uid });
  const clientId = `${uid}-${type}-${d}`;
  const client = createClient({ url, type, clientId, csrfToken: session.csrfToken, headers: session.headers, autoConnect: false, wsKaliveMs: 120_000 });
  const dev: Device = { uid, clientId, type, client, tapped: { c2s: 0, s2c: 0 }, before: { c2s: 0, s2c: 0 }, pushes: 0 };
  client.tap((e) => {
    if (e.type === "frame:out") dev.tapped.c2s++;
    else if (e.type === "frame:in") dev.tapped.s2c++;
  });
  client.on("recv", (ev) => {
    if (ev[0] === "demo/note") dev.pushes++;
  });
  client.connect();
  await client.whenOpen();
  return dev;
}

describe("chsk inspect --attach under load (issue 8)", () => {
  let server: Served;
  let dir: string;
  before(async () => {
    server = await serve(["--inspect-token", TOKEN, "--quiet"]);
    dir = mkdtempSync(join(tmpdir(), "chsk-attach-load-"));
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a recording names every client and user; every call has its reply; frame counts match the clients' own", { timeout: 90_000 }, async () => {
    const url = `http://127.0.0.1:${server.port}/chsk`;
    const plan: { u: number; d: number; type: ClientType }[] = [];
    for (let u = 0; u < USERS; u++) {
      const devices = u % 3 === 0 ? 3 : 2;
      for (let d = 0; d < devices; d++) plan.push({ u, d, type: (u + d) % 2 === 0 ? "ws" : "ajax" });
    }
    const devices: Device[] = [];
    const file = join(dir, "attach.jsonl");
    const recording = createRecording(file);
    const notices: SourceNotice[] = [];
    const source = createAttachSource({ url: `http://127.0.0.1:${server.port}`, token: TOKEN });
    source.onNotice((n) => void notices.push(n));
    try {
      // Some devices are there before the inspector.
      for (const p of plan.filter((x) => x.u < EARLY_USERS)) devices.push(await connect(url, uidOf(p.u), p.d, p.type));

      let decoder: ReturnType<typeof createFrameDecoder> | undefined;
      /** Frames per client id as decoded live: to know when the inspector has caught up. */
      const live = new Map<string, { c2s: number; s2c: number }>();
      source.onEvent((e) => {
        decoder ??= createFrameDecoder({ packer: packerByName(source.packer as PackerName) });
        const r = decoder.push(e);
        recording.write(r);
        if (e.type === "frame" && r.clientId !== null) {
          const c = live.get(r.clientId) ?? { c2s: 0, s2c: 0 };
          c[r.dir]++;
          live.set(r.clientId, c);
        }
      });
      await source.start();
      assert.equal(source.packer, "edn");
      for (const dev of devices) dev.before = { ...dev.tapped };

      for (const p of plan.filter((x) => x.u >= EARLY_USERS)) devices.push(await connect(url, uidOf(p.u), p.d, p.type));
      assert.equal(devices.length, plan.length);

      // The load: every device echoes, every user's first device pushes to two others.
      await Promise.all(
        devices.map(async (dev) => {
          for (let i = 0; i < ECHOES; i++) assert.equal(await dev.client.send(["demo/echo", `${dev.clientId}#${i}`], 10_000), `${dev.clientId}#${i}`);
          if (dev.clientId.endsWith("-0")) {
            const u = Number(dev.uid.slice(1));
            for (const t of targetsOf(u)) {
              const reply = await dev.client.send(["demo/push", { uid: uidOf(t), event: [kw("demo/note"), { from: dev.uid }] }], 10_000);
              assert.equal(String(reply), ":ok");
            }
          }
        }),
      );
      // Every device got every push meant for its user.
      const expectedPushes = (uid: string) => [...Array(USERS).keys()].filter((u) => targetsOf(u).includes(Number(uid.slice(1)))).length;
      await waitFor(() => (devices.every((d) => d.pushes === expectedPushes(d.uid)) ? true : undefined), 15_000, "every push to arrive");

      // Wait for the inspector to have seen exactly what the clients tapped, then stop it in that same turn.
      const expected = (d: Device) => ({ c2s: d.tapped.c2s - d.before.c2s, s2c: d.tapped.s2c - d.before.s2c });
      const diff = () =>
        devices
          .map((d) => ({ id: d.clientId, want: expected(d), got: live.get(d.clientId) ?? { c2s: 0, s2c: 0 } }))
          .filter((x) => x.want.c2s !== x.got.c2s || x.want.s2c !== x.got.s2c);
      let counts: Map<string, { c2s: number; s2c: number }> | undefined;
      try {
        await waitFor(
          () => {
            if (diff().length > 0) return undefined;
            counts = new Map(devices.map((d) => [d.clientId, expected(d)]));
            void source.close();
            return true;
          },
          10_000,
          "the inspector to see every frame",
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(diff().slice(0, 5))}`);
      }
      await source.close();
      assert.deepEqual(await source.done, { reason: "closed" });
      await recording.close();
      assert.equal(recording.failed, undefined);

      // The recording, read back.
      const { records, errors } = parseRecordLines(readFileSync(file, "utf8"));
      assert.deepEqual(errors, []);
      assert.equal(records.length, recording.count);
      const clientIds = new Set(records.map((r) => r.clientId));
      const uids = new Set(records.map((r) => r.uid));
      for (const dev of devices) {
        assert.ok(clientIds.has(dev.clientId), `${dev.clientId} is in the recording`);
        assert.ok(uids.has(`"${dev.uid}"`), `${dev.uid} is in the recording`);
        const open = records.find((r) => r.kind === "open" && r.clientId === dev.clientId);
        assert.ok(open, `${dev.clientId} has an open`);
        assert.equal(open.uid, `"${dev.uid}"`);
        assert.ok(records.filter((r) => r.clientId === dev.clientId).every((r) => r.uid === `"${dev.uid}"`), `every record of ${dev.clientId} names ${dev.uid}`);
      }

      // Every call is paired with its reply; nothing unanswered, late or orphaned.
      const bySeq = new Map<number, FrameRecord>(records.map((r) => [r.seq, r]));
      const calls = records.filter((r) => r.kind === "event" && r.cbId !== null && r.cbId !== undefined);
      const pushCalls = devices.filter((d) => d.clientId.endsWith("-0")).length * 2;
      assert.equal(calls.length, devices.length * ECHOES + pushCalls);
      for (const call of calls) {
        const reply = records.find((r) => r.kind === "reply" && r.pair === call.seq);
        assert.ok(reply, `call #${call.seq} (${call.clientId} ${call.eventId}) has its reply`);
        assert.equal(reply.clientId, call.clientId);
        if (call.pair !== undefined) assert.equal(bySeq.get(call.pair), reply);
      }
      assert.deepEqual(records.filter((r) => r.flags?.some((f) => f === "unanswered" || f === "late" || f === "orphan")), []);
      assert.deepEqual(records.filter((r) => r.kind === "bad" || r.kind === "refused"), []);

      // Frames per connection: exactly what each client's tap counted, both ways.
      for (const dev of devices) {
        const mine = records.filter((r) => r.clientId === dev.clientId && !["open", "close", "refused"].includes(r.kind));
        const conns = new Set(mine.map((r) => r.conn));
        assert.equal(conns.size, 1, `${dev.clientId}: one connection`);
        const got = { c2s: mine.filter((r) => r.dir === "c2s").length, s2c: mine.filter((r) => r.dir === "s2c").length };
        assert.deepEqual(got, counts!.get(dev.clientId), `${dev.clientId} (${dev.type})`);
        if (dev.type === "ajax") assert.equal([...conns][0], `ajax:${dev.clientId}`);
      }
      assert.ok(notices.every((n) => n.level === "info" || n.level === "debug"), JSON.stringify(notices.filter((n) => n.level !== "info")));
    } finally {
      await source.close();
      await recording.close();
      await Promise.all(devices.map((d) => d.client.close()));
    }
  });
});
