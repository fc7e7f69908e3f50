/**
 * End to end: the real `chsk serve` and `chsk call` processes, talking over
 * loopback, as a user would run them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli, serve, type Served, startCli, waitFor } from "./cli.js";

const PACKERS = ["edn", "transit", "json"] as const;
const TRANSPORTS = ["ws", "ajax", "auto"] as const;

async function stats(base: string): Promise<Record<string, any>> {
  const res = await fetch(`${base}/api/stats`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, any>;
}

test("chsk --help lists the commands; call --help lists the exit codes", async () => {
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^\s+serve\b/m);
  assert.match(top.stdout, /^\s+call\b/m);
  const call = await runCli(["call", "--help"]);
  assert.equal(call.code, 0, call.stderr);
  assert.match(call.stdout, /Exit codes:/);
  assert.match(call.stdout, /--wait-push/);
  assert.match(call.stdout, /--no-reply/);
  assert.match(call.stdout, /--json/);
  assert.match(call.stdout, /\{"type":"push","id":"demo\/hello","data":\{"n":1\}\}/);
  const serveHelp = await runCli(["serve", "--help"]);
  assert.equal(serveHelp.code, 0);
  assert.match(serveHelp.stdout, /--allowed-origins/);
});

test("an unknown option is a usage error (exit 2)", async () => {
  const r = await runCli(["call", "--bogus", "http://127.0.0.1:1/chsk", "[:demo/echo 1]"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option/);
});

for (const packer of PACKERS) {
  describe(`serve --packer ${packer}`, () => {
    let srv: Served;
    before(async () => {
      srv = await serve(["--packer", packer]);
    });
    after(async () => {
      const f = await srv.stop();
      assert.equal(f.code, 0, `serve exit: ${f.code} ${f.signal} ${f.stderr}`);
    });

    for (const transport of TRANSPORTS) {
      test(`echo over ${transport} prints the EDN reply exactly`, async () => {
        const r = await runCli(["call", "--packer", packer, "--transport", transport, `${srv.url}/chsk`, '[:demo/echo {:a 1, :b "x"}]']);
        assert.equal(r.stderr, "");
        assert.equal(r.stdout, '{:a 1, :b "x"}\n');
        assert.equal(r.code, 0);
      });
    }

    test("--login alice + [:demo/whoami] → uid alice, over the chosen transport", async () => {
      for (const transport of ["ws", "ajax"] as const) {
        const r = await runCli(["call", "--packer", packer, "--transport", transport, "--login", "alice", `${srv.url}/chsk`, "[:demo/whoami]"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^\{:uid "alice", :client-id "[0-9a-f-]{36}", :transport :?"?(ws|ajax)"?\}\n$/);
        assert.ok(r.stdout.includes(transport), r.stdout);
      }
    });

    if (packer === "json") {
      test("an EVENT json can't write (a big integer, a map with number keys): one line, exit 2, never a stack", async () => {
        for (const event of ["[:demo/echo 12345678901234567890]", "[:demo/echo {1 :one}]"]) {
          const r = await runCli(["call", "--packer", packer, `${srv.url}/chsk`, event]);
          assert.equal(r.code, 2, r.stderr);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /^chsk call: the EVENT can't be written in json: cannot write .* as JSON \(CHSK_ERR_UNSUPPORTED_VALUE\)\n$/);
          const j = await runCli(["call", "--json", "--packer", packer, `${srv.url}/chsk`, event]);
          assert.equal(j.code, 2, j.stderr);
          assert.match(j.stdout, /^\{"type":"error","code":"CHSK_ERR_UNSUPPORTED_VALUE","message":"the EVENT can't be written in json: .*","exit":2\}\n$/);
        }
      });
    }
  });
}

describe("serve (edn) behaviours", () => {
  let srv: Served;
  before(async () => {
    srv = await serve();
  });
  after(async () => {
    await srv.stop();
  });

  for (const transport of ["ws", "ajax"] as const) {
    test(`push: a --wait-push waiter (${transport}) prints what another user pushes`, async () => {
      const uid = `alice-${transport}`;
      const waiter = startCli(["call", "--transport", transport, "--login", uid, "--wait-push", "1", `${srv.url}/chsk`], 30_000);
      await waitFor(async () => ((await stats(srv.url)).connectedUids.any.includes(uid) ? true : undefined), 15_000, `${uid} to connect`);
      const pusher = await runCli([
        "call",
        "--login",
        "bob",
        `${srv.url}/chsk`,
        `[:demo/push {:uid "${uid}" :event [:demo/hello {:n 1}]}]`,
      ]);
      assert.equal(pusher.code, 0, pusher.stderr);
      assert.equal(pusher.stdout, ":ok\n");
      const w = await waiter.done;
      assert.equal(w.code, 0, w.stderr);
      assert.equal(w.stdout, "[:demo/hello {:n 1}]\n");
      assert.match(w.stderr, /waiting for 1 push/);
    });
  }

  test("send and wait: the reply comes first, then the pushes", async () => {
    const r = await runCli(["call", "--wait-push", "1", `${srv.url}/chsk`, "[:demo/broadcast [:demo/news {:id 7}]]"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ":ok\n[:demo/news {:id 7}]\n");
  });

  for (const transport of TRANSPORTS) {
    test(`refusal over ${transport}: --no-session and no token → exit 1, HTTP 403`, async () => {
      const r = await runCli(["call", "--no-session", "--transport", transport, `${srv.url}/chsk`, "[:demo/echo 1]"]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        "chsk call: refused: HTTP 403 Bad CSRF token; the server wants a CSRF token: drop --no-session, or pass --csrf-token or --login (CHSK_ERR_BAD_CSRF)\n",
      );
    });
  }

  test("a wrong --csrf-token is refused too", async () => {
    const r = await runCli(["call", "--csrf-token", "nope", `${srv.url}/chsk`, "[:demo/echo 1]"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^chsk call: refused: HTTP 403 Bad CSRF token; the --csrf-token given is not this session's: .* \(CHSK_ERR_BAD_CSRF\)\n$/);
  });

  for (const transport of ["ws", "ajax"] as const) {
    test(`--packer transit against this edn server (${transport}): exit 1 at once, with the packer to use`, async () => {
      // A long timeout: before, this was a timeout (ws) or an EDN parser error (ajax).
      const r = await runCli(["call", "--packer", "transit", "--transport", transport, "--timeout-ms", "60000", `${srv.url}/chsk`, "[:demo/echo 1]"], 30_000);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "chsk call: the server speaks edn, not transit: try --packer edn (CHSK_ERR_PACKER_MISMATCH)\n");
    });
  }

  test("a wrong path: one line saying what answered, never a page", async () => {
    const nope = await runCli(["call", `${srv.url}/nope`, "[:demo/echo 1]"]);
    assert.equal(nope.code, 1);
    assert.equal(
      nope.stderr,
      `chsk call: ${srv.url}/nope answered 404 text/plain ("Not Found") — not a Sente endpoint; is the path right? (chsk serve uses /chsk) (CHSK_ERR_NOT_SENTE)\n`,
    );
    const page = await runCli(["call", "--transport", "ajax", "--timeout-ms", "60000", `${srv.url}/dashboard`, "[:demo/echo 1]"], 30_000);
    assert.equal(page.code, 1);
    assert.match(page.stderr, /^chsk call: http:\/\/\S+\/dashboard answered 200 with an HTML page \("[^"]+"\) — not a Sente endpoint; .* \(CHSK_ERR_NOT_SENTE\)\n$/);
  });

  test("--json prints JSON lines", async () => {
    const r = await runCli(["call", "--json", `${srv.url}/chsk`, '[:demo/echo {:a #{1} :k :v}]']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"type":"open","transport":"ws","uid":null}\n{"type":"reply","value":{"a":[1],"k":"v"}}\n');
  });

  test("bad EVENT → exit 2", async () => {
    const syntax = await runCli(["call", `${srv.url}/chsk`, "[:demo/echo {:a 1"]);
    assert.equal(syntax.code, 2);
    assert.match(syntax.stderr, /^chsk call: invalid EVENT: .*\(CHSK_ERR_EDN_SYNTAX\)\n$/);
    const notEvent = await runCli(["call", `${srv.url}/chsk`, "[:no-namespace 1]"]);
    assert.equal(notEvent.code, 2);
    assert.match(notEvent.stderr, /invalid EVENT: .*\(CHSK_ERR_BAD_EVENT\)/);
    const missing = await runCli(["call", `${srv.url}/chsk`]);
    assert.equal(missing.code, 2);
    const noUid = await runCli(["call", "--login", "", `${srv.url}/chsk`, "[:demo/whoami]"]);
    assert.deepEqual([noUid.code, noUid.stderr], [2, "chsk call: --login needs a uid, not an empty or blank one\n"]);
  });

  for (const transport of ["ws", "ajax"] as const) {
    test(`an event nobody answers → exit 3 (${transport})`, async () => {
      const r = await runCli(["call", "--transport", transport, "--timeout-ms", "800", `${srv.url}/chsk`, "[:demo/nobody-home 1]"]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stderr, "chsk call: no reply within 800 ms (CHSK_ERR_TIMEOUT)\n");
    });
  }

  test("--verbose shows the frames on stderr, stdout stays the reply", async () => {
    const r = await runCli(["call", "--verbose", "--transport", "ws", `${srv.url}/chsk`, "[:demo/echo :hi]"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ":hi\n");
    assert.match(r.stderr, /^\* GET http:\/\/.*\/csrf → 200$/m);
    assert.match(r.stderr, /^< ws \[\[:chsk\/handshake \[:sente\/nil-uid nil nil\]\] nil\]$/m);
    assert.match(r.stderr, /^> ws \[\[:demo\/echo :hi\] "[0-9a-f]{6}"\]$/m);
  });

  test("GET /api/stats has the documented shape", async () => {
    const waiter = startCli(["call", "--login", "carol", "--wait-push", "1", "--push-timeout-ms", "20000", `${srv.url}/chsk`], 30_000);
    try {
      const s = await waitFor(async () => {
        const x = await stats(srv.url);
        return x.connectedUids.any.includes("carol") ? x : undefined;
      }, 15_000, "carol to connect");
      assert.deepEqual(Object.keys(s.connectedUids).sort(), ["ajax", "any", "ws"]);
      assert.ok(s.connectedUids.ws.includes("carol"));
      for (const k of ["ws", "ajax", "total"]) assert.equal(typeof s.connections[k], "number");
      assert.ok(s.connections.ws >= 1);
      for (const k of ["in", "out", "replies"]) assert.equal(typeof s.events[k], "number");
      assert.ok(s.events.in > 0);
      assert.equal(typeof s.uptimeMs, "number");
      assert.equal(typeof s.memory.rss, "number");
      assert.equal(s.packer, "edn");
      assert.equal(s.csrf, true);
    } finally {
      waiter.proc.kill("SIGTERM");
      const w = await waiter.done;
      assert.equal(w.code, 130);
    }
  });

  test("POST /login, GET /csrf, POST /logout", async () => {
    const form = await fetch(`${srv.url}/login`, { method: "POST", body: new URLSearchParams({ uid: "dave" }) });
    assert.equal(form.status, 200);
    const body = (await form.json()) as { uid: string; csrfToken: string };
    assert.equal(body.uid, "dave");
    assert.equal(typeof body.csrfToken, "string");
    const cookie = form.headers.getSetCookie()[0]!;
    assert.match(cookie, /^chsk-session=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const session = cookie.split(";")[0]!;

    const json = await fetch(`${srv.url}/login`, { method: "POST", headers: { "content-type": "application/json", cookie: session }, body: JSON.stringify({ uid: "erin" }) });
    assert.equal(((await json.json()) as { uid: string }).uid, "erin");
    const userId = await fetch(`${srv.url}/login`, { method: "POST", body: new URLSearchParams({ "user-id": "frank" }) });
    assert.equal(((await userId.json()) as { uid: string }).uid, "frank");
    const bad = await fetch(`${srv.url}/login`, { method: "POST", body: new URLSearchParams({}) });
    assert.equal(bad.status, 400);

    // Logging in as erin with dave's cookie did not change dave's session.
    const mine = await fetch(`${srv.url}/csrf`, { headers: { cookie: session } });
    assert.deepEqual(await mine.json(), { uid: "dave", csrfToken: body.csrfToken });
    assert.equal(mine.headers.getSetCookie().length, 0);

    const anon = await fetch(`${srv.url}/csrf`);
    const anonBody = (await anon.json()) as { uid: null; csrfToken: string };
    assert.equal(anonBody.uid, null);
    assert.equal(typeof anonBody.csrfToken, "string");
    assert.match(anon.headers.getSetCookie()[0]!, /^chsk-session=/);

    const out = await fetch(`${srv.url}/logout`, { method: "POST", headers: { cookie: session } });
    assert.equal(out.status, 200);
    assert.match(out.headers.getSetCookie()[0]!, /Max-Age=0/);
    const after = (await (await fetch(`${srv.url}/csrf`, { headers: { cookie: session } })).json()) as { uid: null; csrfToken: string };
    assert.equal(after.uid, null);
    assert.notEqual(after.csrfToken, body.csrfToken);
  });

  test("other paths: index page, 405 on a wrong method, 404", async () => {
    assert.equal((await fetch(`${srv.url}/`)).status, 200);
    assert.equal((await fetch(`${srv.url}/login`)).status, 405);
    assert.equal((await fetch(`${srv.url}/nope`)).status, 404);
  });
});

test("serve --no-csrf: a call without any session works; --allowed-origins refuses other origins", async () => {
  const srv = await serve(["--no-csrf", "--allowed-origins", "http://site.example", "--quiet"]);
  try {
    const ok = await runCli(["call", "--no-session", "--header", "Origin: http://site.example", `${srv.url}/chsk`, "[:demo/echo 42]"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "42\n");
    const evil = await runCli(["call", "--no-session", "--transport", "ajax", "--header", "Origin: http://evil.example", `${srv.url}/chsk`, "[:demo/echo 42]"]);
    assert.equal(evil.code, 1);
    assert.match(evil.stderr, /refused: HTTP 403 Unauthorized origin/);
  } finally {
    const f = await srv.stop("SIGINT");
    assert.equal(f.code, 0);
    assert.equal(f.stderr, "", "--quiet prints nothing on stderr");
    assert.match(f.stdout, /^chsk serve listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  }
});

test("serve prints the listening line first, then the demo and dashboard URLs and a call to try; --log-format json logs JSON lines", async () => {
  const srv = await serve(["--log-format", "json"]);
  const r = await runCli(["call", `${srv.url}/chsk`, "[:demo/echo 1]"]);
  assert.equal(r.code, 0, r.stderr);
  const f = await srv.stop();
  assert.equal(f.code, 0);
  assert.equal(
    f.stdout,
    `chsk serve listening on ${srv.url}\ndemo:      ${srv.url}/\ndashboard: ${srv.url}/dashboard\ntry:       npx chsk call ${srv.url}/chsk '[:demo/echo {:a 1}]'\n`,
  );
  // --open is still accepted (it no longer changes anything).
  const open = await serve(["--open", "--packer", "transit"]);
  const o = await open.stop();
  assert.equal(o.code, 0);
  assert.match(o.stdout, /\ndashboard: http:\/\/\S+\/dashboard\ntry: {7}npx chsk call --packer transit http:\/\/\S+\/chsk /);
  const lines = f.stderr.trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(lines.some((l) => l.msg === "conn:open"));
  assert.ok(lines.every((l) => typeof l.level === "string"));
});

test("serve on a busy port fails with exit 1", async () => {
  const srv = await serve(["--quiet"]);
  try {
    const r = await runCli(["serve", "--port", String(srv.port)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EADDRINUSE/);
  } finally {
    await srv.stop();
  }
});

for (const transport of ["ws", "ajax"] as const) {
  test(`--wait-push (${transport}) and the server process going away: exit 1, how many of N arrived and why`, async () => {
    const srv = await serve(["--quiet"]);
    const waiter = startCli(["call", "--transport", transport, "--login", "gone", "--wait-push", "2", `${srv.url}/chsk`], 30_000);
    await waitFor(() => (waiter.stderr.includes("waiting for 2 pushes") ? true : undefined), 15_000, "the waiter to connect");
    const pusher = await runCli(["call", "--login", "bob", `${srv.url}/chsk`, '[:demo/push {:uid "gone" :event [:demo/n 1]}]']);
    assert.equal(pusher.code, 0, pusher.stderr);
    await waitFor(() => (waiter.stdout.includes("[:demo/n 1]") ? true : undefined), 15_000, "the first push");
    await srv.stop();
    // Before: exit 0 with nothing said.
    const w = await waiter.done;
    assert.equal(w.code, 1, w.stderr);
    assert.equal(w.stdout, "[:demo/n 1]\n");
    const last = w.stderr.trim().split("\n").at(-1)!;
    assert.match(last, /^chsk call: the connection closed after 1 of 2 pushes: .+ \(CHSK_ERR_CLOSED\)$/);
    assert.match(last, transport === "ws" ? /the server went away \(1001 / : /the Ajax poll (failed|was refused): /);
  });
}

test("call with an out-of-range port: a usage error about the port (exit 2)", async () => {
  const r = await runCli(["call", "http://127.0.0.1:99999/chsk", "[:demo/echo 1]"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'chsk call: invalid URL "http://127.0.0.1:99999/chsk": port 99999 is out of range (1-65535)\n');
});

test("call against a closed port → exit 1, connection failed", async () => {
  const srv = await serve(["--quiet"]);
  const { url } = srv;
  await srv.stop();
  for (const args of [[], ["--no-session", "--transport", "ws"], ["--no-session", "--transport", "ajax"]]) {
    const r = await runCli(["call", ...args, `${url}/chsk`, "[:demo/echo 1]"]);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^chsk call: connection failed: .*ECONNREFUSED.* \(CHSK_ERR_TRANSPORT\)$/m);
  }
  // A ws:// URL means WebSocket: the error names it, not the Ajax fallback.
  const ws = await runCli(["call", "--no-session", `${url.replace("http:", "ws:")}/chsk`, "[:demo/echo 1]"]);
  assert.equal(ws.code, 1);
  assert.equal(ws.stderr, `chsk call: connection failed: WebSocket ${url.replace("http:", "ws:")}/chsk: connection refused (ECONNREFUSED); is the server running? (CHSK_ERR_TRANSPORT)\n`);
});

test("serve's limit flags: an oversized or too-deep event is refused with its code, logged once; the server serves on", async () => {
  const srv = await serve(["--log-format", "json", "--max-frame-bytes", "256", "--max-depth", "4"]);
  const big = `[:demo/echo "${"x".repeat(300)}"]`;
  const deep = "[:demo/echo [[[[[1]]]]]]";
  const url = `${srv.url}/chsk`;

  const bigAjax = await runCli(["call", "--transport", "ajax", url, big]);
  assert.equal(bigAjax.code, 1, bigAjax.stderr);
  assert.match(bigAjax.stderr, /refused: HTTP 413 CHSK_ERR_FRAME_TOO_LARGE/);
  const deepAjax = await runCli(["call", "--transport", "ajax", url, deep]);
  assert.equal(deepAjax.code, 1, deepAjax.stderr);
  assert.match(deepAjax.stderr, /refused: HTTP 400 CHSK_ERR_EDN_DEPTH/);
  // Over WS the server closes the socket; the call says so instead of waiting for a reply that cannot come.
  const bigWs = await runCli(["call", "--transport", "ws", url, big]);
  assert.equal(bigWs.code, 1, bigWs.stderr);
  assert.match(bigWs.stderr, /the connection closed before the reply \(1009 message too big\): the server refused the EVENT as too large \(CHSK_ERR_FRAME_TOO_LARGE\)\n$/);
  const deepWs = await runCli(["call", "--transport", "ws", url, deep]);
  assert.equal(deepWs.code, 1, deepWs.stderr);
  assert.match(deepWs.stderr, /the connection closed before the reply \(1002 CHSK_ERR_EDN_DEPTH\)/);

  const ok = await runCli(["call", url, "[:demo/echo [[1]]]"]); // envelope, event, then two levels: depth 4
  assert.equal(ok.stdout, "[[1]]\n", ok.stderr);

  const f = await srv.stop();
  assert.equal(f.code, 0);
  const lines = f.stderr.trim().split("\n").map((l) => JSON.parse(l) as { msg: string; code?: string });
  const errors = lines.filter((l) => l.msg === "chsk error").map((l) => l.code).sort();
  assert.deepEqual(errors, ["CHSK_ERR_EDN_DEPTH", "CHSK_ERR_EDN_DEPTH", "CHSK_ERR_FRAME_TOO_LARGE", "CHSK_ERR_FRAME_TOO_LARGE"]);
});
