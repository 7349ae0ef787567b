// A^{-1} from A's Cholesky factor L in the GEMM arena, for the exact MLL
// gradient (dL/dK = (alpha alpha^T - A^{-1}) / 2 needs the whole inverse).
// Two blocked passes of about n^3 / 6 multiply-adds each, both almost all
// GEMM: X = L^{-1} (lower triangular) by row panels, then the lower
// triangle of A^{-1} = X^T X by row panels. The plain-JS version
// (lib/mlls/choleskyInverse.ts) does the same n^3 / 3 as dot products and
// stays for small n and for when the arena is unavailable.

import { type Mat, mat } from "./matrix";
import { transposeLower } from "./transpose";
import { substituteLowerBlock } from "./triangularKernels";
import { arena, gemm, paddedStride } from "./wasmGemm";

/** Panel height: rows of X (or of A^{-1}) finished per GEMM update. */
const NB = 32;

/**
 * X := L^{-1}, lower triangular, by row panels: rows [i0, i1) of L X = I give
 * X[i0:i1, :] = L[i0:i1, i0:i1]^{-1} (E - L[i0:i1, 0:i0] X[0:i0, :]); the
 * update takes column blocks of X so that only its nonzero lower part is
 * multiplied, the diagonal block is substituted (substituteLowerBlock).
 * X must hold zeros on entry. Row strides ld.
 * shapes: L [n, n] at l, X [n, n] at x
 */
export function lowerInverseInPlace(mem: Float64Array, n: number, l: number, x: number, ld: number): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB), rows = i1 - i0;
    // X[i0:i1, j0:j1] -= L[i0:i1, j0:i0] X[j0:i0, j0:j1] (X[k, j] = 0 for k < j)
    for (let j0 = 0; j0 < i0; j0 += NB) {
      const j1 = Math.min(i0, j0 + NB);
      gemm(mem, rows, j1 - j0, i0 - j0, l + i0 * ld + j0, ld, x + j0 * ld + j0, ld, x + i0 * ld + j0, ld, -1);
    }
    // Columns [0, i1) of the block's rows (X[i, c] = 0 for c > i comes out exactly).
    for (let i = i0; i < i1; i++) mem[x + i * ld + i] = 1;
    substituteLowerBlock(mem, rows, i1, l + i0 * ld + i0, ld, x + i0 * ld, ld);
  }
}

/**
 * The lower triangle (diagonal blocks whole) of X^T X for X lower
 * triangular: (X^T X)[a, b] = sum_{i >= max(a, b)} X[i, a] X[i, b]. xt holds
 * X^T (upper triangular, zeros below). Row strides ld.
 * shapes: X^T [n, n] at xt, X [n, n] at x, out [n, n] at out (zeros on entry)
 */
export function lowerGramOfTriangle(mem: Float64Array, n: number, xt: number, x: number, out: number, ld: number): void {
  for (let a0 = 0; a0 < n; a0 += NB) {
    const a1 = Math.min(n, a0 + NB);
    // Rows a in [a0, a1), columns b < a1: terms i >= a0 (X^T[a, i] = 0 below i = a).
    gemm(mem, a1 - a0, a1, n - a0, xt + a0 * ld + a0, ld, x + a0 * ld, ld, out + a0 * ld, ld);
  }
}

/**
 * A^{-1} = L^{-T} L^{-1} in the arena, or null when the arena cannot hold the
 * four [n, n] blocks (the caller then uses the plain version). Written into
 * `into` when given (reused by callers that invert every iteration: a fresh
 * [n, n] array costs its page faults each time).
 * shapes: L [n, n] lower triangular -> [n, n] symmetric
 */
export function choleskyInverseBlocked(L: Mat, into?: Float64Array): Mat | null {
  const n = L.rows, ld = paddedStride(n), block = n * ld;
  const mem = arena(4 * block);
  if (!mem) return null;
  const l = 0, x = block, xt = 2 * block, out = 3 * block;
  mem.fill(0, x, 4 * block);
  const Ld = L.data;
  for (let i = 0; i < n; i++) mem.set(Ld.subarray(i * n, i * n + i + 1), l + i * ld);
  lowerInverseInPlace(mem, n, l, x, ld);
  transposeLower(mem, x, ld, mem, xt, ld, n);
  lowerGramOfTriangle(mem, n, xt, x, out, ld);
  const inv = mat(n, n, into?.subarray(0, n * n));
  const V = inv.data;
  for (let a = 0; a < n; a++) V.set(mem.subarray(out + a * ld, out + a * ld + a + 1), a * n);
  // The upper triangle from the lower one.
  transposeLower(V, 0, n, V, 0, n, n);
  return inv;
}
