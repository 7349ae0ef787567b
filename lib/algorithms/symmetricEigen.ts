// Eigendecomposition of a small symmetric matrix by cyclic Jacobi rotations,
// in f64: A = V diag(w) V^T. Accurate to rounding; O(n^3) per sweep and a
// handful of sweeps, meant for task covariances (n = number of tasks).

import { ShapeError } from "../errors";
import { type Mat, identity } from "./matrix";

/** shapes: A [n, n] symmetric -> values [n] (ascending), vectors [n, n] (columns) */
export function symmetricEigen(A: Mat, maxSweeps = 100): { values: Float64Array; vectors: Mat } {
  const n = A.rows;
  if (A.cols !== n) throw new ShapeError(`symmetricEigen needs a square matrix, got ${A.rows} x ${A.cols}`);
  const a = Float64Array.from(A.data);
  const V = identity(n);
  const v = V.data;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i * n + j] ** 2;
        if (i !== j) off += a[i * n + j] ** 2;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p, q] (Golub & Van Loan, sym.schur2).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = identity(n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}
