// A^{-1} from A's Cholesky factor L, for the exact MLL gradient
// (M = (alpha alpha^T - A^{-1}) / 2 needs the whole inverse). Both passes are
// n^3 / 6 contiguous dot products: U = L^{-T} (upper triangular, row j is
// column j of L^{-1}), then A^{-1}[a, b] = sum_{i >= a} U[a, i] U[b, i] for b <= a.

import { type Mat, mat } from "../algorithms/matrix";

/** sum_{k = from}^{to - 1} x[xo + k] y[yo + k], four accumulators. */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, from: number, to: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = from;
  for (; k + 3 < to; k += 4) {
    s0 += x[xo + k] * y[yo + k];
    s1 += x[xo + k + 1] * y[yo + k + 1];
    s2 += x[xo + k + 2] * y[yo + k + 2];
    s3 += x[xo + k + 3] * y[yo + k + 3];
  }
  for (; k < to; k++) s0 += x[xo + k] * y[yo + k];
  return s0 + s1 + s2 + s3;
}

/** shapes: L [n, n] lower triangular -> A^{-1} [n, n] symmetric */
export function choleskyInverse(L: Mat): Mat {
  const n = L.rows;
  const Ld = L.data;
  // U[j, i] = (L^{-1})[i, j]: forward substitution for column j of L^{-1}.
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const uj = j * n;
    U[uj + j] = 1 / Ld[j * n + j];
    for (let i = j + 1; i < n; i++) U[uj + i] = -dot(Ld, i * n, U, uj, j, i) / Ld[i * n + i];
  }
  const out = mat(n, n);
  const A = out.data;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      const v = dot(U, a * n, U, b * n, a, n);
      A[a * n + b] = v;
      A[b * n + a] = v;
    }
  }
  return out;
}
