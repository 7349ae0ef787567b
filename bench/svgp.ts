// SVGP on N = 100,000 1-D points vs an exact GP on a 5,000-point subset of
// the same data: test RMSE against the noise-free function for both, seconds
// per epoch for the SVGP (minibatches of 1,024, 64 learned inducing points),
// seconds for the exact fit. Prints one JSON line per model.
//
//   npm run bench -- svgp [--n 100000] [--epochs 5] [--batch 1024] [--inducing 64] [--lr 0.02] [--exact-n 5000 (0: skip)] [--exact-iterations 60]

import * as gp from "../lib";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
const num = (k: string, d: number) => (args.has(k) ? Number(args.get(k)) : d);
const N = num("n", 100_000), EPOCHS = num("epochs", 5), BATCH = num("batch", 1024), M = num("inducing", 64);
const EXACT_N = num("exact-n", 5000), EXACT_IT = num("exact-iterations", 60), LR = num("lr", 0.02);

const f = (x: number) => Math.sin(x) + 0.3 * Math.sin(3 * x);
const { mat } = gp.algorithms;

function data() {
  gp.setSeed(2024);
  const r = new gp.RandomSource(7);
  const x = mat(N, 1), y = mat(N, 1);
  for (let i = 0; i < N; i++) {
    x.data[i] = 10 * r.uniform();
    y.data[i] = f(x.data[i]) + 0.2 * r.normal();
  }
  const xt = mat(2000, 1, Float64Array.from({ length: 2000 }, (_, i) => (10 * i) / 1999));
  return { x, y, xt };
}

function rmse(mean: Float64Array, xt: gp.algorithms.Mat): number {
  let s = 0;
  for (let i = 0; i < xt.rows; i++) s += (mean[i] - f(xt.data[i])) ** 2;
  return Math.sqrt(s / xt.rows);
}

async function main() {
  const { x, y, xt } = data();
  const info = gp.backend.info();

  // SVGP on all N points.
  const model = new gp.models.ApproximateGP({ inducingPoints: Array.from({ length: M }, (_, j) => [(10 * j) / (M - 1)]) });
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const elbo = new gp.mlls.VariationalELBO(likelihood, model, { numData: N });
  const epochEnds: number[] = [];
  let lastEpoch = 0;
  const t0 = performance.now();
  const run = await gp.train.fit(model, elbo, {
    x, y, batchSize: BATCH, epochs: EPOCHS, lr: LR, live: false,
    onProgress: (p) => {
      if (p.epoch !== lastEpoch) epochEnds.push(p.seconds);
      lastEpoch = p.epoch ?? 0;
    },
  });
  const trainSeconds = run.seconds;
  const total = (performance.now() - t0) / 1000;
  const p = (await model.predict(xt)) as gp.models.Prediction;
  console.log(JSON.stringify({
    bench: "svgp", model: "svgp", n: N, inducing: M, batchSize: BATCH, epochs: EPOCHS, lr: LR, steps: run.history.length,
    secondsPerEpoch: trainSeconds / EPOCHS, trainSeconds, secondsWithFinalElbo: total,
    testRmse: rmse(p.meanF64, xt), finalElboPerN: -run.finalLoss, noise: likelihood.noise,
    backend: info.backend, executor: info.executor,
  }));

  if (EXACT_N <= 0) return;
  // Exact GP on the first EXACT_N points (a uniform random subset: x was drawn i.i.d.).
  const xs = mat(EXACT_N, 1, x.data.slice(0, EXACT_N));
  const ys = y.data.slice(0, EXACT_N);
  const lik = new gp.likelihoods.GaussianLikelihood();
  const exact = new gp.models.ExactGP(xs, ys, lik, { meanModule: new gp.means.ConstantMean(), covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()) });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, exact);
  const t1 = performance.now();
  const er = await gp.train.fit(exact, mll, { iterations: EXACT_IT, lr: 0.1, live: false });
  const exactSeconds = (performance.now() - t1) / 1000;
  const pe = await exact.predict(xt);
  console.log(JSON.stringify({
    bench: "svgp", model: "exact", n: EXACT_N, iterations: EXACT_IT, seconds: exactSeconds, secondsPerIteration: exactSeconds / EXACT_IT,
    testRmse: rmse(pe.meanF64, xt), finalMllPerN: -er.finalLoss, noise: lik.noise, solve: mll.lastReport?.method,
    backend: info.backend, executor: info.executor,
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
