/**
 * A HAR recorded from a real Chromium through the DevTools protocol, built
 * the way DevTools' "Save all as HAR with content" builds it
 * (devtools-frontend `models/har/Log.ts`): one entry per request with
 * `startedDateTime` from the request's wall time, `timings` from the
 * response's resource timing, `time` their sum, the response body from
 * `Network.getResponseBody` (base64 for binary), the POST body, and for a
 * WebSocket its frames as `_webSocketMessages` (`send` / `receive`,
 * `time` in epoch seconds, `opcode`, `data`).
 *
 * Attach before the page loads: `const rec = await recordCdpHar(page)`,
 * then `page.goto(…)`; `await rec.settled()` once the traffic stopped;
 * `rec.har()` builds the log.
 */
import type { CDPSession, Page } from "playwright-core";
import type { Har, HarEntry, HarNameValue, HarWebSocketMessage } from "../../src/inspector/output/har-format.js";

interface Timing {
  requestTime: number;
  dnsStart: number;
  dnsEnd: number;
  connectStart: number;
  connectEnd: number;
  sslStart: number;
  sslEnd: number;
  sendStart: number;
  sendEnd: number;
  receiveHeadersEnd: number;
}

interface Req {
  id: string;
  url: string;
  method: string;
  type: string;
  headers: Record<string, string>;
  postData?: string;
  postBytes?: string;
  /** Monotonic seconds, and the wall time (epoch seconds) that goes with it. */
  issueTime: number;
  wallTime: number;
  status: number;
  statusText: string;
  responseHeaders: Record<string, string>;
  mimeType: string;
  protocol: string;
  timing?: Timing;
  responseReceivedTime: number;
  endTime: number;
  failed?: string;
  body?: { body: string; base64Encoded: boolean };
  /** A body being fetched; `settled()` waits for it. */
  fetching?: Promise<void>;
  ws?: { frames: HarWebSocketMessage[]; closed: boolean };
}

const nameValues = (h: Record<string, string>): HarNameValue[] => Object.entries(h).map(([name, value]) => ({ name, value }));
const header = (h: Record<string, string>, name: string) => Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
const leastNonNegative = (xs: number[]) => xs.reduce((best, x) => (x >= 0 && x < best ? x : best), Infinity);

/** DevTools' `pseudoWallTime`: a monotonic time of the request as wall seconds. */
const wall = (r: Req, monotonic: number) => r.wallTime - r.issueTime + monotonic;

/** DevTools' `_buildTimings`, on the CDP fields. */
function timings(r: Req): NonNullable<HarEntry["timings"]> {
  const t = r.timing;
  const out = { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 0, receive: 0, _blocked_queueing: -1 };
  const startTime = t?.requestTime ?? r.issueTime;
  const queued = r.issueTime < startTime ? (startTime - r.issueTime) * 1000 : -1;
  out.blocked = queued;
  out._blocked_queueing = queued;
  let highest = 0;
  if (t !== undefined) {
    const blockedStart = leastNonNegative([t.dnsStart, t.connectStart, t.sendStart]);
    if (blockedStart !== Infinity) out.blocked += blockedStart;
    const dnsStart = t.dnsEnd >= 0 ? blockedStart : 0;
    const dnsEnd = t.dnsEnd >= 0 ? t.dnsEnd : -1;
    out.dns = dnsEnd - dnsStart;
    const sslStart = t.sslEnd > 0 ? t.sslStart : 0;
    const sslEnd = t.sslEnd > 0 ? t.sslEnd : -1;
    out.ssl = sslEnd - sslStart;
    const connectStart = t.connectEnd >= 0 ? leastNonNegative([dnsEnd, blockedStart]) : 0;
    const connectEnd = t.connectEnd >= 0 ? t.connectEnd : -1;
    out.connect = connectEnd - connectStart;
    const sendStart = t.sendEnd >= 0 ? Math.max(connectEnd, dnsEnd, blockedStart) : 0;
    const sendEnd = t.sendEnd >= 0 ? t.sendEnd : 0;
    out.send = Math.max(sendEnd - sendStart, 0);
    highest = Math.max(sendEnd, connectEnd, sslEnd, dnsEnd, blockedStart, 0);
  } else if (r.responseReceivedTime < 0) {
    out.blocked = (r.endTime - r.issueTime) * 1000;
    return out;
  }
  const waitEnd = (r.responseReceivedTime - startTime) * 1000;
  out.wait = waitEnd - highest;
  out.receive = Math.max((r.endTime - startTime) * 1000 - waitEnd, 0);
  return out;
}

function entry(r: Req): HarEntry {
  const tm = timings(r);
  const time = [tm.blocked, tm.dns, tm.connect, tm.send, tm.wait, tm.receive].reduce<number>((a, x) => a + Math.max(x ?? 0, 0), 0);
  const url = new URL(r.url);
  const e: HarEntry = {
    startedDateTime: new Date(wall(r, r.issueTime) * 1000).toISOString(),
    time,
    request: {
      method: r.method,
      url: r.url.split("#")[0],
      httpVersion: r.protocol === "h2" ? "http/2.0" : "http/1.1",
      headers: nameValues(r.headers),
      queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
      cookies: [],
      headersSize: -1,
      bodySize: r.postData === undefined ? 0 : Buffer.byteLength(r.postData),
    },
    response: {
      status: r.status,
      statusText: r.statusText,
      httpVersion: r.protocol === "h2" ? "http/2.0" : "http/1.1",
      headers: nameValues(r.responseHeaders),
      cookies: [],
      content: { size: r.body === undefined ? 0 : Buffer.byteLength(r.body.body, r.body.base64Encoded ? "base64" : "utf8"), mimeType: r.mimeType || "x-unknown" },
      redirectURL: header(r.responseHeaders, "location") ?? "",
      headersSize: -1,
      bodySize: -1,
      _error: r.failed ?? null,
    },
    cache: {},
    timings: tm,
    _resourceType: r.type.toLowerCase(),
  };
  if (r.postData !== undefined) {
    e.request!.postData = { mimeType: header(r.headers, "content-type") ?? "", text: r.postData };
  }
  if (r.body !== undefined) {
    e.response!.content!.text = r.body.body;
    if (r.body.base64Encoded) e.response!.content!.encoding = "base64";
  }
  if (r.ws !== undefined) e._webSocketMessages = r.ws.frames;
  return e;
}

export interface CdpHarRecorder {
  /** Resolves once every request seen has finished or failed and every body is fetched (bounded). */
  settled(timeoutMs?: number): Promise<void>;
  har(): Har;
  detach(): Promise<void>;
}

/** Starts collecting `page`'s Network events through a CDP session of its own. */
export async function recordCdpHar(page: Page): Promise<CdpHarRecorder> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const reqs = new Map<string, Req>();
  const order: Req[] = [];
  const add = (r: Req) => {
    reqs.set(r.id, r);
    order.push(r);
  };
  type Ev = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  cdp.on("Network.requestWillBeSent", (e: Ev) => {
    if (e["redirectResponse"]) return; // a redirect's first leg: not in the channel's traffic
    const rq = e["request"];
    const entries = rq["postDataEntries"] as { bytes?: string }[] | undefined;
    add({
      id: e["requestId"],
      url: rq["url"],
      method: rq["method"],
      type: e["type"] ?? "Other",
      headers: rq["headers"] ?? {},
      ...(rq["postData"] !== undefined ? { postData: rq["postData"] } : {}),
      ...(entries !== undefined ? { postBytes: entries.map((x) => x.bytes ?? "").join("") } : {}),
      issueTime: e["timestamp"],
      wallTime: e["wallTime"],
      status: 0,
      statusText: "",
      responseHeaders: {},
      mimeType: "",
      protocol: "http/1.1",
      responseReceivedTime: -1,
      endTime: -1,
    });
  });
  cdp.on("Network.responseReceived", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r === undefined) return;
    const res = e["response"];
    r.status = res["status"];
    r.statusText = res["statusText"] ?? "";
    r.responseHeaders = res["headers"] ?? {};
    r.mimeType = res["mimeType"] ?? "";
    r.protocol = res["protocol"] ?? "http/1.1";
    if (res["timing"]) r.timing = res["timing"];
    r.responseReceivedTime = e["timestamp"];
  });
  cdp.on("Network.loadingFinished", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r === undefined) return;
    r.endTime = e["timestamp"];
    r.fetching = cdp
      .send("Network.getResponseBody", { requestId: r.id })
      .then((b) => void (r.body = { body: b.body, base64Encoded: b.base64Encoded }))
      .catch(() => {});
  });
  cdp.on("Network.loadingFailed", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r === undefined) return;
    r.endTime = e["timestamp"];
    r.failed = e["errorText"] ?? "failed";
  });
  cdp.on("Network.webSocketCreated", (e: Ev) => {
    add({
      id: e["requestId"],
      url: e["url"],
      method: "GET",
      type: "WebSocket",
      headers: {},
      issueTime: 0,
      wallTime: 0,
      status: 0,
      statusText: "",
      responseHeaders: {},
      mimeType: "",
      protocol: "http/1.1",
      responseReceivedTime: -1,
      endTime: -1,
      ws: { frames: [], closed: false },
    });
  });
  cdp.on("Network.webSocketWillSendHandshakeRequest", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r === undefined) return;
    r.issueTime = e["timestamp"];
    r.wallTime = e["wallTime"];
    r.headers = e["request"]?.["headers"] ?? {};
  });
  cdp.on("Network.webSocketHandshakeResponseReceived", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r === undefined) return;
    r.status = e["response"]["status"];
    r.statusText = e["response"]["statusText"] ?? "";
    r.responseHeaders = e["response"]["headers"] ?? {};
    r.responseReceivedTime = e["timestamp"];
    r.endTime = e["timestamp"];
  });
  const frame = (type: "send" | "receive") => (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r?.ws === undefined) return;
    const f = e["response"];
    r.ws.frames.push({ type, time: wall(r, e["timestamp"]), opcode: f["opcode"], data: f["payloadData"] });
  };
  cdp.on("Network.webSocketFrameSent", frame("send"));
  cdp.on("Network.webSocketFrameReceived", frame("receive"));
  cdp.on("Network.webSocketClosed", (e: Ev) => {
    const r = reqs.get(e["requestId"]);
    if (r?.ws !== undefined) r.ws.closed = true;
  });
  await cdp.send("Network.enable", { maxTotalBufferSize: 64 * 1024 * 1024, maxResourceBufferSize: 16 * 1024 * 1024 });

  return {
    async settled(timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const open = order.filter((r) => r.ws === undefined && r.endTime < 0);
        if (open.length === 0) break;
        if (Date.now() > until) throw new Error(`CDP: ${open.length} request(s) still open: ${open.map((r) => `${r.method} ${r.url}`).join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(order.map((r) => r.fetching));
    },
    har(): Har {
      for (const r of order) {
        // DevTools shows a binary POST body as text; what it sent is in postDataEntries.
        if (r.postData === undefined && r.postBytes !== undefined) r.postData = Buffer.from(r.postBytes, "base64").toString("utf8");
      }
      const entries = order.filter((r) => r.issueTime > 0).map(entry);
      entries.sort((a, b) => Date.parse(a.startedDateTime!) - Date.parse(b.startedDateTime!));
      return { log: { version: "1.2", creator: { name: "WebInspector", version: "537.36" }, pages: [], entries } };
    },
    async detach() {
      await cdp.detach().catch(() => {});
    },
  };
}
