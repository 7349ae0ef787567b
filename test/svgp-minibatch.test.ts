// Minibatch training in gp.train.fit: seeded shuffling (same seed, same run),
// every point once per epoch, progress events per step with the epoch, the
// likelihood trained with the model, the minibatch ELBO an unbiased estimate
// of the full one (GPyTorch's numData scaling), and training that fits.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { rng } from "./helpers/reference";

function dataset(n: number, seed: number) {
  const r = rng(seed);
  const x = Array.from({ length: n }, () => [r() * 8]);
  const f = (v: number) => Math.sin(v) + 0.3 * Math.cos(2 * v);
  const y = x.map(([v]) => f(v) + 0.1 * (r() - 0.5) * 2);
  return { x, y, f };
}

function setup(n: number, m = 12) {
  const model = new gp.models.ApproximateGP({ inducingPoints: Array.from({ length: m }, (_, i) => [(8 * i) / (m - 1)]) });
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const elbo = new gp.mlls.VariationalELBO(likelihood, model, { numData: n });
  return { model, likelihood, elbo };
}

test("the mean of the minibatch ELBOs over an epoch of equal batches is the full-data ELBO", () => {
  const { x, y } = dataset(512, 1);
  const { elbo } = setup(512);
  const full = elbo.compute(x, y, false).value;
  let mean = 0;
  for (let s = 0; s < 512; s += 64) mean += elbo.compute(x.slice(s, s + 64), y.slice(s, s + 64), false).value / 8;
  assert.ok(Math.abs(mean - full) < 1e-12, `${mean} vs ${full}`);
});

test("epochs x batches steps, every point once per epoch, progress with epoch and likelihood noise, seeded order", async () => {
  const { x, y } = dataset(500, 2);
  const run = async (seed: number) => {
    gp.setSeed(seed);
    const { model, elbo } = setup(500);
    const seen: number[][] = [];
    const original = elbo.evaluateWithGradient.bind(elbo);
    elbo.evaluateWithGradient = (xb, yb) => {
      seen.push(Array.from((xb as gp.algorithms.Mat).data));
      return original(xb, yb);
    };
    const progress: gp.train.FitProgress[] = [];
    const fitRun = await gp.train.fit(model, elbo, { x, y, batchSize: 64, epochs: 3, lr: 0.05, live: false, onProgress: (p) => progress.push(p) });
    return { fitRun, seen, progress, model };
  };
  const a = await run(7);
  assert.equal(a.fitRun.history.length, 24);
  assert.deepEqual(a.progress.map((p) => p.epoch), [...new Array(8).fill(0), ...new Array(8).fill(1), ...new Array(8).fill(2)]);
  assert.deepEqual(a.seen.map((b) => b.length), new Array(3).fill([64, 64, 64, 64, 64, 64, 64, 52]).flat());
  const all = x.map(([v]) => v).sort((p, q) => p - q);
  for (let e = 0; e < 3; e++) assert.deepEqual(a.seen.slice(e * 8, e * 8 + 8).flat().sort((p, q) => p - q), all);
  assert.notDeepEqual(a.seen[0], a.seen[8], "each epoch is reshuffled");
  const names = Object.keys(a.progress[0].hyperparameters);
  assert.ok(names.includes("likelihood.noiseCovar.noise"));
  assert.ok(names.includes("covarModule.baseKernel.lengthscale"));
  assert.ok(!names.some((n) => /inducingPoints|variationalDistribution/.test(n)), names.join(", "));
  assert.ok(a.progress[23].hyperparameters["likelihood.noiseCovar.noise"][0] !== a.progress[0].hyperparameters["likelihood.noiseCovar.noise"][0]);
  const b = await run(7);
  assert.deepEqual(b.fitRun.losses, a.fitRun.losses, "same seed, same run");
  const c = await run(8);
  assert.notDeepEqual(c.seen[0], a.seen[0], "another seed, another order");
  assert.ok(Number.isFinite(a.fitRun.finalLoss) && a.fitRun.done);
});

test("training on 3,000 points with batches of 128 fits the function (RMSE < 0.05 vs noise-free f)", async () => {
  gp.setSeed(3);
  const { x, y, f } = dataset(3000, 4);
  const { model, likelihood, elbo } = setup(3000, 16);
  const run = await gp.train.fit(model, elbo, { x, y, batchSize: 128, epochs: 8, lr: 0.05, live: false });
  assert.ok(run.finalLoss < run.losses[0] - 0.5, `loss ${run.losses[0]} -> ${run.finalLoss}`);
  const xt = Array.from({ length: 100 }, (_, i) => [0.2 + (7.6 * i) / 99]);
  const p = (await model.predict(xt)) as gp.models.Prediction;
  const rmse = Math.sqrt(xt.reduce((s, [v], i) => s + (p.meanF64[i] - f(v)) ** 2, 0) / xt.length);
  assert.ok(rmse < 0.05, `rmse ${rmse}`);
  assert.ok(likelihood.noise < 0.1, `noise ${likelihood.noise}`);
});
