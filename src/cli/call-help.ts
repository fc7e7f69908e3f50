/**
 * `chsk call --json`'s output format, for `--help` and the README. Apart
 * from `call.ts` so the CLI can show it without loading the client (and
 * undici, ~5 MB of heap) for every command: `chsk serve` never needs them.
 */
/** The `--json` output, for `--help` and the README. */
export const JSON_LINES_HELP = `With --json, stdout has one JSON object per line:
  {"type":"open","transport":"ws","uid":"alice"}        connected (uid null: anonymous)
  {"type":"reply","value":{"a":1}}                      the reply
  {"type":"sent"}                                       --no-reply: the event went out
  {"type":"push","id":"demo/hello","data":{"n":1}}      a push
  {"type":"error","code":"CHSK_ERR_TIMEOUT","message":"…","exit":3}
An error's "code" is null when it has none: an interruption ("exit":130),
a usage error such as a bad URL.
EDN maps to JSON as chsk's json packer writes it: keywords and symbols
become strings without the colon (:demo/hello → "demo/hello"), sets and
lists arrays, #inst an ISO string, big integers keep every digit.`;
