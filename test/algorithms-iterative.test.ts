// The pieces of the iterative path on their own, against dense f64
// computations written here: the Woodbury preconditioner P = L L^T + D
// (solve, product, log-determinant), pivoted Cholesky, CG with per-column
// tolerances (converged columns leave the products), and the automatic
// preconditioner rank.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { conjugateGradients } from "../lib/algorithms/cg";
import { LowRankPlusDiag } from "../lib/algorithms/lowRankPlusDiag";
import { pivotedCholesky } from "../lib/algorithms/pivotedCholesky";
import { preconditionerRankFor, resolveSolveOptions } from "../lib/algorithms/settings";
import { lowRankPlusDiagDense, lowRankPlusDiagSamples } from "./helpers/denseReference";
import { rng } from "./helpers/reference";

const { mat } = gp.algorithms;
type Mat = gp.algorithms.Mat;

function randomMat(rows: number, cols: number, rand: () => number): Mat {
  return mat(rows, cols, Float64Array.from({ length: rows * cols }, () => rand() * 2 - 1));
}

/** An n x n matrix with orthonormal columns: Gram-Schmidt of a random matrix. */
function orthonormalColumns(n: number, rand: () => number): Mat {
  const Q = randomMat(n, n, rand);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += Q.data[i * n + j] * Q.data[i * n + k];
      for (let i = 0; i < n; i++) Q.data[i * n + j] -= dot * Q.data[i * n + k];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += Q.data[i * n + j] ** 2;
    for (let i = 0; i < n; i++) Q.data[i * n + j] /= Math.sqrt(norm);
  }
  return Q;
}

/** log |det A| by Gaussian elimination with partial pivoting. */
function logAbsDet(A: Float64Array, n: number): number {
  const a = A.slice();
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    if (p !== c) for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    s += Math.log(Math.abs(a[c * n + c]));
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
    }
  }
  return s;
}

function denseTimes(A: Float64Array, n: number, B: Mat): Mat {
  const out = mat(n, B.cols);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let c = 0; c < B.cols; c++) out.data[i * B.cols + c] += A[i * n + j] * B.data[j * B.cols + c];
  return out;
}

/** ||B_c - A X_c|| / ||B_c|| for column c, A dense [n, n]. */
function relativeResidual(A: Float64Array, n: number, B: Mat, X: Mat, c: number): number {
  const AX = denseTimes(A, n, X);
  let res = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    res += (B.data[i * B.cols + c] - AX.data[i * B.cols + c]) ** 2;
    norm += B.data[i * B.cols + c] ** 2;
  }
  return Math.sqrt(res / norm);
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("LowRankPlusDiag (Woodbury preconditioner)", () => {
  const rand = rng(31);
  const n = 57, k = 9;
  const L = randomMat(n, k, rand);
  const d = Float64Array.from({ length: n }, () => 0.1 + rand());
  const P = new LowRankPlusDiag(L, d);
  const A = lowRankPlusDiagDense(L, d);
  it("P (P^{-1} B) = B (1, 3 and 11 columns: loops and GEMM paths) and P B equals the dense product", () => {
    for (const t of [1, 3, 11]) {
      const Bt = randomMat(n, t, rand);
      const back = denseTimes(A, n, P.solve(Bt));
      assert.ok(maxAbs(back.data.map((v, i) => v - Bt.data[i])) < 1e-10, `t = ${t}`);
    }
    const B = randomMat(n, 11, rand);
    const prod = P.matmul(B);
    assert.ok(maxAbs(prod.data.map((v, i) => v - denseTimes(A, n, B).data[i])) < 1e-10);
  });
  it("log det P equals the dense log-determinant", () => {
    assert.ok(Math.abs(P.logdet() - logAbsDet(A, n)) < 1e-9);
  });
  it("given L^T instead of L it is the same operator; samples are L e1 + sqrt(D) e2 in the generator's order", () => {
    const LT = mat(k, n);
    for (let i = 0; i < n; i++) for (let q = 0; q < k; q++) LT.data[q * n + i] = L.data[i * k + q];
    const PT = new LowRankPlusDiag(null, d, LT);
    assert.equal(PT.rank, k);
    assert.deepEqual(Array.from(PT.L.data), Array.from(L.data));
    assert.ok(Math.abs(PT.logdet() - logAbsDet(A, n)) < 1e-9);
    const B = randomMat(n, 5, rand);
    const back = denseTimes(A, n, PT.solve(B));
    assert.ok(maxAbs(back.data.map((v, i) => v - B.data[i])) < 1e-10);
    const t = 3;
    const z = PT.sample(new gp.RandomSource(5), t);
    const expected = lowRankPlusDiagSamples(L, d, 5, t);
    for (let e = 0; e < n * t; e++) assert.ok(Math.abs(z.data[e] - expected[e]) < 1e-12, `sample [${Math.floor(e / t)}, ${e % t}]`);
  });
  it("rank 0 is the diagonal alone", () => {
    const P0 = new LowRankPlusDiag(mat(n, 0), d);
    const B = randomMat(n, 2, rand);
    const x = P0.solve(B);
    for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) assert.ok(Math.abs(x.data[i * 2 + c] - B.data[i * 2 + c] / d[i]) < 1e-14);
  });
});

describe("pivoted Cholesky", () => {
  const rand = rng(32);
  const n = 40;
  const G = randomMat(n, 6, rand);
  const A = lowRankPlusDiagDense(G, new Float64Array(n).fill(0.05)); // PSD, full rank
  const access = {
    size: n,
    diagonal: () => Float64Array.from({ length: n }, (_, i) => A[i * n + i]),
    rows: (idx: Int32Array) => {
      const out = new Float64Array(idx.length * n);
      idx.forEach((r, k) => out.set(A.subarray(r * n, (r + 1) * n), k * n));
      return out;
    },
  };
  it("full rank reproduces the matrix; lower ranks leave a decreasing trace error", () => {
    const full = pivotedCholesky(access, n, 0);
    const LLt = lowRankPlusDiagDense(full, new Float64Array(n));
    assert.ok(maxAbs(LLt.map((v, i) => v - A[i])) < 1e-10);
    let previous = Infinity;
    for (const rank of [2, 6, 12]) {
      const L = pivotedCholesky(access, rank, 0);
      const approx = lowRankPlusDiagDense(L, new Float64Array(n));
      let traceError = 0;
      for (let i = 0; i < n; i++) traceError += A[i * n + i] - approx[i * n + i];
      assert.ok(traceError >= -1e-10 && traceError < previous, `rank ${rank}: trace error ${traceError}`);
      previous = traceError;
    }
  });
});

describe("conjugate gradients with per-column tolerances", () => {
  it("each column meets its own tolerance and converged columns leave the products", () => {
    const rand = rng(33);
    const n = 120;
    const G = randomMat(n, 30, rand);
    const A = lowRankPlusDiagDense(G, new Float64Array(n).fill(0.3));
    const B = randomMat(n, 3, rand);
    const widths: number[] = [];
    const tolerance = Float64Array.of(1e-2, 1e-9, 1e-4);
    const r = conjugateGradients((v) => {
      widths.push(v.cols);
      return denseTimes(A, n, v);
    }, B, { tolerance, maxIterations: 500, tridiagonalColumns: [0, 1, 2] }); // tracked: plain CG per column, no Galerkin finish
    assert.ok(r.converged);
    for (let c = 0; c < 3; c++) {
      const residual = relativeResidual(A, n, B, r.solution, c);
      assert.ok(residual < tolerance[c] * 1.001, `column ${c}: ${residual} vs ${tolerance[c]}`);
    }
    assert.equal(widths[0], 3);
    assert.equal(widths[widths.length - 1], 1, "only the tightest column is still multiplied at the end");
    assert.ok(widths.some((w) => w === 2), "the loosest column left first");
  });
});

describe("conjugate gradients: the preconditioner runs on the columns still iterating", () => {
  // A = D^{1/2} Q diag(lambda) Q^T D^{1/2} with eight distinct eigenvalues and P = D:
  // P^{-1} A is similar to Q diag(lambda) Q^T, so CG ends in eight iterations and a
  // column's Lanczos tridiagonal then has exactly the eigenvalues lambda.
  const rand = rng(34);
  const n = 60;
  const distinct = [1, 1.2, 1.5, 2, 3, 5, 10, 30];
  const lambda = Array.from({ length: n }, (_, i) => distinct[i % 8]);
  const Q = orthonormalColumns(n, rand);
  const d = Float64Array.from({ length: n }, () => 0.5 + 2 * rand());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q.data[i * n + k] * lambda[k] * Q.data[j * n + k];
      A[i * n + j] = Math.sqrt(d[i] * d[j]) * s;
    }
  }
  const B = randomMat(n, 3, rand);
  // Column 0 is a loose solve, 1 and 2 are tracked (probe-like), 1 to the end of the Krylov space.
  const tolerance = Float64Array.of(0.2, 1e-6, 0.02);
  const products: number[] = [];
  const solves: number[] = [];
  const r = conjugateGradients(
    (v) => {
      products.push(v.cols);
      return denseTimes(A, n, v);
    },
    B,
    { tolerance, maxIterations: 50, tridiagonalColumns: [1, 2] },
    (v) => {
      solves.push(v.cols);
      return mat(v.rows, v.cols, v.data.map((x, i) => x / d[Math.floor(i / v.cols)]));
    },
  );

  it("every column meets its tolerance against the dense system", () => {
    assert.ok(r.converged);
    for (let c = 0; c < 3; c++) {
      const residual = relativeResidual(A, n, B, r.solution, c);
      assert.ok(residual < tolerance[c] * 1.001, `column ${c}: ${residual} vs ${tolerance[c]}`);
    }
  });

  it("P^{-1} is applied once before the first product and then only to the columns of the next product", () => {
    assert.deepEqual(solves, products, `solves ${solves} products ${products}`);
    assert.deepEqual(products, [3, 3, 3, 3, 2, 2, 1, 1], "eight distinct eigenvalues: eight iterations; column 0 leaves after four, column 2 after six");
  });

  it("returns P^{-1} B", () => {
    for (let i = 0; i < n * 3; i++) assert.ok(Math.abs(r.preconditionedRhs.data[i] - B.data[i] / d[Math.floor(i / 3)]) < 1e-15);
  });

  it("a converged column's tridiagonal has the eigenvalues of P^{-1} A; a stopped one's lie inside them", () => {
    // Power sums trace(T^k) = sum_j lambda_j^k (k = 1..8) fix the eight eigenvalues.
    const full = r.tridiagonals[0];
    assert.equal(full.diag.length, 8);
    const T = Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) => (i === j ? full.diag[i] : Math.abs(i - j) === 1 ? full.offDiag[Math.min(i, j)] : 0)));
    let power = T.map((row) => row.slice());
    for (let k = 1; k <= 8; k++) {
      const trace = power.reduce((s, row, i) => s + row[i], 0);
      const expected = distinct.reduce((s, l) => s + l ** k, 0);
      assert.ok(Math.abs(trace - expected) < 1e-8 * expected, `trace(T^${k}) ${trace} vs ${expected}`);
      power = power.map((row) => T[0].map((_, j) => row.reduce((s, v, q) => s + v * T[q][j], 0)));
    }
    const early = r.tridiagonals[1];
    assert.equal(early.diag.length, 6);
    // Every Ritz value is in [1, 30]: T - I and 30 I - T are positive semidefinite (Sturm: no negative pivots).
    for (const [shift, sign] of [[1, 1], [30, -1]] as const) {
      let pivot = 1;
      for (let i = 0; i < early.diag.length; i++) {
        const e2 = i > 0 ? early.offDiag[i - 1] ** 2 : 0;
        pivot = sign * (early.diag[i] - shift) - e2 / pivot;
        assert.ok(pivot > -1e-9, `Ritz value outside the spectrum (shift ${shift})`);
      }
    }
  });
});

describe("conjugate gradients: a solve column finishes by the Galerkin correction over every column's directions", () => {
  /** Q diag(lambda) Q^T with Q orthonormal (Gram-Schmidt of a random matrix). */
  function spectral(n: number, lambda: number[], rand: () => number): Float64Array {
    const Q = orthonormalColumns(n, rand);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] += Q.data[i * n + k] * lambda[k] * Q.data[j * n + k];
    return A;
  }
  it("three probes' directions span R^12: the 1e-10 solve stops when they do, not after its own 12 iterations", () => {
    const rand = rng(35);
    const n = 12;
    const A = spectral(n, Array.from({ length: n }, (_, i) => 1.5 ** i), rand);
    const B = randomMat(n, 4, rand);
    const products: number[] = [];
    const apply = (v: Mat) => {
      products.push(v.cols);
      return denseTimes(A, n, v);
    };
    const r = conjugateGradients(apply, B, { tolerance: Float64Array.of(1e-10, 0.05, 0.05, 0.05), maxIterations: 100, tridiagonalColumns: [1, 2, 3] });
    assert.ok(r.converged);
    assert.ok(relativeResidual(A, n, B, r.solution, 0) < 1e-10, `solve column ${relativeResidual(A, n, B, r.solution, 0)}`);
    for (const c of [1, 2, 3]) assert.ok(relativeResidual(A, n, B, r.solution, c) < 0.05 * 1.001);
    assert.ok(products.length < n && products.every((w) => w >= 2), `products ${products}: the solve never ran alone`);
    // Alone, the same solve takes its full Krylov space.
    let alone = 0;
    const single = conjugateGradients((v) => (alone++, denseTimes(A, n, v)), mat(n, 1, Float64Array.from({ length: n }, (_, i) => B.data[i * 4])), { tolerance: 1e-10, maxIterations: 100 });
    assert.ok(single.converged && alone >= n - 1, `alone: ${alone} products`);
    // The probes' tridiagonals are those of CG on each probe alone.
    const probeAlone = conjugateGradients((v) => denseTimes(A, n, v), mat(n, 1, Float64Array.from({ length: n }, (_, i) => B.data[i * 4 + 2])), { tolerance: 0.05, maxIterations: 100, tridiagonalColumns: [0] });
    assert.deepEqual(Array.from(r.tridiagonals[1].diag), Array.from(probeAlone.tridiagonals[0].diag));
  });

  it("tried and refused while the probes' directions are not enough, the solve's own recurrence goes on to its tolerance", () => {
    const rand = rng(36);
    const n = 60;
    const A = spectral(n, Array.from({ length: n }, (_, i) => 1 + i * i / 20), rand);
    const B = randomMat(n, 2, rand);
    const products: number[] = [];
    const r = conjugateGradients((v) => {
      products.push(v.cols);
      return denseTimes(A, n, v);
    }, B, { tolerance: Float64Array.of(1e-10, 0.3), maxIterations: 200, tridiagonalColumns: [1] });
    assert.ok(r.converged);
    assert.ok(relativeResidual(A, n, B, r.solution, 0) < 1e-10 * 1.001, `solve column ${relativeResidual(A, n, B, r.solution, 0)}`);
    assert.ok(products.filter((w) => w === 1).length >= 5, `products ${products}: the solve ran on alone`);
  });
});

describe("automatic preconditioner rank", () => {
  it("is 3 sqrt(n) clamped to [15, 400] and never above n; a number is used as given", () => {
    
    const auto = resolveSolveOptions();
    assert.equal(auto.preconditionerRank, "auto");
    assert.deepEqual([10, 100, 5000, 10000, 1e6].map((n) => preconditionerRankFor(n, auto)), [10, 30, 212, 300, 400]);
    assert.equal(preconditionerRankFor(1000, resolveSolveOptions({ preconditionerRank: 15 })), 15);
    assert.equal(preconditionerRankFor(1000, resolveSolveOptions({ preconditionerRank: 0 })), 0);
  });
});
