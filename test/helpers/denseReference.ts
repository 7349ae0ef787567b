// Seeded matrices and textbook dense algebra that the dense-kernel tests
// compare the library against (written here, independent of lib/algorithms).

import { type Mat, mat } from "../../lib/algorithms/matrix";

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
