/**
 * A real terminal for TUI tests: one tmux server on a private socket (in the
 * test's temp dir, so no other tmux session is ever touched), one pane
 * running a shell script. Keys go in one per `send-keys` (several keys in
 * one call reach ink's `useInput` as one chunk); the screen comes back
 * through `capture-pane`. Every wait is bounded and, on timeout, fails with
 * the screen as it last was.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Quotes one word for `sh`. */
export const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

export interface TmuxOptions {
  /** A private directory: the socket and the script go there. */
  dir: string;
  cols: number;
  rows: number;
  /** The script's body (sh). */
  script: string;
}

export class TmuxPane {
  readonly #socket: string;
  #last = "";

  private constructor(socket: string) {
    this.#socket = socket;
  }

  static async start(o: TmuxOptions): Promise<TmuxPane> {
    const socket = join(o.dir, "tmux.sock");
    const script = join(o.dir, "pane.sh");
    writeFileSync(script, o.script);
    // The server inherits this environment: no NO_COLOR (the TUI is to draw in colour), no outer tmux.
    const env = { ...process.env };
    delete env["NO_COLOR"];
    delete env["TMUX"];
    delete env["TMUX_PANE"];
    await run("tmux", ["-S", socket, "-f", "/dev/null", "new-session", "-d", "-x", String(o.cols), "-y", String(o.rows), `sh ${shQuote(script)}`], {
      env,
      timeout: 10_000,
    });
    return new TmuxPane(socket);
  }

  async #tmux(...args: string[]): Promise<string> {
    const { stdout } = await run("tmux", ["-S", this.#socket, ...args], { timeout: 5000, maxBuffer: 4 << 20 });
    return stdout;
  }

  /** The visible screen, one string per row (with SGR escapes when `colors`). */
  async capture(colors = false): Promise<string> {
    const text = await this.#tmux("capture-pane", "-p", ...(colors ? ["-e"] : []), "-t", "0");
    if (!colors) this.#last = text;
    return text;
  }

  /** A pane format variable, e.g. `#{alternate_on}`, `#{cursor_flag}`. */
  async display(format: string): Promise<string> {
    return (await this.#tmux("display-message", "-p", "-t", "0", format)).trim();
  }

  /** One key, by tmux name (`Enter`, `Escape`, `Up`, `Tab`, `C-c`) or a single character. */
  async key(k: string): Promise<void> {
    await this.#tmux("send-keys", "-t", "0", ...(k.length === 1 ? ["-l", k] : [k]));
  }

  /** Sends text in one go, as a terminal sends a paste (the program may read it as one chunk). */
  async paste(text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", "0", "-l", text);
  }

  /** Types text one character at a time. */
  async type(text: string): Promise<void> {
    for (const ch of text) await this.key(ch);
  }

  /** Polls the screen until `check` returns a value; fails with the last screen after `timeoutMs`. */
  async waitScreen<T>(check: (screen: string) => T | undefined | false, what: string, timeoutMs = 8000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = check(await this.capture());
      if (v !== undefined && v !== false) return v;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${this.#last}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The screen last captured (for failure messages). */
  get last(): string {
    return this.#last;
  }

  /** Ends this tmux server (and the pane's processes with it). Idempotent. */
  async kill(): Promise<void> {
    await this.#tmux("kill-server").catch(() => {});
  }
}
