/**
 * Conformance checks against Sente's actual source (taoensso/sente
 * `src/taoensso/sente.cljc`, 1.21) and the readers it relies on
 * (tools.reader's EDN reader, via encore `read-edn`). Each case cites the
 * snippet it comes from.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "../../src/core/client/create-client.js";
import type { ClientOptions } from "../../src/core/client/types.js";
import { kw, readEdn, writeEdn } from "../../src/core/edn/index.js";
import { ednPacker } from "../../src/core/packers/edn.js";
import { encodeDummyCb200, encodeHandshake } from "../../src/core/protocol/codec.js";
import { fakeFetch, ManualClock } from "./client-fakes.js";

const packer = ednPacker();

describe("Sente conformance: EDN the Sente peer can read", () => {
  // tools.reader edn `read-keyword`:
  //   (if (and s (== -1 (.indexOf token "::"))) ... (err/throw-invalid reader :keyword ...))
  // so `:a::b` is unreadable by a Sente peer; a plain-object key "a::b" must go out as a string.
  it('a plain-object key containing "::" is written as a string, not an unreadable keyword', () => {
    assert.equal(writeEdn({ "a::b": 1, "x/y::z": 2 }), '{"a::b" 1, "x/y::z" 2}');
  });

  // tools.reader `read-token` stops only at whitespace and `macro-terminating?`
  // chars (" ; @ ^ ` ~ ( ) [ ] { } \); `#` is a constituent, so `:a#` and `:#a`
  // are keywords. A key our reader returns as a keyword must be written back
  // as one (an echoed `{:a# 1}` must not come back as `{"a#" 1}`).
  it("a plain-object key with `#` is written as a keyword, as read", () => {
    assert.equal(writeEdn({ "a#": 1, "#b": 2, "c#/d#": 3 }), "{:a# 1, :#b 2, :c#/d# 3}");
    const r = readEdn("{:a# 1, :#b 2, :c#/d# 3}");
    assert.ok(r.ok);
    assert.equal(writeEdn(r.value), "{:a# 1, :#b 2, :c#/d# 3}");
    assert.equal(writeEdn([kw("a#"), { "a#": 1 }]), "[:a# {:a# 1}]");
  });
});

describe("Sente conformance: JVM-printed values read and re-print as Clojure prints them", () => {
  // A JVM Sente server packs with encore `pr-edn` = `print-method`, so replies can
  // hold what Clojure prints for records and opaque objects:
  //   (defmethod print-method clojure.lang.IRecord ...)  -> #user.Rec{:a 1, :b "x"}
  //   (defmethod print-method Object ...)                -> #object[java.lang.Object 0x1b2c3d "..."]
  // and, when *print-namespace-maps* is bound true (REPL threads, conveyed into
  // go blocks), namespaced maps. `chsk call` prints replies with writeEdn, so
  // what it reads must print back the way Clojure printed it.
  it("a record literal reads as a tagged value and prints back without a space", () => {
    const r = readEdn('[{:ok #user.Rec{:a 1, :b "x"}} "ab12cd"]');
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    assert.equal(writeEdn(r.value), '[{:ok #user.Rec{:a 1, :b "x"}} "ab12cd"]');
  });

  it("#object[...] reads and prints back in Clojure's form", () => {
    const r = readEdn('#object[clojure.lang.Atom 0x1e {:status :ready, :val 1}]');
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    assert.equal(writeEdn(r.value), "#object[clojure.lang.Atom 30 {:status :ready, :val 1}]");
  });

  it("tagged literals keep Clojure's space (#inst, #uuid, #error, user tags)", () => {
    for (const t of ['#inst "2024-01-01T00:00:00.000-00:00"', '#uuid "6b1c1f1e-1234-4abc-9def-0123456789ab"', "#my/point [1 2]", '#error {:cause "boom"}']) {
      const r = readEdn(t);
      assert.ok(r.ok, t);
      assert.equal(writeEdn(r.value), t);
    }
  });

  it("namespaced maps and the other JVM number types are accepted", () => {
    const r = readEdn('[#:user{:id 1, :_/x 2} 1N 1.5M 22/7 \\a sym ##NaN #inst "2024-01-01T01:00:00.000+01:00"]');
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    assert.equal(writeEdn(r.value), '[{:user/id 1, :x 2} 1 1.5M 22/7 \\a sym ##NaN #inst "2024-01-01T00:00:00.000-00:00"]');
  });
});

describe("Sente conformance: the Ajax client's requests", () => {
  function setup(opts: Partial<ClientOptions> = {}) {
    const clock = new ManualClock();
    const ff = fakeFetch();
    const client = createClient({ url: "http://example.test/chsk", type: "ajax", clock, fetch: ff.fetch, clientId: "cid", ...opts });
    return { client, clock, ff };
  }

  // ChAjaxSocket `-chsk-send!`:
  //   :headers (enc/assoc-some (get ajax-opts :headers)
  //              {"X-CSRF-Token" csrf-token
  //               "Content-Type" (when binary-packer? "application/octet-stream")})
  // `assoc-some` drops nil values: with no token the POST carries no X-CSRF-Token.
  it("an Ajax POST without a CSRF token sends no X-CSRF-Token header (Sente's assoc-some)", async () => {
    const { client, ff } = setup({ csrfToken: null });
    (await ff.next()).respond(200, encodeHandshake(packer, "alice") as string);
    await ff.next(); // the held poll
    assert.equal(client.state.open, true);
    assert.equal(client.send(["my/ev", 1]), true);
    const post = await ff.next();
    assert.equal(post.method, "POST");
    assert.equal("X-CSRF-Token" in post.headers, false, `headers: ${JSON.stringify(post.headers)}`);
    assert.equal(post.headers["X-Requested-With"], "XMLHTTPRequest");
    post.respond(200, encodeDummyCb200(packer) as string);
    await client.close();
  });

  it("an Ajax POST with a token sends it as X-CSRF-Token", async () => {
    const { client, ff } = setup({ csrfToken: "tok" });
    (await ff.next()).respond(200, encodeHandshake(packer, "alice") as string);
    await ff.next();
    client.send(["my/ev", 1]);
    const post = await ff.next();
    assert.equal(post.headers["X-CSRF-Token"], "tok");
    post.respond(200, encodeDummyCb200(packer) as string);
    await client.close();
  });
});
