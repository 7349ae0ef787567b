// Small dense f64 matrices in JS typed arrays. TensorFlow.js computes in
// float32; the algebra that needs precision (Cholesky, triangular solves,
// CG bookkeeping, tridiagonal eigenproblems) runs on these instead.

import { NonFiniteError, ShapeError } from "../errors";

/** Row-major dense matrix. shape: [rows, cols] */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function mat(rows: number, cols: number, data?: Float64Array): Mat {
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new ShapeError(`matrix data has ${d.length} values but shape ${rows} x ${cols} needs ${rows * cols}`);
  }
  return { rows, cols, data: d };
}

export function identity(n: number): Mat {
  const m = mat(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function cloneMat(a: Mat): Mat {
  return mat(a.rows, a.cols, a.data.slice());
}

export function transposeMat(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  }
  return out;
}

/** a @ b. shapes: [n, k] @ [k, m] -> [n, m] */
export function matmulMat(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new ShapeError(`cannot multiply ${a.rows} x ${a.cols} by ${b.rows} x ${b.cols}: inner sizes differ`);
  }
  const out = mat(a.rows, b.cols);
  const n = a.rows, k = a.cols, m = b.cols;
  const A = a.data, B = b.data, C = out.data;
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p];
      if (aip === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) C[ci + j] += aip * B[bp + j];
    }
  }
  return out;
}

/** a^T @ b without forming a^T. shapes: [k, n]^T @ [k, m] -> [n, m] */
export function matmulTransposedLeft(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) throw new ShapeError(`cannot compute a^T b: ${a.rows} vs ${b.rows} rows`);
  const out = mat(a.cols, b.cols);
  const n = a.cols, m = b.cols;
  for (let p = 0; p < a.rows; p++) {
    for (let i = 0; i < n; i++) {
      const api = a.data[p * n + i];
      if (api === 0) continue;
      for (let j = 0; j < m; j++) out.data[i * m + j] += api * b.data[p * m + j];
    }
  }
  return out;
}

export function addMat(a: Mat, b: Mat, scaleB = 1): Mat {
  assertSameShape(a, b, "add");
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] + scaleB * b.data[i];
  return out;
}

export function scaleMat(a: Mat, c: number): Mat {
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = c * a.data[i];
  return out;
}

/** Column j as a new array. */
export function column(a: Mat, j: number): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) out[i] = a.data[i * a.cols + j];
  return out;
}

export function assertSameShape(a: Mat, b: Mat, what: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeError(`cannot ${what} ${a.rows} x ${a.cols} and ${b.rows} x ${b.cols}: shapes differ`);
  }
}

/** Throws NonFiniteError naming `what` and the first bad position. */
export function assertFinite(data: ArrayLike<number>, what: string, cols = 1): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      const where = cols > 1 ? `row ${Math.floor(i / cols)}, column ${i % cols}` : `index ${i}`;
      throw new NonFiniteError(
        `${what} contains ${v} at ${where}; remove or impute non-finite values before building the operator`,
      );
    }
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
