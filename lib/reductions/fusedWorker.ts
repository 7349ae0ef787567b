// Worker thread of the fused CPU executor. It receives a job (generated
// source plus shared typed arrays), then takes row tiles (tileSchedule.ts)
// until none are left, the job is cancelled, or an interrupt is
// requested. Completion is signalled through shared memory, not messages,
// because the main thread waits with Atomics.wait.

import { parentPort, workerData } from "node:worker_threads";
import { TileSchedule } from "./tileSchedule";
// (fusedExecutor's control block: join slots from 8, JOINED 1; kept as literals so this file imports nothing heavy)
const JOIN_SLOTS = 8, JOINED = 1;

interface Job {
  key: string;
  /** Null when this worker has compiled the key before (the pool sends each source once per worker). */
  source: string | null;
  /** Int32Array on a SharedArrayBuffer: [nextTile, doneCount, cancel, failed, helpers, -, -, -, join slot per helper] */
  control: Int32Array;
  errorText: Uint8Array;
  args: Record<string, unknown>;
  /** Name of an accumulator array that gets one slice per thread, if any. */
  perThreadOut: string | null;
  perThreadSize: number;
  threadIndex: number;
  /** Threads dealt tiles round-robin (per-thread accumulators), or 0 for the shared counter. */
  tileStride: number;
  tileRows: number;
  totalRows: number;
}

const interruptFlag: Int32Array = workerData.interruptFlag;
type FusedFunction = ((r0: number, r1: number, A: Record<string, unknown>) => void) & { finish?: (A: Record<string, unknown>) => void };
const compiled = new Map<string, FusedFunction>();

parentPort!.on("message", (job: Job) => {
  const ctl = job.control;
  let fn = compiled.get(job.key);
  let compileError: unknown = null;
  try {
    if (!fn) {
      if (job.source === null) throw new Error(`fused worker: no source for ${job.key}`);
      fn = new Function(job.source)() as FusedFunction;
      compiled.set(job.key, fn);
    }
  } catch (err) {
    compileError = err;
  }
  // Too late: the main thread has taken this worker's tiles (fusedExecutor.ts, JOIN_SLOTS).
  if (Atomics.compareExchange(ctl, JOIN_SLOTS + job.threadIndex - 1, 0, JOINED) !== 0) return;
  try {
    if (compileError || !fn) throw compileError;
    const args = { ...job.args };
    if (job.perThreadOut) {
      const whole = args[job.perThreadOut] as Float64Array;
      args[job.perThreadOut] = whole.subarray(job.threadIndex * job.perThreadSize, (job.threadIndex + 1) * job.perThreadSize);
    }
    const numTiles = Math.ceil(job.totalRows / job.tileRows);
    const schedule = new TileSchedule(ctl, job.threadIndex, job.tileStride);
    for (;;) {
      if (Atomics.load(ctl, 2) !== 0 || Atomics.load(interruptFlag, 0) !== 0) break;
      const tile = schedule.next();
      if (tile >= numTiles) break;
      const r0 = tile * job.tileRows;
      fn(r0, Math.min(job.totalRows, r0 + job.tileRows), args);
    }
    fn.finish?.(args);
  } catch (err) {
    const text = new TextEncoder().encode(String((err as Error)?.stack ?? err)).subarray(0, job.errorText.length);
    job.errorText.set(text);
    Atomics.store(ctl, 3, 1);
  } finally {
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
});
