import type { FrameRecord } from "../../core/index.js";
import { lineBatcher, type RecordWriter, type TextSink } from "./record-writer.js";
import { formatTextLine, type TextLineOptions } from "./text-line.js";

/**
 * `--format text`: one {@link formatTextLine} line per record. Colour only
 * when `options.color` says so (`shouldUseColor(process.stdout, process.env)`).
 */
export function createTextWriter(out: TextSink, options: TextLineOptions = {}): RecordWriter {
  let closed = false;
  const lines = lineBatcher(out);
  return {
    write(record: FrameRecord) {
      if (!closed) lines.push(`${formatTextLine(record, options)}\n`);
    },
    close() {
      if (!closed) lines.flush();
      closed = true;
      return Promise.resolve();
    },
  };
}
