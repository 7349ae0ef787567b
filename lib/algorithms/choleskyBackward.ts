// Reverse-mode derivative of the Cholesky factorisation, in f64.
//
// With A = L L^T and dL/dA written through dA = dL L^T + L dL^T:
// L^{-1} dA L^{-T} = L^{-1} dL + (L^{-1} dL)^T, and L^{-1} dL is lower
// triangular, so dL = L Phi(L^{-1} dA L^{-T}) with Phi(X) = the lower
// triangle of X with its diagonal halved. Phi is self-adjoint, hence for a
// gradient Lbar = dF/dL:  dF/dA = L^{-T} Phi(L^T Lbar) L^{-1}  (Murray 2016),
// symmetrised because A only moves symmetrically.

import { solveLowerTransposed } from "./cholesky";
import { type Mat, mat, transposeMat, triangularMatmul } from "./matrix";

/**
 * dF/dA from L = chol(A) and Lbar = dF/dL (only its lower triangle is read).
 * shapes: L [n, n], Lbar [n, n] -> [n, n] symmetric
 */
export function choleskyBackward(L: Mat, Lbar: Mat): Mat {
  const n = L.rows;
  // P = Phi(L^T tril(Lbar)), lower triangle only.
  const lowerBar = mat(n, n);
  for (let i = 0; i < n; i++) lowerBar.data.set(Lbar.data.subarray(i * n, i * n + i + 1), i * n);
  const P = triangularMatmul(L, lowerBar, { transpose: true });
  for (let i = 0; i < n; i++) {
    P.data.fill(0, i * n + i + 1, (i + 1) * n);
    P.data[i * n + i] /= 2;
  }
  // X = L^{-T} P, then Abar = X L^{-1} = (L^{-T} X^T)^T.
  const X = solveLowerTransposed(L, P);
  const Abar = transposeMat(solveLowerTransposed(L, transposeMat(X)));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const s = 0.5 * (Abar.data[i * n + j] + Abar.data[j * n + i]);
      Abar.data[i * n + j] = s;
      Abar.data[j * n + i] = s;
    }
  }
  return Abar;
}
