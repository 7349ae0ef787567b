// The GPyTorch-style API surface: subclassing ExactGP with forward(x),
// MultivariateNormal against closed forms, IndexKernel / MultitaskKernel
// against their definitions computed here, and display data.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

class MyGP extends gp.models.ExactGP {
  override meanModule = new gp.means.ConstantMean();
  override covarModule = new gp.kernels.ScaleKernel(new gp.kernels.MaternKernel({ nu: 1.5 }));
  constructor(x: number[][], y: number[], lik: gp.likelihoods.GaussianLikelihood) {
    super(x, y, lik);
  }
  override forward(x: gp.algorithms.Mat): gp.distributions.MultivariateNormal {
    return new gp.distributions.MultivariateNormal(this.meanModule.call(x), this.covarModule.call(x));
  }
}

const xs = Array.from({ length: 40 }, (_, i) => [i / 8]);
const ys = xs.map(([v]) => Math.sin(v) + 0.1 * Math.cos(7 * v));

test("a subclass with forward(x) gives the same MLL, gradient, state keys and predictions as passing the modules", async () => {
  const init = { "likelihood.noise": 0.05, "meanModule.constant": 0.3, "covarModule.outputscale": 1.2, "covarModule.baseKernel.lengthscale": 0.9 };
  const lik1 = new gp.likelihoods.GaussianLikelihood();
  const sub = new MyGP(xs, ys, lik1).initialize(init);
  const lik2 = new gp.likelihoods.GaussianLikelihood();
  const plain = new gp.models.ExactGP(xs, ys, lik2, { meanModule: new gp.means.ConstantMean(), covarModule: new gp.kernels.ScaleKernel(new gp.kernels.MaternKernel({ nu: 1.5 })) }).initialize(init);
  assert.deepEqual(Object.keys(sub.stateDict()), Object.keys(plain.stateDict()));
  const m1 = new gp.mlls.ExactMarginalLogLikelihood(lik1, sub), m2 = new gp.mlls.ExactMarginalLogLikelihood(lik2, plain);
  sub.zeroGrad();
  plain.zeroGrad();
  const v1 = (await m1.evaluateWithGradient()).value, v2 = (await m2.evaluateWithGradient()).value;
  assert.ok(Math.abs(v1 - v2) < 1e-12);
  const g1 = sub.parameters().flatMap((p) => Array.from(p.grad)), g2 = plain.parameters().flatMap((p) => Array.from(p.grad));
  g1.forEach((g, i) => assert.ok(Math.abs(g - g2[i]) < 1e-12));
  assert.ok(g1.every((g) => g !== 0), "every parameter (the mean's too) gets a gradient through forward()");
  const p1 = await sub.predict([[0.55], [2.2]]), p2 = await plain.predict([[0.55], [2.2]]);
  assert.ok(Math.abs(p1.meanF64[1] - p2.meanF64[1]) < 1e-12 && Math.abs(p1.varianceF64[0] - p2.varianceF64[0]) < 1e-12);
  const run = await gp.train.fit(sub, m1, { iterations: 5, live: false });
  assert.ok(run.losses[4] < run.losses[0]);
});

test("MultivariateNormal: logProb, variance, confidence region vs closed forms; seeded samples have the right covariance", async () => {
  const S = [[2, 0.6], [0.6, 1]];
  const mvn = new gp.distributions.MultivariateNormal([1, -1], new gp.operators.DenseLinearOperator(S));
  const det = 2 * 1 - 0.36;
  const r = [0.5, 0.2]; // y - mean for y = [1.5, -0.8]
  const quad = (r[0] * r[0] * 1 - 2 * r[0] * r[1] * 0.6 + r[1] * r[1] * 2) / det;
  const expected = -0.5 * (quad + Math.log(det) + 2 * Math.log(2 * Math.PI));
  assert.ok(Math.abs((await mvn.logProb([1.5, -0.8])) - expected) < 1e-12);
  assert.deepEqual(Array.from(mvn.varianceF64()), [2, 1]);
  const [lo, hi] = mvn.confidenceRegion();
  assert.ok(Math.abs(lo.dataSync()[0] - (1 - 2 * Math.sqrt(2))) < 1e-6 && Math.abs(hi.dataSync()[1] - 1) < 1e-6);
  gp.setSeed(99);
  const draws = mvn.sampleF64(20000);
  let c01 = 0, v0 = 0, m0 = 0;
  for (let s = 0; s < draws.rows; s++) {
    const a = draws.data[s * 2] - 1, b = draws.data[s * 2 + 1] + 1;
    c01 += a * b;
    v0 += a * a;
    m0 += a;
  }
  assert.ok(Math.abs(c01 / 20000 - 0.6) < 0.05 && Math.abs(v0 / 20000 - 2) < 0.08 && Math.abs(m0 / 20000) < 0.05);
  gp.setSeed(99);
  assert.deepEqual(Array.from(mvn.sampleF64(3).data), Array.from(draws.data.slice(0, 6)));
});

test("IndexKernel = W W^T + diag(var) looked up by task; MultitaskKernel = K_data (x) B, point-major", () => {
  const ik = new gp.kernels.IndexKernel({ numTasks: 3, rank: 2 });
  ik.initialize({ covarFactor: [0.5, -0.2, 1.0, 0.3, -0.7, 0.4], var: [0.1, 0.2, 0.3] });
  const W = [[0.5, -0.2], [1.0, 0.3], [-0.7, 0.4]], v = [0.1, 0.2, 0.3];
  const B = (a: number, b: number) => W[a][0] * W[b][0] + W[a][1] * W[b][1] + (a === b ? v[a] : 0);
  const ti = [[2], [0], [1], [1]], tj = [[0], [2]];
  const K = (ik.call(ti, tj) as gp.operators.LinearOperator).toDenseF64();
  ti.forEach(([a], i) => tj.forEach(([b], j) => assert.ok(Math.abs(K.data[i * 2 + j] - B(a, b)) < 1e-12)));

  const mt = new gp.kernels.MultitaskKernel(new gp.kernels.RBFKernel(), { numTasks: 3, rank: 2 });
  mt.initialize({ "taskCovarModule.covarFactor": [0.5, -0.2, 1.0, 0.3, -0.7, 0.4], "taskCovarModule.var": v, "dataCovarModule.lengthscale": 0.7 });
  const x = [[0.1], [0.9]];
  const M = (mt.call(x) as gp.operators.LinearOperator).toDenseF64();
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 2; j++)
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++) {
          const kd = Math.exp((-0.5 * (x[i][0] - x[j][0]) ** 2) / 0.49);
          assert.ok(Math.abs(M.data[(i * 3 + a) * 6 + j * 3 + b] - kd * B(a, b)) < 1e-12);
        }
  assert.deepEqual(Object.keys(mt.stateDict()), ["taskCovarModule.covarFactor", "taskCovarModule.rawVar", "dataCovarModule.rawLengthscale"]);
});

test("display data of kernels, models, predictions and fit runs", async () => {
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 2 }));
  const kd = k.displayData();
  assert.equal(kd.kind, "kernel");
  assert.equal(kd.name, "ScaleKernel(RBFKernel)");
  assert.deepEqual(kd.hyperparameters.map((h) => h.name), ["outputscale", "baseKernel.lengthscale"]);
  assert.equal(kd.slice?.k[50], Math.LN2); // k(0, 0) = outputscale = softplus(0)
  const lik = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(xs, ys, lik, { meanModule: new gp.means.ZeroMean(), covarModule: new gp.kernels.RBFKernel() });
  const md = model.displayData();
  assert.equal(md.numTrainingPoints, 40);
  assert.equal(md.structure, "RBFKernel");
  const pd = (await model.predict([[0.5], [1]], { noise: true })).displayData();
  assert.equal(pd.noise, true);
  assert.equal(pd.mean.length, 2);
  assert.equal(pd.train?.x.length, 40);
  for (const obj of [k, model, await model.predict([[0.5]])]) {
    const bundle = await (obj as unknown as Record<symbol, () => Promise<gp.MimeBundle>>)[gp.JUPYTER_DISPLAY]();
    assert.equal(typeof bundle["text/plain"], "string");
  }
});

/** A user-defined kernel: exp(-||x - x'|| / l) written against the public formula API. */
class ExponentialKernel extends gp.kernels.Kernel {
  readonly rawLengthscale = this.registerParameter("rawLengthscale", new gp.models.Parameter([1, 1], new gp.constraints.Positive(), 0.5));
  protected formulaFor(x1: gp.algorithms.Mat, x2: gp.algorithms.Mat): gp.kernels.KernelFormula {
    const l = this.rawLengthscale.value();
    const factor = { statistic: "sqdist" as const, dims: x1.cols, x: gp.kernels.scaledFeatures(x1, l), y: gp.kernels.scaledFeatures(x2, l), profile: gp.reductions.profiles.matern12Profile, params: new Float64Array(0) };
    return gp.kernels.KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => {
      let g = 0;
      for (let k = 0; k < x1.cols; k++) g += (-2 * acc[slots.perDim + k]) / l[0];
      this.rawLengthscale.addValueGrad(0, g);
    });
  }
}

test("a custom kernel from the formula API gets values, diag, composition and gradients", async () => {
  const k = new ExponentialKernel();
  const x = [[0], [0.3], [1.1]];
  const K = (k.call(x) as gp.operators.LinearOperator).toDenseF64();
  assert.ok(Math.abs(K.data[1] - Math.exp(-0.3 / 0.5)) < 1e-12 && Math.abs(K.data[5] - Math.exp(-0.8 / 0.5)) < 1e-12);
  assert.deepEqual(Array.from(k.call(x, x, { diag: true }).dataSync()), [1, 1, 1]);
  const lik = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(xs, ys, lik, { meanModule: new gp.means.ZeroMean(), covarModule: new gp.kernels.ScaleKernel(k.mul(new gp.kernels.RBFKernel())) });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
  model.zeroGrad();
  await mll.evaluateWithGradient();
  const p = k.rawLengthscale, h = 1e-6, r0 = p.raw[0];
  p.raw[0] = r0 + h;
  const a = await mll.evaluate();
  p.raw[0] = r0 - h;
  const b = await mll.evaluate();
  p.raw[0] = r0;
  assert.ok(Math.abs(p.grad[0] - (a - b) / (2 * h)) < 1e-6, `${p.grad[0]} vs ${(a - b) / (2 * h)}`);
  assert.ok("covarModule.baseKernel.kernels.0.rawLengthscale" in model.stateDict());
});

test("loadStateDict takes a GPyTorch state_dict as exported, constraint and prior buffers included", () => {
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel());
  k.loadStateDict({
    raw_outputscale: 0.5,
    "base_kernel.raw_lengthscale": [[-0.3]],
    "raw_outputscale_constraint.lower_bound": 0,
    "base_kernel.raw_lengthscale_constraint.upper_bound": Infinity,
    "base_kernel.lengthscale_prior.concentration": 3,
  });
  assert.equal(k.rawOutputscale.raw[0], 0.5);
  assert.ok(Math.abs(k.baseKernel.lengthscale[0] - Math.log1p(Math.exp(-0.3))) < 1e-15);
});
