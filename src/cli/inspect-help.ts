/** Kept apart from `inspect.ts` so `--help` (and every other command) loads none of the inspector. */
/** `chsk inspect --help`'s text after the options (also in the README). */
export const INSPECT_HELP = `Sources (give one):
  chsk inspect URL                          connect as a client (auth flags as chsk call);
                                            type events in the TUI (i), or pipe EDN lines on stdin
  chsk inspect --proxy --listen 127.0.0.1:9000 --target http://127.0.0.1:8090
                                            a reverse proxy: browse the app through it; its
                                            channel (--path, default /chsk) is decoded
  chsk inspect --attach http://127.0.0.1:8090 --token T
                                            every client of a running server (chsk serve
                                            --allow-inspect, or an app using mountInspector)
  chsk inspect --replay rec.jsonl           a recording (--record, or --format jsonl output)
  chsk inspect --har session.har            a Chrome DevTools HAR export
  chsk inspect --replay rec.jsonl --to URL  send the recorded calls again, compare the replies

The view is the TUI when stdin and stdout are terminals (press ? for its
keys), else one line per frame: --format text (default) or jsonl. The proxy
says "chsk inspect proxy listening on http://HOST:PORT" on stderr; source
notices and errors go to stderr too, one line each ending with a stable code.
--record and --har-out write every frame, whatever --filter shows.

Filter terms (all must match; -term negates):
  ev:chat   user:alice   client:5f1c   conn:ws-3   dir:c2s   tr:ajax
  kind:event,reply,push,handshake,ping,pong,timeout,dummy,bad,open,close,refused
  flag:unanswered,late,orphan,missed-pong,reconnect   /re+gex/i   word

Examples:
  chsk inspect http://127.0.0.1:8090/chsk --login alice
  chsk inspect --proxy --listen 127.0.0.1:0 --target http://127.0.0.1:8090 --record s.jsonl
  chsk inspect --attach http://127.0.0.1:8090 --filter 'user:alice -kind:ping,pong'
  chsk inspect --replay s.jsonl --har-out s.har --no-tui
  chsk inspect --replay s.jsonl --to http://127.0.0.1:8091/chsk --as-fast-as-possible`;
