// A^{-1} from A's Cholesky factor L in the GEMM arena, for the exact MLL
// gradient (dL/dK = (alpha alpha^T - A^{-1}) / 2 needs the whole inverse).
// Two blocked passes of about n^3 / 6 multiply-adds each, both almost all
// GEMM: X = L^{-1} (lower triangular) by row panels, then the lower
// triangle of A^{-1} = X^T X by row panels. The plain-JS version
// (lib/mlls/choleskyInverse.ts) does the same n^3 / 3 as dot products and
// stays for small n and for when the arena is unavailable.

import { factorStillInArena } from "./cholesky";
import { type Mat, mat } from "./matrix";
import { transposeLower } from "./transpose";
import { substituteLowerColumns } from "./choleskyTasks";
import { arena, gemmLowerB, gemmUpperALowerC, paddedStride, rankOneMirrorInArena } from "./wasmGemm";

/** Panel height: rows of X (or of A^{-1}) finished per GEMM update. */
const NB = 32;

/**
 * X := L^{-1}, lower triangular, by row panels: rows [i0, i1) of L X = I give
 * X[i0:i1, :] = L[i0:i1, i0:i1]^{-1} (E - L[i0:i1, 0:i0] X[0:i0, :]); the
 * update takes column blocks of X so that only its nonzero lower part is
 * multiplied, the diagonal block is substituted (substituteLowerBlock).
 * Writes X's lower block triangle (row panel [i0, i1) up to column i1,
 * zeros above the diagonal inside the diagonal blocks) and nothing to its
 * right; X needs nothing on entry (the update overwrites). Row strides ld.
 * shapes: L [n, n] at l, X [n, n] at x
 */
export function lowerInverseInPlace(mem: Float64Array, n: number, l: number, x: number, ld: number): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB), rows = i1 - i0;
    // X[i0:i1, j0:j1] = -L[i0:i1, j0:i0] X[j0:i0, j0:j1] for every column block j0 (X[k, j] = 0 for k < j): one job.
    gemmLowerB(mem, NB, rows, i0, i0, l + i0 * ld, ld, x, ld, x + i0 * ld, ld, -1, true);
    // Columns [0, i1) of the block's rows (X[i, c] = 0 for c > i comes out exactly): the diagonal block starts as I.
    for (let i = i0; i < i1; i++) {
      mem.fill(0, x + i * ld + i0, x + i * ld + i1);
      mem[x + i * ld + i] = 1;
    }
    substituteLowerColumns(mem, rows, i1, l + i0 * ld + i0, ld, x + i0 * ld, ld);
  }
}

/**
 * The lower triangle (diagonal blocks whole) of X^T X for X lower
 * triangular: (X^T X)[a, b] = sum_{i >= max(a, b)} X[i, a] X[i, b]. xt holds
 * X^T (upper triangular, zeros below). Row strides ld.
 * shapes: X^T [n, n] at xt, X [n, n] at x, out [n, n] at out (overwritten: nothing needed on entry)
 */
export function lowerGramOfTriangle(mem: Float64Array, n: number, xt: number, x: number, out: number, ld: number): void {
  // Rows a in [a0, a1), columns b < a1: terms i >= a0 (X^T[a, i] = 0 below i = a). One job.
  gemmUpperALowerC(mem, NB, n, n, n, xt, ld, x, ld, out, ld, 1, true);
}

/** Zeros the strict lower triangle of every NB x NB diagonal block. */
function zeroDiagonalBlocksBelow(mem: Float64Array, n: number, at: number, ld: number): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(n, i0 + NB);
    for (let i = i0 + 1; i < i1; i++) mem.fill(0, at + i * ld + i0, at + i * ld + i);
  }
}

/** Edge of the square tiles of writeSymmetric: a tile of rows and its mirrored tile of columns stay in L1. */
const TILE = 16;

/**
 * V = C, or s (v v^T - C) with `rankOne`, both triangles, from the lower
 * triangle of the symmetric C at `c` (row stride ld): one pass tile by tile,
 * each entry written to (a, b) and (b, a) while its tile is in cache (a
 * row-wise pass and then a transposing one read V's lower triangle twice).
 * shapes: C [n, n] at c -> V [n, n]
 */
function writeSymmetric(mem: Float64Array, c: number, ld: number, V: Float64Array, n: number, rankOne?: RankOneMinusInverse): void {
  const v = rankOne?.v, s = rankOne?.s ?? 1;
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = Math.min(n, i0 + TILE);
    for (let j0 = 0; j0 <= i0; j0 += TILE) {
      const j1 = Math.min(i1, j0 + TILE);
      for (let a = i0; a < i1; a++) {
        const row = c + a * ld, bEnd = Math.min(j1, a + 1);
        if (v) {
          const va = v[a];
          for (let b = j0; b < bEnd; b++) {
            const w = s * (va * v[b] - mem[row + b]);
            V[a * n + b] = w;
            V[b * n + a] = w;
          }
        } else {
          for (let b = j0; b < bEnd; b++) {
            const w = mem[row + b];
            V[a * n + b] = w;
            V[b * n + a] = w;
          }
        }
      }
    }
  }
}

/** Rows per WebAssembly call of writeSymmetricInArena (its strip's diagonal tile is done in JS). */
const STRIP = 16;

/**
 * writeSymmetric's result by way of the arena: C's lower triangle is turned
 * into s (v v^T - C) (or kept) and mirrored into its upper triangle in
 * place by WebAssembly strips (the same operations as writeSymmetric, so
 * the same bits), then copied out row by row. v goes to the arena at vAt.
 * False (nothing done) where the strip kernel is unavailable.
 * shapes: C [n, n] at c -> V [n, n]
 */
function writeSymmetricInArena(mem: Float64Array, c: number, ld: number, V: Float64Array, n: number, vAt: number, rankOne?: RankOneMinusInverse): boolean {
  if (!rankOneMirrorInArena(mem, c, ld, 0, 0, 0, vAt, 1)) return false;
  if (rankOne) {
    const { v, s } = rankOne;
    mem.set(v.subarray(0, n), vAt);
    for (let i0 = 0; i0 < n; i0 += STRIP) {
      const i1 = Math.min(n, i0 + STRIP);
      rankOneMirrorInArena(mem, c, ld, i0, i1 - i0, i0, vAt, s);
      for (let a = i0; a < i1; a++) {
        const row = c + a * ld, va = v[a];
        for (let b = i0; b <= a; b++) {
          const w = s * (va * v[b] - mem[row + b]);
          mem[row + b] = w;
          mem[c + b * ld + a] = w;
        }
      }
    }
  } else transposeLower(mem, c, ld, mem, c, ld, n);
  for (let a = 0; a < n; a++) V.set(mem.subarray(c + a * ld, c + a * ld + n), a * n);
  return true;
}

/** Optional last step of choleskyInverseBlocked: write s (v v^T - A^{-1}) instead of A^{-1} (the exact MLL's gradient weights). */
export interface RankOneMinusInverse {
  /** shape: [n] */
  v: Float64Array;
  s: number;
}

/**
 * A^{-1} = L^{-T} L^{-1} in the arena, or null when the arena cannot hold the
 * four [n, n] blocks (the caller then uses the plain version). Written into
 * `into` when given (reused by callers that invert every iteration: a fresh
 * [n, n] array costs its page faults each time).
 * shapes: L [n, n] lower triangular -> [n, n] symmetric
 */
export function choleskyInverseBlocked(L: Mat, into?: Float64Array, rankOne?: RankOneMinusInverse): Mat | null {
  const n = L.rows, ld = paddedStride(n), block = n * ld;
  // The blocked Cholesky leaves L where it is needed (offset 0, stride ld): checked before arena() counts this call.
  const inPlace = factorStillInArena(L);
  const mem = arena(4 * block + n);
  if (!mem) return null;
  const l = 0, x = block, xt = 2 * block, out = 3 * block, vAt = 4 * block;
  // Zeros only where the passes read before they write (the products overwrite the rest).
  zeroDiagonalBlocksBelow(mem, n, xt, ld);
  const Ld = L.data;
  if (!inPlace) for (let i = 0; i < n; i++) mem.set(Ld.subarray(i * n, i * n + i + 1), l + i * ld);
  lowerInverseInPlace(mem, n, l, x, ld);
  transposeLower(mem, x, ld, mem, xt, ld, n);
  lowerGramOfTriangle(mem, n, xt, x, out, ld);
  const inv = mat(n, n, into?.subarray(0, n * n));
  if (!writeSymmetricInArena(mem, out, ld, inv.data, n, vAt, rankOne)) writeSymmetric(mem, out, ld, inv.data, n, rankOne);
  return inv;
}
