/**
 * Close codes and reasons in words, so a page never says "clean" when the
 * server went away. Pure (no DOM), so tests run it in Node.
 */

/** WebSocket close codes chsk and Sente use, neutrally named (either side may have closed). */
const CODE_NAMES: Record<number, string> = {
  1000: "normal closure",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported data",
  1005: "no close code",
  1006: "connection lost",
  1007: "invalid data",
  1008: "policy violation",
  1009: "message too big",
  1011: "server error",
  1012: "server restarting",
  1013: "try again later",
  1015: "TLS handshake failed",
  3000: "connection broken by the server",
  4000: "keep-alive timeout",
  4001: "slow consumer",
};

/** `going away (1001)`; `code 4321` for codes without a name. */
export function closeCodeName(code: number): string {
  const name = CODE_NAMES[code];
  return name === undefined ? `code ${code}` : `${name} (${code})`;
}

/** What a browser client saw, from its own side of the connection. */
const CLIENT_VIEW: Record<number, string> = {
  1000: "closed by the server",
  1001: "server went away",
  1006: "connection lost",
  1011: "server error",
  1012: "server restarting",
  3000: "server broke the connection",
  4000: "server timed out the connection (no pings)",
  4001: "dropped by the server: too slow reading its messages",
};

export interface CloseInput {
  /** Sente's `:last-close :reason`. */
  reason: string;
  transport: "ws" | "ajax" | "auto";
  /** The WebSocket close event that ended it, if one did. */
  ws?: { code: number; reason: string } | undefined;
}

/**
 * Why the client's connection closed, for people: `server went away
 * (1001)`, `connection lost (1006)`, `you disconnected`.
 */
export function describeClientClose(c: CloseInput): string {
  switch (c.reason) {
    case "requested-disconnect":
      return "you disconnected";
    case "requested-reconnect":
      return "closed to reconnect";
    case "downgrading-ws-to-ajax":
      return "WebSocket unavailable: switched to Ajax";
    case "ws-ping-timeout":
      return "no answer to keep-alive pings";
  }
  if (c.transport === "ajax" || c.ws === undefined) {
    return c.reason === "ws-error" ? "WebSocket error" : "connection lost (the server did not answer)";
  }
  const { code, reason } = c.ws;
  const view = CLIENT_VIEW[code] ?? CODE_NAMES[code] ?? "closed";
  return `${view} (${code})${reason ? `: ${reason}` : ""}`;
}
