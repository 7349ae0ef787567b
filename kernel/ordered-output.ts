// Keeps a cell's outputs in the order the cell produced them, even when a
// display bundle is computed asynchronously: later output waits behind it.
import type { RunnerEvent } from "./executor-messages";

export class OrderedOutput {
  private tail: Promise<void> | null = null;

  constructor(private readonly send: (event: RunnerEvent) => void) {}

  /** Sends now if nothing is pending, else after everything emitted before. */
  emit(event: RunnerEvent | Promise<RunnerEvent | null>): Promise<void> {
    if (!this.tail && !(event instanceof Promise)) {
      this.send(event);
      return Promise.resolve();
    }
    const previous = this.tail ?? Promise.resolve();
    const next = previous
      .then(() => event)
      .then((ready) => {
        if (ready) this.send(ready);
      });
    this.tail = next;
    void next.finally(() => {
      if (this.tail === next) this.tail = null;
    });
    return next;
  }

  /** Resolves once everything emitted so far has been sent. */
  async drained(): Promise<void> {
    while (this.tail) await this.tail.catch(() => undefined);
  }
}
