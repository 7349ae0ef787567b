// Synchronous WebGPU dispatches for the reduction engine, whose callers
// (LinearOperator.matmul) are synchronous: a job goes to a worker thread that
// owns the device through shared memory, and this thread sleeps in
// Atomics.wait until the worker reports done, as the fused CPU executor does.

import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { GPLabError } from "../../errors";
import type { Formula } from "../formula";
import type { BridgeJob, GpuJob } from "./gpuJob";
import { finishRows, packStationary, packStationaryRows, partialsLength, planStationary } from "./stationaryPlan";
import { PARAM_WORDS, stationaryMatmulWgsl } from "./stationaryWgsl";

let worker: Worker | null = null;

/** An f32 array on shared memory (what the worker reads without a copy). */
export function sharedF32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(4, length * 4)), 0, length);
}

/** Runs one dispatch on the GPU, blocking this thread until its output is back. */
export function runGpuJobSync(job: GpuJob, what: string): Float32Array {
  const output = job.bindings.find((b) => b.kind === "output");
  if (!output || output.kind !== "output") throw new Error("a GPU job needs an output binding");
  const bridge: BridgeJob = {
    job,
    out: sharedF32(output.length),
    control: new Int32Array(new SharedArrayBuffer(4)),
    errorText: new Uint8Array(new SharedArrayBuffer(2048)),
  };
  if (!worker) {
    worker = new Worker(path.join(__dirname, "stationaryWorker.js"));
    // An idle bridge must not keep the process alive.
    worker.unref();
  }
  worker.postMessage(bridge);
  while (Atomics.load(bridge.control, 0) === 0) Atomics.wait(bridge.control, 0, 0, 100);
  if (bridge.control[0] === 2) {
    const text = new TextDecoder().decode(bridge.errorText.slice()).replace(/\0+$/, "");
    throw new GPLabError(`WebGPU ${what} failed: ${text}`);
  }
  return bridge.out;
}

/**
 * Packed rows of the tuned kernel per formula object, resident on the device
 * under `key` while the formula lives (CG multiplies the same K many times;
 * the layout does not depend on V or T with the default tuning).
 */
const residentRows = new WeakMap<Formula, { X: Float32Array; key: string }>();
let nextRowsKey = 0;

/** K @ V of a single stationary kernel through its tuned WGSL kernel. V: [m, T]; returns [n, T]. */
export function webgpuMatmulSync(formula: Formula, V: Float64Array, T: number): Float64Array {
  const plan = planStationary(formula, T);
  let rows = residentRows.get(formula);
  if (!rows) {
    rows = { X: packStationaryRows(formula, plan, sharedF32), key: `stationaryRows${nextRowsKey++}` };
    residentRows.set(formula, rows);
  }
  const packed = packStationary(formula, V, plan, sharedF32, rows.X);
  const values = { tiles: plan.tiles, tilesPerSplit: plan.tilesPerSplit, rowsPad: plan.rowsPad, n: plan.n };
  const partials = runGpuJobSync(
    {
      source: stationaryMatmulWgsl(plan),
      entryPoint: "matmul",
      bindings: [
        { binding: 0, kind: "storage", data: packed.X, key: rows.key },
        { binding: 1, kind: "storage", data: packed.YV },
        { binding: 2, kind: "output", length: partialsLength(plan) },
        { binding: 3, kind: "uniform", data: Uint32Array.from(PARAM_WORDS, (w) => values[w]) },
      ],
      dispatch: [plan.rowGroups, plan.splits],
    },
    "K @ V",
  );
  return finishRows(partials, plan);
}
