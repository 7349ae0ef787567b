// The scenario gplab was born from, run in its own process so its peak RSS is
// its own: an LMC multitask SVGP (4 tasks, 3 latents, 64 inducing points)
// trained with minibatches of 1,024 on N = 100,000 points. Records every
// lazy kernel diagonal() call and every reduction's size, and prints one
// JSON line for test/svgp-seed-scenario.test.ts.

import * as gp from "../../lib";
import { KernelLinearOperator } from "../../lib/operators/KernelLinearOperator";
import { rng } from "./reference";

const N = 100_000, B = 1024, T = 4, Q = 3, M = 64;
const { mat } = gp.algorithms;

const diagCalls: { shape: number[]; length: number }[] = [];
const original = KernelLinearOperator.prototype.diagonalF64;
KernelLinearOperator.prototype.diagonalF64 = function (this: KernelLinearOperator) {
  const out = original.call(this);
  diagCalls.push({ shape: [...this.shape], length: out.length });
  return out;
};
let maxPairs = 0, maxSide = 0;
const ops = new Set<string>();
gp.reductions.onReport((r) => {
  maxPairs = Math.max(maxPairs, r.pairs);
  maxSide = Math.max(maxSide, Math.min(r.n, r.m));
  ops.add(r.operation);
});

async function main() {
  gp.setSeed(11);
  const r = rng(17);
  const x = mat(N, 1);
  const y = mat(N, T);
  for (let i = 0; i < N; i++) {
    const v = r() * 10;
    x.data[i] = v;
    const s = Math.sin(v), c = Math.cos(v);
    const f = [s, c, s + 2 * c, -c];
    for (let t = 0; t < T; t++) y.data[i * T + t] = f[t] + 0.2 * (r() - 0.5);
  }
  const model = new gp.models.ApproximateGP({
    inducingPoints: Array.from({ length: Q }, (_, q) => Array.from({ length: M }, (_, j) => [(10 * j) / (M - 1) + 0.01 * q])),
    variationalDistribution: "cholesky",
    batchShape: [Q],
    variationalStrategy: { kind: "lmc", numLatents: Q, numTasks: T },
    meanModule: new gp.means.ConstantMean({ batchShape: [Q] }),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ batchShape: [Q] }), { batchShape: [Q] }),
  });
  const likelihood = new gp.likelihoods.MultitaskGaussianLikelihood({ numTasks: T });
  const elbo = new gp.mlls.VariationalELBO(likelihood, model, { numData: N });

  // One training step by hand on the first minibatch: objective, gradient, and the diag calls it made.
  const idx = Int32Array.from({ length: B }, (_, i) => i * 97);
  const xb = mat(B, 1, Float64Array.from(idx, (i) => x.data[i]));
  const yb = mat(B, T);
  idx.forEach((i, a) => yb.data.set(y.data.subarray(i * T, (i + 1) * T), a * T));
  model.zeroGrad();
  likelihood.zeroGrad();
  const step = await elbo.evaluateWithGradient(xb, yb);
  const stepDiag = diagCalls.splice(0);
  const lengthscaleGrad = Array.from((model.covarModule as gp.kernels.ScaleKernel).baseKernel.parameters()[0].grad);
  const outputscaleGrad = Array.from((model.covarModule as gp.kernels.ScaleKernel).rawOutputscale.grad);

  // Then gp.train.fit with minibatches: 5 steps, then the objective over all N.
  const t0 = performance.now();
  const epochs: number[] = [];
  const run = await gp.train.fit(model, elbo, { x, y, batchSize: B, iterations: 5, lr: 0.01, live: false, onProgress: (p) => epochs.push(p.epoch ?? -1) });
  const seconds = (performance.now() - t0) / 1000;
  const fitDiag = diagCalls.splice(0);
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      value: step.value,
      stepDiag,
      lengthscaleGrad,
      outputscaleGrad,
      fitDiagLengths: fitDiag.map((d) => d.length),
      losses: run.losses,
      finalLoss: run.finalLoss,
      epochs,
      seconds,
      maxPairs,
      maxSide,
      ops: [...ops],
      maxRssMB: usage.maxRSS / 1024,
    }) + "\n",
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
