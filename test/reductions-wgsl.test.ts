// Every reduction of the engine in generated WGSL (lib/reductions/webgpu/
// formulaWgsl.ts) for every built-in kernel and composition, against the f64
// fused CPU executor (the JavaScript / WebAssembly reference); then the
// whole GP on GPLAB_BACKEND=webgpu (exact GP with a sum kernel on the CG
// path, an SVGP epoch, the display of a 100,000-point operator) against the
// same work on the CPU executor, with the share of pairs evaluated in WGSL.
// Runs on the SwiftShader adapter in CI (helpers/swiftshader.ts). SwiftShader
// renders on the CPU and compiles each kernel in seconds: problems are small,
// and both parts share one process so they share compiled kernels.

import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import * as gp from "../lib";
import { blockSummary } from "../lib/display/blockSummary";
import { pairwiseBilinear, pairwiseColumnBlockSums, pairwiseEntries, pairwiseMatmul, pairwiseRows } from "../lib/reductions/engine";
import { relErr, rng } from "./helpers/reference";
import { exitAfterLastTest, reranUnderSwiftShader, skipWithoutWebgpu } from "./helpers/swiftshader";

type Formula = gp.reductions.Formula;
const k = gp.kernels;

function points(n: number, d: number, seed: number, scale = 2): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => (r() * 2 - 1) * scale));
}

function randomArray(length: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length }, () => r() * 2 - 1);
}

/** The engine's formula of kernel(x, y) (a lazy kernel operator's). */
function formulaOf(kernel: gp.kernels.Kernel, x: number[][], y: number[][]): Formula {
  return (kernel.call(x, y) as unknown as { formula: Formula }).formula;
}

/** shape: [n] task indices in 0..3 */
function taskIndices(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.floor(r() * 4));
}

/**
 * Three formulas that together hold every statistic (sqdist, dot, sinsq,
 * table), every built-in profile, sums, products and scales. SwiftShader
 * compiles each generated kernel in seconds, so there are few of them.
 */
function formulaCases(n: number, m: number): { name: string; formula: Formula; rhs: number[] }[] {
  const x3 = points(n, 3, 1), y3 = points(m, 3, 2);
  const sum = new k.ScaleKernel(new k.RBFKernel({ ardNumDims: 3 })).add(new k.ScaleKernel(new k.MaternKernel({ nu: 2.5, ardNumDims: 3 })));
  const mixed = new k.RBFKernel().mul(new k.PeriodicKernel()).add(new k.RQKernel()).add(new k.MaternKernel({ nu: 0.5 })).add(new k.MaternKernel({ nu: 1.5 }));
  const dotKernel = new k.LinearKernel().add(new k.PolynomialKernel({ power: 3 }).mul(new k.CosineKernel()));
  const dot = formulaOf(dotKernel, points(n, 2, 3, 1), points(m, 2, 4, 1));
  // A table factor (as IndexKernel's) times the linear factor: B[task_i, task_j] x_i . y_j.
  const table = Float64Array.from({ length: 16 }, (_, i) => 1 + 0.1 * i);
  const tableFactor = { statistic: "table" as const, dims: 1, x: taskIndices(n, 5), y: taskIndices(m, 6), table, tableSize: 4, profile: gp.reductions.profiles.identityProfile, params: new Float64Array(0) };
  const withTable: Formula = { ...dot, name: `${dot.name} + Index*Linear`, factors: [...dot.factors, tableFactor], terms: [...dot.terms, { coef: 0.7, factors: [dot.factors.length, 0] }] };
  return [
    // 17 columns: a chunk of 16 and one of 1.
    { name: "Scale(RBF) + Scale(Matern 5/2)", formula: formulaOf(sum, x3, y3), rhs: [1, 17] },
    { name: "RBF * Periodic + RQ + Matern 1/2 + Matern 3/2", formula: formulaOf(mixed, x3, y3), rhs: [1, 3] },
    { name: "Linear + Polynomial(3) * Cosine + Index * Linear", formula: withTable, rhs: [1, 3] },
  ];
}

if (!reranUnderSwiftShader(__filename)) registerTests();

function registerTests(): void {
  exitAfterLastTest();
  describe("generated WGSL for every reduction and kernel (WebGPU; SwiftShader in CI)", () => {
    let reason: string | null = null;
    before(async () => {
      try {
        await gp.backend.use("webgpu");
      } catch (err) {
        reason = (err as Error).message;
      }
    });
    after(() => gp.backend.use("cpu"));

    for (const c of formulaCases(203, 301)) {
      it(`${c.name}: K @ V (${c.rhs.join(" and ")} rhs), rows, entries, column-block sums and both bilinear derivatives agree with the fused executor`, (t) => {
        if (reason !== null) return skipWithoutWebgpu(t, reason);
        const f = c.formula, n = f.n, m = f.m;
        const wgsl = { executor: "webgpu" as const }, cpu = { executor: "fused" as const };
        const check = (what: string, got: Float64Array, want: Float64Array, tol = 1e-5) => {
          assert.equal(gp.reductions.lastReport()?.code, "wgsl", `${what} ran in WGSL`);
          const err = relErr(got, want);
          assert.ok(err < tol, `${c.name} ${what}: rel err ${err}`);
        };
        for (const T of c.rhs) {
          const V = randomArray(m * T, 3 + T);
          const want = pairwiseMatmul(f, V, T, cpu);
          check(`K @ V, T = ${T}`, pairwiseMatmul(f, V, T, wgsl), want);
        }
        const rows = Int32Array.of(0, 7, 202, 7);
        const wantRows = pairwiseRows(f, rows, cpu);
        check("rows", pairwiseRows(f, rows, wgsl), wantRows);
        const ri = Int32Array.from({ length: 150 }, (_, p) => (p * 7) % n), ci = Int32Array.from({ length: 150 }, (_, p) => (p * 11) % m);
        const wantEntries = pairwiseEntries(f, ri, ci, cpu);
        check("entries", pairwiseEntries(f, ri, ci, wgsl), wantEntries);
        const starts = Int32Array.of(0, 1, 100, 100, 250, m);
        const wantBlocks = pairwiseColumnBlockSums(f, starts, cpu);
        check("column-block sums", pairwiseColumnBlockSums(f, starts, wgsl), wantBlocks);
        const U = randomArray(n * 3, 5), W = randomArray(m * 3, 6);
        const wantLow = pairwiseBilinear(f, { kind: "lowRank", U, W, T: 3 }, cpu);
        check("low-rank bilinear derivative", pairwiseBilinear(f, { kind: "lowRank", U, W, T: 3 }, wgsl), wantLow, 1e-4);
        const M = randomArray(n * m, 7);
        const wantDense = pairwiseBilinear(f, { kind: "dense", M }, cpu);
        check("dense bilinear derivative", pairwiseBilinear(f, { kind: "dense", M }, wgsl), wantDense, 1e-4);
      });
    }
  });

  describe("the whole GP on the webgpu backend agrees with the CPU executor, with at least 95% of the pairs in WGSL", () => {
    let reason: string | null = null;
    before(async () => {
      try {
        await gp.backend.use("webgpu");
        await gp.backend.use("cpu");
      } catch (err) {
        reason = (err as Error).message;
      }
    });

    // navigator.gpu stays: see reductions-webgpu.test.ts.
    after(() => gp.backend.use("cpu"));

    /** Runs `work` on the CPU executor, then on the webgpu backend, counting the webgpu run's pairs. */
    async function onBoth<R>(work: () => Promise<R>): Promise<{ cpu: R; gpu: R; wgslShare: number; reports: gp.reductions.ReductionReport[] }> {
      await gp.backend.use("cpu");
      const cpu = await work();
      await gp.backend.use("webgpu");
      const reports: gp.reductions.ReductionReport[] = [];
      const stop = gp.reductions.onReport((r) => reports.push(r));
      try {
        const gpu = await work();
        const all = reports.reduce((s, r) => s + r.pairs, 0);
        const wgsl = reports.filter((r) => r.code === "wgsl").reduce((s, r) => s + r.pairs, 0);
        return { cpu, gpu, wgslShare: wgsl / all, reports };
      } finally {
        stop();
        await gp.backend.use("cpu");
      }
    }

    const relClose = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

    it("exact GP, Scale(RBF) + Scale(Matern 5/2), n = 500 forced onto the CG path: three Adam steps and predictions", async (t) => {
      if (reason !== null) return skipWithoutWebgpu(t, reason);
      const n = 500, x = points(n, 3, 11, 2);
      const r = rng(12);
      const y = x.map((p) => Math.sin(p[0]) + 0.5 * Math.cos(2 * p[1]) + 0.3 * p[2] + 0.1 * (r() * 2 - 1));
      const xt = points(30, 3, 13, 2);
      const { cpu, gpu, wgslShare, reports } = await onBoth(async () => {
        gp.setSeed(21);
        const lik = new gp.likelihoods.GaussianLikelihood();
        const covarModule = new k.ScaleKernel(new k.RBFKernel({ ardNumDims: 3 })).add(new k.ScaleKernel(new k.MaternKernel({ nu: 2.5, ardNumDims: 3 })));
        // Above maxCholeskySize: CG with the pivoted-Cholesky preconditioner, SLQ and the low-rank gradient pass.
        const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean(), covarModule, solve: { maxCholeskySize: 100 } });
        const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
        const run = await gp.train.fit(model, mll, { iterations: 3, lr: 0.05, live: false });
        const pred = await model.predict(xt);
        return { losses: run.history.map((h) => h.loss), mean: pred.meanF64, variance: pred.varianceF64 };
      });
      console.log(`exact GP on webgpu: ${(100 * wgslShare).toFixed(2)}% of ${reports.reduce((s, q) => s + q.pairs, 0)} pairs in WGSL; losses ${gpu.losses.join(", ")} (CPU ${cpu.losses.join(", ")})`);
      assert.ok(reports.some((q) => q.operation === "bilinear" && q.t > 0 && q.code === "wgsl"), "the CG path's low-rank gradient pass ran in WGSL");
      assert.ok(wgslShare >= 0.95, `${(100 * wgslShare).toFixed(2)}% of pairs in WGSL`);
      gpu.losses.forEach((l, i) => assert.ok(relClose(l, cpu.losses[i], 1e-3), `loss ${i}: ${l} vs ${cpu.losses[i]}`));
      for (let i = 0; i < xt.length; i++) {
        assert.ok(Math.abs(gpu.mean[i] - cpu.mean[i]) < 1e-3, `mean ${i}: ${gpu.mean[i]} vs ${cpu.mean[i]}`);
        assert.ok(Math.abs(gpu.variance[i] - cpu.variance[i]) < 1e-3, `variance ${i}: ${gpu.variance[i]} vs ${cpu.variance[i]}`);
      }
    });

    it("a small exact GP (Cholesky path) factors K from f64 entries on webgpu too", async (t) => {
      if (reason !== null) return skipWithoutWebgpu(t, reason);
      const x = points(150, 2, 61, 2), y = x.map((p) => Math.sin(p[0]) + p[1]);
      const { cpu, gpu } = await onBoth(async () => {
        const lik = new gp.likelihoods.GaussianLikelihood();
        const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean(), covarModule: new k.ScaleKernel(new k.RBFKernel()) });
        model.initialize({ "likelihood.noise": 1e-3 });
        return new gp.mlls.ExactMarginalLogLikelihood(lik, model).compute(false).value;
      });
      assert.ok(Math.abs(gpu - cpu) < 1e-10 * Math.abs(cpu), `MLL ${gpu} vs ${cpu}`);
    });

    it("SVGP: one epoch of minibatches (n = 1,200, 32 inducing points) and predictions", async (t) => {
      if (reason !== null) return skipWithoutWebgpu(t, reason);
      const n = 1200, x = points(n, 2, 31, 3);
      const r = rng(32);
      const y = x.map((p) => Math.sin(p[0]) * Math.cos(p[1]) + 0.1 * (r() * 2 - 1));
      // K_ZZ stays in f64 on the CPU (its Cholesky): M^2 pairs against M x batch in WGSL.
      const z = points(32, 2, 33, 3);
      const xt = points(30, 2, 34, 3);
      const { cpu, gpu, wgslShare, reports } = await onBoth(async () => {
        gp.setSeed(41);
        const model = new gp.models.ApproximateGP({ inducingPoints: z });
        const lik = new gp.likelihoods.GaussianLikelihood();
        const elbo = new gp.mlls.VariationalELBO(lik, model, { numData: n });
        const run = await gp.train.fit(model, elbo, { x, y, batchSize: 600, epochs: 1, lr: 0.05, live: false });
        const pred = await model.predict(xt);
        return { losses: run.history.map((h) => h.loss), mean: pred.meanF64, variance: pred.varianceF64 };
      });
      console.log(`SVGP on webgpu: ${(100 * wgslShare).toFixed(2)}% of ${reports.reduce((s, q) => s + q.pairs, 0)} pairs in WGSL`);
      assert.equal(gpu.losses.length, 2);
      assert.ok(wgslShare >= 0.95, `${(100 * wgslShare).toFixed(2)}% of pairs in WGSL`);
      gpu.losses.forEach((l, i) => assert.ok(relClose(l, cpu.losses[i], 1e-3), `ELBO ${i}: ${l} vs ${cpu.losses[i]}`));
      for (let i = 0; i < xt.length; i++) {
        assert.ok(Math.abs(gpu.mean[i] - cpu.mean[i]) < 1e-3, `mean ${i}: ${gpu.mean[i]} vs ${cpu.mean[i]}`);
        assert.ok(Math.abs(gpu.variance[i] - cpu.variance[i]) < 1e-3, `variance ${i}: ${gpu.variance[i]} vs ${cpu.variance[i]}`);
      }
    });

    it("the display of a 100,000-point operator: its diagonal and block summary from WGSL", async (t) => {
      if (reason !== null) return skipWithoutWebgpu(t, reason);
      const n = 100_000, x = points(n, 2, 51, 50);
      const kernel = new k.ScaleKernel(new k.RBFKernel()).add(new k.ScaleKernel(new k.MaternKernel({ nu: 2.5 })));
      const { cpu, gpu, wgslShare } = await onBoth(async () => {
        const K = kernel.call(x).addDiagonal(0.1);
        const bundle = await gp.display.bundle(K);
        return { bundle, summary: blockSummary(K).values, diagonal: Float64Array.from(await K.diagonal().data()) };
      });
      assert.ok(wgslShare >= 0.95, `${(100 * wgslShare).toFixed(2)}% of pairs in WGSL`);
      assert.ok(relErr(gpu.diagonal, cpu.diagonal) < 1e-6, "diagonal");
      assert.ok(relErr(gpu.summary, cpu.summary) < 1e-5, "block summary");
      assert.deepEqual(Object.keys(gpu.bundle).sort(), Object.keys(cpu.bundle).sort());
    });
  });
}
