// Natural gradients for SVGP against GPyTorch 1.12 (test/fixtures/reference/ngd.json,
// f64): NaturalVariationalDistribution loaded from GPyTorch's natural_vec /
// natural_mat, its q(u) mean and covariance, the ELBO, the gradients GPyTorch
// stores (with respect to the expectation parameters), and gp.train.fit's
// optimizer "ngd" after 1 and 5 steps at lr 0.1 and 1 step at lr 1 (the
// closed-form optimal q). Hyperparameters stay fixed there (Adam lr 0), as in
// the reference. Also: NGD with a Bernoulli likelihood, and the errors.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";

const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/ngd.json"), "utf8"));
const fixed = ref.fixed_state;

function build() {
  const model = new gp.models.ApproximateGP({
    inducingPoints: fixed.params["variational_strategy.inducing_points"].raw as number[][],
    variationalDistribution: "natural",
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
  });
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const m: Record<string, unknown> = {}, l: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fixed.params as Record<string, { raw: unknown }>)) {
    if (k.startsWith("likelihood.")) l[k.slice("likelihood.".length)] = v.raw;
    else m[k] = v.raw;
  }
  model.loadStateDict(m);
  likelihood.loadStateDict(l);
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.NaturalVariationalDistribution;
  return { model, likelihood, dist, elbo: new gp.mlls.VariationalELBO(likelihood, model, { numData: ref.n }) };
}

/** max |a - b| / max(1, max |b|) */
function relErr(a: ArrayLike<number>, b: number[]): number {
  let m = 0, s = 1;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

test("natural parameters load with GPyTorch's keys; q(u)'s mean and covariance are GPyTorch's", () => {
  const { model, dist } = build();
  assert.deepEqual(Object.keys(model.stateDict()).filter((k) => k.includes("variationalDistribution")), [
    "variationalStrategy.variationalDistribution.naturalVec",
    "variationalStrategy.variationalDistribution.naturalMat",
  ]);
  assert.ok(relErr(dist.meanF64(0), fixed.gpytorch_q_mean) < 1e-12, `m ${relErr(dist.meanF64(0), fixed.gpytorch_q_mean)}`);
  const L = dist.rootF64(0), M = ref.m;
  const S: number[] = [];
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) {
    let s = 0;
    for (let k = 0; k < M; k++) s += L.data[i * M + k] * L.data[j * M + k];
    S.push(s);
  }
  assert.ok(relErr(S, fixed.q_covar_S0.flat()) < 1e-12);
});

test("ELBO/N at the fixed state (1e-12) and the expectation-parameter gradients GPyTorch stores", async () => {
  const { elbo, dist } = build();
  const r = elbo.compute(ref.x, ref.y, false);
  assert.ok(Math.abs(r.value - fixed.elbo_per_n) < 1e-12, `ELBO/N ${r.value} vs ${fixed.elbo_per_n}`);
  for (const p of elbo.parameters()) p.zeroGrad();
  await elbo.evaluateWithGradient(ref.x, ref.y);
  // GPyTorch's .grad is of loss = -ELBO/N; ours of the ELBO/N itself.
  const g = ref.first_step_gradients;
  assert.ok(relErr(dist.naturalVec.grad.map((v) => -v), g.natural_vec) < 1e-10, `vec ${relErr(dist.naturalVec.grad.map((v) => -v), g.natural_vec)}`);
  assert.ok(relErr(dist.naturalMat.grad.map((v) => -v), g.natural_mat.flat()) < 1e-10, `mat ${relErr(dist.naturalMat.grad.map((v) => -v), g.natural_mat.flat())}`);
});

for (const [label, block, steps, ngdLr] of [
  ["1 step at ngdLr 0.1", "one_step", 1, 0.1],
  ["5 steps at ngdLr 0.1", "five_steps", 5, 0.1],
  ["1 step at ngdLr 1 (the optimal q)", "one_step_lr_1", 1, 1],
] as const) {
  test(`gp.train.fit optimizer "ngd", ${label}: natural parameters (1e-12 relative) and the ELBO trace match GPyTorch`, async () => {
    const { model, elbo, dist } = build();
    const hyper = model.covarModule.parameters().map((p) => p.raw.slice());
    const run = await gp.train.fit(model, elbo, { x: ref.x, y: ref.y, optimizer: "ngd", ngdLr, lr: 0, iterations: steps, shuffle: false, live: false });
    const want = ref[block];
    assert.equal(run.optimizer, "ngd");
    assert.ok(relErr(dist.naturalVec.raw, want.natural_vec) < 1e-12, `vec ${relErr(dist.naturalVec.raw, want.natural_vec)}`);
    assert.ok(relErr(dist.naturalMat.raw, want.natural_mat.flat()) < 1e-12, `mat ${relErr(dist.naturalMat.raw, want.natural_mat.flat())}`);
    want.elbo_per_n_before_each_step.forEach((v: number, i: number) => assert.ok(Math.abs(-run.history[i].loss - v) < 1e-12 * Math.max(1, Math.abs(v)), `step ${i}: ${-run.history[i].loss} vs ${v}`));
    assert.ok(Math.abs(-run.finalLoss - want.elbo_per_n_after) < 1e-12, `after ${-run.finalLoss} vs ${want.elbo_per_n_after}`);
    // Adam with lr 0 left the hyperparameters where they were.
    model.covarModule.parameters().forEach((p, i) => assert.deepEqual(Array.from(p.raw), Array.from(hyper[i])));
  });
}

test("one NGD step at ngdLr 1 reaches the optimum: a second step does not change the ELBO", async () => {
  const { model, elbo } = build();
  await gp.train.fit(model, elbo, { x: ref.x, y: ref.y, optimizer: "ngd", ngdLr: 1, lr: 0, iterations: 1, live: false });
  const after1 = await elbo.evaluate(ref.x, ref.y);
  assert.ok(Math.abs(after1 - ref.numpy_recompute.optimum_elbo_per_n) < 1e-12);
  await gp.train.fit(model, elbo, { x: ref.x, y: ref.y, optimizer: "ngd", ngdLr: 1, lr: 0, iterations: 1, live: false });
  assert.ok(Math.abs((await elbo.evaluate(ref.x, ref.y)) - after1) < 1e-10);
});

test("NGD with Adam on the hyperparameters trains a Bernoulli classifier on minibatches", async () => {
  gp.setSeed(5);
  const x = ref.x.map((r: number[]) => [r[0]]);
  const y = ref.y.map((v: number, i: number) => (v + 0.3 * Math.sin(7 * i) > 0 ? 1 : 0));
  const model = new gp.models.ApproximateGP({ inducingPoints: x.filter((_: number[], i: number) => i % 20 === 0), variationalDistribution: "natural" });
  const lik = new gp.likelihoods.BernoulliLikelihood();
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: ref.n });
  const before = await elbo.evaluateDataset(x, y);
  const run = await gp.train.fit(model, elbo, { x, y, optimizer: "ngd", ngdLr: 0.1, lr: 0.05, batchSize: 50, epochs: 15, live: false });
  assert.ok(-run.finalLoss > before + 0.05, `ELBO/N ${before} -> ${-run.finalLoss}`);
  const p = lik.marginal((await model.predict(x)) as gp.models.Prediction).mean;
  const accuracy = y.filter((v: number, i: number) => (p[i] > 0.5 ? 1 : 0) === v).length / ref.n;
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});

test("optimizer and distribution must agree: named errors with the fix", async () => {
  const { model, elbo } = build();
  await assert.rejects(gp.train.fit(model, elbo, { x: ref.x, y: ref.y, iterations: 1, live: false }), /optimizer: "ngd"/);
  await assert.rejects(gp.train.fit(model, elbo, { x: ref.x, y: ref.y, optimizer: "ngd", ngdLr: -1, iterations: 1, live: false }), /ngdLr must be a positive number/);
  const plain = new gp.models.ApproximateGP({ inducingPoints: fixed.params["variational_strategy.inducing_points"].raw as number[][] });
  const plainElbo = new gp.mlls.VariationalELBO(new gp.likelihoods.GaussianLikelihood(), plain, { numData: ref.n });
  await assert.rejects(gp.train.fit(plain, plainElbo, { x: ref.x, y: ref.y, optimizer: "ngd", iterations: 1, live: false }), /variationalDistribution: "natural"/);
});

test("batched natural distributions (independent multitask, 2 latents): one NGD step at ngdLr 1 reaches each latent's optimum", async () => {
  gp.setSeed(2);
  const x = ref.x.slice(0, 120);
  const y = x.map(([v]: number[], i: number) => [Math.sin(v), Math.cos(0.7 * v) + 0.05 * Math.sin(13 * i)]);
  const model = new gp.models.ApproximateGP({
    inducingPoints: Array.from({ length: 10 }, (_, j) => [j + 0.3]),
    variationalDistribution: "natural",
    variationalStrategy: { kind: "independent", numTasks: 2 },
  });
  const likelihood = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 2 });
  const elbo = new gp.mlls.VariationalELBO(likelihood, model, { numData: x.length });
  const dist = model.baseVariationalStrategy.variationalDistribution as gp.variational.NaturalVariationalDistribution;
  assert.deepEqual(dist.naturalMat.shape, [2, 10, 10]);
  const before = await elbo.evaluate(x, y);
  await gp.train.fit(model, elbo, { x, y, optimizer: "ngd", ngdLr: 1, lr: 0, iterations: 1, live: false });
  const after1 = await elbo.evaluate(x, y);
  await gp.train.fit(model, elbo, { x, y, optimizer: "ngd", ngdLr: 1, lr: 0, iterations: 1, live: false });
  const after2 = await elbo.evaluate(x, y);
  assert.ok(after1 > before + 0.1, `${before} -> ${after1}`);
  assert.ok(Math.abs(after2 - after1) < 1e-9, `second step moved the ELBO: ${after1} -> ${after2}`);
});
