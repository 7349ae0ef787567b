// Gradients of the variational objectives against central differences
// (4-point stencil) of the objective value, for every parameter: kernel and
// mean hyperparameters, inducing locations, variational mean and root, LMC
// coefficients, noises. Also the three building blocks on their own: the
// Cholesky backward pass (vs differences of a plain Cholesky written here),
// the kernel-diagonal derivative (diagonal blocks, or one pair for a
// stationary kernel) and the inducing-input gradient (vs
// differences of kernel values).
// Tolerance: relative 1e-5 (the objective's rounding, amplified by K_ZZ's
// conditioning under the 1e-6 jitter, limits the differences, not the
// analytic gradients).

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { choleskyBackward } from "../lib/algorithms/choleskyBackward";
import { diagBackward } from "../lib/kernels/diagBackward";
import { inputGradient } from "../lib/kernels/inputGradient";
import { rng, spd } from "./helpers/reference";

const { mat } = gp.algorithms;

/** 4-point central difference of f at parameter entry i. */
function diff(p: gp.models.Parameter, i: number, f: () => number, h: number): number {
  const o = p.raw[i];
  const at = (v: number) => {
    p.raw[i] = v;
    const r = f();
    p.raw[i] = o;
    return r;
  };
  return (8 * (at(o + h) - at(o - h)) - (at(o + 2 * h) - at(o - 2 * h))) / (12 * h);
}

function checkAll(named: [string, gp.models.Parameter][], f: () => number, h = 1e-4, tol = 1e-5): void {
  for (const [name, p] of named) {
    const idx = [...new Set([0, Math.floor(p.size / 3), Math.floor((2 * p.size) / 3), p.size - 1])];
    for (const i of idx) {
      const fd = diff(p, i, f, h);
      const err = Math.abs(p.grad[i] - fd) / Math.max(1, Math.abs(fd));
      assert.ok(err < tol, `${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd} (rel ${err.toExponential(2)})`);
    }
  }
}

function data1d(n: number, seed: number) {
  const r = rng(seed);
  const x = Array.from({ length: n }, () => [r() * 6]);
  const y = x.map(([v]) => Math.sin(v) + 0.1 * (r() - 0.5));
  return { x, y };
}

function named(model: gp.models.ApproximateGP, lik: gp.models.Module): [string, gp.models.Parameter][] {
  return [...model.namedParameters(), ...lik.namedParameters("likelihood.")];
}

test("choleskyBackward: dF/dA for F = sum Lbar * chol(A) matches differences of an independent Cholesky", () => {
  const n = 6, r = rng(3);
  const A = spd(n, r, 2);
  const Lbar = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j <= i ? r() - 0.5 : 0)));
  const chol = (a: number[][]) => {
    const L = a.map(() => new Array(n).fill(0));
    for (let j = 0; j < n; j++) {
      let d = a[j][j];
      for (let k = 0; k < j; k++) d -= L[j][k] ** 2;
      L[j][j] = Math.sqrt(d);
      for (let i = j + 1; i < n; i++) {
        let s = a[i][j];
        for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
        L[i][j] = s / L[j][j];
      }
    }
    return L;
  };
  const F = (a: number[][]) => chol(a).reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * Lbar[i][j], 0), 0);
  const L = chol(A);
  const Abar = choleskyBackward(mat(n, n, Float64Array.from(L.flat())), mat(n, n, Float64Array.from(Lbar.flat())));
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const bump = (s: number) => A.map((row, a) => row.map((v, b) => v + ((a === i && b === j) || (a === j && b === i) ? s : 0)));
      const fd = (F(bump(h)) - F(bump(-h))) / (2 * h);
      // A symmetric bump moves both (i, j) and (j, i).
      const analytic = i === j ? Abar.data[i * n + i] : 2 * Abar.data[i * n + j];
      assert.ok(Math.abs(analytic - fd) < 1e-7 * Math.max(1, Math.abs(fd)), `(${i}, ${j}): ${analytic} vs ${fd}`);
    }
  }
});

test("diagBackward: sum_i w_i dk(x_i, x_i)/dtheta for a composite kernel whose diagonal depends on x", () => {
  const r = rng(5);
  const x = mat(150, 2, Float64Array.from({ length: 300 }, () => r() * 3 - 1));
  const w = Float64Array.from({ length: 150 }, () => r() - 0.5);
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 2 })).add(new gp.kernels.LinearKernel()).mul(new gp.kernels.PolynomialKernel({ power: 2 }));
  k.initialize({ "kernels.0.kernels.0.outputscale": 1.3, "kernels.0.kernels.1.variance": 0.4, "kernels.1.offset": 0.7 });
  k.zeroGrad();
  diagBackward(k, x, w);
  const f = () => k.diagF64(x, x).reduce((s, v, i) => s + w[i] * v, 0);
  checkAll(k.namedParameters(), f, 1e-4, 1e-8);
});

test("diagBackward on a stationary kernel (one pair, weight sum w) equals the differences of its diagonal", () => {
  const r = rng(6);
  const x = mat(130, 2, Float64Array.from({ length: 260 }, () => r() * 3 - 1));
  const w = Float64Array.from({ length: 130 }, () => r() - 0.3);
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 2 })).add(new gp.kernels.ScaleKernel(new gp.kernels.PeriodicKernel()));
  k.initialize({ "kernels.0.outputscale": 1.3, "kernels.1.outputscale": 0.6 });
  k.zeroGrad();
  diagBackward(k, x, w);
  const f = () => k.diagF64(x, x).reduce((s, v, i) => s + w[i] * v, 0);
  checkAll(k.namedParameters(), f, 1e-4, 1e-8);
  // The outputscales do move the diagonal: the check above is not vacuous.
  const scales = k.namedParameters().filter(([name]) => /outputscale/i.test(name));
  assert.equal(scales.length, 2);
  for (const [, p] of scales) assert.ok(Math.abs(p.grad[0]) > 1e-3);
});

test("inputGradient: d/dz sum G k(z_j, x_i) for stationary, periodic, dot-product and composite kernels with activeDims", () => {
  const r = rng(9);
  const z = mat(7, 3, Float64Array.from({ length: 21 }, () => r() * 2));
  const x = mat(11, 3, Float64Array.from({ length: 33 }, () => r() * 2));
  const G = Float64Array.from({ length: 77 }, () => r() - 0.5);
  const kernels: gp.kernels.Kernel[] = [
    new gp.kernels.RBFKernel({ ardNumDims: 3 }),
    new gp.kernels.MaternKernel({ nu: 2.5 }),
    new gp.kernels.MaternKernel({ nu: 0.5 }),
    new gp.kernels.RQKernel(),
    new gp.kernels.PeriodicKernel({ ardNumDims: 3 }),
    new gp.kernels.LinearKernel(),
    new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ activeDims: [0, 2] })).mul(new gp.kernels.PeriodicKernel({ activeDims: [1] })).add(new gp.kernels.PolynomialKernel({ power: 2, activeDims: [1, 2] })),
  ];
  for (const k of kernels) {
    for (const [name, p] of k.namedParameters()) for (let i = 0; i < p.size; i++) p.raw[i] = 0.3 * (r() - 0.5) + (/Lengthscale|Period/.test(name) ? 0.5 : 0);
    const total = (zz: gp.algorithms.Mat) => {
      const K = k.operatorF64(zz, x).rowsF64(Int32Array.from({ length: zz.rows }, (_, i) => i)).data;
      return K.reduce((s, v, i) => s + G[i] * v, 0);
    };
    const g = inputGradient(k, z, x, G);
    for (let e = 0; e < z.data.length; e++) {
      const h = 1e-5;
      const at = (s: number) => {
        const zz = mat(z.rows, z.cols, z.data.slice());
        zz.data[e] += s;
        return total(zz);
      };
      const fd = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
      assert.ok(Math.abs(g.data[e] - fd) < 1e-7 * Math.max(1, Math.abs(fd)), `${k.name} z[${e}]: ${g.data[e]} vs ${fd}`);
    }
  }
});

test("VariationalELBO gradient: every SVGP parameter (Cholesky distribution, learned inducing points)", () => {
  const { x, y } = data1d(120, 1);
  const model = new gp.models.ApproximateGP({ inducingPoints: Array.from({ length: 10 }, (_, i) => [0.3 + 0.55 * i]) });
  model.initialize({ "covarModule.outputscale": 1.1, "covarModule.baseKernel.lengthscale": 0.8, "meanModule.constant": 0.2 });
  const r = rng(2);
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.CholeskyVariationalDistribution;
  dist.variationalMean.setRaw(Float64Array.from({ length: 10 }, () => r() - 0.5));
  dist.cholVariationalCovar.setRaw(Float64Array.from({ length: 100 }, (_, k) => (k % 11 === 0 ? 0.5 + r() * 0.3 : 0.1 * (r() - 0.5))));
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: 1000 });
  model.zeroGrad();
  lik.zeroGrad();
  elbo.compute(x, y, true);
  checkAll(named(model, lik), () => elbo.compute(x, y, false).value);
});

test("MeanField distribution and PredictiveLogLikelihood gradients (ARD 2-D Matern kernel, beta = 0.5)", () => {
  const r = rng(4);
  const x = Array.from({ length: 80 }, () => [r() * 3, r() * 3]);
  const y = x.map(([a, b]) => Math.cos(a) * Math.sin(b));
  const model = new gp.models.ApproximateGP({
    inducingPoints: Array.from({ length: 9 }, (_, i) => [(i % 3) + 0.2 * r(), Math.floor(i / 3) + 0.2 * r()]),
    variationalDistribution: "meanfield",
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.MaternKernel({ nu: 1.5, ardNumDims: 2 })),
  });
  model.initialize({ "covarModule.baseKernel.lengthscale": [0.9, 1.4] });
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.MeanFieldVariationalDistribution;
  dist.variationalStddev.setRaw(Float64Array.from({ length: 9 }, () => 0.3 + r()));
  dist.variationalMean.setRaw(Float64Array.from({ length: 9 }, () => r() - 0.5));
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.1 });
  for (const mll of [new gp.mlls.PredictiveLogLikelihood(lik, model, { numData: 500, beta: 0.5 }), new gp.mlls.VariationalELBO(lik, model, { numData: 500, beta: 0.5 })]) {
    model.zeroGrad();
    lik.zeroGrad();
    mll.compute(x, y, true);
    checkAll(named(model, lik), () => mll.compute(x, y, false).value);
  }
});

test("LMC multitask ELBO gradient: batched kernels and means, LMC coefficients, task and global noise", () => {
  const r = rng(8);
  const x = Array.from({ length: 70 }, () => [r()]);
  const y = x.map(([v]) => [Math.sin(6 * v), Math.cos(6 * v), v, -v]);
  const model = new gp.models.ApproximateGP({
    inducingPoints: [0, 1, 2].map((q) => Array.from({ length: 6 }, (_, i) => [i / 5 + 0.03 * q])),
    batchShape: [3],
    variationalStrategy: { kind: "lmc", numLatents: 3, numTasks: 4 },
  });
  model.initialize({ "covarModule.baseKernel.lengthscale": [0.3, 0.5, 0.4], "covarModule.outputscale": [1, 0.5, 2], "meanModule.constant": [0.1, 0, -0.1] });
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.CholeskyVariationalDistribution;
  dist.variationalMean.setRaw(Float64Array.from({ length: 18 }, () => r() - 0.5));
  const lik = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 4 });
  lik.initialize({ taskNoises: [0.05, 0.1, 0.02, 0.3], noise: 0.01 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: 700 });
  model.zeroGrad();
  lik.zeroGrad();
  elbo.compute(x, y, true);
  checkAll(named(model, lik), () => elbo.compute(x, y, false).value);
});
