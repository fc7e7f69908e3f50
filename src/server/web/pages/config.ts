/**
 * The settings each page script reads from `#chsk-config` (types only, so
 * the browser bundles import nothing from the server).
 */
import type { DashboardAccessLevel } from "../../dashboard/feed-types.js";

export interface DemoConfig {
  /** The chsk endpoint path (`/chsk`). */
  chskPath: string;
  packer: string;
  csrf: boolean;
}

export interface DashboardConfig {
  /** Where the dashboard is mounted (`/dashboard`): its feed and API live under it. */
  base: string;
  /** What the page request was allowed; the feed's `hello` has the final word. */
  access: DashboardAccessLevel;
  /** Admin pages only: echoed in `X-Chsk-Dashboard` on actions. */
  actionToken?: string;
  /** Explanations shown in the limited modes (plain text). */
  notes: { readOnly: string; counts: string };
}
