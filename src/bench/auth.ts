/**
 * Each simulated user's session, and what each of its devices sends: one
 * login per user (its devices share the cookies and CSRF token, as a
 * browser's tabs do), then per-device headers, cookies and params from the
 * `{user}` / `{device}` templates.
 */
import { pathToFileURL } from "node:url";
import { resolve as resolvePath } from "node:path";
import { ChskError, isChskError } from "../core/index.js";
import { bootstrapSession } from "../core/client/index.node.js";
import { type AuthOptions, fillTemplate } from "./options.js";

/** What a `--setup` module returns for one user. */
export interface SetupResult {
  /** A `Cookie` header value. */
  cookie?: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  csrfToken?: string | null;
}

export type SetupFn = (user: { user: string; userIndex: number; url: string }) => Promise<SetupResult | undefined> | SetupResult | undefined;

export interface UserSession {
  csrfToken: string | null;
  /** Includes the session's `cookie`. */
  headers: Record<string, string>;
  params: Record<string, string>;
}

export interface DeviceAuth {
  csrfToken: string | null;
  headers: Record<string, string>;
  params: Record<string, string>;
}

/** Loads `--setup MODULE`: its default export, or its `setup` export. */
export async function loadSetup(path: string): Promise<SetupFn> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolvePath(path)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new ChskError("CHSK_ERR_BENCH_SETUP", `--setup ${path}: cannot load it: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const fn = typeof mod["default"] === "function" ? mod["default"] : mod["setup"];
  if (typeof fn !== "function") throw new ChskError("CHSK_ERR_BENCH_SETUP", `--setup ${path}: exports no function (default export or \`setup\`)`);
  return fn as SetupFn;
}

const splitPair = (t: string, sep: string): [string, string] => {
  const i = t.indexOf(sep);
  return i < 0 ? [t.trim(), ""] : [t.slice(0, i).trim(), t.slice(i + sep.length).trim()];
};

function joinCookies(...parts: (string | undefined)[]): string | undefined {
  const s = parts.filter((p): p is string => p !== undefined && p !== "").join("; ");
  return s === "" ? undefined : s;
}

/** Logs `user` in (or runs `setup` for it): the part of the session every device of the user shares. */
export async function openUserSession(args: {
  url: string;
  auth: AuthOptions;
  user: string;
  userIndex: number;
  setup?: SetupFn;
  fetch: typeof fetch;
  timeoutMs: number;
}): Promise<UserSession> {
  const { url, auth, user, userIndex } = args;
  if (args.setup !== undefined) {
    let r: SetupResult | undefined;
    try {
      r = await args.setup({ user, userIndex, url });
    } catch (e) {
      throw new ChskError("CHSK_ERR_BENCH_SETUP", `--setup failed for ${user}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const cookie = r?.cookie;
    const headers = { ...(r?.headers ?? {}) };
    if (cookie !== undefined) headers["cookie"] = joinCookies(headers["cookie"], cookie)!;
    return { csrfToken: r?.csrfToken ?? auth.csrfToken ?? null, headers, params: { ...(r?.params ?? {}) } };
  }
  try {
    const s = await bootstrapSession({
      url,
      ...(auth.loginPath !== undefined ? { login: user, loginPath: auth.loginPath } : {}),
      csrfToken: auth.csrfToken,
      fetch: args.fetch,
      timeoutMs: args.timeoutMs,
    });
    return { csrfToken: s.csrfToken, headers: s.headers, params: {} };
  } catch (e) {
    if (isChskError(e)) throw e;
    throw new ChskError("CHSK_ERR_BENCH_TARGET", `session for ${user}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A device's headers, cookies and params: the user's session plus the filled-in templates. */
export function deviceAuth(session: UserSession, auth: AuthOptions, user: string, device: number): DeviceAuth {
  const headers = { ...session.headers };
  for (const t of auth.headers ?? []) {
    const [k, v] = splitPair(fillTemplate(t, user, device), ":");
    if (k !== "") headers[k.toLowerCase()] = v;
  }
  const extra = (auth.cookies ?? []).map((t) => fillTemplate(t, user, device));
  const cookie = joinCookies(headers["cookie"], ...extra);
  if (cookie !== undefined) headers["cookie"] = cookie;
  const params = { ...session.params };
  for (const t of auth.params ?? []) {
    const [k, v] = splitPair(fillTemplate(t, user, device), "=");
    if (k !== "") params[k] = v;
  }
  return { csrfToken: session.csrfToken, headers, params };
}
