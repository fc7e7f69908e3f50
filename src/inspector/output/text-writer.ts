import type { FrameRecord } from "../../core/index.js";
import type { RecordWriter, TextSink } from "./record-writer.js";
import { formatTextLine, type TextLineOptions } from "./text-line.js";

/**
 * `--format text`: one {@link formatTextLine} line per record. Colour only
 * when `options.color` says so (`shouldUseColor(process.stdout, process.env)`).
 */
export function createTextWriter(out: TextSink, options: TextLineOptions = {}): RecordWriter {
  let closed = false;
  return {
    write(record: FrameRecord) {
      if (!closed) out.write(`${formatTextLine(record, options)}\n`);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
