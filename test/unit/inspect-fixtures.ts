/**
 * Inspector fixtures: the real-Sente captures (fixtures/sente-1.22) turned
 * into the WireEvents a proxy in front of that server would have seen, and
 * frames of the legacy eras written with chsk's own codec.
 */
import { readAjaxPost, readAjaxQuery } from "../../src/core/inspect/ajax-post.js";
import type { WireEvent } from "../../src/core/inspect/types.js";
import { type Exchange, headerOf, loadCaptured, wireOf } from "./sente-captured-fixture.js";

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

/**
 * The WireEvents of one captured exchange, in wire order. Time starts at
 * `t0` and moves 1 ms per step, plus the capture's own waits (lp-timeout,
 * keep-alive). WS sockets are `<exchange>/<actor>#n`, Ajax exchanges
 * `<exchange>/<step>`.
 */
export function wireEventsOf(ex: Exchange, session: Session = newSession()): WireEvent[] {
  const out: WireEvent[] = [];
  const sockets = session.sockets;
  let t = session.t;
  let n = sockets.size;
  ex.steps.forEach((s, i) => {
    t += 1;
    switch (s.type) {
      case "ws-connect": {
        const q = readAjaxQuery(s.request.target);
        const id = `${s.actor}#${++n}`;
        const base = { at: t, transport: "ws" as const, connId: id, ...(q.clientId === undefined ? {} : { clientId: q.clientId }) };
        if (s.response.status === 101) {
          sockets.set(s.actor, { id, ...(q.clientId === undefined ? {} : { clientId: q.clientId }) });
          out.push({ type: "open", ...base, url: s.request.target });
        } else out.push({ type: "refused", ...base, status: s.response.status, body: s.response.body?.text ?? "" });
        return;
      }
      case "recv":
      case "send": {
        let sock = sockets.get(s.actor);
        // A socket opened in an earlier exchange: seen from mid-connection, as a proxy started late sees it.
        if (sock === undefined) sockets.set(s.actor, (sock = { id: `${s.actor}#${++n}` }));
        if (s.type === "recv" && s.afterIdle) t += s.afterIdle.afterMs;
        const frames = s.type === "recv" ? [s] : s.frames;
        for (const f of frames) {
          if (f.payload.text === undefined && typeof f.payload.hex !== "string") continue;
          out.push({ type: "frame", at: t, dir: s.type === "recv" ? "s2c" : "c2s", transport: "ws", channel: "ws", connId: sock.id, data: wireOf(f.payload) });
        }
        return;
      }
      case "http": {
        const target = s.request.target;
        if (!target.startsWith("/chsk")) return;
        const id = `${ex.id}/${i}`;
        const q = readAjaxQuery(target);
        const cid = q.clientId === undefined ? {} : { clientId: q.clientId };
        const requestAt = t;
        if (s.request.method === "POST" && s.request.body !== null) {
          const body = s.request.body.text ?? new Uint8Array(Buffer.from(s.request.body.hex ?? "", "hex"));
          const post = readAjaxPost(body, headerOf(s.request.headers, "content-type"), target);
          if ("error" in post) throw new Error(`${ex.id}: ${post.error}`);
          out.push({
            type: "frame",
            at: t,
            dir: "c2s",
            transport: "ajax",
            channel: "post",
            connId: id,
            ...(post.clientId === undefined ? {} : { clientId: post.clientId }),
            data: post.packed,
          });
        }
        if (s.answeredAfter) t += s.answeredAfter.afterMs;
        const res = s.response;
        if (res.status !== 200 || res.body === null) {
          // A refused WS upgrade is answered over plain HTTP too.
          const transport = headerOf(s.request.headers, "upgrade") === undefined ? "ajax" : "ws";
          out.push({ type: "refused", at: t, transport, connId: id, ...cid, status: res.status, body: res.body?.text ?? "" });
          return;
        }
        out.push({
          type: "frame",
          at: t,
          dir: "s2c",
          transport: "ajax",
          channel: s.request.method === "GET" ? "poll" : "post-reply",
          connId: id,
          ...cid,
          data: wireOf(res.body),
          status: 200,
          requestAt,
          ...(q.handshake ? { handshake: true } : {}),
        });
        return;
      }
      case "silence":
        return;
    }
  });
  session.t = t;
  return out;
}

/** What carries over between the exchanges of one run: the clock and the actors' open sockets. */
export interface Session {
  t: number;
  sockets: Map<string, { id: string; clientId?: string }>;
}

export const newSession = (t0 = T0): Session => ({ t: t0, sockets: new Map() });

/**
 * The captures as runs, one per packer (the captured server ran once per
 * packer; an actor's socket carries over between its exchanges): each
 * run's WireEvents in order.
 */
export function capturedRuns(): { packer: string; exchanges: Exchange[]; events: WireEvent[] }[] {
  const runs = new Map<string, { packer: string; exchanges: Exchange[]; events: WireEvent[]; session: Session }>();
  for (const ex of loadCaptured().exchanges) {
    if (ex.id === "0/login") continue;
    let run = runs.get(ex.packer);
    if (run === undefined) runs.set(ex.packer, (run = { packer: ex.packer, exchanges: [], events: [], session: newSession() }));
    run.exchanges.push(ex);
    run.events.push(...wireEventsOf(ex, run.session));
  }
  return [...runs.values()].map(({ packer, exchanges, events }) => ({ packer, exchanges, events }));
}

/** Every captured exchange on the chsk path, with its WireEvents. */
export function capturedSessions(): { ex: Exchange; events: WireEvent[] }[] {
  return loadCaptured()
    .exchanges.filter((ex) => ex.id !== "0/login")
    .map((ex) => ({ ex, events: wireEventsOf(ex) }));
}
