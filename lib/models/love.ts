// LOVE (Pleiss et al. 2018), GPyTorch's fast predictive variances: one
// Lanczos run on K^ = K + noise gives K^ ~ Q T Q^T, hence an inverse root
// R = Q V diag(lambda^{-1/2}) [n, k] with K^^{-1} ~ R R^T on the Krylov space,
// and var(x*) = k** - ||R^T k(X, x*)||^2 costs O(n k) per test point instead
// of a CG solve per test point.

import { lanczos } from "../algorithms/lanczos";
import { type Mat, mat } from "../algorithms/matrix";
import type { ResolvedSolveOptions } from "../algorithms/settings";
import { tridiagonalEigen } from "../algorithms/tridiagonal";
import type { LinearOperator } from "../operators/LinearOperator";

/**
 * R with R R^T ~ A^{-1} from `iterations` Lanczos steps, started at `start`
 * (the training residual: the direction predictions care about) or at random.
 * shape: [n, k]
 */
export function lanczosInverseRoot(A: LinearOperator, o: ResolvedSolveOptions, iterations: number): Mat {
  const n = A.shape[0];
  const l = lanczos((v) => A.matmulF64(v), n, iterations, o.random);
  const k = l.diag.length;
  const { values, vectors } = tridiagonalEigen(l.diag, l.offDiag);
  const R = mat(n, k);
  const scale = new Float64Array(k);
  // Ritz values below the noise floor are numerical noise: drop them.
  const top = values.reduce((a, b) => Math.max(a, b), 0);
  for (let j = 0; j < k; j++) scale[j] = values[j] > 1e-12 * top ? 1 / Math.sqrt(values[j]) : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += l.Q.data[i * k + q] * vectors[q * k + j];
      R.data[i * k + j] = s * scale[j];
    }
  }
  return R;
}
