// The second round of dense-kernel changes against references written here:
// triangular solves (row-contiguous loops below 4 right-hand sides, 4-row
// substitution steps inside the diagonal blocks above) against textbook
// substitution at n = 1, 7, 100, 800, also on the ill-conditioned factor
// of a 1-D grid's K_ZZ; the tiled transposes against element loops at odd
// shapes and strides; the input gradient (now the rows reduction of the
// kernel's derivative formula) against its closed form for Scale(RBF); and
// the exact MLL's reused weight buffer against fresh MLLs.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { choleskyWithJitter, solveLower, solveLowerTransposed } from "../lib/algorithms/cholesky";
import { type Mat, mat } from "../lib/algorithms/matrix";
import { transposeInto, transposeLower } from "../lib/algorithms/transpose";
import { arena } from "../lib/algorithms/wasmGemm";
import { inputGradient } from "../lib/kernels/inputGradient";
import { centredRng as rng, randomMat as random, substituteLower, substituteUpper } from "./helpers/denseReference";
import { relErr as relDiff } from "./helpers/reference";



/** A well-conditioned lower factor with junk above the diagonal (the solves must not read it). */
function lowerFactor(n: number, seed: number): Mat {
  const L = random(n, n, seed);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) L.data[i * n + j] /= Math.sqrt(n);
    L.data[i * n + i] = 1 + Math.abs(L.data[i * n + i]);
  }
  return L;
}

test("triangular solves equal textbook substitution at n = 1, 7, 100, 800 for 1, 2, 3, 4 and 37 right-hand sides", () => {
  let seed = 700;
  for (const n of [1, 7, 100, 800]) {
    const L = lowerFactor(n, seed++);
    for (const t of [1, 2, 3, 4, 37]) {
      const B = random(n, t, seed++);
      const lower = relDiff(solveLower(L, B).data, substituteLower(L, B).data);
      const upper = relDiff(solveLowerTransposed(L, B).data, substituteUpper(L, B).data);
      assert.ok(lower < 1e-12, `solveLower n ${n}, t ${t}: ${lower}`);
      assert.ok(upper < 1e-12, `solveLowerTransposed n ${n}, t ${t}: ${upper}`);
    }
  }
});

test("solves with the ill-conditioned factor of a 1-D grid's K_ZZ agree with substitution", () => {
  // RBF on 256 grid points 0.04 apart with lengthscale 1, jitter 1e-6: L's pivots run from 1 down to 1.6e-3.
  const M = 256, K = mat(M, M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) K.data[i * M + j] = Math.exp(-0.5 * (0.04 * (i - j)) ** 2) + (i === j ? 1e-6 : 0);
  const { L, jitter } = choleskyWithJitter(K);
  assert.equal(jitter, 0);
  for (const t of [1, 3, 64]) {
    const B = random(M, t, 900 + t);
    const lower = relDiff(solveLower(L, B).data, substituteLower(L, B).data);
    const upper = relDiff(solveLowerTransposed(L, B).data, substituteUpper(L, B).data);
    // Both orders carry rounding amplified by cond(L) (measured ~2e-13).
    assert.ok(lower < 1e-11, `solveLower t ${t}: ${lower}`);
    assert.ok(upper < 1e-11, `solveLowerTransposed t ${t}: ${upper}`);
  }
});

test("tiled transposes equal element loops at odd shapes and strides, on plain arrays and the arena", () => {
  for (const [rows, cols] of [[1, 1], [1, 17], [15, 1], [17, 33], [70, 31], [256, 1030]]) {
    const lds = cols + 3, ldd = rows + 5;
    const src = Float64Array.from({ length: 2 + rows * lds }, rng(rows * 7 + cols));
    const want = new Float64Array(1 + cols * ldd).fill(-7);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[1 + j * ldd + i] = src[2 + i * lds + j];
    const plain = new Float64Array(1 + cols * ldd).fill(-7);
    transposeInto(src, 2, lds, plain, 1, ldd, rows, cols);
    assert.deepEqual(plain, want, `${rows} x ${cols}`);
    const mem = arena(want.length) as Float64Array;
    mem.fill(-7, 0, want.length);
    transposeInto(src, 2, lds, mem, 1, ldd, rows, cols);
    assert.deepEqual(mem.slice(0, want.length), want, `${rows} x ${cols} into the arena`);
  }
  for (const n of [1, 15, 16, 17, 100]) {
    const ld = n + 1;
    const src = Float64Array.from({ length: n * ld }, rng(n));
    const want = new Float64Array(n * ld).fill(-7);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) want[j * ld + i] = src[i * ld + j];
    const got = new Float64Array(n * ld).fill(-7);
    transposeLower(src, 0, ld, got, 0, ld, n);
    assert.deepEqual(got, want, `lower ${n}`);
    // In place: the upper triangle from the lower one, the lower untouched.
    const sym = src.slice();
    transposeLower(sym, 0, ld, sym, 0, ld, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(sym[i * ld + j], src[Math.max(i, j) * ld + Math.min(i, j)]);
  }
});

test("inputGradient of Scale(RBF) runs the compiled rows reduction and equals the closed form", () => {
  const M = 64, B = 300, d = 3;
  const r = rng(31);
  const z = mat(M, d, Float64Array.from({ length: M * d }, () => 4 * r()));
  const x = mat(B, d, Float64Array.from({ length: B * d }, () => 4 * r()));
  const G = Float64Array.from({ length: M * B }, () => r());
  for (let q = 0; q < 50; q++) G[q * 7] = 0; // zero weights are skipped
  const kernel = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: d }));
  kernel.initialize({ outputscale: 1.7, "baseKernel.lengthscale": [0.6, 1.1, 2.3] });
  const ell = [0.6, 1.1, 2.3], s2 = 1.7;
  const codes: string[] = [];
  const off = gp.reductions.onReport((rep) => codes.push(`${rep.operation} ${rep.code}`));
  const got = inputGradient(kernel, z, x, G);
  off();
  assert.ok(codes.includes("rows wasm-simd"), codes.join(", "));
  // d/dz_jc of s2 exp(-sum_c (z_jc - x_ic)^2 / (2 ell_c^2)) = -k_ji (z_jc - x_ic) / ell_c^2
  const want = new Float64Array(M * d);
  for (let j = 0; j < M; j++) {
    for (let i = 0; i < B; i++) {
      let q = 0;
      for (let c = 0; c < d; c++) q += ((z.data[j * d + c] - x.data[i * d + c]) / ell[c]) ** 2;
      const k = s2 * Math.exp(-0.5 * q);
      for (let c = 0; c < d; c++) want[j * d + c] -= G[j * B + i] * k * (z.data[j * d + c] - x.data[i * d + c]) / ell[c] ** 2;
    }
  }
  assert.ok(relDiff(got.data, want) < 1e-12, `${relDiff(got.data, want)}`);
});

test("the exact MLL reuses its weight buffer: gradients equal a fresh MLL's at every evaluation, also when n changes", async () => {
  const r = rng(5);
  const data = (n: number) => {
    const x = Array.from({ length: n }, () => [3 * r(), 3 * r()]);
    return { x, y: x.map((p) => Math.sin(2 * p[0]) + p[1] + 0.1 * r()) };
  };
  const build = (x: number[][], y: number[]) => {
    const likelihood = new gp.likelihoods.GaussianLikelihood();
    const model = new gp.models.ExactGP(x, y, likelihood, {
      meanModule: new gp.means.ConstantMean(),
      covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: 2 })),
    });
    return { model, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
  };
  const grads = (model: gp.models.ExactGP) => model.parameters().flatMap((p) => Array.from(p.grad));
  const big = data(120), small = data(60);
  const reused = build(big.x, big.y);
  for (const lengthscale of [0.5, 1.5]) {
    reused.model.initialize({ "covarModule.baseKernel.lengthscale": [lengthscale, 2 * lengthscale] });
    reused.model.zeroGrad();
    const value = (await reused.mll.evaluateWithGradient()).value;
    const fresh = build(big.x, big.y);
    fresh.model.initialize({ "covarModule.baseKernel.lengthscale": [lengthscale, 2 * lengthscale] });
    fresh.model.zeroGrad();
    assert.equal(value, (await fresh.mll.evaluateWithGradient()).value);
    assert.deepEqual(grads(reused.model), grads(fresh.model));
  }
  // The same MLL on fewer points (setTrainData) reads only the first n^2 entries of its larger buffer.
  reused.model.setTrainData(small.x, small.y);
  reused.model.zeroGrad();
  await reused.mll.evaluateWithGradient();
  const fresh = build(small.x, small.y);
  fresh.model.initialize({ "covarModule.baseKernel.lengthscale": [1.5, 3] });
  fresh.model.zeroGrad();
  await fresh.mll.evaluateWithGradient();
  assert.deepEqual(grads(reused.model), grads(fresh.model));
});
