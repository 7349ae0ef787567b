// A process-wide interrupt flag in shared memory. Long reductions check it
// between tiles (on every thread) and stop with InterruptedError. Anything
// that shares the buffer (a watchdog thread, the notebook kernel) can set it.

import { InterruptedError } from "../errors";

/** Int32Array [1] on a SharedArrayBuffer: 0 = run, 1 = interrupt requested. */
export const interruptFlag = new Int32Array(new SharedArrayBuffer(4));

/** Asks running reductions to stop at their next tile (they throw InterruptedError). */
export function requestInterrupt(): void {
  Atomics.store(interruptFlag, 0, 1);
  Atomics.notify(interruptFlag, 0);
}

/** Clears a pending interrupt request. */
export function clearInterrupt(): void {
  Atomics.store(interruptFlag, 0, 0);
}

/** Whether an interrupt has been requested and not cleared. */
export function interruptRequested(): boolean {
  return Atomics.load(interruptFlag, 0) !== 0;
}

/** Throws (and clears the request) if an interrupt is pending. */
export function checkInterrupt(where: string): void {
  if (interruptRequested()) {
    clearInterrupt();
    throw new InterruptedError(`interrupted during ${where}; the operator and your variables are unchanged`);
  }
}
