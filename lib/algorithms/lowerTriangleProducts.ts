// Products and solves of which only the lower triangle is wanted, on one
// Float64Array (the GEMM arena or a plain array; see wasmGemm.ts), in
// NB-wide panels of GEMM calls: the panel of rows [i0, i1) computes columns
// [0, i1) (or the panel of columns [j0, j1) rows [j0, n)), so the work is
// about half (or a third, or a sixth) of the full product and the few
// entries above the diagonal inside each panel are computed too (callers
// ignore them). Row-major, offsets and strides in elements; the
// variational strategy's backward pass and the Cholesky backward use them.

import { poolTask } from "./gemmPool";
import { substituteUpperBlock } from "./triangularKernels";
import { gemm, gemmThreads, runTask } from "./wasmGemm";

/** Panel height: the entries computed above the diagonal cost NB / n of the work. */
const NB = 32;
/** Below this many multiply-adds a product's panels run in order on the calling thread. */
const POOLED_MIN_WORK = 1 << 19;

/** The panel layouts of LOWER_PANEL_TASK. */
const PRODUCT = 0, UPPER_TIMES_LOWER = 1, GRAM_OF_LOWER = 2;

/**
 * Panel `piece` of lowerPanelProduct (layout PRODUCT: the last, widest
 * panel first), of upperTimesLowerPanels (UPPER_TIMES_LOWER: the first,
 * longest first) or of lowerGramOfLower (GRAM_OF_LOWER: column panels, the
 * first, longest first). params: n, k, a, lda, b, ldb, out, ldo, alpha, aLower, layout, overwrite
 */
export function lowerPanel(mem: Float64Array, params: Float64Array, piece: number): void {
  const [n, k, a, lda, b, ldb, out, ldo] = Int32Array.from(params.subarray(0, 8)); // integer index arithmetic
  const alpha = params[8], aLower = params[9], layout = params[10], overwrite = params[11] === 1;
  if (layout === UPPER_TIMES_LOWER) {
    const i0 = piece * NB, i1 = Math.min(n, i0 + NB);
    gemm(mem, i1 - i0, i1, n - i0, a + i0 * n + i0, n, b + i0 * n, n, out + i0 * n, n);
    return;
  }
  if (layout === GRAM_OF_LOWER) {
    const j0 = piece * NB, j1 = Math.min(n, j0 + NB);
    gemm(mem, n - j0, j1 - j0, j1, a + j0 * n, n, b + j0, n, out + j0 * n + j0, n, 1, overwrite);
    return;
  }
  const i0 = (Math.ceil(n / NB) - 1 - piece) * NB, i1 = Math.min(n, i0 + NB);
  gemm(mem, i1 - i0, i1, aLower ? i1 : k, a + i0 * lda, lda, b, ldb, out + i0 * ldo, ldo, alpha, overwrite);
}
const LOWER_PANEL_TASK = poolTask(__filename, "lowerPanel", lowerPanel);

/**
 * The lower block triangle of out += alpha A B, or with `overwrite` out :=
 * alpha A B there (out's old contents in the block triangle are not read).
 * With `aLower` (A lower triangular, k = n, zeros above its diagonal) panel
 * rows [i0, i1) stop at term i1: n^3 / 3 multiply-adds instead of n^3 / 2.
 * Large products take their panels on every thread of the GEMM pool (each
 * panel is one GEMM on one thread, so results do not depend on the thread
 * count). shapes: A [n, k] at a (row stride lda), B [k, n] at b (ldb), out [n, n] at out (ldo)
 */
export function lowerPanelProduct(
  mem: Float64Array, n: number, k: number, a: number, lda: number, b: number, ldb: number, out: number, ldo: number, alpha: number, aLower = false, overwrite = false,
): void {
  const work = (n * n * (aLower ? n / 3 : k)) / 2;
  runTask(mem, LOWER_PANEL_TASK, [n, k, a, lda, b, ldb, out, ldo, alpha, aLower ? 1 : 0, PRODUCT, overwrite ? 1 : 0], Math.ceil(n / NB), work >= POOLED_MIN_WORK);
}

/**
 * The lower block triangle of out += L L^T, or with `overwrite` out := L L^T
 * there (n^3 / 6 multiply-adds): column panel [j0, j1) takes rows [j0, n)
 * and terms [0, j1), as L^T's column j is zero below row j. Large products
 * take their panels on every thread (as lowerPanelProduct).
 * shapes: L [n, n] at l with zeros above the diagonal, L^T [n, n] at lt with
 * zeros below it, out [n, n] at out; all row stride n
 */
export function lowerGramOfLower(mem: Float64Array, n: number, l: number, lt: number, out: number, overwrite = false): void {
  runTask(mem, LOWER_PANEL_TASK, [n, n, l, n, lt, n, out, n, 1, 0, GRAM_OF_LOWER, overwrite ? 1 : 0], Math.ceil(n / NB), (n * n * n) / 6 >= POOLED_MIN_WORK);
}

/**
 * The lower block triangle of out += U T for U upper and T lower triangular
 * (n^3 / 6 multiply-adds): row i of U starts at column i, so panel rows
 * [i0, i1) need U[i0:i1, i0:n] T[i0:n, 0:i1] only.
 * shapes: U [n, n] at u with zeros below the diagonal, T [n, n] at t with
 * zeros above it, out [n, n] at out; all row stride n. Large products take
 * their panels on every thread (as lowerPanelProduct).
 */
export function upperTimesLowerPanels(mem: Float64Array, n: number, u: number, t: number, out: number): void {
  runTask(mem, LOWER_PANEL_TASK, [n, n, u, n, t, n, out, n, 1, 0, UPPER_TIMES_LOWER, 0], Math.ceil(n / NB), (n * n * n) / 6 >= POOLED_MIN_WORK);
}

/**
 * The lower triangle of U^{-1} Y, in place over Y, reading only Y's lower
 * triangle (n^3 / 6 multiply-adds): by back substitution from the last row,
 * row i's columns [0, i] need only rows below i at those columns, which are
 * in their lower triangles. Entries above the diagonal come out undefined.
 * shapes: U [n, n] upper at u (row stride n), Y [n, n] at y (row stride n)
 */
export function solveUpperLowerPart(mem: Float64Array, n: number, u: number, y: number): void {
  // Column j's entries depend on column j of Y alone: pieces of columns, cut so that each
  // has about the same work (column j takes about (n - j)^2), on every thread when large.
  const threads = (n * n * n) / 6 >= POOLED_MIN_WORK ? gemmThreads().threads : 1;
  const pieces = threads > 1 ? 2 * threads : 1, bounds = [0];
  for (let k = 1; k < pieces; k++) bounds.push(Math.min(n, 8 * Math.round((n * (1 - Math.cbrt(1 - k / pieces))) / 8)));
  bounds.push(n);
  runTask(mem, LOWER_PART_TASK, [n, u, y, ...bounds], pieces);
}

/**
 * Piece `piece` of solveUpperLowerPart: its columns [c0, c1) of every
 * panel, from the last panel up to the one holding column c0.
 * params: n, u, y, then the pieces' column bounds
 */
export function lowerPartColumns(mem: Float64Array, params: Float64Array, piece: number): void {
  const n = params[0] | 0, u = params[1] | 0, y = params[2] | 0, c0 = params[3 + piece] | 0, c1 = params[4 + piece] | 0;
  for (let i1 = n; i1 > c0; i1 -= NB) {
    const i0 = Math.max(0, i1 - NB), w = Math.min(c1, i1) - c0;
    if (w <= 0) continue;
    gemm(mem, i1 - i0, w, n - i1, u + i0 * n + i1, n, y + i1 * n + c0, n, y + i0 * n + c0, n, -1);
    // Inside the panel: the plain upper substitution on its diagonal block, these columns only.
    substituteUpperBlock(mem, i1 - i0, w, u + i0 * n + i0, n, y + i0 * n + c0, n);
  }
}
const LOWER_PART_TASK = poolTask(__filename, "lowerPartColumns", lowerPartColumns);
