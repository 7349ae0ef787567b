// A^{-1} from A's Cholesky factor L, for the exact MLL gradient
// (M = (alpha alpha^T - A^{-1}) / 2 needs the whole inverse). Two passes of
// n^3 / 6 with contiguous row operations: L^{-1} row by row, then
// A^{-1} = L^{-T} L^{-1} as a sum of outer products of L^{-1}'s rows.

import { type Mat, mat } from "../algorithms/matrix";

/** shapes: L [n, n] lower triangular -> A^{-1} [n, n] symmetric */
export function choleskyInverse(L: Mat): Mat {
  const n = L.rows;
  const Ld = L.data;
  const Li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    // row i of L^{-1} = (e_i - sum_{k<i} L[i,k] row_k) / L[i,i]
    for (let k = 0; k < i; k++) {
      const lik = Ld[ri + k];
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) Li[ri + j] -= lik * Li[rk + j];
    }
    Li[ri + i] += 1;
    const inv = 1 / Ld[ri + i];
    for (let j = 0; j <= i; j++) Li[ri + j] *= inv;
  }
  const out = mat(n, n);
  const A = out.data;
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let a = 0; a <= i; a++) {
      const va = Li[ri + a];
      if (va === 0) continue;
      const ra = a * n;
      for (let b = 0; b <= a; b++) A[ra + b] += va * Li[ri + b];
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) A[b * n + a] = A[a * n + b];
  return out;
}
