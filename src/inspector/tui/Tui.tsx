import { useApp } from "./ink.js";
import { App, type AppProps } from "./App.js";
import { CrashBoundary } from "./CrashBoundary.js";

/**
 * The app under a crash boundary wired to ink's `exit`: a component that
 * throws unmounts the app (restoring the terminal) and rejects ink's
 * `waitUntilExit` with the error, which `runTui` prints.
 */
export function Tui(props: AppProps) {
  const { exit } = useApp();
  return (
    <CrashBoundary onCrash={exit}>
      <App {...props} />
    </CrashBoundary>
  );
}
