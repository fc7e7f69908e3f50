/**
 * A stream line too long to read (over the attach source's `maxLineBytes`)
 * still names its frame: the server writes a frame's fields before its
 * `data` and its flags after it, and the line splitter kept both ends.
 */
import type { WireEvent } from "../../core/index.js";
import type { LongLine } from "./line-splitter.js";

type Frame = Extract<WireEvent, { type: "frame" }>;

/**
 * An over-long `frame` line as a frame event without its data, from the
 * fields before `"data"` (the server writes them first) and after it (the
 * line's tail). Null when the line's start is not a frame's.
 */
export function longFrame(line: LongLine, limit: number): Frame | null {
  const at = line.head.indexOf(',"data":"');
  if (at < 0) return null;
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(`${line.head.slice(0, at)}}`) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (head["type"] !== "frame" || typeof head["connId"] !== "string") return null;
  // The fields after the data: `"` closes it, then `,"binary":true`, `,"status":200`… and `}`.
  // Inside a JSON string a `"` is always escaped, so the first `"` this matches from is the data's end.
  const after = /"((?:,"[A-Za-z]+":(?:true|false|-?\d+))*)\}\s*$/.exec(line.tail);
  const fields = after?.[1] ?? "";
  const binary = fields.includes(',"binary":true');
  const status = /,"status":(\d+)/.exec(fields)?.[1];
  // The data's size as the line carried it (escaped JSON text, or base64 brought back to bytes): an estimate.
  const carried = Math.max(0, line.bytes - Buffer.byteLength(line.head.slice(0, at)) - ',"data":"'.length - (after?.[0].length ?? 0));
  const ev = {
    ...head,
    data: "",
    bytes: binary ? Math.floor((carried * 3) / 4) : carried,
    error: { code: "CHSK_ERR_FRAME_TOO_LARGE", message: `a stream line of ${line.bytes} bytes, over the attach source's maxLineBytes (${limit}): skipped` },
  } as Frame;
  if (fields.includes(',"handshake":true')) ev.handshake = true;
  if (status !== undefined) ev.status = Number(status);
  return ev;
}
