import type { FrameRecord } from "../../core/index.js";

/**
 * Which physical connection a record crossed: the WS socket (`conn`), or
 * the Ajax exchange (`exchange`, one GET or POST and its answer). Records
 * written before `exchange` existed lack it: a poll answer is then an
 * exchange of its own, and a POST's answer (or refusal) goes with its call
 * (`pair`), else (a post-reply) with the oldest unanswered POST of the
 * same logical connection.
 * Used by replay (to rebuild wire events) and the HAR export (to rebuild
 * HTTP entries), which must agree.
 */
export class ExchangeIds {
  /** Unanswered POSTs per logical connection, oldest first. */
  readonly #posts = new Map<string, string[]>();
  readonly #postBySeq = new Map<number, string>();

  idOf(r: FrameRecord): string {
    if (r.transport === "ws" || r.kind === "open" || r.kind === "close") return r.conn;
    if (r.exchange !== undefined) return r.exchange;
    const own = `${r.conn}#${r.seq}`;
    if (r.channel === "post" && r.dir === "c2s") {
      const q = this.#posts.get(r.conn);
      if (q === undefined) this.#posts.set(r.conn, [own]);
      else q.push(own);
      this.#postBySeq.set(r.seq, own);
      return own;
    }
    // An answer to a POST: a post-reply, or a refusal paired with the POST it refused.
    const paired = r.pair === undefined ? undefined : this.#postBySeq.get(r.pair);
    if (r.channel === "post-reply" || (r.kind === "refused" && paired !== undefined)) {
      const q = this.#posts.get(r.conn);
      const id = paired ?? q?.[0];
      if (id === undefined) return own;
      const i = q?.indexOf(id) ?? -1;
      if (i !== -1) q!.splice(i, 1);
      if (q?.length === 0) this.#posts.delete(r.conn);
      if (r.pair !== undefined) this.#postBySeq.delete(r.pair);
      return id;
    }
    return own;
  }
}
