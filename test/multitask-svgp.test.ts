// LMC multitask SVGP against GPyTorch 1.12 (test/fixtures/reference/
// multitask_svgp.json, f64; 3 latents, 4 tasks, 16 inducing points, N = 300):
// batched kernels and means, the recorded state through loadStateDict with
// GPyTorch's keys, then ELBO, KL, and per-task predictive mean, var f and
// var y agree to 1e-9 (the reference's own cross-check is 2.5e-10). Also the
// independent multitask strategy against single-task SVGPs fitted to each
// column, and the lazy joint covariance over (point, task) pairs.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";

const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/multitask_svgp.json"), "utf8"));
const fixed = ref.fixed_state;
const Q = ref.num_latents, T = ref.num_tasks;

function build() {
  const model = new gp.models.ApproximateGP({
    inducingPoints: fixed.inducing_points,
    variationalDistribution: "cholesky",
    batchShape: [Q],
    variationalStrategy: { kind: "lmc", numLatents: Q, numTasks: T },
    meanModule: new gp.means.ConstantMean({ batchShape: [Q] }),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ batchShape: [Q] }), { batchShape: [Q] }),
  });
  const likelihood = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: T });
  const m: Record<string, unknown> = {}, l: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fixed.params as Record<string, { raw: unknown }>)) {
    if (k.startsWith("likelihood.")) l[k.slice("likelihood.".length)] = v.raw;
    else m[k] = v.raw;
  }
  model.loadStateDict(m);
  likelihood.loadStateDict(l);
  return { model, likelihood, elbo: new gp.mlls.VariationalELBO(likelihood, model, { numData: ref.n }) };
}

function maxAbs(a: ArrayLike<number>, b: number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("batched parameters have GPyTorch's shapes and values", () => {
  const { model, likelihood } = build();
  const sd = model.stateDict();
  assert.deepEqual((sd["covarModule.baseKernel.rawLengthscale"] as number[][][]).length, 3);
  const h = fixed.hyperparameters;
  for (let q = 0; q < Q; q++) {
    const k = model.covarModule.batchMember(q) as gp.kernels.ScaleKernel;
    assert.ok(Math.abs(k.outputscale - h.outputscale_per_latent[q]) < 1e-12);
    assert.ok(Math.abs((k.baseKernel as gp.kernels.RBFKernel).lengthscale[0] - h.lengthscale_per_latent[q]) < 1e-12);
    assert.ok(Math.abs((model.meanModule.batchMember(q) as gp.means.ConstantMean).constant - h.constant_mean_per_latent[q]) < 1e-12);
  }
  likelihood.taskNoises.forEach((v, t) => assert.ok(Math.abs(v - h.task_noises[t]) < 1e-12));
  assert.ok(Math.abs(likelihood.noise - h.global_noise) < 1e-12);
});

test("fixed state: ELBO and KL match GPyTorch (abs < 1e-9 per n; N = 300 points, not N T)", () => {
  const { elbo } = build();
  const r = elbo.compute(ref.x, ref.y, false);
  assert.ok(Math.abs(r.value - ref.expected.elbo_per_n) < 1e-9, `elbo ${r.value} vs ${ref.expected.elbo_per_n}`);
  assert.ok(Math.abs(r.kl - ref.expected.kl) < 1e-9);
  assert.ok(Math.abs(r.expectedLogLik - ref.expected.expected_log_lik_per_n) < 1e-9);
});

test("fixed state: per-task predictive mean, var f and var y [20, 4] match GPyTorch (abs < 1e-9)", async () => {
  const { model, likelihood } = build();
  const f = (await model.predict(ref.x_test)) as gp.models.MultitaskPrediction;
  const y = (await model.predict(ref.x_test, { noise: true, likelihood })) as gp.models.MultitaskPrediction;
  assert.ok(f instanceof gp.models.MultitaskPrediction);
  assert.deepEqual(f.mean.shape, [20, 4]);
  assert.deepEqual(f.variance.shape, [20, 4]);
  assert.ok(maxAbs(f.meanF64, ref.expected.pred_mean_f.flat()) < 1e-9, `mean ${maxAbs(f.meanF64, ref.expected.pred_mean_f.flat())}`);
  assert.ok(maxAbs(f.varianceF64, ref.expected.pred_var_f.flat()) < 1e-9, `var ${maxAbs(f.varianceF64, ref.expected.pred_var_f.flat())}`);
  assert.ok(maxAbs(y.varianceF64, ref.expected.pred_var_y.flat()) < 1e-9);
  for (let t = 0; t < T; t++) {
    const col = f.taskF64(t);
    assert.ok(maxAbs(col.mean, ref.expected.pred_mean_f.map((r: number[]) => r[t])) < 1e-9);
  }
  const dd = f.displayData();
  assert.equal(dd.mean.length, 20);
  assert.equal(dd.mean[0].length, 4);
  assert.equal(dd.variance[0].length, 4);
});

test("q(f) is a MultitaskMultivariateNormal with a lazy (nT x nT) covariance: diagonal = var f, entries = dense LMC formula", () => {
  const { model } = build();
  const dist = model.call(ref.x_test) as gp.distributions.MultitaskMultivariateNormal;
  assert.ok(dist instanceof gp.distributions.MultitaskMultivariateNormal);
  assert.deepEqual(dist.lazyCovarianceMatrix.shape, [80, 80]);
  assert.ok(maxAbs(dist.varianceF64(), ref.expected.pred_var_f.flat()) < 1e-9);
  assert.deepEqual(dist.mean.shape, [20, 4]);
  // Cross-task covariance at one point: sum_q a_qt a_qu var_q (the variance of task t at that point
  // minus its extra jitter is sum_q a_qt^2 var_q, so check symmetry and Cauchy-Schwarz instead of a
  // second reference): |C_tu| <= sqrt(C_tt C_uu).
  const K = dist.lazyCovarianceMatrix;
  for (let t = 0; t < T; t++) {
    for (let u = 0; u < T; u++) {
      const [ctu] = K.entriesF64(Int32Array.of(t), Int32Array.of(u));
      const [cut] = K.entriesF64(Int32Array.of(u), Int32Array.of(t));
      const [ctt] = K.entriesF64(Int32Array.of(t), Int32Array.of(t));
      const [cuu] = K.entriesF64(Int32Array.of(u), Int32Array.of(u));
      assert.ok(Math.abs(ctu - cut) < 1e-12);
      assert.ok(Math.abs(ctu) <= Math.sqrt(ctt * cuu) + 1e-12);
    }
  }
});

test("independent multitask strategy: task t equals a single-task SVGP with latent t's parameters", async () => {
  const x = ref.x.slice(0, 60), yAll = ref.y.slice(0, 60);
  const z = fixed.inducing_points;
  const model = new gp.models.ApproximateGP({ inducingPoints: z.slice(0, 2), batchShape: [2], variationalStrategy: { kind: "independent", numTasks: 2 } });
  model.initialize({ "covarModule.outputscale": [0.7, 1.3], "covarModule.baseKernel.lengthscale": [0.3, 0.2], "meanModule.constant": [0.1, -0.4] });
  const lik = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 2 });
  lik.initialize({ taskNoises: [0.05, 0.02], noise: 0.01 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: 60 });
  const y2 = yAll.map((r: number[]) => r.slice(0, 2));
  const multi = elbo.compute(x, y2, false).value;
  const pred = (await model.predict(ref.x_test)) as gp.models.MultitaskPrediction;
  let sum = 0;
  for (let t = 0; t < 2; t++) {
    const single = new gp.models.ApproximateGP({ inducingPoints: z[t] });
    const base = model.baseVariationalStrategy;
    const dist = base.variationalDistribution as gp.variational.CholeskyVariationalDistribution;
    single.initialize({
      "covarModule.outputscale": [0.7, 1.3][t], "covarModule.baseKernel.lengthscale": [0.3, 0.2][t], "meanModule.constant": [0.1, -0.4][t],
      "variationalStrategy.variationalDistribution.variationalMean": Array.from(dist.meanF64(t)),
      "variationalStrategy.variationalDistribution.cholVariationalCovar": Array.from(dist.rootF64(t).data),
    });
    const l1 = new gp.likelihoods.GaussianLikelihood();
    l1.noise = [0.05, 0.02][t] + 0.01;
    const e1 = new gp.mlls.VariationalELBO(l1, single, { numData: 60 });
    sum += e1.compute(x, y2.map((r: number[]) => r[t]), false).value;
    const p1 = (await single.predict(ref.x_test)) as gp.models.Prediction;
    assert.ok(maxAbs(pred.taskF64(t).mean, Array.from(p1.meanF64)) < 1e-12);
    assert.ok(maxAbs(pred.taskF64(t).variance, Array.from(p1.varianceF64)) < 1e-12);
  }
  assert.ok(Math.abs(multi - sum) < 1e-10, `${multi} vs ${sum}`);
});

test("MultitaskGaussianLikelihood: rank 0 and full-rank task noise covariance", () => {
  const r0 = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 3 });
  r0.initialize({ taskNoises: [0.1, 0.2, 0.3], noise: 0.05 });
  assert.deepEqual(Array.from(r0.taskNoiseCovarF64()).map((v) => +v.toFixed(12)), [0.15, 0, 0, 0, 0.25, 0, 0, 0, 0.35]);
  const r2 = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 3, rank: 2 });
  assert.deepEqual(Object.keys(r2.stateDict()).sort(), ["rawNoise", "taskNoiseCovarFactor"]);
  const W = [1, 0.5, -0.3, 0.2, 0.7, -1];
  r2.initialize({ taskNoiseCovarFactor: W, noise: 0.05 });
  const S = r2.taskNoiseCovarF64();
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const expect = W[a * 2] * W[b * 2] + W[a * 2 + 1] * W[b * 2 + 1] + (a === b ? 0.05 : 0);
      assert.ok(Math.abs(S[a * 3 + b] - expect) < 1e-14);
    }
  }
  // Gradient of sum_ab G_ab Sigma_ab w.r.t. W is (G + G^T) W.
  const G = Float64Array.from([1, 2, 0, -1, 0.5, 3, 0.2, 0, 1]);
  r2.zeroGrad();
  r2.backwardTaskNoiseCovar(G);
  const gW = r2.taskNoiseCovarFactor!.grad;
  for (let a = 0; a < 3; a++) {
    for (let k = 0; k < 2; k++) {
      let e = 0;
      for (let b = 0; b < 3; b++) e += (G[a * 3 + b] + G[b * 3 + a]) * W[b * 2 + k];
      assert.ok(Math.abs(gW[a * 2 + k] - e) < 1e-12);
    }
  }
});
