// Independent dense f64 references for tests: plain loops and an LU
// factorisation with partial pivoting (deliberately not the library's
// Cholesky), so tests never compare the code under test with itself.

export type Dense = number[][];

/** Small deterministic generator for test data (independent of gp.setSeed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomMatrix(rows: number, cols: number, rand: () => number, scale = 1): Dense {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() * 2 - 1) * scale));
}

export function matmul(a: Dense, b: Dense): Dense {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

export function transpose(a: Dense): Dense {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/** A A^T + shift I: symmetric positive definite. */
export function spd(n: number, rand: () => number, shift = 1): Dense {
  const a = randomMatrix(n, n, rand);
  const out = matmul(a, transpose(a));
  for (let i = 0; i < n; i++) out[i][i] += shift;
  return out;
}

export function fromFlat(data: ArrayLike<number>, rows: number, cols: number): Dense {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j]));
}

export function flat(a: Dense): Float64Array {
  return Float64Array.from(a.flat());
}

/** LU with partial pivoting: solve and log|det|. */
export function luSolve(a: Dense, b: Dense): Dense {
  const n = a.length;
  const m = a.map((r) => r.slice());
  const x = b.map((r) => r.slice());
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    [x[k], x[p]] = [x[p], x[k]];
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j < n; j++) m[i][j] -= f * m[k][j];
      for (let j = 0; j < x[0].length; j++) x[i][j] -= f * x[k][j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let j = 0; j < x[0].length; j++) {
      let s = x[i][j];
      for (let k = i + 1; k < n; k++) s -= m[i][k] * x[k][j];
      x[i][j] = s / m[i][i];
    }
  }
  return x;
}

export function luLogAbsDet(a: Dense): number {
  const n = a.length;
  const m = a.map((r) => r.slice());
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    s += Math.log(Math.abs(m[k][k]));
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j < n; j++) m[i][j] -= f * m[k][j];
    }
  }
  return s;
}

/** Largest |a - b| relative to the largest |b| (max-norm relative error). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-300);
}

/** outputscale * exp(-|x - y|^2 / (2 l^2)) computed entry by entry. */
export function rbfDense(x: Dense, y: Dense, lengthscale: number, outputscale = 1): Dense {
  return x.map((xi) =>
    y.map((yj) => outputscale * Math.exp(-0.5 * xi.reduce((s, v, k) => s + ((v - yj[k]) / lengthscale) ** 2, 0))),
  );
}
