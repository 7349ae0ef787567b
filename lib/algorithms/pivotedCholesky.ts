// Rank-k pivoted Cholesky: L [n, k] with L L^T ~ A, built from A's diagonal
// and k of its rows (never the whole matrix). GPyTorch's preconditioner.

import { type Mat, mat } from "./matrix";

/** Access to a symmetric PSD matrix by diagonal and rows. */
export interface RowAccess {
  readonly size: number;
  diagonal(): Float64Array;
  /** Row i. shape: [n] */
  row(i: number): Float64Array;
}

/** Stops early when the remaining diagonal (trace error) drops below tol * trace. */
export function pivotedCholesky(a: RowAccess, rank: number, tol = 1e-8): Mat {
  const n = a.size;
  const k = Math.min(rank, n);
  const residual = Float64Array.from(a.diagonal());
  const trace0 = residual.reduce((s, v) => s + v, 0);
  const cols: Float64Array[] = [];
  const used = new Uint8Array(n);
  for (let step = 0; step < k; step++) {
    let pivot = -1;
    let best = 0;
    let remaining = 0;
    for (let i = 0; i < n; i++) {
      if (!used[i]) remaining += residual[i];
      if (!used[i] && residual[i] > best) {
        best = residual[i];
        pivot = i;
      }
    }
    if (pivot < 0 || best <= 0 || remaining <= tol * trace0) break;
    used[pivot] = 1;
    // col = (row - sum_c c c[pivot]) / sqrt(best), one contiguous pass per earlier column.
    const col = Float64Array.from(a.row(pivot));
    for (const c of cols) {
      const cp = c[pivot];
      if (cp !== 0) for (let i = 0; i < n; i++) col[i] -= c[i] * cp;
    }
    const scale = 1 / Math.sqrt(best);
    for (let i = 0; i < n; i++) col[i] *= scale;
    for (let i = 0; i < n; i++) residual[i] = Math.max(0, residual[i] - col[i] * col[i]);
    cols.push(col);
  }
  const L = mat(n, cols.length);
  cols.forEach((c, j) => {
    for (let i = 0; i < n; i++) L.data[i * cols.length + j] = c[i];
  });
  return L;
}
