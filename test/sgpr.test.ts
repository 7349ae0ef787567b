// SGPR (InducingPointKernel in an ExactGP) against GPyTorch 1.12
// (test/fixtures/reference/sgpr.json, tolerance 1e-9): the Titsias bound
// (MLL / n and its two parts, log N(y | m, Q + noise) and the trace term),
// the predictive mean / var f / var y with GPyTorch's default diagonal
// correction and without it (DTC); the gradient w.r.t. every raw parameter,
// inducing points included, against central differences; a short training
// run; state keys; and the named errors.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";

interface Preds {
  pred_mean: number[];
  pred_var_f: number[];
  pred_var_y: number[];
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/sgpr.json"), "utf8")) as {
  n: number;
  x: number[][];
  y: number[];
  x_test: number[][];
  inducing_points: number[][];
  params: Record<string, { raw: unknown }>;
  expected: Preds & { mll_per_n: number; mll_total: number; log_prob_term_total: number; added_loss_term_total: number; sgpr_diagonal_correction_off: Preds };
};

function build(x = ref.x, y = ref.y, z = ref.inducing_points) {
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const covarModule = new gp.kernels.InducingPointKernel(new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()), { inducingPoints: z, likelihood });
  const model = new gp.models.ExactGP(x, y, likelihood, { meanModule: new gp.means.ConstantMean(), covarModule });
  // GPyTorch's tutorial model also holds the base kernel as base_covar_module: the same tensors as covar_module.base_kernel.
  const dict: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ref.params)) dict[k.replace(/^base_covar_module\./, "covar_module.base_kernel.")] = v.raw;
  model.loadStateDict(dict);
  return { model, likelihood, covarModule, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

function maxAbs(a: ArrayLike<number>, b: number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("SGPR: the Titsias bound and its two parts match GPyTorch (1e-9)", async () => {
  const { mll } = build();
  const r = await mll.evaluateWithGradient();
  const e = ref.expected;
  assert.ok(Math.abs(r.value - e.mll_per_n) < 1e-9, `MLL / n ${r.value} vs ${e.mll_per_n}`);
  assert.ok(Math.abs((r.sgpr?.logProbTerm as number) - e.log_prob_term_total) < 1e-9, `log N(y | m, Q + noise) ${r.sgpr?.logProbTerm} vs ${e.log_prob_term_total}`);
  assert.ok(Math.abs((r.sgpr?.addedLossTerm as number) - e.added_loss_term_total) < 1e-9, `trace term ${r.sgpr?.addedLossTerm} vs ${e.added_loss_term_total}`);
  assert.ok(Math.abs((await mll.evaluate()) - e.mll_per_n) < 1e-9);
});

test("SGPR predictions with GPyTorch's default diagonal correction, and the DTC ones without it, match GPyTorch (1e-9)", async () => {
  const { model, covarModule } = build();
  const check = async (want: Preds, label: string) => {
    const f = await model.predict(ref.x_test);
    const y = await model.predict(ref.x_test, { noise: true });
    assert.ok(maxAbs(f.meanF64, want.pred_mean) < 1e-9, `${label} mean ${maxAbs(f.meanF64, want.pred_mean)}`);
    assert.ok(maxAbs(f.varianceF64, want.pred_var_f) < 1e-9, `${label} var f ${maxAbs(f.varianceF64, want.pred_var_f)}`);
    assert.ok(maxAbs(y.varianceF64, want.pred_var_y) < 1e-9, `${label} var y ${maxAbs(y.varianceF64, want.pred_var_y)}`);
  };
  assert.equal(covarModule.diagonalCorrection, true);
  await check(ref.expected, "corrected");
  covarModule.diagonalCorrection = false;
  await check(ref.expected.sgpr_diagonal_correction_off, "DTC");
  // The two differ by about 1e-3 in the mean (README2), so each check can fail.
  assert.ok(maxAbs(ref.expected.pred_mean, ref.expected.sgpr_diagonal_correction_off.pred_mean) > 1e-4);
});

test("SGPR: d MLL / d raw of every parameter (inducing points included) matches central differences", async () => {
  // A subset keeps the 2 x 24 difference evaluations short; the algebra is the same.
  const { model, mll } = build(ref.x.slice(0, 120), ref.y.slice(0, 120));
  await assertGradientMatchesDifferences(model as unknown as gp.models.ExactGP, mll, { relTol: 1e-5, floor: 1e-3, label: "SGPR" });
});

test("SGPR with priors: the prior term is added as in the exact MLL", async () => {
  const likelihood = new gp.likelihoods.GaussianLikelihood({ noisePrior: new gp.priors.GammaPrior(1.1, 0.05) });
  const base = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ lengthscalePrior: new gp.priors.GammaPrior(3, 6) }));
  const model = new gp.models.ExactGP(ref.x, ref.y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.InducingPointKernel(base, { inducingPoints: ref.inducing_points, likelihood }),
  });
  const dict: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ref.params)) dict[k.replace(/^base_covar_module\./, "covar_module.base_kernel.")] = v.raw;
  model.loadStateDict(dict);
  const value = await new gp.mlls.ExactMarginalLogLikelihood(likelihood, model).evaluate();
  const noise = likelihood.noise, ls = base.baseKernel.lengthscale[0];
  const logPrior = new gp.priors.GammaPrior(1.1, 0.05).logDensity(noise) + new gp.priors.GammaPrior(3, 6).logDensity(ls);
  assert.ok(Math.abs(value - (ref.expected.mll_total + logPrior) / ref.n) < 1e-9);
});

test("SGPR trains with gp.train.fit: the bound rises and the inducing points move", async () => {
  const z0 = ref.inducing_points.map((r) => [r[0] + 0.3]);
  const { model, mll, covarModule } = build(ref.x, ref.y, z0);
  const before = await mll.evaluate();
  gp.setSeed(1);
  await gp.train.fit(model, mll, { iterations: 15, lr: 0.05 });
  const after = await mll.evaluate();
  assert.ok(after > before + 1e-3, `bound ${before} -> ${after}`);
  assert.ok(maxAbs(covarModule.inducingPoints.raw, z0.flat()) > 1e-3);
});

test("SGPR state keys are baseKernel.* and inducingPoints; the operator is rank M", () => {
  const { model, covarModule } = build();
  // Own parameters first, then children, as in GPyTorch's state_dict.
  assert.deepEqual(Object.keys(covarModule.stateDict()), ["inducingPoints", "baseKernel.rawOutputscale", "baseKernel.baseKernel.rawLengthscale"]);
  assert.ok(Object.keys(model.stateDict()).includes("covarModule.inducingPoints"));
  const x = ref.x.slice(0, 50);
  const op = covarModule.call(x);
  assert.ok(op instanceof gp.operators.LowRankRootLinearOperator);
  assert.deepEqual((op as gp.operators.LowRankRootLinearOperator).root.cols, 20);
  // diag of Q never exceeds the base kernel's diagonal (Q <= K).
  const q = covarModule.call(x, x, { diag: true }).dataSync();
  const k = covarModule.baseKernel.call(x, x, { diag: true }).dataSync();
  for (let i = 0; i < 50; i++) assert.ok(q[i] <= k[i] + 1e-6);
});

test("InducingPointKernel: bad input is a named error", async () => {
  const lik = new gp.likelihoods.GaussianLikelihood();
  const base = new gp.kernels.RBFKernel();
  const isArg = (re: RegExp) => (e: Error) => e instanceof gp.errors.ArgumentError && re.test(e.message);
  assert.throws(() => new gp.kernels.InducingPointKernel(base, { likelihood: lik } as unknown as gp.kernels.InducingPointKernelOptions), isArg(/needs \{ inducingPoints \}/));
  assert.throws(() => new gp.kernels.InducingPointKernel(base, undefined as unknown as gp.kernels.InducingPointKernelOptions), isArg(/needs \{ inducingPoints \}/));
  assert.throws(() => new gp.kernels.InducingPointKernel(base, { inducingPoints: [] as number[], likelihood: lik }), (e: Error) => e instanceof gp.errors.GPLabError);
  assert.throws(() => new gp.kernels.InducingPointKernel(base, { inducingPoints: [[0], [1]] } as unknown as gp.kernels.InducingPointKernelOptions), isArg(/needs \{ likelihood \}/));
  const ipk = new gp.kernels.InducingPointKernel(base, { inducingPoints: [[0], [1]], likelihood: lik });
  assert.throws(() => ipk.add(new gp.kernels.RBFKernel()).call([[0]]), isArg(/not a pairwise formula/));
  assert.throws(() => ipk.call([[0, 1]]), (e: Error) => e instanceof gp.errors.ShapeError && /inducing points have 1/.test(e.message));
  const other = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP([[0], [1], [2]], [0, 1, 0], other, { meanModule: new gp.means.ZeroMean(), covarModule: ipk });
  await assert.rejects(new gp.mlls.ExactMarginalLogLikelihood(other, model).evaluate(), isArg(/different likelihood than the model's/));
});
