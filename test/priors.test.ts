// Priors against GPyTorch 1.12 (test/fixtures/reference/priors.json):
// log_prob of the six priors at 8 points each, out-of-support points
// included (NaN / -Infinity where torch skips validation, a
// PriorSupportError where GPyTorch raises), at 1e-13; an exact GP with Gamma
// priors on lengthscale, outputscale and noise: the MLL / n with and without
// priors and d(-MLL / n)/d raw of every parameter at 1e-12. Also: each
// prior's d log p / dx against central differences, the prior term in the
// ELBO (value and gradient against differences), the hyperparameter table's
// prior column, and bad arguments.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";

type Num = number | string;
interface PriorTable {
  name: string;
  parameters: Record<string, number>;
  points: { x: number; gpytorch: Num | null; gpytorch_error?: string }[];
  batched_call?: { x: number[]; gpytorch_log_prob_of_whole_tensor: Num[] | Num };
}
interface ExactCase {
  n: number;
  x: number[][];
  y: number[];
  params: Record<string, Record<string, { raw: unknown }>>;
  expected: {
    mll_with_priors_per_n: number;
    mll_without_priors_per_n: number;
    prior_terms: Record<string, { log_prob_sum: number }>;
    grad_of_loss_with_priors: Record<string, unknown>;
    grad_of_loss_without_priors: Record<string, unknown>;
    sum_of_prior_terms: number;
  };
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/priors.json"), "utf8")) as { prior_tables: PriorTable[]; exact_gp: ExactCase };

const P = gp.priors;

function make(t: PriorTable): gp.priors.Prior {
  const p = t.parameters;
  switch (t.name) {
    case "gamma":
      return new P.GammaPrior(p.concentration, p.rate);
    case "normal":
      return new P.NormalPrior(p.loc, p.scale);
    case "lognormal":
      return new P.LogNormalPrior(p.loc, p.scale);
    case "uniform":
      return new P.UniformPrior(p.a, p.b);
    case "halfcauchy":
      return new P.HalfCauchyPrior(p.scale);
    case "smoothedbox":
      return new P.SmoothedBoxPrior(p.a, p.b, p.sigma);
    default:
      throw new Error(`unknown prior table ${t.name}`);
  }
}

function assertClose(actual: number, expected: Num, tol: number, what: string): void {
  const e = Number(expected);
  if (Number.isNaN(e)) assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  else if (!Number.isFinite(e)) assert.equal(actual, e, what);
  else assert.ok(Math.abs(actual - e) <= tol, `${what}: ${actual} vs ${e} (diff ${Math.abs(actual - e)})`);
}

for (const t of ref.prior_tables) {
  test(`${t.name} prior: log_prob at every point matches GPyTorch (1e-13), out-of-support behaviour included`, () => {
    const prior = make(t);
    for (const pt of t.points) {
      if (pt.gpytorch === null) {
        // GPyTorch raised (torch's support validation): a named error here.
        assert.throws(() => prior.logProb(pt.x), (e: Error) => e instanceof gp.errors.PriorSupportError && /is defined for/.test(e.message), `${t.name} at ${pt.x}`);
      } else if (t.name === "smoothedbox") {
        assertClose(prior.logProb([pt.x]) as number, pt.gpytorch, 1e-13, `${t.name}(${pt.x})`);
      } else {
        assertClose(prior.logProb(pt.x) as number, pt.gpytorch, 1e-13, `${t.name}(${pt.x})`);
      }
    }
    if (t.batched_call) {
      const out = prior.logProb(t.batched_call.x);
      const want = t.batched_call.gpytorch_log_prob_of_whole_tensor;
      if (Array.isArray(want)) {
        assert.ok(Array.isArray(out) && out.length === want.length, "elementwise for torch-distribution priors");
        want.forEach((w, i) => assertClose((out as number[])[i], w, 1e-13, `${t.name} batched[${i}]`));
      } else {
        // SmoothedBox sums over the points, as GPyTorch does.
        assert.equal(typeof out, "number");
        assertClose(out as number, want, 1e-13, `${t.name} batched sum`);
      }
    }
  });
}

test("every prior's d log p / dx matches central differences inside its support", () => {
  const cases: [gp.priors.Prior, number[]][] = [
    [new P.GammaPrior(3.4, 1.1), [0.3, 1, 2.7]],
    [new P.GammaPrior(0.7, 2), [0.2, 1.5]],
    [new P.NormalPrior(0.6, 1.9), [-3, 0.1, 4]],
    [new P.LogNormalPrior(0.5, 0.6), [0.3, 1, 5]],
    [new P.UniformPrior(-0.4, 2.2), [0, 1.3]],
    [new P.HalfCauchyPrior(1.5), [0.01, 2, 9]],
    [new P.SmoothedBoxPrior(-0.3, 0.3, 0.2), [-0.8, -0.1, 0.2, 0.7]],
  ];
  const h = 1e-6;
  for (const [prior, xs] of cases) {
    for (const x of xs) {
      const fd = (prior.logDensity(x + h) - prior.logDensity(x - h)) / (2 * h);
      const g = prior.dLogDensity(x);
      assert.ok(Math.abs(g - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `${prior} at ${x}: ${g} vs ${fd}`);
    }
  }
});

function exactModel(withPriors: boolean) {
  const c = ref.exact_gp;
  const likelihood = new gp.likelihoods.GaussianLikelihood(withPriors ? { noisePrior: new P.GammaPrior(1.1, 0.05) } : {});
  const model = new gp.models.ExactGP(c.x, c.y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(
      new gp.kernels.RBFKernel({ ardNumDims: 2, ...(withPriors ? { lengthscalePrior: new P.GammaPrior(3, 6) } : {}) }),
      withPriors ? { outputscalePrior: new P.GammaPrior(2, 0.15) } : {},
    ),
  });
  const dict: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.params)) dict[k] = v.raw;
  model.loadStateDict(dict);
  return { model, likelihood, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

/** The reference gradient (of -MLL / n) of one raw parameter, flattened. */
function refGrad(block: Record<string, unknown>, gpytorchName: string): number[] {
  const v = block[gpytorchName];
  return typeof v === "number" ? [v] : (v as number[] | number[][]).flat();
}

for (const withPriors of [true, false]) {
  test(`exact GP ${withPriors ? "with" : "without"} Gamma priors: MLL / n and d(-MLL / n)/d raw match GPyTorch (1e-12)`, async () => {
    const c = ref.exact_gp;
    const { model, mll } = exactModel(withPriors);
    model.zeroGrad();
    const { value } = await mll.evaluateWithGradient();
    const want = withPriors ? c.expected.mll_with_priors_per_n : c.expected.mll_without_priors_per_n;
    assert.ok(Math.abs(value - want) < 1e-12, `MLL / n ${value} vs ${want}`);
    const block = withPriors ? c.expected.grad_of_loss_with_priors : c.expected.grad_of_loss_without_priors;
    const names: [string, string][] = [
      ["likelihood.noiseCovar.rawNoise", "likelihood.noise_covar.raw_noise"],
      ["meanModule.rawConstant", "mean_module.raw_constant"],
      ["covarModule.rawOutputscale", "covar_module.raw_outputscale"],
      ["covarModule.baseKernel.rawLengthscale", "covar_module.base_kernel.raw_lengthscale"],
    ];
    const params = new Map(model.namedParameters());
    for (const [ours, theirs] of names) {
      const p = params.get(ours);
      assert.ok(p, `no parameter ${ours}`);
      refGrad(block, theirs).forEach((g, i) => assert.ok(Math.abs(-p.grad[i] - g) < 1e-12, `${ours}[${i}]: ${-p.grad[i]} vs ${g}`));
    }
  });
}

test("exact GP priors: each prior term and their names, as GPyTorch's named_priors()", () => {
  const { model } = exactModel(true);
  const terms = new Map(model.namedPriors().map(([name, prior, param]) => [name, prior.logProbSum(param.value()).value]));
  const want: [string, string][] = [
    ["likelihood.noiseCovar.noisePrior", "likelihood.noise_covar.noise_prior"],
    ["covarModule.outputscalePrior", "covar_module.outputscale_prior"],
    ["covarModule.baseKernel.lengthscalePrior", "covar_module.base_kernel.lengthscale_prior"],
  ];
  assert.equal(terms.size, 3);
  for (const [ours, theirs] of want) {
    assert.ok(Math.abs((terms.get(ours) as number) - ref.exact_gp.expected.prior_terms[theirs].log_prob_sum) < 1e-13, ours);
  }
});

test("exact GP priors on the iterative path (n above maxCholeskySize): the prior term and its gradient are the same", async () => {
  const { model, mll } = exactModel(true);
  const { model: bare, mll: bareMll } = exactModel(false);
  const solve = { maxCholeskySize: 10, cgTolerance: 1e-10, probeCgTolerance: 1e-10 };
  gp.setSeed(3);
  model.zeroGrad();
  const a = (await mll.evaluateWithGradient({ solve })).value;
  gp.setSeed(3);
  bare.zeroGrad();
  const b = (await bareMll.evaluateWithGradient({ solve })).value;
  // Same probes: the difference is exactly the prior term / n, value and gradient.
  assert.ok(Math.abs(a - b - ref.exact_gp.expected.sum_of_prior_terms / ref.exact_gp.n) < 1e-10);
  // d(prior term / n)/d raw per parameter = -(reference with priors - without), the reference being d(-MLL / n).
  const e = ref.exact_gp.expected;
  const grad = (m: gp.models.ExactGP, name: string) => Array.from((m.namedParameters().find(([n]) => n === name) as [string, { grad: Float64Array }])[1].grad);
  for (const [ours, theirs] of [["covarModule.rawOutputscale", "covar_module.raw_outputscale"], ["covarModule.baseKernel.rawLengthscale", "covar_module.base_kernel.raw_lengthscale"], ["likelihood.noiseCovar.rawNoise", "likelihood.noise_covar.raw_noise"]]) {
    const want = refGrad(e.grad_of_loss_with_priors, theirs).map((g, i) => -(g - refGrad(e.grad_of_loss_without_priors, theirs)[i]));
    const got = grad(model, ours).map((g, i) => g - grad(bare, ours)[i]);
    want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-12, `${ours}[${i}]: ${got[i]} vs ${w}`));
  }
});

test("ELBO with priors: + sum log p / numData, gradient against central differences", async () => {
  const r = new gp.RandomSource(4);
  const x = Array.from({ length: 40 }, () => [3 * r.uniform()]);
  const y = x.map(([v]) => Math.sin(2 * v) + 0.1 * r.normal());
  const build = (withPriors: boolean) => {
    gp.setSeed(21); // the variational mean starts at small random values
    const model = new gp.models.ApproximateGP({
      inducingPoints: Array.from({ length: 6 }, (_, i) => [0.5 * i]),
      covarModule: new gp.kernels.ScaleKernel(
        new gp.kernels.RBFKernel(withPriors ? { lengthscalePrior: new P.LogNormalPrior(0, 1) } : {}),
        withPriors ? { outputscalePrior: new P.GammaPrior(2, 0.5) } : {},
      ),
    });
    model.initialize({ "covarModule.baseKernel.lengthscale": 0.7, "covarModule.outputscale": 1.3 });
    const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05, ...(withPriors ? { noisePrior: new P.HalfCauchyPrior(0.1) } : {}) });
    return { model, lik, elbo: new gp.mlls.VariationalELBO(lik, model, { numData: 100 }) };
  };
  const a = build(true), b = build(false);
  const va = await a.elbo.evaluate(x, y);
  const vb = await b.elbo.evaluate(x, y);
  const logPrior = new P.LogNormalPrior(0, 1).logDensity(0.7) + new P.GammaPrior(2, 0.5).logDensity(1.3) + new P.HalfCauchyPrior(0.1).logDensity(0.05);
  assert.ok(Math.abs(va - vb - logPrior / 100) < 1e-12, `${va - vb} vs ${logPrior / 100}`);
  // The whole-dataset value carries the same term.
  assert.ok(Math.abs((await a.elbo.evaluateDataset(x, y)) - (await b.elbo.evaluateDataset(x, y)) - logPrior / 100) < 1e-12);
  const params = a.elbo.parameters();
  for (const p of params) p.zeroGrad();
  await a.elbo.evaluateWithGradient(x, y);
  const h = 1e-5;
  for (const p of params) {
    for (let i = 0; i < p.size; i++) {
      const r0 = p.raw[i];
      p.raw[i] = r0 + h;
      const up = await a.elbo.evaluate(x, y);
      p.raw[i] = r0 - h;
      const down = await a.elbo.evaluate(x, y);
      p.raw[i] = r0;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(p.grad[i] - fd) <= 1e-5 * Math.max(1e-2, Math.abs(fd)), `raw[${i}] of a ${p.shape} parameter: ${p.grad[i]} vs ${fd}`);
    }
  }
});

test("priors on the other GPyTorch parameters: periodLength, variance, offset, constant; gradients against differences", async () => {
  const r = new gp.RandomSource(8);
  const x = Array.from({ length: 30 }, () => [2 * r.normal()]);
  const y = x.map(([v]) => Math.cos(v) + 0.1 * r.normal());
  const covar = new gp.kernels.PeriodicKernel({ periodLengthPrior: new P.NormalPrior(2, 0.5), lengthscalePrior: new P.GammaPrior(2, 2) })
    .add(new gp.kernels.LinearKernel({ variancePrior: new P.HalfCauchyPrior(1) }))
    .add(new gp.kernels.PolynomialKernel({ power: 2, offsetPrior: new P.SmoothedBoxPrior(0.1, 2, 0.1) }))
    .add(new gp.kernels.CosineKernel({ periodLengthPrior: new P.UniformPrior(0.1, 10) }));
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.1 });
  const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean({ constantPrior: new P.NormalPrior(0, 1), constant: 0.4 }), covarModule: covar });
  assert.equal(model.namedPriors().length, 6);
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
  await assertGradientMatchesDifferences(model, mll, { relTol: 1e-5, floor: 1e-3, label: "priors on every parameter" });
});

test("the hyperparameter table shows each prior; a model without priors keeps its four columns", async () => {
  const { model } = exactModel(true);
  const rows = model.hyperparameterRows();
  const ls = rows.find((r) => r.name === "covarModule.baseKernel.lengthscale");
  assert.equal(ls?.prior, "GammaPrior(concentration=3, rate=6)");
  assert.equal(rows.find((r) => r.name === "meanModule.constant")?.prior, undefined);
  const bundle = (await gp.display.bundle(model.displayData())) as Record<string, string>;
  const text = bundle["text/plain"];
  assert.match(text, /hyperparameter +value +shape +constraint +prior/);
  assert.match(text, /GammaPrior\(concentration=1\.1, rate=0\.05\)/);
  assert.match(bundle["text/html"], /<th[^>]*>prior<\/th>/);
  const bare = (await gp.display.bundle(exactModel(false).model.displayData())) as Record<string, string>;
  assert.doesNotMatch(bare["text/plain"], /prior/);
});

test("bad prior arguments and a non-prior are named errors", async () => {
  assert.throws(() => new P.GammaPrior(0, 1), /GammaPrior: concentration must be a positive finite number, got 0/);
  assert.throws(() => new P.NormalPrior(0, -1), /NormalPrior: scale must be a positive/);
  assert.throws(() => new P.UniformPrior(2, 1), /UniformPrior: needs a < b/);
  assert.throws(() => new P.SmoothedBoxPrior(0, 1, 0), /SmoothedBoxPrior: sigma must be a positive/);
  assert.throws(() => new P.HalfCauchyPrior(Number.NaN), /HalfCauchyPrior: scale/);
  assert.throws(
    () => new gp.kernels.RBFKernel({ lengthscalePrior: { concentration: 3 } as unknown as gp.priors.Prior }),
    (e: Error) => e instanceof gp.errors.ArgumentError && /lengthscalePrior must be a gp.priors prior/.test(e.message),
  );
  // A prior evaluated outside its support inside an MLL: the named error reaches the caller.
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.1 });
  const model = new gp.models.ExactGP([[0], [1]], [0, 1], lik, {
    meanModule: new gp.means.ZeroMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel(), { outputscalePrior: new P.UniformPrior(2, 3) }),
  });
  await assert.rejects(new gp.mlls.ExactMarginalLogLikelihood(lik, model).evaluate(), (e: Error) => e instanceof gp.errors.PriorSupportError && /UniformPrior\(a=2, b=3\) is defined for 2 <= x <= 3, got 0\.69/.test(e.message));
});
