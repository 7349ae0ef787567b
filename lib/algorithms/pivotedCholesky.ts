// Pivoted Cholesky of a symmetric PSD matrix read by its diagonal and a few
// rows (never the whole matrix): L [n, r] with L L^T ~ A. GPyTorch's
// preconditioner, and the factor behind pivoted-Cholesky predictive
// variances.
//
// Pivots are taken in blocks: one column at a time costs n j scalar
// multiply-adds per column (V8 does not vectorise), so instead the b largest
// residuals are candidates, their Schur columns A[:, c] - L L[c, :]^T come
// from one WebAssembly GEMM (matrix.ts), and a pivoted Cholesky among the
// candidates keeps those whose updated residual stays at least ACCEPT_SHARE x
// the largest residual outside the block — near-duplicates of a pivot just
// taken drop out, as the one-at-a-time order would have skipped them. The
// result is an exact partial Cholesky factor with (nearly) the greedy pivots
// (measured: rank 513 vs 509 for the same residual tolerance).

import { type Mat, mat, matmulMat, transposeMat } from "./matrix";
import { checkInterrupt } from "../reductions/interrupt";

/** Access to a symmetric PSD matrix by diagonal and rows. */
export interface RowAccess {
  readonly size: number;
  diagonal(): Float64Array;
  /** Rows idx of the matrix. shape: [idx.length, n] */
  rows(idx: Int32Array): Float64Array;
}

export interface PivotedCholeskyOptions {
  /** At most this many pivots. */
  maxRank: number;
  /** Stop once every unpivoted residual diagonal entry is at most this (default 0). */
  residualTolerance?: number;
  /** ... or once the residual trace is at most this share of the trace (default 1e-8). */
  traceTolerance?: number;
}

export interface PivotedCholeskyFactor {
  /** shape: [n, r] (formed from Lt when first read) */
  readonly L: Mat;
  /** L^T, as the factorisation keeps it. shape: [r, n] */
  readonly Lt: Mat;
  /** Pivot rows in order; L[pivots, :] is lower triangular. shape: [r] */
  pivots: Int32Array;
  /** Largest unpivoted residual diagonal entry of A - L L^T. */
  maxResidual: number;
  /** maxRank stopped the pivoting before a tolerance was met. */
  capped: boolean;
}

/** Pivots taken per pass over the factor. */
const PIVOT_BLOCK = 32;
/** A block candidate is kept while its updated residual is at least this share of the best one outside the block. */
const ACCEPT_SHARE = 0.5;

export function pivotedCholeskyFactor(a: RowAccess, o: PivotedCholeskyOptions): PivotedCholeskyFactor {
  const n = a.size;
  const maxRank = Math.max(0, Math.min(Math.floor(o.maxRank), n));
  const residualStop = o.residualTolerance ?? 0;
  const res = Float64Array.from(a.diagonal());
  const traceStop = (o.traceTolerance ?? 1e-8) * res.reduce((s, v) => s + Math.max(v, 0), 0);
  // L is kept transposed, one column of L per row of Lt (contiguous over the n
  // points): the GEMM reads the first j columns as they lie, and the in-block
  // updates are axpys over whole columns. Its capacity grows as the rank does
  // (n x maxRank up front can be large).
  const f: Factor = { n, capacity: Math.max(1, Math.min(maxRank, 64)), Lt: new Float64Array(0), res, used: new Uint8Array(n), pivots: [] };
  f.Lt = new Float64Array(f.capacity * n);
  const done = (): boolean => {
    let maxRes = 0, trace = 0;
    for (let i = 0; i < n; i++) {
      if (f.used[i]) continue;
      trace += Math.max(f.res[i], 0);
      if (f.res[i] > maxRes) maxRes = f.res[i];
    }
    return maxRes <= residualStop || trace <= traceStop;
  };
  let converged = done();
  while (!converged && f.pivots.length < maxRank) {
    checkInterrupt("pivoted Cholesky");
    const b = Math.min(PIVOT_BLOCK, maxRank - f.pivots.length);
    if (f.pivots.length + b > f.capacity) widen(f, Math.min(maxRank, 2 * f.capacity));
    if (pivotBlock(a, f, b, residualStop) === 0) break;
    converged = done();
  }
  const r = f.pivots.length;
  const Lt = mat(r, n, f.Lt.length === r * n ? f.Lt : f.Lt.slice(0, r * n));
  let maxResidual = 0;
  for (let i = 0; i < n; i++) if (!f.used[i] && f.res[i] > maxResidual) maxResidual = f.res[i];
  let L: Mat | null = null;
  return {
    get L(): Mat {
      L ??= transposeMat(Lt);
      return L;
    },
    Lt,
    pivots: Int32Array.from(f.pivots),
    maxResidual,
    capped: !converged,
  };
}

/** Rank-k factor, stopping early when the residual trace drops below tol * trace. shape: [n, <= k] */
export function pivotedCholesky(a: RowAccess, rank: number, tol = 1e-8): Mat {
  return pivotedCholeskyFactor(a, { maxRank: rank, traceTolerance: tol }).L;
}

interface Factor {
  n: number;
  /** Columns Lt has room for. */
  capacity: number;
  /** L^T: column q of L in Lt[q n, (q + 1) n). shape: [capacity, n], the first pivots.length rows filled */
  Lt: Float64Array;
  /** Residual diagonal of A - L L^T. shape: [n] */
  res: Float64Array;
  used: Uint8Array;
  pivots: number[];
}

/** Gives Lt room for `capacity` columns. */
function widen(f: Factor, capacity: number): void {
  const Lt = new Float64Array(capacity * f.n);
  Lt.set(f.Lt.subarray(0, f.pivots.length * f.n));
  f.Lt = Lt;
  f.capacity = capacity;
}

/** Adds up to b pivots (see the file comment); returns how many (at least one while any residual is > stop). */
function pivotBlock(a: RowAccess, f: Factor, b: number, stop: number): number {
  const { n, Lt, res, used } = f;
  const j0 = f.pivots.length;
  const cand = largestUnused(res, used, b + 1);
  const outside = cand.length > b ? res[cand[b]] : 0;
  const c = cand.slice(0, b);
  const m = c.length;
  if (m === 0) return 0;
  // Schur columns at the candidates, one per row: A[c, :] - L[c, :j0] L[:, :j0]^T (A symmetric). [m, n]
  const G = Float64Array.from(a.rows(Int32Array.from(c)));
  if (j0 > 0) {
    const B = mat(m, j0); // L[c, :j0]
    c.forEach((p, k) => {
      for (let q = 0; q < j0; q++) B.data[k * j0 + q] = Lt[q * n + p];
    });
    const P = matmulMat(B, mat(j0, n, Lt.subarray(0, j0 * n))).data;
    for (let i = 0; i < m * n; i++) G[i] -= P[i];
  }
  const taken = new Uint8Array(m);
  let added = 0;
  for (; added < m; added++) {
    let k = -1, best = 0;
    for (let q = 0; q < m; q++) {
      if (!taken[q] && res[c[q]] > best) {
        best = res[c[q]];
        k = q;
      }
    }
    if (k < 0 || best <= stop || best < ACCEPT_SHARE * outside) break;
    taken[k] = 1;
    const p = c[k];
    used[p] = 1;
    f.pivots.push(p);
    // New column: (G[k] - sum over this block's earlier columns l of l l[p]) / sqrt(residual).
    const col = (j0 + added) * n;
    Lt.set(G.subarray(k * n, (k + 1) * n), col);
    for (let q = j0; q < j0 + added; q++) {
      const row = q * n, lp = Lt[row + p];
      if (lp === 0) continue;
      for (let i = 0; i < n; i++) Lt[col + i] -= lp * Lt[row + i];
    }
    const scale = 1 / Math.sqrt(best);
    for (let i = 0; i < n; i++) {
      const v = Lt[col + i] * scale;
      Lt[col + i] = v;
      res[i] -= v * v;
    }
  }
  return added;
}

/** Indices of the k largest positive res among unused entries, largest first. */
function largestUnused(res: Float64Array, used: Uint8Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < res.length; i++) {
    if (used[i] || !(res[i] > 0)) continue;
    if (idx.length === k && res[i] <= res[idx[k - 1]]) continue;
    if (idx.length === k) idx.pop();
    let pos = idx.length;
    while (pos > 0 && res[idx[pos - 1]] < res[i]) pos--;
    idx.splice(pos, 0, i);
  }
  return idx;
}
