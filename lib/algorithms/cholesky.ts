// f64 Cholesky with GPyTorch's jitter ladder, and triangular solves. Solves
// with many right-hand sides run blocked in the WebAssembly GEMM arena
// (triangularKernels.ts); small ones keep the plain loops.

import { NotPSDError, ShapeError } from "../errors";
import { panelSolve } from "./choleskyTasks";
import { type Mat, dotAt, mat } from "./matrix";
import { transposeLower } from "./transpose";
import { solveLowerInPlace, solveUpperInPlace } from "./triangularKernels";
import { WASM_MIN_WORK, arena, arenaCalls, denseRoutine, gemm, paddedStride, putRows, substituteVectorInArena, takeRows } from "./wasmGemm";

/** Jitter added to the diagonal, in order, when plain Cholesky fails. */
export const JITTER_LADDER = [1e-6, 1e-5, 1e-4] as const;

export interface CholeskyResult {
  /** Lower-triangular factor. shape: [n, n] */
  L: Mat;
  /** The jitter that made it succeed (0 if none was needed). */
  jitter: number;
}

/** Column panel width of the blocked Cholesky. */
const PANEL = 32;

/**
 * Blocked Cholesky in the GEMM arena (left-looking by panels of PANEL
 * columns): each panel first takes the GEMM update from every finished
 * column; its diagonal block is then factored column by column like the
 * plain loop (which also finds the same failing pivot), and the rows below
 * it by one blocked substitution, L21 = A21 L11^{-T}, done transposed
 * (L11 L21^T = A21^T) in the rows of L^T that are kept beside L so the
 * updates are plain row-major products. Null when the arena is unavailable.
 */
function tryCholeskyBlocked(a: Mat, jitter: number): { L: Mat } | { failedAt: number; pivot: number } | null {
  const n = a.rows, ld = paddedStride(n);
  const l = 0, lt = n * ld;
  const mem = arena(2 * n * ld);
  if (!mem) return null;
  const A = a.data;
  for (let i = 0; i < n; i++) {
    mem.set(A.subarray(i * n, i * n + i + 1), l + i * ld);
    mem[l + i * ld + i] += jitter;
  }
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL), pw = j1 - j0;
    // Rows j0.. of the panel -= L[j0:, 0:j0] L[panel, 0:j0]^T
    gemm(mem, n - j0, pw, j0, l + j0 * ld, ld, lt + j0, ld, l + j0 * ld + j0, ld, -1);
    for (let j = j0; j < j1; j++) {
      const jr = l + j * ld;
      let d = mem[jr + j];
      for (let k = j0; k < j; k++) d -= mem[jr + k] * mem[jr + k];
      if (!(d > 0) || !Number.isFinite(d)) return { failedAt: j, pivot: d };
      const ljj = Math.sqrt(d);
      mem[jr + j] = ljj;
      for (let i = j + 1; i < j1; i++) {
        const ir = l + i * ld;
        let s = mem[ir + j];
        for (let k = j0; k < j; k++) s -= mem[ir + k] * mem[jr + k];
        mem[ir + j] = s / ljj;
      }
    }
    if (j1 === n) break;
    // The rows of L^T for this panel hold A21^T (read row by row, written to pw streams); then
    // L21^T = L11^{-1} A21^T by substitution (kept for the columns still to come), and back into L.
    panelSolve(mem, pw, n - j1, l + j0 * ld + j0, ld, l + j1 * ld + j0, ld, lt + j0 * ld + j1, ld);
  }
  const L = mat(n, n);
  for (let i = 0; i < n; i++) L.data.set(mem.subarray(l + i * ld, l + i * ld + i + 1), i * n);
  lastBlocked = { L, arenaCalls: arenaCalls(), mem, ld };
  return { L };
}

/** The last factor tryCholeskyBlocked returned, the arena's call count when it did, the arena view and L's row stride there. */
let lastBlocked: { L: Mat; arenaCalls: number; mem: Float64Array; ld: number } | null = null;

/**
 * Whether the arena still holds L's lower triangle at offset 0 with row
 * stride paddedStride(n), as the blocked Cholesky that made L left it (no
 * arena() call since): the Cholesky inverse then skips copying it in.
 */
export function factorStillInArena(L: Mat): boolean {
  return lastBlocked !== null && lastBlocked.L === L && lastBlocked.arenaCalls === arenaCalls();
}

/** Plain Cholesky; returns the failing pivot index instead of throwing. */
function tryCholesky(a: Mat, jitter: number): { L: Mat } | { failedAt: number; pivot: number } {
  const n = a.rows;
  if (n * n * n / 6 >= WASM_MIN_WORK) {
    const blocked = denseRoutine((n * n * n) / 6, () => tryCholeskyBlocked(a, jitter));
    if (blocked) return blocked;
  }
  const L = mat(n, n);
  const A = a.data, Ld = L.data;
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j] + jitter;
    const jr = j * n;
    for (let k = 0; k < j; k++) d -= Ld[jr + k] * Ld[jr + k];
    if (!(d > 0) || !Number.isFinite(d)) return { failedAt: j, pivot: d };
    const ljj = Math.sqrt(d);
    Ld[jr + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ir = i * n;
      let s = A[ir + j];
      for (let k = 0; k < j; k++) s -= Ld[ir + k] * Ld[jr + k];
      Ld[ir + j] = s / ljj;
    }
  }
  return { L };
}

/**
 * Cholesky of a symmetric matrix; on failure retries with 1e-6, 1e-5, 1e-4
 * on the diagonal (warning each time), then throws NotPSDError. `what` names
 * the matrix in those messages (a function: built only if one is needed).
 */
export function choleskyWithJitter(a: Mat, whatName: string | (() => string) = "matrix"): CholeskyResult {
  if (a.rows !== a.cols) throw new ShapeError(`Cholesky needs a square matrix, got ${a.rows} x ${a.cols}`);
  let attempt = tryCholesky(a, 0);
  if ("L" in attempt) return { L: attempt.L, jitter: 0 };
  const what = typeof whatName === "function" ? whatName() : whatName;
  let last = attempt;
  for (const jitter of JITTER_LADDER) {
    process.emitWarning(
      `${what} (${a.rows} x ${a.cols}) is not numerically positive definite (pivot ${last.failedAt} = ${last.pivot.toExponential(2)}); retrying with ${jitter} added to the diagonal`,
      "NumericalWarning",
    );
    attempt = tryCholesky(a, jitter);
    if ("L" in attempt) return { L: attempt.L, jitter };
    last = attempt;
  }
  throw new NotPSDError(
    `${what} (${a.rows} x ${a.cols}) is not positive definite even with jitter ${JITTER_LADDER[JITTER_LADDER.length - 1]} on its diagonal ` +
      `(pivot ${last.failedAt} = ${last.pivot.toExponential(2)}). Common causes: duplicate inputs with too little noise, or ` +
      `a lengthscale much larger than the data's spread. Fix: raise the likelihood noise or add a larger diagonal with addDiagonal().`,
  );
}

/** Right-hand sides below this many columns are solved in place by row-contiguous loops (no arena copies). */
const FEW_COLUMNS = 4;

/** Solves L X = B (L lower triangular). shapes: [n, n], [n, t] -> [n, t] */
export function solveLower(L: Mat, B: Mat): Mat {
  const n = L.rows, t = B.cols;
  if (B.rows !== n) throw new ShapeError(`triangular solve: L is ${n} x ${n} but right-hand side has ${B.rows} rows`);
  const ld = paddedStride(t);
  const mem = t >= FEW_COLUMNS && (n * n * t) / 2 >= WASM_MIN_WORK ? arena(n * n + n * ld) : null;
  if (mem) {
    mem.set(L.data, 0);
    putRows(mem, n * n, ld, B.data, n, t);
    solveLowerInPlace(mem, n, t, 0, n * n, ld);
    return mat(n, t, takeRows(mem, n * n, ld, n, t));
  }
  const X = mat(n, t, B.data.slice());
  const Ld = L.data, Xd = X.data;
  if (t === 1) {
    // x_i = (b_i - L[i, 0:i] x[0:i]) / L[i, i]: row i of L is contiguous.
    for (let i = 0; i < n; i++) Xd[i] = (Xd[i] - dotAt(Ld, i * n, Xd, 0, i)) / Ld[i * n + i];
    return X;
  }
  for (let i = 0; i < n; i++) {
    const ir = i * n;
    for (let k = 0; k < i; k++) {
      const lik = Ld[ir + k];
      if (lik === 0) continue;
      for (let c = 0; c < t; c++) Xd[i * t + c] -= lik * Xd[k * t + c];
    }
    const d = Ld[ir + i];
    for (let c = 0; c < t; c++) Xd[i * t + c] /= d;
  }
  return X;
}

/** Solves L^T X = B (L lower triangular). */
export function solveLowerTransposed(L: Mat, B: Mat): Mat {
  const n = L.rows, t = B.cols;
  if (B.rows !== n) throw new ShapeError(`triangular solve: L is ${n} x ${n} but right-hand side has ${B.rows} rows`);
  const ld = paddedStride(t);
  const mem = t >= FEW_COLUMNS && (n * n * t) / 2 >= WASM_MIN_WORK ? arena(n * n + n * ld) : null;
  if (mem) {
    // U = L^T, row-major, so the blocked solve reads contiguous rows (its lower triangle is never read).
    const Ld = L.data;
    transposeLower(Ld, 0, n, mem, 0, n, n);
    putRows(mem, n * n, ld, B.data, n, t);
    solveUpperInPlace(mem, n, t, 0, n * n, ld);
    return mat(n, t, takeRows(mem, n * n, ld, n, t));
  }
  const X = mat(n, t, B.data.slice());
  const Ld = L.data, Xd = X.data;
  // Column-oriented back substitution: once x_i is known, row i of L (contiguous) updates the rows above it.
  for (let i = n - 1; i >= 0; i--) {
    const ir = i * n, d = Ld[ir + i];
    for (let c = 0; c < t; c++) Xd[i * t + c] /= d;
    for (let c = 0; c < t; c++) {
      const xi = Xd[i * t + c];
      if (xi === 0) continue;
      if (t === 1) for (let k = 0; k < i; k++) Xd[k] -= Ld[ir + k] * xi;
      else for (let k = 0; k < i; k++) Xd[k * t + c] -= Ld[ir + k] * xi;
    }
  }
  return X;
}

/** A^{-1} B from A's Cholesky factor. */
export function choleskySolve(L: Mat, B: Mat): Mat {
  if (B.cols === 1 && B.rows === L.rows && lastBlocked && factorStillInArena(L)) {
    // One right-hand side and L still where the blocked Cholesky left it: both substitutions on it in
    // WebAssembly (the same bits as the loops below), x in the rows of L^T the factorisation no longer needs.
    const { mem, ld } = lastBlocked, n = L.rows, x = n * ld;
    mem.set(B.data.subarray(0, n), x);
    if (substituteVectorInArena(mem, false, n, 0, ld, x) && substituteVectorInArena(mem, true, n, 0, ld, x)) return mat(n, 1, mem.slice(x, x + n));
  }
  return solveLowerTransposed(L, solveLower(L, B));
}

/** log det(L L^T) = 2 sum log diag(L). */
export function choleskyLogdet(L: Mat): number {
  let s = 0;
  for (let i = 0; i < L.rows; i++) s += Math.log(L.data[i * L.cols + i]);
  return 2 * s;
}
