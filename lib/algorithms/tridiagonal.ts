// Eigen-decomposition of a symmetric tridiagonal matrix by implicit QL with
// Wilkinson shifts, in f64. Stochastic Lanczos quadrature needs only the
// eigenvalues and the first component of each eigenvector, so that row is all
// that is tracked unless the whole matrix is asked for.

export interface TridiagonalEigen {
  /** shape: [k] */
  values: Float64Array;
  /** Eigenvectors, row-major [k, k] (column j belongs to values[j]); or only row 0 when firstRowOnly. */
  vectors: Float64Array;
}

/**
 * diag shape: [k], offDiag shape: [k - 1].
 * With firstRowOnly, `vectors` has length k: the first component of each eigenvector.
 */
export function tridiagonalEigen(diag: Float64Array, offDiag: Float64Array, firstRowOnly = false): TridiagonalEigen {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  e.set(offDiag.subarray(0, Math.max(0, n - 1)));
  const rows = firstRowOnly ? 1 : n;
  const z = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) z[i * n + i] = 1;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) break; // converged as far as f64 allows
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        let f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (let k = 0; k < rows; k++) {
          f = z[k * n + i + 1];
          z[k * n + i + 1] = s * z[k * n + i] + c * f;
          z[k * n + i] = c * z[k * n + i] - s * f;
        }
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return { values: d, vectors: z };
}
