// Interrupts that reach a cell even while its thread is blocked. The
// protocol process writes a byte to a pipe (fd 4 of the cell runner); a
// worker thread waiting on that pipe raises shared-memory flags at once:
// gplab's reductions check theirs between tiles (also on their worker
// threads), and the awaits of cell code check ours when they resume.
import { Worker } from "node:worker_threads";

export const INTERRUPT_PIPE_FD = 4;

const WATCHER_SOURCE = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const flags = workerData.buffers.map((buffer) => new Int32Array(buffer));
const pause = new Int32Array(new SharedArrayBuffer(4));
const bytes = Buffer.alloc(64);
for (;;) {
  let count;
  try {
    count = fs.readSync(workerData.fd, bytes, 0, bytes.length, null);
  } catch (error) {
    if (error.code === "EAGAIN") { Atomics.wait(pause, 0, 0, 20); continue; }
    break;
  }
  if (count === 0) break;
  for (const flag of flags) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); }
}
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
