// Small dense f64 matrices in JS typed arrays. TensorFlow.js computes in
// float32; the algebra that needs precision (Cholesky, triangular solves,
// CG bookkeeping, tridiagonal eigenproblems) runs on these instead.
// Products above WASM_MIN_WORK multiply-adds copy their operands into the
// WebAssembly GEMM arena (wasmGemm.ts) and run there: the copies are
// O(n^2), the products O(n^3).

import { NonFiniteError, ShapeError } from "../errors";
import { transposeInto, transposeLower } from "./transpose";
import { lowerProductInto, triangularMatmulInto } from "./triangularKernels";
import { WASM_MIN_WORK, arena, gemm, paddedStride, putRows, takeRows } from "./wasmGemm";

/** Row-major dense matrix. shape: [rows, cols] */
export interface Mat {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** Entries, row-major: A[i, j] = data[i * cols + j]. shape: [rows * cols] */
  readonly data: Float64Array;
}

/** A rows x cols Mat over `data` (not copied; zeros when omitted). shape: [rows, cols] */
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
  transposeInto(a.data, 0, a.cols, out.data, 0, a.rows, a.rows, a.cols);
  return out;
}

/** The arena with room for `size` f64s when `work` multiply-adds make it worth the copies. */
function arenaFor(work: number, size: number): Float64Array | null {
  return work >= WASM_MIN_WORK ? arena(size) : null;
}

/** Copies a [rows, cols] transposed into mem at off as [cols, rows]. */
function putTransposed(mem: Float64Array, off: number, a: Mat): void {
  transposeInto(a.data, 0, a.cols, mem, off, a.rows, a.rows, a.cols);
}

/**
 * With A [n, k] at 0 and B [k, m] at n k in the arena: out = A B (only the
 * lower triangle with `lower`), computed at n k + k m and copied out.
 */
function productInArena(mem: Float64Array, n: number, k: number, m: number, out: Mat, lower = false): Mat {
  const c = n * k + k * m;
  mem.fill(0, c, c + n * m);
  if (lower) lowerProductInto(mem, n, k, 0, n * k, c);
  else gemm(mem, n, m, k, 0, k, n * k, m, c, m);
  out.data.set(mem.subarray(c, c + n * m));
  return out;
}

/** a @ b. shapes: [n, k] @ [k, m] -> [n, m] */
export function matmulMat(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new ShapeError(`cannot multiply ${a.rows} x ${a.cols} by ${b.rows} x ${b.cols}: inner sizes differ`);
  }
  const out = mat(a.rows, b.cols);
  const n = a.rows, k = a.cols, m = b.cols;
  const mem = arenaFor(n * k * m, n * k + k * m + n * m);
  if (mem) {
    mem.set(a.data, 0);
    mem.set(b.data, n * k);
    return productInArena(mem, n, k, m, out);
  }
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
  const n = a.cols, k = a.rows, m = b.cols;
  const mem = arenaFor(n * k * m, n * k + k * m + n * m);
  if (mem) {
    putTransposed(mem, 0, a);
    mem.set(b.data, n * k);
    return productInArena(mem, n, k, m, out);
  }
  for (let p = 0; p < a.rows; p++) {
    for (let i = 0; i < n; i++) {
      const api = a.data[p * n + i];
      if (api === 0) continue;
      for (let j = 0; j < m; j++) out.data[i * m + j] += api * b.data[p * m + j];
    }
  }
  return out;
}

/**
 * a @ b^T without forming b^T; with { lower: true } (square result) only the
 * lower triangle, the rest 0. shapes: [n, k] @ [m, k]^T -> [n, m]
 */
export function matmulTransposedRight(a: Mat, b: Mat, options: { lower?: boolean } = {}): Mat {
  if (a.cols !== b.cols) throw new ShapeError(`cannot compute a b^T: ${a.cols} vs ${b.cols} columns`);
  const lower = options.lower ?? false;
  if (lower && a.rows !== b.rows) throw new ShapeError(`a lower-triangular a b^T needs a square result, got ${a.rows} x ${b.rows}`);
  const n = a.rows, k = a.cols, m = b.rows;
  const out = mat(n, m);
  const mem = arenaFor((n * k * m) / (lower ? 2 : 1), n * k + k * m + n * m);
  if (mem) {
    mem.set(a.data, 0);
    putTransposed(mem, n * k, b);
    productInArena(mem, n, k, m, out, lower);
    if (lower) for (let i = 0; i < n; i++) out.data.fill(0, i * m + i + 1, (i + 1) * m);
    return out;
  }
  const A = a.data, B = b.data;
  for (let i = 0; i < n; i++) {
    const jEnd = lower ? i + 1 : m;
    for (let j = 0; j < jEnd; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * B[j * k + p];
      out.data[i * m + j] = s;
    }
  }
  return out;
}

/**
 * The lower triangle of a diag(w) a^T (the rest 0), without forming a diag(w).
 * shapes: a [n, k], w [k] -> [n, n]
 */
export function weightedGramLower(a: Mat, w: Float64Array): Mat {
  const n = a.rows, k = a.cols;
  if (w.length !== k) throw new ShapeError(`weightedGramLower: ${w.length} weights for ${k} columns`);
  const out = mat(n, n);
  const A = a.data;
  const mem = arenaFor((n * n * k) / 2, 2 * n * k + n * n);
  if (mem) {
    for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) mem[i * k + p] = A[i * k + p] * w[p];
    putTransposed(mem, n * k, a);
    const c = 2 * n * k;
    mem.fill(0, c, c + n * n);
    lowerProductInto(mem, n, k, 0, n * k, c);
    out.data.set(mem.subarray(c, c + n * n));
    for (let i = 0; i < n; i++) out.data.fill(0, i * n + i + 1, (i + 1) * n);
    return out;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * w[p] * A[j * k + p];
      out.data[i * n + j] = s;
    }
  }
  return out;
}

/**
 * T @ b with T the lower (default) or upper triangle of t, or T^T @ b with
 * { transpose: true }; the other triangle of t is never read.
 * shapes: t [n, n], b [n, m] -> [n, m]
 */
export function triangularMatmul(t: Mat, b: Mat, options: { lower?: boolean; transpose?: boolean } = {}): Mat {
  const n = t.rows, m = b.cols;
  if (t.cols !== n) throw new ShapeError(`a triangular factor must be square, got ${t.rows} x ${t.cols}`);
  if (b.rows !== n) throw new ShapeError(`cannot multiply a ${n} x ${n} triangle by ${b.rows} x ${m}`);
  const lower = options.lower ?? true, transpose = options.transpose ?? false;
  // The transpose of a lower triangle is upper: the operator applied is lower iff lower != transpose.
  const effLower = lower !== transpose;
  const T = t.data;
  /** The effective operator's (i, p) entry. */
  const at = (i: number, p: number) => (transpose ? T[p * n + i] : T[i * n + p]);
  const ld = paddedStride(m);
  const mem = arenaFor((n * n * m) / 2, n * n + 2 * n * ld);
  if (mem) {
    // The effective triangle, with zeros in the other one (the kernel reads whole diagonal blocks).
    const x = n * n, c = n * n + n * ld;
    mem.fill(0, 0, n * n);
    if (lower && transpose) transposeLower(T, 0, n, mem, 0, n, n); // (L^T)[i, p] = L[p, i], p >= i
    else if (!transpose) for (let i = 0; i < n; i++) mem.set(lower ? T.subarray(i * n, i * n + i + 1) : T.subarray(i * n + i, (i + 1) * n), i * n + (lower ? 0 : i));
    else for (let i = 0; i < n; i++) for (let p = 0; p <= i; p++) mem[i * n + p] = at(i, p);
    putRows(mem, x, ld, b.data, n, m);
    mem.fill(0, c, c + n * ld);
    triangularMatmulInto(mem, n, m, 0, effLower, x, c, ld);
    return mat(n, m, takeRows(mem, c, ld, n, m));
  }
  const out = mat(n, m);
  const B = b.data, C = out.data;
  for (let i = 0; i < n; i++) {
    const p0 = effLower ? 0 : i, p1 = effLower ? i + 1 : n;
    for (let p = p0; p < p1; p++) {
      const tip = at(i, p);
      if (tip === 0) continue;
      for (let j = 0; j < m; j++) C[i * m + j] += tip * B[p * m + j];
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

/** sum_{k < len} a[ao + k] b[bo + k], with four partial sums (V8 does not vectorise; one sum is latency bound). */
export function dotAt(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < len; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + s2 + s3;
}
