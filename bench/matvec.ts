// K @ V benchmark: a lazy RBF kernel operator (d = 3) against a baseline that
// materialises K densely and then multiplies, measured in the same run so the
// ratio is stable on a noisy machine. Each case runs in its own child process
// so that its peak RSS is its own. Prints one JSON line per measurement.
//
// Then the kernel table (issue 13): RBF, ScaleKernel(RBF) + ScaleKernel(Matern
// 5/2), RBF * Periodic, RQ and Periodic at N = 10,000, d = 3, each for K @ v
// (fresh operator per run, symmetric K(x, x)), the exact GP's gradient pass
// (the low-rank bilinear derivative with 11 weight columns, K(x, x)) and 1,000
// rows (what the pivoted Cholesky and predictions read), in WebAssembly SIMD
// and in the generated-JavaScript reference (GPLAB_FUSED_WASM=0) in the same run.
// K @ v lines at N = 10,000 carry PyTorch's dense time from issue 13's table
// (quoted, not measured here: pytorchDenseSecondsQuoted).
//
//   npm run bench -- matvec [--sizes 1000,10000,20000,50000,100000] [--rhs 1,16] [--executors fused,tfjs] [--repeats 5]
//                           [--only sweep|table] [--table-n 10000] [--table-kernels rbf,sum,rbf*periodic,rq,periodic]
//                           [--table-codes wasm,wasm-nofma,js] [--table-repeats 5] [--table-js-repeats 3]

import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as gp from "../lib";
import { matmulMat } from "../lib/algorithms/matrix";
import { pairwiseBilinear, pairwiseRows } from "../lib/reductions/engine";
import { sharedF64 } from "../lib/reductions/fusedExecutor";
import { wasmFmaEnabled } from "../lib/reductions/wasm/relaxedSimd";
import { arg } from "./common/args";
import { median } from "./common/stats";

interface CaseResult {
  bench: "matvec";
  case: "lazy" | "dense-baseline";
  n: number;
  d: number;
  t: number;
  executor: string;
  backend: string;
  threads: number;
  repeats: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  pairsPerSecond: number;
  peakRssBytes: number;
}

const D = 3;
/** The dense baseline runs where its f64 N x N copy fits in this many bytes. */
const DENSE_BASELINE_BYTES = 4 * 2 ** 30;

function inputs(n: number, t: number): { x: Float64Array; v: Float64Array } {
  let s = 2024;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = sharedF64(n * D);
  for (let i = 0; i < n * D; i++) x[i] = next() * 5;
  const v = Float64Array.from({ length: n * t }, () => next() - 0.5);
  return { x, v };
}

function operator(x: Float64Array, n: number, executor: gp.backend.ExecutorName) {
  return new gp.operators.KernelLinearOperator(
    {
      name: "RBF", n, m: n,
      factors: [{ statistic: "sqdist", dims: D, x, y: x, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: 1, factors: [0] }],
    },
    { symmetric: true, reduction: { executor } },
  );
}


/** One case, in this process (the child). */
async function runCase(kind: CaseResult["case"], n: number, t: number, executor: gp.backend.ExecutorName, repeats: number): Promise<CaseResult> {
  if (executor === "tfjs") await gp.backend.ready();
  const { x, v } = inputs(n, t);
  const V = gp.algorithms.mat(n, t, v);
  const times: number[] = [];
  const once = () => {
    const start = performance.now();
    if (kind === "lazy") operator(x, n, executor).matmulF64(V);
    else {
      // The naive way: evaluate every entry into memory, then multiply.
      const dense = operator(x, n, executor).toDenseF64({ maxBytes: DENSE_BASELINE_BYTES });
      matmulMat(dense, V);
    }
    return (performance.now() - start) / 1000;
  };
  // Collect between runs so that a dropped dense copy does not count towards the next run's peak RSS.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
  once(); // warm-up: code generation, worker start, JIT
  collect();
  for (let r = 0; r < repeats; r++) {
    times.push(once());
    collect();
  }
  const med = median(times);
  return {
    bench: "matvec", case: kind, n, d: D, t, executor, backend: gp.backend.info().backend,
    threads: gp.reductions.lastReport()?.threads ?? 1, repeats,
    medianSeconds: med, minSeconds: Math.min(...times), maxSeconds: Math.max(...times),
    pairsPerSecond: (n * n) / med, peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}


interface TableResult {
  bench: "matvec";
  case: "kernel-table";
  kernel: string;
  operation: "matmul" | "gradient" | "rows";
  /** What ran the pairs: "wasm-simd" (the formula compiler) or "js" (the generated-JavaScript reference). */
  code: string;
  /** Whether the WebAssembly kernels used fused multiply-adds (relaxed SIMD; "wasm-nofma" sets GPLAB_WASM_FMA=0). */
  fma: boolean;
  n: number;
  d: number;
  t: number;
  threads: number;
  repeats: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  pairsPerSecond: number;
  /**
   * CPU seconds of the whole process (all threads) per run, median: the work
   * itself, much less sensitive than wall time to other load on the machine.
   */
  medianCpuSeconds: number;
  /** Pairs per CPU second; times the thread count, what a quiet machine would give in wall time. */
  pairsPerCpuSecond: number;
  peakRssBytes: number;
  /** 1-minute load average at the end of the case (the machine is shared). */
  loadAverage1m: number;
  /**
   * K @ v lines: PyTorch's dense time (build K, then multiply; seconds) for
   * this kernel as issue 13 quotes it (same N, d, one right-hand side, a quiet
   * day); not measured in this run. null for the gradient pass and rows (the
   * issue gives none).
   */
  pytorchDenseSecondsQuoted: number | null;
}

/** The kernels of issue 13's table, built as a user would. */
const TABLE_KERNELS: Record<string, () => gp.kernels.Kernel> = {
  rbf: () => new gp.kernels.RBFKernel(),
  sum: () => new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()).add(new gp.kernels.ScaleKernel(new gp.kernels.MaternKernel({ nu: 2.5 }))),
  "rbf*periodic": () => new gp.kernels.RBFKernel().mul(new gp.kernels.PeriodicKernel()),
  rq: () => new gp.kernels.RQKernel(),
  periodic: () => new gp.kernels.PeriodicKernel(),
};
/** Issue 13's table: PyTorch dense K @ v (build K + multiply) at N = 10,000, d = 3, one right-hand side, seconds. */
const PYTORCH_DENSE_SECONDS_ISSUE13: Record<string, number> = { rbf: 0.54, sum: 2.4, "rbf*periodic": 4.2, rq: 0.9, periodic: 3.4 };
/** Weight columns of the gradient pass: probes + 1, as the exact GP's default (10 probes). */
const GRADIENT_RANK = 11;
const TABLE_ROWS = 1000;

function runTableCase(kernelName: string, operation: TableResult["operation"], n: number, repeats: number): TableResult {
  const make = TABLE_KERNELS[kernelName];
  if (!make) throw new Error(`unknown table kernel ${kernelName}; choose from ${Object.keys(TABLE_KERNELS).join(", ")}`);
  const { x, v } = inputs(n, GRADIENT_RANK);
  const X = gp.algorithms.mat(n, D, x);
  const kernel = make();
  const V = gp.algorithms.mat(n, 1, v.subarray(0, n));
  const U = v, W = Float64Array.from(v, (a, i) => a * ((i % 7) - 3));
  const rows = Int32Array.from({ length: TABLE_ROWS }, (_, i) => Math.floor((i * n) / TABLE_ROWS));
  const cpu: number[] = [];
  const once = () => {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    // A fresh operator per run, as a user's code makes one per call.
    const op = kernel.operatorF64(X, X) as gp.operators.LinearOperator & { formula: gp.reductions.Formula };
    if (operation === "matmul") op.matmulF64(V);
    else if (operation === "gradient") pairwiseBilinear(op.formula, { kind: "lowRank", U, W, T: GRADIENT_RANK }, { symmetric: true });
    else pairwiseRows(op.formula, rows);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1e6);
    return (performance.now() - start) / 1000;
  };
  once();
  cpu.length = 0;
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push(once());
  const report = gp.reductions.lastReport();
  const med = median(times);
  const pairs = operation === "rows" ? TABLE_ROWS * n : n * n;
  return {
    bench: "matvec", case: "kernel-table", kernel: kernelName, operation, code: report?.code ?? "?", fma: report?.code === "wasm-simd" && wasmFmaEnabled(), n, d: D,
    t: operation === "gradient" ? GRADIENT_RANK : operation === "matmul" ? 1 : 0, threads: report?.threads ?? 1, repeats,
    medianSeconds: med, minSeconds: Math.min(...times), maxSeconds: Math.max(...times), pairsPerSecond: pairs / med,
    medianCpuSeconds: median(cpu), pairsPerCpuSecond: pairs / median(cpu),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loadAverage1m: os.loadavg()[0],
    pytorchDenseSecondsQuoted: operation === "matmul" && n === 10000 ? PYTORCH_DENSE_SECONDS_ISSUE13[kernelName] ?? null : null,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--table-case") {
    const [, kernelName, operation, n, repeats] = args;
    console.log(JSON.stringify(runTableCase(kernelName, operation as TableResult["operation"], Number(n), Number(repeats))));
    return;
  }
  if (args[0] === "--case") {
    const [, kind, n, t, executor, repeats] = args;
    console.log(JSON.stringify(await runCase(kind as CaseResult["case"], Number(n), Number(t), executor as gp.backend.ExecutorName, Number(repeats))));
    return;
  }
  const sizes = arg("sizes", "1000,10000,20000,50000,100000", args).split(",").map(Number);
  const rhs = arg("rhs", "1,16", args).split(",").map(Number);
  const executors = arg("executors", "fused", args).split(",");
  const repeatsArg = args.includes("--repeats") ? Number(arg("repeats", "5", args)) : null;
  const only = arg("only", "", args);
  if (only !== "table") runSweep(sizes, rhs, executors, repeatsArg);
  if (only !== "sweep") {
    const n = Number(arg("table-n", "10000", args));
    const codes = arg("table-codes", "wasm,js", args).split(",");
    for (const kernelName of arg("table-kernels", Object.keys(TABLE_KERNELS).join(","), args).split(",")) {
      for (const operation of ["matmul", "gradient", "rows"]) {
        for (const code of codes) {
          const repeats = code === "js" ? arg("table-js-repeats", "3", args) : arg("table-repeats", "5", args);
          if (!["wasm", "wasm-nofma", "js"].includes(code)) throw new Error(`--table-codes: unknown code ${code}; choose from wasm, wasm-nofma, js`);
          const env = code === "js" ? { ...process.env, GPLAB_FUSED_WASM: "0" } : code === "wasm-nofma" ? { ...process.env, GPLAB_WASM_FMA: "0" } : process.env;
          const out = execFileSync(process.execPath, [__filename, "--table-case", kernelName, operation, String(n), repeats], { encoding: "utf8", maxBuffer: 1 << 20, env });
          process.stdout.write(out.trim().split("\n").pop() + "\n");
        }
      }
    }
  }
}

function runSweep(sizes: number[], rhs: number[], executors: string[], repeatsArg: number | null): void {
  for (const n of sizes) {
    // Five timed runs after a warm-up everywhere (N = 100,000 with 16 right-hand sides: ~2 minutes).
    const repeats = repeatsArg ?? 5;
    for (const t of rhs) {
      const kinds: CaseResult["case"][] = ["lazy"];
      if (n * n * 8 <= DENSE_BASELINE_BYTES) kinds.push("dense-baseline");
      for (const executor of executors) {
        for (const kind of kinds) {
          const out = execFileSync(process.execPath, ["--expose-gc", __filename, "--case", kind, String(n), String(t), executor, String(repeats)], {
            encoding: "utf8", maxBuffer: 1 << 20,
          });
          process.stdout.write(out.trim().split("\n").pop() + "\n");
        }
      }
    }
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
