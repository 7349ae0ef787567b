// Proportional squared distances (formula.ts `scaledFrom`, `proportionalDistances`):
// stationary kernels over one lengthscale on the same inputs declare their
// features as 1 / l times those inputs, and the WebAssembly compiler computes
// one distance for all of them. Checked here: which factors share (and which
// must not), results against closed forms written in this file for K(x, y),
// its transpose and the gradient pass with and without sharing, and that
// stale metadata is refused. (Every kernel x every reduction against the
// JavaScript reference is test/reductions-wasm.)

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { pairwiseBilinear } from "../lib/reductions/engine";
import { type Formula, proportionalDistances, structureKey } from "../lib/reductions/formula";
import { relErr, rng } from "./helpers/reference";

const K = gp.kernels;
const L_RBF = 0.8, L_MATERN = 1.1, C_RBF = 1.3, C_MATERN = 0.6;

function rbf(l: number | number[] = L_RBF, activeDims?: number[]): gp.kernels.RBFKernel {
  const k = new K.RBFKernel({ ardNumDims: Array.isArray(l) ? l.length : undefined, activeDims });
  k.lengthscale = l;
  return k;
}
function matern52(l = L_MATERN): gp.kernels.MaternKernel {
  const k = new K.MaternKernel({ nu: 2.5 });
  k.lengthscale = l;
  return k;
}
function scaled(k: gp.kernels.Kernel, s: number): gp.kernels.ScaleKernel {
  const sk = new K.ScaleKernel(k);
  sk.outputscale = s;
  return sk;
}
/** Scale(RBF) + Scale(Matern 5/2), the issue-13 sum. */
const sum = () => scaled(rbf(), C_RBF).add(scaled(matern52(), C_MATERN));

function points(n: number, d: number, rand: () => number): gp.algorithms.Mat {
  return gp.algorithms.mat(n, d, Float64Array.from({ length: n * d }, () => rand() * 3));
}
function formulaOf(kernel: gp.kernels.Kernel, x: gp.algorithms.Mat, y: gp.algorithms.Mat): Formula {
  return (kernel.operatorF64(x, y) as unknown as { formula: Formula }).formula;
}
/** The sum's closed form: c1 exp(-r^2 / (2 l1^2)) + c2 (1 + sqrt5 r/l2 + 5 r^2/(3 l2^2)) exp(-sqrt5 r / l2). */
function sumClosedForm(x: gp.algorithms.Mat, y: gp.algorithms.Mat): number[][] {
  const d = x.cols;
  return Array.from({ length: x.rows }, (_, i) =>
    Array.from({ length: y.rows }, (_, j) => {
      let r2 = 0;
      for (let k = 0; k < d; k++) r2 += (x.data[i * d + k] - y.data[j * d + k]) ** 2;
      const a = (Math.sqrt(5) * Math.sqrt(r2)) / L_MATERN;
      return C_RBF * Math.exp(-r2 / (2 * L_RBF * L_RBF)) + C_MATERN * (1 + a + (a * a) / 3) * Math.exp(-a);
    }),
  );
}

describe("proportional squared distances", () => {
  const rand = rng(1313);
  const X = points(37, 3, rand), Y = points(29, 3, rand);

  it("the sum's Matern distance is the RBF one times (l_RBF / l_Matern)^2, and the structure key says so", () => {
    const f = formulaOf(sum(), X, Y);
    const { leader, ratio2 } = proportionalDistances(f);
    assert.deepEqual(leader, [-1, 0]);
    assert.ok(Math.abs(ratio2[1] / (L_RBF / L_MATERN) ** 2 - 1) < 1e-15, String(ratio2[1]));
    assert.match(structureKey(f), /\|s=-1,0$/);
  });

  it("ARD lengthscales, other inputs (activeDims) and other statistics do not share", () => {
    const cases: [string, gp.kernels.Kernel][] = [
      ["ARD RBF + Matern", rbf([0.5, 0.9, 1.4]).add(matern52())],
      ["RBF on dims 0, 1 + Matern", rbf(L_RBF, [0, 1]).add(matern52())],
      ["RBF * Periodic", rbf().mul(new K.PeriodicKernel())],
    ];
    for (const [name, kernel] of cases) {
      const f = formulaOf(kernel, X, X);
      assert.ok(proportionalDistances(f).leader.every((g) => g < 0), name);
      assert.doesNotMatch(structureKey(f), /\|s=/, name);
    }
  });

  it("K(x, y) @ V, its transpose and K(x, x) @ V match the closed form (the shared distance scaled per factor)", () => {
    const Kxy = sumClosedForm(X, Y), Kxx = sumClosedForm(X, X);
    const V = gp.algorithms.mat(Y.rows, 2, Float64Array.from({ length: Y.rows * 2 }, () => rand() - 0.5));
    const U = gp.algorithms.mat(X.rows, 2, Float64Array.from({ length: X.rows * 2 }, () => rand() - 0.5));
    const dense = (A: number[][], B: gp.algorithms.Mat) =>
      Float64Array.from(A.flatMap((row) => Array.from({ length: B.cols }, (_, t) => row.reduce((s, a, j) => s + a * B.data[j * B.cols + t], 0))));
    const op = sum().operatorF64(X, Y);
    assert.ok(relErr(op.matmulF64(V).data, dense(Kxy, V)) < 1e-12, "K(x, y) V");
    const KyxT = Kxy[0].map((_, j) => Kxy.map((row) => row[j]));
    assert.ok(relErr(op.transpose().matmulF64(U).data, dense(KyxT, U)) < 1e-12, "K(x, y)^T U");
    const Vx = gp.algorithms.mat(X.rows, 2, U.data);
    assert.ok(relErr(sum().operatorF64(X, X).matmulF64(Vx).data, dense(Kxx, Vx)) < 1e-12, "K(x, x) V");
  });

  it("the gradient pass with a shared distance equals the one without (the same kernel, the Matern factor's source made distinct)", () => {
    const f = formulaOf(sum(), X, Y);
    // The same formula with the sharing taken away: a copy of the source inputs, so no leader.
    const unshared: Formula = { ...f, factors: f.factors.map((fa, fi) => (fi === 1 && fa.scaledFrom ? { ...fa, scaledFrom: { ...fa.scaledFrom, x: fa.scaledFrom.x.slice(), y: fa.scaledFrom.y.slice() } } : fa)) };
    assert.deepEqual(proportionalDistances(unshared).leader, [-1, -1]);
    const M = Float64Array.from({ length: X.rows * Y.rows }, () => rand() - 0.5);
    const shared = pairwiseBilinear(f, { kind: "dense", M });
    const plain = pairwiseBilinear(unshared, { kind: "dense", M });
    assert.ok(relErr(shared, plain) < 1e-12, `${relErr(shared, plain)}`);
  });

  it("a formula whose features no longer match its scaledFrom is refused with the fix named", () => {
    const f = formulaOf(sum(), X, Y);
    const stale: Formula = { ...f, factors: f.factors.map((fa, fi) => (fi === 1 ? { ...fa, x: fa.x.map((v) => 2 * v) } : fa)) };
    assert.throws(() => pairwiseBilinear(stale, { kind: "dense", M: new Float64Array(X.rows * Y.rows) }), /not scaledFrom.scale times its source inputs; drop scaledFrom/);
  });
});
