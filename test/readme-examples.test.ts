// The README's library and operator snippets, run as written (small data),
// so the README cannot drift from the API.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

test("README: exact GP in a few lines, lazy covariance, operators", async () => {
  const trainX = Array.from({ length: 40 }, (_, i) => [i / 40, (i % 7) / 7, (i % 3) / 3]);
  const trainY = trainX.map(([a, b]) => Math.sin(6 * a) + b);
  const testX = [[0.5, 0.5, 0.5]];
  await gp.backend.ready();
  gp.setSeed(1234);
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(trainX, trainY, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 3 })),
  });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(likelihood, model);
  const run = await gp.train.fit(model, mll, { iterations: 20, lr: 0.1 });
  assert.equal(run.losses.length, 20);
  assert.ok(run.losses[19] < run.losses[0], "training lowers the loss");
  const pred = await model.predict(testX);
  assert.deepEqual(pred.mean.shape, [1]);

  const K = model.covarModule.call(trainX);
  const diag = K.diagonal().dataSync();
  // Scale(RBF) on its own inputs: the diagonal is the outputscale.
  assert.ok(Math.abs(diag[0] - model.covarModule.outputscale) < 1e-6);
  assert.ok("covarModule.baseKernel.rawLengthscale" in model.stateDict(), Object.keys(model.stateDict()).join(", "));
  assert.equal(K.mul(2).addDiagonal(0.1).describe(), "AddedDiag(ConstantMul[2](Kernel[Scale(RBF)] 40 x 40), ConstantDiag[0.1] 40 x 40)");

  const A = new gp.operators.DenseLinearOperator([[2, 1], [1, 3]]);
  const S = A.add(new gp.operators.DiagLinearOperator([0.1, 0.2]));
  assert.ok(S instanceof gp.operators.AddedDiagLinearOperator);
  assert.deepEqual(Array.from(S.matmul([[1], [0]]).dataSync()).map((v) => +v.toFixed(5)), [2.1, 1]);
  // [[2.1, 1], [1, 3.2]]: det = 5.72, inverse applied to (1, 2) by hand.
  const x = (await S.solve([[1], [2]])).dataSync();
  assert.ok(Math.abs(x[0] - (3.2 - 2) / 5.72) < 1e-6 && Math.abs(x[1] - (2 * 2.1 - 1) / 5.72) < 1e-6);
  assert.ok(Math.abs((await S.logdet()) - Math.log(5.72)) < 1e-12);
  const iq = await S.invQuadLogdet([[1], [2]]);
  assert.ok(Math.abs(iq.invQuad - (1 * (3.2 - 2) + 2 * (4.2 - 1)) / 5.72) < 1e-12);
});
