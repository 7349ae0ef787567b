// Triangular solves and products on the GEMM pool's threads, split by
// columns of X: X := T^{-1} X and out += T X act on each column of X alone,
// so each piece runs the blocked kernel of triangularKernels.ts on its own
// column range, on its own thread. A column's result does not depend on
// which piece holds it, so results are the same on any number of threads.
// Offsets and strides in elements, as in triangularKernels.ts.

import { poolTask } from "./gemmPool";
import { solveUpperInPlace, triangularMatmulInto } from "./triangularKernels";
import { gemmThreads, runTask } from "./wasmGemm";

/** Below this many multiply-adds a solve or product runs as one piece on the calling thread. */
const POOLED_MIN_WORK = 1 << 19;
const SOLVE_UPPER = 0, MATMUL_UPPER = 1, MATMUL_LOWER = 2;

/** Columns per piece: two pieces per thread when the work is worth the threads, else all; a multiple of 8. */
function pieceColumns(n: number, t: number): number {
  const threads = (n * n * t) / 2 >= POOLED_MIN_WORK ? gemmThreads().threads : 1;
  return threads > 1 ? 8 * Math.ceil(t / 8 / (2 * threads)) : t;
}

/**
 * Piece `piece` of a column-split solve or product.
 * params: mode, n, t, pw, tri, x, out, ld
 */
export function triangularColumns(mem: Float64Array, params: Float64Array, piece: number): void {
  const [mode, n, t, pw, tri, x, out, ld] = Int32Array.from(params.subarray(0, 8)); // integer index arithmetic
  const c0 = piece * pw, cw = Math.min(pw, t - c0);
  if (cw <= 0) return;
  if (mode === SOLVE_UPPER) solveUpperInPlace(mem, n, cw, tri, x + c0, ld);
  else triangularMatmulInto(mem, n, cw, tri, mode === MATMUL_LOWER, x + c0, out + c0, ld);
}
const TRIANGULAR_COLUMNS_TASK = poolTask(__filename, "triangularColumns", triangularColumns);

function run(mode: number, mem: Float64Array, n: number, t: number, tri: number, x: number, out: number, ld: number): void {
  const pw = pieceColumns(n, t);
  runTask(mem, TRIANGULAR_COLUMNS_TASK, [mode, n, t, pw, tri, x, out, ld], Math.ceil(t / pw));
}

/** X := U^{-1} X (solveUpperInPlace by column pieces). shapes: U [n, n] upper at u, X [n, t] at x (row stride ld) */
export function solveUpperColumns(mem: Float64Array, n: number, t: number, u: number, x: number, ld = t): void {
  if (n > 0 && t > 0) run(SOLVE_UPPER, mem, n, t, u, x, x, ld);
}

/** out += T X (triangularMatmulInto by column pieces). shapes: T [n, n] at tri, X, out [n, t] (row stride ld) */
export function triangularMatmulColumns(mem: Float64Array, n: number, t: number, tri: number, lower: boolean, x: number, out: number, ld = t): void {
  if (n > 0 && t > 0) run(lower ? MATMUL_LOWER : MATMUL_UPPER, mem, n, t, tri, x, out, ld);
}
