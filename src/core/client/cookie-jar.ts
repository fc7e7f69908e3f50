/**
 * A tiny cookie jar for one origin, for the session bootstrap
 * ({@link bootstrapSession}) and the channel socket that follows it.
 */

/** Cookies of one origin: name → value, in insertion order. */
export class CookieJar {
  #cookies = new Map<string, string>();

  /** @param header - initial cookies as a `Cookie` header: `a=b; c=d`. */
  constructor(header?: string) {
    for (const part of (header ?? "").split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0) this.#cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }

  /** Applies `Set-Cookie` values (expired ones delete). Attributes other than the expiry are ignored: one origin, one path. */
  update(setCookies: readonly string[]): void {
    for (const sc of setCookies) {
      const [pair = "", ...attrs] = sc.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => {
        const [k = "", v = ""] = a.split("=").map((s) => s.trim());
        if (k.toLowerCase() === "max-age") return Number(v) <= 0;
        if (k.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  /** The value of cookie `name`, if set. */
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** The `Cookie` header, or undefined when empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}
