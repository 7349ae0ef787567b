// Exact GP training iterations on the iterative path (the issue's "forward,
// MLL, backward, Adam" step) at N = 5,000 and 10,000, d = 3, RBF with ARD in
// a ScaleKernel, Gaussian likelihood, constant mean: CG + SLQ with probes, the
// gradient from the probe solves through one low-rank bilinear reduction,
// nothing n x n stored.
//
// Two configurations, each in its own child process (so peak RSS is its own)
// and measured in the same run so their ratio is stable on a noisy machine:
//   gplab     the defaults: WebAssembly SIMD kernels for K @ V and the
//             gradient pass, "auto" preconditioner rank, training tolerances
//             (solve 1e-3, probes 1e-2)
//   sum       the defaults with ScaleKernel(RBF) + ScaleKernel(Matern 5/2)
//             (both ARD): the composition the formula compiler runs in
//             WebAssembly too (issue 13: within 2x of the RBF iteration)
//   baseline  the same algorithm the plain way: generated JavaScript loops
//             (GPLAB_FUSED_WASM=0) and GPyTorch's solver defaults (rank-15
//             preconditioner, tolerance 1e-2 for every column)
// Each iteration is timed on its own: one warm-up iteration, then --repeats.
// Prints one JSON line per (n, configuration).
//
//   npm run bench -- exact-gp [--n 5000,10000] [--repeats 5] [--baseline-repeats 5 at N <= 5,000, else 2] [--configs gplab,sum,baseline] [--lr 0.1]
//                             [--rank auto | 200,300 (the preconditioner rank of gplab and sum, each in turn)]
//                             [--solve-tolerance 1e-3 (CG tolerance of the y solve in training, gplab and sum; default: the library's)]

import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as gp from "../lib";
import { arg } from "./common/args";
import { D, exactGpTrainer, kernelName } from "./common/exactGpCase";
import { median } from "./common/stats";

type Config = "gplab" | "sum" | "baseline";

interface Result {
  bench: "exact-gp";
  case: "train-iteration";
  config: Config;
  /** The covariance module. */
  kernel: string;
  n: number;
  d: number;
  executor: string;
  backend: string;
  threads: number;
  /** "wasm-simd" or "js": what ran the kernel products and the gradient pass. */
  code: string;
  repeats: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /**
   * CPU seconds of the whole process (all threads) per iteration, median:
   * much less sensitive than wall time to other load on the machine.
   */
  medianCpuSeconds: number;
  /** CG iterations of each timed iteration. */
  cgIterations: number[];
  /** The y solve's CG tolerance when --solve-tolerance set it (null: the library's training default). */
  solveTolerance: number | null;
  preconditionerRank: number;
  /** -loss = MLL / n after the last timed iteration. */
  mllPerN: number;
  peakRssBytes: number;
  /** 1-minute load average at the end of the case (the machine is shared). */
  loadAverage1m: number;
}

async function runCase(config: Config, n: number, repeats: number, lr: number, rankOption: string, solveTolerance: number | null): Promise<Result> {
  const solve: gp.algorithms.SolveOptions =
    config === "baseline"
      ? { preconditionerRank: 15, cgTolerance: 1e-2, probeCgTolerance: 1e-2 }
      : { ...(rankOption === "auto" ? {} : { preconditionerRank: Number(rankOption) }), ...(solveTolerance === null ? {} : { cgTolerance: solveTolerance }) };
  const { mll, step } = await exactGpTrainer(n, config === "sum", solve, lr);
  let code = "";
  const stop = gp.reductions.onReport((r) => {
    if (r.operation === "bilinear" || r.operation === "matmul") code = r.code ?? r.executor;
  });
  gp.setSeed(1);
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  const cgIterations: number[] = [];
  let value = Number.NaN;
  let rank = 0;
  for (let it = 0; it <= repeats; it++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    value = await step();
    const elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const report = mll.lastReport;
    if (it > 0) {
      seconds.push(elapsed);
      cpuSeconds.push((cpu.user + cpu.system) / 1e6);
      cgIterations.push(report && "iterations" in report ? report.iterations : 0);
    }
    if (report && "preconditionerRank" in report) rank = report.preconditionerRank;
  }
  stop();
  const info = gp.backend.info();
  return {
    bench: "exact-gp",
    case: "train-iteration",
    config,
    kernel: kernelName(config === "sum"),
    n,
    d: D,
    executor: info.executor,
    backend: info.backend,
    threads: info.threads,
    code,
    repeats,
    medianSeconds: median(seconds),
    minSeconds: Math.min(...seconds),
    maxSeconds: Math.max(...seconds),
    medianCpuSeconds: median(cpuSeconds),
    cgIterations,
    solveTolerance: config === "baseline" ? 1e-2 : solveTolerance,
    preconditionerRank: rank,
    mllPerN: value,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loadAverage1m: os.loadavg()[0],
  };
}

async function main(): Promise<void> {
  const repeats = Number(arg("repeats", "5"));
  const lr = Number(arg("lr", "0.1"));
  // Preconditioner rank of the gplab and sum configurations ("auto", or a number; comma-separated: each in turn).
  const ranks = arg("rank", "auto").split(",");
  const tolArg = arg("solve-tolerance", "");
  const solveTolerance = tolArg === "" ? null : Number(tolArg);
  const child = arg("case", "");
  if (child) {
    console.log(JSON.stringify(await runCase(child as Config, Number(arg("n", "5000")), repeats, lr, ranks[0], solveTolerance)));
    return;
  }
  const sizes = arg("n", "5000,10000").split(",").map(Number);
  const configs = arg("configs", "gplab,sum,baseline").split(",") as Config[];
  for (const n of sizes) {
    for (const rank of ranks) {
      for (const config of configs) {
        // The baseline (its own rank 15) runs once, with the first rank.
        if (config === "baseline" && rank !== ranks[0]) continue;
        // The baseline takes ~20x longer: above N = 5,000 it gets 2 timed iterations unless told otherwise.
        const r = config === "baseline" ? Number(arg("baseline-repeats", n <= 5000 ? String(repeats) : "2")) : repeats;
        const args = [__filename, "--case", config, "--n", String(n), "--repeats", String(r), "--lr", String(lr), "--rank", rank, ...(tolArg ? ["--solve-tolerance", tolArg] : [])];
        const env = config === "baseline" ? { ...process.env, GPLAB_FUSED_WASM: "0" } : process.env;
        const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env });
        process.stdout.write(out.trim().split("\n").filter((l) => l.startsWith("{")).join("\n") + "\n");
      }
    }
  }
}

void main();
