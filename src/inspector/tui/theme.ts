/**
 * Colours, used only when colour is allowed (a terminal, no `NO_COLOR`):
 * every component takes `color` and passes these to ink's `Text` only then.
 * Without colour the screen carries the same information in text (the `>`
 * marker, kind names, flag words).
 */
import type { FrameKind } from "../../core/index.js";

export type InkColor = "yellow" | "cyan" | "magenta" | "green" | "gray" | "red" | "blue";

export const KIND_COLOR: Record<FrameKind, InkColor> = {
  handshake: "yellow",
  event: "cyan",
  push: "magenta",
  reply: "green",
  ping: "gray",
  pong: "gray",
  timeout: "gray",
  dummy: "gray",
  bad: "red",
  open: "yellow",
  close: "yellow",
  refused: "red",
};

/** The props to spread on a `Text`: a colour when allowed, nothing otherwise. */
export const tint = (color: boolean, c: InkColor | undefined): { color?: InkColor } => (color && c !== undefined ? { color: c } : {});
