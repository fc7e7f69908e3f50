/**
 * The inspector's data model, shared by every source (a client, a proxy,
 * a server's tap stream, a recording), the decoder and every view (TUI,
 * text, JSONL, HAR). Pure and serializable: no Node or DOM types.
 *
 * A source reports {@link WireEvent}s: what crossed the wire, undecoded.
 * The decoder (`createFrameDecoder`) turns them into {@link FrameRecord}s:
 * one per frame (and per lifecycle event), decoded, paired (a reply with
 * its call and the latency) and stitched (an Ajax client's polls and POSTs
 * are one logical connection; a user's clients are grouped by `uid`).
 * A recording (`--record FILE.jsonl`) is one `FrameRecord` per line.
 */

/** Which way a frame went: client to server, or server to client. */
export type Direction = "c2s" | "s2c";

/** The transport a frame used. */
export type WireTransport = "ws" | "ajax";

/**
 * Where a payload travelled. WebSocket frames are `ws`. Ajax: the answer
 * to a long-poll GET (`poll`; a handshake poll when the GET carried
 * `handshake?`), the body of a POST (`post`), and the POST's answer
 * (`post-reply`).
 */
export type WireChannel = "ws" | "poll" | "post" | "post-reply";

/**
 * What a source saw, before decoding. `data` is the frame's payload as it
 * went over the wire: a WS frame's text or bytes, a poll's or POST's answer
 * body, a POST's packed message (the form's `ppstr`, or the raw body of a
 * `binary?` POST).
 */
export type WireEvent =
  | {
      type: "frame";
      /** ms since epoch. */
      at: number;
      dir: Direction;
      transport: WireTransport;
      channel: WireChannel;
      /**
       * The source's id for the physical connection: a WS socket, or for
       * Ajax the HTTP exchange (one GET or POST and its answer). The
       * decoder stitches Ajax exchanges of one `clientId` together.
       */
      connId: string;
      /** The `client-id` param, when the source knows it. */
      clientId?: string;
      /** The user, when the source knows it (a server tap), as EDN text (`"alice"`, `:sente/nil-uid`). */
      uid?: string;
      data: string | Uint8Array;
      /** An Ajax GET that asked for a handshake (`handshake?` param). */
      handshake?: boolean;
      /** HTTP status of an Ajax answer (`poll` / `post-reply`). */
      status?: number;
      /**
       * On an Ajax answer (`poll` / `post-reply`): when its request arrived
       * (ms since epoch), so `at - requestAt` is how long the server held it.
       */
      requestAt?: number;
      /**
       * The payload's size on the wire when `data` holds less of it (a
       * payload over the source's decode limit is passed on but not kept).
       */
      bytes?: number;
      /**
       * The source could not capture the payload whole (`CHSK_ERR_FRAME_TOO_LARGE`
       * over its limit; `CHSK_ERR_UNPACK` a POST without a message…): the
       * decoder reports the frame as `bad` with this error. `data` is empty
       * or what could be read.
       */
      error?: { code: string; message: string };
    }
  | {
      /** A WS socket opened (101), or an Ajax client's first request was seen. */
      type: "open";
      at: number;
      transport: WireTransport;
      connId: string;
      clientId?: string;
      uid?: string;
      /** The request URL (path and query), for display. */
      url?: string;
    }
  | {
      type: "close";
      at: number;
      transport: WireTransport;
      connId: string;
      clientId?: string;
      uid?: string;
      /** WS close code. */
      code?: number;
      reason?: string;
      /**
       * Who sent this WS close frame. A source that sees both (a proxy)
       * reports one `close` per close frame; absent: the connection ended
       * without one (code 1006) or the source saw only the outcome.
       */
      dir?: Direction;
    }
  | {
      /**
       * The server refused a channel request (CSRF, origin, auth, reject
       * hook, limits…) or a hook failed: the HTTP status and the start of
       * the body, and the error code when the source knows it.
       */
      type: "refused";
      at: number;
      transport: WireTransport;
      connId: string;
      clientId?: string;
      status: number;
      body: string;
      code?: string;
    };

/** What a record is. Lifecycle records (`open`, `close`, `refused`) carry no frame. */
export type FrameKind =
  | "handshake"
  | "event"
  | "push"
  | "reply"
  | "ping"
  | "pong"
  | "timeout"
  | "dummy"
  | "bad"
  | "open"
  | "close"
  | "refused";

/** Marks the decoder puts on records. */
export type FrameFlag =
  /** A call (an event with a cb id / `:ajax`) whose reply never came. */
  | "unanswered"
  /** A reply that came after the call's timeout. */
  | "late"
  /** A reply with no call to pair it with. */
  | "orphan"
  /** A ping that got no pong within the keep-alive timeout. */
  | "missed-pong"
  /** An `open` of a client id seen before: a reconnect. */
  | "reconnect";

/**
 * One decoded frame (or lifecycle event): one line of a `--record` JSONL
 * file. Field names are a contract (README "Recording format").
 */
export interface FrameRecord {
  /** Position in the session, from 1. */
  seq: number;
  /** When it crossed the wire, ISO 8601 with milliseconds. */
  ts: string;
  dir: Direction;
  transport: WireTransport;
  channel: WireChannel;
  /**
   * The logical connection: the WS socket's id; for Ajax, one per client
   * id (its polls and POSTs stitched together).
   */
  conn: string;
  /**
   * Ajax: the source's id of the HTTP exchange (the {@link WireEvent}
   * `connId`: one GET or POST and its answer), so a replay or a HAR export
   * can tell which answer went with which request. Absent for WS (`conn`
   * is the socket).
   */
  exchange?: string;
  clientId: string | null;
  /** The user as EDN text (`"alice"`, `:sente/nil-uid`), once known (from a handshake or the server). */
  uid?: string;
  kind: FrameKind;
  /** `ns/name` of the event (calls, pushes: the batch's first event, reserved events). */
  eventId?: string;
  /** The callback id as on the wire (`"3f2a1b"`, `:ajax`, `0`), or null. */
  cbId?: string | null;
  /** On a reply: ms since its call. */
  latencyMs?: number;
  /** On a reply: the `seq` of its call; on a call: the `seq` of its reply. */
  pair?: number;
  /** On an `open` flagged `reconnect`: the `seq` of the same client id's previous `open`. */
  prev?: number;
  /** On an `open`: the request URL (path and query) the source saw. */
  url?: string;
  /**
   * On an Ajax answer (`poll`, `post-reply`, `refused`): when its request
   * was made (the {@link WireEvent} `requestAt`), ISO 8601 with ms. A HAR
   * export uses it as the entry's `startedDateTime`.
   */
  requestTs?: string;
  flags?: FrameFlag[];
  /** Payload size in bytes. */
  bytes: number;
  /** The decoded value as EDN text: the event's data, the reply value, the handshake payload, the batch. */
  data?: string;
  /** A push batch expanded: each event's id and data (EDN text). */
  events?: { eventId: string; data?: string }[];
  /** The payload as sent: text, or base64 when `binary`. */
  raw: string;
  binary?: true;
  /** The packer it was decoded with (`edn`, `transit`, `json`, `msgpack`, `gzip+…`). */
  packer?: string;
  /** Sente's envelope era: `1.21` (`[v cb]`), `1.18` (`[v]`, Ajax cb `0`), `1.17` (`+`/`-` prefix). */
  envelope?: "1.21" | "1.18" | "1.17";
  /** Why a frame is `bad`, or what a `refused` / `close` said. */
  error?: { code: string; message: string };
  /** HTTP status (Ajax answers, refusals) or WS close code. */
  status?: number;
}
