/**
 * Server conformance checks against Sente's actual source (taoensso/sente
 * `src/taoensso/sente.cljc`, 1.21), driven over real HTTP / WebSocket the
 * way a ClojureScript Sente client (or a hand-rolled peer) talks.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ajaxPost, openPeer, type TestServer, startServer } from "./server-helpers.js";

describe("Sente conformance: Ajax POST params", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ lpTimeoutMs: 2000 }, (m) => {
      if (m.reply && m.id === "my/echo") m.reply({ echo: m.data ?? null });
    });
  });
  after(() => srv.stop());

  // ajax-post-fn:
  //   [params    (get ring-req :params)
  //    client-id (get params   :client-id)
  //    binary?   (get params   :binary?)
  //    packed    (if-not binary? (get params :ppstr) ...)]
  // Ring's `:params` is query params merged with form params, so a POST whose
  // `ppstr` (and `client-id`) travel in the query string is a valid send.
  it("ppstr and client-id in the query string (empty body) are read like form fields", async () => {
    const q = (ppstr: string, cid: string) => `client-id=${cid}&ppstr=${encodeURIComponent(ppstr)}`;
    const r1 = await ajaxPost(srv.base, {}, { query: q("[[:my/ev {:a 1}] nil]", "qp1") });
    assert.equal(r1.status, 200, r1.body);
    assert.equal(r1.body, "[:chsk/dummy-cb-200 nil]");
    const m1 = await srv.nextEvent((m) => m.clientId === "qp1");
    assert.deepEqual(m1.event, ["my/ev", { a: 1 }]);

    const r2 = await ajaxPost(srv.base, {}, { query: q("[[:my/echo 7] :ajax]", "qp2") });
    assert.equal(r2.status, 200, r2.body);
    assert.equal(r2.body, "[{:echo 7} nil]");
  });

  it("a form ppstr wins over a query ppstr (Ring merges form params over query params)", async () => {
    const r = await ajaxPost(srv.base, { "client-id": "qp3", ppstr: "[[:my/echo :form] :ajax]" }, { query: `ppstr=${encodeURIComponent("[[:my/echo :query] :ajax]")}` });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, "[{:echo :form} nil]");
  });
});

describe("Sente conformance: WebSocket reply routing", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({}, (m) => {
      if (m.reply && m.id === "my/echo") m.reply({ echo: m.data ?? null });
    });
  });
  after(() => srv.stop());

  // Server on-msg: the cb id is echoed back exactly as the client sent it:
  //   (on-packed packer websocket? arb-reply-clj cb-uuid ...)   ; reply
  //   (on-packed packer websocket? "pong" cb-uuid ...)          ; ping auto-reply
  // Sente's own client sends 6-char strings, but any truthy value is a cb id.
  it("a non-string cb id comes back as sent (number, keyword), for replies and pongs", async () => {
    const { peer } = await openPeer(srv.port, "client-id=cb1");
    peer.send("[[:my/echo 1] 7]");
    assert.equal(await peer.next(), "[{:echo 1} 7]");
    peer.send("[[:my/echo 2] :k/v]");
    assert.equal(await peer.next(), "[{:echo 2} :k/v]");
    peer.send("[[:chsk/ws-ping] 42]");
    assert.equal(await peer.next(), '["pong" 42]');
    peer.send('[[:my/echo 3] "ab12cd"]');
    assert.equal(await peer.next(), '[{:echo 3} "ab12cd"]');
    peer.close();
  });
});
