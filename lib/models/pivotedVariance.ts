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
    // Column j for four rows at a time: each load of the pivot row serves four
    // multiply-adds (1.8x over one row at a time, measured; V8 does not vectorise).
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const i0 = i * stride, i1 = i0 + stride, i2 = i1 + stride, i3 = i2 + stride;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let q = 0; q < j; q++) {
        const lp = L[pr + q];
        s0 += L[i0 + q] * lp;
        s1 += L[i1 + q] * lp;
        s2 += L[i2 + q] * lp;
        s3 += L[i3 + q] * lp;
      }
      L[i0 + j] = (row[i] - s0) * scale;
      L[i1 + j] = (row[i + 1] - s1) * scale;
      L[i2 + j] = (row[i + 2] - s2) * scale;
      L[i3 + j] = (row[i + 3] - s3) * scale;
    }
    for (; i < n; i++) L[i * stride + j] = (row[i] - dot(L, i * stride, L, pr, j)) * scale;
    maxResidual = 0;
    for (let i = 0; i < n; i++) {
      res[i] -= L[i * stride + j] ** 2;
      if (!used[i] && res[i] > maxResidual) maxResidual = res[i];
    }
  }
  const r = pivots.length;
  const F = capacitanceFactor(L, stride, r, noise);
  return { pivots: Int32Array.from(pivots), L, stride, rank: r, noise, F, maxTrainResidual: maxResidual, capped: maxResidual > stop };
}

/**
 * Cholesky of I + L^T D^{-1} L. Register tiles of four rows of L by two rows
 * of C: each load serves two to four multiply-adds (measured: 1.7x over four
 * rows by one, 3.5x over one by one; fusing this into the pivoting loop was slower).
 */
function capacitanceFactor(L: Float64Array, stride: number, r: number, noise: Float64Array): Float64Array {
  const n = noise.length;
  const C = new Float64Array(r * r);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const i0 = i * stride, i1 = i0 + stride, i2 = i1 + stride, i3 = i2 + stride;
    const w0 = 1 / noise[i], w1 = 1 / noise[i + 1], w2 = 1 / noise[i + 2], w3 = 1 / noise[i + 3];
    let a = 0;
    for (; a + 1 < r; a += 2) {
      const a0 = L[i0 + a] * w0, a1 = L[i1 + a] * w1, a2 = L[i2 + a] * w2, a3 = L[i3 + a] * w3;
      const b0 = L[i0 + a + 1] * w0, b1 = L[i1 + a + 1] * w1, b2 = L[i2 + a + 1] * w2, b3 = L[i3 + a + 1] * w3;
      const ca = a * r, cb = ca + r;
      for (let b = 0; b <= a; b++) {
        const x0 = L[i0 + b], x1 = L[i1 + b], x2 = L[i2 + b], x3 = L[i3 + b];
        C[ca + b] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        C[cb + b] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
      }
      C[cb + a + 1] += b0 * L[i0 + a + 1] + b1 * L[i1 + a + 1] + b2 * L[i2 + a + 1] + b3 * L[i3 + a + 1];
    }
    for (; a < r; a++) {
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
  // Row j of L at pivot j holds L_SS[j, 0..j]; F is [r, r].
  const pivotRow = Int32Array.from(c.pivots, (p) => p * s);
  const fRow = Int32Array.from({ length: r }, (_, j) => j * r);
  const v = [new Float64Array(r), new Float64Array(r), new Float64Array(r), new Float64Array(r)];
  // Four test points at a time: each load of a triangular row serves four multiply-adds.
  for (let col = 0; col < b; col += 4) {
    const w = Math.min(4, b - col);
    for (let k = 0; k < 4; k++) for (let j = 0; j < r; j++) v[k][j] = k < w ? kSt.data[j * b + col + k] : 0;
    lowerSolve4(c.L, pivotRow, r, v); // l* = L_SS^{-1} k(S, x*)
    const q = v.map((x) => x.reduce((acc, e) => acc + e * e, 0));
    lowerSolve4(c.F, fRow, r, v); // F^{-1} l*
    for (let k = 0; k < w; k++) {
      const e = Math.max(kss[col + k] - q[k], 0);
      residual[col + k] = e;
      variance[col + k] = e + v[k].reduce((acc, x) => acc + x * x, 0);
    }
  }
  return { variance, residual };
}

/** v_k <- A^{-1} v_k for four vectors; A lower triangular, its row j at A[row[j] .. row[j] + j]. */
function lowerSolve4(A: Float64Array, row: Int32Array, r: number, v: Float64Array[]): void {
  const [v0, v1, v2, v3] = v;
  for (let j = 0; j < r; j++) {
    const o = row[j];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let q = 0; q < j; q++) {
      const a = A[o + q];
      s0 += a * v0[q];
      s1 += a * v1[q];
      s2 += a * v2[q];
      s3 += a * v3[q];
    }
    const d = A[o + j];
    v0[j] = (v0[j] - s0) / d;
    v1[j] = (v1[j] - s1) / d;
    v2[j] = (v2[j] - s2) / d;
    v3[j] = (v3[j] - s3) / d;
  }
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
