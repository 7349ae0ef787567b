// f64 GEMM, C += alpha * A B, for the dense algebra of the variational
// step (products of [M, B] blocks with M x M factors): a WebAssembly SIMD
// kernel on register tiles of 4 rows x 4 columns (eight f64x2
// accumulators, so every loaded row piece of B serves four rows of A), each
// 4-column strip of B packed contiguously before use, k taken in chunks of
// KC; and a plain-JS kernel (one dot product per output) for small
// products, for the column fringe and where WebAssembly SIMD is missing.
//
// The WebAssembly kernel reads and writes one memory (the arena), shared
// with the GEMM worker threads (gemmPool.ts) that split large products
// between them: callers copy operands in with `arena(size)` (row strides
// from paddedStride for wide blocks), call `gemm` with element offsets and
// row strides, and copy results out. Each output sums its terms in order,
// one accumulator per KC-term chunk, whichever thread computes it, so results
// differ from a naive loop only by rounding.
//
// Memory layout: the pool's control block, one packing strip per thread,
// then the arena's f64s.

import { Code, F64, I32, Simd, V128, buildModule, uleb } from "../reductions/wasm/binary";
import { type GemmRun, PACK_BYTES, gemmBlock, gemmJs } from "./gemmBlock";
import { STEP_ROWS, substitutionStepModule } from "./substitutionStep";
import { rankOneMirrorStripModule } from "./rankOneMirrorStrip";
import { transposeStripModule } from "./transposeStrip";
import { backSubstitutionModule, forwardSubstitutionModule } from "./vectorSubstitution";
import {
  CONTROL_BYTES, type GemmPool, LOWER_B_BLOCKS, hotBurst, worthTask, PROBE_EVERY, type PieceLayout, TASK_PARAMS, UPPER_A_LOWER_C_PANELS, ensureWorkers, gemmThreadCount, parallelGemm,
  parallelTrianglePieces, runTaskPooled, taskFunction, trianglePieces, trianglePiece, workerStats,
} from "./gemmPool";

export { gemmJs };

/**
 * The arena grows to at most this many bytes and never shrinks (WebAssembly
 * memory cannot), so the cap bounds what it holds on to; larger products use
 * the JS kernel.
 */
const ARENA_MAX_BYTES = 256 * 2 ** 20;
/** Pages the shared memory may grow to (the arena cap plus the header). */
const MAX_PAGES = ARENA_MAX_BYTES / 65536 + 64;
/** Packing strips reserved: one per thread, at most this many threads. */
const MAX_THREADS = 64;
/** Below this many multiply-adds the copies cost more than the kernel saves. */
export const WASM_MIN_WORK = 1 << 15;

/** Instructions that binary.ts's Code does not name. */
class GemmCode extends Code {
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32RemU(): this {
    return this.op(0x70);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  /** v128.load at a constant byte offset from the address on the stack. */
  v128LoadAt(offset: number): this {
    return this.simd(Simd.load, 3, ...uleb(offset));
  }
  v128StoreAt(offset: number): this {
    return this.simd(Simd.store, 3, ...uleb(offset));
  }
}

/**
 * v128.load64_splat: one f64 loaded into both lanes. V8 emits one
 * instruction for it where f64.load + f64x2.splat are two; the k-loop is
 * bound by its loads, so this alone took the kernel from ~10 to ~12.5 G
 * multiply-adds per second on one thread (fused multiply-add through relaxed
 * SIMD was measured too, and bought nothing on top).
 */
const V128_LOAD64_SPLAT = 0x0a;
/** i32x4.splat (binary.ts's Simd does not name it). */
const I32X4_SPLAT = 0x11;

// Parameters of `run`: sizes in elements, addresses and row strides in bytes; keep = 1 adds to C,
// 0 overwrites it (C's old bits are masked to +0 first, so the result is what zeroing C would give).
const P = { n: 0, m: 1, k: 2, a: 3, lda: 4, b: 5, ldb: 6, c: 7, ldc: 8, alpha: 9, pack: 10, keep: 11 } as const;
const PARAM_COUNT = 12;
/** Rows per register tile: 2 * ROWS f64x2 accumulators plus the B pair and the splat fit the 16 vector registers. */
const ROWS = 4;

/**
 * run(n, m, k, a, lda, b, ldb, c, ldc, alpha, pack, keep): C[0:n, 0:m4] += alpha A B
 * (keep = 1) or := alpha A B (keep = 0: C's old bits masked to +0, never
 * read as numbers) with m4 = m rounded down to a multiple of 4 (the caller does the other
 * columns). Per strip of 4 columns, B[0:k, strip] is first copied to `pack`
 * (k * 32 bytes) when at least two row tiles will read it: B's rows are often
 * 2^k bytes apart, which maps a strided strip onto a few cache sets. Rows go R
 * at a time, then one at a time.
 */
function gemmModule(): Uint8Array {
  const R = ROWS;
  let next = PARAM_COUNT;
  const i = next++, j = next++, p = next++, pb = next++, pc = next++, n4 = next++, m4 = next++;
  const base = next++, stride = next++, src = next++, dst = next++;
  const pa = Array.from({ length: R }, () => next++);
  const i32Count = next - PARAM_COUNT;
  const acc = Array.from({ length: 2 * R }, () => next++);
  const b0 = next++, b1 = next++, av = next++, valpha = next++, keepMask = next++;
  const v128Count = next - PARAM_COUNT - i32Count;
  const c = new GemmCode();

  /** acc[2r], acc[2r+1] += splat(A row r at pa[r]) * (b0, b1) */
  const rowStep = (r: number) => {
    c.localGet(pa[r]).simd(V128_LOAD64_SPLAT, 3, 0).localSet(av);
    c.localGet(acc[2 * r]).localGet(av).localGet(b0).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(acc[2 * r]);
    c.localGet(acc[2 * r + 1]).localGet(av).localGet(b1).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(acc[2 * r + 1]);
    c.localGet(pa[r]).i32Const(8).i32Add().localSet(pa[r]);
  };
  /** The k-loop for `rows` rows starting at pa[0..rows-1], then C rows += alpha acc. */
  const tile = (rows: number) => {
    for (let r = 1; r < rows; r++) c.localGet(pa[r - 1]).localGet(P.lda).i32Add().localSet(pa[r]);
    c.localGet(base).localSet(pb);
    for (let r = 0; r < 2 * rows; r++) c.f64x2Const(0).localSet(acc[r]);
    c.localGet(P.k).localSet(p);
    c.loop();
    {
      c.localGet(pb).v128Load().localSet(b0);
      c.localGet(pb).v128LoadAt(16).localSet(b1);
      for (let r = 0; r < rows; r++) rowStep(r);
      c.localGet(pb).localGet(stride).i32Add().localSet(pb);
      c.localGet(p).i32Const(1).i32Sub().localTee(p).brIf(0);
    }
    c.end();
    c.localGet(P.c).localGet(i).localGet(P.ldc).i32Mul().i32Add().localGet(j).i32Const(8).i32Mul().i32Add().localSet(pc);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < 2; h++) {
        c.localGet(pc).localGet(pc).v128LoadAt(16 * h).localGet(keepMask).simd(Simd.v128And);
        c.localGet(acc[2 * r + h]).localGet(valpha).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).v128StoreAt(16 * h);
      }
      if (r + 1 < rows) c.localGet(pc).localGet(P.ldc).i32Add().localSet(pc);
    }
  };

  c.localGet(P.m).i32Const(-4).i32And().localSet(m4);
  // n4 = the rows covered by full R-row tiles.
  c.localGet(P.n).localGet(P.n).i32Const(R).i32RemU().i32Sub().localSet(n4);
  // Nothing to do without a full column group or with k = 0.
  c.block();
  c.localGet(m4).i32Eqz().localGet(P.k).i32Eqz().i32Or().brIf(0);
  c.localGet(P.alpha).f64x2Splat().localSet(valpha);
  // keepMask: all ones (keep = 1) or all zeros (keep = 0), as 0 - keep in every i32 lane.
  c.i32Const(0).localGet(P.keep).i32Sub().simd(I32X4_SPLAT).localSet(keepMask);
  c.i32Const(0).localSet(j);
  c.block().loop();
  {
    c.localGet(j).localGet(m4).i32GeU().brIf(1);
    // The strip's rows: packed when n >= 2R, else read in place.
    c.localGet(P.b).localGet(j).i32Const(8).i32Mul().i32Add().localSet(base);
    c.localGet(P.ldb).localSet(stride);
    c.block();
    {
      c.localGet(P.n).i32Const(2 * R).i32LtU().brIf(0); // n < 2R: no packing
      c.localGet(base).localSet(src);
      c.localGet(P.pack).localSet(dst);
      c.localGet(P.k).localSet(p);
      c.loop();
      c.localGet(dst).localGet(src).v128Load().v128Store();
      c.localGet(dst).localGet(src).v128LoadAt(16).v128StoreAt(16);
      c.localGet(src).localGet(P.ldb).i32Add().localSet(src);
      c.localGet(dst).i32Const(32).i32Add().localSet(dst);
      c.localGet(p).i32Const(1).i32Sub().localTee(p).brIf(0);
      c.end();
      c.localGet(P.pack).localSet(base);
      c.i32Const(32).localSet(stride);
    }
    c.end();
    c.i32Const(0).localSet(i);
    // Four rows at a time: the B panel [k, 4] stays in cache across them.
    c.block().loop();
    {
      c.localGet(i).localGet(n4).i32GeU().brIf(1);
      c.localGet(P.a).localGet(i).localGet(P.lda).i32Mul().i32Add().localSet(pa[0]);
      tile(R);
      c.localGet(i).i32Const(R).i32Add().localSet(i);
      c.br(0);
    }
    c.end().end();
    // The last n mod 4 rows one at a time.
    c.block().loop();
    {
      c.localGet(i).localGet(P.n).i32GeU().brIf(1);
      c.localGet(P.a).localGet(i).localGet(P.lda).i32Mul().i32Add().localSet(pa[0]);
      tile(1);
      c.localGet(i).i32Const(1).i32Add().localSet(i);
      c.br(0);
    }
    c.end().end();
    c.localGet(j).i32Const(4).i32Add().localSet(j);
    c.br(0);
  }
  c.end().end();
  c.end();
  return buildModule([I32, I32, I32, I32, I32, I32, I32, I32, I32, F64, I32, I32], [[i32Count, I32], [v128Count, V128]], c);
}

/** The parts of the WebAssembly global used here (Node has it; TypeScript's ES2022 lib does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
const wasmApi = (globalThis as unknown as {
  WebAssembly?: {
    Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

/**
 * The module with its memory import declared shared (limits flag 3, with
 * maximum), as worker threads need; buildModule declares a private one.
 */
function sharedMemoryModule(bytes: Uint8Array): Uint8Array {
  const plain = [0x02, 0x00, 1];
  const shared = [0x02, 0x03, 1, ...uleb(MAX_PAGES)];
  // The import section is the second section: id 2, size, count 1, "env", "mem", kind + limits.
  const at = 8 + 2 + bytes[9]; // after the header and the (short) type section
  if (bytes[8] !== 1 || bytes[9] > 127 || bytes[at] !== 2) throw new Error("unexpected module layout");
  const head = [1, 3, ...Array.from(new TextEncoder().encode("env")), 3, ...Array.from(new TextEncoder().encode("mem"))];
  const body = Array.from(bytes.subarray(at + 2, at + 2 + head.length + plain.length));
  if (bytes[at + 1] !== head.length + plain.length || body.join() !== [...head, ...plain].join()) throw new Error("unexpected import section layout");
  const section = [2, head.length + shared.length, ...head, ...shared];
  return Uint8Array.from([...bytes.subarray(0, at), ...section, ...bytes.subarray(at + 2 + head.length + plain.length)]);
}

/** A substitution step's entry (substitutionStep.ts): t, x, ld, tri, ldt, addresses and strides in bytes. */
type StepRun = (t: number, x: number, ld: number, tri: number, ldt: number) => void;
/** The strip transpose's entry (transposeStrip.ts): src, lds, dst, ldd, rows, cols, addresses and strides in bytes. */
type StripRun = (src: number, lds: number, dst: number, ldd: number, rows: number, cols: number) => void;
/** The rank-one mirror strip's entry (rankOneMirrorStrip.ts): c, ldc, i0, rows, cols, v, s, addresses and strides in bytes. */
type MirrorRun = (c: number, ldc: number, i0: number, rows: number, cols: number, v: number, s: number) => void;
/** A vector substitution's entry (vectorSubstitution.ts): n, l, ld, x, addresses and strides in bytes. */
type VectorRun = (n: number, l: number, ld: number, x: number) => void;

interface Kernel {
  memory: WasmMemory;
  run: GemmRun;
  /** The substitution steps for 1 .. STEP_ROWS rows. */
  steps: StepRun[];
  /** The strip transpose. */
  strip: StripRun;
  /** The rank-one mirror strip (main thread only; null on worker threads). */
  mirror: MirrorRun | null;
  /** The vector substitutions L x = b and L^T x = b (main thread only). */
  vector: { forward: VectorRun; backward: VectorRun } | null;
  /** Byte offset of arena element 0. */
  base: number;
  /** Byte offset of this thread's packing strip. */
  pack: number;
  /** The worker pool on the shared memory (null: private memory, one thread, or a worker thread). */
  pool: GemmPool | null;
}

let wasm: Kernel | null | undefined;
/** Counts arena() calls: a caller that left data in the arena knows it is still there while this is unchanged. */
let arenaGeneration = 0;

/** The number of arena() calls so far (see arenaGeneration). */
export function arenaCalls(): number {
  return arenaGeneration;
}
let view = new Float64Array(0);

/** The substitution steps for 1 .. STEP_ROWS rows on `memory` (`declare` makes a module's memory import match it). */
function stepRuns(declare: (bytes: Uint8Array) => Uint8Array, memory: WasmMemory): StepRun[] {
  const api = wasmApi!;
  return Array.from({ length: STEP_ROWS }, (_, r) => new api.Instance(new api.Module(declare(substitutionStepModule(r + 1))), { env: { mem: memory } }).exports.run as StepRun);
}

/** The module's `run` on `memory` (`declare` as for stepRuns). */
function instanceRun<F>(bytes: Uint8Array, declare: (bytes: Uint8Array) => Uint8Array, memory: WasmMemory): F {
  const api = wasmApi!;
  return new api.Instance(new api.Module(declare(bytes)), { env: { mem: memory } }).exports.run as F;
}
const stripRun = (declare: (bytes: Uint8Array) => Uint8Array, memory: WasmMemory) => instanceRun<StripRun>(transposeStripModule(), declare, memory);
const mirrorRun = (declare: (bytes: Uint8Array) => Uint8Array, memory: WasmMemory) => instanceRun<MirrorRun>(rankOneMirrorStripModule(), declare, memory);
const vectorRuns = (declare: (bytes: Uint8Array) => Uint8Array, memory: WasmMemory) => ({
  forward: instanceRun<VectorRun>(forwardSubstitutionModule(), declare, memory),
  backward: instanceRun<VectorRun>(backSubstitutionModule(), declare, memory),
});

/** The compiled kernel, or null where WebAssembly SIMD is unavailable. */
function kernel(): Kernel | null {
  if (wasm !== undefined) return wasm;
  if (!wasmApi || process.env.GPLAB_GEMM_WASM === "0") return (wasm = null);
  const threads = Math.min(MAX_THREADS, gemmThreadCount());
  // At least two packing strips, so that setGemmThreads(2) works on one core too (tests).
  const base = CONTROL_BYTES + Math.max(2, threads) * PACK_BYTES;
  try {
    const module = new wasmApi.Module(sharedMemoryModule(gemmModule()));
    const memory = new wasmApi.Memory({ initial: Math.ceil(base / 65536) + 1, maximum: MAX_PAGES, shared: true });
    const run = new wasmApi.Instance(module, { env: { mem: memory } }).exports.run as GemmRun;
    const steps = stepRuns((bytes) => sharedMemoryModule(bytes), memory);
    const strip = stripRun((bytes) => sharedMemoryModule(bytes), memory);
    const mirror = mirrorRun((bytes) => sharedMemoryModule(bytes), memory);
    const vector = vectorRuns((bytes) => sharedMemoryModule(bytes), memory);
    const pool: GemmPool = { memory, module, base, packAt: CONTROL_BYTES, packBytes: PACK_BYTES, threads, workers: [], seq: 0, minWork: 0, goodStreak: 0, heldBack: 0, probeEvery: PROBE_EVERY, hot: 0, lastLate: -Infinity };
    wasm = { memory, run, steps, strip, mirror, vector, base, pack: CONTROL_BYTES, pool };
  } catch {
    // No shared WebAssembly memory here: a private one, one thread.
    try {
      const memory = new wasmApi.Memory({ initial: Math.ceil(base / 65536) + 1 });
      const run = new wasmApi.Instance(new wasmApi.Module(gemmModule()), { env: { mem: memory } }).exports.run as GemmRun;
      wasm = { memory, run, steps: stepRuns((bytes) => bytes, memory), strip: stripRun((bytes) => bytes, memory), mirror: mirrorRun((bytes) => bytes, memory), vector: vectorRuns((bytes) => bytes, memory), base, pack: CONTROL_BYTES, pool: null };
    } catch {
      wasm = null;
    }
  }
  return wasm;
}

/**
 * Threads the GEMM may use (the main thread included); returns the previous
 * value. Also resets the adaptive threshold to its floor (and the probe interval, and the dense routines' cooldown). For comparing one
 * thread with many in tests and benchmarks.
 */
export function setGemmThreads(threads: number): number {
  const pool = kernel()?.pool;
  if (!pool) return 1;
  const before = pool.threads;
  pool.minWork = 0;
  pool.goodStreak = 0;
  pool.probeEvery = PROBE_EVERY;
  pool.lastLate = -Infinity;
  // At most one thread per packing strip reserved at start.
  pool.threads = Math.max(1, Math.min(Math.floor(threads), (pool.base - pool.packAt) / PACK_BYTES));
  return before;
}

/**
 * The GEMM's threads: how many it may use, how many worker threads are
 * running, how many pieces of products they have worked so far, and the
 * adaptive threshold (multiply-adds; 0 until a product waited for a worker).
 * `start` starts the workers now rather than at the first large product.
 */
export function gemmThreads(options: { start?: boolean } = {}): { threads: number; workersReady: number; workerPieces: number; threshold: number } {
  const pool = kernel()?.pool;
  if (!pool) return { threads: 1, workersReady: 0, workerPieces: 0, threshold: Infinity };
  if (options.start) ensureWorkers(pool);
  const s = workerStats(pool);
  return { threads: pool.threads, workersReady: s.ready, workerPieces: s.pieces, threshold: pool.minWork };
}

/**
 * Below this many multiply-adds a dense routine keeps all its products on
 * the calling thread: at n = 354 (a Cholesky of 7 M, an inverse of 15 M)
 * the split products and tasks cost about what the second thread saves
 * with polling workers (2.9-3.0 ms one way, 3.2-3.3 ms the other, at
 * real-time priority on the 2-core machine), and more with sleeping ones
 * (small-exact at n = 354 on a quiet machine: 4.4-5.1 ms per iteration with
 * two GEMM threads against 4.1-4.8 ms with one).
 */
const HOT_ROUTINE_MIN_WORK = 1 << 25;

/**
 * Runs a dense routine of about `work` multiply-adds that issues many
 * products in a row (a blocked Cholesky, an inverse): when it is large
 * enough, with the GEMM's worker threads polling between them, so that
 * products down to HOT_MIN_WORK multiply-adds and the routine's pool tasks
 * are split too; below that, on the calling thread alone. Results do not
 * change (pieces are cut the same way on any number of threads).
 */
export function denseRoutine<T>(work: number, routine: () => T): T {
  const pool = kernel()?.pool ?? null;
  if (work >= HOT_ROUTINE_MIN_WORK) return hotBurst(pool, routine);
  if (!pool) return routine();
  const busy = pool.busy;
  pool.busy = true; // worthThreads and runTask keep the products and tasks here
  try {
    return routine();
  } finally {
    pool.busy = busy;
  }
}

/** Inside denseRoutine: whether `work` multiply-adds of column or row pieces are worth a pool task (runTask) now. */
export function taskWorthThreads(mem: Float64Array, work: number): boolean {
  const w = wasm;
  return !!w?.pool && mem === view && mem.buffer === w.memory.buffer && worthTask(w.pool, work);
}

/**
 * A row stride (in f64s) for a matrix with `cols` columns in the arena: an odd
 * number of 64-byte cache lines, so that a column strip read across rows
 * spreads over all cache sets (a stride of 2^k bytes would map it onto a few).
 */
export function paddedStride(cols: number): number {
  const ld = Math.ceil(cols / 8) * 8;
  return ld % 16 === 0 ? ld + 8 : ld;
}

/** Copies a row-major [rows, cols] array into mem at off with row stride ld. */
export function putRows(mem: Float64Array, off: number, ld: number, data: Float64Array, rows: number, cols: number): void {
  if (ld === cols) mem.set(data.subarray(0, rows * cols), off);
  else for (let i = 0; i < rows; i++) mem.set(data.subarray(i * cols, (i + 1) * cols), off + i * ld);
}

/** A fresh row-major [rows, cols] copy of the block at off with row stride ld. */
export function takeRows(mem: Float64Array, off: number, ld: number, rows: number, cols: number): Float64Array {
  if (ld === cols) return mem.slice(off, off + rows * cols);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(mem.subarray(off + i * ld, off + i * ld + cols), i * cols);
  return out;
}

/** Whether `mem` is the arena's current view (what arena() returned, not since grown). */
export function isArena(mem: Float64Array): boolean {
  const w = wasm;
  return !!w && mem === view && mem.buffer === w.memory.buffer;
}

/** How to copy out the data a caller left in the arena (leaveInArena), until the next arena() call runs it. */
let tenant: ((mem: Float64Array) => void) | null = null;

/**
 * Leaves data in the arena for a later call of the same caller: the next
 * arena() call first runs `save(view)` (which copies it out), unless
 * reclaimArena(save) came before. Saves a copy out and back in when
 * nothing else uses the arena in between.
 */
export function leaveInArena(save: (mem: Float64Array) => void): void {
  moveTenantOut();
  tenant = save;
}

/** The arena view, still holding what `save`'s caller left there (and no longer guarded), or null when it was saved out. */
export function reclaimArena(save: (mem: Float64Array) => void): Float64Array | null {
  if (tenant !== save) return null;
  tenant = null;
  return view;
}

function moveTenantOut(): void {
  const save = tenant;
  tenant = null;
  save?.(view);
}

/**
 * The arena as f64s, at least `size` of them (contents kept across growth),
 * or null when the WebAssembly kernel is unavailable or `size` exceeds its
 * limit. The view is invalidated by the next call that grows it.
 */
export function arena(size: number): Float64Array | null {
  const k = kernel();
  if (!k) return null;
  moveTenantOut();
  arenaGeneration++;
  const bytes = k.base + size * 8;
  if (bytes > k.base + ARENA_MAX_BYTES) return null;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65536));
  // The view starts after the header; its length is whatever the memory holds.
  const buffer = k.memory.buffer;
  if (view.buffer !== buffer) view = new Float64Array(buffer, k.base);
  return view;
}

/**
 * On a GEMM worker thread: `gemm` on this thread's arena view runs `run` (this
 * thread's instance of the kernel) with its own packing strip, never the pool.
 */
export function bindThreadKernel(memory: WasmMemory | { buffer: ArrayBufferLike }, run: GemmRun, base: number, pack: number): void {
  const declare = (bytes: Uint8Array) => sharedMemoryModule(bytes);
  wasm = { memory: memory as WasmMemory, run, steps: stepRuns(declare, memory as WasmMemory), strip: stripRun(declare, memory as WasmMemory), mirror: null, vector: null, base, pack, pool: null };
  threadArena();
}

/** On a worker thread: the arena view, renewed when the main thread has grown the memory. */
export function threadArena(): Float64Array {
  const w = wasm;
  if (!w) throw new Error("threadArena: no GEMM kernel bound to this thread");
  if (view.buffer !== w.memory.buffer || w.base + view.length * 8 < w.memory.buffer.byteLength) view = new Float64Array(w.memory.buffer, w.base);
  return view;
}

/**
 * Runs pieces 0..count-1 of the pool task `id` (registered with poolTask)
 * with `params`: on every thread when `pooled`, `mem` is the arena and the
 * pool has more than one, else in order on this thread. A piece's GEMM calls
 * run on the thread that runs the piece.
 */
export function runTask(mem: Float64Array, id: number, params: number[] | Float64Array, count: number, pooled = true): void {
  if (params.length > TASK_PARAMS) throw new Error(`a pool task takes at most ${TASK_PARAMS} parameters, got ${params.length}`);
  const w = wasm;
  if (pooled && count > 1 && w?.pool && !w.pool.busy && w.pool.threads > 1 && mem === view && mem.buffer === w.memory.buffer) {
    runTaskPooled(w.pool, w.run, mem, id, params, count);
    return;
  }
  const fn = taskFunction(id), p = Float64Array.from(params);
  for (let piece = 0; piece < count; piece++) fn(mem, p, piece);
}

/**
 * C += alpha * A B on one Float64Array (offsets and row strides in elements),
 * or C := alpha A B with `overwrite` (C's old contents, even NaN, are never
 * read: the same bits as zeroing C first). shapes: A [n, k], B [k, m],
 * C [n, m]. `mem` must be the arena for the WebAssembly kernel (large
 * products then run on every thread); any other array takes the JS kernel.
 */
export function gemm(
  mem: Float64Array, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha = 1, overwrite = false,
): void {
  if (n <= 0 || m <= 0) return;
  if (k <= 0) {
    if (overwrite) for (let i = 0; i < n; i++) mem.fill(0, c + i * ldc, c + i * ldc + m);
    return;
  }
  const w = wasm;
  if (w && mem === view && mem.buffer === w.memory.buffer) {
    if (w.pool && parallelGemm(w.pool, w.run, mem, n, m, k, a, lda, b, ldb, c, ldc, alpha, overwrite)) return;
    gemmBlock(w.run, mem, w.base, w.pack, n, m, k, a, lda, b, ldb, c, ldc, alpha, overwrite);
    return;
  }
  gemmJs(mem, n, m, k, a, lda, b, ldb, c, ldc, alpha, 0, overwrite);
}

/**
 * One step of a blocked forward substitution (substitutionStep.ts) in the
 * arena: rows [0, rows) of X (rows <= STEP_ROWS), which have taken every
 * update from outside the step, := T^{-1} X for the rows x rows lower
 * triangle T at tri. Offsets and row strides in elements. False (nothing
 * done) when `mem` is not the arena (the caller then runs the JS loops).
 * shapes: T [rows, rows] at tri (row stride ldt), X [rows, t] at x (row stride ld)
 */
export function substitutionStep(mem: Float64Array, rows: number, t: number, tri: number, ldt: number, x: number, ld: number): boolean {
  const w = wasm;
  if (!w || mem !== view || mem.buffer !== w.memory.buffer || rows < 1 || rows > STEP_ROWS) return false;
  if (t > 0) w.steps[rows - 1](t, w.base + x * 8, ld * 8, w.base + tri * 8, ldt * 8);
  return true;
}

/**
 * dst[j, i] = src[i, j] for a [rows, cols] block, both in the arena, as one
 * WebAssembly call per strip of `stripRows` rows (transposeStrip.ts). False
 * (nothing done) when `mem` is not the arena (the caller then runs the JS
 * loop). Offsets and row strides in elements.
 * shapes: src [rows, cols] at s (row stride lds) -> dst [cols, rows] at d (row stride ldd)
 */
export function transposeInArena(mem: Float64Array, s: number, lds: number, d: number, ldd: number, rows: number, cols: number, stripRows: number): boolean {
  const w = wasm;
  if (!w || mem !== view || mem.buffer !== w.memory.buffer) return false;
  if (rows <= 0 || cols <= 0) return true;
  const b = w.base;
  for (let i0 = 0; i0 < rows; i0 += stripRows) {
    w.strip(b + (s + i0 * lds) * 8, lds * 8, b + (d + i0) * 8, ldd * 8, Math.min(stripRows, rows - i0), cols);
  }
  return true;
}

/**
 * W[a, b] = W[b, a] = s (v[a] v[b] - C[a, b]) for rows a in [i0, i0 + rows)
 * and columns b < cols (cols <= i0), over the lower triangle of C in the
 * arena in place (rankOneMirrorStrip.ts). False (nothing done) when `mem` is
 * not the arena or the kernel is unavailable on this thread. Offsets and
 * the row stride in elements; v at offset `v` of the arena.
 * shapes: C [n, n] at c (row stride ldc), v [n] at v
 */
export function rankOneMirrorInArena(mem: Float64Array, c: number, ldc: number, i0: number, rows: number, cols: number, v: number, s: number): boolean {
  const w = wasm;
  if (!w?.mirror || mem !== view || mem.buffer !== w.memory.buffer) return false;
  if (rows > 0 && cols > 0) w.mirror(w.base + c * 8, ldc * 8, i0, rows, cols, w.base + v * 8, s);
  return true;
}

/**
 * x := L^{-1} x, or L^{-T} x with `transposed`, for the n x n lower triangle L
 * and the vector x both in the arena (vectorSubstitution.ts: the same bits
 * as solveLower / solveLowerTransposed with one column). False (nothing
 * done) when `mem` is not the arena or the kernels are unavailable on this
 * thread. Offsets and the row stride in elements.
 * shapes: L [n, n] at l (row stride ld), x [n] at x
 */
export function substituteVectorInArena(mem: Float64Array, transposed: boolean, n: number, l: number, ld: number, x: number): boolean {
  const w = wasm;
  if (!w?.vector || mem !== view || mem.buffer !== w.memory.buffer) return false;
  if (n > 0) (transposed ? w.vector.backward : w.vector.forward)(n, w.base + l * 8, ld * 8, w.base + x * 8);
  return true;
}

/**
 * C += alpha A B for B lower triangular (B[p, j] = 0 for p < j): column
 * blocks of `nb` columns, block [s, e) with the terms p >= s only (about
 * half the multiply-adds of the full product), as one job on every thread
 * when large enough. The blocks are the same on any number of threads, so
 * results are bit-identical.
 * shapes: A [n, k], B [k, m] (k >= m), C [n, m]
 */
export function gemmLowerB(
  mem: Float64Array, nb: number, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha = 1, overwrite = false,
): void {
  gemmTriangle(LOWER_B_BLOCKS, mem, nb, n, m, k, a, lda, b, ldb, c, ldc, alpha, overwrite);
}

/**
 * The lower block triangle of C += alpha A B for A upper triangular
 * (A[i, p] = 0 for p < i): row panels of `nb` rows, panel [s, e) computing
 * columns [0, e) from the terms p >= s (about a third of the full product's
 * multiply-adds); the entries above the diagonal inside each panel are
 * computed too. One job on every thread when large enough; bit-identical
 * whatever the thread count.
 * shapes: A [n, k], B [k, m], C [n, m]
 */
export function gemmUpperALowerC(
  mem: Float64Array, nb: number, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha = 1, overwrite = false,
): void {
  gemmTriangle(UPPER_A_LOWER_C_PANELS, mem, nb, n, m, k, a, lda, b, ldb, c, ldc, alpha, overwrite);
}

/** `overwrite`: every piece writes its block of C (C := instead of +=; the pieces cover the layout's C). */
function gemmTriangle(
  layout: PieceLayout, mem: Float64Array, nb: number, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, overwrite: boolean,
): void {
  if (n <= 0 || m <= 0 || (k <= 0 && !overwrite)) return;
  const w = wasm;
  if (k > 0 && w?.pool && mem === view && mem.buffer === w.memory.buffer && parallelTrianglePieces(w.pool, w.run, mem, layout, nb, n, m, k, a, lda, b, ldb, c, ldc, alpha, overwrite)) return;
  const { count } = trianglePieces(layout, nb, n, m, k);
  for (let piece = 0; piece < count; piece++) {
    trianglePiece(layout, nb, piece, n, m, k, a, lda, b, ldb, c, ldc, (pn, pm, pk, pa, pb, pc) => gemm(mem, pn, pm, pk, pa, lda, pb, ldb, pc, ldc, alpha, overwrite));
  }
}
