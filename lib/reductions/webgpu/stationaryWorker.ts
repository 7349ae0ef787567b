// Worker thread that owns the WebGPU device for the synchronous bridge. It
// takes one packed K @ V at a time, runs it, writes the partial sums into
// shared memory and wakes the waiting main thread through `control`. WebGPU
// completes through promises, which can only settle on a thread whose event
// loop runs: this one, while the main thread sleeps in Atomics.wait.

import { parentPort } from "node:worker_threads";
import { WebgpuStationary } from "./stationaryExecutor";
import type { PackedStationary, StationaryPlan } from "./stationaryPlan";

export interface BridgeJob {
  plan: StationaryPlan;
  packed: PackedStationary;
  /** shape: partialsLength(plan), on a SharedArrayBuffer. */
  out: Float32Array;
  /** Int32Array [1] on a SharedArrayBuffer: 0 running, 1 done, 2 failed. */
  control: Int32Array;
  /** UTF-8 error message when control is 2. */
  errorText: Uint8Array;
}

let reducer: Promise<WebgpuStationary> | null = null;

parentPort!.on("message", async (job: BridgeJob) => {
  let status = 1;
  try {
    reducer ??= WebgpuStationary.create();
    job.out.set(await (await reducer).runPacked(job.plan, job.packed));
  } catch (err) {
    status = 2;
    const bytes = new TextEncoder().encode(String((err as Error)?.message ?? err));
    job.errorText.set(bytes.subarray(0, job.errorText.length));
  }
  Atomics.store(job.control, 0, status);
  Atomics.notify(job.control, 0);
});
