// Exact GP at fixed hyperparameters against GPyTorch 1.12 (Cholesky path,
// f64; test/fixtures/reference/exact_gp_fixed.json): MLL per n, posterior
// mean, variance of f and of y. Parameters load from GPyTorch's own
// snake_case state_dict. Also: the gradient against central differences of
// the MLL, the training-solve cache, and the posterior distribution.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";

interface Dataset {
  name: string;
  d: number;
  x: number[][];
  y: number[];
  x_test: number[][];
  params: Record<string, { raw: unknown }>;
  hyperparameters: { lengthscale: number[]; outputscale: number; noise: number; constant_mean: number };
  expected: { mll_total: number; mll_per_n: number; pred_mean: number[]; pred_var_f: number[]; pred_var_y: number[] };
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/exact_gp_fixed.json"), "utf8")) as { datasets: Dataset[] };

function makeModel(ds: Dataset) {
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(ds.x, ds.y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel(ds.d > 1 ? { ardNumDims: ds.d } : {})),
  });
  const dict: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ds.params)) dict[k] = v.raw;
  model.loadStateDict(dict);
  return { model, likelihood, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

function maxAbs(a: ArrayLike<number>, b: number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const ds of ref.datasets) {
  test(`${ds.name}: MLL / n, posterior mean, var f and var y match GPyTorch (abs < 1e-9)`, async () => {
    const { model, mll } = makeModel(ds);
    const value = await mll.evaluate();
    assert.ok(Math.abs(value - ds.expected.mll_per_n) < 1e-12 * Math.max(1, Math.abs(ds.expected.mll_total)), `MLL ${value} vs ${ds.expected.mll_per_n}`);
    assert.equal(mll.lastReport?.method, "cholesky");
    const f = await model.predict(ds.x_test);
    const y = await model.predict(ds.x_test, { noise: true });
    assert.ok(maxAbs(f.meanF64, ds.expected.pred_mean) < 1e-9, `mean err ${maxAbs(f.meanF64, ds.expected.pred_mean)}`);
    assert.ok(maxAbs(f.varianceF64, ds.expected.pred_var_f) < 1e-9, `var f err ${maxAbs(f.varianceF64, ds.expected.pred_var_f)}`);
    assert.ok(maxAbs(y.varianceF64, ds.expected.pred_var_y) < 1e-9, `var y err ${maxAbs(y.varianceF64, ds.expected.pred_var_y)}`);
    assert.deepEqual(f.mean.shape, [ds.x_test.length]);
    const lo = f.lower.dataSync(), hi = f.upper.dataSync();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(hi[i] - lo[i] - 4 * Math.sqrt(ds.expected.pred_var_f[i])) < 1e-4);
  });

  test(`${ds.name}: initialize by constrained values gives the same MLL`, async () => {
    const likelihood = new gp.likelihoods.GaussianLikelihood();
    const model = new gp.models.ExactGP(ds.x, ds.y, likelihood, {
      meanModule: new gp.means.ConstantMean(),
      covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel(ds.d > 1 ? { ardNumDims: ds.d } : {})),
    });
    const h = ds.hyperparameters;
    model.initialize({
      "likelihood.noise": h.noise,
      "meanModule.constant": h.constant_mean,
      "covarModule.outputscale": h.outputscale,
      "covarModule.baseKernel.lengthscale": h.lengthscale,
    });
    const value = await new gp.mlls.ExactMarginalLogLikelihood(likelihood, model).evaluate();
    assert.ok(Math.abs(value - ds.expected.mll_per_n) < 1e-10);
  });
}

test("MLL gradient w.r.t. every raw parameter matches central differences (rel < 1e-5)", async () => {
  for (const ds of ref.datasets) {
    const { model, mll } = makeModel(ds);
    await assertGradientMatchesDifferences(model, mll, { relTol: 1e-5, floor: 1e-3, label: ds.name });
  }
});

test("repeated predictions reuse the cached training solve; a parameter change invalidates it", async () => {
  const ds = ref.datasets[0];
  const { model } = makeModel(ds);
  const reports: gp.reductions.ReductionReport[] = [];
  const stop = gp.reductions.onReport((r) => reports.push(r));
  try {
    await model.predict(ds.x_test.slice(0, 5));
    const first = reports.reduce((s, r) => s + r.pairs, 0);
    reports.length = 0;
    await model.predict(ds.x_test.slice(0, 5));
    const second = reports.reduce((s, r) => s + r.pairs, 0);
    const n = ds.x.length;
    // First: the training matrix (its lower triangle, n (n + 1) / 2 pairs) plus test rows; then only 5 rows of 205 and 5 diagonal entries.
    const trainingPairs = (n * (n + 1)) / 2;
    assert.ok(first >= trainingPairs, `first prediction evaluated ${first} pairs`);
    assert.equal(second, 5 * (n + 5) + 5);
    model.initialize({ "covarModule.outputscale": 2 });
    reports.length = 0;
    await model.predict(ds.x_test.slice(0, 5));
    assert.ok(reports.reduce((s, r) => s + r.pairs, 0) >= trainingPairs, "a changed parameter must redo the training solve");
  } finally {
    stop();
  }
});

test("posterior(x): a MultivariateNormal whose mean/variance equal predict and whose samples are seeded", () => {
  const ds = ref.datasets[0];
  const { model } = makeModel(ds);
  const xt = ds.x_test.slice(0, 6);
  const post = model.posterior(xt);
  assert.ok(maxAbs(post.meanF64, ds.expected.pred_mean.slice(0, 6)) < 1e-9);
  assert.ok(maxAbs(post.varianceF64(), ds.expected.pred_var_f.slice(0, 6)) < 1e-9);
  gp.setSeed(3);
  const s1 = post.sampleF64(4);
  gp.setSeed(3);
  const s2 = post.sampleF64(4);
  assert.deepEqual(Array.from(s1.data), Array.from(s2.data));
  assert.deepEqual([s1.rows, s1.cols], [4, 6]);
});

test("stateDict round-trips with GPyTorch's keys camelCased", () => {
  const ds = ref.datasets[1];
  const { model } = makeModel(ds);
  const state = model.stateDict();
  assert.deepEqual(Object.keys(state).sort(), [
    "covarModule.baseKernel.rawLengthscale",
    "covarModule.rawOutputscale",
    "likelihood.noiseCovar.rawNoise",
    "meanModule.rawConstant",
  ]);
  assert.deepEqual(state["covarModule.baseKernel.rawLengthscale"], ds.params["covar_module.base_kernel.raw_lengthscale"].raw);
  const again = makeModel(ds).model;
  again.initialize({ "covarModule.outputscale": 5 });
  again.loadStateDict(state);
  assert.deepEqual(again.stateDict(), state);
});
