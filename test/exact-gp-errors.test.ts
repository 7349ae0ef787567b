// Bad input gets a clear, typed error that names the problem and the fix.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

const { ShapeError, NonFiniteError, NotPSDError, ArgumentError } = gp.errors;

function modules() {
  return { meanModule: new gp.means.ConstantMean(), covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()) };
}

test("mismatched train x / y lengths: ShapeError naming both sizes", () => {
  assert.throws(
    () => new gp.models.ExactGP([[0], [1], [2]], [1, 2], new gp.likelihoods.GaussianLikelihood(), modules()),
    (e: Error) => e instanceof ShapeError && /3 rows/.test(e.message) && /2 values/.test(e.message),
  );
});

test("NaN in the targets: NonFiniteError naming the position", () => {
  assert.throws(
    () => new gp.models.ExactGP([[0], [1], [2]], [1, Number.NaN, 2], new gp.likelihoods.GaussianLikelihood(), modules()),
    (e: Error) => e instanceof NonFiniteError && /training targets/.test(e.message) && /index 1/.test(e.message),
  );
  assert.throws(() => new gp.models.ExactGP([[0], [Number.POSITIVE_INFINITY]], [1, 2], new gp.likelihoods.GaussianLikelihood(), modules()), NonFiniteError);
});

test("predict / MLL before there is training data: ArgumentError saying what to call", async () => {
  const lik = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(null, null, lik, modules());
  await assert.rejects(model.predict([[0.5]]), (e: Error) => e instanceof ArgumentError && /setTrainData/.test(e.message));
  await assert.rejects(new gp.mlls.ExactMarginalLogLikelihood(lik, model).evaluate(), ArgumentError);
  model.setTrainData([[0], [1]], [0, 1]);
  assert.equal((await model.predict([[0.5]])).meanF64.length, 1);
});

test("ExactGP without modules and without a forward override: ArgumentError", async () => {
  const model = new gp.models.ExactGP([[0], [1]], [0, 1], new gp.likelihoods.GaussianLikelihood());
  await assert.rejects(model.predict([[0.5]]), (e: Error) => e instanceof ArgumentError && /forward/.test(e.message));
});

test("predict on inputs of the wrong dimensionality: ShapeError", async () => {
  const model = new gp.models.ExactGP([[0], [1], [2]], [0, 1, 0], new gp.likelihoods.GaussianLikelihood(), modules());
  await assert.rejects(model.predict([[0.5, 1]]), (e: Error) => e instanceof ShapeError && /2 columns/.test(e.message) && /1-column/.test(e.message));
  // And an ARD kernel built for 2 dims fed 3 columns.
  const ard = new gp.models.ExactGP([[0, 1, 2]], [0], new gp.likelihoods.GaussianLikelihood(), { meanModule: new gp.means.ZeroMean(), covarModule: new gp.kernels.RBFKernel({ ardNumDims: 2 }) });
  await assert.rejects(ard.predict([[0, 1, 2]]), (e: Error) => e instanceof ShapeError && /ardNumDims = 2/.test(e.message));
});

test("not PSD even at the end of the jitter ladder: warnings for 1e-6, 1e-5, 1e-4, then NotPSDError", async () => {
  const x = Array.from({ length: 50 }, (_, i) => [i / 50]);
  const lik = new gp.likelihoods.FixedNoiseGaussianLikelihood({ noise: new Array(50).fill(0) });
  const model = new gp.models.ExactGP(x, x.map((r) => Math.sin(r[0])), lik, modules());
  // A huge outputscale over a near-constant kernel: rounding error ~1e-2 swamps any jitter.
  model.initialize({ "covarModule.outputscale": 1e14, "covarModule.baseKernel.lengthscale": 100 });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    await assert.rejects(new gp.mlls.ExactMarginalLogLikelihood(lik, model).evaluate(), (e: Error) => e instanceof NotPSDError && /jitter 0.0001/.test(e.message) && /noise/.test(e.message));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("warning", onWarning);
  }
  for (const j of ["0.000001", "0.00001", "0.0001"]) assert.ok(warnings.some((w) => w.includes(`retrying with ${j}`)), `no warning for jitter ${j}`);
});

test("bad parameter values and names are rejected clearly", () => {
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 2 }));
  assert.throws(() => k.initialize({ outputscale: -1 }), (e: Error) => e instanceof ArgumentError && /Positive/.test(e.message));
  assert.throws(() => k.initialize({ "baseKernel.lengthscale": [1, 2, 3] }), ShapeError);
  assert.throws(() => k.initialize({ "baseKernel.lenghtscale": 1 }), (e: Error) => /has no parameter "lenghtscale"/.test(e.message) && /lengthscale/.test(e.message));
  assert.throws(() => k.loadStateDict({ raw_outputscale: 0 }), (e: Error) => /missing keys/.test(e.message));
  assert.throws(() => new gp.kernels.PolynomialKernel({ power: 1.5 }), ArgumentError);
  assert.throws(() => new gp.kernels.MaternKernel({ nu: 1 as 1.5 }), ArgumentError);
});
