// Where an exact-GP training iteration's time goes: the iteration of
// `exact-gp` (same data, model, defaults and Adam step), with wall-clock
// timers around the library's entry points of each phase:
//   preconditionerRows      the kernel rows the pivoted Cholesky reads
//   preconditionerAlgebra   the rest of the preconditioner build: the
//                           pivoted Cholesky's O(n k^2) algebra and the
//                           Woodbury capacitance
//   products                K @ V in CG, per number of right-hand sides
//                           (calls and ms per iteration)
//   preconditionerSolves    P^{-1} R in CG
//   probeSampling           z ~ N(0, P)
//   cgRest                  the rest of the solve: CG's vector work, the
//                           Galerkin finish, SLQ's tridiagonal eigenproblems
//   gradientPass            the bilinear derivative pass (dK / dtheta)
//   rest                    everything else (forward, MLL terms, Adam)
// Milliseconds per iteration, the mean over --repeats after one warm-up
// iteration; each configuration in its own child process. The library is
// unchanged; the timers only wrap its methods.
//
//   npm run bench -- exact-gp-phases [--n 10000] [--repeats 3] [--configs gplab,sum] [--rank auto | 300]

import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as gp from "../lib";
import { LowRankPlusDiag } from "../lib/algorithms/lowRankPlusDiag";
import { AddedDiagLinearOperator } from "../lib/operators/AddedDiagLinearOperator";
import { KernelLinearOperator } from "../lib/operators/KernelLinearOperator";
import { LinearOperator } from "../lib/operators/LinearOperator";
import { arg } from "./common/args";
import { exactGpTrainer, kernelName } from "./common/exactGpCase";

type Config = "gplab" | "sum";

/** Wall milliseconds and calls per timer name, since the last reset. */
const spent = new Map<string, { ms: number; calls: number }>();

/** Wraps prototype method `name` so that each call adds its wall time to the timer `label(args)`. */
function time(proto: object, name: string, label: (args: unknown[]) => string): void {
  const methods = proto as Record<string, (...args: unknown[]) => unknown>;
  const inner = methods[name];
  if (typeof inner !== "function") throw new Error(`exact-gp-phases: ${name} is not a method to time`);
  methods[name] = function (this: unknown, ...args: unknown[]): unknown {
    const start = performance.now();
    try {
      return inner.apply(this, args);
    } finally {
      const key = label(args);
      const s = spent.get(key) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - start;
      s.calls++;
      spent.set(key, s);
    }
  };
}

const columns = (args: unknown[]): number => (args[0] as gp.algorithms.Mat).cols;

function installTimers(): void {
  time(LinearOperator.prototype, "iterative", () => "solve");
  time(AddedDiagLinearOperator.prototype, "preconditioner", () => "preconditioner");
  time(KernelLinearOperator.prototype, "rowsF64", () => "rows");
  time(KernelLinearOperator.prototype, "matmulF64", (a) => `products:${columns(a)}`);
  time(KernelLinearOperator.prototype, "bilinearDerivative", () => "gradientPass");
  time(LowRankPlusDiag.prototype, "solve", () => "preconditionerSolves");
  time(LowRankPlusDiag.prototype, "sample", () => "probeSampling");
}

interface Phases {
  bench: "exact-gp-phases";
  config: Config;
  kernel: string;
  n: number;
  repeats: number;
  preconditionerRank: number;
  cgIterations: number[];
  /** Wall and CPU (all threads) ms per iteration. */
  wallMs: number;
  cpuMs: number;
  preconditionerRows: number;
  preconditionerAlgebra: number;
  /** Per number of right-hand sides: ms and calls per iteration. */
  products: Record<string, { ms: number; calls: number }>;
  preconditionerSolves: number;
  probeSampling: number;
  cgRest: number;
  gradientPass: number;
  rest: number;
  loadAverage1m: number;
}

async function runCase(config: Config, n: number, repeats: number, rankOption: string): Promise<Phases> {
  const solve: gp.algorithms.SolveOptions = rankOption === "auto" ? {} : { preconditionerRank: Number(rankOption) };
  const { mll, step } = await exactGpTrainer(n, config === "sum", solve, 0.1);
  installTimers();
  gp.setSeed(1);
  const total = new Map<string, { ms: number; calls: number }>();
  let wall = 0, cpu = 0, rank = 0;
  const cgIterations: number[] = [];
  for (let it = 0; it <= repeats; it++) {
    spent.clear();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await step();
    if (it === 0) continue;
    wall += performance.now() - start;
    const c = process.cpuUsage(cpuStart);
    cpu += (c.user + c.system) / 1000;
    const report = mll.lastReport;
    cgIterations.push(report && "iterations" in report ? report.iterations : 0);
    if (report && "preconditionerRank" in report) rank = report.preconditionerRank;
    for (const [k, v] of spent) {
      const s = total.get(k) ?? { ms: 0, calls: 0 };
      s.ms += v.ms;
      s.calls += v.calls;
      total.set(k, s);
    }
  }
  const per = (k: string): number => (total.get(k)?.ms ?? 0) / repeats;
  const round = (v: number): number => Math.round(v * 10) / 10;
  const products: Record<string, { ms: number; calls: number }> = {};
  let productMs = 0;
  for (const [k, v] of [...total].sort()) {
    if (!k.startsWith("products:")) continue;
    products[k.slice(9)] = { ms: round(v.ms / repeats), calls: round(v.calls / repeats) };
    productMs += v.ms / repeats;
  }
  const inSolve = per("preconditioner") + productMs + per("preconditionerSolves") + per("probeSampling");
  return {
    bench: "exact-gp-phases",
    config,
    kernel: kernelName(config === "sum"),
    n,
    repeats,
    preconditionerRank: rank,
    cgIterations,
    wallMs: round(wall / repeats),
    cpuMs: round(cpu / repeats),
    preconditionerRows: round(per("rows")),
    preconditionerAlgebra: round(per("preconditioner") - per("rows")),
    products,
    preconditionerSolves: round(per("preconditionerSolves")),
    probeSampling: round(per("probeSampling")),
    cgRest: round(per("solve") - inSolve),
    gradientPass: round(per("gradientPass")),
    rest: round(wall / repeats - per("solve") - per("gradientPass")),
    loadAverage1m: os.loadavg()[0],
  };
}

async function main(): Promise<void> {
  const repeats = Number(arg("repeats", "3"));
  const rank = arg("rank", "auto");
  const child = arg("case", "");
  if (child) {
    console.log(JSON.stringify(await runCase(child as Config, Number(arg("n", "10000")), repeats, rank)));
    return;
  }
  const n = arg("n", "10000");
  for (const config of arg("configs", "gplab,sum").split(",")) {
    if (config !== "gplab" && config !== "sum") throw new Error(`exact-gp-phases: unknown config "${config}" (use gplab or sum)`);
    const out = execFileSync(process.execPath, [__filename, "--case", config, "--n", n, "--repeats", String(repeats), "--rank", rank], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    process.stdout.write(out.trim().split("\n").filter((l) => l.startsWith("{")).join("\n") + "\n");
  }
}

void main();
