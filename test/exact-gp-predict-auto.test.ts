// model.predict with no options above maxCholeskySize: varianceMethod "auto"
// (certified pivoted-Cholesky bounds, preconditioned-CG refinement of the
// points above tolerance), against an exact answer computed here from
// scratch: the kernel written out with its formula, a dense f64 Cholesky and
// triangular solve written in this file (not the library's).
//
// N = 1,200 with maxCholeskySize 400 so the model takes the iterative path.
// Cases chosen to be hard for a low-rank method: small noise (2e-4, the
// likelihood's floor is 1e-4), a long lengthscale (ill-conditioned K), d = 1,
// per-point noise down to 1e-6 (FixedNoiseGaussianLikelihood), a rank cap
// that leaves most points to the refinement (the d = 10 regime, where the
// kernel is far from low rank), and a Matern kernel.
//
// What is asserted, per case: the report says "auto" ran, every returned
// variance is within the certified relative bound the report gives (which
// is <= the 1e-2 tolerance) and every mean within the certified mean bound
// (<= its tolerance, 1e-4 x rms(y - m)); hence both within the issue's
// 1e-2 relative / 1e-4 absolute. Observed (this file's cases): variance
// errors 1e-4 .. 5e-3 relative, bounds 4e-3 .. 1e-2, mean errors < 1e-6.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

const N = 1200, T = 150;

interface Case {
  name: string;
  d: number;
  lengthscale: number;
  noise: number;
  kernel?: "rbf" | "matern52";
  /** Per-point noise (FixedNoiseGaussianLikelihood): noise x (1, 2, 3, 1, 2, 3, ...). */
  fixedNoise?: boolean;
  predict?: gp.models.PredictOptions;
  /** The case must send some points to the CG refinement. */
  expectRefined?: boolean;
}

const OUTPUTSCALE = 1.3, MEAN = 0.2;

function data(d: number, seed: number): { x: number[][]; y: number[]; xt: number[][] } {
  const r = new gp.RandomSource(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < N; i++) {
    const p = Array.from({ length: d }, () => 3 * r.uniform());
    x.push(p);
    y.push(Math.sin(2 * p[0]) + 0.3 * p[d - 1] + 0.05 * r.normal());
  }
  // Test points reach a little beyond the data (extrapolation has the largest low-rank error).
  const xt = Array.from({ length: T }, () => Array.from({ length: d }, () => 3.4 * r.uniform() - 0.2));
  return { x, y, xt };
}

function kernel(c: Case, a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  if (c.kernel === "matern52") {
    const q = Math.sqrt(5 * s) / c.lengthscale;
    return OUTPUTSCALE * (1 + q + (q * q) / 3) * Math.exp(-q);
  }
  return OUTPUTSCALE * Math.exp((-0.5 * s) / (c.lengthscale * c.lengthscale));
}

function noiseOf(c: Case): Float64Array {
  return Float64Array.from({ length: N }, (_, i) => (c.fixedNoise ? c.noise * (1 + (i % 3)) : c.noise));
}

/** In-place lower Cholesky of a dense row-major [n, n] matrix (plain loops). */
function cholesky(A: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] ** 2;
    if (!(d > 0)) throw new Error(`reference Cholesky failed at ${j}`);
    const l = Math.sqrt(d);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / l;
    }
  }
}

/** Exact posterior mean and variance of f at xt: dense Cholesky, one forward solve of [K(X, x*), y - m]. */
function exact(c: Case, x: number[][], y: number[], xt: number[][]): { mean: Float64Array; variance: Float64Array } {
  const noise = noiseOf(c);
  const A = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j <= i; j++) A[i * N + j] = kernel(c, x[i], x[j]) + (i === j ? noise[i] : 0);
  cholesky(A, N);
  const cols = T + 1; // [K(X, x*), y - m], then L^{-1} of it in place
  const B = new Float64Array(N * cols);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < T; t++) B[i * cols + t] = kernel(c, x[i], xt[t]);
    B[i * cols + T] = y[i] - MEAN;
  }
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < i; k++) {
      const lik = A[i * N + k];
      for (let t = 0; t < cols; t++) B[i * cols + t] -= lik * B[k * cols + t];
    }
    for (let t = 0; t < cols; t++) B[i * cols + t] /= A[i * N + i];
  }
  const mean = new Float64Array(T).fill(MEAN), variance = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let q = 0;
    for (let i = 0; i < N; i++) {
      mean[t] += B[i * cols + t] * B[i * cols + T];
      q += B[i * cols + t] ** 2;
    }
    variance[t] = kernel(c, xt[t], xt[t]) - q;
  }
  return { mean, variance };
}

function model(c: Case, x: number[][], y: number[]) {
  const likelihood = c.fixedNoise ? new gp.likelihoods.FixedNoiseGaussianLikelihood({ noise: noiseOf(c) }) : new gp.likelihoods.GaussianLikelihood();
  const base = c.kernel === "matern52" ? new gp.kernels.MaternKernel({ nu: 2.5 }) : new gp.kernels.RBFKernel();
  const m = new gp.models.ExactGP(x, y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(base),
    solve: { maxCholeskySize: 400 },
  });
  const init: Record<string, number> = { "covarModule.outputscale": OUTPUTSCALE, "covarModule.baseKernel.lengthscale": c.lengthscale, "meanModule.constant": MEAN };
  if (!c.fixedNoise) init["likelihood.noise"] = c.noise;
  m.initialize(init);
  return m;
}

const CASES: Case[] = [
  { name: "d = 3, noise 0.02", d: 3, lengthscale: 0.8, noise: 0.02 },
  { name: "d = 3, small noise 2e-4", d: 3, lengthscale: 0.8, noise: 2e-4 },
  { name: "d = 3, long lengthscale 5, noise 2e-4", d: 3, lengthscale: 5, noise: 2e-4 },
  { name: "d = 1, lengthscale 0.3, noise 2e-4", d: 1, lengthscale: 0.3, noise: 2e-4 },
  { name: "d = 1, per-point noise 1e-6 .. 3e-6", d: 1, lengthscale: 2, noise: 1e-6, fixedNoise: true },
  { name: "d = 10, rank cap 256 (points refined)", d: 10, lengthscale: 2, noise: 0.01, predict: { varianceMaxRank: 256 }, expectRefined: true },
  { name: "d = 2, Matern 5/2, noise 1e-3", d: 2, lengthscale: 0.5, noise: 1e-3, kernel: "matern52" },
];

CASES.forEach((c, k) => {
  test(`predict default ("auto"), ${c.name}: errors against dense Cholesky within the certified bounds and tolerances`, async () => {
    const { x, y, xt } = data(c.d, 11 + k);
    const ref = exact(c, x, y, xt);
    const m = model(c, x, y);
    const p = await m.predict(xt, c.predict);
    const report = m.lastPredictionReport!;
    assert.equal(report.method, "auto");
    assert.equal(report.requested, "auto");
    assert.ok(report.rank! > 0, `rank ${report.rank}`);
    assert.equal(report.withinTolerance, true, report.summary);
    assert.equal(report.varianceErrorTolerance, 1e-2);
    assert.ok(report.varianceErrorBound! <= 1e-2 && report.meanErrorBound! <= report.meanErrorTolerance!, report.summary);
    if (c.expectRefined) assert.ok(report.refinedPoints! > 0 && report.refineProducts! > 0, report.summary);
    assert.match(report.summary!, /pivoted Cholesky rank \d+/);
    let maxRel = 0, maxMean = 0;
    for (let t = 0; t < T; t++) {
      maxRel = Math.max(maxRel, Math.abs(p.varianceF64[t] - ref.variance[t]) / ref.variance[t]);
      maxMean = Math.max(maxMean, Math.abs(p.meanF64[t] - ref.mean[t]));
    }
    if (process.env.GPLAB_TEST_VERBOSE) console.log(c.name, { maxRel, maxMean }, report.summary);
    assert.ok(maxRel <= report.varianceErrorBound! * (1 + 1e-9), `max relative variance error ${maxRel} above the certified ${report.varianceErrorBound}`);
    assert.ok(maxMean <= report.meanErrorBound!, `max mean error ${maxMean} above the certified ${report.meanErrorBound}`);
    assert.ok(maxMean <= 1e-4, `max mean error ${maxMean}`);
  });
});

test("predict default: a second call reuses the factor and the training solve; explicit methods still run", async () => {
  const c = CASES[0];
  const { x, y, xt } = data(c.d, 11);
  const m = model(c, x, y);
  const first = await m.predict(xt.slice(0, 20));
  assert.ok(m.lastPredictionReport!.trainingSolveIterations! > 0);
  const again = await m.predict(xt.slice(0, 20));
  assert.equal(m.lastPredictionReport!.trainingSolveIterations, undefined);
  for (let t = 0; t < 20; t++) assert.ok(Math.abs(again.varianceF64[t] - first.varianceF64[t]) <= 1e-12);
  await m.predict(xt.slice(0, 4), { varianceMethod: "cg" });
  assert.deepEqual({ method: m.lastPredictionReport!.method, requested: m.lastPredictionReport!.requested }, { method: "cg", requested: "cg" });
  await m.predict(xt.slice(0, 4), { fastPredVar: true });
  assert.equal(m.lastPredictionReport!.method, "love");
  await m.predict(xt.slice(0, 4), { varianceMethod: "pivotedCholesky" });
  assert.equal(m.lastPredictionReport!.method, "pivotedCholesky");
  // At or below maxCholeskySize the answer is exact by Cholesky whatever was asked.
  const small = new gp.models.ExactGP(x.slice(0, 300), y.slice(0, 300), new gp.likelihoods.GaussianLikelihood(), {
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
    meanModule: new gp.means.ConstantMean(),
  });
  await small.predict(xt.slice(0, 4));
  assert.deepEqual({ method: small.lastPredictionReport!.method, requested: small.lastPredictionReport!.requested }, { method: "cholesky", requested: "auto" });
});

test("predict default: a noise-free training point falls back to CG per point, and says so", async () => {
  const { x, y, xt } = data(1, 3);
  const noise = new Float64Array(N).fill(1e-2);
  noise[7] = 0;
  const m = new gp.models.ExactGP(x, y, new gp.likelihoods.FixedNoiseGaussianLikelihood({ noise }), {
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
    meanModule: new gp.means.ConstantMean(),
    solve: { maxCholeskySize: 400 },
  });
  const p = await m.predict(xt.slice(0, 3));
  assert.equal(m.lastPredictionReport!.method, "cg");
  assert.equal(m.lastPredictionReport!.requested, "auto");
  assert.match(m.lastPredictionReport!.summary!, /zero noise/);
  assert.ok(p.varianceF64.every((v) => Number.isFinite(v) && v >= 0));
});

test("predict default: bounds that cannot meet the tolerance are reported and warned about, never silent", async () => {
  const c = CASES[0];
  const { x, y, xt } = data(c.d, 11);
  const m = model(c, x, y);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    // Rank 8 leaves wide bounds; one CG iteration of refinement cannot close them.
    await m.predict(xt.slice(0, 10), { varianceMaxRank: 8, solve: { maxCgIterations: 1 } });
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("warning", onWarning);
  }
  const report = m.lastPredictionReport!;
  assert.equal(report.withinTolerance, false, report.summary);
  assert.ok(report.varianceErrorBound! > 1e-2, report.summary);
  assert.ok(warnings.some((w) => w.includes("certified error bounds exceed")), warnings.join("\n"));
});

test("predict: bad variance options are named errors", async () => {
  const { x, y, xt } = data(1, 3);
  const m = model(CASES[0], x, y);
  await assert.rejects(m.predict(xt, { varianceMethod: "exact" as never }), /unknown varianceMethod "exact"; use one of "auto", "cg", "love", "pivotedCholesky"/);
  await assert.rejects(m.predict(xt, { varianceErrorTolerance: 0 }), /varianceErrorTolerance must be positive/);
  await assert.rejects(m.predict(xt, { varianceTolerance: -1 }), /varianceTolerance must be positive/);
});
