// Worker thread that owns the WebGPU device for the synchronous bridge. It
// takes one described dispatch at a time (gpuJob.ts), runs it, writes the
// output into shared memory and wakes the waiting main thread through
// `control`. WebGPU completes through promises, which can only settle on a
// thread whose event loop runs: this one, while the main thread sleeps in
// Atomics.wait.

import { parentPort } from "node:worker_threads";
import type { BridgeJob } from "./gpuJob";
import { WebgpuStationary } from "./stationaryExecutor";

let reducer: Promise<WebgpuStationary> | null = null;

parentPort!.on("message", async (job: BridgeJob) => {
  let status = 1;
  try {
    reducer ??= WebgpuStationary.create();
    job.out.set(await (await reducer).runJob(job.job));
  } catch (err) {
    status = 2;
    const bytes = new TextEncoder().encode(String((err as Error)?.message ?? err));
    job.errorText.set(bytes.subarray(0, job.errorText.length));
  }
  Atomics.store(job.control, 0, status);
  Atomics.notify(job.control, 0);
});
