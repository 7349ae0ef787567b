// The GEMM on every core: worker threads that instantiate the same
// WebAssembly kernel on the same shared memory (the arena) and take pieces
// of C (row blocks or column strips) from a shared counter, as the fused
// reductions' pool does. The main thread publishes a product, works pieces
// itself, then waits until all are done: synchronous for the caller, and
// never slower than one thread by more than the dispatch (a worker that
// wakes late finds nothing left). Products below PARALLEL_MIN_WORK
// multiply-adds stay on the calling thread. A worker that claimed a piece
// and then lost its core makes the main thread wait for it: on a machine
// busier than its cores that wait can exceed the whole product (measured:
// an SVGP step at M = 256, load 4 on 2 cores, 0.047 s on one thread, 0.070 s
// on two), so the threshold adapts: it quadruples after a product whose
// wait was longer than the main thread's own share of work (and than
// LATE_MS, a wait unequal pieces cause anyway), and halves only
// after GOOD_TO_LOWER products in a row that did not wait that long. Every
// PROBE_EVERY-th product between the floor and the threshold runs on every
// thread anyway, so the threshold comes down again once the machine is
// quiet; a probe that waited doubles that interval (up to PROBE_EVERY_MAX).
//
// Control block (the first CONTROL_BYTES of the memory):
//   bytes 0-7   claim word: job sequence << 32 | piece count << 16 | next piece
//   bytes 8-11  job sequence (Atomics.wait / notify), 12-15 pieces done
//   bytes 16-63 the product: n m k a lda b ldb c ldc layout pieceSize keep (i32; keep 0: C := alpha A B)
//   bytes 64-71 alpha (f64)
//   bytes 80-83 pieces worked by worker threads, 84-87 workers ready
//   bytes 88-91 hot: nonzero while the main thread runs a dense routine (see hotBurst)
//   bytes 128-511 a task job's parameters (TASK_PARAMS f64s)
// A piece is claimed by compare-exchange on the claim word, so a thread that
// read a finished job's word can never claim a piece of the next job.

import * as os from "node:os";
import * as path from "node:path";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { type GemmRun, gemmBlock } from "./gemmBlock";

export const CONTROL_BYTES = 512;
/** Byte offset and f64 count of a task job's parameters in the control block. */
export const TASK_PARAMS_AT = 128, TASK_PARAMS = 48;
/** Below this many multiply-adds a product stays on one thread (~50 us of work), at least. */
export const PARALLEL_MIN_WORK = 1 << 19;
/**
 * The floor inside a dense routine (hotBurst), where the workers poll
 * instead of sleeping: a product is worth splitting once its work (~5 us)
 * exceeds the claim and the wait, not the futex wake-up (tens of us).
 */
export const HOT_MIN_WORK = 1 << 16;
/**
 * The longest a worker polls for the next product of a dense routine before
 * it sleeps anyway (JS between products that runs longer, or a main thread
 * that died inside one), in ms.
 */
export const HOT_POLL_MS = 2;
/** A wait for the workers shorter than this (ms) never counts as late (see runPooled). */
const LATE_MS = 0.25;
/** After a late product, dense routines run without polling for this long (ms): on a machine busier than its cores a polling worker uses up its share and is late again. */
const HOT_COOLDOWN_MS = 1000;
/** The most the adaptive threshold rises to (~0.1 s of work). */
const PARALLEL_MAX_THRESHOLD = 1 << 30;
/** Products in a row without a long wait before the threshold halves. */
const GOOD_TO_LOWER = 16;
/** Of the products between the floor and the threshold, every this many runs threaded (a probe)... */
export const PROBE_EVERY = 32;
/**
 * ... at first: a probe that waited doubles the interval up to this (on a
 * machine busier than its cores a probe can wait a whole time slice for a
 * descheduled worker), a probe that did not resets it.
 */
const PROBE_EVERY_MAX = 1024;
/** Pieces per thread: spare pieces let a thread that starts late still help. */
const PIECES_PER_THREAD = 4;
const SEQ = 2, DONE = 3, PARAMS = 4;
/** i32 slots of the worker statistics. */
export const WORKER_PIECES = 20, WORKERS_READY = 21;
/** i32 slot of the hot flag, and of the job sequence the workers sleep on. */
export const HOT = 22, SEQ_SLOT = SEQ;

/** Pieces worked by worker threads so far, and how many workers are running. */
export function workerStats(pool: GemmPool): { pieces: number; ready: number } {
  const i32 = new Int32Array(pool.memory.buffer, 0, CONTROL_BYTES / 4);
  return { pieces: Atomics.load(i32, WORKER_PIECES), ready: Atomics.load(i32, WORKERS_READY) };
}

/** Threads to use: GPLAB_GEMM_THREADS, else GPLAB_THREADS, else every core (as the reductions' pool). */
export function gemmThreadCount(): number {
  for (const v of [process.env.GPLAB_GEMM_THREADS, process.env.GPLAB_THREADS]) {
    const fromEnv = Number(v);
    if (v && Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  }
  return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
}

/** The shared state of one arena's pool. */
export interface GemmPool {
  readonly memory: { buffer: ArrayBufferLike };
  readonly module: object;
  /** Byte offset of arena element 0. */
  readonly base: number;
  /** Byte offset of thread t's packing strip: packAt + t * PACK_BYTES. */
  readonly packAt: number;
  readonly packBytes: number;
  /** Threads that may work a product, the main thread included. */
  threads: number;
  workers: Worker[];
  seq: number;
  /** The current threshold in multiply-adds (adapts between PARALLEL_MIN_WORK and PARALLEL_MAX_THRESHOLD). */
  minWork: number;
  /** Threaded products in a row without a long wait. */
  goodStreak: number;
  /** Products kept on one thread by the threshold alone (counts towards the next probe). */
  heldBack: number;
  /** The current probe interval (PROBE_EVERY .. PROBE_EVERY_MAX). */
  probeEvery: number;
  /** While a task job runs: its GEMM calls on the main thread stay there. */
  busy?: boolean;
  /** Nesting depth of hotBurst on the main thread. */
  hot: number;
  /** performance.now() of the last late product or task (see runPooled). */
  lastLate: number;
}

/**
 * Runs `routine` (a dense routine that issues many products a few
 * microseconds apart: a blocked Cholesky, an inverse) with the workers
 * polling between products instead of sleeping, and with the threshold's
 * floor at HOT_MIN_WORK; results are the same as outside (the pieces of a
 * product do not depend on the threshold). Plain `routine()` while the
 * adaptive threshold is above its floor, within HOT_COOLDOWN_MS of a late
 * product, or while the 1-minute load average exceeds the threads by more
 * than one: on a machine busier than its cores a polling worker uses up its
 * share and the main thread then waits for it (measured at load 8-12 on 2
 * cores: the Cholesky and inverse at n = 800 1.0-1.5x slower with polling).
 * GPLAB_DENSE_POLL=1 polls whatever the load, =0 never.
 */
export function hotBurst<T>(pool: GemmPool | null, routine: () => T): T {
  const mode = process.env.GPLAB_DENSE_POLL;
  if (!pool || pool.threads < 2 || mode === "0") return routine();
  const busy = pool.minWork > PARALLEL_MIN_WORK || performance.now() - pool.lastLate < HOT_COOLDOWN_MS || os.loadavg()[0] > pool.threads + 1;
  if (pool.hot === 0 && busy && mode !== "1") return routine();
  ensureWorkers(pool);
  const i32 = new Int32Array(pool.memory.buffer, 0, CONTROL_BYTES / 4);
  if (pool.hot++ === 0) {
    Atomics.store(i32, HOT, 1);
    // Wake the sleeping workers now: they poll from here on, so the first product does not wait for a wake-up.
    Atomics.notify(i32, SEQ);
  }
  try {
    return routine();
  } finally {
    if (--pool.hot === 0) Atomics.store(i32, HOT, 0);
  }
}

/** Whether a dense routine's work of `work` multiply-adds is worth a pool task now (inside hotBurst, threshold at its floor). */
export function worthTask(pool: GemmPool, work: number): boolean {
  return pool.threads > 1 && !pool.busy && pool.hot > 0 && work >= HOT_MIN_WORK && work >= pool.minWork;
}

/**
 * A task job's piece: `params` are the job's parameters (TASK_PARAMS_AT),
 * `mem` the calling thread's arena view, on which its `gemm` calls run on
 * that thread alone. Each piece must write only its own outputs, so that
 * results do not depend on which thread ran it.
 */
export type PoolTask = (mem: Float64Array, params: Float64Array, piece: number) => void;
/** Where a worker finds task `id`: the module's export `name`. */
export interface TaskSource { id: number; module: string; name: string }
const taskSources: TaskSource[] = [];
const taskFunctions: PoolTask[] = [];
/** One port per worker, on which later registrations reach it. */
const taskPorts: MessagePort[] = [];

/**
 * Registers `fn`, the export `name` of the module `module` (its compiled
 * file: __filename), as a task the pool's threads can run (runTask); returns
 * its id. A worker loads the module the first time it meets the task.
 */
export function poolTask(module: string, name: string, fn: PoolTask): number {
  const found = taskSources.find((t) => t.module === module && t.name === name);
  if (found) return found.id;
  const source = { id: taskSources.length, module, name };
  taskSources.push(source);
  taskFunctions.push(fn);
  for (const port of taskPorts) port.postMessage(source);
  return source.id;
}

/** The main thread's task `id`. */
export function taskFunction(id: number): PoolTask {
  const fn = taskFunctions[id];
  if (!fn) throw new Error(`no GEMM pool task ${id}`);
  return fn;
}

/** Starts the worker threads up to pool.threads - 1 (each joins when it is ready). */
export function ensureWorkers(pool: GemmPool): void {
  while (pool.workers.length < pool.threads - 1) {
    const index = pool.workers.length + 1;
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(path.join(__dirname, "gemmWorker.js"), {
      workerData: { memory: pool.memory, module: pool.module, base: pool.base, pack: pool.packAt + index * pool.packBytes, tasks: taskSources.slice(), port: port2 },
      transferList: [port2],
    });
    port1.unref();
    taskPorts.push(port1);
    w.unref();
    w.on("error", (err) => {
      // A failed worker is dropped: the main thread claims whatever it would have.
      pool.workers = pool.workers.filter((x) => x !== w);
      process.emitWarning(`gplab GEMM worker failed: ${err.message}`);
    });
    pool.workers.push(w);
  }
}

/**
 * How a pooled product is cut into pieces of `pieceSize`:
 * - BY_COLUMNS, BY_ROWS: C += alpha A B by column strips / row blocks.
 * - LOWER_B_BLOCKS: B lower triangular (B[p, j] = 0 for p < j, counted from
 *   B's first row and column), so column block [s, e) of C takes only the
 *   terms p >= s: C[:, s:e] += alpha A[:, s:k] B[s:k, s:e].
 * - UPPER_A_LOWER_C_PANELS: A upper triangular (A[i, p] = 0 for p < i) and
 *   only C's lower block triangle wanted, so row panel [s, e) takes columns
 *   [0, e) and terms p >= s: C[s:e, 0:e] += alpha A[s:e, s:k] B[s:k, 0:e].
 * The triangular layouts cut the same pieces whatever the thread count, and
 * one thread runs them in order (gemmPieces), so results are bit-identical.
 */
export const BY_COLUMNS = 0, BY_ROWS = 1, LOWER_B_BLOCKS = 2, UPPER_A_LOWER_C_PANELS = 3;
export type PieceLayout = typeof BY_COLUMNS | typeof BY_ROWS | typeof LOWER_B_BLOCKS | typeof UPPER_A_LOWER_C_PANELS;
/** Layout slot of a task job (pieces of a registered PoolTask; params: task id). */
const TASK = 4;

/** The pieces of a triangular layout, and their multiply-adds (roughly). */
export function trianglePieces(layout: PieceLayout, pieceSize: number, n: number, m: number, k: number): { count: number; work: number } {
  if (layout === LOWER_B_BLOCKS) return { count: Math.ceil(m / pieceSize), work: (n * m * (2 * k - m)) / 2 };
  if (layout === UPPER_A_LOWER_C_PANELS) return { count: Math.ceil(n / pieceSize), work: (n * m * k) / 3 };
  throw new Error(`layout ${layout} is not triangular`);
}

/**
 * C += alpha A B split over the pool's threads; false (nothing done) when the
 * product is too small to be worth it. Offsets and strides in elements.
 */
export function parallelGemm(
  pool: GemmPool, run: GemmRun, mem: Float64Array,
  n: number, m: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, overwrite = false,
): boolean {
  const go = worthThreads(pool, n * m * k);
  if (go === "no") return false;
  // Split the longer side, in whole 4-row tiles or 4-column strips.
  const rowUnits = Math.ceil(n / 4), colUnits = m >> 2;
  const byRows = rowUnits >= colUnits;
  const units = byRows ? rowUnits : colUnits;
  const pieces = Math.min(units, pool.threads * PIECES_PER_THREAD, 0xffff);
  if (pieces < 2) return false;
  const pieceSize = 4 * Math.ceil(units / pieces);
  const count = Math.ceil((byRows ? n : m & ~3) / pieceSize);
  runPooled(pool, run, mem, [n, m, k, a, lda, b, ldb, c, ldc, byRows ? BY_ROWS : BY_COLUMNS, pieceSize, overwrite ? 0 : 1], alpha, count, go === "probe");
  return true;
}

/**
 * A triangular layout's pieces (see LOWER_B_BLOCKS) split over the pool's
 * threads; false (nothing done) when too small to be worth it.
 */
export function parallelTrianglePieces(
  pool: GemmPool, run: GemmRun, mem: Float64Array, layout: PieceLayout, pieceSize: number,
  n: number, m: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, overwrite = false,
): boolean {
  const { count, work } = trianglePieces(layout, pieceSize, n, m, k);
  if (count < 2 || count > 0xffff) return false;
  const go = worthThreads(pool, work);
  if (go === "no") return false;
  runPooled(pool, run, mem, [n, m, k, a, lda, b, ldb, c, ldc, layout, pieceSize, overwrite ? 0 : 1], alpha, count, go === "probe");
  return true;
}

/** Whether a product of `work` multiply-adds goes to the threads: above the adaptive threshold, as a probe below it, or not. */
function worthThreads(pool: GemmPool, work: number): "yes" | "probe" | "no" {
  if (pool.threads < 2 || work < (pool.hot > 0 ? HOT_MIN_WORK : PARALLEL_MIN_WORK) || pool.busy) return "no";
  if (work >= pool.minWork) return "yes";
  return ++pool.heldBack % pool.probeEvery === 0 ? "probe" : "no";
}

/**
 * Runs the `count` pieces of task `id` with `params` (at most TASK_PARAMS)
 * on the pool's threads, the calling thread included; returns when all are
 * done. The threshold does not apply: a task is a whole pass of work, and a
 * thread that starts late finds fewer pieces left.
 */
export function runTaskPooled(pool: GemmPool, run: GemmRun, mem: Float64Array, id: number, params: ArrayLike<number>, count: number): void {
  if (params.length > TASK_PARAMS) throw new Error(`a pool task takes at most ${TASK_PARAMS} parameters, got ${params.length}`);
  new Float64Array(pool.memory.buffer, TASK_PARAMS_AT, params.length).set(params);
  pool.busy = true;
  try {
    runPooled(pool, run, mem, [id, 0, 0, 0, 0, 0, 0, 0, 0, TASK, 0, 1], 0, count, null);
  } finally {
    pool.busy = false;
  }
}

/** Publishes a product of `count` pieces, works pieces until none is left, waits for the rest, adapts the threshold and the probe interval (not for a task: probe null). */
function runPooled(pool: GemmPool, run: GemmRun, mem: Float64Array, params: number[], alpha: number, count: number, probe: boolean | null): void {
  ensureWorkers(pool);
  const buf = pool.memory.buffer;
  const i32 = new Int32Array(buf, 0, CONTROL_BYTES / 4);
  const claim = new BigInt64Array(buf, 0, 1);
  i32.set(params, PARAMS);
  new Float64Array(buf, 64, 1)[0] = alpha;
  pool.seq = (pool.seq + 1) >>> 0;
  Atomics.store(i32, DONE, 0);
  Atomics.store(claim, 0, (BigInt(pool.seq) << 32n) | (BigInt(count) << 16n));
  Atomics.add(i32, SEQ, 1);
  Atomics.notify(i32, SEQ);
  const t0 = performance.now();
  workPieces(i32, claim, (piece) => runPiece(run, mem, pool.base, pool.packAt, i32, piece));
  const t1 = performance.now();
  // Inside a dense routine the workers' last pieces end about when the main thread's did: poll
  // rather than sleep, for at most as long as the main thread worked (a worker that lost its core is waited for).
  if (pool.hot > 0) {
    const until = t1 + Math.min(HOT_POLL_MS, t1 - t0);
    while (Atomics.load(i32, DONE) < count && performance.now() < until);
  }
  for (;;) {
    const done = Atomics.load(i32, DONE);
    if (done >= count) break;
    Atomics.wait(i32, DONE, done, 5);
  }
  const waited = performance.now() - t1, own = t1 - t0;
  // Late: a wait longer than the main thread's own share and than LATE_MS (pieces of unequal size, as
  // the triangular layouts cut, make waits of up to one piece normal; a worker that lost its core costs a time slice).
  const late = waited > Math.max(own, LATE_MS);
  if (late) pool.lastLate = performance.now();
  if (probe === null) {
    if (late && pool.hot > 0) Atomics.store(i32, HOT, 0);
    return;
  }
  if (probe) pool.probeEvery = late ? Math.min(PROBE_EVERY_MAX, pool.probeEvery * 2) : PROBE_EVERY;
  if (late) {
    pool.minWork = Math.min(PARALLEL_MAX_THRESHOLD, Math.max(PARALLEL_MIN_WORK, pool.minWork) * 4);
    pool.goodStreak = 0;
    // The workers stop polling for the rest of a dense routine (see hotBurst).
    if (pool.hot > 0) Atomics.store(i32, HOT, 0);
  } else if (++pool.goodStreak >= GOOD_TO_LOWER) {
    pool.minWork = Math.max(PARALLEL_MIN_WORK, pool.minWork / 2);
    pool.goodStreak = 0;
  }
}

/**
 * Claims pieces of the published product until none is left, running each
 * with `work` and counting it done (the last one wakes the main thread).
 */
export function workPieces(i32: Int32Array, claim: BigInt64Array, work: (piece: number) => void): void {
  for (;;) {
    const w = Atomics.load(claim, 0);
    const next = Number(w & 0xffffn), count = Number((w >> 16n) & 0xffffn);
    if (next >= count) return;
    if (Atomics.compareExchange(claim, 0, w, w + 1n) !== w) continue;
    try {
      work(next);
    } finally {
      if (Atomics.add(i32, DONE, 1) + 1 === count) Atomics.notify(i32, DONE);
    }
  }
}

/** Runs piece `piece` of the product (or task: `task` finds it by id) described in the control block. */
export function runPiece(run: GemmRun, mem: Float64Array, base: number, pack: number, i32: Int32Array, piece: number, task: (id: number) => PoolTask = taskFunction): void {
  const [n, m, k, a, lda, b, ldb, c, ldc, layout, size, keep] = i32.subarray(PARAMS, PARAMS + 12);
  if (layout === TASK) {
    task(n)(mem, new Float64Array(i32.buffer, TASK_PARAMS_AT, TASK_PARAMS), piece);
    return;
  }
  const alpha = new Float64Array(i32.buffer, 64, 1)[0];
  if (layout === BY_ROWS || layout === BY_COLUMNS) {
    const s = piece * size;
    if (layout === BY_ROWS) {
      const rows = Math.min(size, n - s);
      gemmBlock(run, mem, base, pack, rows, m, k, a + s * lda, lda, b, ldb, c + s * ldc, ldc, alpha, keep === 0);
    } else {
      // The last strip also takes the m mod 4 fringe columns.
      const end = s + size >= (m & ~3) ? m : s + size;
      gemmBlock(run, mem, base, pack, n, end - s, k, a, lda, b + s, ldb, c + s, ldc, alpha, keep === 0);
    }
    return;
  }
  trianglePiece(layout as PieceLayout, size, piece, n, m, k, a, lda, b, ldb, c, ldc, (pn, pm, pk, pa, pb, pc) => gemmBlock(run, mem, base, pack, pn, pm, pk, pa, lda, pb, ldb, pc, ldc, alpha, keep === 0));
}

/** Piece `piece` of a triangular layout as one rectangular product: product(n, m, k, a, b, c) with the layout's strides. */
export function trianglePiece(
  layout: PieceLayout, size: number, piece: number, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
  product: (n: number, m: number, k: number, a: number, b: number, c: number) => void,
): void {
  const s = piece * size;
  if (layout === LOWER_B_BLOCKS) {
    product(n, Math.min(m, s + size) - s, k - s, a + s, b + s * ldb + s, c + s);
  } else {
    const e = Math.min(n, s + size);
    product(e - s, Math.min(m, e), k - s, a + s * lda + s, b + s * ldb, c + s * ldc);
  }
}
