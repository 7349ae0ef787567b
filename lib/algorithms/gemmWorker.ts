// A GEMM worker thread (gemmPool.ts): instantiates the WebAssembly kernel on
// the shared arena memory, then sleeps on the job sequence and claims pieces
// of each published product (or task) until none is left. Tasks' own GEMM
// calls run here through wasmGemm's `gemm`, bound to this thread's kernel
// and packing strip.

import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { GemmRun } from "./gemmBlock";
import { CONTROL_BYTES, HOT, HOT_POLL_MS, type PoolTask, SEQ_SLOT, type TaskSource, WORKERS_READY, WORKER_PIECES, runPiece, workPieces } from "./gemmPool";
import { bindThreadKernel, threadArena } from "./wasmGemm";

interface GemmWorkerData {
  memory: { buffer: ArrayBufferLike };
  module: object;
  base: number;
  pack: number;
  /** Tasks registered before this worker started; later ones arrive on `port`. */
  tasks: TaskSource[];
  port: MessagePort;
}

const { memory, module: wasmModule, base, pack, tasks, port } = workerData as GemmWorkerData;
const wasmApi = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, imports: object) => { exports: Record<string, unknown> } } }).WebAssembly;
const run = new wasmApi.Instance(wasmModule, { env: { mem: memory } }).exports.run as GemmRun;
bindThreadKernel(memory, run, base, pack);
const i32 = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
const claim = new BigInt64Array(memory.buffer, 0, 1);
const sources = new Map(tasks.map((t) => [t.id, t]));
const loaded = new Map<number, PoolTask>();

/** Task `id`, its module loaded on first use (its registration may still be on the port). */
function task(id: number): PoolTask {
  const hit = loaded.get(id);
  if (hit) return hit;
  for (let msg = receiveMessageOnPort(port); msg; msg = receiveMessageOnPort(port)) sources.set(msg.message.id, msg.message);
  const source = sources.get(id);
  if (!source) throw new Error(`GEMM worker: no task ${id}`);
  const fn = require(source.module)[source.name] as PoolTask;
  if (typeof fn !== "function") throw new Error(`GEMM worker: ${source.module} exports no function ${source.name}`);
  loaded.set(id, fn);
  return fn;
}

Atomics.add(i32, WORKERS_READY, 1);

for (;;) {
  const seq = Atomics.load(i32, SEQ_SLOT);
  workPieces(i32, claim, (piece) => {
    // The main thread grows the memory between products (this loop may run
    // into the next one): the arena view must cover it.
    runPiece(run, threadArena(), base, pack, i32, piece, task);
    Atomics.add(i32, WORKER_PIECES, 1);
  });
  // Inside a dense routine the next product follows within microseconds: poll for it (a futex
  // wake-up would cost as much as the product), for at most HOT_POLL_MS.
  if (Atomics.load(i32, HOT) !== 0) {
    const until = performance.now() + HOT_POLL_MS;
    while (Atomics.load(i32, SEQ_SLOT) === seq && Atomics.load(i32, HOT) !== 0 && performance.now() < until);
  }
  Atomics.wait(i32, SEQ_SLOT, seq, 1000);
}
