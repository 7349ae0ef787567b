// A^{-1} from A's Cholesky factor L, for the exact MLL gradient
// (M = (alpha alpha^T - A^{-1}) / 2 needs the whole inverse). Above a few
// dozen rows it runs blocked in the GEMM arena (algorithms/choleskyInverse.ts);
// below, and when the arena is unavailable, as contiguous dot products:
// U = L^{-T} (upper triangular, row j is column j of L^{-1}), then
// A^{-1}[a, b] = sum_{i >= a} U[a, i] U[b, i] for b <= a, n^3 / 3 in all.

import { type RankOneMinusInverse, choleskyInverseBlocked } from "../algorithms/choleskyInverse";
import { type Mat, dotAt, mat } from "../algorithms/matrix";
import { WASM_MIN_WORK, denseRoutine } from "../algorithms/wasmGemm";

/**
 * Written into `out` (at least n * n long) when given; with `rankOne`,
 * s (v v^T - A^{-1}) instead (the exact MLL's gradient weights, in the same
 * pass that copies the inverse out).
 * shapes: L [n, n] lower triangular -> A^{-1} [n, n] symmetric
 */
export function choleskyInverse(L: Mat, out?: Float64Array, rankOne?: RankOneMinusInverse): Mat {
  const n = L.rows;
  if ((n * n * n) / 3 >= WASM_MIN_WORK) {
    const blocked = denseRoutine((n * n * n) / 3, () => choleskyInverseBlocked(L, out, rankOne));
    if (blocked) return blocked;
  }
  const plain = choleskyInversePlain(L);
  const result = out ? mat(n, n, out.subarray(0, n * n)) : plain;
  if (rankOne) {
    const { v, s } = rankOne, P = plain.data, R = result.data;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = s * (v[i] * v[j] - P[i * n + j]);
  } else if (out) result.data.set(plain.data);
  return result;
}

/** The dot-product version (the reference the blocked one is tested against). shapes: L [n, n] -> [n, n] */
export function choleskyInversePlain(L: Mat): Mat {
  const n = L.rows;
  const Ld = L.data;
  // U[j, i] = (L^{-1})[i, j]: forward substitution for column j of L^{-1}.
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const uj = j * n;
    U[uj + j] = 1 / Ld[j * n + j];
    for (let i = j + 1; i < n; i++) U[uj + i] = -dotAt(Ld, i * n + j, U, uj + j, i - j) / Ld[i * n + i];
  }
  const out = mat(n, n);
  const A = out.data;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      const v = dotAt(U, a * n + a, U, b * n + a, n - a);
      A[a * n + b] = v;
      A[b * n + a] = v;
    }
  }
  return out;
}
