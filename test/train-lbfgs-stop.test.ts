// gp.train.fit with { optimizer: "lbfgs" } stops once converged (relative
// loss decrease <= 2.2e-9 or every gradient entry <= 1e-5, scipy's L-BFGS-B
// defaults) instead of running every requested iteration, at the optimum: the
// gradient there is checked directly, and a long Adam run gets no lower.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

function problem() {
  // Seeded 1-D data: 40 points of a sine with noise.
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = Array.from({ length: 40 }, () => 6 * u());
  const y = x.map((v) => Math.sin(v) + 0.2 * (u() - 0.5));
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(x, y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
  });
  return { model, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

test("L-BFGS stops when converged, at a stationary point no worse than a long Adam run", async () => {
  const a = problem();
  const run = await gp.train.fit(a.model, a.mll, { optimizer: "lbfgs", iterations: 1000, live: false });
  assert.ok(run.converged, "converged");
  assert.ok(run.history.length < 200, `stopped after ${run.history.length} of 1000 iterations`);
  // It stopped at the first step that met the loss test (or earlier, on the gradient test): every earlier step lowered the loss by more.
  const losses = [...run.losses, run.finalLoss];
  const tol = 1e7 * Number.EPSILON;
  for (let i = 0; i + 2 < losses.length; i++) {
    const rel = (losses[i] - losses[i + 1]) / Math.max(Math.abs(losses[i]), Math.abs(losses[i + 1]), 1);
    assert.ok(rel > tol, `step ${i} lowered the loss by only ${rel} relative, yet L-BFGS went on`);
  }
  a.model.zeroGrad();
  await a.mll.evaluateWithGradient();
  const largest = Math.max(...a.model.parameters().flatMap((p) => Array.from(p.grad, Math.abs)));
  assert.ok(largest < 1e-4, `gradient at the stop: ${largest}`);
  const b = problem();
  const adam = await gp.train.fit(b.model, b.mll, { iterations: 1500, lr: 0.05, live: false });
  assert.ok(run.finalLoss <= adam.finalLoss + 1e-6, `L-BFGS ${run.finalLoss} vs Adam ${adam.finalLoss}`);
});
