// Interrupts that reach a cell even while its thread is blocked. The
// protocol process writes a byte to a pipe (fd 4 of the cell runner); a
// worker thread waiting on that pipe raises shared-memory flags at once:
// gplab's reductions check theirs between tiles (also on their worker
// threads), and the awaits of cell code check ours when they resume. It also
// counts the bytes: each is one interrupt, and the count tells the runner
// which cell an interrupt was meant for (see CellRunner.clearStaleInterrupts).
import { Worker } from "node:worker_threads";

export const INTERRUPT_PIPE_FD = 4;

// Event-driven on the worker's own loop (a blocking read would keep the
// process from exiting: Node waits for its threads on exit).
const WATCHER_SOURCE = `
const { workerData } = require("node:worker_threads");
const net = require("node:net");
const flags = workerData.buffers.map((buffer) => new Int32Array(buffer));
const received = new Int32Array(workerData.counter);
const pipe = new net.Socket({ fd: workerData.fd, readable: true, writable: false });
pipe.on("data", (chunk) => {
  for (const flag of flags) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); }
  Atomics.add(received, 0, chunk.length);
  Atomics.notify(received, 0);
});
pipe.on("error", () => {});
`;

/**
 * Starts the watcher. `flags` are Int32Arrays on SharedArrayBuffers, set to 1
 * on interrupt; `received[0]` counts the interrupts read from the pipe.
 */
export function watchInterruptPipe(flags: Int32Array[], received: Int32Array): void {
  const worker = new Worker(WATCHER_SOURCE, {
    eval: true,
    workerData: { fd: INTERRUPT_PIPE_FD, buffers: flags.map((flag) => flag.buffer), counter: received.buffer },
  });
  worker.on("error", (error) => console.error(`interrupt watcher stopped: ${error.message}`));
  worker.unref();
}
