// The MLL gradient through every kernel's formula derivative (and through
// the means), against central differences of the MLL value, on the fused f64
// executor; and the float32 tfjs executor's gradient against the same
// differences at a looser tolerance.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";

const K = gp.kernels;

function data(n: number, d: number, seed: number): { x: number[][]; y: number[] } {
  const r = new gp.RandomSource(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => 2 * r.normal()));
  const y = x.map((row) => Math.sin(row[0]) + 0.3 * row[row.length - 1] + 0.1 * r.normal());
  return { x, y };
}

const cases: [string, () => gp.kernels.Kernel, number][] = [
  ["Scale(RBF ard)", () => new K.ScaleKernel(new K.RBFKernel({ ardNumDims: 2 })).initialize({ "baseKernel.lengthscale": [0.8, 1.4], outputscale: 1.3 }), 2],
  ["Matern 1/2", () => new K.MaternKernel({ nu: 0.5, ardNumDims: 2 }), 2],
  ["Matern 3/2", () => new K.MaternKernel({ nu: 1.5 }), 2],
  ["Matern 5/2", () => new K.MaternKernel({ nu: 2.5, ardNumDims: 2 }), 2],
  ["RQ", () => new K.RQKernel({ ardNumDims: 2 }).initialize({ alpha: 0.8 }), 2],
  ["Periodic ard", () => new K.PeriodicKernel({ ardNumDims: 2 }).initialize({ periodLength: [1.5, 2.5], lengthscale: [0.8, 1.2] }), 2],
  ["Periodic shared", () => new K.PeriodicKernel().initialize({ periodLength: 1.7 }), 2],
  ["Linear + RBF", () => new K.LinearKernel().add(new K.RBFKernel()), 2],
  ["Polynomial", () => new K.PolynomialKernel({ power: 2 }).initialize({ offset: 0.7 }), 2],
  ["Cosine * RBF", () => new K.CosineKernel().initialize({ periodLength: 3 }).mul(new K.RBFKernel({ ardNumDims: 2 })), 2],
  ["(Scale(RBF) + Scale(Periodic)) * Matern", () => new K.ScaleKernel(new K.RBFKernel()).add(new K.ScaleKernel(new K.PeriodicKernel())).mul(new K.MaternKernel({ nu: 1.5 })), 2],
  ["RBF(dim 0) * Index(dim 1)", () => new K.RBFKernel({ activeDims: [0] }).mul(new K.IndexKernel({ numTasks: 3, rank: 2, activeDims: [1] })), 2],
];

async function checkGradient(name: string, make: () => gp.kernels.Kernel, relTol: number, mean: gp.means.Mean): Promise<void> {
  const { x, y } = data(60, 2, 5);
  if (name.includes("Index")) x.forEach((row, i) => (row[1] = i % 3));
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05 });
  const model = new gp.models.ExactGP(x, y, lik, { meanModule: mean, covarModule: make() });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
  // Polynomial's K is nearly rank 6 (power 2, d = 2) plus noise: the MLL's
  // rounding noise over h = 1e-5 moves its offset difference by ~1e-5
  // relative (with and without fused multiply-adds alike; the analytic
  // gradients of the two agree to 1e-12), so it takes h = 1e-4.
  const h = name === "Polynomial" ? 1e-4 : undefined;
  await assertGradientMatchesDifferences(model, mll, { relTol, floor: 1e-2, label: name, h });
}

for (const [name, make] of cases) {
  test(`${name}: MLL gradient matches central differences (fused f64, rel < 1e-5)`, async () => {
    await checkGradient(name, make, 1e-5, new gp.means.ConstantMean({ constant: 0.1 }));
  });
}

test("LinearMean gradient matches central differences", async () => {
  await checkGradient("RBF + LinearMean", () => new K.RBFKernel(), 1e-5, new gp.means.LinearMean({ inputSize: 2 }));
});

test("tfjs (float32) executor: the same gradients within 2e-2 relative", async () => {
  gp.backend.setExecutor("tfjs");
  try {
    for (const [name, make] of cases.slice(0, 6)) {
      const { x, y } = data(60, 2, 5);
      const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05 });
      const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean(), covarModule: make() });
      const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
      model.zeroGrad();
      await mll.evaluateWithGradient();
      const tfGrads = model.parameters().map((p) => Array.from(p.grad));
      gp.backend.setExecutor("fused");
      model.zeroGrad();
      await mll.evaluateWithGradient();
      gp.backend.setExecutor("tfjs");
      model.parameters().forEach((p, k) =>
        p.grad.forEach((g, i) => assert.ok(Math.abs(tfGrads[k][i] - g) <= 2e-2 * Math.max(1e-2, Math.abs(g)), `${name}: tfjs ${tfGrads[k][i]} vs f64 ${g}`)),
      );
    }
  } finally {
    gp.backend.setExecutor(null);
  }
});
