// A GEMM worker thread (gemmPool.ts): instantiates the WebAssembly kernel on
// the shared arena memory, then sleeps on the job sequence and claims pieces
// of each published product until none is left.

import { workerData } from "node:worker_threads";
import type { GemmRun } from "./gemmBlock";
import { CONTROL_BYTES, WORKERS_READY, WORKER_PIECES, runPiece, workPieces } from "./gemmPool";

interface GemmWorkerData {
  memory: { buffer: ArrayBufferLike };
  module: object;
  base: number;
  pack: number;
}

const { memory, module: wasmModule, base, pack } = workerData as GemmWorkerData;
const wasmApi = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, imports: object) => { exports: Record<string, unknown> } } }).WebAssembly;
const run = new wasmApi.Instance(wasmModule, { env: { mem: memory } }).exports.run as GemmRun;
const i32 = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
const claim = new BigInt64Array(memory.buffer, 0, 1);
let view = new Float64Array(0);
Atomics.add(i32, WORKERS_READY, 1);

for (;;) {
  const seq = Atomics.load(i32, 2);
  workPieces(i32, claim, (piece) => {
    // The main thread grows the memory between products (this loop may run
    // into the next one): the f64 view the JS fringe columns use must cover it.
    if (base + view.length * 8 < memory.buffer.byteLength) view = new Float64Array(memory.buffer, base);
    runPiece(run, view, base, pack, i32, piece);
    Atomics.add(i32, WORKER_PIECES, 1);
  });
  Atomics.wait(i32, 2, seq, 1000);
}
