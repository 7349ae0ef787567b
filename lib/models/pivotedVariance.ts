// Predictive variances from an adaptive-rank pivoted Cholesky of the training
// kernel (varianceMethod "pivotedCholesky").
//
// K(X, X) = L L^T + E with pivots S (training points) and L = K(X, S) L_SS^{-T}.
// Extending the same factor to a test point gives l* = L_SS^{-1} k(S, x*) and
// the residual prior variance e** = k** - |l*|^2. The variance returned is
//     e** + l*^T (I + L^T D^{-1} L)^{-1} l*,
// the exact posterior variance of a GP whose kernel is the rank-r part plus the
// residual at x* (Quinonero-Candela & Rasmussen's DTC, with the pivots as
// inducing points). As the rank grows the residual E vanishes and this becomes
// the exact variance. Measured against dense Cholesky (bench/predict.ts,
// test/exact-gp-predict-variance.test.ts) the largest error was 0.2-1.2x the
// largest e** over the test points, so that is reported as the error estimate.
//
// Why not LOVE: the variance needs (K + D)^{-1} on the span of all test
// columns, whose numerical rank at small noise is several hundred; a Krylov
// run of ~100 steps leaves errors larger than the variance itself, and
// neither preconditioning it with a rank-300 pivoted Cholesky nor reusing
// the training solve's Krylov space fixed that (prototype, n = 5,000). Rows of
// K at the pivots cost O(n) each, so a rank-500 factor costs n r^2 / 2
// multiply-adds in f64 (WebAssembly GEMM) and no kernel products at all.
//
// The same factor gives P = L L^T + D, a preconditioner good enough that CG
// for the training solve converges in a few iterations.

import { conjugateGradients } from "../algorithms/cg";
import { solveLower } from "../algorithms/cholesky";
import { LowRankPlusDiag } from "../algorithms/lowRankPlusDiag";
import { type Mat, dotAt, mat } from "../algorithms/matrix";
import { pivotedCholeskyFactor } from "../algorithms/pivotedCholesky";
import type { LinearOperator } from "../operators/LinearOperator";

export interface PivotedVarianceOptions {
  /** Stop pivoting when every training point's residual prior variance is below tolerance * min(noise). */
  tolerance: number;
  /** Rank cap (the cost grows as n r^2). */
  maxRank: number;
}

export interface PivotedVarianceCache {
  /** Pivot indices into the training set, in pivot order. shape: [r] */
  pivots: Int32Array;
  rank: number;
  /** P = L L^T + D with the pivoted Cholesky factor L [n, r] of K(X, X) and the noise D: solves and the capacitance factor. */
  woodbury: LowRankPlusDiag;
  /** L at the pivots, in pivot order: lower triangular, K(S, S) = Lss Lss^T. shape: [r, r] */
  Lss: Mat;
  /** Largest residual prior variance left on the training points. */
  maxTrainResidual: number;
  /** True when maxRank stopped the pivoting before the tolerance was met. */
  capped: boolean;
  /** Noise variances D. shape: [n] */
  noise: Float64Array;
  /** sqrt of the residual diagonal E_ii = K_ii - |L_i|^2 (0 at the pivots). shape: [n] */
  residualSqrt: Float64Array;
  /** tr E, an upper bound on the residual's largest eigenvalue. */
  residualTrace: number;
}

/**
 * Adaptive-rank pivoted Cholesky of K (training prior covariance, n x n, lazy:
 * only its diagonal and the pivot rows are read) and the capacitance factor.
 */
export function buildPivotedVariance(K: LinearOperator, noise: Float64Array, o: PivotedVarianceOptions): PivotedVarianceCache {
  const n = K.shape[0];
  const minNoise = noise.reduce((a, b) => Math.min(a, b), Infinity);
  const diag = K.diagonalF64();
  const f = pivotedCholeskyFactor(
    // Entries let each pivot block read its candidates' block and then only the kept pivots' rows.
    { size: n, diagonal: () => diag, rows: (idx) => K.rowsF64(idx).data, entries: (rows, cols) => K.entriesF64(rows, cols) },
    { maxRank: Math.max(1, Math.min(o.maxRank, n)), residualTolerance: o.tolerance * minNoise, traceTolerance: 0 },
  );
  const r = f.pivots.length;
  const Lss = mat(r, r);
  f.pivots.forEach((p, j) => Lss.data.set(f.L.data.subarray(p * r, p * r + j + 1), j * r));
  // E_ii recomputed from L (not taken from the factorisation's running update) so that it matches the L used.
  const residualSqrt = new Float64Array(n);
  let residualTrace = 0;
  for (let i = 0; i < n; i++) {
    const Ei = Math.max(diag[i] - dotAt(f.L.data, i * r, f.L.data, i * r, r), 0);
    residualSqrt[i] = Math.sqrt(Ei);
    residualTrace += Ei;
  }
  return {
    pivots: f.pivots,
    rank: r,
    woodbury: new LowRankPlusDiag(f.L, noise),
    Lss,
    maxTrainResidual: f.maxResidual,
    capped: f.capped,
    noise,
    residualSqrt,
    residualTrace,
  };
}

/** P^{-1} V with P = L L^T + D (Woodbury). shape: [n, t] -> [n, t] */
export function pivotedPreconditionerSolve(c: PivotedVarianceCache, V: Mat): Mat {
  return c.woodbury.solve(V);
}

/**
 * (K + D)^{-1} b by CG preconditioned with this factor.
 * shape: b [n] -> [n]
 */
export function pivotedSolve(
  c: PivotedVarianceCache,
  A: LinearOperator,
  b: Float64Array,
  tolerance: number,
  maxIterations: number,
): { solution: Float64Array; iterations: number; converged: boolean } {
  const r = conjugateGradients((v) => A.matmulF64(v), mat(b.length, 1, b), { tolerance, maxIterations }, (v) => pivotedPreconditionerSolve(c, v));
  return { solution: r.solution.data, iterations: r.iterations, converged: r.converged };
}

/**
 * Variances at test points from their kernel values at the pivots.
 * kSt: K(S, x*) [r, b] (row j for pivot j); kss: k(x*, x*) [b].
 * Returns the variances and each point's residual prior variance e** (the error estimate).
 */
export function pivotedVariances(c: PivotedVarianceCache, kSt: Mat, kss: Float64Array): { variance: Float64Array; residual: Float64Array } {
  const r = c.rank, b = kss.length;
  const l = solveLower(c.Lss, kSt); // l* = L_SS^{-1} k(S, x*) [r, b]
  const w = solveLower(c.woodbury.capacitanceFactor, l); // F^{-1} l* [r, b], F F^T = I + L^T D^{-1} L
  const q = new Float64Array(b);
  const u = new Float64Array(b);
  for (let j = 0; j < r; j++) {
    for (let col = 0; col < b; col++) {
      q[col] += l.data[j * b + col] ** 2;
      u[col] += w.data[j * b + col] ** 2;
    }
  }
  const residual = new Float64Array(b);
  const variance = new Float64Array(b);
  for (let col = 0; col < b; col++) {
    residual[col] = Math.max(kss[col] - q[col], 0);
    variance[col] = residual[col] + u[col];
  }
  return { variance, residual };
}
