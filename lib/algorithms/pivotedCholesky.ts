// Pivoted Cholesky of a symmetric PSD matrix read by its diagonal and a few
// rows (never the whole matrix): L [n, r] with L L^T ~ A. GPyTorch's
// preconditioner, and the factor behind pivoted-Cholesky predictive
// variances.
//
// Pivots are taken in blocks: one column at a time costs n j scalar
// multiply-adds per column (V8 does not vectorise), so instead the b largest
// residuals are candidates, their Schur columns A[:, c] - L L[c, :]^T come
// from one WebAssembly GEMM, and a pivoted Cholesky among the candidates
// keeps those whose updated residual stays at least ACCEPT_SHARE x the
// largest residual outside the block — near-duplicates of a pivot just
// taken drop out, as the one-at-a-time order would have skipped them. The
// result is an exact partial Cholesky factor with (nearly) the greedy pivots
// (measured: rank 513 vs 509 for the same residual tolerance).
//
// Choosing among the candidates needs the new columns only at the
// candidates (an m x m problem); the full columns then follow in one
// triangular solve with the block's pivot triangle, in WebAssembly. The
// factor is built in the GEMM arena (wasmGemm.ts), where the GEMM and the
// solve read it in place; it is copied out once at the end.

import { type Mat, mat, transposeMat } from "./matrix";
import { substituteLowerBlock } from "./triangularKernels";
import { arena, gemm, isArena, leaveInArena, paddedStride, reclaimArena, takeRows } from "./wasmGemm";
import { checkInterrupt } from "../reductions/interrupt";

/** Access to a symmetric PSD matrix by diagonal and rows. */
export interface RowAccess {
  readonly size: number;
  diagonal(): Float64Array;
  /** Rows idx of the matrix. shape: [idx.length, n] */
  rows(idx: Int32Array): Float64Array;
  /**
   * Optional: entries (rows[i], cols[i]), the same values rows() gives. With
   * it, a block reads its candidates' m x m block here and full rows for the
   * kept candidates only (most are not kept). shape: [rows.length]
   */
  entries?(rows: Int32Array, cols: Int32Array): Float64Array;
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
  // points): the GEMM reads the first j columns as they lie, and the block's
  // triangular solve works on whole columns. Its capacity grows as the rank
  // does (n x maxRank up front can be large).
  const f: Factor = { n, ld: paddedStride(n), capacity: Math.max(1, Math.min(maxRank, 64)), space: new Workspace(), res, used: new Uint8Array(n), pivots: [] };
  f.space.resize(workspaceSize(f), 0);
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
    if (f.pivots.length + b > f.capacity) {
      f.capacity = Math.min(maxRank, 2 * f.capacity);
      f.space.resize(workspaceSize(f), f.pivots.length * f.ld);
    }
    if (pivotBlock(a, f, b, residualStop) === 0) break;
    converged = done();
  }
  const r = f.pivots.length;
  const Lt = mat(r, n, takeRows(f.space.mem, 0, f.ld, r, n));
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
  /** Row stride of Lt and of the block's Schur rows (paddedStride(n)). */
  ld: number;
  /** Columns Lt has room for. */
  capacity: number;
  /**
   * Holds, in f64 offsets: L^T at 0 (column q of L in row q, stride ld; shape:
   * [capacity, ld], the first pivots.length rows filled), then the block's
   * scratch (see scratchAt).
   */
  space: Workspace;
  /** Residual diagonal of A - L L^T. shape: [n] */
  res: Float64Array;
  used: Uint8Array;
  pivots: number[];
}

/**
 * Offsets of a block's scratch after Lt: the candidates' Schur block S [b, b],
 * L at the candidates Lc [b, capacity] and its transpose LcT [capacity, b], L
 * at the kept candidates La [b, capacity], the pivot triangle T [b, b].
 */
function scratchAt(f: Factor): { S: number; Lc: number; LcT: number; La: number; T: number; end: number } {
  const b = PIVOT_BLOCK, S = f.capacity * f.ld, Lc = S + b * b, LcT = Lc + b * f.capacity, La = LcT + f.capacity * b, T = La + b * f.capacity;
  return { S, Lc, LcT, La, T, end: T + b * b };
}

function workspaceSize(f: Factor): number {
  return scratchAt(f).end;
}

/**
 * The factor's memory: the GEMM arena while it has room (products and solves
 * there run in WebAssembly, on every thread), else a plain array (the same
 * code on the JS kernels). The arena is lent out while the matrix's rows are
 * read (an operator's rows may run products of their own), its contents
 * saved only if someone else took it.
 */
class Workspace {
  mem = new Float64Array(0);
  private lent: ((view: Float64Array) => void) | null = null;
  private saved: Float64Array | null = null;

  /** Room for `size` f64s, the first `keep` kept. */
  resize(size: number, keep: number): void {
    if (size <= this.mem.length) return;
    // arena() keeps the memory's contents when it grows; a plain array is copied.
    const next = arena(size) ?? new Float64Array(size);
    if (!isArena(next) || !isArena(this.mem)) next.set(this.mem.subarray(0, keep));
    this.mem = next;
  }

  /** Lets others use the arena until back(); the first `keep` f64s are copied out only if they do. */
  lend(keep: number): void {
    if (!isArena(this.mem)) return;
    const save = (view: Float64Array): void => {
      this.saved = view.slice(0, keep);
    };
    this.lent = save;
    leaveInArena(save);
  }

  /** After lend(): the workspace again with what it held (`size` f64s of room). */
  back(size: number): void {
    const save = this.lent;
    if (!save) return;
    this.lent = null;
    const held = reclaimArena(save);
    if (held) {
      this.mem = held;
      return;
    }
    const saved = this.saved as Float64Array;
    this.saved = null;
    this.mem = arena(size) ?? new Float64Array(size);
    this.mem.set(saved);
  }
}

/** Adds up to b pivots (see the file comment); returns how many (at least one while any residual is > stop). */
function pivotBlock(a: RowAccess, f: Factor, b: number, stop: number): number {
  const { n, ld, res, used } = f;
  const j0 = f.pivots.length;
  const cand = largestUnused(res, used, b + 1);
  const outside = cand.length > b ? res[cand[b]] : 0;
  const c = cand.slice(0, b);
  const m = c.length;
  if (m === 0) return 0;
  // The matrix is read with the arena lent out (an operator's entries or rows may run products of their own).
  const read = <T>(keep: number, get: () => T): T => {
    f.space.lend(keep);
    const value = get();
    f.space.back(workspaceSize(f));
    return value;
  };
  // A[c, c], from the entries, or from all the candidates' rows (then kept for the candidates kept).
  let rows: Float64Array | null = null;
  const block = a.entries
    ? read(j0 * ld, () => {
      const ri = new Int32Array(m * m), ci = new Int32Array(m * m);
      for (let k = 0; k < m; k++) for (let q = 0; q < m; q++) (ri[k * m + q] = c[k]), (ci[k * m + q] = c[q]);
      return (a.entries as NonNullable<RowAccess["entries"]>)(ri, ci);
    })
    : null;
  if (!block) rows = read(j0 * ld, () => a.rows(Int32Array.from(c)));
  let mem = f.space.mem;
  const { S, Lc, LcT, La, T } = scratchAt(f);
  // The candidates' Schur block A[c, c] - L[c, :j0] L[c, :j0]^T: all the choice among them reads. [m, m] at S (stride b)
  for (let k = 0; k < m; k++) for (let q = 0; q < m; q++) mem[S + k * b + q] = block ? block[k * m + q] : (rows as Float64Array)[k * n + c[q]];
  if (j0 > 0) {
    // Row by row of Lt: the m reads of one row share its pages.
    for (let q = 0; q < j0; q++) {
      for (let k = 0; k < m; k++) {
        const v = mem[q * ld + c[k]];
        mem[Lc + k * j0 + q] = v;
        mem[LcT + q * b + k] = v;
      }
    }
    gemm(mem, m, m, j0, Lc, j0, LcT, b, S, b, -1);
  }
  // V[q, e] = new column e at point c[q], and the candidates' updated residuals r. shape: V [m, b]
  const V = new Float64Array(m * b);
  const r = Float64Array.from(c, (p) => res[p]);
  const taken = new Uint8Array(m);
  const order: number[] = [], pivot: number[] = [];
  for (let added = 0; added < m; added++) {
    let k = -1, best = 0;
    for (let q = 0; q < m; q++) {
      if (!taken[q] && r[q] > best) {
        best = r[q];
        k = q;
      }
    }
    if (k < 0 || best <= stop || best < ACCEPT_SHARE * outside) break;
    taken[k] = 1;
    order.push(k);
    pivot.push(Math.sqrt(best));
    // (S[k] - sum over this block's earlier columns l of l l[p]) / sqrt(residual), at the candidates.
    const scale = 1 / pivot[added];
    for (let q = 0; q < m; q++) {
      let v = mem[S + k * b + q];
      for (let e = 0; e < added; e++) v -= V[k * b + e] * V[q * b + e];
      v *= scale;
      V[q * b + added] = v;
      r[q] -= v * v;
    }
  }
  const added = order.length;
  if (added === 0) return 0;
  if (!rows) {
    // Only the kept candidates' rows, in pivot order; the scratch (L at the candidates) must survive too.
    const kept = Int32Array.from(order, (k) => c[k]);
    rows = read(workspaceSize(f), () => a.rows(kept));
    mem = f.space.mem;
  }
  // The kept candidates' full Schur rows, in Lt's next rows: A[p, :] - L[p, :j0] L[:, :j0]^T (one GEMM
  // over the kept rows only; most candidates are not kept).
  for (let e = 0; e < added; e++) {
    const k = order[e];
    const row = block ? e : k;
    mem.set(rows.subarray(row * n, (row + 1) * n), (j0 + e) * ld);
    if (j0 > 0) mem.copyWithin(La + e * j0, Lc + k * j0, Lc + (k + 1) * j0);
  }
  if (j0 > 0) gemm(mem, added, n, j0, La, j0, 0, ld, j0 * ld, ld, -1);
  // The full columns: row e of those rows = sum_{e' <= e} T[e, e'] column e', with T[e, e'] the value
  // of column e' at pivot e (e' < e) and T[e, e] = sqrt(its residual): one triangular solve.
  for (let e = 0; e < added; e++) {
    const k = order[e];
    for (let e2 = 0; e2 < e; e2++) mem[T + e * b + e2] = V[k * b + e2];
    mem[T + e * b + e] = pivot[e];
    used[c[k]] = 1;
    f.pivots.push(c[k]);
  }
  substituteLowerBlock(mem, added, n, T, b, j0 * ld, ld);
  for (let e = 0; e < added; e++) {
    const row = (j0 + e) * ld;
    for (let i = 0; i < n; i++) {
      const v = mem[row + i];
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
