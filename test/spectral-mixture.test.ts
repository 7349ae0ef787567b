// SpectralMixtureKernel against GPyTorch 1.12 (test/fixtures/reference/
// spectral_mixture.json, tolerance 1e-13): K(x1, x2), K(x1, x1) and the diag
// path at recorded raw parameters; the MLL gradient w.r.t. every raw mixture
// parameter against central differences; initializeFromData's ranges; and
// the errors for a missing numMixtures and a wrong input width.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";

interface SmCase {
  name: string;
  num_mixtures: number;
  ard_num_dims: number;
  x1: number[][];
  x2: number[][];
  params: Record<string, { raw: unknown }>;
  K_x1_x2: number[][];
  K_x1_x1: number[][];
  diag_x1_x1: number[];
  wilson_sum_of_products_K_x1_x2_for_comparison: number[][];
}

const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/spectral_mixture.json"), "utf8")) as { kernels: SmCase[] };

function loaded(c: SmCase): gp.kernels.SpectralMixtureKernel {
  const k = new gp.kernels.SpectralMixtureKernel({ numMixtures: c.num_mixtures, ardNumDims: c.ard_num_dims });
  const dict: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(c.params)) dict[key] = p.raw;
  return k.loadStateDict(dict);
}

function maxAbs(a: number[][], b: ArrayLike<number>): number {
  return Math.max(...a.flat().map((v, i) => Math.abs(v - b[i])));
}

const asMat = (x: number[][]) => ({ rows: x.length, cols: x[0].length, data: Float64Array.from(x.flat()) });

for (const c of ref.kernels) {
  test(`SpectralMixtureKernel ${c.name}: K(x1, x2), K(x1, x1) and the diag path match GPyTorch within 1e-13`, () => {
    const k = loaded(c);
    const x1 = asMat(c.x1);
    const k12 = k.operatorF64(x1, asMat(c.x2)).toDenseF64().data;
    assert.ok(maxAbs(c.K_x1_x2, k12) < 1e-13, `${c.name} K(x1, x2) max error ${maxAbs(c.K_x1_x2, k12)}`);
    const k11 = k.operatorF64(x1, x1).toDenseF64().data;
    assert.ok(maxAbs(c.K_x1_x1, k11) < 1e-13, `${c.name} K(x1, x1) max error ${maxAbs(c.K_x1_x1, k11)}`);
    const diag = k.diagF64(x1, x1);
    assert.ok(maxAbs([c.diag_x1_x1], diag) < 1e-13, `${c.name} diag max error ${maxAbs([c.diag_x1_x1], diag)}`);
    // GPyTorch's product over dimensions: the diagonal is (sum of weights)^d.
    const sw = k.mixtureWeights.reduce((a, b) => a + b, 0);
    diag.forEach((v) => assert.ok(Math.abs(v - sw ** c.ard_num_dims) < 1e-13));
    if (c.ard_num_dims > 1) {
      // Wilson's sum over mixtures of products differs: the formula is not that one.
      assert.ok(maxAbs(c.wilson_sum_of_products_K_x1_x2_for_comparison, k12) > 1e-3);
    }
    // The public call path (a lazy operator; tensors may be f32 on some backends).
    const viaCall = k.call(c.x1, c.x2).toDense().arraySync() as number[][];
    assert.ok(maxAbs(c.K_x1_x2, viaCall.flat()) < 1e-5);
  });

  test(`SpectralMixtureKernel ${c.name}: K @ V on the fused and tfjs executors matches GPyTorch's K`, () => {
    const k = loaded(c);
    const m = c.x2.length;
    const eye = { rows: m, cols: m, data: new Float64Array(m * m) };
    for (let j = 0; j < m; j++) eye.data[j * m + j] = 1;
    const fused = k.operatorF64(asMat(c.x1), asMat(c.x2), { reduction: { executor: "fused" } }).matmulF64(eye).data;
    assert.ok(maxAbs(c.K_x1_x2, fused) < 1e-13, `fused K @ I max error ${maxAbs(c.K_x1_x2, fused)}`);
    const tiles = k.operatorF64(asMat(c.x1), asMat(c.x2), { reduction: { executor: "tfjs" } }).matmulF64(eye).data;
    assert.ok(maxAbs(c.K_x1_x2, tiles) < 1e-5, `tfjs (f32) K @ I max error ${maxAbs(c.K_x1_x2, tiles)}`);
  });
}

function series(n: number, d: number, seed: number): { x: number[][]; y: number[] } {
  const r = new gp.RandomSource(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => 3 * r.uniform()));
  const y = x.map((row) => Math.sin(4 * row[0]) + 0.5 * Math.cos(2 * row[d - 1]) + 0.1 * r.normal());
  return { x, y };
}

for (const c of ref.kernels) {
  test(`SpectralMixtureKernel ${c.name}: MLL gradient w.r.t. every raw mixture parameter matches central differences`, async () => {
    const { x, y } = series(40, c.ard_num_dims, 3);
    const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05 });
    const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean(), covarModule: loaded(c) });
    const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
    await assertGradientMatchesDifferences(model, mll, { relTol: 1e-5, floor: 1e-3, label: c.name });
  });
}

test("SpectralMixtureKernel.initializeFromData follows GPyTorch's ranges and repeats under gp.setSeed", () => {
  const x = [[0], [0.5], [0.5], [1.25], [3]];
  const y = [1, 2, 0, -1, 3];
  const make = () => {
    gp.setSeed(11);
    return new gp.kernels.SpectralMixtureKernel({ numMixtures: 3 }).initializeFromData(x, y);
  };
  const k = make();
  // Weights: unbiased std(y) / Q.
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / (y.length - 1));
  k.mixtureWeights.forEach((w) => assert.ok(Math.abs(w - std / 3) < 1e-12));
  // Means: U(0, 0.5 / smallest nonzero gap = 0.5 / 0.5); scales: 1 / |N(0, 1) * range (3)|.
  k.mixtureMeans.forEach((mu) => assert.ok(mu > 0 && mu < 1, `mean ${mu}`));
  k.mixtureScales.forEach((s) => assert.ok(s > 0 && Number.isFinite(s)));
  assert.deepEqual(make().stateDict(), k.stateDict());
  assert.equal(new Set(k.mixtureMeans).size, 3, "each mixture draws its own mean");
});

test("SpectralMixtureKernel: bad input is a named error", () => {
  assert.throws(() => new gp.kernels.SpectralMixtureKernel(undefined as unknown as gp.kernels.SpectralMixtureOptions), /needs numMixtures/);
  assert.throws(() => new gp.kernels.SpectralMixtureKernel({ numMixtures: 0 }), /numMixtures must be a positive integer/);
  const k = new gp.kernels.SpectralMixtureKernel({ numMixtures: 2, ardNumDims: 2 });
  assert.throws(() => k.call([[1], [2]]), (e: Error) => e instanceof gp.errors.ShapeError && /expects inputs with 2 columns/.test(e.message));
  assert.throws(() => k.initializeFromData([[1, 2]], [1, 2]), /x has 1 rows but y has 2/);
  assert.deepEqual(Object.keys(k.stateDict()), ["rawMixtureWeights", "rawMixtureMeans", "rawMixtureScales"]);
});

test("SpectralMixtureKernel: the tfjs (float32) executor's MLL gradient agrees with the f64 one within 2e-2", async () => {
  const c = ref.kernels[0];
  const { x, y } = series(40, c.ard_num_dims, 3);
  const lik = new gp.likelihoods.GaussianLikelihood({ noise: 0.05 });
  const model = new gp.models.ExactGP(x, y, lik, { meanModule: new gp.means.ConstantMean(), covarModule: loaded(c) });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(lik, model);
  const grads = async () => {
    model.zeroGrad();
    await mll.evaluateWithGradient();
    return model.parameters().map((p) => Array.from(p.grad));
  };
  const f64 = await grads();
  gp.backend.setExecutor("tfjs");
  let f32: number[][];
  try {
    f32 = await grads();
  } finally {
    gp.backend.setExecutor(null);
  }
  f64.forEach((g, k) => g.forEach((v, i) => assert.ok(Math.abs(f32[k][i] - v) <= 2e-2 * Math.max(1e-2, Math.abs(v)), `parameter ${k}[${i}]: tfjs ${f32[k][i]} vs f64 ${v}`)));
});
