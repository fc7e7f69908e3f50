/**
 * A minimal `fetch` for the Node client on undici's `request` API.
 *
 * Node's global `fetch` is undici too, but wrapped in WHATWG streams and
 * Request/Response objects; for the small, frequent requests of Ajax
 * long-polling that wrapping costs more than the HTTP work itself (the Ajax
 * bench measured ~40% of client CPU in it). The client only needs status
 * and body, so this gives it exactly that, on a keep-alive Agent.
 */
import { Agent, request } from "undici";

export interface NodeHttpOptions {
  /**
   * Most connections per origin. Each client holds one for its long-poll,
   * so a cap below the number of clients would stall their sends.
   * @default unlimited
   */
  connections?: number;
}

/** A `fetch` for {@link ClientOptions.fetch} covering what the chsk client uses. */
export function nodeFetch(options: NodeHttpOptions = {}): typeof fetch {
  const dispatcher = new Agent(options.connections === undefined ? {} : { connections: options.connections });
  const lean = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    const res = await request(String(input), {
      dispatcher,
      method: (init.method ?? "GET") as "GET" | "POST",
      headers,
      body: (init.body ?? null) as string | Uint8Array | null,
      signal: init.signal ?? null,
    });
    // Read lazily and once, like a Response.
    return {
      status: res.statusCode,
      text: () => res.body.text(),
      arrayBuffer: () => res.body.arrayBuffer(),
      // Only what is read: a refusal's content type, and Set-Cookie for `chsk call`'s session.
      headers: {
        get: (name: string) => {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
        },
        getSetCookie: () => {
          const v = res.headers["set-cookie"];
          return v === undefined ? [] : Array.isArray(v) ? v : [v];
        },
      },
    } as unknown as Response;
  };
  return lean as typeof fetch;
}
