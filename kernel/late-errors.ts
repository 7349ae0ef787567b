// Errors that escape every cell's own evaluation: a timer's callback that
// throws, a promise rejected with no handler, an 'error' event nobody
// listens to, a worker thread's failure. Node ends the process on these
// (and tfjs-backend-wasm's Emscripten module re-throws them from handlers of
// its own), which would cost the notebook every variable. Here they are
// reported instead and the runner keeps going, as ipykernel and Node's REPL do.
import { describeError } from "./cell-errors";

/** How an error escaped: thrown with no catch, or a rejection with no handler. */
export type LateErrorKind = "uncaught exception" | "unhandled rejection";

export type LateErrorReporter = (kind: LateErrorKind, error: unknown) => void;

/**
 * From now on, uncaught exceptions and unhandled rejections go to `report`
 * and never end the process. Listeners that dependencies installed for them
 * are removed (Emscripten's re-throw the error, which ends the process);
 * listeners added later are never called for exceptions (the capture
 * callback replaces the 'uncaughtException' event), and a rejection
 * listener that re-throws the reason is not reported twice.
 */
export function catchLateErrors(report: LateErrorReporter): void {
  let lastRejection: { reason: unknown } | null = null;
  const safely = (kind: LateErrorKind, error: unknown): void => {
    try {
      report(kind, error);
    } catch {
      // Reporting must never raise another uncaught error.
    }
  };
  process.removeAllListeners("uncaughtException");
  process.removeAllListeners("unhandledRejection");
  process.setUncaughtExceptionCaptureCallback((error) => {
    // An 'unhandledRejection' listener added after us that re-throws the reason (Emscripten's does).
    if (lastRejection && lastRejection.reason === error) {
      lastRejection = null;
      return;
    }
    safely("uncaught exception", error);
  });
  process.prependListener("unhandledRejection", (reason) => {
    lastRejection = { reason };
    // Forget it once this batch of rejections is processed, so a later throw of the same value is reported.
    setImmediate(() => (lastRejection = null));
    safely("unhandled rejection", reason);
  });
}

/** The stderr text a notebook shows for a late error. */
export function describeLateError(kind: LateErrorKind, error: unknown, cellIsRunning: boolean): string {
  const shown = describeError(error).traceback.join("\n");
  const where = cellIsRunning
    ? "raised outside this cell's own evaluation (a timer, promise, event or worker)"
    : "raised while no cell was running (in a timer, promise, event or worker an earlier cell started)";
  return `${shown}\n[gplab: ${kind} ${where}; the kernel kept running and every variable is kept]\n`;
}
