/** The part of `chsk bench --help` that a flag list cannot say. */
export const BENCH_HELP = `Scenarios:
  echo     request/reply round trips ([:demo/echo n], the reply must be n or
           {:echo n}). Closed model: --in-flight N per device (default 1).
           Open model: --rate R/s in total, sent on a timer; latency counts
           from the intended send time, so a stalled server shows as latency
           (no coordinated omission).
  push     each push asks the server ([:demo/push {:uid u :event ev}], or
           --push-event demo/broadcast) to reach a user's devices; ev carries
           a stamp. Reports delivery latency per device, completeness (share
           of a user's devices reached within --window), cross-device skew
           (last minus first arrival), losses, duplicates and reorders.
           --rate R/s pushes in total (default: one per user per second).
  connect  a connection storm: time to handshake, failures by cause (HTTP
           status, close code), connected devices over time. With
           --reconnect-storm everyone is then dropped at once (the server is
           restarted with --spawn) and the time until 50/95/100% are back
           is reported.
  mixed    users split by --mix weights between the three; connect-role
           devices reconnect every --churn.

Users and auth: user i is named <prefix>i (u0, u1, ...). Each user opens one
session (its devices share the cookies and CSRF token, as a browser's tabs
do): --login-path /login posts uid=<user> (the reference server's and Sente's
example contract; push and mixed use it by default), or --cookie / --header /
--param templates with {user} and {device}, or --setup MODULE:
  export default async function ({ user, userIndex, url }) {
    return { cookie: "sid=...", headers: {}, params: {}, csrfToken: "..." };
  }
Without any of these, each user probes GET /csrf (then the page) like chsk call.

Phases: sessions (not measured), connect (--ramp spreads it), warm-up (not
counted), the measured window (--duration), drain (answers to the window's
requests still count; pushes get --window). Every run ends by itself:
--duration, --timeout and --max-messages bound it. SIGINT ends the window
early and reports what was measured (exit 130).

Output: live progress on stderr (a terminal UI on a terminal; plain lines
otherwise and with --quiet off; no colour under NO_COLOR), the final table on
stdout. throughput = replies (echo), deliveries (push) or handshakes (connect)
per second of the measured window. Counts add up: sent = received + errors +
timeouts + in flight at stop (echo). A generator that was itself the
bottleneck (a worker's event loop >= 90% busy, or open-model sends late) is
flagged: add --workers.

Several machines: run share i of n on each with --segment i/n and the same
--start-at, then: chsk bench merge seg-*.json --html report.html

Exit codes:
  0    the run completed (whatever its latencies)
  1    the target refused the first users or could not be reached, --spawn
       failed, or an output file could not be written
  2    usage error (CHSK_ERR_BENCH_OPTIONS)
  130  interrupted (SIGINT/SIGTERM): the report covers what was measured

Examples:
  chsk bench --spawn --users 100 --devices 3 --duration 10s
  chsk bench http://127.0.0.1:8090/chsk --scenario echo --rate 5000 --workers 2
  chsk bench --spawn --scenario push --users 200 --devices 3 --transport mix --html push.html
  chsk bench --spawn --scenario echo --compare --json echo.json
  chsk bench --spawn --scenario connect --users 2000 --reconnect-storm
  chsk bench URL --segment 1/2 --start-at 2026-12-03T10:00:00Z --json a.json   # machine A
  chsk bench URL --segment 2/2 --start-at 2026-12-03T10:00:00Z --json b.json   # machine B
  chsk bench merge a.json b.json --html report.html`;
