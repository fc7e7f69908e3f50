/**
 * What the Express and Fastify adapter tests share: real chsk Node clients
 * (closed after each test), and one round trip (echo, a where-am-I reply,
 * a push) over a transport.
 */
import assert from "node:assert/strict";
import { after } from "node:test";
import { createClient } from "../../src/core/client/index.node.js";
import type { Client, ClientType, Transport } from "../../src/core/client/types.js";
import type { ChskEvent } from "../../src/core/protocol/events.js";
import { ednPacker, type ChskServer, type Packer } from "../../src/server/index.js";
import { until, withTimeout } from "./server-helpers.js";

const clients: Client[] = [];

/** A client as the app's users connect: the uid travels as the `uid` cookie (a stand-in for a session). */
export function connect(url: string, type: ClientType, extra: { uid?: string; packer?: Packer; headers?: Record<string, string>; csrfToken?: string } = {}): Client {
  const c = createClient({
    url,
    type,
    packer: extra.packer ?? ednPacker(),
    headers: extra.headers ?? (extra.uid === undefined ? {} : { cookie: `uid=${extra.uid}` }),
    csrfToken: extra.csrfToken ?? null,
    backoffMs: () => 50,
    ajaxTimeoutMs: 5_000,
  });
  clients.push(c);
  return c;
}
export const closeClients = () => Promise.all(clients.splice(0).map((c) => c.close()));
after(closeClients);

export function nextPush(c: Client, timeoutMs = 3000): Promise<ChskEvent> {
  return withTimeout(
    new Promise<ChskEvent>((resolve) => {
      const off = c.on("recv", (ev) => (off(), resolve(ev)));
    }),
    timeoutMs,
    "a push",
  );
}

/** Echo with a reply, then a push, over `type`; the hooks see the public path. */
export async function roundTrip(h: { url: string; chsk: ChskServer }, type: Transport, uid: string, packer?: Packer): Promise<void> {
  const c = connect(h.url, type, packer === undefined ? { uid } : { uid, packer });
  await withTimeout(c.whenOpen(), 3000, "open");
  assert.equal(c.state.type, type);
  const data = { text: "héllo & = + %", n: [1, 2, 3] };
  assert.deepEqual(await c.send(["test/echo", data], { timeoutMs: 3000 }), data);
  assert.deepEqual(await c.send(["test/where"], 3000), { path: new URL(h.url).pathname, transport: type, uid });
  await until(() => h.chsk.connectedUids[type].has(uid), 3000, "connected");
  const push = nextPush(c);
  h.chsk.send(uid, ["test/push", { to: uid }]);
  assert.deepEqual(await push, ["test/push", { to: uid }]);
}

/** The EDN packer sending bytes: binary WS frames and `application/octet-stream` POSTs with `binary?`. */
export function ednBytesPacker(): Packer {
  const edn = ednPacker();
  return {
    name: "edn-bytes",
    binary: true,
    keywordsAsStrings: false,
    pack: (v) => Buffer.from(edn.pack(v) as string, "utf8"),
    unpack: (d, limits) => edn.unpack(typeof d === "string" ? d : Buffer.from(d).toString("utf8"), limits),
  };
}
