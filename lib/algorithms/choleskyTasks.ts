// The serial-looking steps of the blocked Cholesky and of its inverse as
// GEMM-pool tasks inside a dense routine (wasmGemm's denseRoutine): a
// diagonal block's forward substitution acts on each column of X alone, and
// the Cholesky's panel solve on each row below the panel alone, so pieces
// of columns or rows run on every thread, each with its own GEMM calls, and
// the numbers are the same on any number of threads. Outside a dense
// routine, or when too small, they run on the calling thread.
// Offsets and strides in elements, as in triangularKernels.ts.

import { poolTask } from "./gemmPool";
import { transposeInto } from "./transpose";
import { substituteLowerBlock } from "./triangularKernels";
import { gemmThreads, runTask, taskWorthThreads } from "./wasmGemm";

/** Pieces per thread: a thread that starts late still finds one. */
const PIECES_PER_THREAD = 2;

/** Columns (or rows) per piece, a multiple of 4, for `count` of them on the pool's threads. */
function pieceSize(count: number): number {
  return 4 * Math.ceil(count / 4 / (PIECES_PER_THREAD * gemmThreads().threads));
}

/**
 * Piece `piece` of substituteLowerColumns.
 * params: p, t, pw (columns per piece), tri, ldl, x, ld
 */
export function substituteColumnsPiece(mem: Float64Array, params: Float64Array, piece: number): void {
  const [p, t, pw, tri, ldl, x, ld] = params;
  const c0 = piece * pw, cw = Math.min(pw, t - c0);
  if (cw > 0) substituteLowerBlock(mem, p, cw, tri, ldl, x + c0, ld);
}
const SUBSTITUTE_COLUMNS = poolTask(__filename, "substituteColumnsPiece", substituteColumnsPiece);

/**
 * X[0:p, 0:t] := T^{-1} X (substituteLowerBlock) for the p x p lower
 * triangle T at tri, by pieces of columns on every thread when worth it.
 * shapes: T [p, p] at tri (row stride ldl), X [p, t] at x (row stride ld)
 */
export function substituteLowerColumns(mem: Float64Array, p: number, t: number, tri: number, ldl: number, x: number, ld: number): void {
  if (t >= 8 && taskWorthThreads(mem, (p * p * t) / 2)) {
    const pw = pieceSize(t);
    runTask(mem, SUBSTITUTE_COLUMNS, [p, t, pw, tri, ldl, x, ld], Math.ceil(t / pw));
  } else substituteLowerBlock(mem, p, t, tri, ldl, x, ld);
}

/**
 * The blocked Cholesky's panel solve for rows [r0, r0 + rows) of the t rows
 * below a diagonal block: L21 := A21 L11^{-T}, done transposed (the rows,
 * pw wide, copied into the columns of X, the kept rows of L^T; X :=
 * L11^{-1} X; copied back), so that both hold the result.
 * shapes: L11 [pw, pw] at tri (row stride ldl), the rows [t, pw] at rows (row stride ldr), X [pw, t] at x (row stride ld)
 */
function panelSolveRange(mem: Float64Array, pw: number, r0: number, count: number, tri: number, ldl: number, rows: number, ldr: number, x: number, ld: number): void {
  transposeInto(mem, rows + r0 * ldr, ldr, mem, x + r0, ld, count, pw);
  substituteLowerBlock(mem, pw, count, tri, ldl, x + r0, ld);
  transposeInto(mem, x + r0, ld, mem, rows + r0 * ldr, ldr, pw, count);
}

/**
 * Piece `piece` of panelSolve.
 * params: pw, t, rw (rows per piece), tri, ldl, rows, ldr, x, ld
 */
export function panelSolvePiece(mem: Float64Array, params: Float64Array, piece: number): void {
  const [pw, t, rw, tri, ldl, rows, ldr, x, ld] = params;
  const r0 = piece * rw, count = Math.min(rw, t - r0);
  if (count > 0) panelSolveRange(mem, pw, r0, count, tri, ldl, rows, ldr, x, ld);
}
const PANEL_SOLVE = poolTask(__filename, "panelSolvePiece", panelSolvePiece);

/**
 * The panel solve of the blocked Cholesky (panelSolveRange) for all t rows,
 * by pieces of rows on every thread when worth it.
 */
export function panelSolve(mem: Float64Array, pw: number, t: number, tri: number, ldl: number, rows: number, ldr: number, x: number, ld: number): void {
  if (t >= 8 && taskWorthThreads(mem, (pw * pw * t) / 2)) {
    const rw = pieceSize(t);
    runTask(mem, PANEL_SOLVE, [pw, t, rw, tri, ldl, rows, ldr, x, ld], Math.ceil(t / rw));
  } else panelSolveRange(mem, pw, 0, t, tri, ldl, rows, ldr, x, ld);
}
