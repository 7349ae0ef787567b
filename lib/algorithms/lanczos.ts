// Lanczos tridiagonalisation with full reorthogonalisation (f64), used for
// root decompositions of large operators: A ~ Q T Q^T, so R = Q V sqrt(L).

import type { RandomSource } from "../random";
import { checkInterrupt } from "../reductions/interrupt";
import { type Mat, mat } from "./matrix";
import { tridiagonalEigen } from "./tridiagonal";

export interface LanczosResult {
  /** Orthonormal basis. shape: [n, k] */
  Q: Mat;
  diag: Float64Array;
  offDiag: Float64Array;
}

export function lanczos(apply: (v: Mat) => Mat, n: number, maxIterations: number, random: RandomSource, tol = 1e-10): LanczosResult {
  const k = Math.min(n, maxIterations);
  const basis: Float64Array[] = [];
  const diag: number[] = [];
  const off: number[] = [];
  let q = random.normals(n);
  normalise(q);
  for (let j = 0; j < k; j++) {
    checkInterrupt("Lanczos");
    basis.push(q);
    const w = apply(mat(n, 1, q)).data.slice();
    const a = dot(w, q);
    diag.push(a);
    // Full reorthogonalisation (twice is enough) keeps the basis orthonormal in f64.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const c = dot(w, b);
        for (let i = 0; i < n; i++) w[i] -= c * b[i];
      }
    }
    const beta = Math.sqrt(dot(w, w));
    if (j === k - 1 || beta < tol * Math.max(1, Math.abs(a))) break;
    off.push(beta);
    for (let i = 0; i < n; i++) w[i] /= beta;
    q = w;
  }
  const Q = mat(n, basis.length);
  basis.forEach((b, j) => {
    for (let i = 0; i < n; i++) Q.data[i * basis.length + j] = b[i];
  });
  return { Q, diag: Float64Array.from(diag), offDiag: Float64Array.from(off.slice(0, basis.length - 1)) };
}

/** R [n, k] with R R^T ~ A from a Lanczos run (negative Ritz values clipped to 0). */
export function lanczosRoot(result: LanczosResult): Mat {
  const k = result.diag.length;
  const { values, vectors } = tridiagonalEigen(result.diag, result.offDiag);
  const n = result.Q.rows;
  const R = mat(n, k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += result.Q.data[i * k + l] * vectors[l * k + j];
      R.data[i * k + j] = s * Math.sqrt(Math.max(0, values[j]));
    }
  }
  return R;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function normalise(a: Float64Array): void {
  const nrm = Math.sqrt(dot(a, a));
  for (let i = 0; i < a.length; i++) a[i] /= nrm;
}
