#!/usr/bin/env node
/**
 * Turns `captured-frames.md` (bytes a real Sente 1.22 server sent, captured
 * over raw TCP by the sente-peer bundle) into the committed conformance
 * fixture `fixtures/sente-1.22/exchanges.json`, so that CI, which never sees
 * the capture file, replays the real bytes.
 *
 *   node scripts/extract-sente-frames.mjs [captured-frames.md] [--out DIR] [--check]
 *
 * The input defaults to $SENTE_FRAMES_MD, else /work/shared/sente-frames/captured-frames.md.
 * `--check` writes nothing and exits 1 if the committed fixture differs.
 *
 * How it reads the capture: the markdown is cut into blocks (headings,
 * paragraphs, code blocks); each block becomes an item (an HTTP request or
 * response, a server frame, a client frame, a "no answer", a timing note);
 * an explicit plan per section then names the exchanges and says which
 * items each one is made of. Any item the plan does not expect, or a plan
 * step that finds another kind of item, stops the script: a changed capture
 * fails loudly instead of producing a quietly different fixture. Every
 * length the capture states (Content-Length, frame header, "N bytes") is
 * checked against the bytes.
 *
 * Per-run values are replaced by placeholders: the session cookie by
 * `{{session}}` and the CSRF token by `{{csrf}}`, with the exchange step
 * naming whose session it was. The Sec-WebSocket-Key is kept: the
 * Sec-WebSocket-Accept Sente's server answered is a function of it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_INPUT = process.env.SENTE_FRAMES_MD ?? "/work/shared/sente-frames/captured-frames.md";
const FIXTURE = "exchanges.json";

class CaptureError extends Error {}
function fail(msg) {
  throw new CaptureError(msg);
}

// ---------------------------------------------------------------------------
// 1. Markdown → blocks

/** Headings, paragraphs (lines joined by a space) and fenced code blocks, each with its section. */
function blocks(md) {
  const out = [];
  const lines = md.split("\n");
  let top = null;
  let sub = null;
  let para = [];
  const flush = () => {
    if (para.length > 0) out.push({ type: "p", text: para.join(" "), section: sub ?? top, top });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      flush();
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      if (i === lines.length) fail("unterminated code block");
      out.push({ type: "code", lines: code, section: sub ?? top, top });
      continue;
    }
    const h = /^(#{1,3}) (.*)$/.exec(line);
    if (h) {
      flush();
      const text = h[2];
      const num = /^(\d+(?:\.\d+)?)\.? /.exec(text)?.[1] ?? null;
      if (h[1].length === 2) {
        top = num;
        sub = null;
      } else if (h[1].length === 3) sub = num;
      out.push({ type: "h", level: h[1].length, text, section: sub ?? top, top });
      continue;
    }
    if (line.trim() === "") flush();
    else para.push(line.trim());
  }
  flush();
  return out;
}

// ---------------------------------------------------------------------------
// 2. Blocks → items

const HEX_LINE = /^([0-9a-f]{2})( [0-9a-f]{2})*$/;
const CRLF = "\\r\\n";

function utf8Len(s) {
  return Buffer.byteLength(s, "utf8");
}

function hexOf(lines) {
  return lines.join(" ").split(" ").join("");
}

/** An HTTP message shown line by line with literal `\r\n` marks. */
function parseHttp(lines) {
  const headLines = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (!l.endsWith(CRLF)) fail(`HTTP line without \\r\\n: ${l}`);
    const t = l.slice(0, -CRLF.length);
    if (t === "") {
      i++;
      break;
    }
    headLines.push(t);
  }
  const bodyLines = lines.slice(i);
  const [start, ...rest] = headLines;
  const headers = rest.map((h) => {
    const c = h.indexOf(": ");
    if (c < 1) fail(`bad header line: ${h}`);
    return [h.slice(0, c), h.slice(c + 2)];
  });
  const body = bodyLines.length === 0 ? null : bodyLines.join("\n");
  const status = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(start);
  if (status) return { kind: "http-response", status: Number(status[1]), reason: status[2], headers, body };
  const req = /^(GET|POST) (\S+) HTTP\/1\.1$/.exec(start);
  if (!req) fail(`not an HTTP start line: ${start}`);
  return { kind: "http-request", method: req[1], target: req[2], headers, body };
}

function header(headers, name) {
  const h = headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return h === undefined ? undefined : h[1];
}

/** A capture reading without its markdown code quotes. */
const plain = (s) => s.replace(/`/g, "");

/** Backticked spans of a paragraph that look like a Sente message (`[…]`, or `+[…]`). */
function framesIn(text) {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((c) => /^\+?\[/.test(c));
}

const CLIENT_PARA = /^(Client|No cb-uuid|Legacy|Bob sends|A text frame \(opcode 1\))/;
const BINARY_CLIENT = /\(binary frame, opcode 2, masked; payload (\d+) bytes, unmasked\):$/;
const BINARY_SERVER = /\(frame header ([0-9a-f]{4}), opcode (\d), (\d+) bytes\):$/;
const TEXT_SERVER = /^(.*) {4}\(frame header ([0-9a-f]{4}), opcode (\d)\)$/;
const SILENCE = /\b(no answer|gets no frame|No frame within)\b/;

/** Items in document order. `pending` says what the next hex block is. */
function items(bs) {
  const out = [];
  let pending = null;
  let lastHttp = null;
  // The item itself (not a copy): a "Body (N bytes)" block later completes the last HTTP message.
  const push = (it, b) => out.push(Object.assign(it, { section: b.section, top: b.top }));
  for (const b of bs) {
    if (b.type === "h") {
      if (pending) fail(`section ${b.section}: "${pending.why}" not followed by its bytes`);
      push({ kind: "heading", level: b.level, text: b.text }, b);
      continue;
    }
    if (b.type === "code") {
      if (b.lines.length > 0 && b.lines.every((l) => HEX_LINE.test(l))) {
        if (!pending) fail(`section ${b.section}: hex block without a caption`);
        const hex = hexOf(b.lines);
        if (pending.bytes !== undefined && hex.length / 2 !== pending.bytes) {
          fail(`section ${b.section}: "${pending.why}" says ${pending.bytes} bytes, the block has ${hex.length / 2}`);
        }
        if (pending.kind === "body") {
          if (lastHttp.body !== null) fail(`section ${b.section}: a hex body for a message that has a text body`);
          lastHttp.bodyHex = hex;
        } else push({ ...pending.item, hex }, b);
        pending = null;
        continue;
      }
      if (b.lines.some((l) => l.endsWith(CRLF))) {
        const m = parseHttp(b.lines);
        lastHttp = m;
        push(m, b);
        continue;
      }
      const f = b.lines.length === 1 ? TEXT_SERVER.exec(b.lines[0]) : null;
      if (f) {
        push({ kind: "server-frame", text: f[1], frameHeader: f[2], opcode: Number(f[3]) }, b);
        continue;
      }
      fail(`section ${b.section}: unrecognised code block: ${b.lines[0]}`);
    }
    // Paragraphs.
    const t = b.text;
    if (pending) fail(`section ${b.section}: "${pending.why}" not followed by its bytes`);
    const after = /\bafter (\d+) ms( idle)?\b/.exec(t);
    if (after) push({ kind: "timing", afterMs: Number(after[1]), idle: after[2] !== undefined, text: t }, b);
    let m;
    if ((m = /^Body \((\d+) bytes\):$/.exec(t))) {
      pending = { kind: "body", bytes: Number(m[1]), why: t };
    } else if ((m = BINARY_SERVER.exec(t))) {
      pending = { kind: "frame", bytes: Number(m[3]), why: t, item: { kind: "server-frame", frameHeader: m[1], opcode: Number(m[2]), caption: t } };
    } else if ((m = BINARY_CLIENT.exec(t))) {
      const reading = framesIn(t)[0] ?? null; // replaced by the "reads as" line when there is one
      pending = { kind: "frame", bytes: Number(m[1]), why: t, item: { kind: "client-frame", opcode: 2, reads: reading, caption: t } };
    } else if (/^Bob sends three binary frames/.test(t) && /K = 0:$/.test(t)) {
      const [tmpl] = framesIn(t);
      pending = { kind: "frame", why: t, item: { kind: "client-frames-k", opcode: 2, template: tmpl, caption: t } };
    } else if (CLIENT_PARA.test(t)) {
      // Clauses in order: each frame, then "no answer" if the clause says so.
      for (const clause of t.split(/; /)) {
        const fs = framesIn(clause);
        const ks = /K = 0, 1, 2/.test(clause);
        for (const f of fs) {
          if (ks) push({ kind: "client-frames-k", opcode: 1, template: f, caption: t }, b);
          else push({ kind: "client-frame", opcode: 1, text: f, caption: t }, b);
        }
        if (SILENCE.test(clause)) push({ kind: "silence", text: t }, b);
      }
    } else if (/^reads as /.test(t)) {
      const prev = out.at(-1);
      const reading = plain(t.slice("reads as ".length));
      if (prev && (prev.kind === "server-frame" || prev.kind === "client-frame" || prev.kind === "client-frames-k") && prev.hex) prev.reads = reading;
      else if (lastHttp && lastHttp.bodyHex) lastHttp.bodyReads = reading;
      else fail(`section ${b.section}: "reads as" after nothing binary`);
    } else if (SILENCE.test(t)) {
      push({ kind: "silence", text: t }, b);
    } else if ((m = /then (\d+) `00` bytes, `Content-Length: (\d+)`\. The same request with that body gets:$/.exec(t))) {
      push({ kind: "padded-request", zeros: Number(m[1]), contentLength: Number(m[2]), text: t }, b);
    } else if (!after) {
      push({ kind: "note", text: t }, b);
    }
  }
  if (pending) fail(`"${pending.why}" not followed by its bytes`);
  return out;
}

// ---------------------------------------------------------------------------
// 3. The plan: which items make which exchange

/**
 * A step takes the next item(s) of its section: `http` a request and its
 * response (`padded` instead takes the previous POST again with the padding
 * the capture describes), `connect` a WS upgrade request, its 101 and the
 * first frame, `send` / `sendK` client frames (`sendK`: the capture's
 * "K = 0, 1, 2" in one write), `recv` a server frame, `silence` a "no
 * answer". `held` says what a held request waited for; `idle` why a frame
 * came after a quiet time. Every step names its actor (see ACTORS).
 */
const TEXT_PLAN = {
  "0": [{ id: "login", title: "POST /login (the peer's own route, not Sente)", steps: [{ http: "alice-login" }] }],
  "1": [{ id: "ws-handshake", title: "WebSocket handshake: the first frame", steps: [{ connect: "alice-ws" }] }],
  "2": [
    { id: "ws-reply", title: "A reply over WebSocket (cb-uuid echoed)", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] },
    { id: "ws-client-ping", title: "The client's ping is answered \"pong\" by Sente itself", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] },
    { id: "ws-no-cb", title: "No cb-uuid: no frame; the next event with one is answered", steps: [{ send: "alice-ws" }, { silence: "alice-ws" }, { send: "alice-ws" }, { recv: "alice-ws" }] },
    { id: "ws-legacy-plus", title: "A legacy `+`-prefixed client frame (≤1.17 format; 1.18-1.20 with *write-legacy-pack-format?*)", steps: [{ send: "alice-ws" }, { silence: "alice-ws" }] },
  ],
  "3": [
    {
      id: "push-batch",
      title: "A push batch: 3 events to one user, on WebSocket and on a held Ajax poll",
      steps: [{ sendK: "bob-ws" }, { recv: "alice-ws" }, { http: "alice-ajax", held: "push" }],
    },
  ],
  "4": [
    { id: "ajax-handshake", title: "Ajax handshake", steps: [{ http: "bob-ajax" }] },
    { id: "ajax-handshake-anonymous", title: "Ajax handshake, anonymous session (GET /csrf, no login)", steps: [{ http: "anon-ajax" }] },
  ],
  "5": [{ id: "ajax-poll-timeout", title: "Ajax long-poll timeout", steps: [{ http: "bob-ajax", held: "lp-timeout" }] }],
  "6": [
    { id: "post-reply", title: "Ajax POST, cb :ajax: the reply", steps: [{ http: "bob-ajax" }] },
    { id: "post-reply-cb-0", title: "Ajax POST, the ≤1.20 cb id 0: the reply", steps: [{ http: "bob-ajax" }] },
    { id: "post-no-cb", title: "Ajax POST, no cb: :chsk/dummy-cb-200", steps: [{ http: "bob-ajax" }] },
    { id: "post-whoami", title: "Ajax POST [:demo/whoami]", steps: [{ http: "bob-ajax" }] },
    { id: "post-never-answered", title: "Ajax POST the router never answers: :chsk/timeout", steps: [{ http: "bob-ajax", held: "lp-timeout" }] },
  ],
  "7": [
    { id: "bad-csrf-ws", title: "Bad CSRF token on a WebSocket upgrade", steps: [{ http: "alice-ws" }] },
    { id: "bad-csrf-post", title: "Bad CSRF token on an Ajax POST", steps: [{ http: "bob-ajax" }] },
    { id: "bad-csrf-no-session", title: "Ajax handshake without any session (no reference token)", steps: [{ http: "nosession-ajax" }] },
  ],
  "8": [
    { id: "missing-client-id-ajax", title: "Ajax GET without client-id", steps: [{ http: "alice-ajax" }] },
    { id: "missing-client-id-ws", title: "WebSocket upgrade without client-id", steps: [{ http: "alice-ws" }] },
  ],
  "9": [{ id: "server-ping", title: "Server ping after half the ws-kalive-ms idle", steps: [{ recv: "alice-ws", idle: "ws-kalive" }] }],
  "10": [{ id: "bad-origin-ws", title: "Origin not in the allow-list", steps: [{ http: "visitor-ws" }] }],
  "11": [
    { id: "ws-handshake", title: "Transit: WebSocket handshake", steps: [{ recv: "erin-ws", first: true }] },
    { id: "ws-reply", title: "Transit: a reply over WebSocket (a map with a set)", steps: [{ send: "erin-ws" }, { recv: "erin-ws" }] },
    { id: "ajax-handshake", title: "Transit: Ajax handshake", steps: [{ http: "erin-ajax" }] },
    { id: "post-reply-int64", title: "Transit: Ajax POST echo of 9007199254740993 (above 2^53)", steps: [{ http: "erin-ajax" }] },
  ],
};

/** Sections 12-14 repeat sections 1-4, 6 and 9 with a binary packer. */
function binaryPlan(n) {
  const s = (k) => `${n}.${k}`;
  const plan = {
    [s(1)]: [{ id: "ws-handshake", title: "WebSocket handshake: the first frame", steps: [{ connect: "alice-ws" }] }],
    [s(2)]: [{ id: "ws-reply", title: "A reply over WebSocket (map, vector, set, int64)", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] }],
    [s(3)]: [
      {
        id: "push-batch",
        title: "A push batch: 3 events to one user, on WebSocket and on a held Ajax poll",
        steps: [{ sendK: "bob-ws" }, { recv: "alice-ws" }, { http: "alice-ajax", held: "push" }],
      },
    ],
    [s(4)]: [{ id: "ajax-handshake", title: "Ajax handshake", steps: [{ http: "bob-ajax" }] }],
    [s(5)]: [{ id: "post-reply", title: "Binary Ajax POST (binary?=true): the reply", steps: [{ http: "bob-ajax" }] }],
    [s(6)]: [{ id: "server-ping", title: "Server ping after half the ws-kalive-ms idle", steps: [{ recv: "alice-ws", idle: "ws-kalive" }] }],
  };
  if (n === 12) {
    plan[s(2)].push(
      { id: "ws-reply-key-cache", title: "Map keys repeated in one message (ext 8 key cache)", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] },
      { id: "ws-reply-types", title: "Symbol, char, uuid, instant (ns), ratio, double, float32, bytes, unknown ext", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] },
      { id: "ws-u64", title: "An unsigned 64-bit integer above 2^63 - 1: no reply", steps: [{ send: "alice-ws" }, { silence: "alice-ws" }] },
    );
    plan[s(5)].push(
      { id: "post-no-cb", title: "Binary Ajax POST, no cb: :chsk/dummy-cb-200", steps: [{ http: "bob-ajax" }] },
      { id: "post-whoami", title: "Binary Ajax POST [:demo/whoami]", steps: [{ http: "bob-ajax" }] },
      { id: "post-reply-padded", title: "Binary Ajax POST with the zero padding Sente's cljs client sends", steps: [{ padded: "bob-ajax", of: "post-reply" }] },
    );
  } else {
    plan[s(2)].push({ id: "ws-reply-gzip", title: "A message of 1024 bytes or more: gzip both ways", steps: [{ send: "alice-ws" }, { recv: "alice-ws" }] });
  }
  plan[s(2)].push({ id: "ws-text-frame", title: "A text frame to a binary-packer server", steps: [{ send: "alice-ws" }, { silence: "alice-ws" }] });
  plan[s(5)].push({ id: "post-text-form", title: "A text-style POST (form ppstr, no binary?) to a binary-packer server", steps: [{ http: "bob-ajax" }] });
  return plan;
}

const PLAN = { ...TEXT_PLAN, ...binaryPlan(12), ...binaryPlan(13), ...binaryPlan(14) };

/** Who each actor is: whose session, which transport. */
const ACTORS = {
  "alice-login": { session: "alice", transport: "http" },
  "alice-ws": { session: "alice", transport: "ws" },
  "bob-ws": { session: "bob", transport: "ws" },
  // A separate run (other server flags): its login is not shown, nor its uid.
  "visitor-ws": { session: "visitor", transport: "ws" },
  "erin-ws": { session: "erin", transport: "ws" },
  "alice-ajax": { session: "alice", transport: "ajax" },
  "bob-ajax": { session: "bob", transport: "ajax" },
  "erin-ajax": { session: "erin", transport: "ajax" },
  "anon-ajax": { session: "anonymous", transport: "ajax" },
  "nosession-ajax": { session: null, transport: "ajax" },
};

// ---------------------------------------------------------------------------
// 4. Sessions: per-run cookies and tokens → placeholders

/**
 * Maps each captured cookie / token to the session it belongs to: the
 * login's uid, else the uid of the first handshake answered on it.
 */
function sessionsOf(its) {
  const cookieOwner = new Map();
  const tokenOwner = new Map();
  const cookieOf = (headers) => /ring-session=([^;]+)/.exec(header(headers, "Cookie") ?? "")?.[1];
  const tokenOf = (m) => header(m.headers, "X-CSRF-Token") ?? new URLSearchParams(m.target.split("?")[1] ?? "").get("csrf-token") ?? undefined;
  const uidIn = (s) => {
    const m =
      /\[:chsk\/handshake \[("([^"]*)"|:sente\/nil-uid) nil nil\]\]/.exec(s ?? "") ??
      /\["~:chsk\/handshake",\[("([^"]*)"|"~:sente\/nil-uid"),null,null\]\]/.exec(s ?? "");
    if (!m) return undefined;
    return m[2] ?? "anonymous";
  };
  // Requests, each with its answer (or the first server frame after a 101).
  for (let i = 0; i < its.length; i++) {
    const it = its[i];
    if (it.kind === "http-response" && /^Set-Cookie$/i.test(it.headers.find(([k]) => /^set-cookie$/i.test(k))?.[0] ?? "")) {
      const login = JSON.parse(it.body);
      const cookie = /ring-session=([^;]+)/.exec(header(it.headers, "Set-Cookie"))[1];
      cookieOwner.set(cookie, login.uid);
      tokenOwner.set(login.csrfToken, login.uid);
      continue;
    }
    if (it.kind !== "http-request") continue;
    const cookie = cookieOf(it.headers);
    if (cookie === undefined || cookieOwner.has(cookie)) continue;
    // The answer itself, or after a 101 the first frame (captions and timing notes may sit in between).
    const next = (j) => {
      while (its[j]?.kind === "timing" || its[j]?.kind === "note") j++;
      return j;
    };
    const r = next(i + 1);
    const res = its[r];
    let uid;
    if (res?.kind === "http-response") {
      uid = uidIn(res.body ?? res.bodyReads);
      const f = its[next(r + 1)];
      if (uid === undefined && res.status === 101 && f?.kind === "server-frame") uid = uidIn(f.text ?? f.reads);
    }
    if (uid !== undefined) cookieOwner.set(cookie, uid);
  }
  // Tokens travel with their session's cookie.
  for (const it of its) {
    if (it.kind !== "http-request") continue;
    const cookie = cookieOf(it.headers);
    const token = tokenOf(it);
    if (cookie !== undefined && token !== undefined && cookieOwner.has(cookie) && !tokenOwner.has(token)) {
      // Only a token that is not a deliberate wrong one: a wrong token is refused, a real one is answered.
      const answer = its[its.indexOf(it) + 1];
      if (answer?.kind === "http-response" && answer.status === 403) continue;
      tokenOwner.set(token, cookieOwner.get(cookie));
    }
  }
  return { cookieOwner, tokenOwner, cookieOf, tokenOf };
}

function substitute(req, owners, actor) {
  const { cookieOwner, tokenOwner } = owners;
  const want = ACTORS[actor].session;
  const replaceToken = (v) => {
    if (!tokenOwner.has(v)) return v;
    if (tokenOwner.get(v) !== want) {
      fail(`${req.method} ${req.target}: the token is ${tokenOwner.get(v)}'s, the plan says ${want}`);
    }
    return "{{csrf}}";
  };
  const headers = req.headers.map(([k, v]) => {
    if (/^cookie$/i.test(k)) {
      return [
        k,
        v.replace(/ring-session=([^;]+)/, (_, c) => {
          let owner = cookieOwner.get(c);
          // A session whose login and handshake the capture doesn't show: the plan says whose.
          if (owner === undefined && want === "visitor") {
            cookieOwner.set(c, (owner = want));
            const t = header(req.headers, "X-CSRF-Token") ?? new URLSearchParams(req.target.split("?")[1] ?? "").get("csrf-token");
            if (t) tokenOwner.set(t, want);
          }
          if (owner === undefined) fail(`${req.method} ${req.target}: a cookie of no known session`);
          if (owner !== want) fail(`${req.method} ${req.target}: the cookie is ${owner}'s, the plan says ${want}`);
          return "ring-session={{session}}";
        }),
      ];
    }
    if (/^x-csrf-token$/i.test(k)) return [k, replaceToken(v)];
    return [k, v];
  });
  const [path, query] = req.target.split(/\?(.*)/s);
  let target = req.target;
  if (query !== undefined) {
    target =
      path +
      "?" +
      query
        .split("&")
        .map((kv) => {
          const [k, v] = kv.split(/=(.*)/s);
          return k === "csrf-token" && v !== undefined ? `${k}=${replaceToken(v)}` : kv;
        })
        .join("&");
  }
  return { headers, target };
}

// ---------------------------------------------------------------------------
// 5. Assembly

function checkContentLength(m, where) {
  const cl = header(m.headers, "Content-Length");
  const len = m.bodyHex !== undefined ? m.bodyHex.length / 2 : m.body === null ? 0 : utf8Len(m.body);
  if (cl !== undefined && Number(cl) !== len) fail(`${where}: Content-Length ${cl}, body ${len} bytes`);
  if (cl === undefined && len !== 0) fail(`${where}: a body without Content-Length`);
}

function payloadOf(m) {
  if (m.bodyHex !== undefined) return { hex: m.bodyHex, ...(m.bodyReads ? { reads: m.bodyReads } : {}) };
  return m.body === null ? null : { text: m.body };
}

function checkFrameHeader(f, bytes, where) {
  const h = Buffer.from(f.frameHeader, "hex");
  if ((h[0] & 0x0f) !== f.opcode || (h[0] & 0x80) === 0) fail(`${where}: frame header ${f.frameHeader} is not FIN + opcode ${f.opcode}`);
  if ((h[1] & 0x80) !== 0) fail(`${where}: a server frame must not be masked`);
  if ((h[1] & 0x7f) !== bytes) fail(`${where}: frame header ${f.frameHeader} says ${h[1] & 0x7f} bytes, the payload has ${bytes}`);
}

function frameOf(f, where) {
  if (f.hex !== undefined) {
    if (f.frameHeader) checkFrameHeader(f, f.hex.length / 2, where);
    return { opcode: f.opcode, ...(f.frameHeader ? { frameHeader: f.frameHeader } : {}), payload: { hex: f.hex, ...(f.reads ? { reads: f.reads } : {}) } };
  }
  if (f.frameHeader) checkFrameHeader(f, utf8Len(f.text), where);
  return { opcode: f.opcode, ...(f.frameHeader ? { frameHeader: f.frameHeader } : {}), payload: { text: f.text } };
}

/** Flags such as `--ws-kalive-ms 2000` quoted in a heading. */
function flagsIn(text) {
  return [...text.matchAll(/`(--[a-z-]+) ([^`]+)`/g)].map((m) => [m[1], m[2]]);
}

function assemble(its, owners) {
  const bySection = new Map();
  const headings = new Map();
  for (const it of its) {
    if (it.kind === "heading") {
      headings.set(it.section, it.text);
      continue;
    }
    if (it.top === null) continue; // the preamble
    if (Number(it.top) >= 15) continue; // §15 is prose about the msgpack mapping
    if (it.kind === "note") {
      // Captions ("Request:", "Ajax POST:") only say what the next block is.
      if (it.text.length < 80 && it.text.endsWith(":")) continue;
    }
    (bySection.get(it.section) ?? bySection.set(it.section, []).get(it.section)).push(it);
  }
  // The intros of sections 12-14 (no frames; provenance keeps the common one).
  for (const [s, its2] of bySection) if (!PLAN[s] && its2.some((i) => i.kind !== "note")) fail(`section ${s} has frames but no plan`);

  const exchanges = [];
  for (const [section, entries] of Object.entries(PLAN)) {
    const queue = [...(bySection.get(section) ?? [])];
    const top = section.split(".")[0];
    const topHeading = headings.get(top) ?? fail(`no heading for section ${top}`);
    const subHeading = section === top ? null : headings.get(section);
    const flags = [...flagsIn(topHeading), ...(subHeading ? flagsIn(subHeading) : [])];
    const packer = flags.find(([f]) => f === "--packer")?.[1] ?? "edn";
    const serverFlags = flags.filter(([f]) => f !== "--packer").flat();
    const uniqueFlags = [...new Set(serverFlags)];
    const byId = new Map();
    for (const entry of entries) {
      const where = `section ${section} ${entry.id}`;
      const notes = [];
      const take = (kind) => {
        // Prose belongs to the exchange it precedes; an aside in parentheses to the one before.
        while (queue[0]?.kind === "note") {
          const n = queue.shift().text;
          const prev = exchanges.at(-1);
          if (steps.length === 0 && n.startsWith("(") && prev?.section === section) (prev.notes ??= []).push(n);
          else notes.push(n);
        }
        // A timing note ("after 20006 ms") belongs to the answer that follows it.
        if (queue[0]?.kind === "timing" && (kind === "http-response" || kind === "server-frame")) {
          const t = queue.shift();
          timing = { afterMs: t.afterMs, note: t.text };
        }
        const it = queue.shift();
        if (!it || it.kind !== kind) fail(`${where}: expected ${kind}, found ${it ? `${it.kind} ${JSON.stringify(it.text ?? it.target ?? it.caption ?? "").slice(0, 80)}` : "nothing"}`);
        return it;
      };
      const steps = [];
      let timing = null;
      const actors = new Set();
      for (const st of entry.steps) {
        const actor = st.http ?? st.padded ?? st.connect ?? st.send ?? st.sendK ?? st.recv ?? st.silence;
        if (!ACTORS[actor]) fail(`${where}: unknown actor ${actor}`);
        actors.add(actor);
        if (st.http || st.connect) {
          const req = take("http-request");
          const res = take("http-response");
          checkContentLength(req, `${where} request`);
          checkContentLength(res, `${where} response`);
          const { headers, target } = substitute(req, owners, actor);
          const step = {
            type: st.connect ? "ws-connect" : "http",
            actor,
            request: { method: req.method, target, headers, body: payloadOf(req) },
            response: { status: res.status, reason: res.reason, headers: res.headers.filter(([k]) => !/^(date|set-cookie)$/i.test(k)), body: payloadOf(res) },
          };
          if (res.headers.some(([k]) => /^set-cookie$/i.test(k))) step.response.setsSessionCookie = true;
          if (st.held) step.heldUntil = st.held;
          if (timing) step.answeredAfter = { ...timing, cause: st.held ?? fail(`${where}: a timed answer the plan does not explain`) };
          timing = null;
          steps.push(step);
          if (st.connect) {
            if (res.status !== 101) fail(`${where}: a connect without a 101`);
            const f = take("server-frame");
            steps.push({ type: "recv", actor, first: true, ...frameOf(f, where) });
          }
          continue;
        }
        if (st.padded) {
          const p = take("padded-request");
          const res = take("http-response");
          checkContentLength(res, `${where} response`);
          const base = byId.get(st.of)?.steps.find((x) => x.type === "http");
          if (!base || !base.request.body?.hex) fail(`${where}: nothing binary to pad`);
          const hex = base.request.body.hex + "00".repeat(p.zeros);
          if (hex.length / 2 !== p.contentLength) fail(`${where}: padding gives ${hex.length / 2} bytes, the capture says ${p.contentLength}`);
          const headers = base.request.headers.map(([k, v]) => (/^content-length$/i.test(k) ? [k, String(p.contentLength)] : [k, v]));
          steps.push({
            type: "http",
            actor,
            request: { ...base.request, headers, body: { hex, derived: `the ${base.request.body.hex.length / 2}-byte body of ${entry.id.replace(/-padded$/, "")} then ${p.zeros} zero bytes, as the capture describes it` } },
            response: { status: res.status, reason: res.reason, headers: res.headers.filter(([k]) => !/^(date|set-cookie)$/i.test(k)), body: payloadOf(res) },
            note: p.text,
          });
          continue;
        }
        if (st.send) {
          const f = take("client-frame");
          steps.push({ type: "send", actor, frames: [f.hex !== undefined ? { opcode: f.opcode, payload: { hex: f.hex, ...(f.reads ? { reads: f.reads } : {}) } } : { opcode: f.opcode, payload: { text: f.text } }], caption: f.caption });
          continue;
        }
        if (st.sendK) {
          const f = take("client-frames-k");
          if (!/ K\]/.test(f.template)) fail(`${where}: no K in ${f.template}`);
          const frames = [0, 1, 2].map((k) => {
            const text = f.template.replace(/ K\]/, ` ${k}]`);
            if (f.opcode === 1) return { opcode: 1, payload: { text } };
            // The capture shows K = 0's bytes only; K = 1, 2 are given by their reading.
            return k === 0 ? { opcode: 2, payload: { hex: f.hex, reads: f.reads ?? text } } : { opcode: 2, payload: { hex: null, reads: text, note: "bytes not shown in the capture: K = 0's with K changed" } };
          });
          steps.push({ type: "send", actor, oneWrite: true, frames, caption: f.caption });
          continue;
        }
        if (st.recv) {
          const f = take("server-frame");
          const step = { type: "recv", actor, ...frameOf(f, where) };
          if (st.first) step.first = true;
          if (f.caption) step.caption = f.caption;
          if (timing) step.afterIdle = { ...timing, cause: st.idle ?? fail(`${where}: a timed frame the plan does not explain`) };
          timing = null;
          steps.push(step);
          continue;
        }
        if (st.silence) {
          const s = take("silence");
          steps.push({ type: "silence", actor, note: s.text });
          continue;
        }
        fail(`${where}: bad plan step ${JSON.stringify(st)}`);
      }
      const ex = {
        id: `${section}/${entry.id}`,
        section,
        title: entry.title,
        packer,
        serverFlags: uniqueFlags,
        actors: Object.fromEntries([...actors].map((a) => [a, ACTORS[a]])),
        steps,
      };
      if (notes.length > 0) ex.notes = notes;
      byId.set(entry.id, ex);
      exchanges.push(ex);
    }
    for (const q of queue.splice(0)) {
      if (q.kind !== "note") fail(`section ${section}: an item the plan does not use: ${q.kind} ${JSON.stringify(q.text ?? q.target ?? "").slice(0, 80)}`);
      const last = exchanges.at(-1);
      (last.notes ??= []).push(q.text);
    }
  }
  return exchanges;
}

// ---------------------------------------------------------------------------
// 6. Provenance

function provenance(md, bs) {
  const pre = bs.filter((b) => b.type === "p" && b.top === null).map((b) => b.text);
  const intro = pre[0] ?? fail("no preamble");
  const m = /Sente v(\S+) `([0-9a-f]{7,40})`/.exec(intro) ?? fail("no Sente version/commit in the preamble");
  const pick = (re) => re.exec(intro)?.[1] ?? null;
  const date = /Date: \w{3}, (\d{2} \w{3} \d{4})/.exec(md)?.[1] ?? null;
  const binaryNote = bs.find((b) => b.type === "p" && /^Sections 12-14 come from/.test(b.text))?.text ?? null;
  return {
    sente: m[1],
    senteCommit: m[2],
    encore: pick(/encore (\S+?),/),
    trove: pick(/trove (\S+?),/),
    transitClj: pick(/transit-clj (\S+?) /),
    clojure: pick(/Clojure (\S+?),/),
    coreAsync: pick(/core\.async (\S+?),/),
    server: `sente-peer on Jetty ${pick(/Jetty\s+(\S+?),/)}`,
    jvm: pick(/(OpenJDK \S+?);/),
    capturedOn: date,
    tools: ["tools/capture-frames.mjs (sections 0-11)", "tools/capture-binary-frames.mjs (sections 12-14)"],
    captureDefaults: { lpTimeoutMs: 20000, wsKaliveMs: 25000, sendBufMsWs: 30, sendBufMsAjax: 100, csrf: true, packer: "edn" },
    preamble: pre,
    binarySections: binaryNote,
  };
}

// ---------------------------------------------------------------------------

function extract(md) {
  const bs = blocks(md);
  const its = items(bs);
  const owners = sessionsOf(its);
  const exchanges = assemble(its, owners);
  const sessions = {};
  for (const a of Object.values(ACTORS)) {
    if (a.session === null) continue;
    sessions[a.session] =
      a.session === "anonymous"
        ? { uid: null, how: "GET /csrf (an anonymous session)" }
        : a.session === "visitor"
          ? { uid: "visitor", how: "a logged-in session of a separate run; the capture shows neither its login nor its uid (any uid will do)" }
          : { uid: a.session, how: `POST /login uid=${a.session}` };
  }
  return {
    description:
      "Exchanges with a real Sente 1.22 server, extracted from captured-frames.md by scripts/extract-sente-frames.mjs. Do not edit by hand: re-run the script.",
    source: { file: "captured-frames.md", sha256: createHash("sha256").update(md).digest("hex") },
    provenance: provenance(md, bs),
    notation: {
      payload: "{text} is the exact UTF-8 text of a frame or body; {hex} the exact bytes (lower-case, no spaces) with `reads` the capture's reading. `hex: null` marks bytes the capture does not show (only their reading).",
      placeholders: "{{session}} stands for the session cookie's value and {{csrf}} for the session's CSRF token; the step's actor names whose. Tokens such as `wrong` or `not-the-token` are the capture's literal wrong tokens.",
      steps: "ws-connect: a WS upgrade request, its response; the next recv is the first frame. http: a request and its answer. send: client frames (`oneWrite`: all in one TCP write). recv: the next server frame on that actor's socket. silence: no frame for the frames sent before it.",
      timing: "answeredAfter / afterIdle: when the capture got the answer; `cause` says which server option it follows (lp-timeout: :lp-timeout-ms; ws-kalive: half of :ws-kalive-ms).",
      headers: "Response headers are the Jetty adapter's (Content-Type, Server), not Sente's; Date and Set-Cookie are dropped.",
    },
    sessions,
    actors: ACTORS,
    exchanges,
  };
}

function main(argv) {
  const args = argv.slice(2);
  const check = args.includes("--check");
  const outIdx = args.indexOf("--out");
  const outDir = outIdx === -1 ? join(ROOT, "fixtures", "sente-1.22") : resolve(args[outIdx + 1]);
  const input = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--out") ?? DEFAULT_INPUT;
  const md = readFileSync(input, "utf8");
  const json = JSON.stringify(extract(md), null, 2) + "\n";
  const file = join(outDir, FIXTURE);
  if (check) {
    let old = "";
    try {
      old = readFileSync(file, "utf8");
    } catch {
      /* missing */
    }
    if (old !== json) {
      console.error(`${file} is not what ${input} gives; re-run scripts/extract-sente-frames.mjs`);
      return 1;
    }
    console.log(`${file} is up to date`);
    return 0;
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(file, json);
  const n = JSON.parse(json).exchanges.length;
  console.log(`wrote ${file}: ${n} exchanges`);
  return 0;
}

export { blocks, extract, items };

// Run as a script (not when imported, e.g. to inspect the items).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    console.error(`extract-sente-frames: ${e.message}`);
    process.exitCode = 1;
  }
}
