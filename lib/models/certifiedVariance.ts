// Predictive variances with a certified error bound: varianceMethod "auto",
// the default of ExactGP.predict above maxCholeskySize.
//
// A = K + D is the training system (D the noise), P = L L^T + D its
// pivoted-Cholesky approximation, E = K - L L^T >= 0 the pivoting residual
// (diagonal E_ii, trace tr E). The exact variance at a test point with
// training covariances k [n] and prior variance k** is v = k** - k^T A^{-1} k.
//
// Stage 1, every test point, from the factor alone (no kernel products):
//   lower bound: A >= P, so k^T A^{-1} k <= k^T P^{-1} k and
//     v >= vP = k** - k^T P^{-1} k;
//   upper bound: for any x, k^T A^{-1} k >= 2 k^T x - x^T A x; with
//     x = P^{-1} k this is k^T P^{-1} k - x^T E x, and E >= 0 gives
//     x^T E x <= min(tr E |x|^2, (sum_i |x_i| sqrt(E_ii))^2)
//     (the second from |E_ij| <= sqrt(E_ii E_jj)).
// vP is returned with the bracket width as its error bound.
// k^T P^{-1} k is not computed by the Woodbury formula directly: at small
// noise its two terms are ~|k|^2 / noise and cancel (measured: the bound
// then failed by rounding at noise 2e-4). With l = Lss^{-1} k_S (the test
// point's row of the factor), e = k - L l (its residual covariance, small),
// g = L^T D^{-1} e and C = I + L^T D^{-1} L = F F^T:
//   vP = e** + |F^{-1}(l - g)|^2 - e^T D^{-1} e,   e** = k** - |l|^2,
//   x  = D^{-1}(e + L C^{-1}(l - g)),
// sums of small terms; three [n, r] x [r, t] products on the WebAssembly GEMM.
//
// Stage 2, the points whose bracket is wider than the tolerance: conjugate
// gradients on A x = k preconditioned by P, started at x = P^{-1} k. For any
// x with residual r = k - A x,
//   k^T A^{-1} k = k^T x + r^T x + r^T A^{-1} r,  0 <= r^T A^{-1} r <= r^T P^{-1} r
// (A >= P again), so each iteration brackets v within r^T P^{-1} r, a
// quantity CG computes anyway; a column stops once its bracket is within
// the tolerance. The first iteration already leaves a second-order bracket
// (r = -E x): measured 1e-7 .. 5e-6 relative at n = 2,000.

import { solveLower, solveLowerTransposed } from "../algorithms/cholesky";
import { type Mat, mat, matmulMat, matmulTransposedLeft } from "../algorithms/matrix";
import { checkInterrupt } from "../reductions/interrupt";
import type { PivotedVarianceCache } from "./pivotedVariance";

/** Relative rounding allowance added to every bracket (terms are O(k**) and summed over r and n). */
const ROUNDING = 1e-13;

export interface VarianceBracket {
  /** Returned variances. shape: [b] */
  variance: Float64Array;
  /** Certified: |variance - exact| <= errorBound (in exact arithmetic, plus a rounding allowance). shape: [b] */
  errorBound: Float64Array;
  /** Certified lower bound on the exact variance. shape: [b] */
  lower: Float64Array;
}

/**
 * Stage 1: certified variances from the pivoted factor.
 * Kxt: K(X, x*) [n, b]; kSt: K(S, x*) at the pivots [r, b]; kss: k(x*, x*) [b].
 * Also returns x = P^{-1} k [n, b], the start of stage 2.
 */
export function pivotedVarianceBracket(c: PivotedVarianceCache, Kxt: Mat, kSt: Mat, kss: Float64Array): VarianceBracket & { start: Mat } {
  const n = Kxt.rows, b = Kxt.cols, r = c.rank;
  const L = c.woodbury.L, noise = c.noise;
  const l = solveLower(c.Lss, kSt); // [r, b]
  // e = k - L l, in place of L l [n, b]
  const e = r > 0 ? matmulMat(L, l).data : new Float64Array(n * b);
  const De = new Float64Array(n * b); // D^{-1} e
  for (let i = 0; i < n; i++) {
    const inv = 1 / noise[i];
    for (let j = 0; j < b; j++) {
      const p = i * b + j;
      e[p] = Kxt.data[p] - e[p];
      De[p] = e[p] * inv;
    }
  }
  const g = r > 0 ? matmulTransposedLeft(L, mat(n, b, De)).data : new Float64Array(0); // L^T D^{-1} e [r, b]
  const h = mat(r, b);
  for (let p = 0; p < r * b; p++) h.data[p] = l.data[p] - g[p];
  const w = solveLower(c.woodbury.capacitanceFactor, h); // F^{-1} (l - g)
  const u = solveLowerTransposed(c.woodbury.capacitanceFactor, w); // C^{-1} (l - g)
  // x = D^{-1} (e + L u), in place of L u [n, b]
  const x = mat(n, b, r > 0 ? matmulMat(L, u).data : new Float64Array(n * b));
  const lSq = new Float64Array(b), wSq = new Float64Array(b), eDe = new Float64Array(b);
  const xSq = new Float64Array(b), xE = new Float64Array(b);
  for (let q = 0; q < r; q++) {
    for (let j = 0; j < b; j++) {
      lSq[j] += l.data[q * b + j] ** 2;
      wSq[j] += w.data[q * b + j] ** 2;
    }
  }
  for (let i = 0; i < n; i++) {
    const inv = 1 / noise[i], sqE = c.residualSqrt[i];
    for (let j = 0; j < b; j++) {
      const p = i * b + j;
      eDe[j] += e[p] * De[p];
      const xi = (e[p] + x.data[p]) * inv;
      x.data[p] = xi;
      xSq[j] += xi * xi;
      xE[j] += Math.abs(xi) * sqE;
    }
  }
  const variance = new Float64Array(b), errorBound = new Float64Array(b), lower = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    const eStar = kss[j] - lSq[j];
    const rounding = ROUNDING * (Math.abs(kss[j]) + lSq[j] + wSq[j] + eDe[j]);
    variance[j] = eStar + wSq[j] - eDe[j];
    lower[j] = variance[j] - rounding;
    errorBound[j] = Math.min(c.residualTrace * xSq[j], xE[j] ** 2) + rounding;
  }
  return { variance, errorBound, lower, start: x };
}

export interface RefineOptions {
  /** Stop a column when its bound is at most this times its variance's lower bound. */
  relativeTolerance: number;
  /** ... or at most this (absolute; variances below f64 resolution of k**). */
  absoluteFloor: Float64Array;
  maxIterations: number;
}

/**
 * Stage 2: preconditioned CG on A X = K from `start`, with the bracket above.
 * apply: A V; precondition: P^{-1} V. shapes: K, start [n, f]; kss [f].
 */
export function refineVariances(
  apply: (v: Mat) => Mat,
  precondition: (v: Mat) => Mat,
  K: Mat,
  start: Mat,
  kss: Float64Array,
  o: RefineOptions,
): VarianceBracket & { products: number; converged: boolean } {
  const n = K.rows, f = K.cols;
  const X = mat(n, f, start.data.slice());
  const AX = apply(X);
  let products = 1;
  const R = mat(n, f);
  for (let p = 0; p < n * f; p++) R.data[p] = K.data[p] - AX.data[p];
  let Z = precondition(R);
  const Pd = Z.data.slice();
  let rz = dots(R, Z.data);
  const variance = new Float64Array(f), errorBound = new Float64Array(f), lower = new Float64Array(f);
  const active = new Uint8Array(f);
  const bracket = (): void => {
    const kx = dots(K, X.data), rx = dots(R, X.data);
    for (let j = 0; j < f; j++) {
      const qLow = kx[j] + rx[j]; // <= k^T A^{-1} k <= qLow + r^T P^{-1} r
      const width = Math.max(rz[j], 0) + ROUNDING * (Math.abs(kss[j]) + Math.abs(kx[j]));
      variance[j] = kss[j] - qLow - 0.5 * width;
      errorBound[j] = 0.5 * width;
      lower[j] = kss[j] - qLow - width;
      active[j] = errorBound[j] > Math.max(o.relativeTolerance * lower[j], o.absoluteFloor[j]) ? 1 : 0;
    }
  };
  bracket();
  for (let it = 0; it < o.maxIterations && active.some((a) => a); it++) {
    checkInterrupt("variance refinement");
    const cols: number[] = [];
    for (let j = 0; j < f; j++) if (active[j]) cols.push(j);
    const a = cols.length;
    const Pa = mat(n, a);
    for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) Pa.data[i * a + q] = Pd[i * f + cols[q]];
    const APa = apply(Pa).data;
    products++;
    const pAp = new Float64Array(a);
    for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) pAp[q] += Pa.data[i * a + q] * APa[i * a + q];
    for (let q = 0; q < a; q++) {
      const j = cols[q];
      const alpha = pAp[q] > 0 ? rz[j] / pAp[q] : 0;
      for (let i = 0; i < n; i++) {
        X.data[i * f + j] += alpha * Pd[i * f + j];
        R.data[i * f + j] -= alpha * APa[i * a + q];
      }
    }
    Z = precondition(R);
    const rzNew = dots(R, Z.data);
    for (const j of cols) {
      const beta = rz[j] > 0 ? rzNew[j] / rz[j] : 0;
      for (let i = 0; i < n; i++) Pd[i * f + j] = Z.data[i * f + j] + beta * Pd[i * f + j];
    }
    for (let j = 0; j < f; j++) if (active[j]) rz[j] = rzNew[j];
    bracket();
  }
  return { variance, errorBound, lower, products, converged: !active.some((a) => a) };
}

/** Column dots of A [n, f] with B (same layout). shape: [f] */
function dots(A: Mat, B: Float64Array): Float64Array {
  const f = A.cols, out = new Float64Array(f);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < f; j++) out[j] += A.data[i * f + j] * B[i * f + j];
  return out;
}
