/**
 * The inspector's terminal UI (ink 6 + React 19). `runTui` is the entry;
 * the components are exported for tests and embedding.
 */
export { Tui } from "./Tui.js";
export { runTui, ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN, type RunTuiOptions, type SignalTarget, type TuiExit, type TuiHandle } from "./run-tui.js";
export { App, type AppProps, type QuitResult, type Sender, type TuiSource } from "./App.js";
export { BINDINGS, type Binding } from "./keymap.js";
export { compileFilter, type FilterResult } from "../filter.js";
export { prettyEdn, prettyEdnText } from "./edn-pretty.js";
