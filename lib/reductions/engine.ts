// The reduction engine's front door: one call per reduction kind, the
// executor picked from the backend (or forced per call), and a report of what
// ran. Nothing here allocates n x m unless the caller asked for those entries.

import * as tf from "@tensorflow/tfjs-core";
import { type ExecutorName, defaultExecutor } from "../backend/backend";
import { ArgumentError, ShapeError } from "../errors";
import { type Formula, gradientLayout, rowGradientLayout, validateFormula } from "./formula";
import { transposeLower } from "../algorithms/transpose";
import { runFused, sharedF64 } from "./fusedExecutor";
import { tfjsBilinear, tfjsBlock, tfjsEntries, tfjsMatmul } from "./tfjsExecutor";
import { wgslIneligibility } from "./webgpu/formulaPlan";
import { wgslBilinear, wgslColumnBlockSums, wgslEntries, wgslMatmul, wgslRows } from "./webgpu/formulaRun";
import { webgpuMatmulEligible } from "./webgpu/stationaryPlan";
import { webgpuMatmulSync } from "./webgpu/syncBridge";
import { SYMMETRIC_ROW_MULTIPLE, WASM_MAX_RHS, wasmBilinearEligible, wasmFormulaEligible, wasmMatmulEligible } from "./wasm/wasmSource";

/** Per-operator settings of the reduction engine (`{ reduction: ... }` on kernel calls and operators). */
export interface ReductionOptions {
  /** Force an executor; default: "webgpu" on the webgpu backend, "tfjs" with tfjs-node-gpu, else "fused". */
  executor?: ExecutorName;
  /** Fused executor threads (default: GPLAB_THREADS or all cores). */
  threads?: number;
  /** tfjs executor: bytes per tile (default 64 MiB). */
  tileBytes?: number;
  /**
   * The formula is K(x, x) (x and y features equal): K @ V may evaluate each
   * pair once. Set by kernel operators built on one input.
   */
  symmetric?: boolean;
}

/** What one reduction ran on, as `gp.reductions.lastReport()` and `onReport` give it. */
export interface ReductionReport {
  /** K @ V, whole rows, index pairs (diagonals) or the bilinear derivative pass. */
  operation: "matmul" | "rows" | "entries" | "bilinear";
  /** The formula's name, e.g. "Scale(RBF)". */
  formula: string;
  /** The executor that ran it. */
  executor: ExecutorName;
  /** The tfjs backend active at the time. */
  backend: string;
  /** Rows of the kernel matrix. */
  n: number;
  /** Columns of the kernel matrix. */
  m: number;
  /** Right-hand sides (matmul) or weight rank (bilinear). */
  t: number;
  /** Kernel pairs evaluated. */
  pairs: number;
  /** Wall time. */
  seconds: number;
  /** Worker threads used (fused executor; 1 otherwise). */
  threads: number;
  /** WebAssembly SIMD kernel or generated JavaScript (fused executor); WGSL kernel (WebGPU backend). */
  code?: "wasm-simd" | "js" | "wgsl";
}

let last: ReductionReport | null = null;
const listeners = new Set<(r: ReductionReport) => void>();

/** What the most recent reduction ran on (executor, backend, pairs, time). */
export function lastReport(): ReductionReport | null {
  return last;
}

/** Subscribe to every reduction's report; returns an unsubscribe function. */
export function onReport(listener: (r: ReductionReport) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function record(r: Omit<ReductionReport, "backend">): void {
  last = { ...r, backend: tf.getBackend() };
  for (const l of listeners) l(last);
}

function pick(options: ReductionOptions): ExecutorName {
  const executor = options.executor ?? defaultExecutor();
  if (executor === "webgpu" && tf.getBackend() !== "webgpu") {
    throw new ArgumentError('the "webgpu" executor needs the webgpu backend: await gp.backend.use("webgpu") first, or use "fused"');
  }
  return executor;
}

/**
 * Tiles of a symmetric K(x, x) reduction: row counts a multiple of the
 * kernels' column step. The dense-weight gradient pass (n <= a few
 * thousand) also caps them at 32 rows, so its diagonal blocks (each
 * evaluated in full) stay a small share of the pairs (measured, one
 * thread, Scale(RBF) ARD d = 10: n = 354 0.80 -> 0.74 ms, n = 800 3.6 ->
 * 3.4 ms against 64 rows) and two threads get tiles of similar cost.
 */
const SYMMETRIC_TILES = { rowMultiple: SYMMETRIC_ROW_MULTIPLE };
const SYMMETRIC_DENSE_TILES = { ...SYMMETRIC_TILES, maxTileRows: 2 * SYMMETRIC_ROW_MULTIPLE };

/**
 * The executor for a reduction: under "webgpu", WGSL when the formula has it
 * (formulaPlan.wgslIneligibility), else the fused CPU loops.
 */
function pickFor(options: ReductionOptions, formula: Formula, kind: Parameters<typeof wgslIneligibility>[1], rank = 0): ExecutorName {
  const executor = pick(options);
  if (executor !== "webgpu") return executor;
  return wgslIneligibility(formula, kind, rank) === null ? "webgpu" : "fused";
}

/** K @ V. V shape: [m, T] row-major; returns [n, T]. */
export function pairwiseMatmul(formula: Formula, V: Float64Array, T: number, options: ReductionOptions = {}): Float64Array {
  validateFormula(formula);
  if (V.length !== formula.m * T) {
    throw new ShapeError(`K @ V: K is ${formula.n} x ${formula.m} but V has ${V.length / T} rows (expected ${formula.m})`);
  }
  const requested = pick(options);
  if (requested !== "tfjs" && T > WASM_MAX_RHS && wasmMatmulEligible(formula, WASM_MAX_RHS)) return matmulInChunks(formula, V, T, options);
  // Under webgpu: the tuned kernel for a single stationary formula, the generated one for the others with WGSL, else the CPU loops.
  const stationary = requested === "webgpu" && webgpuMatmulEligible(formula, T);
  const executor: ExecutorName = requested === "webgpu" && !stationary ? pickFor(options, formula, "matmul") : requested;
  const start = performance.now();
  let out: Float64Array;
  let threads = 1;
  let code: ReductionReport["code"];
  if (stationary) {
    out = webgpuMatmulSync(formula, V, T);
    code = "wgsl";
  } else if (executor === "webgpu") {
    out = wgslMatmul(formula, V, T);
    code = "wgsl";
  } else if (executor === "tfjs") out = tfjsMatmul(formula, V, T, options);
  else {
    const symmetric = options.symmetric === true && formula.n === formula.m && wasmMatmulEligible(formula, T);
    const r = symmetric
      ? runFused(formula, "matmulSymmetric", { V, T, SYMMETRIC: true }, { totalRows: formula.n, pairsPerRow: formula.m, outLength: formula.n * T, perThreadAccumulator: true, ...SYMMETRIC_TILES }, options)
      : runFused(formula, "matmul", { V, T }, { totalRows: formula.n, pairsPerRow: formula.m, outLength: formula.n * T, perThreadAccumulator: false }, options);
    out = r.out;
    threads = r.threads;
    code = r.code;
  }
  record({ operation: "matmul", formula: formula.name, executor, n: formula.n, m: formula.m, t: T, pairs: formula.n * formula.m, seconds: (performance.now() - start) / 1000, threads, code });
  return out;
}

/**
 * K @ V with more right-hand sides than the WebAssembly kernel unrolls:
 * column chunks of WASM_MAX_RHS through the SIMD kernel beat one pass of the
 * generated JavaScript loop.
 */
function matmulInChunks(formula: Formula, V: Float64Array, T: number, options: ReductionOptions): Float64Array {
  const out = new Float64Array(formula.n * T);
  for (let c0 = 0; c0 < T; c0 += WASM_MAX_RHS) {
    const w = Math.min(WASM_MAX_RHS, T - c0);
    const chunk = new Float64Array(formula.m * w);
    for (let j = 0; j < formula.m; j++) for (let t = 0; t < w; t++) chunk[j * w + t] = V[j * T + c0 + t];
    const part = pairwiseMatmul(formula, chunk, w, options);
    for (let i = 0; i < formula.n; i++) for (let t = 0; t < w; t++) out[i * T + c0 + t] = part[i * w + t];
  }
  return out;
}

/**
 * Tiles of a whole symmetric K(x, x) evaluated as its lower triangle: a
 * tile of rows [r0, r1) evaluates columns [0, r1) (rounded up to the
 * kernels' column step), so short tiles keep the wasted part of each
 * diagonal block small and leave every thread several tiles.
 */
const LOWER_ROWS_TILE = 32;

/** True when rowIdx is 0, 1, ..., n - 1. */
function isAllRowsInOrder(rowIdx: Int32Array, n: number): boolean {
  if (rowIdx.length !== n) return false;
  for (let i = 0; i < n; i++) if (rowIdx[i] !== i) return false;
  return true;
}

/** Where and how much of the rows `pairwiseRows` writes. */
export interface RowsTarget {
  /** Written here (length >= rows x m) instead of a fresh array (fused executor). */
  out?: Float64Array;
  /**
   * All rows of a symmetric K(x, x): only the lower triangle (and the
   * diagonal) is needed, the rest is left unspecified.
   */
  lowerOnly?: boolean;
}

/**
 * Rows of K: OUT[a, j] = k(x_rowIdx[a], y_j). shape: [rowIdx.length, m]
 * All rows of a symmetric K(x, x) on the fused executor evaluate the lower
 * triangle only and mirror it (half the pairs; K(x, x) is symmetric by
 * construction: a full pass differs above the diagonal by rounding only).
 */
export function pairwiseRows(formula: Formula, rowIdx: Int32Array, options: ReductionOptions = {}, target: RowsTarget = {}): Float64Array {
  validateFormula(formula);
  checkIndices(rowIdx, formula.n, "row");
  const executor = pickFor(options, formula, "rows");
  const start = performance.now();
  let out: Float64Array;
  let threads = 1;
  let code: ReductionReport["code"];
  let pairs = rowIdx.length * formula.m;
  if (executor === "fused" && options.symmetric === true && formula.n === formula.m && isAllRowsInOrder(rowIdx, formula.n)) {
    const n = formula.n;
    // LOWER: the WebAssembly runtime stops each tile at its last row's column (generated JS computes whole rows; the mirror is the same).
    const r = runFused(formula, "block", { RI: rowIdx, LOWER: true }, { totalRows: n, pairsPerRow: Math.ceil(n / 2), outLength: n * n, perThreadAccumulator: false, maxTileRows: LOWER_ROWS_TILE }, { ...options, out: target.out });
    out = r.out;
    if (!target.lowerOnly) transposeLower(out, 0, n, out, 0, n, n);
    threads = r.threads;
    code = r.code;
    pairs = (n * (n + 1)) / 2;
  } else if (executor === "webgpu") {
    out = wgslRows(formula, rowIdx);
    code = "wgsl";
  } else if (executor === "tfjs") out = tfjsBlock(formula, rowIdx, options);
  else {
    const r = runFused(formula, "block", { RI: rowIdx }, { totalRows: rowIdx.length, pairsPerRow: formula.m, outLength: rowIdx.length * formula.m, perThreadAccumulator: false }, { ...options, out: target.out });
    out = r.out;
    threads = r.threads;
    code = r.code;
  }
  if (target.out && out.buffer !== target.out.buffer) {
    target.out.set(out);
    out = target.out.subarray(0, out.length);
  }
  record({ operation: "rows", formula: formula.name, executor, n: rowIdx.length, m: formula.m, t: 0, pairs, seconds: (performance.now() - start) / 1000, threads, code });
  return out;
}

/**
 * Sums of each row over contiguous column blocks: OUT[i, c] = sum of
 * k(x_i, y_j) for colStarts[c] <= j < colStarts[c + 1]. Equals K @ B with B
 * the block indicators, at the cost of one multiply-add per pair instead of
 * one per block. shape: [n, colStarts.length - 1]
 */
export function pairwiseColumnBlockSums(formula: Formula, colStarts: Int32Array, options: ReductionOptions = {}): Float64Array {
  validateFormula(formula);
  const bc = colStarts.length - 1;
  if (bc < 1 || colStarts[0] !== 0 || colStarts[bc] !== formula.m || colStarts.some((v, i) => i > 0 && v < colStarts[i - 1])) {
    throw new ShapeError(`column blocks must be nondecreasing starts from 0 to ${formula.m}`);
  }
  const executor = pickFor(options, formula, "blockSums");
  const start = performance.now();
  let out: Float64Array;
  let threads = 1;
  let code: ReductionReport["code"];
  if (executor === "webgpu") {
    out = wgslColumnBlockSums(formula, colStarts);
    code = "wgsl";
  } else if (executor === "tfjs") {
    const B = new Float64Array(formula.m * bc);
    for (let c = 0; c < bc; c++) for (let j = colStarts[c]; j < colStarts[c + 1]; j++) B[j * bc + c] = 1;
    out = tfjsMatmul(formula, B, bc, options);
  } else {
    const r = runFused(formula, "blockSums", { CS: colStarts, BC: bc }, { totalRows: formula.n, pairsPerRow: formula.m, outLength: formula.n * bc, perThreadAccumulator: false }, options);
    out = r.out;
    threads = r.threads;
    code = r.code;
  }
  record({ operation: "matmul", formula: formula.name, executor, n: formula.n, m: formula.m, t: bc, pairs: formula.n * formula.m, seconds: (performance.now() - start) / 1000, threads, code });
  return out;
}

/** Entries k(x_rowIdx[p], y_colIdx[p]); the diagonal is rowIdx = colIdx = 0..n-1. */
export function pairwiseEntries(formula: Formula, rowIdx: Int32Array, colIdx: Int32Array, options: ReductionOptions = {}): Float64Array {
  validateFormula(formula);
  if (rowIdx.length !== colIdx.length) {
    throw new ShapeError(`entries: ${rowIdx.length} row indices but ${colIdx.length} column indices; pass one of each per entry`);
  }
  checkIndices(rowIdx, formula.n, "row");
  checkIndices(colIdx, formula.m, "column");
  const executor = pickFor(options, formula, "entries");
  const start = performance.now();
  let out: Float64Array;
  let threads = 1;
  let code: ReductionReport["code"];
  if (executor === "webgpu") {
    out = wgslEntries(formula, rowIdx, colIdx);
    code = "wgsl";
  } else if (executor === "tfjs") out = tfjsEntries(formula, rowIdx, colIdx);
  else {
    const r = runFused(formula, "entries", { RI: rowIdx, CI: colIdx }, { totalRows: rowIdx.length, pairsPerRow: 1, outLength: rowIdx.length, perThreadAccumulator: false }, options);
    out = r.out;
    threads = r.threads;
    code = r.code;
  }
  record({ operation: "entries", formula: formula.name, executor, n: rowIdx.length, m: 1, t: 0, pairs: rowIdx.length, seconds: (performance.now() - start) / 1000, threads, code });
  return out;
}

export type BilinearWeights =
  /**
   * M [n, m] row-major. `symmetric`: M equals its transpose exactly, so the
   * K(x, x) pass reads M_ij + M_ji as 2 M_ij from rows, not columns.
   */
  | { kind: "dense"; M: Float64Array; symmetric?: boolean }
  /** M = U W^T with U [n, T], W [m, T]: probe vectors, never forming M. */
  | { kind: "lowRank"; U: Float64Array; W: Float64Array; T: number };

/**
 * Derivative accumulators of sum_ij M_ij k(x_i, y_j; theta), laid out by
 * gradientLayout(formula). Gradients of an MLL without an n x m buffer when
 * the weights are low rank.
 */
export function pairwiseBilinear(formula: Formula, weights: BilinearWeights, options: ReductionOptions = {}): Float64Array {
  validateFormula(formula);
  const layout = gradientLayout(formula);
  if (weights.kind === "dense" && weights.M.length !== formula.n * formula.m) {
    throw new ShapeError(`bilinear derivative: weights have ${weights.M.length} entries, expected ${formula.n} x ${formula.m}`);
  }
  if (weights.kind === "lowRank" && (weights.U.length !== formula.n * weights.T || weights.W.length !== formula.m * weights.T)) {
    throw new ShapeError(`bilinear derivative: U must be ${formula.n} x ${weights.T} and W ${formula.m} x ${weights.T}`);
  }
  const executor = pickFor(options, formula, weights.kind === "dense" ? "bilinearDense" : "bilinearLowRank", weights.kind === "dense" ? 0 : weights.T);
  const start = performance.now();
  let out: Float64Array;
  let threads = 1;
  let code: ReductionReport["code"];
  if (executor === "webgpu") {
    out = wgslBilinear(formula, weights);
    code = "wgsl";
  } else if (executor === "tfjs") out = tfjsBilinear(formula, weights, options);
  else {
    const shape = { totalRows: formula.n, pairsPerRow: formula.m, outLength: layout.size, perThreadAccumulator: true };
    let r;
    if (weights.kind === "dense") {
      // K(x, x) with a WebAssembly kernel: each unordered pair once, weight M_ij + M_ji.
      const symmetric = options.symmetric === true && formula.n === formula.m && wasmBilinearEligible(formula, 1);
      r = symmetric
        ? runFused(formula, "bilinearDenseSymmetric", { M: weights.M, MSYM: weights.symmetric === true }, { ...shape, ...SYMMETRIC_DENSE_TILES }, options)
        : runFused(formula, "bilinearDense", { M: weights.M }, shape, options);
    }
    else {
      const extra = { U: weights.U, W: weights.W, T: weights.T };
      // K(x, x) with a WebAssembly kernel: each unordered pair once, weight w_ij + w_ji.
      const symmetric = options.symmetric === true && formula.n === formula.m && wasmBilinearEligible(formula, weights.T);
      r = symmetric
        ? runFused(formula, "bilinearLowRankSymmetric", { ...extra, SYMMETRIC: true }, { ...shape, ...SYMMETRIC_TILES }, options)
        : runFused(formula, "bilinearLowRank", extra, shape, options);
    }
    out = r.out;
    threads = r.threads;
    code = r.code;
  }
  record({ operation: "bilinear", formula: formula.name, executor, n: formula.n, m: formula.m, t: weights.kind === "dense" ? 0 : weights.T, pairs: formula.n * formula.m, seconds: (performance.now() - start) / 1000, threads, code });
  return out;
}

/**
 * One pass over the pairs for two gradients of sum_ij M_ij k(x_i, y_j): the
 * derivative accumulators of `pairwiseBilinear` (dense M) and each row's
 * feature gradient, rowGradient[i, c] = d/du_i[c] with columns laid out by
 * rowGradientLayout(formula) (input gradients follow through the features'
 * linear maps, kernels/inputGradient.ts). Each pair's kernel, dk/ds and
 * distances are evaluated once for both. Only the fused executor's
 * WebAssembly kernels have it: null elsewhere (the caller then runs the
 * bilinear pass and the derivative formula's rows, the reference).
 * shapes: M [n, m] -> gradient [gradientLayout(formula).size], rowGradient [n, width]
 */
export function pairwiseBilinearRowGradient(formula: Formula, M: Float64Array, options: ReductionOptions = {}): { gradient: Float64Array; rowGradient: Float64Array } | null {
  validateFormula(formula);
  if (M.length !== formula.n * formula.m) {
    throw new ShapeError(`bilinear derivative: weights have ${M.length} entries, expected ${formula.n} x ${formula.m}`);
  }
  if (pick(options) !== "fused" || !wasmFormulaEligible(formula)) return null;
  const start = performance.now();
  const { width } = rowGradientLayout(formula);
  // Written by every thread (disjoint rows): shared memory.
  const rowGradient = sharedF64(formula.n * width);
  const shape = { totalRows: formula.n, pairsPerRow: formula.m, outLength: gradientLayout(formula).size, perThreadAccumulator: true };
  const r = runFused(formula, "bilinearDenseRowGradient", { M, RG: rowGradient }, shape, options);
  record({ operation: "bilinear", formula: formula.name, executor: "fused", n: formula.n, m: formula.m, t: 0, pairs: formula.n * formula.m, seconds: (performance.now() - start) / 1000, threads: r.threads, code: r.code });
  return { gradient: r.out, rowGradient };
}

function checkIndices(idx: Int32Array, limit: number, what: string): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= limit) throw new ShapeError(`${what} index ${idx[i]} is out of range [0, ${limit})`);
  }
}
