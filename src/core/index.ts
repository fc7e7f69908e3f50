/**
 * `chsk/core`: the pure, isomorphic part of chsk (no `node:*` imports, no
 * DOM assumptions): the value model, EDN reader/writer, packers, errors,
 * events and Sente frame codec.
 *
 * @example
 * import { kw, readEdn, writeEdn, packerByName } from "chsk/core";
 * writeEdn([kw("my/ev"), { a: 1 }]); // '[:my/ev {:a 1}]'
 */
export * from "./edn/index.js";
export * from "./packers/index.js";
export { isWireFormat, packerWireFormat, readsFormat, type Sniffed, type SniffedFormat, sniffFrame, type WireFormat } from "./packers/sniff.js";
export * from "./protocol/errors.js";
export * from "./protocol/events.js";
export type * from "./protocol/event-map.js";
export * from "./protocol/codec.js";
export { type Cancel, type Clock, systemClock, type TimerOptions, type Unsubscribe } from "./clock.js";
export { type Logger, type LogFields, silentLogger } from "./logger.js";
export * from "./inspect/index.js";
