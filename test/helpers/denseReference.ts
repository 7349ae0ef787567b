// Seeded matrices and textbook dense algebra that the dense-kernel tests
// compare the library against (written here, independent of lib/algorithms).

import { type Mat, mat } from "../../lib/algorithms/matrix";
import { RandomSource } from "../../lib/random";

/** Uniform numbers in [-0.5, 0.5) from a 32-bit linear congruential generator. */
export function centredRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** A seeded [rows, cols] matrix of centredRng numbers. */
export function randomMat(rows: number, cols: number, seed: number): Mat {
  return mat(rows, cols, Float64Array.from({ length: rows * cols }, centredRng(seed)));
}

/** L X = B by the textbook loop, one column at a time (reads L's lower triangle only). */
export function substituteLower(L: Mat, B: Mat): Mat {
  const n = L.rows, t = B.cols, X = mat(n, t, B.data.slice());
  for (let c = 0; c < t; c++) {
    for (let i = 0; i < n; i++) {
      let s = X.data[i * t + c];
      for (let k = 0; k < i; k++) s -= L.data[i * n + k] * X.data[k * t + c];
      X.data[i * t + c] = s / L.data[i * n + i];
    }
  }
  return X;
}

/** L^T X = B by the textbook loop, backwards (reads L's lower triangle only). */
export function substituteUpper(L: Mat, B: Mat): Mat {
  const n = L.rows, t = B.cols, X = mat(n, t, B.data.slice());
  for (let c = 0; c < t; c++) {
    for (let i = n - 1; i >= 0; i--) {
      let s = X.data[i * t + c];
      for (let k = i + 1; k < n; k++) s -= L.data[k * n + i] * X.data[k * t + c];
      X.data[i * t + c] = s / L.data[i * n + i];
    }
  }
  return X;
}

/** a @ b by the textbook triple loop. shapes: [n, k] @ [k, m] -> [n, m] */
export function product(a: Mat, b: Mat): Mat {
  const out = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let p = 0; p < a.cols; p++) s += a.data[i * a.cols + p] * b.data[p * b.cols + j];
      out.data[i * b.cols + j] = s;
    }
  }
  return out;
}

/** a^T, element by element. */
export function transposed(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  return out;
}

/** The lower (or upper) triangle of a, zeros elsewhere. */
export function triangle(a: Mat, lower: boolean): Mat {
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) if (lower ? j <= i : j >= i) out.data[i * a.cols + j] = a.data[i * a.cols + j];
  return out;
}

/**
 * A seeded SPD matrix, row-major n x n: RBF (lengthscale 1) on n points
 * drawn from `draw` in [-2, 2)^3 (3n draws, in order), plus 0.05 on the
 * diagonal. Callers that need more draws from the same stream pass it on.
 */
export function rbfSpd(n: number, draw: () => number): Float64Array {
  const X = Array.from({ length: n }, () => [draw() * 4, draw() * 4, draw() * 4]);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let d2 = 0;
      for (let k = 0; k < 3; k++) d2 += (X[i][k] - X[j][k]) ** 2;
      A[i * n + j] = Math.exp(-d2 / 2) + (i === j ? 0.05 : 0);
    }
  }
  return A;
}

/** Dense L L^T + diag(d). L: [n, k]; shape: [n, n] */
export function lowRankPlusDiagDense(L: Mat, d: Float64Array): Float64Array {
  const n = L.rows, k = L.cols;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += L.data[i * k + q] * L.data[j * k + q];
      A[i * n + j] = s + (i === j ? d[i] : 0);
    }
  }
  return A;
}

/**
 * The t samples of N(0, L L^T + diag(d)) that LowRankPlusDiag.sample(new
 * RandomSource(seed), t) should draw, written out: e1 = normals(k t) first
 * (row q, column c at q t + c), then one normal per entry in row-major
 * order, z[i, c] = L[i, :] e1[:, c] + sqrt(d[i]) e2[i, c]. shape: [n, t]
 */
export function lowRankPlusDiagSamples(L: Mat, d: Float64Array, seed: number, t: number): Float64Array {
  const n = L.rows, k = L.cols;
  const draws = new RandomSource(seed);
  const e1 = draws.normals(k * t);
  const z = new Float64Array(n * t);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < t; c++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += L.data[i * k + q] * e1[q * t + c];
      z[i * t + c] = s + Math.sqrt(d[i]) * draws.normal();
    }
  }
  return z;
}
