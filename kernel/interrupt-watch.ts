// Interrupts that reach a cell even while its thread is blocked. The
// protocol process writes a byte to a pipe (fd 4 of the cell runner); a
// worker thread waiting on that pipe raises shared-memory flags at once:
// gplab's reductions check theirs between tiles (also on their worker
// threads), and the awaits of cell code check ours when they resume.
import { Worker } from "node:worker_threads";

export const INTERRUPT_PIPE_FD = 4;

// Event-driven on the worker's own loop (a blocking read would keep the
// process from exiting: Node waits for its threads on exit).
const WATCHER_SOURCE = `
const { workerData } = require("node:worker_threads");
const net = require("node:net");
const flags = workerData.buffers.map((buffer) => new Int32Array(buffer));
const pipe = new net.Socket({ fd: workerData.fd, readable: true, writable: false });
pipe.on("data", () => {
  for (const flag of flags) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); }
});
pipe.on("error", () => {});
`;

/** Starts the watcher; `flags` are Int32Arrays on SharedArrayBuffers, set to 1 on interrupt. */
export function watchInterruptPipe(flags: Int32Array[]): void {
  const worker = new Worker(WATCHER_SOURCE, {
    eval: true,
    workerData: { fd: INTERRUPT_PIPE_FD, buffers: flags.map((flag) => flag.buffer) },
  });
  worker.on("error", (error) => console.error(`interrupt watcher stopped: ${error.message}`));
  worker.unref();
}
