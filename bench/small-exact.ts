// Small exact GPs (the Cholesky path, n <= maxCholeskySize): seconds per
// training iteration and per fit of gp.train.fit, beside GPyTorch 1.12 in
// float64 measured in the same run on the same data from the same initial
// values (bench/peers/gpytorch_dense.py; torch.set_num_threads(2)).
// Model: ConstantMean + ScaleKernel(RBF with ARD), Gaussian likelihood,
// defaults; Adam, lr 0.1. Data, d = 10:
//   n = 50, 100   the first n training points of the diabetes fixture
//   n = 354       scikit-learn's diabetes data (bench/fixtures/diabetes.json:
//                 354 training / 88 test points, standardised)
//   n = 800       seeded synthetic data (diabetes has only 442 points)
// For each n, gplab, gplab with its dense GEMM on one thread (what the GEMM's
// worker threads bring), gplab all on one thread and GPyTorch alternate
// (--repeats fits each), so all see the same machine load. Per-iteration
// times are the medians over every iteration of every timed fit (fit's
// onProgress clock for gplab), also as CPU seconds; ratioCpuOneThread
// compares gplab on one thread with the peer in CPU time, which a machine
// busier than its cores disturbs least (use it with --peer-threads 1). After
// the fit both predict at the test points; the JSON line carries the largest
// mean and variance differences (the two must agree to 1e-6).
// --lbfgs also fits n = 354 with { optimizer: "lbfgs" } until its loss is
// at most Adam's final loss, and reports the seconds of each.
//
// --peer-threads sets torch's thread count (default 2: both cores; on a
// loaded machine torch's two OpenMP threads slow it down several-fold, so
// quote the load average the JSON lines carry, or compare with 1).
//
//   npm run bench -- small-exact [--n 50,100,354,800] [--iterations 50] [--repeats 3] [--lbfgs] [--adam-iterations 200] [--no-peer] [--peer-threads 2]

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as gp from "../lib";
import { setGemmThreads } from "../lib/algorithms/wasmGemm";
import { arg } from "./common/args";
import { GPYTORCH_DENSE, peerEnv } from "./common/peers";
import { median } from "./common/stats";

interface Dataset {
  label: string;
  trainX: number[][];
  trainY: number[];
  testX: number[][];
}

const FIXTURE = path.join(__dirname, "..", "..", "bench", "fixtures", "diabetes.json");
const D = 10;

function dataset(n: number): Dataset {
  const diabetes = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Dataset;
  if (n <= diabetes.trainX.length) {
    return { label: n === diabetes.trainX.length ? "diabetes" : `diabetes[0:${n}]`, trainX: diabetes.trainX.slice(0, n), trainY: diabetes.trainY.slice(0, n), testX: diabetes.testX };
  }
  // Seeded synthetic inputs ~ N(0, 1)^10, a smooth target plus noise, 100 test points.
  const r = new gp.RandomSource(17);
  const point = () => Array.from({ length: D }, () => r.normal());
  const f = (x: number[]) => Math.sin(x[0]) + 0.5 * Math.cos(2 * x[1]) + 0.3 * x[2] * x[3] + 0.2 * x[4];
  const trainX = Array.from({ length: n }, point);
  const trainY = trainX.map((x) => f(x) + 0.1 * r.normal());
  return { label: "synthetic", trainX, trainY, testX: Array.from({ length: 100 }, point) };
}

function makeModel(data: Dataset) {
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(data.trainX, data.trainY, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: D })),
  });
  return { model, likelihood, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

/**
 * One Adam fit from the defaults: per-iteration seconds (onProgress clock)
 * and CPU seconds (the process's, worker threads included), the fit's
 * seconds, the model.
 */
async function gplabFit(data: Dataset, iterations: number, lr: number) {
  const { model, mll } = makeModel(data);
  const stamps: number[] = [];
  const cpuStamps: number[] = [];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const run = await gp.train.fit(model, mll, {
    iterations, lr, live: false,
    onProgress: (p) => {
      stamps.push(p.seconds);
      const c = process.cpuUsage(c0);
      cpuStamps.push((c.user + c.system) / 1e6);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const perIteration = stamps.map((s, i) => s - (i ? stamps[i - 1] : 0));
  const cpuPerIteration = cpuStamps.slice(1).map((s, i) => s - cpuStamps[i]);
  return { model, run, seconds, perIteration, cpuPerIteration };
}

/** f with the GEMM and the fused reductions on one thread. */
async function onOneThread<T>(f: () => Promise<T>): Promise<T> {
  const before = setGemmThreads(1);
  const env = process.env.GPLAB_THREADS;
  process.env.GPLAB_THREADS = "1";
  try {
    return await f();
  } finally {
    setGemmThreads(before);
    if (env === undefined) delete process.env.GPLAB_THREADS;
    else process.env.GPLAB_THREADS = env;
  }
}

interface PeerResult {
  medianSecondsPerIteration: number;
  medianSecondsPerFit: number;
  /** CPU seconds (time.process_time) per iteration. */
  medianCpuSecondsPerIteration: number;
  /** The loss at the last iteration (before its step). */
  lastIterationLoss: number;
  mean: number[];
  variance: number[];
  version: string;
  torch: string;
  threads: number;
}

/** GPyTorch's numbers for the same data, or the reason there are none. */
function peer(data: Dataset, iterations: number, repeats: number, lr: number): PeerResult | { skipped: string } {
  const file = path.join(os.tmpdir(), `gplab-small-exact-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...data, iterations, repeats, lr }));
  try {
    const r = spawnSync("/usr/bin/python3", [GPYTORCH_DENSE, "small-exact", "--data", file, "--threads", arg("peer-threads", "2")], { encoding: "utf8", maxBuffer: 64 << 20, env: peerEnv() });
    if (r.status !== 0) return { skipped: `GPyTorch not available (${(r.stderr || String(r.error)).trim().split("\n").pop()}); see /work/shared/PEERS.md` };
    return JSON.parse(r.stdout.trim().split("\n").pop() as string) as PeerResult;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function sizeCase(n: number, iterations: number, repeats: number, lr: number, withPeer: boolean) {
  const data = dataset(n);
  await gplabFit(data, Math.min(iterations, 5), lr); // warm-up (JIT, WebAssembly compilation, arena growth)
  const gplabIterations: number[] = [];
  const gplabCpu: number[] = [];
  const gplabFits: number[] = [];
  const oneIterations: number[] = [];
  const oneCpu: number[] = [];
  const peerCpu: number[] = [];
  let last: Awaited<ReturnType<typeof gplabFit>> | null = null;
  let peerResult: PeerResult | { skipped: string } | null = null;
  const peerIterations: number[] = [];
  const peerFits: number[] = [];
  const oneThreadIterations: number[] = [];
  for (let r = 0; r < repeats; r++) {
    last = await gplabFit(data, iterations, lr);
    gplabIterations.push(...last.perIteration);
    gplabCpu.push(...last.cpuPerIteration);
    gplabFits.push(last.seconds);
    const before = setGemmThreads(1);
    try {
      oneThreadIterations.push(...(await gplabFit(data, iterations, lr)).perIteration);
    } finally {
      setGemmThreads(before);
    }
    const one = await onOneThread(() => gplabFit(data, iterations, lr));
    oneIterations.push(...one.perIteration);
    oneCpu.push(...one.cpuPerIteration);
    if (withPeer && !(peerResult && "skipped" in peerResult)) {
      peerResult = peer(data, iterations, 1, lr);
      if (!("skipped" in peerResult)) {
        peerIterations.push(peerResult.medianSecondsPerIteration);
        peerFits.push(peerResult.medianSecondsPerFit);
        peerCpu.push(peerResult.medianCpuSecondsPerIteration);
      }
    }
  }
  const fitted = last!;
  const prediction = await fitted.model.predict(data.testX);
  const line: Record<string, unknown> = {
    bench: "small-exact", n, d: D, data: data.label, iterations, repeats, lr,
    threads: gp.backend.info().threads, loadAverage1m: os.loadavg()[0],
    gplab: { medianSecondsPerIteration: median(gplabIterations), medianCpuSecondsPerIteration: median(gplabCpu), medianSecondsPerFit: median(gplabFits), lastIterationLoss: fitted.run.history[fitted.run.history.length - 1].loss },
    gplabGemmOneThread: { medianSecondsPerIteration: median(oneThreadIterations) },
    gplabOneThread: { medianSecondsPerIteration: median(oneIterations), medianCpuSecondsPerIteration: median(oneCpu) },
  };
  if (peerResult && "skipped" in peerResult) line.gpytorch = peerResult;
  else if (peerResult) {
    const p = peerResult;
    let dMean = 0, dVar = 0;
    p.mean.forEach((m, i) => (dMean = Math.max(dMean, Math.abs(m - prediction.meanF64[i]))));
    p.variance.forEach((v, i) => (dVar = Math.max(dVar, Math.abs(v - prediction.varianceF64[i]))));
    // Per-iteration: the median of each peer fit's median (the peer reports per fit).
    line.gpytorch = {
      version: p.version, torch: p.torch, dtype: "float64", threads: p.threads,
      medianSecondsPerIteration: median(peerIterations), medianSecondsPerFit: median(peerFits), medianCpuSecondsPerIteration: median(peerCpu), lastIterationLoss: p.lastIterationLoss,
    };
    line.ratioPerIteration = median(gplabIterations) / median(peerIterations);
    // Both on one thread, CPU time: what a busy machine disturbs least (preemption does not count).
    line.ratioCpuOneThread = median(oneCpu) / median(peerCpu);
    line.ratioPerFit = median(gplabFits) / median(peerFits);
    line.maxMeanDiff = dMean;
    line.maxVarianceDiff = dVar;
  }
  return line;
}

/** Adam for adamIterations, then L-BFGS until its loss is at most Adam's final loss: seconds of each. */
async function lbfgsCase(n: number, adamIterations: number, lr: number) {
  const data = dataset(n);
  const adam = await gplabFit(data, adamIterations, lr);
  const target = adam.run.finalLoss;
  const { model, mll } = makeModel(data);
  const controller = new AbortController();
  let reachedAt = Number.NaN;
  let evaluations = 0;
  const counting = {
    evaluate: (o?: { solve?: gp.algorithms.SolveOptions }) => mll.evaluate(o),
    evaluateWithGradient: (o?: { solve?: gp.algorithms.SolveOptions }) => {
      evaluations++;
      return mll.evaluateWithGradient(o);
    },
  };
  const t0 = performance.now();
  const run = await gp.train.fit(model, counting, {
    optimizer: "lbfgs", iterations: 200, live: false, signal: controller.signal,
    // p.loss is the loss before iteration p.iteration's step; stop once it reaches Adam's.
    onProgress: (p) => {
      if (p.loss <= target && Number.isNaN(reachedAt)) {
        reachedAt = p.iteration;
        controller.abort();
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    bench: "small-exact", case: "lbfgs-vs-adam", n, d: D, data: data.label,
    adam: { iterations: adamIterations, lr, seconds: adam.seconds, finalLoss: target },
    lbfgs: { iterations: run.history.length, evaluations, seconds, finalLoss: run.finalLoss, reachedAdamLoss: !Number.isNaN(reachedAt) || run.finalLoss <= target },
    speedup: adam.seconds / seconds,
  };
}

async function main(): Promise<void> {
  const sizes = arg("n", "50,100,354,800").split(",").map(Number);
  const iterations = Number(arg("iterations", "50"));
  const repeats = Number(arg("repeats", "3"));
  const lr = Number(arg("lr", "0.1"));
  const withPeer = !process.argv.includes("--no-peer");
  for (const n of sizes) console.log(JSON.stringify(await sizeCase(n, iterations, repeats, lr, withPeer)));
  if (process.argv.includes("--lbfgs")) console.log(JSON.stringify(await lbfgsCase(354, Number(arg("adam-iterations", "200")), lr)));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
