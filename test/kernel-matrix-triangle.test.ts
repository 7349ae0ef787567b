// The whole symmetric K(x, x) evaluated as its lower triangle (the exact
// path's dense copy): against a closed form written here at n = 1, 7, 100,
// 800 on one and two threads, in WebAssembly and in generated JavaScript;
// the mirrored upper triangle against whole rows; the reused buffer of the
// Cholesky factorisation against a fresh dense copy; the gradient pass with
// weights flagged symmetric against the same pass reading both triangles.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { choleskyWithJitter } from "../lib/algorithms/cholesky";
import { mat } from "../lib/algorithms/matrix";
import { pairwiseBilinear, pairwiseRows } from "../lib/reductions/engine";
import { centredRng } from "./helpers/denseReference";

const { profiles } = gp.reductions;
type Formula = gp.reductions.Formula;

/** c * exp(-|x_i - x_j|^2 / 2) on features x [n, d], as a formula on K(x, x). */
function scaledRbf(x: Float64Array, n: number, d: number, c: number): Formula {
  return { name: "Scale(RBF)", n, m: n, factors: [{ statistic: "sqdist", dims: d, profile: profiles.rbfProfile, params: new Float64Array(0), x, y: x }], terms: [{ coef: c, factors: [0] }] };
}

/** The same matrix by the closed form, every entry. shape: [n, n] */
function scaledRbfDense(x: Float64Array, n: number, d: number, c: number): Float64Array {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] - x[j * d + k]) ** 2;
      K[i * n + j] = c * Math.exp(-s / 2);
    }
  }
  return K;
}

function maxAbs(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const allRows = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe("K(x, x) as its lower triangle", () => {
  it("equals the closed form at n = 1, 7, 100, 800 on one and two threads, WebAssembly and generated JS; counts n (n + 1) / 2 pairs", () => {
    const d = 10;
    for (const n of [1, 7, 100, 800]) {
      const x = Float64Array.from({ length: n * d }, centredRng(n));
      const want = scaledRbfDense(x, n, d, 1.7);
      for (const code of ["wasm-simd", "js"] as const) {
        if (code === "js") process.env.GPLAB_FUSED_WASM = "0";
        try {
          for (const threads of [1, 2]) {
            const got = pairwiseRows(scaledRbf(x, n, d, 1.7), allRows(n), { executor: "fused", symmetric: true, threads });
            const report = gp.reductions.lastReport()!;
            assert.equal(report.code, code);
            assert.equal(report.pairs, (n * (n + 1)) / 2);
            assert.ok(maxAbs(got, want) < 1e-13, `n = ${n}, ${code}, ${threads} threads: ${maxAbs(got, want)}`);
            for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(got[j * n + i], got[i * n + j]);
          }
        } finally {
          delete process.env.GPLAB_FUSED_WASM;
        }
      }
    }
  });

  it("its lower triangle equals whole rows bit for bit (Periodic * RBF, sin^2 features), also written into a given buffer; lowerOnly leaves the upper part alone", () => {
    const rand = centredRng(5);
    const n = 300, d = 3;
    const xs = Float64Array.from({ length: n * d }, rand);
    const xp = Float64Array.from({ length: n * d }, rand);
    const f: Formula = {
      name: "Periodic*RBF", n, m: n,
      factors: [
        { statistic: "sqdist", dims: d, profile: profiles.rbfProfile, params: new Float64Array(0), x: xs, y: xs },
        { statistic: "sinsq", dims: d, profile: profiles.periodicProfile, params: new Float64Array(0), x: xp, y: xp, weights: Float64Array.of(0.7, 1.1, 1.9) },
      ],
      terms: [{ coef: 0.8, factors: [0, 1] }],
    };
    const whole = pairwiseRows(f, allRows(n), { executor: "fused" }); // not marked symmetric: every pair
    assert.equal(gp.reductions.lastReport()!.pairs, n * n);
    // The lower triangle bit for bit; above it the mirror, which whole rows match to rounding (k(x_j, x_i) vs k(x_i, x_j)).
    const mirrored = pairwiseRows(f, allRows(n), { executor: "fused", symmetric: true });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        assert.equal(mirrored[i * n + j], whole[i * n + j]);
        assert.equal(mirrored[j * n + i], whole[i * n + j]);
        assert.ok(Math.abs(whole[j * n + i] - whole[i * n + j]) <= 1e-15, `(${j}, ${i})`);
      }
    }
    const buffer = new Float64Array(n * n + 5).fill(Number.NaN);
    const lower = pairwiseRows(f, allRows(n), { executor: "fused", symmetric: true, threads: 1 }, { out: buffer, lowerOnly: true });
    assert.equal(lower.buffer, buffer.buffer);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) assert.equal(lower[i * n + j], whole[i * n + j]);
    assert.ok(Number.isNaN(buffer[n * n]), "nothing written past n x n");
  });

  it("the dense-weight gradient pass over K(x, x) with weights flagged symmetric equals the pass reading M_ij + M_ji, and every ordered pair", () => {
    const d = 10;
    for (const n of [7, 100, 354]) {
      const rand = centredRng(31 + n);
      const x = Float64Array.from({ length: n * d }, rand);
      const M = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) M[i * n + j] = M[j * n + i] = rand();
      const f = scaledRbf(x, n, d, 0.9);
      const flagged = pairwiseBilinear(f, { kind: "dense", M, symmetric: true }, { executor: "fused", symmetric: true });
      const columns = pairwiseBilinear(f, { kind: "dense", M }, { executor: "fused", symmetric: true });
      const ordered = pairwiseBilinear(f, { kind: "dense", M }, { executor: "fused" });
      assert.deepEqual(flagged, columns);
      assert.ok(maxAbs(flagged, ordered) <= 1e-11 * Math.max(1, ...Array.from(ordered, Math.abs)), `n = ${n}: ${maxAbs(flagged, ordered)}`);
    }
  });

  it("the exact path factors the reused lower-triangle copy: choleskyFactor equals the factor of toDenseF64, iteration after iteration", () => {
    const d = 4, n = 150;
    const rand = centredRng(9);
    const x = Array.from({ length: n }, () => Array.from({ length: d }, () => 3 * rand()));
    const y = x.map((p) => Math.sin(p[0]) + p[1]);
    const likelihood = new gp.likelihoods.GaussianLikelihood();
    const model = new gp.models.ExactGP(x, y, likelihood, { meanModule: new gp.means.ConstantMean(), covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: d })) });
    for (const [scale, noise] of [[1.3, 0.1], [0.4, 0.02], [2.2, 0.3]]) {
      model.initialize({ "covarModule.outputscale": scale, "likelihood.noise": noise });
      const covariance = model.trainingSystem().covariance;
      const dense = covariance.toDenseF64();
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(dense.data[i * n + j], dense.data[j * n + i]);
      const want = choleskyWithJitter(mat(n, n, dense.data)).L;
      assert.deepEqual(covariance.choleskyFactor().data, want.data);
    }
  });
});
