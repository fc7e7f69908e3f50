/**
 * The reference server's sessions: stateless, HMAC-signed cookies. Sessions
 * are what `/chsk`'s `userId` and `csrfToken` hooks read, the way Sente
 * reads Ring's session.
 *
 * Signed rather than stored so that a restarted server still knows every
 * tab's user and CSRF token: the tabs reconnect by themselves, as they do
 * against a Sente app with cookie-store sessions. That needs a secret that
 * outlives the process (see {@link defaultSessionSecret}).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The cookie that carries the session. */
export const SESSION_COOKIE = "chsk-session";

export interface Session {
  /** The signed cookie value; it *is* the session. */
  readonly id: string;
  /** `null` for an anonymous session (Sente's `:sente/nil-uid`). */
  readonly uid: string | null;
  readonly csrfToken: string;
  readonly createdAt: number;
}

export interface SessionStoreOptions {
  /** HMAC key (≥ 16 bytes). @default defaultSessionSecret() */
  secret?: string | Uint8Array;
  /** Logged-out sessions remembered (oldest forgotten first). @default 100_000 */
  maxRevoked?: number;
  /** Recently verified cookie values remembered, so they are not verified again (oldest forgotten first). @default 256 */
  maxVerified?: number;
  now?: () => number;
}

const VERSION = "v1";
const token = (bytes: number): string => randomBytes(bytes).toString("base64url");

/**
 * The secret for signing sessions: `$CHSK_SESSION_SECRET`, else the file
 * `~/.chsk/session-secret` (created with mode 0600 on first use), else —
 * when neither can be had — a per-process secret, which only costs
 * sessions at the next restart.
 */
export function defaultSessionSecret(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env["CHSK_SESSION_SECRET"];
  if (fromEnv) return fromEnv;
  const dir = join(homedir(), ".chsk");
  const file = join(dir, "session-secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const secret = token(32);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // `wx`: two servers starting at once must not overwrite each other's secret.
      writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
      return secret;
    } catch {
      try {
        return readFileSync(file, "utf8").trim();
      } catch {
        return secret;
      }
    }
  }
}

/**
 * Sessions are immutable: logging in issues a new session (new token) and
 * never changes an existing one, so a forged login can't alter someone
 * else's session and a known session can't be promoted.
 */
export class SessionStore {
  #key: Buffer;
  #revoked = new Set<string>();
  #maxRevoked: number;
  /**
   * Cookie values whose signature held, and their session: a request's two
   * hooks (`userId`, `csrfToken`), a tab's Ajax requests and reconnects
   * verify once. An HMAC per look-up was a new native object each (freed
   * only by a GC) and most of a WebSocket connect's cost in the app. Small:
   * a cookie is verified again once forgotten.
   */
  #verified = new Map<string, Session>();
  #maxVerified: number;
  #now: () => number;
  #issued = 0;

  constructor(options: SessionStoreOptions = {}) {
    const secret = options.secret ?? defaultSessionSecret();
    this.#key = Buffer.from(secret);
    if (this.#key.length < 16) throw new RangeError("session secret must be at least 16 bytes");
    const max = options.maxRevoked ?? 100_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxRevoked must be a positive integer, got ${max}`);
    this.#maxRevoked = max;
    const maxVerified = options.maxVerified ?? 256;
    if (!Number.isInteger(maxVerified) || maxVerified < 0) throw new RangeError(`maxVerified must be a non-negative integer, got ${maxVerified}`);
    this.#maxVerified = maxVerified;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions issued by this process (for stats; earlier ones stay valid too). */
  get size(): number {
    return this.#issued;
  }

  #mac(payload: string): string {
    return createHmac("sha256", this.#key).update(payload).digest("base64url");
  }

  /** The session a cookie value stands for, if its signature holds and it wasn't logged out. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length > 2048 || this.#revoked.has(id)) return undefined;
    const known = this.#verified.get(id);
    if (known !== undefined) return known;
    const session = this.#verify(id);
    if (session !== undefined && this.#maxVerified > 0) {
      if (this.#verified.size >= this.#maxVerified) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(id, session);
    }
    return session;
  }

  #verify(id: string): Session | undefined {
    const [version, payload, mac] = id.split(".");
    if (version !== VERSION || payload === undefined || mac === undefined) return undefined;
    const want = Buffer.from(this.#mac(payload));
    const got = Buffer.from(mac);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    try {
      const [uid, csrfToken, createdAt] = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as [
        string | null,
        string,
        number,
      ];
      return { id, uid, csrfToken, createdAt };
    } catch {
      return undefined;
    }
  }

  /** A new session for `uid` (`null` = anonymous). */
  create(uid: string | null): Session {
    const csrfToken = token(24);
    const createdAt = this.#now();
    const payload = Buffer.from(JSON.stringify([uid, csrfToken, createdAt])).toString("base64url");
    this.#issued++;
    return { id: `${VERSION}.${payload}.${this.#mac(payload)}`, uid, csrfToken, createdAt };
  }

  /** Logs a session out: its cookie is refused from now on (by this process). */
  delete(id: string | undefined): boolean {
    if (id === undefined || this.get(id) === undefined) return false;
    this.#revoked.add(id);
    this.#verified.delete(id);
    // Set iteration order is insertion order, so the first entry is the oldest.
    if (this.#revoked.size > this.#maxRevoked) this.#revoked.delete(this.#revoked.values().next().value as string);
    return true;
  }

  clear(): void {
    this.#revoked.clear();
    this.#verified.clear();
  }
}

/** `Set-Cookie` value for a session (or for clearing it, with `null`). */
export function sessionCookie(session: Session | null): string {
  const value = session === null ? "" : session.id;
  const expiry = session === null ? "; Max-Age=0" : "";
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax${expiry}`;
}
