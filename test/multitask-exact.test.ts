// Exact multitask GP (MultitaskKernel, Kronecker-structured solves) against a
// dense f64 computation done here: the (nT) x (nT) covariance K (x) B + I (x)
// Sigma built entry by entry, LU solves and log-determinant. MLL, predictive
// mean and variance per task agree to 1e-9 relative, for rank-0 and full-rank
// task noise; gradients match central differences; the model never densifies
// a Kronecker operator. Also the Jacobi eigensolver it relies on.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { symmetricEigen } from "../lib/algorithms/symmetricEigen";
import { KroneckerProductLinearOperator } from "../lib/operators/KroneckerProductLinearOperator";
import { type Dense, luLogAbsDet, luSolve, rng } from "./helpers/reference";

const softplus = (r: number) => Math.log1p(Math.exp(r));

function setup(rank: number, n = 30, T = 3) {
  const r = rng(rank + 5);
  const x = Array.from({ length: n }, () => [r() * 4]);
  const y = x.map(([v]) => [Math.sin(v), Math.cos(v) + 0.5 * Math.sin(v), v / 4].slice(0, T).map((f) => f + 0.1 * (r() - 0.5)));
  const lik = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: T, rank });
  const model = new gp.models.MultitaskExactGP(x, y, lik, {
    covarModule: new gp.kernels.MultitaskKernel(new gp.kernels.RBFKernel(), { numTasks: T, rank: 2 }),
  });
  model.initialize({ "covarModule.dataCovarModule.lengthscale": 0.7, "meanModule.constant": [0.1, -0.2, 0.3].slice(0, T), "likelihood.noise": 0.02 });
  if (rank === 0) lik.initialize({ taskNoises: [0.05, 0.1, 0.03].slice(0, T) });
  else lik.initialize({ taskNoiseCovarFactor: Array.from({ length: T * rank }, () => 0.3 * (r() - 0.5)) });
  return { model, lik, x, y, T, n };
}

/** The dense pieces, from raw parameter values (independent of the model's code paths). */
function dense(model: gp.models.MultitaskExactGP, lik: gp.likelihoods.MultitaskGaussianLikelihood, T: number) {
  const sd = model.stateDict() as Record<string, unknown>;
  const l = softplus((sd["covarModule.dataCovarModule.rawLengthscale"] as number[][])[0][0]);
  const W = (sd["covarModule.taskCovarModule.covarFactor"] as number[][]);
  const v = (sd["covarModule.taskCovarModule.rawVar"] as number[]).map((r) => softplus(r));
  const B = Array.from({ length: T }, (_, a) => Array.from({ length: T }, (_, b) => W[a].reduce((s, w, k) => s + w * W[b][k], 0) + (a === b ? v[a] : 0)));
  const ls = lik.stateDict() as Record<string, unknown>;
  const g = 1e-4 + softplus((ls.rawNoise as number[])[0]);
  const S = Array.from({ length: T }, (_, a) => Array.from({ length: T }, (_, b) => (a === b ? g : 0)));
  if (ls.rawTaskNoises) (ls.rawTaskNoises as number[]).forEach((r, t) => (S[t][t] += 1e-4 + softplus(r)));
  if (ls.taskNoiseCovarFactor) {
    const F = ls.taskNoiseCovarFactor as number[][];
    for (let a = 0; a < T; a++) for (let b = 0; b < T; b++) S[a][b] += F[a].reduce((s, w, k) => s + w * F[b][k], 0);
  }
  const c = (sd["meanModule.rawConstant"] as number[]);
  const k = (p: number, q: number) => Math.exp(-0.5 * ((p - q) / l) ** 2);
  return { B, S, c, k };
}

function maxRel(a: ArrayLike<number>, b: number[]): number {
  let m = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(s, 1e-300);
}

for (const rank of [0, 1]) {
  test(`rank-${rank} task noise: MLL / (nT), predictive mean and variance per task match a dense f64 computation (rel < 1e-9)`, async () => {
    const { model, lik, x, y, T, n } = setup(rank);
    const { B, S, c, k } = dense(model, lik, T);
    const N = n * T;
    const C: Dense = Array.from({ length: N }, (_, p) => Array.from({ length: N }, (_, q) => {
      const i = Math.floor(p / T), t = p % T, j = Math.floor(q / T), u = q % T;
      return k(x[i][0], x[j][0]) * B[t][u] + (i === j ? S[t][u] : 0);
    }));
    const r = y.flat().map((v, p) => v - c[p % T]);
    const alpha = luSolve(C, r.map((v) => [v])).map((row) => row[0]);
    const mll = (-0.5 * (r.reduce((s, v, p) => s + v * alpha[p], 0) + luLogAbsDet(C) + N * Math.log(2 * Math.PI))) / N;
    const obj = new gp.mlls.MultitaskExactMarginalLogLikelihood(lik, model);
    const value = await obj.evaluate();
    assert.ok(Math.abs(value - mll) < 1e-9 * Math.abs(mll), `${value} vs ${mll}`);

    const xt = [[-0.5], [0.3], [1.7], [3.9], [5]];
    const spies: string[] = [];
    const orig = KroneckerProductLinearOperator.prototype.toDenseF64;
    KroneckerProductLinearOperator.prototype.toDenseF64 = function (...a) {
      spies.push("toDense");
      return orig.apply(this, a);
    };
    const p = await model.predict(xt);
    const py = await model.predict(xt, { noise: true });
    KroneckerProductLinearOperator.prototype.toDenseF64 = orig;
    assert.deepEqual(spies, [], "no Kronecker operator was densified");
    const mean: number[] = [], vf: number[] = [], vy: number[] = [];
    for (const [xs] of xt) {
      for (let t = 0; t < T; t++) {
        const kv = Array.from({ length: N }, (_, q) => k(xs, x[Math.floor(q / T)][0]) * B[t][q % T]);
        const sol = luSolve(C, kv.map((v) => [v])).map((row) => row[0]);
        mean.push(c[t] + kv.reduce((s, v, q) => s + v * alpha[q], 0));
        const v = B[t][t] - kv.reduce((s, vv, q) => s + vv * sol[q], 0);
        vf.push(v);
        vy.push(v + S[t][t]);
      }
    }
    assert.ok(maxRel(p.meanF64, mean) < 1e-9, `mean ${maxRel(p.meanF64, mean)}`);
    assert.ok(maxRel(p.varianceF64, vf) < 1e-9, `var ${maxRel(p.varianceF64, vf)}`);
    assert.ok(maxRel(py.varianceF64, vy) < 1e-9);
    assert.deepEqual(p.mean.shape, [5, T]);
  });

  test(`rank-${rank} task noise: MLL gradient matches central differences for every parameter`, () => {
    const { model } = setup(rank, 20);
    const obj = new gp.mlls.MultitaskExactMarginalLogLikelihood(model.likelihood, model);
    model.zeroGrad();
    obj.compute(true);
    for (const [name, prm] of model.namedParameters()) {
      for (let i = 0; i < prm.size; i++) {
        const o = prm.raw[i], h = 1e-5;
        const at = (v: number) => {
          prm.raw[i] = v;
          const r = obj.compute(false).value;
          prm.raw[i] = o;
          return r;
        };
        const fd = (8 * (at(o + h) - at(o - h)) - (at(o + 2 * h) - at(o - 2 * h))) / (12 * h);
        assert.ok(Math.abs(prm.grad[i] - fd) < 1e-7 * Math.max(1, Math.abs(fd)), `${name}[${i}]: ${prm.grad[i]} vs ${fd}`);
      }
    }
  });
}

test("the iterative path (n > maxCholeskySize) gives the same MLL and predictions as the Cholesky path", async () => {
  const { model, lik } = setup(0, 60);
  const obj = new gp.mlls.MultitaskExactMarginalLogLikelihood(lik, model);
  const exact = await obj.evaluate();
  const cg = await obj.evaluate({ solve: { maxCholeskySize: 10, cgTolerance: 1e-10, numProbes: 64 } });
  assert.ok(Math.abs(exact - cg) < 2e-2 * Math.abs(exact), `${cg} vs ${exact}`);
  const p1 = await model.predict([[1], [2]]);
  const p2 = await model.predict([[1], [2]], { solve: { maxCholeskySize: 10, cgTolerance: 1e-12 } });
  assert.ok(maxRel(p2.meanF64, Array.from(p1.meanF64)) < 1e-6);
  assert.ok(maxRel(p2.varianceF64, Array.from(p1.varianceF64)) < 1e-6);
});

test("fit trains a multitask exact GP; bad inputs are named", async () => {
  const { model, lik } = setup(0, 40);
  const obj = new gp.mlls.MultitaskExactMarginalLogLikelihood(lik, model);
  const run = await gp.train.fit(model, obj, { iterations: 30, lr: 0.05, live: false });
  assert.ok(run.finalLoss < run.losses[0], `${run.losses[0]} -> ${run.finalLoss}`);
  const x = [[0], [1]];
  assert.throws(() => new gp.models.MultitaskExactGP(x, [[1, 2], [3, 4]], new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 3 }), { covarModule: new gp.kernels.MultitaskKernel(new gp.kernels.RBFKernel(), { numTasks: 3 }) }), /2 columns \(tasks\) but the model has 3 tasks/);
  assert.throws(() => new gp.models.MultitaskExactGP(x, [[1, 2], [3, 4]], new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 3 }), { covarModule: new gp.kernels.MultitaskKernel(new gp.kernels.RBFKernel(), { numTasks: 2 }) }), /numTasks = 3 but the MultitaskKernel has 2/);
});

test("symmetricEigen: A V = V diag(w), V orthonormal, ascending values", () => {
  const r = rng(12);
  const n = 6;
  const a = Array.from({ length: n }, () => Array.from({ length: n }, () => r() - 0.5));
  const A = gp.algorithms.mat(n, n, Float64Array.from({ length: n * n }, (_, p) => a[Math.floor(p / n)][p % n] + a[p % n][Math.floor(p / n)]));
  const { values, vectors } = symmetricEigen(A);
  for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let av = 0, vtv = 0;
      for (let k = 0; k < n; k++) {
        av += A.data[i * n + k] * vectors.data[k * n + j];
        vtv += vectors.data[k * n + i] * vectors.data[k * n + j];
      }
      assert.ok(Math.abs(av - vectors.data[i * n + j] * values[j]) < 1e-12);
      assert.ok(Math.abs(vtv - (i === j ? 1 : 0)) < 1e-12);
    }
  }
});
