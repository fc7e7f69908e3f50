import { type FrameRecord, recordToJson } from "../../core/index.js";
import type { RecordWriter, TextSink } from "./record-writer.js";

/**
 * `--format jsonl`: one {@link FrameRecord} per line, exactly as a
 * `--record` file holds it (`recordToJson`), so `chsk inspect … --format
 * jsonl > x.jsonl` is a recording `--replay` reads back.
 */
export function createJsonlWriter(out: TextSink): RecordWriter {
  let closed = false;
  return {
    write(record: FrameRecord) {
      if (!closed) out.write(`${recordToJson(record)}\n`);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
