/**
 * A request URL split the way chsk itself reads it (`pathOf` in
 * `../request.ts`): the path exactly as sent, up to the `?`. The app, the
 * web UI and the dashboard route on this, never on `new URL(req.url, base)`,
 * which reads `//chsk` as a host (path `/`), turns `\` into `/` and resolves
 * `..`: a path chsk refuses must not be a different page for its neighbours.
 */
import { pathOf } from "../request.js";

export interface RequestTarget {
  /** As sent: not decoded, not normalised (`//chsk` and `/%63hsk` are not `/chsk`). */
  path: string;
  query: URLSearchParams;
}

export function requestTarget(url: string | undefined): RequestTarget {
  const raw = url ?? "/";
  const path = pathOf(raw);
  return { path, query: new URLSearchParams(raw.length > path.length ? raw.slice(path.length + 1) : "") };
}
