// The fused CPU executor: runs generated loops over row tiles, on the main
// thread and a pool of worker threads sharing memory. Synchronous from the
// caller's point of view (the main thread works its share, then waits with
// Atomics.wait), so LinearOperator.matmul can stay synchronous.

import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { threadCount } from "../backend/backend";
import { GPLabError } from "../errors";
import { type FusedFunction, type FusedKind, compileFused, generateFused } from "./fusedCodegen";
import { type Formula, packParams } from "./formula";
import { checkInterrupt, interruptFlag, interruptRequested } from "./interrupt";
import { TileSchedule } from "./tileSchedule";

/** Pairs per tile: a few milliseconds of work, so interrupts land quickly. */
const TILE_PAIRS = 1 << 19;
/**
 * Below this many pairs, threads cost more than they save. (SVGP's K_ZZ at
 * M = 256, 65k pairs, measured in the step at 2^14: its rows 0.26 -> 0.6 ms,
 * its gradient pass 0.28 -> 0.3 ms on two threads.)
 */
const PARALLEL_MIN_PAIRS = 1 << 18;
/**
 * Tiles per thread at least, when threads run: a reduction just above
 * PARALLEL_MIN_PAIRS (the SVGP step's K_Zx, 256 x 1,024) would otherwise be
 * one tile, all of it on the main thread while the worker waits (measured,
 * rows 0.46 -> 0.32 ms, the gradient pass 0.7 -> 0.52 ms at 2 threads).
 */
const MIN_TILES_PER_THREAD = 2;

export function sharedF64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, length) * 8), 0, length);
}

export function sharedI32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4), 0, length);
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/**
 * Reused shared buffers, one per role ("OUT", "in:V", ...), grown when too
 * small. Fresh SharedArrayBuffers per call would pile up: an idle worker
 * thread that saw one keeps it alive until that worker happens to collect
 * garbage, which can take many jobs (measured: six 800 MB outputs in a row
 * left 4.8 GB resident).
 */
const scratch = new Map<string, SharedArrayBuffer>();
/** Larger buffers (a toDense of a big matrix) are not kept for reuse: they would stay resident. */
const MAX_SCRATCH_BYTES = 256 * 2 ** 20;

function scratchBuffer(role: string, bytes: number): SharedArrayBuffer {
  if (bytes > MAX_SCRATCH_BYTES) return new SharedArrayBuffer(bytes);
  let buf = scratch.get(role);
  if (!buf || buf.byteLength < bytes) {
    buf = new SharedArrayBuffer(Math.max(8, bytes));
    scratch.set(role, buf);
  }
  return buf;
}

function toSharedF64(a: Float64Array, role: string): Float64Array {
  if (isShared(a)) return a;
  const s = new Float64Array(scratchBuffer(role, a.length * 8), 0, a.length);
  s.set(a);
  return s;
}

function toSharedI32(a: Int32Array, role: string): Int32Array {
  if (isShared(a)) return a;
  const s = new Int32Array(scratchBuffer(role, a.length * 4), 0, a.length);
  s.set(a);
  return s;
}

/**
 * Control block of a job (Int32Array on shared memory): [next tile, workers
 * done, cancel, failed, helpers, -, -, -, then one join slot per helper].
 * A helper joins by moving its slot 0 -> JOINED when its message arrives;
 * the main thread, done with its own tiles, closes the slots still at 0
 * (0 -> CLOSED): those helpers skip the job, and the main thread runs
 * their tiles itself (round-robin schedules: the same tiles, in the same
 * order, into the same per-thread accumulator, so the result is the same
 * bit for bit). A helper woken late (a busy machine: measured 0.2-0.5 ms
 * and more at load 5 on 2 cores) then costs nothing instead of its share
 * plus the wait.
 */
export const JOIN_SLOTS = 8;
export const JOINED = 1, CLOSED = 2;

let lateHelpers = 0;
/** How many helpers, over the process so far, were closed out of a job they had not started (their tiles run by the main thread). */
export function lateHelperCount(): number {
  return lateHelpers;
}

class WorkerPool {
  private workers: Worker[] = [];
  private pendingControl: Int32Array | null = null;
  /**
   * Keys of the sources each worker has compiled: a job sends its source
   * (tens of KB of WebAssembly in base64) only to workers that lack it, since
   * structured-cloning it into every message cost ~1 ms per reduction.
   */
  private known = new WeakMap<Worker, Set<string>>();

  size(): number {
    return this.workers.length;
  }

  ensure(count: number): void {
    while (this.workers.length < count) {
      const w = new Worker(path.join(__dirname, "fusedWorker.js"), { workerData: { interruptFlag } });
      w.unref();
      w.on("error", (err) => {
        // A crashed worker is dropped; the next job starts a fresh one.
        this.workers = this.workers.filter((x) => x !== w);
        process.emitWarning(`gplab fused worker failed: ${err.message}`);
      });
      this.workers.push(w);
    }
  }

  /** If an earlier job was abandoned (e.g. a terminated cell), cancel it and wait. */
  drainAbandoned(): void {
    const ctl = this.pendingControl;
    if (!ctl) return;
    Atomics.store(ctl, 2, 1);
    let expected = 0;
    for (let h = 0; h < ctl[4]; h++) if (Atomics.compareExchange(ctl, JOIN_SLOTS + h, 0, CLOSED) === JOINED) expected++;
    while (Atomics.load(ctl, 1) < expected) Atomics.wait(ctl, 1, Atomics.load(ctl, 1), 20);
    this.pendingControl = null;
  }

  run(job: {
    key: string;
    source: string;
    /** Worker threads to use besides the main thread. */
    helpers: number;
    args: Record<string, unknown>;
    perThreadOut: string | null;
    perThreadSize: number;
    tileRows: number;
    totalRows: number;
    mainFn: FusedFunction;
    mainArgs: Record<string, unknown>;
  }): void {
    this.drainAbandoned();
    const control = new Int32Array(new SharedArrayBuffer(4 * (JOIN_SLOTS + Math.max(1, job.helpers))));
    const errorText = new Uint8Array(new SharedArrayBuffer(2048));
    const helpers = Math.min(job.helpers, this.workers.length);
    control[4] = helpers;
    this.pendingControl = control;
    // The stride counts the threads that really run (a crashed worker is not replaced until the next job).
    const tileStride = job.perThreadOut ? helpers + 1 : 0;
    this.workers.slice(0, helpers).forEach((w, idx) => {
      let known = this.known.get(w);
      if (!known) this.known.set(w, (known = new Set()));
      const source = known.has(job.key) ? null : job.source;
      known.add(job.key);
      w.postMessage({ ...job, source, mainFn: undefined, mainArgs: undefined, control, errorText, threadIndex: idx + 1, tileStride });
    });
    const numTiles = Math.ceil(job.totalRows / job.tileRows);
    const schedule = new TileSchedule(control, 0, tileStride);
    let mainError: unknown = null;
    try {
      for (;;) {
        if (interruptRequested()) break;
        const tile = schedule.next();
        if (tile >= numTiles) break;
        const r0 = tile * job.tileRows;
        job.mainFn(r0, Math.min(job.totalRows, r0 + job.tileRows), job.mainArgs);
      }
      job.mainFn.finish?.(job.mainArgs);
    } catch (err) {
      mainError = err;
      Atomics.store(control, 2, 1);
    }
    // Helpers not started yet skip the job; their round-robin tiles are the main thread's.
    let joined = 0;
    const late: number[] = [];
    for (let h = 0; h < helpers; h++) {
      if (Atomics.compareExchange(control, JOIN_SLOTS + h, 0, CLOSED) === 0) late.push(h + 1);
      else joined++;
    }
    lateHelpers += late.length;
    if (tileStride > 0 && late.length > 0 && !mainError) {
      try {
        for (const t of late) {
          const args = { ...job.args, [job.perThreadOut as string]: (job.args[job.perThreadOut as string] as Float64Array).subarray(t * job.perThreadSize, (t + 1) * job.perThreadSize) };
          for (let tile = t; tile < numTiles && !interruptRequested(); tile += tileStride) {
            const r0 = tile * job.tileRows;
            job.mainFn(r0, Math.min(job.totalRows, r0 + job.tileRows), args);
          }
          job.mainFn.finish?.(args);
        }
      } catch (err) {
        mainError = err;
        Atomics.store(control, 2, 1);
      }
    }
    // Short waits keep the main thread interruptible (vm breakOnSigint, interrupt flag).
    for (;;) {
      const done = Atomics.load(control, 1);
      if (done >= joined) break;
      if (interruptRequested()) Atomics.store(control, 2, 1);
      Atomics.wait(control, 1, done, 20);
    }
    this.pendingControl = null;
    if (mainError) throw mainError;
    if (Atomics.load(control, 3) !== 0) {
      const text = new TextDecoder().decode(errorText.slice()).replace(/\0+$/, "");
      throw new GPLabError(`a fused reduction worker failed: ${text}`);
    }
  }
}

const pool = new WorkerPool();

export interface FusedOptions {
  /** Threads to use (default: GPLAB_THREADS or every core). */
  threads?: number;
  /** What the reduction is for, named in an interrupt message. */
  where?: string;
  /**
   * Where to write a row-writing reduction's output (length >= outLength),
   * instead of a fresh array: callers that need it only briefly reuse one
   * (a fresh n x n array costs its page faults every time). On shared
   * memory (sharedF64) the threads write it directly.
   */
  out?: Float64Array;
}

export interface FusedResult {
  out: Float64Array;
  threads: number;
  tiles: number;
  code: "wasm-simd" | "js";
}

/**
 * Runs one reduction. `extra` holds the kind's own arrays (V, RI, CI, U, W, M)
 * and sizes (T); the formula's arrays are added here.
 */
export function runFused(
  formula: Formula,
  kind: FusedKind,
  extra: Record<string, unknown>,
  shape: { totalRows: number; pairsPerRow: number; outLength: number; perThreadAccumulator: boolean; rowMultiple?: number; maxTileRows?: number },
  options: FusedOptions = {},
): FusedResult {
  const where = options.where ?? `${kind} of ${formula.name}`;
  checkInterrupt(where);
  const rhsCount = typeof extra.T === "number" ? extra.T : 1;
  const gen = generateFused(formula, kind, rhsCount);
  const fn = compileFused(gen);
  const totalPairs = shape.totalRows * shape.pairsPerRow;
  const wanted = Math.max(1, Math.floor(options.threads ?? threadCount()));
  const threads = totalPairs >= PARALLEL_MIN_PAIRS && shape.totalRows > 1 ? Math.min(wanted, shape.totalRows) : 1;
  const multiple = shape.rowMultiple ?? 1;
  const split = threads > 1 ? Math.ceil(shape.totalRows / (MIN_TILES_PER_THREAD * threads) / multiple) * multiple : Infinity;
  const tileRows = Math.max(multiple, Math.min(shape.totalRows, shape.maxTileRows ?? Infinity, split, Math.floor(TILE_PAIRS / Math.max(1, shape.pairsPerRow) / multiple) * multiple));
  const tiles = Math.ceil(shape.totalRows / tileRows);

  const base: Record<string, unknown> = { P: packParams(formula), m: formula.m, tileRows, ...extra };
  formula.factors.forEach((f, fi) => {
    base[`X${fi}`] = f.x;
    base[`Y${fi}`] = f.y;
    if (f.table) base[`TB${fi}`] = f.table;
  });

  const given = !shape.perThreadAccumulator && options.out ? options.out.subarray(0, shape.outLength) : null;
  if (threads === 1) {
    const out = given ?? new Float64Array(shape.outLength);
    const args = { ...base, [shape.perThreadAccumulator ? "ACC" : "OUT"]: out };
    for (let t = 0; t < tiles; t++) {
      checkInterrupt(where);
      const r0 = t * tileRows;
      fn(r0, Math.min(shape.totalRows, r0 + tileRows), args);
    }
    fn.finish?.(args);
    return { out, threads: 1, tiles, code: gen.code };
  }

  // Shared memory for everything the workers read or write.
  const shared: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v instanceof Float64Array) shared[k] = toSharedF64(v, `in:${k}`);
    else if (v instanceof Int32Array) shared[k] = toSharedI32(v, `in:${k}`);
    else shared[k] = v;
  }
  const accName = shape.perThreadAccumulator ? "ACC" : "OUT";
  const outLength = shape.perThreadAccumulator ? shape.outLength * threads : shape.outLength;
  // A given shared output is written in place (no copy of the n x n result).
  const direct = given !== null && isShared(given);
  const outAll = direct ? given : new Float64Array(scratchBuffer("out", outLength * 8), 0, outLength);
  if (shape.perThreadAccumulator) outAll.fill(0);
  shared[accName] = outAll;
  pool.ensure(threads - 1);
  const mainArgs = { ...shared, [accName]: shape.perThreadAccumulator ? outAll.subarray(0, shape.outLength) : outAll };
  pool.run({
    key: gen.key,
    source: gen.source,
    helpers: threads - 1,
    args: shared,
    perThreadOut: shape.perThreadAccumulator ? accName : null,
    perThreadSize: shape.outLength,
    tileRows,
    totalRows: shape.totalRows,
    mainFn: fn,
    mainArgs,
  });
  checkInterrupt(where);
  // A reused scratch buffer must not be handed out: copy (large ones are fresh and returned as they are).
  if (!shape.perThreadAccumulator) {
    if (given) {
      if (!direct) given.set(outAll);
      return { out: given, threads, tiles, code: gen.code };
    }
    return { out: outLength * 8 > MAX_SCRATCH_BYTES ? outAll : outAll.slice(), threads, tiles, code: gen.code };
  }
  const summed = new Float64Array(shape.outLength);
  for (let t = 0; t < threads; t++) {
    for (let s = 0; s < shape.outLength; s++) summed[s] += outAll[t * shape.outLength + s];
  }
  return { out: summed, threads, tiles, code: gen.code };
}
