// Exact GP prediction cost on the iterative path (n > maxCholeskySize): mean
// and variance at 1,000 test points, cold (a fresh model each run, so the
// training solve and the variance caches are built inside the timing), for
// each variance method, against an exact dense f64 Cholesky reference.
// "auto" is model.predict with no options (the default). "gpytorch" is
// GPyTorch 1.12's default cold prediction of the same model and data in the
// same run (bench/peers/gpytorch_predict.py: eval mode, model(xt).mean /
// .variance, no fast_pred_var; torch.set_num_threads = this machine's
// threads), with its errors against the same reference; skipped with a
// message when `import gpytorch` fails (GPyTorch from source: GPLAB_PEERS,
// default /work/peers). Its line carries the ratio of the "auto" median to
// GPyTorch's when both ran.
//
// The reference (dense K + noise, Cholesky, one triangular solve for all test
// points: ~1 min at n = 5,000, ~8 min at n = 10,000 on the 2-core machine) is
// computed once in its own child process and cached in the OS temp folder,
// keyed by the case; `--reference-max 5000` skips it above that size (errors
// are then null and only the times are reported).
// Each case runs in its own child process so its peak RSS is its own.
// Prints one JSON line per (n, method).
//
//   npm run bench -- predict [--sizes 5000] [--test 1000] [--methods auto,pivoted,gpytorch,cg,love,...]
//     [--lengthscale 1] [--outputscale 1] [--noise 0.01] [--repeats 5] [--peer-repeats 3] [--reference-max 10000]
// (--lengthscale 0.693 --outputscale 0.693 --noise 0.693 are GPyTorch's initial values.)

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as gp from "../lib";
import { sharedF64 } from "../lib/reductions/fusedExecutor";
import { choleskySolve, choleskyWithJitter, solveLower } from "../lib/algorithms/cholesky";
import { type Mat, mat } from "../lib/algorithms/matrix";
import type { PredictOptions } from "../lib/models/ExactGP";
import { arg } from "./common/args";
import { median } from "./common/stats";
import { peerEnv } from "./common/peers";

interface Setup {
  n: number;
  testPoints: number;
  lengthscale: number;
  outputscale: number;
  noise: number;
}

interface Result {
  bench: "predict";
  case: string;
  n: number;
  d: number;
  testPoints: number;
  method: string;
  hyperparameters: { lengthscale: number; outputscale: number; noise: number };
  executor: string;
  backend: string;
  threads: number;
  runs: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** Against the dense Cholesky reference (null when it was not computed). */
  varianceMaxAbsError: number | null;
  varianceMaxRelError: number | null;
  varianceMeanAbsError: number | null;
  varianceMeanRelError: number | null;
  meanMaxAbsError: number | null;
  /** Range of the exact variances, for scale. */
  referenceVarianceMin: number | null;
  referenceVarianceMax: number | null;
  /** What the training solve reported (iterations, rank, ...). */
  report: unknown;
  peakRssBytes: number;
  /** The machine's 1-minute load average at the end (noisy machines: compare within a run). */
  loadAverage1m: number;
}

const D = 3;

/** Methods run by default (the rest by --methods; cg and love are slow, see bench/README.md). */
const DEFAULT_METHODS = ["auto", "pivoted", "gpytorch"];

const PEER = path.join(__dirname, "..", "..", "bench", "peers", "gpytorch_predict.py");

/**
 * Methods: the PredictOptions each one passes, and for CG per test point a
 * smaller test set (1,000 points at noise 0.01 would take hours: every CG
 * step multiplies K by all of them); its errors and time are for those points.
 */
const METHODS: Record<string, { options: PredictOptions; testPoints?: number }> = {
  auto: { options: {} },
  cg: { options: { varianceMethod: "cg" }, testPoints: 16 },
  love: { options: { fastPredVar: true } },
  pivoted: { options: { varianceMethod: "pivotedCholesky" } },
  "pivoted-1e-4": { options: { varianceMethod: "pivotedCholesky", varianceTolerance: 1e-4 } },
  "pivoted-3e-4": { options: { varianceMethod: "pivotedCholesky", varianceTolerance: 3e-4 } },
  "pivoted-3e-3": { options: { varianceMethod: "pivotedCholesky", varianceTolerance: 3e-3 } },
  "pivoted-1e-2": { options: { varianceMethod: "pivotedCholesky", varianceTolerance: 1e-2 } },
};


/** Training inputs [n, d] uniform on [0, 4]^3 (as bench/exact-gp), targets, and test inputs [t, d]. */
function dataset(s: Setup): { x: Mat; y: Float64Array; xt: Mat } {
  const r = new gp.RandomSource(7);
  const x = mat(s.n, D, sharedF64(s.n * D));
  for (let i = 0; i < s.n * D; i++) x.data[i] = 4 * r.uniform();
  const y = new Float64Array(s.n);
  for (let i = 0; i < s.n; i++) y[i] = Math.sin(x.data[i * D]) + 0.5 * Math.cos(2 * x.data[i * D + 1]) + 0.1 * r.normal();
  const rt = new gp.RandomSource(11);
  const xt = mat(s.testPoints, D);
  for (let i = 0; i < xt.data.length; i++) xt.data[i] = 4 * rt.uniform();
  return { x, y, xt };
}

function makeModel(s: Setup, x: Mat, y: Float64Array) {
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(x, y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: D })),
  });
  model.initialize({
    "likelihood.noise": s.noise,
    "covarModule.outputscale": s.outputscale,
    "covarModule.baseKernel.lengthscale": [s.lengthscale, s.lengthscale, s.lengthscale],
  });
  return model;
}

function referencePath(s: Setup): string {
  return path.join(os.tmpdir(), `gplab-predict-ref-${s.n}-${s.testPoints}-${s.lengthscale}-${s.outputscale}-${s.noise}.f64`);
}

/** Exact mean and variance of f by dense f64 Cholesky; written as [mean; variance]. */
function computeReference(s: Setup): void {
  const { x, y, xt } = dataset(s);
  const model = makeModel(s, x, y);
  const n = s.n, t = s.testPoints;
  const sys = model.trainingSystem();
  // The dense copy is dropped once factored (n = 10,000: 800 MB each).
  const L = choleskyWithJitter(sys.covariance.toDenseF64({ maxBytes: 2 ** 32 }), "reference K + noise").L;
  const alpha = choleskySolve(L, mat(n, 1, sys.residual)).data;
  const joint = mat(n + t, D);
  joint.data.set(x.data);
  joint.data.set(xt.data, n * D);
  const prior = model.forward(joint);
  const testIdx = Int32Array.from({ length: t }, (_, i) => n + i);
  const rows = prior.lazyCovarianceMatrix.rowsF64(testIdx); // [t, n + t]
  const Kxt = mat(n, t);
  const out = new Float64Array(2 * t);
  for (let c = 0; c < t; c++) {
    let m = prior.meanF64[n + c];
    for (let i = 0; i < n; i++) {
      Kxt.data[i * t + c] = rows.data[c * (n + t) + i];
      m += rows.data[c * (n + t) + i] * alpha[i];
    }
    out[c] = m;
  }
  const V = solveLower(L, Kxt);
  for (let c = 0; c < t; c++) {
    let q = 0;
    for (let i = 0; i < n; i++) q += V.data[i * t + c] ** 2;
    out[t + c] = rows.data[c * (n + t) + n + c] - q;
  }
  fs.writeFileSync(referencePath(s), Buffer.from(out.buffer));
}

function readReference(s: Setup): { mean: Float64Array; variance: Float64Array } | null {
  const file = referencePath(s);
  if (!fs.existsSync(file)) return null;
  const buf = fs.readFileSync(file);
  const all = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { mean: all.subarray(0, s.testPoints), variance: all.subarray(s.testPoints) };
}


type Errors = Pick<Result, "varianceMaxAbsError" | "varianceMaxRelError" | "varianceMeanAbsError" | "varianceMeanRelError" | "meanMaxAbsError">;

/** Errors of predictions [testPoints] against the reference (nulls without one). */
function errors(m: ArrayLike<number> | null, v: ArrayLike<number> | null, ref: { mean: Float64Array; variance: Float64Array } | null, testPoints: number): Errors {
  if (!ref || !m || !v) return { varianceMaxAbsError: null, varianceMaxRelError: null, varianceMeanAbsError: null, varianceMeanRelError: null, meanMaxAbsError: null };
  let maxAbs = 0, maxRel = 0, sumAbs = 0, sumRel = 0, meanAbs = 0;
  for (let i = 0; i < testPoints; i++) {
    const e = Math.abs(v[i] - ref.variance[i]);
    maxAbs = Math.max(maxAbs, e);
    maxRel = Math.max(maxRel, e / ref.variance[i]);
    sumAbs += e;
    sumRel += e / ref.variance[i];
    meanAbs = Math.max(meanAbs, Math.abs(m[i] - ref.mean[i]));
  }
  return { varianceMaxAbsError: maxAbs, varianceMaxRelError: maxRel, varianceMeanAbsError: sumAbs / testPoints, varianceMeanRelError: sumRel / testPoints, meanMaxAbsError: meanAbs };
}

/**
 * GPyTorch's default cold prediction of the same problem (bench/peers/gpytorch_predict.py),
 * or a line saying why it was skipped.
 */
function runPeer(s: Setup, repeats: number): Record<string, unknown> {
  const { x, y, xt } = dataset(s);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gplab-predict-peer-"));
  const threads = gp.backend.info().threads;
  try {
    fs.writeFileSync(path.join(dir, "x.f64"), Buffer.from(x.data.slice().buffer));
    fs.writeFileSync(path.join(dir, "y.f64"), Buffer.from(y.buffer));
    fs.writeFileSync(path.join(dir, "xt.f64"), Buffer.from(xt.data.buffer));
    fs.writeFileSync(path.join(dir, "setup.json"), JSON.stringify({ n: s.n, t: s.testPoints, d: D, noise: s.noise, outputscale: s.outputscale, lengthscale: s.lengthscale, threads }));
    const r = spawnSync("/usr/bin/python3", [PEER, dir, String(repeats)], { encoding: "utf8", maxBuffer: 256 << 20, env: peerEnv() });
    const base = { bench: "predict", case: "mean+variance cold", n: s.n, d: D, testPoints: s.testPoints, method: "gpytorch", hyperparameters: { lengthscale: s.lengthscale, outputscale: s.outputscale, noise: s.noise } };
    if (r.status !== 0) {
      const why = (r.stderr || String(r.error ?? "")).trim().split("\n").pop();
      return { ...base, skipped: `GPyTorch not importable (${why}); set GPLAB_PEERS to a folder with gpytorch, linear_operator, jaxtyping` };
    }
    const p = JSON.parse(r.stdout.trim().split("\n").pop() as string) as { mean: number[]; variance: number[]; [k: string]: unknown };
    const { mean, variance, ...timing } = p;
    return { ...base, ...timing, runs: repeats, ...errors(mean, variance, readReference(s), s.testPoints), loadAverage1m: os.loadavg()[0] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runCase(method: string, s: Setup, repeats: number): Promise<Result> {
  const { x, y, xt: allTest } = dataset(s);
  const { options, testPoints = s.testPoints } = METHODS[method];
  const xt = mat(testPoints, D, allTest.data.subarray(0, testPoints * D));
  const times: number[] = [];
  let prediction: gp.models.Prediction | null = null;
  let report: unknown = null;
  for (let run = 0; run < repeats; run++) {
    gp.setSeed(run + 1);
    const model = makeModel(s, x, y);
    const start = performance.now();
    prediction = await model.predict(xt, options);
    times.push((performance.now() - start) / 1000);
    report = { prediction: model.lastPredictionReport, trainingSolve: model.trainingSolve().covariance.lastSolveReport ?? null };
  }
  const ref = readReference(s);
  const err = prediction ? errors(prediction.meanF64, prediction.varianceF64, ref, testPoints) : errors(null, null, null, testPoints);
  const info = gp.backend.info();
  return {
    bench: "predict",
    case: "mean+variance cold",
    n: s.n,
    d: D,
    testPoints,
    method,
    hyperparameters: { lengthscale: s.lengthscale, outputscale: s.outputscale, noise: s.noise },
    executor: info.executor,
    backend: info.backend,
    threads: info.threads,
    runs: repeats,
    medianSeconds: median(times),
    minSeconds: Math.min(...times),
    maxSeconds: Math.max(...times),
    ...err,
    referenceVarianceMin: ref ? Math.min(...ref.variance) : null,
    referenceVarianceMax: ref ? Math.max(...ref.variance) : null,
    report,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loadAverage1m: os.loadavg()[0],
  };
}

async function main(): Promise<void> {
  const base = {
    testPoints: Number(arg("test", "1000")),
    lengthscale: Number(arg("lengthscale", "1")),
    outputscale: Number(arg("outputscale", "1")),
    noise: Number(arg("noise", "0.01")),
  };
  const repeats = Number(arg("repeats", "5"));
  const child = arg("case", "");
  if (child) {
    const s = { ...base, n: Number(arg("n", "5000")) };
    if (child === "reference") computeReference(s);
    else console.log(JSON.stringify(await runCase(child, s, repeats)));
    return;
  }
  const sizes = arg("sizes", "5000").split(",").map(Number);
  const methods = arg("methods", DEFAULT_METHODS.join(",")).split(",");
  for (const m of methods) if (!METHODS[m] && m !== "gpytorch") throw new Error(`unknown method ${m}; methods: ${[...Object.keys(METHODS), "gpytorch"].join(", ")}`);
  const referenceMax = Number(arg("reference-max", "10000"));
  const peerRepeats = Number(arg("peer-repeats", "3"));
  const passOn = ["--test", String(base.testPoints), "--lengthscale", String(base.lengthscale), "--outputscale", String(base.outputscale), "--noise", String(base.noise), "--repeats", String(repeats)];
  for (const n of sizes) {
    const s = { ...base, n };
    if (n <= referenceMax && !fs.existsSync(referencePath(s))) {
      execFileSync(process.execPath, [__filename, "--case", "reference", "--n", String(n), ...passOn], { stdio: ["ignore", "inherit", "inherit"] });
    }
    const medians: Record<string, number> = {};
    for (const m of methods) {
      if (m === "gpytorch") {
        const line = runPeer(s, peerRepeats);
        if (typeof line.medianSeconds === "number" && medians.auto !== undefined) line.autoOverGpytorch = medians.auto / line.medianSeconds;
        if (line.skipped) console.error(`# predict: GPyTorch peer skipped: ${line.skipped}`);
        console.log(JSON.stringify(line));
        continue;
      }
      const out = execFileSync(process.execPath, [__filename, "--case", m, "--n", String(n), ...passOn], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      const lines = out.trim().split("\n").filter((l) => l.startsWith("{"));
      for (const l of lines) medians[m] = (JSON.parse(l) as Result).medianSeconds;
      process.stdout.write(lines.join("\n") + "\n");
    }
  }
}

void main();
