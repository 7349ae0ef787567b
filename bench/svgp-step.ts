// Seconds per SVGP training step: N = 100,000 points, batch 1,024, RBF
// ScaleKernel, whitened Cholesky variational distribution, VariationalELBO,
// Adam, learned inducing locations, for several M. A step is what
// gp.train.fit does per batch: zero the grads, ELBO and its gradient, one
// Adam update. Cases:
//   library  the library's step (ApproximateMarginalLogLikelihood.evaluateWithGradient)
//   naive    the same step with every kernel block dense and triple-loop
//            products (bench/baselines/svgp-naive.ts), measured in the same run; its
//            JSON line carries the largest gradient difference to the library's
//            at the first batch, so both are known to compute the same thing.
//   library-gemm1  the library's step with the dense GEMM on one thread
//            (GPLAB_GEMM_THREADS=1): what the GEMM's worker threads bring.
//   gpytorch GPyTorch 1.12's step in float64 (bench/peers/gpytorch_dense.py:
//            the same model, data drawn the same way, torch.set_num_threads(2)),
//            run right after the library's for each M; skipped with a message
//            when GPyTorch is not importable (see /work/shared/PEERS.md). A
//            "ratio" line then gives library / GPyTorch per M, of the median
//            steps and of the fastest steps.
// Each case runs in its own child process (its peak RSS is its own) and
// prints one JSON line: medians over --steps steps after --warmup steps.
//
//   npm run bench -- svgp-step [--inducing 64,128,256,512] [--d 1] [--steps 20] [--warmup 3] [--n 100000] [--batch 1024] [--cases library,naive,gpytorch] [--naive-max-m 256] [--peer-threads 2]

import { execFileSync, spawnSync } from "node:child_process";
import * as os from "node:os";
import * as gp from "../lib";
import { type NaiveSvgpParams, naiveElboWithGradient } from "./baselines/svgp-naive";
import { arg } from "./common/args";
import { median } from "./common/stats";
import { GPYTORCH_DENSE, peerEnv } from "./common/peers";

type CaseName = "library" | "library-gemm1" | "naive" | "gpytorch";
const { mat } = gp.algorithms;

interface Setup {
  x: gp.algorithms.Mat;
  y: gp.algorithms.Mat;
  model: gp.models.ApproximateGP;
  likelihood: gp.likelihoods.GaussianLikelihood;
  elbo: gp.mlls.VariationalELBO;
}

/** Seeded data on [0, 10]^d and a model with M inducing points (a grid for d = 1, data points otherwise). */
function setup(n: number, d: number, M: number): Setup {
  gp.setSeed(2024);
  const r = new gp.RandomSource(7);
  const x = mat(n, d), y = mat(n, 1);
  for (let i = 0; i < n; i++) {
    let f = 0;
    for (let c = 0; c < d; c++) {
      const v = 10 * r.uniform();
      x.data[i * d + c] = v;
      f += Math.sin((c + 1) * v) / (c + 1);
    }
    y.data[i] = f + 0.2 * r.normal();
  }
  const z = d === 1 ? Array.from({ length: M }, (_, j) => [(10 * j) / (M - 1)]) : Array.from({ length: M }, (_, j) => Array.from(x.data.subarray(j * d, (j + 1) * d)));
  const model = new gp.models.ApproximateGP({ inducingPoints: z });
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const elbo = new gp.mlls.VariationalELBO(likelihood, model, { numData: n });
  return { x, y, model, likelihood, elbo };
}

function naiveParams(s: Setup): NaiveSvgpParams {
  const named = new Map([...s.model.namedParameters(), ...s.likelihood.namedParameters()]);
  const get = (k: string) => {
    const p = named.get(k);
    if (!p) throw new Error(`no parameter ${k}`);
    return p;
  };
  return {
    inducingPoints: get("variationalStrategy.inducingPoints"),
    variationalMean: get("variationalStrategy.variationalDistribution.variationalMean"),
    cholVariationalCovar: get("variationalStrategy.variationalDistribution.cholVariationalCovar"),
    constant: get("meanModule.rawConstant"),
    outputscale: get("covarModule.rawOutputscale"),
    lengthscale: get("covarModule.baseKernel.rawLengthscale"),
    noise: get("noiseCovar.rawNoise"),
  };
}


/** One case, in this process (the child). */
async function runCase(kind: CaseName, n: number, d: number, M: number, batch: number, steps: number, warmup: number) {
  const s = setup(n, d, M);
  const params = s.elbo.parameters();
  const size = params.reduce((t, p) => t + p.size, 0);
  const adam = new gp.train.Adam(size, { lr: 0.01 });
  const flat = new Float64Array(size), grad = new Float64Array(size);
  const pack = () => {
    let o = 0;
    for (const p of params) {
      flat.set(p.raw, o);
      for (let i = 0; i < p.size; i++) grad[o + i] = -p.grad[i];
      o += p.size;
    }
  };
  const unpack = () => {
    let o = 0;
    for (const p of params) {
      p.raw.set(flat.subarray(o, o + p.size));
      o += p.size;
    }
  };
  const order = new gp.RandomSource(11).permutation(n);
  const batchAt = (k: number) => {
    const idx = order.subarray((k * batch) % (n - batch), ((k * batch) % (n - batch)) + batch);
    const bx = mat(batch, d), by = mat(batch, 1);
    idx.forEach((row, a) => {
      bx.data.set(s.x.data.subarray(row * d, (row + 1) * d), a * d);
      by.data[a] = s.y.data[row];
    });
    return { bx, by };
  };
  const np = kind === "naive" ? naiveParams(s) : null;
  const gradient = async (bx: gp.algorithms.Mat, by: gp.algorithms.Mat) => {
    if (np) naiveElboWithGradient(np, bx.data, by.data, d, n);
    else await s.elbo.evaluateWithGradient(bx, by);
  };

  // The naive gradient at the first batch against the library's (before any step).
  let maxGradientDiff: number | null = null;
  if (np) {
    const { bx, by } = batchAt(0);
    await s.elbo.evaluateWithGradient(bx, by);
    const ref = params.map((p) => p.grad.slice());
    for (const p of params) p.zeroGrad();
    await gradient(bx, by);
    maxGradientDiff = 0;
    params.forEach((p, k) => {
      for (let i = 0; i < p.size; i++) maxGradientDiff = Math.max(maxGradientDiff as number, Math.abs(p.grad[i] - ref[k][i]) / Math.max(1, Math.abs(ref[k][i])));
    });
  }

  const times: number[] = [];
  for (let k = 0; k < warmup + steps; k++) {
    const { bx, by } = batchAt(k);
    const t0 = performance.now();
    for (const p of params) p.zeroGrad();
    await gradient(bx, by);
    pack();
    adam.step(flat, grad);
    unpack();
    if (k >= warmup) times.push((performance.now() - t0) / 1000);
  }
  const info = gp.backend.info();
  return {
    bench: "svgp-step", case: kind, n, inducing: M, batch, d, steps, warmup,
    medianSecondsPerStep: median(times), minSecondsPerStep: Math.min(...times), maxSecondsPerStep: Math.max(...times),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    executor: info.executor, backend: info.backend, threads: info.threads,
    ...(maxGradientDiff === null ? {} : { maxGradientRelDiffToLibrary: maxGradientDiff }),
  };
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--case") {
    const [, kind, n, d, M, batch, steps, warmup] = args;
    console.log(JSON.stringify(await runCase(kind as CaseName, Number(n), Number(d), Number(M), Number(batch), Number(steps), Number(warmup))));
    return;
  }
  const ms = arg("inducing", "64,128,256,512", args).split(",").map(Number);
  const cases = arg("cases", "library,naive,gpytorch", args).split(",") as CaseName[];
  const n = arg("n", "100000", args), d = arg("d", "1", args), batch = arg("batch", "1024", args);
  const steps = arg("steps", "20", args), warmup = arg("warmup", "3", args);
  // The naive step at M = 512 takes seconds; skip it above this M unless asked.
  const naiveMaxM = Number(arg("naive-max-m", "256", args));
  let peerMissing: string | null = null;
  for (const M of ms) {
    const medians: Partial<Record<CaseName, number>> = {};
    const mins: Partial<Record<CaseName, number>> = {};
    for (const kind of cases) {
      if (kind === "naive" && M > naiveMaxM) continue;
      let line: string;
      if (kind === "gpytorch") {
        if (peerMissing) continue;
        const r = spawnSync("/usr/bin/python3", [GPYTORCH_DENSE, "svgp-step", "--inducing", String(M), "--n", n, "--d", d, "--batch", batch, "--steps", steps, "--warmup", warmup, "--threads", arg("peer-threads", "2", args)], { encoding: "utf8", env: peerEnv() });
        if (r.status !== 0) {
          peerMissing = `GPyTorch not available (${(r.stderr || String(r.error)).trim().split("\n").pop()}); see /work/shared/PEERS.md`;
          console.log(JSON.stringify({ bench: "svgp-step", case: "gpytorch", skipped: peerMissing }));
          continue;
        }
        const peer = JSON.parse(r.stdout.trim().split("\n").pop() as string);
        line = JSON.stringify({ bench: "svgp-step", case: "gpytorch", ...peer });
      } else {
        const env = kind === "library-gemm1" ? { ...process.env, GPLAB_GEMM_THREADS: "1" } : process.env;
        const out = execFileSync(process.execPath, [__filename, "--case", kind === "library-gemm1" ? "library" : kind, n, d, String(M), batch, steps, warmup], { encoding: "utf8", maxBuffer: 1 << 20, env });
        line = out.trim().split("\n").pop() as string;
      }
      if (kind === "library-gemm1") line = line.replace('"case":"library"', '"case":"library-gemm1"');
      medians[kind] = JSON.parse(line).medianSecondsPerStep;
      mins[kind] = JSON.parse(line).minSecondsPerStep;
      process.stdout.write(line + "\n");
    }
    if (medians.library !== undefined && medians.gpytorch !== undefined) {
      const gemm1 = medians["library-gemm1"] === undefined ? {} : { libraryOverGemmOneThread: medians.library / medians["library-gemm1"] };
      // Fastest step over fastest step as well: on a shared machine the least disturbed steps of each.
      const fastest = mins.library !== undefined && mins.gpytorch !== undefined ? { fastestLibraryOverFastestGpytorch: mins.library / mins.gpytorch } : {};
      console.log(JSON.stringify({ bench: "svgp-step", case: "ratio", inducing: M, d: Number(d), libraryOverGpytorch: medians.library / medians.gpytorch, ...fastest, ...gemm1, loadAverage1m: os.loadavg()[0] }));
    }
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
