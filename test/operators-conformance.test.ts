// One conformance suite run against every operator class at several sizes:
// each operation is compared with the same computation done densely in f64
// by independent code (test/helpers/reference.ts).
//
// Tolerances (max-norm relative error):
//   products, diagonal, rows, entries, transpose: 1e-10 (f64 everywhere)
//   exact solves / logdet (Cholesky or structured): 1e-8
//   CG solves (forced with maxCholeskySize below n, cgTolerance 1e-10): 1e-6
//   SLQ logdet (200 seeded probes, rank-50 preconditioner): 1e-2 relative to |logdet|.
//     SLQ is a stochastic (Hutchinson) estimate: its error shrinks like
//     1/sqrt(probes). Measured on this case: 10 probes / rank 15 gave 2.3%,
//     200 probes / rank 50 about 0.5%, 1,000 probes / rank 50 0.13%.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { rbfOperator } from "./helpers/kernelOperators";
import {
  type Dense, flat, fromFlat, luLogAbsDet, luSolve, matmul, randomMatrix, rbfDense, relErr, rng, spd, transpose,
} from "./helpers/reference";

const ops = gp.operators;
const { mat } = gp.algorithms;

interface Case {
  name: string;
  op: gp.operators.LinearOperator;
  dense: Dense;
  /** Symmetric positive definite: solve / logdet apply. */
  spd: boolean;
  /** Solve options to force a path (e.g. CG) and the tolerances that path earns. */
  solveOptions?: gp.algorithms.SolveOptions;
  solveTol?: number;
  logdetTol?: number;
}

function diagDense(d: number[]): Dense {
  return d.map((v, i) => d.map((_, j) => (i === j ? v : 0)));
}

function kron(a: Dense, b: Dense): Dense {
  const out: Dense = [];
  for (let i = 0; i < a.length; i++) {
    for (let k = 0; k < b.length; k++) {
      const row: number[] = [];
      for (let j = 0; j < a[0].length; j++) for (let l = 0; l < b[0].length; l++) row.push(a[i][j] * b[k][l]);
      out.push(row);
    }
  }
  return out;
}

function blockDiag(blocks: Dense[]): Dense {
  const n = blocks.reduce((s, b) => s + b.length, 0);
  const m = blocks.reduce((s, b) => s + b[0].length, 0);
  const out: Dense = Array.from({ length: n }, () => new Array(m).fill(0));
  let r = 0, c = 0;
  for (const b of blocks) {
    b.forEach((row, i) => row.forEach((v, j) => (out[r + i][c + j] = v)));
    r += b.length;
    c += b[0].length;
  }
  return out;
}

function add(a: Dense, b: Dense): Dense {
  return a.map((row, i) => row.map((v, j) => v + b[i][j]));
}

function cases(n: number, seed: number): Case[] {
  const rand = rng(seed);
  const out: Case[] = [];
  const A = randomMatrix(n, n + 2, rand);
  out.push({ name: `Dense ${n}x${n + 2}`, op: new ops.DenseLinearOperator(A), dense: A, spd: false });
  const S = spd(n, rand);
  out.push({ name: `Dense SPD ${n}`, op: new ops.DenseLinearOperator(S), dense: S, spd: true });
  const d = Array.from({ length: n }, () => 0.5 + rand());
  out.push({ name: `Diag ${n}`, op: new ops.DiagLinearOperator(d), dense: diagDense(d), spd: true });
  out.push({ name: `ConstantDiag ${n}`, op: new ops.ConstantDiagLinearOperator(2.5, n), dense: diagDense(new Array(n).fill(2.5)), spd: true });
  out.push({ name: `Identity ${n}`, op: new ops.IdentityLinearOperator(n), dense: diagDense(new Array(n).fill(1)), spd: true });

  const x = randomMatrix(n, 3, rand);
  const y = randomMatrix(n + 3, 3, rand);
  const K = rbfDense(x, x, 0.7, 1.3);
  out.push({ name: `Kernel RBF ${n}x${n + 3}`, op: rbfOperator(x, y, 0.7, 1.3), dense: rbfDense(x, y, 0.7, 1.3), spd: false });
  const noise = Array.from({ length: n }, () => 0.05 + 0.1 * rand());
  const Kn = add(K, diagDense(noise));
  out.push({ name: `AddedDiag(Kernel, Diag) ${n}`, op: rbfOperator(x, null, 0.7, 1.3).add(new ops.DiagLinearOperator(noise)), dense: Kn, spd: true });
  out.push({
    name: `ConstantMul(AddedDiag) ${n}`,
    op: rbfOperator(x, null, 0.7, 1.3).addDiagonal(0.1).mul(2.5),
    dense: add(K, diagDense(new Array(n).fill(0.1))).map((r) => r.map((v) => 2.5 * v)),
    spd: true,
  });
  const S2 = spd(n, rand);
  out.push({ name: `Sum(Dense, Kernel) ${n}`, op: new ops.SumLinearOperator(new ops.DenseLinearOperator(S2), rbfOperator(x, null, 0.7, 1.3)), dense: add(S2, K), spd: true });

  const R = randomMatrix(n, 3, rand);
  const RRt = matmul(R, transpose(R));
  out.push({ name: `LowRankRoot ${n} rank 3`, op: new ops.LowRankRootLinearOperator(R), dense: RRt, spd: false });
  out.push({
    name: `AddedDiag(LowRankRoot, Diag) ${n} (Woodbury)`,
    op: new ops.LowRankRootLinearOperator(R).add(new ops.DiagLinearOperator(d)),
    dense: add(RRt, diagDense(d)),
    spd: true,
  });
  const L = randomMatrix(n, n, rand).map((row, i) => row.map((v, j) => (j < i ? v : j === i ? 1 + Math.abs(v) : 0)));
  out.push({ name: `Triangular ${n}`, op: new ops.TriangularLinearOperator(L), dense: L, spd: false });

  const Ka = spd(2, rand), Kb = spd(Math.max(2, Math.floor(n / 2)), rand);
  out.push({ name: `Kronecker 2x${Kb.length}`, op: new ops.KroneckerProductLinearOperator(new ops.DenseLinearOperator(Ka), new ops.DenseLinearOperator(Kb)), dense: kron(Ka, Kb), spd: true });
  const B1 = spd(3, rand);
  const xb = randomMatrix(4, 2, rand);
  const Kb2 = add(rbfDense(xb, xb, 1, 1), diagDense([0.1, 0.1, 0.1, 0.1]));
  out.push({
    name: "BlockDiag(Dense, Diag, AddedDiag(Kernel))",
    op: new ops.BlockDiagLinearOperator([new ops.DenseLinearOperator(B1), new ops.DiagLinearOperator(d.slice(0, 2)), rbfOperator(xb, null, 1, 1).addDiagonal(0.1)]),
    dense: blockDiag([B1, diagDense(d.slice(0, 2)), Kb2]),
    spd: true,
  });
  return out;
}

function checkCase(c: Case): void {
  const rand = rng(99);
  const [n, m] = c.op.shape;
  assert.deepEqual([n, m], [c.dense.length, c.dense[0].length], "shape");
  const V = randomMatrix(m, 3, rand);
  const got = c.op.matmulF64(mat(m, 3, flat(V)));
  assert.ok(relErr(got.data, flat(matmul(c.dense, V))) < 1e-10, `${c.name}: matmul`);

  const diagRef = Array.from({ length: Math.min(n, m) }, (_, i) => c.dense[i][i]);
  assert.ok(relErr(c.op.diagonalF64(), diagRef) < 1e-10, `${c.name}: diagonal`);

  const rowsIdx = Int32Array.from([0, n - 1, Math.floor(n / 2)]);
  const rows = c.op.rowsF64(rowsIdx);
  assert.ok(relErr(rows.data, flat(Array.from(rowsIdx, (i) => c.dense[i]))) < 1e-10, `${c.name}: rows`);

  const ri = Int32Array.from({ length: 10 }, () => Math.floor(rand() * n));
  const ci = Int32Array.from({ length: 10 }, () => Math.floor(rand() * m));
  assert.ok(relErr(c.op.entriesF64(ri, ci), Array.from(ri, (i, p) => c.dense[i][ci[p]])) < 1e-10, `${c.name}: entries`);

  const starts = Int32Array.from([0, Math.floor(m / 3), m]);
  const sums = c.op.columnBlockSumsF64(starts);
  const sumsRef = c.dense.flatMap((row) => [row.slice(0, starts[1]).reduce((s, v) => s + v, 0), row.slice(starts[1]).reduce((s, v) => s + v, 0)]);
  assert.ok(relErr(sums.data, sumsRef) < 1e-10, `${c.name}: column block sums`);

  const t = c.op.transpose();
  assert.deepEqual(t.shape, [m, n]);
  assert.ok(relErr(t.toDenseF64().data, flat(transpose(c.dense))) < 1e-10, `${c.name}: transpose`);

  if (!c.spd) return;
  const B = randomMatrix(n, 2, rand);
  const o = c.solveOptions ?? {};
  const solveTol = c.solveTol ?? 1e-8;
  const x = c.op.solveF64(mat(n, 2, flat(B)), o);
  assert.ok(relErr(x.data, flat(luSolve(c.dense, B))) < solveTol, `${c.name}: solve (${relErr(x.data, flat(luSolve(c.dense, B)))})`);
  const ld = c.op.logdetF64(o);
  const ldRef = luLogAbsDet(c.dense);
  const ldTol = c.logdetTol ?? 1e-8;
  assert.ok(Math.abs(ld - ldRef) <= ldTol * Math.max(1, Math.abs(ldRef)), `${c.name}: logdet ${ld} vs ${ldRef}`);
  const iq = c.op.invQuadLogdetF64(mat(n, 2, flat(B)), o);
  const iqRef = flat(B).reduce((s, v, i) => s + v * flat(luSolve(c.dense, B))[i], 0);
  assert.ok(Math.abs(iq.invQuad - iqRef) <= solveTol * 10 * Math.abs(iqRef), `${c.name}: invQuad ${iq.invQuad} vs ${iqRef}`);
  assert.ok(Math.abs(iq.logdet - ldRef) <= ldTol * Math.max(1, Math.abs(ldRef)), `${c.name}: invQuadLogdet logdet`);
}

describe("operator conformance (dense f64 references)", () => {
  for (const n of [1, 7, 40]) {
    for (const c of cases(n, 1000 + n)) {
      it(`${c.name}`, () => checkCase(c));
    }
  }
});

describe("operator conformance on the CG / SLQ path", () => {
  const n = 300;
  const rand = rng(5);
  const x = randomMatrix(n, 3, rand);
  const noise = 0.05;
  const dense = add(rbfDense(x, x, 0.5, 1), diagDense(new Array(n).fill(noise)));
  const cgOptions = { maxCholeskySize: 100, cgTolerance: 1e-10, numProbes: 200, preconditionerRank: 50, denseCacheBytes: 0 };
  it("AddedDiag(Kernel) 300 with CG and SLQ", () => {
    gp.setSeed(7);
    const op = rbfOperator(x, null, 0.5, 1).addDiagonal(noise);
    checkCase({ name: "CG", op, dense, spd: true, solveOptions: cgOptions, solveTol: 1e-6, logdetTol: 1e-2 });
    const report = op.lastSolveReport;
    assert.equal(report?.method, "cg", "took the CG path");
  });
  it("the dense cache inside the budget gives the same answers and says so", () => {
    gp.setSeed(7);
    const op = rbfOperator(x, null, 0.5, 1).addDiagonal(noise);
    const B = randomMatrix(n, 1, rand);
    const sol = op.solveF64(mat(n, 1, flat(B)), { ...cgOptions, denseCacheBytes: 2 ** 30 });
    assert.ok(relErr(sol.data, flat(luSolve(dense, B))) < 1e-6);
    const report = op.lastSolveReport as { materialised: boolean; materialisedBytes: number };
    assert.equal(report.materialised, true);
    assert.equal(report.materialisedBytes, n * n * 8);
  });
  it("seeded probes make SLQ reproducible", () => {
    const op = rbfOperator(x, null, 0.5, 1).addDiagonal(noise);
    gp.setSeed(11);
    const a = op.logdetF64(cgOptions);
    gp.setSeed(11);
    const b = op.logdetF64(cgOptions);
    assert.equal(a, b);
  });
  it("rootDecomposition: Cholesky below the threshold, Lanczos above", () => {
    const op = rbfOperator(x, null, 0.5, 1).addDiagonal(noise);
    const exact = op.rootDecomposition().toDenseF64();
    assert.ok(relErr(exact.data, flat(dense)) < 1e-9, "R R^T = A exactly");
    // A smooth kernel (lengthscale 1.5) has a fast-decaying spectrum: rank 50 captures it.
    const smooth = rbfOperator(x, null, 1.5, 1);
    gp.setSeed(3);
    const approx = smooth.rootDecomposition({ maxCholeskySize: 100, maxLanczosIterations: 50 });
    assert.equal(approx.shape[0], n);
    const err = relErr(approx.toDenseF64().data, flat(rbfDense(x, x, 1.5, 1)));
    assert.ok(err < 1e-3, `Lanczos root error ${err}`);
  });
});

describe("operator algebra dispatches on structure", () => {
  const x = [[0], [1], [2]];
  it("Diag + Diag is Diag, ConstantDiag + ConstantDiag is ConstantDiag", () => {
    const s = new ops.DiagLinearOperator([1, 2, 3]).add(new ops.DiagLinearOperator([1, 1, 1]));
    assert.ok(s instanceof ops.DiagLinearOperator);
    assert.deepEqual(Array.from(s.diagonalF64()), [2, 3, 4]);
    const c = new ops.ConstantDiagLinearOperator(1, 3).add(new ops.IdentityLinearOperator(3));
    assert.ok(c instanceof ops.ConstantDiagLinearOperator);
    assert.equal((c as gp.operators.ConstantDiagLinearOperator).value, 2);
  });
  it("K + Diag is AddedDiag; adding another diagonal folds into it", () => {
    const k = rbfOperator(x, null, 1);
    const a = k.addDiagonal(0.1);
    assert.ok(a instanceof ops.AddedDiagLinearOperator);
    const b = a.addDiagonal(0.2);
    assert.ok(b instanceof ops.AddedDiagLinearOperator && b.base === k);
    assert.ok(Math.abs(b.diagonalF64()[0] - 1.3) < 1e-12);
  });
  it("c * K is ConstantMul and c * (c' * K) folds", () => {
    const k = rbfOperator(x, null, 1);
    const s = k.mul(2).mul(3);
    assert.ok(s instanceof ops.ConstantMulLinearOperator && s.base === k && s.constant === 6);
  });
  it("K1 + K2 is a flat Sum", () => {
    const s = rbfOperator(x, null, 1).add(rbfOperator(x, null, 2)).add(rbfOperator(x, null, 3));
    assert.ok(s instanceof ops.SumLinearOperator && s.operands.length === 3);
  });
  it("the structure string names the tree", () => {
    const s = rbfOperator(x, null, 1).mul(2).addDiagonal(0.1);
    assert.equal(s.describe(), "AddedDiag(ConstantMul[2](Kernel[RBF] 3 x 3), ConstantDiag[0.1] 3 x 3)");
  });
  it("tf tensors in, tf tensors out", () => {
    const op = new ops.DenseLinearOperator([[2, 0], [0, 4]]);
    const r = op.matmul([[1], [1]]);
    assert.deepEqual(r.shape, [2, 1]);
    assert.deepEqual(Array.from(r.dataSync()), [2, 4]);
    assert.deepEqual(Array.from(op.diagonal().dataSync()), [2, 4]);
  });
  it("async solve / logdet / invQuadLogdet agree with closed forms", async () => {
    const op = new ops.DiagLinearOperator([2, 4]);
    assert.deepEqual(Array.from((await op.solve([[2], [4]])).dataSync()), [1, 1]);
    assert.ok(Math.abs((await op.logdet()) - Math.log(8)) < 1e-12);
    const iq = await op.invQuadLogdet([[2], [4]]);
    assert.ok(Math.abs(iq.invQuad - 6) < 1e-12 && Math.abs(iq.logdet - Math.log(8)) < 1e-12);
  });
  it("fromFlat helper round-trips (sanity of the reference helpers)", () => {
    assert.deepEqual(fromFlat([1, 2, 3, 4], 2, 2), [[1, 2], [3, 4]]);
  });
});
