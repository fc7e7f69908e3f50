export * from "./values.js";
export { readEdn, parseEdn, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, type ReadOptions } from "./reader.js";
export { writeEdn, formatDouble, MAX_WRITE_DEPTH } from "./writer.js";
