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
import { choleskyWithJitter, solveLower } from "../algorithms/cholesky";
import { type Mat, mat, matmulTransposedRight, weightedGramLower } from "../algorithms/matrix";
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
  /** L at the pivots, in pivot order: lower triangular, K(S, S) = Lss Lss^T. shape: [r, r] */
  Lss: Mat;
  /** Largest residual prior variance left on the training points. */
  maxTrainResidual: number;
  /** True when maxRank stopped the pivoting before the tolerance was met. */
  capped: boolean;
}

/** Pivots taken per pass over the factor (see pivotBlock). */
const PIVOT_BLOCK = 32;
/** A block candidate is kept while its updated residual is at least this share of the best one outside the block. */
const ACCEPT_SHARE = 0.5;

/**
 * Adaptive-rank pivoted Cholesky of K (training prior covariance, n x n, lazy:
 * only its diagonal and the pivot rows are read) and the capacitance factor.
 */
export function buildPivotedVariance(K: LinearOperator, noise: Float64Array, o: PivotedVarianceOptions): PivotedVarianceCache {
  const n = K.shape[0];
  const maxRank = Math.max(1, Math.min(o.maxRank, n));
  const minNoise = noise.reduce((a, b) => Math.min(a, b), Infinity);
  const stop = o.tolerance * minNoise;
  // L's row stride starts small and doubles as the rank grows (n x maxRank up front would be 0.8 GB at
  // n = 100,000); strides are kept off powers of two, which alias in cache.
  const stride0 = Math.min(maxRank, 264);
  const f: Factor = { n, stride: stride0, L: new Float64Array(n * stride0), res: K.diagonalF64(), used: new Uint8Array(n), pivots: [] };
  let maxResidual = f.res.reduce((a, b) => Math.max(a, b), 0);
  while (f.pivots.length < maxRank && maxResidual > stop) {
    checkInterrupt("pivoted Cholesky");
    const b = Math.min(PIVOT_BLOCK, maxRank - f.pivots.length);
    if (f.pivots.length + b > f.stride) widen(f, Math.min(maxRank, 2 * f.stride + 8));
    if (pivotBlock(K, f, b, stop) === 0) break;
    maxResidual = 0;
    for (let i = 0; i < n; i++) if (!f.used[i] && f.res[i] > maxResidual) maxResidual = f.res[i];
  }
  const r = f.pivots.length;
  const F = capacitanceFactor(f.L, f.stride, r, noise);
  const Lss = mat(r, r);
  f.pivots.forEach((p, j) => Lss.data.set(f.L.subarray(p * f.stride, p * f.stride + j + 1), j * r));
  return { pivots: Int32Array.from(f.pivots), L: f.L, stride: f.stride, rank: r, noise, F, Lss, maxTrainResidual: maxResidual, capped: maxResidual > stop };
}

/** Copies L into a wider row stride. */
function widen(f: Factor, stride: number): void {
  const L = new Float64Array(f.n * stride);
  const j = f.pivots.length;
  for (let i = 0; i < f.n; i++) L.set(f.L.subarray(i * f.stride, i * f.stride + j), i * stride);
  f.L = L;
  f.stride = stride;
}

interface Factor {
  n: number;
  stride: number;
  /** shape: [n, stride], the first pivots.length columns filled */
  L: Float64Array;
  /** Residual diagonal of K - L L^T. shape: [n] */
  res: Float64Array;
  used: Uint8Array;
  pivots: number[];
}

/**
 * Adds up to b pivots. One column at a time, pivoted Cholesky spends n j
 * multiply-adds per column in scalar JS; here the b largest residuals are
 * candidates, their Schur columns K[:, c] - L L[c, :]^T come from one GEMM
 * (WebAssembly SIMD, lib/algorithms/wasmGemm.ts), and a pivoted Cholesky
 * among the candidates keeps those whose updated residual stays at least
 * ACCEPT_SHARE x the largest residual outside the block — near-duplicates
 * of a pivot just taken drop out, as the one-at-a-time order would have
 * skipped them (measured: rank 513 vs 509 for the same tolerance). Returns
 * the number of pivots added (at least one while any residual is > stop).
 */
function pivotBlock(K: LinearOperator, f: Factor, b: number, stop: number): number {
  const { n, stride, L, res, used } = f;
  const j0 = f.pivots.length;
  const cand = largestUnused(res, used, b + 1);
  const outside = cand.length > b ? res[cand[b]] : 0;
  const c = cand.slice(0, b);
  const m = c.length;
  if (m === 0) return 0;
  const rows = K.rowsF64(Int32Array.from(c)).data; // [m, n]
  const G = new Float64Array(n * m); // Schur columns at the candidates. [n, m]
  for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) G[i * m + k] = rows[k * n + i];
  if (j0 > 0) {
    const A = mat(n, j0); // L[:, :j0]
    for (let i = 0; i < n; i++) A.data.set(L.subarray(i * stride, i * stride + j0), i * j0);
    const B = mat(m, j0); // L[c, :j0]
    c.forEach((p, k) => B.data.set(L.subarray(p * stride, p * stride + j0), k * j0));
    const P = matmulTransposedRight(A, B).data;
    for (let i = 0; i < n * m; i++) G[i] -= P[i];
  }
  const taken = new Uint8Array(m);
  let a = 0;
  for (; a < m; a++) {
    let k = -1, best = 0;
    for (let q = 0; q < m; q++) {
      if (!taken[q] && res[c[q]] > best) {
        best = res[c[q]];
        k = q;
      }
    }
    if (k < 0 || best <= stop || best < ACCEPT_SHARE * outside) break;
    taken[k] = 1;
    const p = c[k];
    used[p] = 1;
    f.pivots.push(p);
    const scale = 1 / Math.sqrt(best);
    const col = j0 + a, pr = p * stride + j0;
    for (let i = 0; i < n; i++) {
      const ir = i * stride;
      const v = (G[i * m + k] - dot(L, ir + j0, L, pr, a)) * scale;
      L[ir + col] = v;
      res[i] -= v * v;
    }
  }
  return a;
}

/** Indices of the k largest positive res among unused entries, largest first. */
function largestUnused(res: Float64Array, used: Uint8Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < res.length; i++) {
    if (used[i] || !(res[i] > 0)) continue;
    if (idx.length === k && res[i] <= res[idx[k - 1]]) continue;
    if (idx.length === k) idx.pop();
    let pos = idx.length;
    while (pos > 0 && res[idx[pos - 1]] < res[i]) pos--;
    idx.splice(pos, 0, i);
  }
  return idx;
}

/** Cholesky of I + L^T D^{-1} L (the Gram product by WebAssembly SIMD GEMM: 2.3x the best JS loop, measured). */
function capacitanceFactor(L: Float64Array, stride: number, r: number, noise: Float64Array): Float64Array {
  const n = noise.length;
  const Lt = mat(r, n);
  for (let i = 0; i < n; i++) for (let a = 0; a < r; a++) Lt.data[a * n + i] = L[i * stride + a];
  const C = weightedGramLower(Lt, noise.map((v) => 1 / v)).data; // lower triangle
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
  const r = c.rank, b = kss.length;
  const l = solveLower(c.Lss, kSt); // l* = L_SS^{-1} k(S, x*) [r, b]
  const w = solveLower(mat(r, r, c.F), l); // F^{-1} l* [r, b]
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
