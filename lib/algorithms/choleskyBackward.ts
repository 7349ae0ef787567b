// Reverse-mode derivative of the Cholesky factorisation, in f64.
//
// With A = L L^T and dL/dA written through dA = dL L^T + L dL^T:
// L^{-1} dA L^{-T} = L^{-1} dL + (L^{-1} dL)^T, and L^{-1} dL is lower
// triangular, so dL = L Phi(L^{-1} dA L^{-T}) with Phi(X) = the lower
// triangle of X with its diagonal halved. Phi is self-adjoint, hence for a
// gradient Lbar = dF/dL:  dF/dA = L^{-T} Phi(L^T Lbar) L^{-1}  (Murray 2016),
// symmetrised because A only moves symmetrically:
//   dF/dA = L^{-T} S L^{-1},  S = (P + P^T) / 2,  P = Phi(L^T Lbar)
// Work, with U = L^T (about 5/6 n^3 multiply-adds where the textbook
// route, a product and two full solves, takes 3/2 n^3):
//   G = tril(U Lbar)         n^3 / 6  (upper times lower, lower part)
//   X = U^{-1} S             n^3 / 2  (S_ij = G_max(i,j),min(i,j) / 2)
//   tril(U^{-1} X^T)         n^3 / 6  (= tril(L^{-T} S L^{-1}), S symmetric)

import { solveUpperColumns } from "./columnTasks";
import { type Mat, mat } from "./matrix";
import { solveUpperLowerPart, upperTimesLowerPanels } from "./lowerTriangleProducts";
import { transposeInto, transposeLower } from "./transpose";
import { arena } from "./wasmGemm";

/**
 * dF/dA into `out` (full, symmetric), on `mem` (the arena or a plain array).
 * U = L^T at u has zeros below its diagonal; Lbar at lbar holds dF/dL with
 * zeros above the diagonal and is overwritten; scratch needs n^2 f64s.
 * shapes: U, Lbar, scratch [n, n] (row stride n) -> out [n, n]
 */
export function choleskyBackwardInto(mem: Float64Array, n: number, u: number, lbar: number, scratch: number, out: Float64Array): void {
  const nn = n * n, s = scratch;
  mem.fill(0, s, s + nn);
  upperTimesLowerPanels(mem, n, u, lbar, s);
  symmetricFromLowerInPlace(mem, n, s, 0.5);
  inverseSandwichInto(mem, n, u, s, lbar, out);
}

/**
 * The symmetric matrix whose lower triangle is alpha times the lower
 * triangle at s (diagonal included), in place (mirrored in cache-sized tiles).
 * shapes: [n, n] at s (row stride n)
 */
export function symmetricFromLowerInPlace(mem: Float64Array, n: number, s: number, alpha: number): void {
  for (let i = 0; i < n; i++) {
    const r = s + i * n;
    for (let j = 0; j <= i; j++) mem[r + j] *= alpha;
  }
  transposeLower(mem, s, n, mem, s, n, n);
}

/**
 * out = U^{-1} S U^{-T} (= L^{-T} S L^{-1} for U = L^T) for a symmetric S,
 * in 2/3 n^3 multiply-adds: X = U^{-1} S (n^3 / 2), then the lower triangle
 * of U^{-1} X^T (n^3 / 6), mirrored. S at s is overwritten, as is the
 * scratch at t. shapes: U [n, n] upper at u, S, scratch [n, n] (row stride n) -> out [n, n]
 */
export function inverseSandwichInto(mem: Float64Array, n: number, u: number, s: number, t: number, out: Float64Array): void {
  solveUpperColumns(mem, n, n, u, s, n);
  transposeInto(mem, s, n, mem, t, n, n, n);
  solveUpperLowerPart(mem, n, u, t);
  for (let i = 0; i < n; i++) out.set(mem.subarray(t + i * n, t + i * n + i + 1), i * n);
  transposeLower(out, 0, n, out, 0, n, n);
}

/**
 * dF/dA from L = chol(A) and Lbar = dF/dL (only its lower triangle is read).
 * shapes: L [n, n], Lbar [n, n] -> [n, n] symmetric
 */
export function choleskyBackward(L: Mat, Lbar: Mat): Mat {
  const n = L.rows, nn = n * n;
  const mem = arena(3 * nn) ?? new Float64Array(3 * nn);
  const u = 0, lbar = nn, scratch = 2 * nn;
  mem.fill(0, 0, 2 * nn);
  transposeLower(L.data, 0, n, mem, u, n, n);
  for (let i = 0; i < n; i++) mem.set(Lbar.data.subarray(i * n, i * n + i + 1), lbar + i * n);
  const out = mat(n, n);
  choleskyBackwardInto(mem, n, u, lbar, scratch, out.data);
  return out;
}
