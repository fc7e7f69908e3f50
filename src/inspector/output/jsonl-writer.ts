import { type FrameRecord, recordToJson } from "../../core/index.js";
import { lineBatcher, type RecordWriter, type TextSink } from "./record-writer.js";

/**
 * `--format jsonl`: one {@link FrameRecord} per line, exactly as a
 * `--record` file holds it (`recordToJson`), so `chsk inspect … --format
 * jsonl > x.jsonl` is a recording `--replay` reads back.
 */
export function createJsonlWriter(out: TextSink): RecordWriter {
  let closed = false;
  const lines = lineBatcher(out);
  return {
    write(record: FrameRecord) {
      if (!closed) lines.push(`${recordToJson(record)}\n`);
    },
    close() {
      if (!closed) lines.flush();
      closed = true;
      return Promise.resolve();
    },
  };
}
