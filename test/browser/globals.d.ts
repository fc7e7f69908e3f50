// What the demo page puts on `window`, for the `page.evaluate` callbacks of the browser tests.
import type { DemoHandle } from "../../src/server/web/pages/demo.js";

declare global {
  interface Window {
    chsk: DemoHandle;
  }
}
