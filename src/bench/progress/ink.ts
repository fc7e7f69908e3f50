/** ink for the progress display, through the one loader that keeps ink drawing when CI is set. */
export { Box, Static, Text, render, type Instance, type RenderOptions } from "../../inspector/tui/ink.js";
