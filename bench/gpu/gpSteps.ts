// The whole GP on the webgpu backend, for a GPU host (bench/gpu/run.sh with
// PART=gp): exact GP training iterations (MLL + gradient: CG with the
// pivoted-Cholesky preconditioner, SLQ, the low-rank gradient pass) at N =
// 1e4, 1e5, 1e6 (d = 3, ScaleKernel(RBF) with ARD), an SVGP step (ELBO +
// gradient, N = 100,000, batch 1,024, M inducing points), and RBF K @ v at
// N = 1e6 through the engine (pack, upload, WGSL, readback, f64 finish).
// Each line says the share of pairs evaluated in WGSL and the seconds spent
// inside reductions, so the CPU-side remainder (preconditioner algebra, CG
// vector updates) is visible. Medians after a warm-up; --max-seconds stops
// repeating a size whose first iteration already took that long.
//
//   GPLAB_BACKEND=webgpu node dist/bench/gpu/gpSteps.js [--exact 1e4,1e5,1e6] [--svgp-m 1024] [--kv 1e6] [--repeats 3] [--max-seconds 120]

import * as gp from "../../lib";
import { pairwiseMatmul } from "../../lib/reductions/engine";
import { sharedF64 } from "../../lib/reductions/fusedExecutor";
import { median } from "../common/stats";

const D = 3;

function arg(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

const emit = (o: object) => console.log(JSON.stringify({ bench: "gpu-gp", backend: gp.backend.info().backend, adapter: gp.backend.info().adapter, ...o }));

/** Reductions seen while `work` runs: all pairs, WGSL pairs, seconds inside reductions. */
async function counted<R>(work: () => Promise<R>): Promise<{ result: R; seconds: number; pairs: number; wgslPairs: number; reductionSeconds: number }> {
  let pairs = 0, wgslPairs = 0, reductionSeconds = 0;
  const stop = gp.reductions.onReport((r) => {
    pairs += r.pairs;
    if (r.code === "wgsl") wgslPairs += r.pairs;
    reductionSeconds += r.seconds;
  });
  const start = performance.now();
  try {
    const result = await work();
    return { result, seconds: (performance.now() - start) / 1000, pairs, wgslPairs, reductionSeconds };
  } finally {
    stop();
  }
}

function uniformPoints(n: number, seed: number): { x: Float64Array; y: Float64Array } {
  const r = new gp.RandomSource(seed);
  const x = sharedF64(n * D);
  for (let i = 0; i < n * D; i++) x[i] = 4 * r.uniform();
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(x[i * D]) + 0.5 * Math.cos(2 * x[i * D + 1]) + 0.1 * r.normal();
  return { x, y };
}

/** Exact GP training iterations (zeroGrad, MLL + gradient) at size n. */
async function exactGp(n: number, repeats: number, maxSeconds: number): Promise<void> {
  const { x, y } = uniformPoints(n, 7);
  const lik = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(gp.algorithms.mat(n, D, x), y, lik, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: D })),
  });
  model.initialize({ "likelihood.noise": 0.05 });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
  gp.setSeed(1);
  const rows: Awaited<ReturnType<typeof counted>>[] = [];
  // Iteration 0 is the warm-up (pipeline compiles, device buffers).
  for (let it = 0; it <= repeats; it++) {
    const r = await counted(async () => {
      model.zeroGrad();
      return (await mll.evaluateWithGradient()).value;
    });
    rows.push(r);
    emit({ case: "exact-gp-iteration", n, d: D, iteration: it, warmup: it === 0, seconds: r.seconds, reductionSeconds: r.reductionSeconds, pairs: r.pairs, wgslShare: r.wgslPairs / r.pairs, mllPerN: r.result, report: mll.lastReport });
    if (r.seconds > maxSeconds) break;
  }
  const timed = rows.slice(1).map((r) => r.seconds);
  if (timed.length) emit({ case: "exact-gp", n, d: D, repeats: timed.length, medianSeconds: median(timed), minSeconds: Math.min(...timed), maxSeconds: Math.max(...timed) });
}

/** SVGP steps: ELBO + gradient on a batch, as gp.train.fit does per batch. */
async function svgpStep(M: number, steps: number): Promise<void> {
  const n = 100_000, batch = 1024;
  const { x, y } = uniformPoints(n, 9);
  const z = Array.from({ length: M }, (_, j) => Array.from(x.subarray(j * D, (j + 1) * D)));
  const model = new gp.models.ApproximateGP({ inducingPoints: z, covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: D })) });
  const lik = new gp.likelihoods.GaussianLikelihood();
  const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: n });
  const seconds: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const b0 = (s * batch) % (n - batch);
    const bx = gp.algorithms.mat(batch, D, Float64Array.from(x.subarray(b0 * D, (b0 + batch) * D)));
    const by = gp.algorithms.mat(batch, 1, Float64Array.from(y.subarray(b0, b0 + batch)));
    const r = await counted(async () => {
      for (const p of elbo.parameters()) p.zeroGrad();
      return (await elbo.evaluateWithGradient(bx, by)).value;
    });
    if (s >= 2) seconds.push(r.seconds);
    emit({ case: "svgp-step", M, batch, n, step: s, warmup: s < 2, seconds: r.seconds, reductionSeconds: r.reductionSeconds, pairs: r.pairs, wgslShare: r.wgslPairs / r.pairs, elbo: r.result });
  }
  emit({ case: "svgp-step-summary", M, batch, n, steps, medianSeconds: median(seconds) });
}

/** RBF K @ v through the engine: pack, upload, the tuned WGSL kernel, readback, f64 finish. */
async function kv(n: number, repeats: number): Promise<void> {
  const { x } = uniformPoints(n, 3);
  const f: gp.reductions.Formula = {
    name: "RBF", n, m: n, terms: [{ coef: 1, factors: [0] }],
    factors: [{ statistic: "sqdist", dims: D, x, y: x, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
  };
  const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
  const seconds: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    const t = await counted(async () => pairwiseMatmul(f, v, 1));
    if (r > 0) seconds.push(t.seconds);
    emit({ case: "rbf-kv-engine", n, repeat: r, warmup: r === 0, seconds: t.seconds, code: gp.reductions.lastReport()?.code });
  }
  emit({ case: "rbf-kv-engine-summary", n, repeats, medianSeconds: median(seconds) });
}

async function main(): Promise<void> {
  const info = await gp.backend.ready();
  emit({ case: "device", info });
  if (info.backend !== "webgpu") console.error(`warning: backend ${info.backend}; run with GPLAB_BACKEND=webgpu`);
  const repeats = Number(arg("repeats", "3"));
  const maxSeconds = Number(arg("max-seconds", "120"));
  for (const n of arg("kv", "1e6").split(",").filter(Boolean).map(Number)) await kv(n, repeats);
  const svgpM = arg("svgp-m", "1024").split(",").filter(Boolean).map(Number);
  for (const M of svgpM) await svgpStep(M, 5);
  for (const n of arg("exact", "1e4,1e5,1e6").split(",").filter(Boolean).map(Number)) await exactGp(n, n >= 1e6 ? 1 : repeats, maxSeconds);
  // Dawn would keep Node alive; everything is printed.
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
