// Predictive variances from an adaptive-rank pivoted Cholesky of the training
// kernel (varianceMethod "pivotedCholesky").
//
// K(X, X) = L L^T + E with pivots S (training points) and L = K(X, S) L_SS^{-T}.
// Extending the same factor to a test point gives l* = L_SS^{-1} k(S, x*) and
// the residual prior variance e** = k** - |l*|^2. The variance returned is
//     e** + l*^T (I + L^T D^{-1} L)^{-1} l*,
// the exact posterior variance of a GP whose kernel is the rank-r part plus the
// residual at x* (GPyTorch / Quinonero-Candela's DTC, with the pivots as
// inducing points). As the rank grows the residual E vanishes and this becomes
// the exact variance; measured (bench/predict.ts, n = 5,000, 1,000 test points)
// the error never exceeded e** (it lies in [-e**, e**], mostly above the exact
// value), so e** is reported per point as an error estimate.
//
// Why not LOVE: the variance needs (K + D)^{-1} on the span of all test
// columns, whose numerical rank at small noise is several hundred; a Krylov
// run of ~100 steps leaves errors larger than the variance itself. Rows of K
// at the pivots cost O(n) each, so a rank-500 factor costs n r^2 / 2
// multiply-adds in f64 and no kernel products at all.
//
// The same factor gives P = L L^T + D, a preconditioner good enough that CG
// for the training solve converges in a few iterations.

import { conjugateGradients } from "../algorithms/cg";
import { choleskyWithJitter } from "../algorithms/cholesky";
import { type Mat, mat } from "../algorithms/matrix";
import { checkInterrupt } from "../reductions/interrupt";
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
  /** Pivoted Cholesky factor of K(X, X), row-major with row stride `stride`. shape: [n, r] */
  L: Float64Array;
  stride: number;
  rank: number;
  /** Noise variances D. shape: [n] */
  noise: Float64Array;
  /** Lower Cholesky factor of I + L^T D^{-1} L. shape: [r, r] */
  F: Float64Array;
  /** Largest residual prior variance left on the training points. */
  maxTrainResidual: number;
  /** True when maxRank stopped the pivoting before the tolerance was met. */
  capped: boolean;
}

/**
 * Adaptive-rank pivoted Cholesky of K (training prior covariance, n x n, lazy:
 * only its diagonal and r rows are read) and the capacitance factor.
 */
export function buildPivotedVariance(K: LinearOperator, noise: Float64Array, o: PivotedVarianceOptions): PivotedVarianceCache {
  const n = K.shape[0];
  const maxRank = Math.max(1, Math.min(o.maxRank, n));
  const minNoise = noise.reduce((a, b) => Math.min(a, b), Infinity);
  const stop = o.tolerance * minNoise;
  const stride = maxRank;
  const L = new Float64Array(n * stride);
  const res = K.diagonalF64();
  const used = new Uint8Array(n);
  const pivots: number[] = [];
  let maxResidual = res.reduce((a, b) => Math.max(a, b), 0);
  while (pivots.length < maxRank && maxResidual > stop) {
    checkInterrupt("pivoted Cholesky");
    let p = -1;
    let best = 0;
    for (let i = 0; i < n; i++) {
      if (!used[i] && res[i] > best) {
        best = res[i];
        p = i;
      }
    }
    if (p < 0) break;
    const j = pivots.length;
    used[p] = 1;
    pivots.push(p);
    const row = K.rowsF64(Int32Array.of(p)).data;
    const scale = 1 / Math.sqrt(best);
    const pr = p * stride;
    maxResidual = 0;
    for (let i = 0; i < n; i++) {
      const v = (row[i] - dot(L, i * stride, L, pr, j)) * scale;
      L[i * stride + j] = v;
      res[i] -= v * v;
      if (!used[i] && res[i] > maxResidual) maxResidual = res[i];
    }
  }
  const r = pivots.length;
  const F = capacitanceFactor(L, stride, r, noise);
  return { pivots: Int32Array.from(pivots), L, stride, rank: r, noise, F, maxTrainResidual: maxResidual, capped: maxResidual > stop };
}

/**
 * Cholesky of I + L^T D^{-1} L. Four rows of L at a time: each load and store
 * of C serves four multiply-adds (measured 2x over one row at a time; fusing
 * this into the pivoting loop, one row at a time, was slower still).
 */
function capacitanceFactor(L: Float64Array, stride: number, r: number, noise: Float64Array): Float64Array {
  const n = noise.length;
  const C = new Float64Array(r * r);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const i0 = i * stride, i1 = i0 + stride, i2 = i1 + stride, i3 = i2 + stride;
    const w0 = 1 / noise[i], w1 = 1 / noise[i + 1], w2 = 1 / noise[i + 2], w3 = 1 / noise[i + 3];
    for (let a = 0; a < r; a++) {
      const a0 = L[i0 + a] * w0, a1 = L[i1 + a] * w1, a2 = L[i2 + a] * w2, a3 = L[i3 + a] * w3;
      const ca = a * r;
      for (let b = 0; b <= a; b++) C[ca + b] += a0 * L[i0 + b] + a1 * L[i1 + b] + a2 * L[i2 + b] + a3 * L[i3 + b];
    }
  }
  for (; i < n; i++) {
    const ir = i * stride, w = 1 / noise[i];
    for (let a = 0; a < r; a++) {
      const la = L[ir + a] * w;
      for (let b = 0; b <= a; b++) C[a * r + b] += la * L[ir + b];
    }
  }
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < a; b++) C[b * r + a] = C[a * r + b];
    C[a * r + a] += 1;
  }
  return choleskyWithJitter(mat(r, r, C), "pivoted-Cholesky capacitance").L.data;
}

/** P^{-1} V with P = L L^T + D (Woodbury through F). shape: [n, t] -> [n, t] */
export function pivotedPreconditionerSolve(c: PivotedVarianceCache, V: Mat): Mat {
  const n = V.rows, t = V.cols, r = c.rank, s = c.stride;
  const out = mat(n, t);
  for (let i = 0; i < n * t; i++) out.data[i] = V.data[i] / c.noise[Math.floor(i / t)];
  if (r === 0) return out;
  for (let col = 0; col < t; col++) {
    const u = new Float64Array(r);
    for (let i = 0; i < n; i++) {
      const v = out.data[i * t + col];
      if (v !== 0) for (let a = 0; a < r; a++) u[a] += c.L[i * s + a] * v;
    }
    forwardSolve(c.F, r, u);
    backSolve(c.F, r, u);
    for (let i = 0; i < n; i++) out.data[i * t + col] -= dot(c.L, i * s, u, 0, r) / c.noise[i];
  }
  return out;
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
  const r = c.rank, b = kss.length, s = c.stride;
  const variance = new Float64Array(b);
  const residual = new Float64Array(b);
  const l = new Float64Array(r);
  for (let col = 0; col < b; col++) {
    // l* = L_SS^{-1} k(S, x*): row j of L at pivot j holds L_SS[j, 0..j].
    let q = 0;
    for (let j = 0; j < r; j++) {
      const pr = c.pivots[j] * s;
      l[j] = (kSt.data[j * b + col] - dot(c.L, pr, l, 0, j)) / c.L[pr + j];
      q += l[j] * l[j];
    }
    const e = Math.max(kss[col] - q, 0);
    forwardSolve(c.F, r, l);
    let w = 0;
    for (let j = 0; j < r; j++) w += l[j] * l[j];
    residual[col] = e;
    variance[col] = e + w;
  }
  return { variance, residual };
}

/** sum_k a[ao + k] b[bo + k], k < len (four accumulators: V8 does not vectorise). */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < len; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + s2 + s3;
}

/** v <- F^{-1} v, F lower triangular [r, r]. */
function forwardSolve(F: Float64Array, r: number, v: Float64Array): void {
  for (let i = 0; i < r; i++) v[i] = (v[i] - dot(F, i * r, v, 0, i)) / F[i * r + i];
}

/** v <- F^{-T} v. */
function backSolve(F: Float64Array, r: number, v: Float64Array): void {
  for (let i = r - 1; i >= 0; i--) {
    let s = v[i];
    for (let k = i + 1; k < r; k++) s -= F[k * r + i] * v[k];
    v[i] = s / F[i * r + i];
  }
}
