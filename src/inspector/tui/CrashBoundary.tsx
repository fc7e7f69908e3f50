import { Component, type ReactNode } from "react";

export interface CrashBoundaryProps {
  /** Called once with what a component threw while rendering or in an effect. */
  onCrash: (error: Error) => void;
  children?: ReactNode;
}

/**
 * Catches a crash in any component below it and hands it to `onCrash`
 * (`runTui` passes ink's `exit`, which unmounts, so the terminal is
 * restored before the error is printed). Renders nothing once crashed, so
 * a half-drawn screen is not left behind.
 */
export class CrashBoundary extends Component<CrashBoundaryProps, { crashed: boolean }> {
  override state = { crashed: false };

  static getDerivedStateFromError(): { crashed: boolean } {
    return { crashed: true };
  }

  override componentDidCatch(error: unknown): void {
    this.props.onCrash(error instanceof Error ? error : new Error(String(error)));
  }

  override render(): ReactNode {
    return this.state.crashed ? null : this.props.children;
  }
}
