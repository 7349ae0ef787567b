// Stream output (console.log, process.stdout/stderr.write) travels in
// batches, as ipykernel sends it: a loop printing 100,000 lines costs a
// handful of messages instead of 100,000. Text is held for at most
// STREAM_FLUSH_INTERVAL_MS, and any other event (a display, clear_output, a
// prompt, the cell's end) first sends what is held, so the order of streams,
// displays and errors is the order the cell produced them in.
import type { RunnerEvent } from "./executor-messages";

/** How long stream text may wait for more text (ipykernel's flush interval). */
export const STREAM_FLUSH_INTERVAL_MS = 200;
/** Held text past this many characters is sent at once (a synchronous loop never lets the timer run). */
export const STREAM_BATCH_MAX_CHARS = 1 << 20;

type StreamEvent = Extract<RunnerEvent, { kind: "stream" }>;

export class StreamCoalescer {
  /** Held stream text, in order; consecutive text of one stream of one cell shares an entry. */
  private held: StreamEvent[] = [];
  private heldChars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (event: RunnerEvent) => void,
    private readonly intervalMs = STREAM_FLUSH_INTERVAL_MS,
    private readonly maxChars = STREAM_BATCH_MAX_CHARS,
  ) {}

  /** Holds stream text; any other event is sent right after the text held before it. */
  push(event: RunnerEvent): void {
    if (event.kind !== "stream") {
      this.flush();
      this.send(event);
      return;
    }
    const last = this.held[this.held.length - 1];
    if (last && last.requestId === event.requestId && last.name === event.name) last.text += event.text;
    else this.held.push({ ...event });
    this.heldChars += event.text.length;
    if (this.heldChars >= this.maxChars) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends all held text now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    for (const event of held) this.send(event);
  }
}
