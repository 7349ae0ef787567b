// Triangular solves and products on one Float64Array (the GEMM arena),
// blocked so that almost all the work is GEMM updates of NB-row panels:
// with L [n, n] and X [n, t], a solve spends n^2 t / 2 multiply-adds of which
// only n NB t / 2 are in the diagonal blocks, done row by row (still through
// gemm, one row at a time). Matrices are row-major; triangles have row
// stride n, the [n, t] blocks a stride ld >= t (see paddedStride); offsets
// are in elements. Substitution order and the
// division by the pivot match the textbook loops, so results agree with
// them to rounding.

import { gemm } from "./wasmGemm";

/** Panel height: the diagonal blocks cost NB / n of a solve. */
const NB = 32;

/** X := L^{-1} X. shapes: L [n, n] lower at l, X [n, t] at x (row stride ld) */
export function solveLowerInPlace(mem: Float64Array, n: number, t: number, l: number, x: number, ld = t): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB);
    gemm(mem, i1 - i0, t, i0, l + i0 * n, n, x, ld, x + i0 * ld, ld, -1);
    for (let i = i0; i < i1; i++) {
      gemm(mem, 1, t, i - i0, l + i * n + i0, n, x + i0 * ld, ld, x + i * ld, ld, -1);
      const d = mem[l + i * n + i], xi = x + i * ld;
      for (let c = 0; c < t; c++) mem[xi + c] /= d;
    }
  }
}

/** X := U^{-1} X. shapes: U [n, n] upper at u, X [n, t] at x (row stride ld) */
export function solveUpperInPlace(mem: Float64Array, n: number, t: number, u: number, x: number, ld = t): void {
  for (let i1 = n; i1 > 0; i1 -= NB) {
    const i0 = Math.max(0, i1 - NB);
    gemm(mem, i1 - i0, t, n - i1, u + i0 * n + i1, n, x + i1 * ld, ld, x + i0 * ld, ld, -1);
    for (let i = i1 - 1; i >= i0; i--) {
      gemm(mem, 1, t, i1 - i - 1, u + i * n + i + 1, n, x + (i + 1) * ld, ld, x + i * ld, ld, -1);
      const d = mem[u + i * n + i], xi = x + i * ld;
      for (let c = 0; c < t; c++) mem[xi + c] /= d;
    }
  }
}

/**
 * out += T X with T triangular (only its triangle is read, by blocks: the
 * other triangle of each diagonal block must hold zeros).
 * shapes: T [n, n] at tri, X [n, t] at x, out [n, t] at out (both row stride ld)
 */
export function triangularMatmulInto(mem: Float64Array, n: number, t: number, tri: number, lower: boolean, x: number, out: number, ld = t): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB);
    if (lower) gemm(mem, i1 - i0, t, i1, tri + i0 * n, n, x, ld, out + i0 * ld, ld);
    else gemm(mem, i1 - i0, t, n - i0, tri + i0 * n + i0, n, x + i0 * ld, ld, out + i0 * ld, ld);
  }
}

/**
 * The lower block triangle of out += alpha A B (rows i, columns j < the end
 * of i's panel); entries above the diagonal inside the diagonal panels are
 * computed too. shapes: A [n, k] at a, B [k, n] at b, out [n, n] at out
 */
export function lowerProductInto(mem: Float64Array, n: number, k: number, a: number, b: number, out: number, alpha = 1): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB);
    gemm(mem, i1 - i0, i1, k, a + i0 * k, k, b, n, out + i0 * n, n, alpha);
  }
}
