/**
 * The reference server's session store remembers the cookie values it has
 * verified (a WebSocket connect asks twice: `csrfToken`, then `userId`; an
 * Ajax tab asks on every request), without weakening the checks: a logout
 * still refuses a remembered cookie, a forged one is never remembered, and
 * the memory is bounded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SessionStore } from "../../src/server/demo/sessions.js";

const SECRET = "0123456789abcdef0123";

test("SessionStore: a verified cookie is remembered (the same session back, not verified again)", () => {
  const store = new SessionStore({ secret: SECRET });
  const a = store.create("alice");
  const first = store.get(a.id);
  assert.deepEqual(first, a);
  assert.equal(store.get(a.id), first, "remembered: the same object, no second HMAC");
  const forgetful = new SessionStore({ secret: SECRET, maxVerified: 0 });
  assert.notEqual(forgetful.get(a.id), forgetful.get(a.id), "maxVerified 0: verified every time");
  assert.deepEqual(forgetful.get(a.id), a);
});

test("SessionStore: a logout refuses a remembered cookie; a forged one is never remembered", () => {
  const store = new SessionStore({ secret: SECRET });
  const a = store.create("alice");
  assert.ok(store.get(a.id));
  assert.equal(store.delete(a.id), true);
  assert.equal(store.get(a.id), undefined, "logged out, though it was remembered");
  const b = store.create("bob");
  const forged = `${b.id.slice(0, -2)}xx`;
  assert.equal(store.get(forged), undefined);
  assert.equal(store.get(forged), undefined, "still refused");
  assert.equal(new SessionStore({ secret: "another-secret-0123456" }).get(b.id), undefined, "another key refuses it");
});

test("SessionStore: the memory is bounded; a forgotten cookie is verified again and still valid", () => {
  const store = new SessionStore({ secret: SECRET, maxVerified: 2 });
  const [a, b, c] = [store.create("a"), store.create("b"), store.create("c")];
  const a1 = store.get(a.id);
  store.get(b.id);
  store.get(c.id); // forgets a (the oldest)
  const a2 = store.get(a.id);
  assert.notEqual(a2, a1, "a was forgotten, verified again");
  assert.deepEqual(a2, a);
  assert.equal(store.get(c.id), store.get(c.id));
  assert.throws(() => new SessionStore({ secret: SECRET, maxVerified: -1 }), RangeError);
  assert.throws(() => new SessionStore({ secret: SECRET, maxVerified: 1.5 }), RangeError);
});
