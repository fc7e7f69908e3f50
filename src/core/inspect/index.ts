/**
 * The inspector's pure core (`chsk inspect`, the dashboard feed, replay):
 * the record model, Ajax request reading, one frame's decoding (`decodeFrame`),
 * the frame decoder (decode, pair, stitch), summaries and the JSONL recording format.
 */
export type * from "./types.js";
export { parseParams } from "./parse-params.js";
export { readAjaxPost, readAjaxQuery, type AjaxPost, type AjaxPostError, type AjaxQuery } from "./ajax-post.js";
export { parseRecordLine, parseRecordLines, recordToJson, recordToWireEvent } from "./jsonl.js";
export { showEdn } from "./show-edn.js";
export { fromBase64, toBase64 } from "./base64.js";
export { decodeFrame, type DecodedFrame, type DecodedFrameKind, type FrameInput } from "./decode-frame.js";
export { createFrameDecoder, type FrameDecoder, type FrameDecoderOptions, type RecordChange } from "./frame-decoder.js";
export { createPackerDetector, type PackerDetector, type PackerGuess } from "./packer-detector.js";
export {
  createSessionModel,
  summarize,
  type ConnSummary,
  type LatencyStats,
  type SessionModel,
  type SessionModelOptions,
  type SummaryCounts,
  type UserSummary,
} from "./summary.js";
export { LatencyHistogram } from "./latency-histogram.js";
