/**
 * A whole recording (`--replay FILE.jsonl` or `--har FILE.har`) read and
 * decoded into records, for what needs all of it before it starts
 * (`--replay FILE --to URL`). The file goes through its source and a fresh
 * decoder, exactly as the viewer reads it.
 */
import { createFrameDecoder, type FrameDecoderOptions, type FrameRecord, type Packer } from "../core/index.js";
import { createHarSource } from "./sources/har.js";
import { createReplaySource } from "./sources/replay.js";
import type { SourceNotice } from "./sources/types.js";

export interface LoadRecordingOptions {
  /** Read it as HAR. @default a `.har` file name */
  har?: boolean;
  /** HAR: the channel's path. @default the export's own, else "/chsk" */
  path?: string | undefined;
  /** Decode with this packer (`--packer`). @default detected */
  packer?: Packer | undefined;
  /** More decoder options (timeouts for the `unanswered` flag…). @default {} */
  decoder?: Omit<FrameDecoderOptions, "packer">;
  /** Bad lines, unanswered HAR requests… @default ignored */
  onNotice?: (notice: SourceNotice) => void;
}

/**
 * Every record of `file`, decoded. Rejects with the source's `ChskError`
 * when the file cannot be read (`CHSK_ERR_FILE`, `CHSK_ERR_BAD_HAR`);
 * bad lines are notices, not failures.
 */
export async function loadRecording(file: string, options: LoadRecordingOptions = {}): Promise<FrameRecord[]> {
  const har = options.har ?? /\.har$/i.test(file);
  const source = har ? createHarSource({ file, path: options.path }) : createReplaySource({ path: file });
  const decoder = createFrameDecoder({ ...options.decoder, ...(options.packer === undefined ? {} : { packer: options.packer }) });
  const records: FrameRecord[] = [];
  let last = 0;
  source.onEvent((e) => {
    last = Math.max(last, e.at);
    records.push(decoder.push(e));
  });
  if (options.onNotice !== undefined) source.onNotice(options.onNotice);
  await source.start();
  const end = await source.done;
  await source.close();
  if (end.reason === "failed") throw end.error;
  // The recording is over: calls still waiting are as answered as they will ever be.
  decoder.flush(last + 24 * 3600_000);
  return records;
}
