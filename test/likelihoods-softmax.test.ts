// SoftmaxLikelihood with mixing weights over an IndependentMultitask SVGP of
// 3 latents against GPyTorch 1.12 (test/fixtures/reference/softmax_svgp.json,
// f64). GPyTorch's expected log likelihood is Monte Carlo; ours is a
// deterministic tensor-product Gauss–Hermite rule (20 nodes per latent), so
// it is compared with the file's deterministic Gauss–Hermite values (n = 20
// to rounding, n = 32 within README2's 1e-5) and with the numpy Monte Carlo
// estimate within 4 of its standard errors. Class probabilities likewise.
// Gradients against central differences; labels outside 0..C-1; training.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";

const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/softmax_svgp.json"), "utf8"));
const fixed = ref.fixed_state;
const Q = ref.num_latents;

function build(options: { numGaussHermiteLocs?: number } = {}) {
  const model = new gp.models.ApproximateGP({
    inducingPoints: fixed.params["variational_strategy.base_variational_strategy.inducing_points"].raw as number[][][],
    variationalStrategy: { kind: "independent", numTasks: Q },
  });
  const lik = new gp.likelihoods.SoftmaxLikelihood({ numFeatures: Q, numClasses: ref.num_classes, mixingWeights: true, ...options });
  const modelState: Record<string, unknown> = {}, likState: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fixed.params as Record<string, { raw: unknown }>)) {
    if (k.startsWith("likelihood.")) likState[k.slice("likelihood.".length)] = v.raw;
    else modelState[k] = v.raw;
  }
  model.loadStateDict(modelState);
  lik.loadStateDict(likState);
  return { model, lik, elbo: new gp.mlls.VariationalELBO(lik, model, { numData: ref.n }) };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("softmax: latent marginals (train and test) and the KL match GPyTorch (1e-10)", async () => {
  const { model } = build();
  const train = (await model.predict(ref.x)) as gp.models.MultitaskPrediction;
  assert.ok(maxAbs(train.meanF64, ref.expected.train_mean_f.flat()) < 1e-10);
  assert.ok(maxAbs(train.varianceF64, ref.expected.train_var_f.flat()) < 1e-10);
  const test_ = (await model.predict(ref.x_test)) as gp.models.MultitaskPrediction;
  assert.ok(maxAbs(test_.meanF64, ref.expected.pred_mean_f.flat()) < 1e-10);
  assert.ok(maxAbs(test_.varianceF64, ref.expected.pred_var_f.flat()) < 1e-10);
  assert.ok(Math.abs(model.klDivergence() - ref.expected.kl) < 1e-10);
});

test("softmax: the deterministic Gauss–Hermite ELL matches the 3-D rule (n = 20: 1e-9, n = 32: 1e-5) and the Monte Carlo estimate", () => {
  const { elbo, lik } = build({ numGaussHermiteLocs: 20 });
  assert.equal(lik.numGaussHermiteLocs, 20);
  const r = elbo.compute(ref.x, ref.y, false);
  const ell = r.expectedLogLik * ref.n;
  const gh = ref.numpy_recompute.expected_log_lik_sum_gauss_hermite_3d;
  assert.ok(Math.abs(ell - gh.n20) < 1e-9, `ELL ${ell} vs GH-20 ${gh.n20}`);
  assert.ok(Math.abs(ell - gh.n32) < 1e-5, `ELL ${ell} vs GH-32 ${gh.n32}`);
  const mc = ref.numpy_recompute.expected_log_lik_sum_mc;
  assert.ok(Math.abs(ell - mc.value) < 4 * mc.standard_error, `ELL ${ell} vs MC ${mc.value} ± ${mc.standard_error}`);
  assert.ok(Math.abs(r.value - ref.numpy_recompute.elbo_per_n_gauss_hermite_3d_n32) < 1e-5 / ref.n);
  assert.ok(Math.abs(r.kl - ref.expected.kl) < 1e-10);
  // The default rule for 3 latents: 10 nodes each (1,000 per point), within 2e-3 of the converged value.
  const d = build();
  assert.equal(d.lik.numGaussHermiteLocs, 10);
  assert.ok(Math.abs(d.elbo.compute(ref.x, ref.y, false).expectedLogLik * ref.n - gh.n32) < 2e-3);
  assert.deepEqual([1, 2, 4, 5, 9, 10].map((q) => new gp.likelihoods.SoftmaxLikelihood({ numFeatures: q, numClasses: 3 }).numGaussHermiteLocs), [20, 20, 5, 3, 2, 2]);
});

test("softmax: class probabilities at the test points match the 3-D Gauss–Hermite values (1e-6) and GPyTorch's Monte Carlo (0.05)", async () => {
  const { model, lik } = build({ numGaussHermiteLocs: 20 });
  const y = lik.marginal((await model.predict(ref.x_test)) as gp.models.MultitaskPrediction);
  assert.equal(y.method, "gauss-hermite");
  assert.ok(maxAbs(y.probs.flat(), ref.numpy_recompute.pred_probs_gauss_hermite_3d_n32.flat()) < 1e-6);
  assert.ok(maxAbs(y.probs.flat(), ref.expected.pred_probs_monte_carlo.probs.flat()) < 0.05);
  for (let i = 0; i < ref.n_test; i++) {
    assert.ok(Math.abs(y.probs[i].reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(y.predicted[i], y.probs[i].indexOf(Math.max(...y.probs[i])));
  }
  // The lazy joint distribution gives the same probabilities.
  const joint = lik.marginal(model.call(ref.x_test) as gp.distributions.MultitaskMultivariateNormal);
  assert.ok(maxAbs(joint.probs.flat(), y.probs.flat()) < 1e-12);
});

test("softmax: ELBO gradients (kernel, mean, variational, inducing, mixing weights) match central differences", async () => {
  const { model, lik, elbo } = build({ numGaussHermiteLocs: 6 });
  const B = 25;
  const x = ref.x.slice(0, B), y = ref.y.slice(0, B);
  for (const p of elbo.parameters()) p.zeroGrad();
  await elbo.evaluateWithGradient(x, y);
  const h = 1e-6;
  let checked = 0;
  for (const [name, p] of [...model.namedParameters(), ...lik.namedParameters("likelihood.")]) {
    const stride = p.size > 30 ? 11 : 1;
    for (let i = 0; i < p.size; i += stride) {
      const r0 = p.raw[i];
      p.raw[i] = r0 + h;
      const a = elbo.compute(x, y, false).value;
      p.raw[i] = r0 - h;
      const b = elbo.compute(x, y, false).value;
      p.raw[i] = r0;
      const fd = (a - b) / (2 * h);
      assert.ok(Math.abs(p.grad[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`);
      checked++;
    }
  }
  assert.ok(checked > 40);
});

test("softmax: labels outside 0..C-1 and a model with the wrong number of latents are named errors", async () => {
  const { elbo, model } = build();
  for (const bad of [3, 1.5, -1]) {
    const y = ref.y.slice();
    y[4] = bad;
    await assert.rejects(elbo.evaluate(ref.x, y), (e: Error) => e instanceof gp.errors.LabelError && e.message.includes(`y[4] = ${bad}`) && /labels 0\.\.2/.test(e.message));
  }
  assert.throws(() => new gp.mlls.VariationalELBO(new gp.likelihoods.SoftmaxLikelihood({ numFeatures: 2, numClasses: 3 }), model, { numData: ref.n }), /numFeatures = 2 but the model has 3 latent outputs/);
  assert.throws(() => new gp.likelihoods.SoftmaxLikelihood({ numClasses: 4 }), /needs numFeatures/);
  assert.throws(() => new gp.likelihoods.SoftmaxLikelihood({ numFeatures: 3, numClasses: 4, mixingWeights: false }), /must equal numClasses/);
  // State key as GPyTorch's (mixing_weights), shape [C, Q].
  assert.deepEqual(Object.keys(new gp.likelihoods.SoftmaxLikelihood({ numFeatures: 3, numClasses: 4 }).stateDict()), ["mixingWeights"]);
});

test("softmax: minibatch training with gp.train.fit from the default start classifies the training data", async () => {
  gp.setSeed(3);
  const z = [0, 1, 2].map((q) => ref.x.filter((_: number[], i: number) => i % 15 === q));
  const model = new gp.models.ApproximateGP({ inducingPoints: z, variationalStrategy: { kind: "independent", numTasks: Q } });
  const lik = new gp.likelihoods.SoftmaxLikelihood({ numFeatures: Q, numClasses: 3, numGaussHermiteLocs: 5 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
  const before = await elbo.evaluateDataset(ref.x, ref.y);
  const run = await gp.train.fit(model, elbo, { x: ref.x, y: ref.y, batchSize: 50, epochs: 30, lr: 0.05, live: false });
  assert.ok(-run.finalLoss > before + 0.2, `ELBO/N ${before} -> ${-run.finalLoss}`);
  const pred = lik.marginal((await model.predict(ref.x)) as gp.models.MultitaskPrediction).predicted;
  const accuracy = ref.y.filter((v: number, i: number) => pred[i] === v).length / ref.n;
  assert.ok(accuracy > 0.75, `training accuracy ${accuracy}`);
});

test("softmax: PredictiveLogLikelihood's log E_q[p(y | f)] equals the log of the predictive class probability; gradients match differences", async () => {
  const { model, lik } = build({ numGaussHermiteLocs: 6 });
  const B = 25;
  const x = ref.x.slice(0, B), y = ref.y.slice(0, B);
  const pll = new gp.mlls.PredictiveLogLikelihood(lik, model, { numData: ref.n });
  const r = pll.compute(x, y, false);
  const probs = lik.marginal((await model.predict(x)) as gp.models.MultitaskPrediction).probs;
  const want = y.reduce((s: number, c: number, i: number) => s + Math.log(probs[i][c]), 0);
  assert.ok(Math.abs(r.expectedLogLik * B - want) < 1e-10, `${r.expectedLogLik * B} vs ${want}`);
  assert.ok(r.value > new gp.mlls.VariationalELBO(lik, model, { numData: ref.n }).compute(x, y, false).value, "Jensen: PLL > ELBO");
  for (const p of pll.parameters()) p.zeroGrad();
  await pll.evaluateWithGradient(x, y);
  const h = 1e-6;
  for (const [name, p] of [...model.namedParameters(), ...lik.namedParameters("likelihood.")]) {
    const stride = p.size > 30 ? 13 : 1;
    for (let i = 0; i < p.size; i += stride) {
      const r0 = p.raw[i];
      p.raw[i] = r0 + h;
      const a = pll.compute(x, y, false).value;
      p.raw[i] = r0 - h;
      const b = pll.compute(x, y, false).value;
      p.raw[i] = r0;
      const fd = (a - b) / (2 * h);
      assert.ok(Math.abs(p.grad[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`);
    }
  }
});

test("softmax over an LMC model (2 latents mixed into 3 outputs): ELBO gradients, the LMC coefficients included, match differences", async () => {
  gp.setSeed(11);
  const model = new gp.models.ApproximateGP({
    inducingPoints: ref.x.filter((_: number[], i: number) => i % 25 === 0),
    variationalStrategy: { kind: "lmc", numLatents: 2, numTasks: 3 },
  });
  const lik = new gp.likelihoods.SoftmaxLikelihood({ numFeatures: 3, numClasses: 3, numGaussHermiteLocs: 5 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
  // Move q(u) off the prior so every gradient is non-trivial.
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.CholeskyVariationalDistribution;
  dist.variationalMean.setRaw(Array.from({ length: dist.variationalMean.size }, (_, i) => Math.sin(1.7 * i)));
  const B = 20, x = ref.x.slice(0, B), y = ref.y.slice(0, B);
  for (const p of elbo.parameters()) p.zeroGrad();
  await elbo.evaluateWithGradient(x, y);
  const h = 1e-6;
  for (const [name, p] of [...model.namedParameters(), ...lik.namedParameters("likelihood.")]) {
    const stride = p.size > 30 ? 7 : 1;
    for (let i = 0; i < p.size; i += stride) {
      const r0 = p.raw[i];
      p.raw[i] = r0 + h;
      const a = elbo.compute(x, y, false).value;
      p.raw[i] = r0 - h;
      const b = elbo.compute(x, y, false).value;
      p.raw[i] = r0;
      const fd = (a - b) / (2 * h);
      assert.ok(Math.abs(p.grad[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`);
    }
  }
});
