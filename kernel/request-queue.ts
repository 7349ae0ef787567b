// Requests of one channel, read as soon as they arrive and handled one after
// another. Reading eagerly lets the kernel see what is already waiting, e.g.
// to abort the queued cells of a "run all" after one fails (stop_on_error).
import type { JupyterMessage } from "./wire";

export class RequestQueue {
  private readonly waiting: JupyterMessage[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly handle: (message: JupyterMessage) => Promise<void>) {
    void this.work();
  }

  push(message: JupyterMessage): void {
    this.waiting.push(message);
    this.wake?.();
  }

  /** Removes and returns the queued messages that match. */
  take(matches: (message: JupyterMessage) => boolean): JupyterMessage[] {
    const taken = this.waiting.filter(matches);
    const kept = this.waiting.filter((message) => !matches(message));
    this.waiting.splice(0, this.waiting.length, ...kept);
    return taken;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const next = this.waiting.shift();
      if (!next) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      await this.handle(next);
    }
  }
}
