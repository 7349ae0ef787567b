// Triangular solves and products on one Float64Array (the GEMM arena),
// blocked so that almost all the work is GEMM updates of NB-row panels:
// with L [n, n] and X [n, t], a solve spends n^2 t / 2 multiply-adds of which
// only n NB t / 2 are in the diagonal blocks; those are substituted in
// 4-row steps (a 4-row GEMM from the rows above, then row by row inside the
// 4 x 4 triangle), so all but n 3 t / 2 multiply-adds run in the 4-row
// kernel. No block is inverted: every row is divided by its pivot, as in
// the textbook loops, with which results agree to rounding (also for the
// ill-conditioned factors of K_ZZ). Matrices are row-major; triangles have
// row stride n (or ldl where given), the [n, t] blocks a stride ld >= t
// (see paddedStride); offsets are in elements.

import { STEP_ROWS } from "./substitutionStep";
import { gemm, substitutionStep } from "./wasmGemm";

/** Panel height: the diagonal blocks cost NB / n of a solve. */
const NB = 32;
/** Rows per substitution step inside a diagonal block (the GEMM kernel's register tile). */
const STEP = STEP_ROWS;

/**
 * X[0:p, 0:t] := T^{-1} X for the p x p lower triangle T at tri (row stride
 * ldl), when X has already taken every update from outside the block.
 * Only T's strict lower triangle and diagonal are read.
 */
export function substituteLowerBlock(mem: Float64Array, p: number, t: number, tri: number, ldl: number, x: number, ld: number): void {
  for (let r0 = 0; r0 < p; r0 += STEP) {
    const r1 = Math.min(p, r0 + STEP);
    gemm(mem, r1 - r0, t, r0, tri + r0 * ldl, ldl, x, ld, x + r0 * ld, ld, -1);
    // The step's own triangle in one WebAssembly call; the same operations in JS off the arena.
    if (substitutionStep(mem, r1 - r0, t, tri + r0 * ldl + r0, ldl, x + r0 * ld, ld)) continue;
    for (let i = r0; i < r1; i++) {
      gemm(mem, 1, t, i - r0, tri + i * ldl + r0, ldl, x + r0 * ld, ld, x + i * ld, ld, -1);
      const d = mem[tri + i * ldl + i], xi = x + i * ld;
      for (let c = 0; c < t; c++) mem[xi + c] /= d;
    }
  }
}

/** The upper-triangular counterpart: X[0:p, 0:t] := U^{-1} X, bottom row first. */
export function substituteUpperBlock(mem: Float64Array, p: number, t: number, tri: number, ldu: number, x: number, ld: number): void {
  for (let r1 = p; r1 > 0; r1 -= STEP) {
    const r0 = Math.max(0, r1 - STEP);
    gemm(mem, r1 - r0, t, p - r1, tri + r0 * ldu + r1, ldu, x + r1 * ld, ld, x + r0 * ld, ld, -1);
    for (let i = r1 - 1; i >= r0; i--) {
      gemm(mem, 1, t, r1 - i - 1, tri + i * ldu + i + 1, ldu, x + (i + 1) * ld, ld, x + i * ld, ld, -1);
      const d = mem[tri + i * ldu + i], xi = x + i * ld;
      for (let c = 0; c < t; c++) mem[xi + c] /= d;
    }
  }
}

/** X := L^{-1} X. shapes: L [n, n] lower at l, X [n, t] at x (row stride ld) */
export function solveLowerInPlace(mem: Float64Array, n: number, t: number, l: number, x: number, ld = t): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB);
    gemm(mem, i1 - i0, t, i0, l + i0 * n, n, x, ld, x + i0 * ld, ld, -1);
    substituteLowerBlock(mem, i1 - i0, t, l + i0 * n + i0, n, x + i0 * ld, ld);
  }
}

/** X := U^{-1} X. shapes: U [n, n] upper at u, X [n, t] at x (row stride ld) */
export function solveUpperInPlace(mem: Float64Array, n: number, t: number, u: number, x: number, ld = t): void {
  for (let i1 = n; i1 > 0; i1 -= NB) {
    const i0 = Math.max(0, i1 - NB);
    gemm(mem, i1 - i0, t, n - i1, u + i0 * n + i1, n, x + i1 * ld, ld, x + i0 * ld, ld, -1);
    substituteUpperBlock(mem, i1 - i0, t, u + i0 * n + i0, n, x + i0 * ld, ld);
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
