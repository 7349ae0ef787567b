// The dense f64 algebra of the exact path below maxCholeskySize: the blocked
// Cholesky inverse against the plain dot-product version and against
// A^{-1} A = I, Cholesky factors against the textbook loop at n = 1, 7, 100,
// 800, the jitter ladder and NotPSDError on near-singular matrices, and the
// MLL gradient (which reads the inverse) against finite differences at sizes
// on both sides of the blocked threshold.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { choleskyInverseBlocked, lowerInverseInPlace } from "../lib/algorithms/choleskyInverse";
import { choleskyWithJitter, factorStillInArena } from "../lib/algorithms/cholesky";
import { type Mat, mat } from "../lib/algorithms/matrix";
import { arena, paddedStride } from "../lib/algorithms/wasmGemm";
import { NotPSDError } from "../lib/errors";
import { choleskyInverse, choleskyInversePlain } from "../lib/mlls/choleskyInverse";
import { centredRng as rng } from "./helpers/denseReference";
import { relErr as relDiff } from "./helpers/reference";
import { assertGradientMatchesDifferences } from "./helpers/gradientCheck";


/** G G^T + shift I with G [n, n + 3] seeded. shape: [n, n] */
function spd(n: number, seed: number, shift: number): Mat {
  const r = rng(seed);
  const k = n + 3;
  const G = Float64Array.from({ length: n * k }, r);
  const A = mat(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += G[i * k + p] * G[j * k + p];
      A.data[i * n + j] = A.data[j * n + i] = s;
    }
    A.data[i * n + i] += shift;
  }
  return A;
}

/** The textbook Cholesky loop. */
function textbookCholesky(A: Mat): Mat {
  const n = A.rows, L = mat(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A.data[i * n + j];
      for (let k = 0; k < j; k++) s -= L.data[i * n + k] * L.data[j * n + k];
      L.data[i * n + j] = i === j ? Math.sqrt(s) : s / L.data[j * n + j];
    }
  }
  return L;
}

function quietly<T>(f: () => T): T {
  const warn = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return f();
  } finally {
    process.emitWarning = warn;
  }
}

test("Cholesky factors equal the textbook loop at n = 1, 7, 100, 800", () => {
  for (const n of [1, 7, 100, 800]) {
    const A = spd(n, 10 + n, 0.5);
    const { L, jitter } = choleskyWithJitter(A);
    assert.equal(jitter, 0);
    const want = textbookCholesky(A);
    assert.ok(relDiff(L.data, want.data) < 1e-11, `n ${n}: ${relDiff(L.data, want.data)}`);
  }
});

test("blocked Cholesky inverse equals the dot-product version and inverts A, at n = 1, 7, 33, 100, 800", () => {
  for (const n of [1, 7, 33, 100, 800]) {
    const A = spd(n, 20 + n, 1);
    const L = textbookCholesky(A);
    const got = choleskyInverseBlocked(L);
    assert.ok(got, "the arena holds four 800 x 800 blocks");
    const want = choleskyInversePlain(L);
    assert.ok(relDiff(got.data, want.data) < 1e-11, `n ${n}: ${relDiff(got.data, want.data)}`);
    // Symmetric, and A^{-1} A = I (a check independent of either implementation).
    let asym = 0, offI = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        asym = Math.max(asym, Math.abs(got.data[i * n + j] - got.data[j * n + i]));
        if (n <= 100) {
          let s = 0;
          for (let k = 0; k < n; k++) s += got.data[i * n + k] * A.data[k * n + j];
          offI = Math.max(offI, Math.abs(s - (i === j ? 1 : 0)));
        }
      }
    }
    assert.equal(asym, 0);
    assert.ok(offI < 1e-9, `n ${n}: |A^-1 A - I| = ${offI}`);
    // The MLL's weights s (v v^T - A^{-1}), written as the inverse is copied out (blocked) or after it (plain, n < 33),
    // into a buffer holding garbage: equal to the formula on the plain inverse.
    const v = Float64Array.from({ length: n }, rng(n + 1)), s = 0.37;
    const buffer = new Float64Array(n * n).fill(Number.NaN);
    const weights = choleskyInverse(L, buffer, { v, s });
    assert.equal(weights.data.buffer, buffer.buffer);
    const formula = want.data.map((w, p) => s * (v[Math.floor(p / n)] * v[p % n] - w));
    assert.ok(relDiff(weights.data, formula) < 1e-11, `n ${n} weights: ${relDiff(weights.data, formula)}`);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(weights.data[i * n + j], weights.data[j * n + i]);
  }
});

test("the inverse right after the blocked Cholesky reads L where the factorisation left it: equal bit for bit to copying L in", () => {
  for (const n of [100, 353]) {
    const A = spd(n, 70 + n, 1);
    const L = choleskyWithJitter(A).L;
    assert.ok(factorStillInArena(L), "nothing used the arena since the factorisation");
    const inPlace = choleskyInverseBlocked(L)!;
    assert.ok(!factorStillInArena(L), "the inverse used the arena");
    arena(1);
    const copied = choleskyInverseBlocked(L)!;
    assert.deepEqual(inPlace.data, copied.data);
    assert.ok(relDiff(inPlace.data, choleskyInversePlain(L).data) < 1e-11);
  }
});

test("lowerInverseInPlace writes L^{-1} (zeros above the diagonal inside the diagonal blocks) with padded strides, reading nothing of X on entry", () => {
  const n = 75, ld = paddedStride(n), NB = 32;
  const L = textbookCholesky(spd(n, 5, 1));
  const mem = arena(2 * n * ld);
  assert.ok(mem);
  // NaN where X goes: any entry read before it is written spreads into the result.
  mem.fill(Number.NaN, 0, 2 * n * ld);
  for (let i = 0; i <= n - 1; i++) mem.set(L.data.subarray(i * n, i * n + i + 1), i * ld);
  lowerInverseInPlace(mem, n, 0, n * ld, ld);
  let err = 0;
  const x = (k: number, j: number) => (j > k ? 0 : mem[n * ld + k * ld + j]); // right of the diagonal blocks X is not written
  for (let i = 0; i < n; i++) {
    const blockEnd = Math.min(n, (Math.floor(i / NB) + 1) * NB);
    for (let j = 0; j < n; j++) {
      // (L X)[i, j] = delta_ij
      let s = 0;
      for (let k = 0; k <= i; k++) s += L.data[i * n + k] * x(k, j);
      err = Math.max(err, Math.abs(s - (i === j ? 1 : 0)));
      if (j > i && j < blockEnd) assert.equal(mem[n * ld + i * ld + j], 0);
    }
  }
  assert.ok(err < 1e-12, `|L X - I| = ${err}`);
});

test("near-singular matrices: the jitter ladder picks the first jitter the textbook loop succeeds with; NotPSDError after the last", () => {
  // Rank-deficient PSD (duplicate rows): plain Cholesky fails, small jitter succeeds.
  for (const n of [7, 100, 354]) {
    const r = rng(n);
    const k = Math.max(2, n >> 2); // rank k < n
    const G = Float64Array.from({ length: n * k }, r);
    const A = mat(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += G[i * k + p] * G[j * k + p];
      A.data[i * n + j] = s;
    }
    const textbookJitter = [0, 1e-6, 1e-5, 1e-4].find((j) => {
      const B = mat(n, n, A.data.slice());
      for (let i = 0; i < n; i++) B.data[i * n + i] += j;
      return textbookCholesky(B).data.every(Number.isFinite);
    });
    const got = quietly(() => choleskyWithJitter(A));
    assert.equal(got.jitter, textbookJitter, `n ${n}`);
    assert.ok(got.jitter > 0);
  }
  // Indefinite: no jitter on the ladder helps.
  const n = 100, A = spd(n, 3, 0);
  for (let i = 0; i < n; i++) A.data[i * n + i] -= 0.5;
  A.data[0] = -1;
  assert.throws(() => quietly(() => choleskyWithJitter(A, "K")), (e: unknown) => e instanceof NotPSDError && /not positive definite even with jitter 0\.0001/.test(e.message));
});

test("exact MLL gradient against finite differences at n = 7 (plain inverse) and n = 100 (blocked inverse)", async () => {
  for (const n of [7, 100]) {
    const r = rng(99 + n);
    const d = 3;
    const x = Array.from({ length: n }, () => Array.from({ length: d }, () => 4 * r()));
    const y = x.map((p) => Math.sin(p[0]) + 0.3 * p[1] + 0.1 * r());
    const likelihood = new gp.likelihoods.GaussianLikelihood();
    const model = new gp.models.ExactGP(x, y, likelihood, {
      meanModule: new gp.means.ConstantMean(),
      covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: d })),
    });
    const mll = new gp.mlls.ExactMarginalLogLikelihood(likelihood, model);
    await assertGradientMatchesDifferences(model, mll, { relTol: 1e-5, floor: 1e-3, label: `n ${n}` });
  }
});
