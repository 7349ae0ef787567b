// Bernoulli, StudentT and Laplace likelihoods on an SVGP against GPyTorch 1.12
// (test/fixtures/reference/likelihoods_svgp.json, f64): one fixed whitened
// state loaded with GPyTorch's keys, then per likelihood the expected log
// likelihood (20-point Gauss–Hermite, GPyTorch's log_normal_cdf for
// Bernoulli), the ELBO/N and the predictive distribution of y, at
// README2's tolerances. Gradients of the ELBO against central differences
// for every model and likelihood parameter; labels outside {0, 1}; a short
// minibatch fit through gp.train.fit.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";

const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/likelihoods_svgp.json"), "utf8"));
const fixed = ref.fixed_state;

function buildModel() {
  const model = new gp.models.ApproximateGP({
    inducingPoints: fixed.params["variational_strategy.inducing_points"].raw as number[][],
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
  });
  const state: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fixed.params as Record<string, { raw: unknown }>)) state[k] = v.raw;
  model.loadStateDict(state);
  return model;
}

function likelihoodState(params: Record<string, { raw: unknown }> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params ?? {})) out[k.replace(/^likelihood\./, "")] = v.raw;
  return out;
}

type Kind = "bernoulli" | "student_t" | "laplace";
function buildLikelihood(kind: Kind): gp.likelihoods.OneDimensionalLikelihood {
  const lik = kind === "bernoulli" ? new gp.likelihoods.BernoulliLikelihood() : kind === "student_t" ? new gp.likelihoods.StudentTLikelihood() : new gp.likelihoods.LaplaceLikelihood();
  lik.loadStateDict(likelihoodState(ref.likelihoods[kind].params));
  return lik;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("the fixed state: latent marginals at the training inputs and the KL match GPyTorch (1e-10)", () => {
  const model = buildModel();
  const m = model.marginalsF64(gp.algorithms.mat(ref.n, 2, Float64Array.from(ref.x.flat())));
  assert.ok(maxAbs(m.mean, ref.latent.train_mean_f) < 1e-10, `mean ${maxAbs(m.mean, ref.latent.train_mean_f)}`);
  assert.ok(maxAbs(m.variance, ref.latent.train_var_f) < 1e-10, `var ${maxAbs(m.variance, ref.latent.train_var_f)}`);
  assert.ok(Math.abs(model.klDivergence() - ref.latent.kl) < 1e-10);
});

for (const kind of ["bernoulli", "student_t", "laplace"] as Kind[]) {
  test(`${kind}: expected log likelihood (GH-20) within 1e-9 and ELBO/N within 1e-12 of GPyTorch`, () => {
    const model = buildModel();
    const lik = buildLikelihood(kind);
    const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
    const r = elbo.compute(ref.x, ref.likelihoods[kind].y, false);
    const g = ref.likelihoods[kind].gpytorch;
    const ellSum = r.expectedLogLik * ref.n;
    assert.ok(Math.abs(ellSum - g.expected_log_lik_sum) < 1e-9, `ELL sum ${ellSum} vs ${g.expected_log_lik_sum}`);
    assert.ok(Math.abs(r.value - g.elbo_per_n) < 1e-12, `ELBO/N ${r.value} vs ${g.elbo_per_n} (diff ${r.value - g.elbo_per_n})`);
    assert.ok(Math.abs(r.kl - g.kl) < 1e-10);
  });
}

test("bernoulli: p(y = 1) = Phi(mu / sqrt(1 + var)) matches GPyTorch (1e-10); the latent prediction too", async () => {
  const model = buildModel();
  const lik = buildLikelihood("bernoulli");
  const f = (await model.predict(ref.x_test)) as gp.models.Prediction;
  assert.ok(maxAbs(f.meanF64, ref.latent.pred_mean_f) < 1e-10);
  assert.ok(maxAbs(f.varianceF64, ref.latent.pred_var_f) < 1e-10);
  const y = lik.marginal(f);
  assert.equal(y.method, "exact");
  assert.ok(maxAbs(y.mean, ref.likelihoods.bernoulli.gpytorch.pred_prob_y1) < 1e-10, `p ${maxAbs(y.mean, ref.likelihoods.bernoulli.gpytorch.pred_prob_y1)}`);
  // The same from the lazy distribution model.call(x).
  assert.ok(maxAbs(lik.marginal(model.call(ref.x_test) as gp.distributions.MultivariateNormal).mean, ref.likelihoods.bernoulli.gpytorch.pred_prob_y1) < 1e-10);
});

for (const kind of ["student_t", "laplace"] as Kind[]) {
  test(`${kind}: exact predictive mean and variance (1e-10); GPyTorch's Monte Carlo means within 4 standard errors`, async () => {
    const model = buildModel();
    const lik = buildLikelihood(kind);
    const y = lik.marginal((await model.predict(ref.x_test)) as gp.models.Prediction);
    const exact = ref.likelihoods[kind].exact_predictive;
    assert.ok(maxAbs(y.mean, exact.pred_mean_y) < 1e-10);
    assert.ok(maxAbs(y.variance, exact.pred_var_y) < 1e-10, `var ${maxAbs(y.variance, exact.pred_var_y)}`);
    const mc = ref.likelihoods[kind].gpytorch_predictive_monte_carlo;
    for (let i = 0; i < ref.n_test; i++) {
      assert.ok(Math.abs(y.mean[i] - mc.pred_mean_y[i]) < 4 * mc.approx_standard_error_of_pred_mean_y[i], `point ${i}`);
    }
  });
}

test("likelihood state dicts use GPyTorch's keys; the constrained values are GPyTorch's", () => {
  const st = buildLikelihood("student_t") as gp.likelihoods.StudentTLikelihood;
  assert.deepEqual(Object.keys(st.stateDict()), ["rawDegFree", "rawNoise"]);
  assert.ok(Math.abs(st.degFree - ref.likelihoods.student_t.deg_free) < 1e-13);
  assert.ok(Math.abs(st.noise - ref.likelihoods.student_t.noise) < 1e-13);
  const la = buildLikelihood("laplace") as gp.likelihoods.LaplaceLikelihood;
  assert.deepEqual(Object.keys(la.stateDict()), ["rawNoise"]);
  assert.ok(Math.abs(la.noise - ref.likelihoods.laplace.noise) < 1e-13);
  assert.deepEqual(Object.keys(new gp.likelihoods.BernoulliLikelihood().stateDict()), []);
  // GPyTorch's defaults: deg_free 7 (2 + softplus), noise softplus(0).
  const d = new gp.likelihoods.StudentTLikelihood();
  assert.ok(Math.abs(d.degFree - 7) < 1e-12 && Math.abs(d.noise - Math.log(2)) < 1e-15);
  assert.ok(Math.abs(new gp.likelihoods.LaplaceLikelihood().noise - Math.log(2)) < 1e-15);
});

for (const kind of ["bernoulli", "student_t", "laplace"] as Kind[]) {
  test(`${kind}: ELBO gradients for every model and likelihood parameter match central differences`, async () => {
    const model = buildModel();
    const lik = buildLikelihood(kind);
    const B = 40;
    const x = ref.x.slice(0, B), y = ref.likelihoods[kind].y.slice(0, B);
    const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
    const params = elbo.parameters();
    for (const p of params) p.zeroGrad();
    await elbo.evaluateWithGradient(x, y);
    const h = 1e-6;
    let checked = 0;
    for (const [name, p] of [...model.namedParameters(), ...lik.namedParameters("likelihood.")]) {
      // Every raw value of the small parameters; a spread of entries of the large ones.
      const stride = p.size > 20 ? 7 : 1;
      for (let i = 0; i < p.size; i += stride) {
        const r0 = p.raw[i];
        p.raw[i] = r0 + h;
        const a = elbo.compute(x, y, false).value;
        p.raw[i] = r0 - h;
        const b = elbo.compute(x, y, false).value;
        p.raw[i] = r0;
        const fd = (a - b) / (2 * h);
        assert.ok(Math.abs(p.grad[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${kind} ${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`);
        checked++;
      }
    }
    assert.ok(checked > 20);
  });
}

test("bernoulli: labels outside {0, 1} are a LabelError that names the bad value and the fix", async () => {
  const model = buildModel();
  const elbo = new gp.mlls.VariationalELBO(new gp.likelihoods.BernoulliLikelihood(), model, { numData: ref.n });
  const y = ref.likelihoods.bernoulli.y.map((v: number) => 2 * v - 1); // -1 / +1 labels
  await assert.rejects(elbo.evaluate(ref.x, y), (e: Error) => e instanceof gp.errors.LabelError && /labels 0 or 1/.test(e.message) && /y\[\d+\] = -1/.test(e.message) && /\(y \+ 1\) \/ 2/.test(e.message));
  await assert.rejects(gp.train.fit(model, elbo, { x: ref.x, y, epochs: 1, live: false }), gp.errors.LabelError);
  // A non-Gaussian likelihood has no noise to add: predict says where to go instead.
  await assert.rejects(model.predict(ref.x_test, { noise: true, likelihood: new gp.likelihoods.BernoulliLikelihood() }), /likelihood\.marginal\(f\)/);
});

test("minibatch training with gp.train.fit: Bernoulli classification from the default start", async () => {
  gp.setSeed(7);
  const z = ref.x.filter((_: number[], i: number) => i % 12 === 0);
  const model = new gp.models.ApproximateGP({ inducingPoints: z });
  const lik = new gp.likelihoods.BernoulliLikelihood();
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
  const before = await elbo.evaluateDataset(ref.x, ref.likelihoods.bernoulli.y);
  const run = await gp.train.fit(model, elbo, { x: ref.x, y: ref.likelihoods.bernoulli.y, batchSize: 50, epochs: 40, lr: 0.05, live: false });
  assert.equal(run.history.length, 160);
  assert.ok(-run.finalLoss > before + 0.2, `ELBO/N ${before} -> ${-run.finalLoss}`);
  const p = lik.marginal((await model.predict(ref.x)) as gp.models.Prediction).mean;
  const accuracy = ref.likelihoods.bernoulli.y.filter((v: number, i: number) => (p[i] > 0.5 ? 1 : 0) === v).length / ref.n;
  assert.ok(accuracy > 0.85, `training accuracy ${accuracy}`);
});

/** Phi(a) by composite Simpson on the density over [-12, a] (independent of the library). */
function phiBySimpson(a: number): number {
  const lo = -12, m = 4000, h = (a - lo) / m;
  const pdf = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let s = pdf(lo) + pdf(a);
  for (let k = 1; k < m; k++) s += (k % 2 ? 4 : 2) * pdf(lo + k * h);
  return (s * h) / 3;
}

test("PredictiveLogLikelihood: Bernoulli's log Phi((2y-1) mu / sqrt(1 + var)) and Laplace's log of the Gauss–Hermite sum of p(y | f)", () => {
  const model = buildModel();
  const N = ref.n, mu = ref.latent.train_mean_f, v = ref.latent.train_var_f;
  const yb = ref.likelihoods.bernoulli.y;
  let want = 0;
  for (let i = 0; i < N; i++) want += Math.log(phiBySimpson(((2 * yb[i] - 1) * mu[i]) / Math.sqrt(1 + v[i])));
  const pllB = new gp.mlls.PredictiveLogLikelihood(buildLikelihood("bernoulli"), model, { numData: N }).compute(ref.x, yb, false);
  assert.ok(Math.abs(pllB.expectedLogLik * N - want) < 1e-8, `Bernoulli ${pllB.expectedLogLik * N} vs ${want}`);
  assert.ok(Math.abs(pllB.value - (want - ref.latent.kl) / N) < 1e-10);
  // Laplace: log sum_k w_k exp(-|y - f_k| / b) / (2 b), written out here.
  const lap = buildLikelihood("laplace") as gp.likelihoods.LaplaceLikelihood;
  const b = Math.sqrt(ref.likelihoods.laplace.noise), yl = ref.likelihoods.laplace.y;
  const { nodes, weights } = gp.likelihoods.gaussHermite(20);
  let wantL = 0;
  for (let i = 0; i < N; i++) {
    let p = 0;
    for (let k = 0; k < 20; k++) p += weights[k] * Math.exp(-Math.abs(yl[i] - (mu[i] + Math.sqrt(2 * v[i]) * nodes[k])) / b) / (2 * b);
    wantL += Math.log(p);
  }
  const pllL = new gp.mlls.PredictiveLogLikelihood(lap, model, { numData: N }).compute(ref.x, yl, false);
  assert.ok(Math.abs(pllL.expectedLogLik * N - wantL) < 1e-8, `Laplace ${pllL.expectedLogLik * N} vs ${wantL}`);
  // Jensen: log E[p] >= E[log p], for every likelihood.
  for (const kind of ["bernoulli", "student_t", "laplace"] as Kind[]) {
    const lik = buildLikelihood(kind);
    const pll = new gp.mlls.PredictiveLogLikelihood(lik, model, { numData: N }).compute(ref.x, ref.likelihoods[kind].y, false).value;
    const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: N }).compute(ref.x, ref.likelihoods[kind].y, false).value;
    assert.ok(pll > elbo, `${kind}: PLL ${pll} <= ELBO ${elbo}`);
  }
});

for (const kind of ["bernoulli", "student_t", "laplace"] as Kind[]) {
  test(`${kind}: PredictiveLogLikelihood gradients match central differences`, async () => {
    const model = buildModel();
    const lik = buildLikelihood(kind);
    const B = 30;
    const x = ref.x.slice(0, B), y = ref.likelihoods[kind].y.slice(0, B);
    const pll = new gp.mlls.PredictiveLogLikelihood(lik, model, { numData: ref.n });
    for (const p of pll.parameters()) p.zeroGrad();
    await pll.evaluateWithGradient(x, y);
    const h = 1e-6;
    for (const [name, p] of [...model.namedParameters(), ...lik.namedParameters("likelihood.")]) {
      const stride = p.size > 20 ? 9 : 1;
      for (let i = 0; i < p.size; i += stride) {
        const r0 = p.raw[i];
        p.raw[i] = r0 + h;
        const a = pll.compute(x, y, false).value;
        p.raw[i] = r0 - h;
        const b = pll.compute(x, y, false).value;
        p.raw[i] = r0;
        const fd = (a - b) / (2 * h);
        assert.ok(Math.abs(p.grad[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${kind} ${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`);
      }
    }
  });
}

test("priors on StudentT's degFree and noise enter the ELBO as GPyTorch's log prior / N, with gradients", async () => {
  const model = buildModel();
  const degFreePrior = new gp.priors.GammaPrior(2, 0.5), noisePrior = new gp.priors.GammaPrior(1.1, 10);
  const plain = buildLikelihood("student_t") as gp.likelihoods.StudentTLikelihood;
  const withPriors = new gp.likelihoods.StudentTLikelihood({ degFreePrior, noisePrior });
  withPriors.loadStateDict(likelihoodState(ref.likelihoods.student_t.params));
  const y = ref.likelihoods.student_t.y;
  const a = new gp.mlls.VariationalELBO(plain, model, { numData: ref.n }).compute(ref.x, y, false).value;
  const elbo = new gp.mlls.VariationalELBO(withPriors, model, { numData: ref.n });
  const b = elbo.compute(ref.x, y, false).value;
  const logPrior = (degFreePrior.logProb([withPriors.degFree]) as number[])[0] + (noisePrior.logProb([withPriors.noise]) as number[])[0];
  assert.ok(Math.abs(b - a - logPrior / ref.n) < 1e-13, `${b - a} vs ${logPrior / ref.n}`);
  for (const p of elbo.parameters()) p.zeroGrad();
  await elbo.evaluateWithGradient(ref.x, y);
  const h = 1e-6;
  for (const p of [withPriors.rawDegFree, withPriors.rawNoise]) {
    const r0 = p.raw[0];
    p.raw[0] = r0 + h;
    const up = elbo.compute(ref.x, y, false).value;
    p.raw[0] = r0 - h;
    const down = elbo.compute(ref.x, y, false).value;
    p.raw[0] = r0;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(p.grad[0] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `analytic ${p.grad[0]} vs differences ${fd}`);
  }
});
