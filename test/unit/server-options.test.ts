/** Option validation at construction (TypeError / RangeError, ws style). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createServer } from "../../src/server/index.js";
import type { ServerOptions } from "../../src/server/types.js";

const make = (o: Partial<ServerOptions> & Record<string, unknown>) => createServer({ csrfToken: null, ...o } as ServerOptions);

describe("createServer options", () => {
  it("csrfToken is required: a TypeError tells to pass a function or null", () => {
    assert.throws(() => createServer({} as ServerOptions), (e: Error) => e instanceof TypeError && /function/.test(e.message) && /null/.test(e.message));
    assert.throws(() => make({ csrfToken: "tok" as never }), TypeError);
  });
  it("lpTimeoutMs >= 60000 is a RangeError", () => {
    assert.throws(() => make({ lpTimeoutMs: 60_000 }), RangeError);
    assert.throws(() => make({ lpTimeoutMs: 0 }), RangeError);
    void make({ lpTimeoutMs: 59_999 }).close();
  });
  it("negative or NaN timings are RangeErrors; non-numbers TypeErrors", () => {
    for (const k of ["wsKaliveMs", "wsPingTimeoutMs", "sendBufMsWs", "sendBufMsAjax", "msAllowReconnectBeforeCloseWs", "msAllowReconnectBeforeCloseAjax"]) {
      assert.throws(() => make({ [k]: -1 }), RangeError, k);
      assert.throws(() => make({ [k]: Number.NaN }), RangeError, k);
      assert.throws(() => make({ [k]: Infinity }), RangeError, k);
      assert.throws(() => make({ [k]: "5" }), TypeError, k);
    }
  });
  it("sizes must be positive integers", () => {
    for (const k of ["maxFrameBytes", "maxDepth", "maxPendingPollsPerClient", "maxPendingPostsPerClient", "maxBufferedBytesPerClient"]) {
      assert.throws(() => make({ [k]: 0 }), RangeError, k);
      assert.throws(() => make({ [k]: 1.5 }), RangeError, k);
    }
  });
  it("logger: { warn, error, info?, debug? } (console fits), or null; anything else a TypeError", () => {
    for (const bad of ["console", 1, {}, { warn() {} }, { warn() {}, error: "x" }, { warn() {}, error() {}, info: 1 }]) {
      assert.throws(() => make({ logger: bad as never }), TypeError, JSON.stringify(bad));
    }
    for (const good of [null, console, { warn() {}, error() {} }, { warn() {}, error() {}, debug() {} }]) void make({ logger: good }).close();
  });
  it("bodyTimeoutMs must be a positive number of ms", () => {
    assert.throws(() => make({ bodyTimeoutMs: 0 }), RangeError);
    assert.throws(() => make({ bodyTimeoutMs: Number.NaN }), RangeError);
    assert.throws(() => make({ bodyTimeoutMs: "5" as unknown as number }), TypeError);
    void make({ bodyTimeoutMs: 1 }).close();
  });
  it("kinds of other options are checked", () => {
    assert.throws(() => make({ path: "chsk" }), TypeError);
    assert.throws(() => make({ allowedOrigins: "http://site.com" as never }), TypeError);
    assert.throws(() => make({ userId: "alice" as never }), TypeError);
    assert.throws(() => make({ packer: {} as never }), TypeError);
    assert.throws(() => make({ signal: {} as never }), TypeError);
  });
  it("defaults: path /chsk and the EDN packer", async () => {
    const s = make({});
    assert.equal(s.path, "/chsk");
    assert.equal(s.packer.name, "edn");
    await s.close();
  });
});
