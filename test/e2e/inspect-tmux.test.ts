/**
 * `chsk inspect`'s TUI in a real terminal: tmux runs a shell that prints a
 * marker, runs `chsk inspect URL --login alice` (stdin and stdout a TTY, so
 * the TUI), then prints the exit code and whether `stty` settings are as
 * before. Keys go in one at a time; the screen is read with capture-pane.
 *
 * Checked: the header names the source; the handshake, a call typed in the
 * send line and its reply with a latency, pushes (one from another user over
 * Ajax); the filter line; a frame's detail (pretty value, raw frame); the
 * connection and user summaries; and that `q`, Ctrl-C (also while typing)
 * and SIGTERM each end with exit 0, the alternate screen left (the shell's
 * screen back as it was), the cursor shown, the tty modes restored, and a
 * complete recording. Also leaves screenshots of the list and of a detail in
 * artifacts/screenshots/ (inspect-tui.png, inspect-tui-detail.png).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseRecordLines, type FrameRecord } from "../../src/core/index.js";
import { launchBrowser, SCREENSHOTS } from "../browser/helpers.js";
import { ansiLineToHtml, screenToHtml } from "./ansi-html.js";
import { ROOT, runCli, serve, type Served } from "./cli.js";
import { shQuote, TmuxPane } from "./tmux.js";

const COLS = 120;
const ROWS = 24;

/** The pane's script: marker, the inspector (its pid in `pidFile`), exit code and tty check, then idle. */
function paneScript(pidFile: string, inspectArgs: string[]): string {
  const cmd = [process.execPath, "--import", "tsx", "src/cli/main.ts", "inspect", ...inspectArgs].map(shQuote).join(" ");
  return [
    `cd ${shQuote(ROOT)} || exit 1`,
    "S0=$(stty -g)",
    "printf 'BEFORE-TUI\\n'",
    // exec: the pid written is the inspector's own, for SIGTERM. The duration bounds a run the test lost.
    `sh -c 'echo $$ > "$0"; exec "$@"' ${shQuote(pidFile)} ${cmd} --duration-ms 60000`,
    "code=$?",
    'if [ "$(stty -g)" = "$S0" ]; then tty=same; else tty=changed; fi',
    "printf 'EXIT=%s TTY=%s\\n' \"$code\" \"$tty\"",
    "sleep 30",
    "",
  ].join("\n");
}

const lines = (screen: string): string[] => screen.split("\n");
const header = (screen: string): string => lines(screen)[0] ?? "";
/** The frame list's rows: between the column titles and the filter line. */
function listRows(screen: string): string[] {
  const ls = lines(screen);
  const top = ls.findIndex((l) => l.includes("event / value"));
  const bottom = ls.findIndex((l) => l.startsWith("filter:"));
  if (top < 0 || bottom < 0) return [];
  return ls.slice(top + 1, bottom).filter((l) => l.trim() !== "");
}
const selectedRow = (screen: string): string | undefined => listRows(screen).find((l) => l.startsWith("> "));
const hasRow = (screen: string, re: RegExp): boolean => listRows(screen).some((l) => re.test(l));

const HANDSHAKE = /<- ws\s+alice\s+\S+\s+handshake :chsk\/handshake \["alice" nil nil\]/;
const KEYBAR_FRAMES = /^q quit {2}\? help {2}tab views {2}\/ filter {2}i send/m;

/** After the TUI: the shell's screen as it was, plus what came after; exit 0; the terminal as before. */
async function assertRestored(pane: TmuxPane): Promise<string> {
  const screen = await pane.waitScreen((s) => /^EXIT=\d+ TTY=\w+$/m.test(s) && s, "the shell after the TUI", 10_000);
  assert.match(screen, /^EXIT=0 TTY=same$/m, screen);
  assert.equal(lines(screen)[0], "BEFORE-TUI", `the shell's screen is back: ${screen}`);
  assert.doesNotMatch(screen, /chsk inspect ·|event \/ value|q quit/, "nothing of the TUI is left on the shell's screen");
  assert.equal(await pane.display("#{alternate_on}"), "0", "the alternate screen was left");
  assert.equal(await pane.display("#{cursor_flag}"), "1", "the cursor is shown");
  return screen;
}

/** The recording: every line a record, as many as the CLI said it wrote. */
function readRecording(file: string, screen: string): FrameRecord[] {
  const { records, errors } = parseRecordLines(readFileSync(file, "utf8"));
  assert.deepEqual(errors, []);
  const said = /^chsk inspect: (\d+) records written to (.+)$/m.exec(screen);
  assert.ok(said, `the count is said on stderr: ${screen}`);
  assert.equal(Number(said[1]), records.length);
  return records;
}

const kinds = (records: FrameRecord[]): string[] => records.map((r) => r.kind);

async function screenshot(pane: TmuxPane, name: string, browser: Awaited<ReturnType<typeof launchBrowser>>): Promise<void> {
  const html = screenToHtml(await pane.capture(true), { cols: COLS, title: name });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 2 });
  try {
    await page.setContent(html);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS, name);
    await page.locator("#screen").screenshot({ path });
    assert.ok(statSync(path).size > 10_000, `${name} has content`);
  } finally {
    await page.close();
  }
}

// Each case has its own pane (and tmux server) and user session: they run side by side.
describe("chsk inspect: the TUI in a real terminal (tmux)", { concurrency: true }, () => {
  let server: Served;
  let base: string;
  let chsk: string;
  before(async () => {
    server = await serve(["--quiet"]);
    chsk = `${server.url}/chsk`;
    base = mkdtempSync(join(tmpdir(), "chsk-tmux-"));
  });
  after(async () => {
    await server?.stop();
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  /** A pane running `chsk inspect chsk --login alice --record … extra…`, in its own directory. */
  async function startInspect(name: string, extra: string[] = []) {
    const dir = join(base, name);
    mkdirSync(dir);
    const record = join(dir, "frames.jsonl");
    const pidFile = join(dir, "inspect.pid");
    const pane = await TmuxPane.start({ dir, cols: COLS, rows: ROWS, script: paneScript(pidFile, [chsk, "--login", "alice", "--record", record, ...extra]) });
    return { pane, record, pidFile };
  }

  async function waitConnected(pane: TmuxPane): Promise<void> {
    // The first wait covers tsx compiling the CLI on a busy machine.
    await pane.waitScreen((s) => header(s).startsWith(`chsk inspect · client ${chsk} (auto, edn) · `), "the header naming the source", 20_000);
    await pane.waitScreen((s) => hasRow(s, HANDSHAKE), "the handshake frame");
    assert.equal(await pane.display("#{alternate_on}"), "1", "the TUI draws on the alternate screen");
  }

  /** Types an event in the send line (open) and sends it; resolves on the status line's answer. */
  async function send(pane: TmuxPane, text: string, answer: RegExp, o: { paste?: boolean } = {}): Promise<void> {
    await (o.paste === true ? pane.paste(text) : pane.type(text));
    // A line longer than the screen shows its end, where the cursor is.
    const typed = (l: string) => l === `send> ${text}` || (l.startsWith("send> ") && l.length > 60 && text.endsWith(l.slice(6)));
    await pane.waitScreen((s) => lines(s).some(typed), `"${text}" in the send line`);
    await pane.key("Enter");
    await pane.waitScreen((s) => lines(s).some((l) => answer.test(l)), `the reply to ${text} on the status line`);
  }

  it("client mode: frames arrive, send line, filter, detail, summaries; q restores the terminal", async () => {
    const { pane, record } = await startInspect("main");
    const browser = await launchBrowser();
    try {
      await waitConnected(pane);
      assert.match(header(await pane.capture()), / · following$/);

      // A call typed in the send line, its reply paired with a latency.
      await pane.key("i");
      await pane.waitScreen((s) => /^⏎ send {2}↑↓ history {2}esc leave/m.test(s), "the send line's key bar");
      await send(pane, "[:demo/echo {:n 1}]", /^⇐ \{:n 1\} \(\d+ ms\)$/);
      await pane.waitScreen(
        (s) => hasRow(s, /-> ws\s+alice\s+\S+\s+event\s+:demo\/echo \{:n 1\}/) && hasRow(s, /<- ws\s+alice\s+\S+\s+reply\s+re#\d+ \{:n 1\}\s+\d+B\s+\d+ms/),
        "the call and its reply with a latency",
      );
      // A push to this user.
      await send(pane, '[:demo/push {:uid "alice" :event [:demo/hello 1]}]', /^⇐ :ok \(\d+ ms\)$/);
      await pane.waitScreen((s) => hasRow(s, /<- ws\s+alice\s+\S+\s+push\s+:demo\/hello 1\s/), "the push");
      // A value too wide for one line, for the detail.
      const order =
        '{:order {:id 1042, :items [{:sku "A-17", :name "Trail shoes", :qty 2, :price 89.5} {:sku "B-3", :name "Wool socks", :qty 3, :price 12.0}], :customer {:uid "alice", :tags #{:beta}}}}';
      // Pasted: one chunk, inserted whole.
      await send(pane, `[:demo/echo ${order}]`, /^⇐ \{:order \{:id 1042/, { paste: true });
      await pane.key("Escape");
      await pane.waitScreen((s) => KEYBAR_FRAMES.test(s), "the frames' key bar after leaving the send line");

      // Another user, over Ajax, pushes to alice.
      const bob = await runCli(["call", "--login", "bob", "--transport", "ajax", chsk, '[:demo/push {:uid "alice" :event [:demo/hello {:from "bob"}]}]']);
      assert.equal(bob.code, 0, bob.stderr);
      await pane.waitScreen((s) => hasRow(s, /push\s+:demo\/hello .*\{:from "bob"\}/), "bob's push");
      await screenshot(pane, "inspect-tui.png", browser);

      // The filter line: only replies, then Esc clears it.
      await pane.key("/");
      await pane.type("kind:reply");
      await pane.key("Enter");
      const filtered = await pane.waitScreen((s) => / · 3 shown · /.test(header(s)) && KEYBAR_FRAMES.test(s) && s, "the filter kept");
      const replies = listRows(filtered);
      assert.equal(replies.length, 3, filtered);
      for (const row of replies) assert.match(row, /^[> ] \S+ <- ws\s+alice\s+\S+\s+reply\s+re#\d+ /);
      assert.match(filtered, /^filter: kind:reply {2}3 of \d+$/m);
      await pane.key("Escape");
      await pane.waitScreen((s) => !header(s).includes("shown") && hasRow(s, HANDSHAKE), "all frames again");

      // Select the reply to the order (moving up from the newest frame), open it.
      const target = /reply\s+re#\d+ \{:order/;
      let screen = await pane.capture();
      for (let i = 0; !target.test(selectedRow(screen) ?? ""); i++) {
        assert.ok(i < 12, `the order's reply is reachable with ↑: ${screen}`);
        const before = selectedRow(screen);
        await pane.key("Up");
        screen = await pane.waitScreen((s) => selectedRow(s) !== before && s, "the selection to move up");
      }
      await pane.key("Enter");
      const detail = await pane.waitScreen((s) => s.includes("── value (EDN) ── r: raw frame") && s, "the detail's value");
      assert.match(detail, /^#\d+ +\S+ +\S+Z +← s2c +ws\/ws +reply$/m);
      assert.match(detail, /^cb \S+ +latency \d+ms +reply to #\d+$/m);
      // Pretty-printed: one map entry a line, nested under its bracket.
      const pretty = [
        '{:order {:id 1042,',
        '         :items [{:sku "A-17", :name "Trail shoes", :qty 2, :price 89.5}',
        '                 {:sku "B-3", :name "Wool socks", :qty 3, :price 12.0}],',
        '         :customer {:uid "alice", :tags #{:beta}}}}',
      ];
      assert.ok(detail.includes(`\n${pretty.join("\n")}\n`), detail);
      await screenshot(pane, "inspect-tui-detail.png", browser);
      await pane.key("r");
      const raw = await pane.waitScreen((s) => /── raw frame \(text, \d+ chars\) ── r: value/.test(s) && s, "the raw frame");
      assert.match(raw, /^\[\{:order \{:id 1042, :items \[/m);
      await pane.key("Escape");
      await pane.waitScreen((s) => hasRow(s, HANDSHAKE) && KEYBAR_FRAMES.test(s), "back to the list");

      // Tab: connections, users, frames.
      await pane.key("Tab");
      await pane.waitScreen((s) => /^ {2}connection +tr +user/m.test(s) && /^> ws-1 +ws +alice +\S+ open +3 +2 /m.test(s), "the connection summary");
      await pane.key("Tab");
      await pane.waitScreen((s) => /^ {2}user +conns tabs +calls +pushes/m.test(s) && /^> alice +1\/1 +1 +3 +2 /m.test(s), "the user summary");
      await pane.key("Tab");
      await pane.waitScreen((s) => hasRow(s, HANDSHAKE), "the frames again");

      await pane.key("q");
      const after = await assertRestored(pane);
      const records = readRecording(record, after);
      const k = kinds(records);
      for (const kind of ["open", "handshake", "event", "reply", "push", "close"]) assert.ok(k.includes(kind), `${kind} in ${k.join(" ")}`);
      assert.equal(k.filter((x) => x === "reply").length, 3);
      assert.equal(k.filter((x) => x === "push").length, 2);
      const echo = records.find((r) => r.kind === "reply" && r.data === "{:n 1}");
      assert.equal(typeof echo?.latencyMs, "number");
    } finally {
      await browser.close();
      await pane.kill();
    }
  });

  it("Ctrl-C quits, also while typing in the send line, and restores the terminal", async () => {
    const { pane, record } = await startInspect("ctrl-c");
    try {
      await waitConnected(pane);
      await pane.key("i");
      await pane.type("[:demo/ec");
      await pane.waitScreen((s) => lines(s).includes("send> [:demo/ec"), "text in the send line");
      await pane.key("C-c");
      const after = await assertRestored(pane);
      assert.deepEqual(kinds(readRecording(record, after)).slice(0, 2), ["open", "handshake"]);
    } finally {
      await pane.kill();
    }
  });

  it("SIGTERM to the inspector: exit 0, terminal restored, the recording complete", async () => {
    const { pane, record, pidFile } = await startInspect("sigterm", ["--send", "[:demo/echo 7]"]);
    try {
      await waitConnected(pane);
      await pane.waitScreen((s) => hasRow(s, /reply\s+re#\d+ 7\s+\d+B\s+\d+ms/), "the --send event's reply");
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      assert.ok(Number.isInteger(pid) && pid > 1, `a pid: ${pid}`);
      process.kill(pid, "SIGTERM");
      const after = await assertRestored(pane);
      const k = kinds(readRecording(record, after));
      assert.deepEqual(k.slice(0, 4), ["open", "handshake", "event", "reply"]);
      assert.equal(k.at(-1), "close", "the connection's end is recorded too");
    } finally {
      await pane.kill();
    }
  });

  it("the screenshot converter: SGR colours, bold, dim and inverse; other escapes dropped", () => {
    const { html, state } = ansiLineToHtml("\u001b[1mA\u001b[0;7m\u001b[36mB\u001b[0m\u001b[38;5;196mC\u001b[?25l<&");
    assert.match(html, /<span style="color:#d4d7dd;font-weight:bold">A<\/span>/);
    assert.match(html, /<span style="color:#1b1e24;background:#56b6c2">B<\/span>/);
    assert.match(html, /<span style="color:#ff0000">C&lt;&amp;<\/span>/);
    assert.equal(state.fg, "#ff0000");
  });
});
