// Synchronous K @ V on WebGPU for the reduction engine, whose callers
// (LinearOperator.matmul) are synchronous: inputs go to a worker thread that
// owns the device through shared memory, and this thread sleeps in
// Atomics.wait until the worker reports done, as the fused CPU executor does.

import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { GPLabError } from "../../errors";
import type { Formula } from "../formula";
import { finishRows, packStationary, partialsLength, planStationary } from "./stationaryPlan";
import type { BridgeJob } from "./stationaryWorker";

let worker: Worker | null = null;

function sharedF32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(4, length * 4)), 0, length);
}

/** K @ V on the GPU, blocking this thread until the result is back. V: [m, T]; returns [n, T]. */
export function webgpuMatmulSync(formula: Formula, V: Float64Array, T: number): Float64Array {
  const plan = planStationary(formula, T);
  const job: BridgeJob = {
    plan,
    packed: packStationary(formula, V, plan, sharedF32),
    out: sharedF32(partialsLength(plan)),
    control: new Int32Array(new SharedArrayBuffer(4)),
    errorText: new Uint8Array(new SharedArrayBuffer(2048)),
  };
  if (!worker) {
    worker = new Worker(path.join(__dirname, "stationaryWorker.js"));
    // An idle bridge must not keep the process alive.
    worker.unref();
  }
  worker.postMessage(job);
  while (Atomics.load(job.control, 0) === 0) Atomics.wait(job.control, 0, 0, 100);
  if (job.control[0] === 2) {
    const text = new TextDecoder().decode(job.errorText.slice()).replace(/\0+$/, "");
    throw new GPLabError(`WebGPU K @ V failed: ${text}`);
  }
  return finishRows(job.out, plan);
}
