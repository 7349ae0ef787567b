// Bad input to variational GPs fails early with errors that name the problem
// and the fix: task dimension mismatches, inducing points of the wrong width,
// numData missing or smaller than a batch, mismatched batch shapes.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

const z = [[0], [0.5], [1]];
const x = [[0.1], [0.2], [0.3], [0.4]];
const y = [1, 2, 3, 4];

function lmc(numTasks = 4) {
  return new gp.models.ApproximateGP({ inducingPoints: [z, z, z], batchShape: [3], variationalStrategy: { kind: "lmc", numLatents: 3, numTasks } });
}

test("tasks dimension mismatches: targets, likelihood, independent strategy", () => {
  const model = lmc();
  const lik = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 4 });
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: 100 });
  assert.throws(() => elbo.compute(x, x.map(() => [1, 2, 3]), false), (e: Error) => e instanceof gp.errors.ShapeError && /3 columns \(tasks\) but the model has 4 tasks/.test(e.message));
  assert.throws(() => elbo.compute(x, y, false), /1 column \(tasks\) but the model has 4 tasks/);
  assert.throws(() => new gp.mlls.VariationalELBO(new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: 3 }), model, { numData: 100 }), /numTasks = 3 but the model has 4 tasks/);
  assert.throws(() => new gp.mlls.VariationalELBO(new gp.likelihoods.GaussianLikelihood(), model, { numData: 100 }), /MultitaskGaussianLikelihood\(\{ numTasks: 4 \}\)/);
  assert.throws(() => new gp.mlls.VariationalELBO(lik, new gp.models.ApproximateGP({ inducingPoints: z }), { numData: 100 }), /numTasks = 4 but the model has 1 tasks/);
  assert.throws(
    () => new gp.models.ApproximateGP({ inducingPoints: z, batchShape: [3], variationalStrategy: { kind: "independent", numTasks: 4 } }),
    /batchShape \[3\] does not match the 4 latent GPs/,
  );
  const single = new gp.models.ApproximateGP({ inducingPoints: z });
  const e1 = new gp.mlls.VariationalELBO(new gp.likelihoods.GaussianLikelihood(), single, { numData: 10 });
  assert.throws(() => e1.compute(x, [1, 2, 3], false), /4 inputs but 3 targets/);
});

test("inducing points of the wrong width", () => {
  const model = new gp.models.ApproximateGP({ inducingPoints: [[0, 0], [1, 1]] });
  const elbo = new gp.mlls.VariationalELBO(new gp.likelihoods.GaussianLikelihood(), model, { numData: 10 });
  assert.throws(() => elbo.compute(x, y, false), (e: Error) => e instanceof gp.errors.ShapeError && /inputs have 1 columns but the inducing points have 2/.test(e.message));
  assert.throws(() => model.predictF64(gp.algorithms.mat(2, 3)), /inputs have 3 columns but the inducing points have 2/);
  assert.throws(
    () => new gp.models.ApproximateGP({ inducingPoints: z, covarModule: new gp.kernels.RBFKernel({ ardNumDims: 3 }) }),
    /inducing points have 1 columns but covarModule expects 3 input dimensions/,
  );
  assert.throws(() => new gp.models.ApproximateGP({ inducingPoints: [z, [[0], [1]], z], batchShape: [3], variationalStrategy: { kind: "lmc", numLatents: 3, numTasks: 2 } }), /same shape \[3, 1\]/);
  assert.throws(() => new gp.models.ApproximateGP({ inducingPoints: [z, z], batchShape: [3], variationalStrategy: { kind: "lmc", numLatents: 3, numTasks: 2 } }), /2 sets but the model has 3 latent GPs/);
});

test("numData missing, not an integer, or smaller than a batch (also in fit)", async () => {
  const model = new gp.models.ApproximateGP({ inducingPoints: z });
  const lik = new gp.likelihoods.GaussianLikelihood();
  assert.throws(() => new gp.mlls.VariationalELBO(lik, model, undefined as never), /needs \{ numData \}/);
  assert.throws(() => new gp.mlls.VariationalELBO(lik, model, {} as never), /needs \{ numData \}/);
  assert.throws(() => new gp.mlls.PredictiveLogLikelihood(lik, model, { numData: 2.5 }), /numData must be a positive integer/);
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: 3 });
  assert.throws(() => elbo.compute(x, y, false), /numData \(3\) is smaller than this batch \(4 points\)/);
  await assert.rejects(gp.train.fit(model, elbo, { x, y, batchSize: 2, live: false }), /numData \(3\) is smaller than the 4 training points/);
  const ok = new gp.mlls.VariationalELBO(lik, model, { numData: 4 });
  await assert.rejects(gp.train.fit(model, ok, { live: false }), /pass the training data as fit\(model, mll, \{ x, y, batchSize, epochs \}\)/);
  await assert.rejects(gp.train.fit(model, ok, { x, y, batchSize: 2, optimizer: "lbfgs", live: false }), /L-BFGS needs the same objective/);
  await assert.rejects(gp.train.fit(model, ok, { x, y, batchSize: 0, live: false }), /batchSize must be a positive integer/);
});

test("batch shapes: kernels and means must match the latent count; batched modules are not evaluated whole", () => {
  assert.throws(
    () => new gp.models.ApproximateGP({ inducingPoints: [z, z, z], batchShape: [3], variationalStrategy: { kind: "lmc", numLatents: 3, numTasks: 2 }, covarModule: new gp.kernels.RBFKernel({ batchShape: [2] }) }),
    /covarModule has batchShape \[2\] but the model has 3 latent GPs/,
  );
  assert.throws(() => new gp.models.ApproximateGP({ inducingPoints: z, batchShape: [2] }), /batchShape needs a multitask variationalStrategy/);
  const k = new gp.kernels.RBFKernel({ batchShape: [3] });
  assert.throws(() => k.call(x).diagonalF64(), /batch of 3 kernels.*batchMember\(q\)/);
  assert.throws(() => new gp.kernels.RBFKernel({ batchShape: [2, 3] }), /one batch dimension/);
  assert.throws(() => k.batchMember(3), /out of range/);
  assert.throws(() => new gp.models.ApproximateGP({ inducingPoints: z, variationalDistribution: "full" as never }), /"cholesky", "meanfield"/);
  assert.throws(() => new gp.models.ApproximateGP({ inducingPoints: z, variationalStrategy: { kind: "lmc", numLatents: 0, numTasks: 2 } }), /positive integer/);
});

test("predict with noise needs a likelihood; unsupported likelihoods are named", async () => {
  const model = new gp.models.ApproximateGP({ inducingPoints: z });
  await assert.rejects(model.predict(x, { noise: true }), /needs the likelihood/);
  assert.throws(() => new gp.mlls.VariationalELBO(new gp.likelihoods.FixedNoiseGaussianLikelihood({ noise: [1, 1] }), model, { numData: 2 }), /FixedNoiseGaussianLikelihood/);
});
