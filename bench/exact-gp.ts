// Exact GP training cost on the iterative path: one MLL + gradient
// evaluation, and 5 Adam iterations, at N = 10,000, d = 3 (CG + SLQ, gradient
// from the probe solves through one low-rank bilinear reduction; nothing
// n x n is stored: the dense cache for CG is off above its 256 MiB budget).
// Each case runs in its own child process so its peak RSS is its own.
// Prints one JSON line per case.
//
//   npm run bench -- exact-gp [--n 10000] [--d 3] [--executor fused|tfjs] [--cg-tolerance 1e-2 (the MLL's training default)]

import { execFileSync } from "node:child_process";
import * as gp from "../lib";

interface Result {
  bench: "exact-gp";
  case: "mll+grad" | "adam5";
  n: number;
  d: number;
  executor: string;
  backend: string;
  threads: number;
  seconds: number;
  /** Seconds per MLL + gradient evaluation. */
  secondsPerEvaluation: number;
  evaluations: number;
  mllPerN: number;
  cgIterations: number | null;
  cgTolerance: number;
  peakRssBytes: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function dataset(n: number, d: number): { x: Float64Array; y: Float64Array } {
  const r = new gp.RandomSource(7);
  const x = gp.reductions.sharedF64(n * d);
  for (let i = 0; i < n * d; i++) x[i] = 4 * r.uniform();
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(x[i * d]) + (d > 1 ? 0.5 * Math.cos(2 * x[i * d + 1]) : 0) + 0.1 * r.normal();
  return { x, y };
}

async function runCase(kind: Result["case"], n: number, d: number, executor: string, cgTolerance: number): Promise<Result> {
  if (executor === "tfjs" || executor === "fused") gp.backend.setExecutor(executor);
  const { x, y } = dataset(n, d);
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP({ rows: n, cols: d, data: x }, y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: d })),
    solve: { cgTolerance },
  });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(likelihood, model);
  gp.setSeed(1);
  const start = performance.now();
  let value: number;
  let evaluations: number;
  if (kind === "mll+grad") {
    value = (await mll.evaluateWithGradient()).value;
    evaluations = 1;
  } else {
    const run = await gp.train.fit(model, mll, { iterations: 5, lr: 0.1, live: false });
    value = -run.losses[run.losses.length - 1];
    evaluations = 5;
  }
  // adam5 includes fit's final value-only evaluation.
  const seconds = (performance.now() - start) / 1000;
  const report = mll.lastReport;
  const info = gp.backend.info();
  return {
    bench: "exact-gp",
    case: kind,
    n,
    d,
    executor: info.executor,
    backend: info.backend,
    threads: info.threads,
    seconds,
    secondsPerEvaluation: seconds / evaluations,
    evaluations,
    mllPerN: value,
    cgIterations: report && "iterations" in report ? report.iterations : null,
    cgTolerance,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function main(): Promise<void> {
  const n = Number(arg("n", "10000"));
  const d = Number(arg("d", "3"));
  const executor = arg("executor", "default");
  const cgTolerance = Number(arg("cg-tolerance", String(gp.mlls.TRAINING_CG_TOLERANCE)));
  const child = arg("case", "");
  if (child) {
    console.log(JSON.stringify(await runCase(child as Result["case"], n, d, executor, cgTolerance)));
    return;
  }
  for (const kind of ["mll+grad", "adam5"]) {
    const args = [__filename, "--case", kind, "--n", String(n), "--d", String(d), "--executor", executor, "--cg-tolerance", String(cgTolerance)];
    const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    process.stdout.write(out.trim().split("\n").filter((l) => l.startsWith("{")).join("\n") + "\n");
  }
}

void main();
