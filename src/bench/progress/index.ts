/** `chsk bench`'s live progress: `createProgress(chooseProgressMode(...))`. */
export { createProgress } from "./create-progress.js";
export { chooseProgressMode, type ProgressMode } from "./mode.js";
export { plainLine } from "./format.js";
export type { Progress, ProgressOptions, ProgressPhase, ProgressSnapshot } from "./types.js";
