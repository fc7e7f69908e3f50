/**
 * The filter line: a small query language over {@link FrameRecord}s, typed
 * in the TUI after `/` (and fit for a `--filter` flag: it is pure).
 *
 * Terms are separated by spaces and must all match (AND):
 *
 * | Term | Matches |
 * |---|---|
 * | `ev:chat` (`event:`) | event id contains `chat` (`ev:my/ev`; a leading `:` is ignored) |
 * | `user:alice` (`uid:`) | uid contains `alice` |
 * | `client:5f1c` | client id contains `5f1c` |
 * | `conn:ws-3` | connection id contains `ws-3` |
 * | `dir:c2s` | direction `c2s` or `s2c` |
 * | `kind:event,reply` | kind is one of the list |
 * | `tr:ajax` (`transport:`) | transport `ws` or `ajax` |
 * | `flag:unanswered` (`flags:`) | has one of the listed flags |
 * | `/re+gex/i` | a JavaScript regex over the record's text |
 * | `word` | the record's text contains `word` (case-insensitive) |
 * | `-term` | negates any term: `-kind:ping,pong` hides heartbeats |
 *
 * Field values and words match case-insensitively. "The record's text" is
 * its event id, decoded data (each event of a batch), uid, client id,
 * connection, kind and error, cut at {@link MAX_HAYSTACK} characters so a
 * huge frame cannot stall the view. A bad term (an invalid regex, an
 * unknown kind) is reported, never thrown.
 */
import type { FrameFlag, FrameKind, FrameRecord } from "../core/index.js";

/** The characters of a record's text a word or regex looks at. */
export const MAX_HAYSTACK = 64 * 1024;

export type FilterResult =
  | { ok: true; predicate: ((r: FrameRecord) => boolean) | undefined; terms: number }
  | { ok: false; error: string };

const KINDS: readonly FrameKind[] = [
  "handshake",
  "event",
  "push",
  "reply",
  "ping",
  "pong",
  "timeout",
  "dummy",
  "bad",
  "open",
  "close",
  "refused",
];
const FLAGS: readonly FrameFlag[] = ["unanswered", "late", "orphan", "missed-pong", "reconnect"];

type Test = (r: FrameRecord) => boolean;

const contains = (get: (r: FrameRecord) => string | null | undefined, needle: string): Test => {
  const n = needle.toLowerCase();
  return (r) => {
    const v = get(r);
    return v !== undefined && v !== null && v.toLowerCase().includes(n);
  };
};

function oneOf<T extends string>(name: string, allowed: readonly T[], value: string): T[] | string {
  const parts = value.split(",").filter((p) => p !== "");
  if (parts.length === 0) return `${name}: needs a value (${allowed.join(", ")})`;
  for (const p of parts) if (!allowed.includes(p as T)) return `${name}: unknown "${p}" (one of ${allowed.join(", ")})`;
  return parts as T[];
}

/** The text words and regexes search. */
export function haystack(r: FrameRecord): string {
  let s = `${r.eventId ?? ""}\n${r.kind}\n${r.uid ?? ""}\n${r.clientId ?? ""}\n${r.conn}`;
  if (r.error !== undefined) s += `\n${r.error.code} ${r.error.message}`;
  if (r.data !== undefined) s += `\n${r.data}`;
  if (r.events !== undefined) for (const e of r.events) s += `\n${e.eventId} ${e.data ?? ""}`;
  if (r.data === undefined && r.events === undefined && r.binary !== true) s += `\n${r.raw}`;
  return s.length > MAX_HAYSTACK ? s.slice(0, MAX_HAYSTACK) : s;
}

function fieldTerm(field: string, value: string): Test | string | undefined {
  switch (field) {
    case "ev":
    case "event":
      return contains((r) => r.eventId, value.startsWith(":") ? value.slice(1) : value);
    case "user":
    case "uid":
      return contains((r) => r.uid, value);
    case "client":
      return contains((r) => r.clientId, value);
    case "conn":
      return contains((r) => r.conn, value);
    case "dir": {
      const v = oneOf("dir", ["c2s", "s2c"] as const, value);
      return typeof v === "string" ? v : (r) => v.includes(r.dir);
    }
    case "kind": {
      const v = oneOf("kind", KINDS, value);
      return typeof v === "string" ? v : (r) => v.includes(r.kind);
    }
    case "tr":
    case "transport": {
      const v = oneOf("transport", ["ws", "ajax"] as const, value);
      return typeof v === "string" ? v : (r) => v.includes(r.transport);
    }
    case "flag":
    case "flags": {
      const v = oneOf("flag", FLAGS, value);
      return typeof v === "string" ? v : (r) => r.flags?.some((f) => v.includes(f)) === true;
    }
    default:
      return undefined;
  }
}

/** Splits the line into terms; a `/regex/` may hold spaces and escaped slashes. */
function tokens(line: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    const neg = line[i] === "-" ? 1 : 0;
    if (line[i + neg] === "/") {
      let j = i + neg + 1;
      while (j < line.length && line[j] !== "/") j += line[j] === "\\" ? 2 : 1;
      if (j >= line.length) return `unterminated regex: ${line.slice(start)}`;
      j++;
      while (j < line.length && /[a-z]/i.test(line[j]!)) j++;
      out.push(line.slice(start, j));
      i = j;
    } else {
      while (i < line.length && !/\s/.test(line[i]!)) i++;
      out.push(line.slice(start, i));
    }
  }
  return out;
}

function regexTerm(token: string): Test | string {
  const end = token.lastIndexOf("/");
  const body = token.slice(1, end);
  // `g` and `y` make `test` stateful (lastIndex); they mean nothing for a filter.
  const flags = token.slice(end + 1).replace(/[gy]/g, "");
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return (r) => re.test(haystack(r));
}

/**
 * Compiles a filter line. An empty line is `{ ok: true, predicate: undefined }`
 * (everything passes). The predicate never throws.
 */
export function compileFilter(line: string): FilterResult {
  const toks = tokens(line);
  if (typeof toks === "string") return { ok: false, error: toks };
  const tests: Test[] = [];
  for (const tok of toks) {
    const neg = tok.length > 1 && tok.startsWith("-");
    const t = neg ? tok.slice(1) : tok;
    let test: Test | string | undefined;
    if (t.startsWith("/")) test = regexTerm(t);
    else {
      const m = /^([a-z]+):(.*)$/i.exec(t);
      test = m === null ? undefined : fieldTerm(m[1]!.toLowerCase(), m[2]!);
      if (test === undefined) test = contains(haystack, t);
    }
    if (typeof test === "string") return { ok: false, error: test };
    const inner = test;
    tests.push(neg ? (r) => !inner(r) : inner);
  }
  if (tests.length === 0) return { ok: true, predicate: undefined, terms: 0 };
  const predicate = (r: FrameRecord): boolean => {
    try {
      for (const t of tests) if (!t(r)) return false;
      return true;
    } catch {
      return false;
    }
  };
  return { ok: true, predicate, terms: tests.length };
}
