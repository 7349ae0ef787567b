// The SVGP step's dense algebra (lib/variational/whitenedAlgebra.ts) and the
// lower-triangle products under it (lib/algorithms/lowerTriangleProducts.ts)
// against textbook f64 loops written here: full products, substitution one
// column at a time, the Cholesky backward formula L^{-T} Phi(L^T Lbar) L^{-1}
// symmetrised. Sizes straddle the 32-row panels and the 4-wide tiles, and
// cover both routes (through Q = Lz^{-T} (S - I) when 2M <= B, through W = L^T A otherwise).
// Also: the same in column chunks under a small workspace limit, and a
// backward pass whose buffers were reused by a later forward pass
// recomputes instead of reading the later batch.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { type Mat, mat } from "../lib/algorithms/matrix";
import { solveUpperColumns, triangularMatmulColumns } from "../lib/algorithms/columnTasks";
import { lowerGramOfLower, lowerPanelProduct, solveUpperLowerPart, upperTimesLowerPanels } from "../lib/algorithms/lowerTriangleProducts";
import { arena, gemmThreads, paddedStride, setGemmThreads } from "../lib/algorithms/wasmGemm";
import { WhitenedState, backwardWorkspace, chunkColumns, forwardWorkspace, whitenedBackward, whitenedForward } from "../lib/variational/whitenedAlgebra";
import { centredRng, product, randomMat, substituteLower, substituteUpper, transposed, triangle } from "./helpers/denseReference";
import { relErr } from "./helpers/reference";

/** A well-conditioned lower-triangular factor (zeros above the diagonal). */
function lowerFactor(n: number, seed: number): Mat {
  const L = triangle(randomMat(n, n, seed), true);
  for (let i = 0; i < n; i++) L.data[i * n + i] = 1 + Math.abs(L.data[i * n + i]);
  return L;
}

/** The lower triangles of a and b agree to tol (relative to b's largest entry). */
function assertLowerClose(got: ArrayLike<number>, want: Mat, tol: number, what: string): void {
  const n = want.rows, g: number[] = [], w: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    g.push(got[i * n + j]);
    w.push(want.data[i * n + j]);
  }
  assert.ok(relErr(g, w) < tol, `${what}: ${relErr(g, w)}`);
}

test("lower-triangle products and the lower-part back substitution match full textbook products, on the arena with padded strides", () => {
  for (const n of [1, 5, 33, 70, 300]) {
    const k = n + 19, lda = k + 3, ldb = n + 5;
    const A = randomMat(n, k, 10 + n), B = randomMat(k, n, 20 + n);
    const mem = arena(n * lda + k * ldb + 4 * n * n) as Float64Array;
    const a = 0, b = n * lda, out = b + k * ldb, u = out + n * n, t = u + n * n, y = t + n * n;
    for (let i = 0; i < n; i++) mem.set(A.data.subarray(i * k, (i + 1) * k), a + i * lda);
    for (let i = 0; i < k; i++) mem.set(B.data.subarray(i * n, (i + 1) * n), b + i * ldb);
    mem.fill(0.25, out, out + n * n); // accumulates onto what is there
    lowerPanelProduct(mem, n, k, a, lda, b, ldb, out, n, -2);
    const want = product(A, B);
    for (let q = 0; q < n * n; q++) want.data[q] = 0.25 - 2 * want.data[q];
    assertLowerClose(mem.subarray(out, out + n * n), want, 1e-13, `lowerPanelProduct n ${n}`);
    // A lower triangular: the panels stop at their last row's term.
    const Lt = lowerFactor(n, 60 + n), Bn = randomMat(n, n, 70 + n);
    mem.set(Lt.data, a);
    mem.set(Bn.data, b);
    mem.fill(0, out, out + n * n);
    lowerPanelProduct(mem, n, n, a, n, b, n, out, n, 1, true);
    assertLowerClose(mem.subarray(out, out + n * n), product(Lt, Bn), 1e-13, `lowerPanelProduct, A lower, n ${n}`);

    // tril(L L^T) by column panels.
    const Lg = lowerFactor(n, 80 + n);
    mem.set(Lg.data, u);
    mem.set(transposed(Lg).data, t);
    mem.fill(0, out, out + n * n);
    lowerGramOfLower(mem, n, u, t, out);
    assertLowerClose(mem.subarray(out, out + n * n), product(Lg, transposed(Lg)), 1e-13, `lowerGramOfLower n ${n}`);
    // Overwriting: what was there (NaN) is not read.
    mem.fill(Number.NaN, out, out + n * n);
    lowerGramOfLower(mem, n, u, t, out, true);
    assertLowerClose(mem.subarray(out, out + n * n), product(Lg, transposed(Lg)), 1e-13, `lowerGramOfLower overwriting, n ${n}`);
    mem.set(A.data.subarray(0, n * n), a);
    mem.fill(Number.NaN, out, out + n * n);
    lowerPanelProduct(mem, n, n, a, n, b, ldb, out, n, 3, false, true);
    const wantOver = product(mat(n, n, A.data.slice(0, n * n)), mat(n, n, Float64Array.from({ length: n * n }, (_, q) => mem[b + Math.floor(q / n) * ldb + (q % n)])));
    assertLowerClose(mem.subarray(out, out + n * n), mat(n, n, wantOver.data.map((v) => 3 * v)), 1e-13, `lowerPanelProduct overwriting, n ${n}`);

    // tril(U T) for U upper, T lower.
    const U = transposed(lowerFactor(n, 30 + n)), T = lowerFactor(n, 40 + n);
    mem.set(U.data, u);
    mem.set(T.data, t);
    mem.fill(0, out, out + n * n);
    upperTimesLowerPanels(mem, n, u, t, out);
    assertLowerClose(mem.subarray(out, out + n * n), product(U, T), 1e-13, `upperTimesLowerPanels n ${n}`);

    // tril(U^{-1} Y) reads only Y's lower triangle: junk above it must not matter.
    const Y = randomMat(n, n, 50 + n);
    mem.set(Y.data, y);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mem[y + i * n + j] = 1e6 * (i - j);
    solveUpperLowerPart(mem, n, u, y);
    // U = L'^T with L' = U^T: U^{-1} Y = L'^{-T} Y by backward substitution.
    const wantSolve = substituteUpper(transposed(U), triangle(Y, true));
    assertLowerClose(mem.subarray(y, y + n * n), wantSolve, 1e-12, `solveUpperLowerPart n ${n}`);
  }
});

/** The whitened forward and backward quantities by textbook loops. */
function reference(Lz: Mat, L: Mat, m: Float64Array, Kzx: Mat, gMu: Float64Array, gVar: Float64Array) {
  const M = Lz.rows, B = Kzx.cols;
  const A = substituteLower(Lz, Kzx);
  const W = product(transposed(L), A);
  const meanTerm = new Float64Array(B), varTerm = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    for (let k = 0; k < M; k++) {
      meanTerm[i] += A.data[k * B + i] * m[k];
      varTerm[i] += W.data[k * B + i] ** 2 - A.data[k * B + i] ** 2;
    }
  }
  const AG = mat(M, B, A.data.map((v, q) => v * gVar[q % B]));
  const dm = Float64Array.from({ length: M }, (_, k) => A.data.subarray(k * B, (k + 1) * B).reduce((s, v, i) => s + v * gMu[i], 0));
  const dL = triangle(product(product(AG, transposed(A)), L), true).data.map((v) => 2 * v);
  const LW = product(L, W);
  const dA = mat(M, B, LW.data.map((v, q) => m[Math.floor(q / B)] * gMu[q % B] + 2 * (v - A.data[q]) * gVar[q % B]));
  const dKzx = substituteUpper(Lz, dA);
  const dLz = triangle(product(dKzx, transposed(A)), true);
  for (let q = 0; q < M * M; q++) dLz.data[q] = -dLz.data[q];
  // dK_ZZ = sym(Lz^{-T} Phi(Lz^T dLz) Lz^{-1}).
  const P = product(transposed(Lz), dLz);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) P.data[i * M + j] = j > i ? 0 : i === j ? P.data[i * M + j] / 2 : P.data[i * M + j];
  const X = transposed(substituteUpper(Lz, transposed(substituteUpper(Lz, P))));
  const dKzz = Float64Array.from({ length: M * M }, (_, q) => 0.5 * (X.data[q] + X.data[(q % M) * M + Math.floor(q / M)]));
  return { A, W, meanTerm, varTerm, dm, dL, dKzx, dKzz };
}

test("whitenedForward / whitenedBackward match the textbook formulas (both routes, panel-straddling sizes)", () => {
  // [M, B]: 2M <= B goes through Q, 2M > B through W.
  for (const [M, B] of [[1, 3], [7, 37], [33, 66], [45, 130], [70, 101], [100, 37], [264, 530], [300, 140]]) {
    const Lz = lowerFactor(M, 100 + M), L = lowerFactor(M, 200 + M);
    for (let q = 0; q < M * M; q++) L.data[q] *= 0.5;
    const m = randomMat(1, M, 300 + M).data, Kzx = randomMat(M, B, 400 + M);
    const gMu = randomMat(1, B, 500 + B).data, gVar = randomMat(1, B, 600 + B).data;
    const want = reference(Lz, L, m, Kzx, gMu, gVar);
    const s = new WhitenedState(M);
    // Junk above the diagonals of the factors must not be read.
    const junk = (T: Mat) => mat(M, M, T.data.map((v, q) => (q % M > Math.floor(q / M) ? 99 : v)));
    whitenedForward(s, junk(Lz), junk(L), m, (out) => out.set(Kzx.data), B);
    const what = `M ${M}, B ${B}`;
    assert.ok(relErr(s.unpaddedA().data, want.A.data) < 1e-12, `A ${what}`);
    assert.ok(relErr(s.meanTerm, want.meanTerm) < 1e-12, `meanTerm ${what}`);
    assert.ok(relErr(s.varTerm, want.varTerm) < 1e-12, `varTerm ${what}`);
    const g = whitenedBackward(s, junk(Lz), junk(L), m, gMu, gVar);
    assert.ok(relErr(g.dm, want.dm) < 1e-12, `dm ${what}`);
    assert.ok(relErr(g.dL.data, want.dL) < 1e-12, `dL ${what}`);
    assert.ok(relErr(g.dKzx, want.dKzx.data) < 1e-12, `dKzx ${what}`);
    assert.ok(relErr(g.dKzz.data, want.dKzz) < 1e-11, `dKzz ${what}: ${relErr(g.dKzz.data, want.dKzz)}`);

    // Workspace limits that force column chunks of 24 (the last one short).
    if (B < 30) continue;
    const { fixed: fixedF, perColumn: perF } = forwardWorkspace(M, B);
    const { fixed: fixedB, perColumn: perB } = backwardWorkspace(M, B);
    const limitF = fixedF + perF * 40, limitB = fixedB + perB * 40;
    assert.equal(chunkColumns(B, fixedF, perF, limitF), 24);
    assert.equal(chunkColumns(B, fixedB, perB, limitB), 24);
    const chunked = new WhitenedState(M);
    // K_Zx written by a callback: into the workspace when it fits (it does not, here).
    whitenedForward(chunked, Lz, L, m, (out) => out.set(Kzx.data), B, limitF);
    assert.ok(relErr(chunked.meanTerm, want.meanTerm) < 1e-12 && relErr(chunked.varTerm, want.varTerm) < 1e-12, `chunked forward ${what}`);
    const gc = whitenedBackward(chunked, Lz, L, m, gMu, gVar, limitB);
    assert.ok(relErr(gc.dm, want.dm) < 1e-12 && relErr(gc.dL.data, want.dL) < 1e-12, `chunked dm, dL ${what}`);
    assert.ok(relErr(gc.dKzx, want.dKzx.data) < 1e-12, `chunked dKzx ${what}`);
    assert.ok(relErr(gc.dKzz.data, want.dKzz) < 1e-11, `chunked dKzz ${what}`);
  }
});

test("through Q on an ill-conditioned K_ZZ (RBF, close inducing points, jitter 1e-6): the textbook results to rounding of size cond(Lz) eps, not cond(K_ZZ) eps", () => {
  // 1-D inducing points 0.04 apart at lengthscale 1: cond(K_ZZ + 1e-6 I) ~ 1e6..1e7, so an error that
  // grew with cond(K_ZZ) eps (Lz^{-1} or K_ZZ^{-1} formed and multiplied out) would show at ~1e-9.
  const M = 80, B = 400, rand = centredRng(77);
  const z = Array.from({ length: M }, (_, k) => 0.04 * k), x = Array.from({ length: B }, () => 3.2 * (rand() + 0.5));
  const K = mat(M, M, Float64Array.from({ length: M * M }, (_, q) => Math.exp(-0.5 * (z[Math.floor(q / M)] - z[q % M]) ** 2) + (q % (M + 1) === 0 ? 1e-6 : 0)));
  // The textbook Cholesky, row by row.
  const Lz = mat(M, M);
  for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) {
    let s = K.data[i * M + j];
    for (let k = 0; k < j; k++) s -= Lz.data[i * M + k] * Lz.data[j * M + k];
    Lz.data[i * M + j] = i === j ? Math.sqrt(s) : s / Lz.data[j * M + j];
  }
  const Kzx = mat(M, B, Float64Array.from({ length: M * B }, (_, q) => Math.exp(-0.5 * (z[Math.floor(q / B)] - x[q % B]) ** 2)));
  const L = lowerFactor(M, 2500);
  for (let q = 0; q < M * M; q++) L.data[q] *= 0.3;
  const m = randomMat(1, M, 2600).data, gMu = randomMat(1, B, 2700).data, gVar = randomMat(1, B, 2800).data;
  const want = reference(Lz, L, m, Kzx, gMu, gVar);
  const s = new WhitenedState(M);
  whitenedForward(s, Lz, L, m, Kzx.data, B);
  assert.ok(s.throughQ, "2M <= B goes through Q");
  const g = whitenedBackward(s, Lz, L, m, gMu, gVar);
  const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(b).reduce((t, v, i) => Math.max(t, Math.abs(a[i] - v)), 0);
  // meanTerm and varTerm are O(1) (|a_i| <= 1): absolute errors.
  assert.ok(maxAbsDiff(s.meanTerm, want.meanTerm) < 1e-10, `meanTerm ${maxAbsDiff(s.meanTerm, want.meanTerm)}`);
  assert.ok(maxAbsDiff(s.varTerm, want.varTerm) < 1e-10, `varTerm ${maxAbsDiff(s.varTerm, want.varTerm)}`);
  assert.ok(relErr(g.dm, want.dm) < 1e-10 && relErr(g.dL.data, want.dL) < 1e-10, `dm ${relErr(g.dm, want.dm)}, dL ${relErr(g.dL.data, want.dL)}`);
  assert.ok(relErr(g.dKzx, want.dKzx.data) < 1e-9, `dKzx ${relErr(g.dKzx, want.dKzx.data)}`);
  assert.ok(relErr(g.dKzz.data, want.dKzz) < 1e-8, `dKzz ${relErr(g.dKzz.data, want.dKzz)}`);
});

test("a backward pass whose buffers a later forward pass reused gives the gradient of its own batch", () => {
  const M = 40, r = randomMat(1, 400, 7).data;
  const build = () => {
    gp.setSeed(3);
    const z = Array.from({ length: M }, (_, j) => [(6 * j) / (M - 1)]);
    return new gp.models.ApproximateGP({ inducingPoints: z });
  };
  const x1 = mat(150, 1, Float64Array.from({ length: 150 }, (_, i) => 6 * (r[i] + 0.5)));
  const x2 = mat(90, 1, Float64Array.from({ length: 90 }, (_, i) => 6 * (r[200 + i] + 0.5)));
  const gMu = Float64Array.from({ length: 150 }, (_, i) => Math.sin(i)), gVar = Float64Array.from({ length: 150 }, (_, i) => Math.cos(i));
  const grads = (model: gp.models.ApproximateGP) => model.parameters().map((p) => Array.from(p.grad)).flat();

  const fresh = build();
  fresh.marginalsF64(x1, { withGradient: true }).backward?.(gMu, gVar, 0.5);
  const interleaved = build();
  const first = interleaved.marginalsF64(x1, { withGradient: true });
  interleaved.marginalsF64(x2, { withGradient: true });
  first.backward?.(gMu, gVar, 0.5);
  assert.ok(relErr(grads(interleaved), grads(fresh)) < 1e-12);

  // A forward pass that gives up the arena's A and Y, then fails before forming new ones
  // (K_ZZ not positive definite): the earlier batch's backward pass still gets its own gradient.
  const failed = build();
  const pending = failed.marginalsF64(x1, { withGradient: true });
  const z = (failed.variationalStrategy as gp.variational.VariationalStrategy).inducingPoints.raw, saved = z.slice();
  z.fill(Number.NaN);
  assert.throws(() => failed.marginalsF64(x2, { withGradient: true }));
  z.set(saved);
  pending.backward?.(gMu, gVar, 0.5);
  assert.ok(relErr(grads(failed), grads(fresh)) < 1e-12);
});

test("the forward and backward passes on the GEMM pool's threads equal one thread bit for bit, and the workers took pieces", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  gemmThreads({ start: true });
  for (let t = 0; t < 400 && gemmThreads().workersReady < 1; t++) await new Promise((r) => setTimeout(r, 25));
  const piecesBefore = gemmThreads().workerPieces;
  // Both routes (2M <= B and 2M > B), with chunks large enough to be pooled.
  for (const [M, B] of [[96, 530], [200, 260]]) {
    const Lz = lowerFactor(M, 700 + M), L = lowerFactor(M, 800 + M);
    const m = randomMat(1, M, 900 + M).data, Kzx = randomMat(M, B, 1000 + M);
    const gMu = randomMat(1, B, 1100 + B).data, gVar = randomMat(1, B, 1200 + B).data;
    const run = (threads: number) => {
      const before = setGemmThreads(threads);
      try {
        const s = new WhitenedState(M);
        whitenedForward(s, Lz, L, m, Kzx.data, B);
        const g = whitenedBackward(s, Lz, L, m, gMu, gVar);
        return [s.unpaddedA().data, s.meanTerm.slice(), s.varTerm.slice(), g.dm, g.dL.data.slice(), g.dKzx.slice(), g.dKzz.data.slice()];
      } finally {
        setGemmThreads(before);
      }
    };
    // Under load the worker may not get to claim a piece in one run: a few tries.
    let threaded = run(2);
    for (let t = 0; t < 20 && gemmThreads().workerPieces === piecesBefore; t++) threaded = run(2);
    const single = run(1);
    const names = ["A", "meanTerm", "varTerm", "dm", "dL", "dKzx", "dKzz"];
    threaded.forEach((t, q) => {
      for (let i = 0; i < t.length; i++) if (!Object.is(t[i], single[q][i])) assert.fail(`M ${M}, B ${B}: ${names[q]}[${i}] is ${t[i]} threaded, ${single[q][i]} on one thread`);
    });
  }
  assert.ok(gemmThreads().workerPieces > piecesBefore, "the worker thread ran pieces of the passes");
});

test("column-split triangular solves and products (columnTasks) match textbook loops, and equal one thread bit for bit on two", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  gemmThreads({ start: true });
  for (let t = 0; t < 400 && gemmThreads().workersReady < 1; t++) await new Promise((r) => setTimeout(r, 25));
  // [n, t]: tiny (one piece), odd widths, and large enough to be split over threads.
  for (const [n, t] of [[1, 1], [7, 13], [100, 37], [256, 256], [300, 141]]) {
    const ld = paddedStride(t);
    const L = lowerFactor(n, 1300 + n), X = randomMat(n, t, 1400 + t), O = randomMat(n, t, 1500 + t);
    const runAll = (threads: number) => {
      const before = setGemmThreads(threads);
      try {
        const mem = arena(n * n + 3 * n * ld) as Float64Array;
        const tri = 0, x = n * n, out = x + n * ld, x2 = out + n * ld;
        const put = (at: number, m: Mat) => { for (let i = 0; i < n; i++) mem.set(m.data.subarray(i * t, (i + 1) * t), at + i * ld); };
        const take = (at: number) => Float64Array.from({ length: n * t }, (_, q) => mem[at + Math.floor(q / t) * ld + (q % t)]);
        // U = L^T (upper): X := U^{-1} X.
        mem.set(transposed(L).data, tri);
        put(x, X);
        solveUpperColumns(mem, n, t, tri, x, ld);
        const solved = take(x);
        // out += U X, then out += L X.
        put(x2, X);
        put(out, O);
        triangularMatmulColumns(mem, n, t, tri, false, x2, out, ld);
        const upper = take(out);
        mem.set(L.data, tri);
        put(out, O);
        triangularMatmulColumns(mem, n, t, tri, true, x2, out, ld);
        return [solved, upper, take(out)];
      } finally {
        setGemmThreads(before);
      }
    };
    const two = runAll(2), one = runAll(1);
    const plus = (a: Mat, b: Mat) => a.data.map((v, q) => v + b.data[q]);
    const want = [substituteUpper(L, X).data, plus(product(transposed(L), X), O), plus(product(L, X), O)];
    ["solveUpperColumns", "triangularMatmulColumns upper", "triangularMatmulColumns lower"].forEach((what, q) => {
      assert.ok(relErr(two[q], want[q]) < 1e-12, `${what} n ${n}, t ${t}: ${relErr(two[q], want[q])}`);
      for (let i = 0; i < two[q].length; i++) if (!Object.is(two[q][i], one[q][i])) assert.fail(`${what} n ${n}, t ${t}: entry ${i} differs between two threads and one`);
    });
  }
});

test("A and Y left in the arena between the passes: saved out when another arena user comes first, reused in place otherwise, a second backward pass the same", () => {
  const M = 64, B = 300;
  const Lz = lowerFactor(M, 1600), L = lowerFactor(M, 1700);
  const m = randomMat(1, M, 1800).data, Kzx = randomMat(M, B, 1900);
  const gMu = randomMat(1, B, 2000).data, gVar = randomMat(1, B, 2100).data;
  const want = reference(Lz, L, m, Kzx, gMu, gVar);
  const check = (g: ReturnType<typeof whitenedBackward>, what: string) => {
    assert.ok(relErr(g.dm, want.dm) < 1e-12 && relErr(g.dL.data, want.dL) < 1e-12, `dm, dL ${what}`);
    assert.ok(relErr(g.dKzx, want.dKzx.data) < 1e-12 && relErr(g.dKzz.data, want.dKzz) < 1e-11, `dKzx, dKzz ${what}`);
  };
  // Straight after the forward pass (in place), then again (still in place).
  const s = new WhitenedState(M);
  whitenedForward(s, Lz, L, m, Kzx.data, B);
  check(whitenedBackward(s, Lz, L, m, gMu, gVar), "in place");
  check(whitenedBackward(s, Lz, L, m, gMu, gVar), "a second backward pass");
  // Another arena user between the passes overwrites everything it is given (all of the backward
  // pass's workspace: what that pass overwrites rather than accumulates into may hold NaN).
  const t = new WhitenedState(M);
  whitenedForward(t, Lz, L, m, Kzx.data, B);
  const { fixed, perColumn } = backwardWorkspace(M, B), size = fixed + perColumn * (paddedStride(B) + 8);
  const other = arena(size) as Float64Array;
  other.fill(Number.NaN, 0, size);
  check(whitenedBackward(t, Lz, L, m, gMu, gVar), "after another arena user");
  assert.ok(relErr(t.unpaddedA().data, want.A.data) < 1e-12, "A after another arena user");
  // A second state's forward pass between the first's passes.
  const u = new WhitenedState(M), v = new WhitenedState(M);
  whitenedForward(u, Lz, L, m, Kzx.data, B);
  whitenedForward(v, lowerFactor(M, 2200), L, m, Kzx.data, B);
  check(whitenedBackward(u, Lz, L, m, gMu, gVar), "after another state's forward pass");
  whitenedForward(u, Lz, L, m, Kzx.data, B);
  assert.ok(relErr(u.unpaddedA().data, want.A.data) < 1e-12, "A from the arena");
});

test("solveUpperLowerPart's column pieces on two threads equal one thread bit for bit", () => {
  for (const n of [64, 257]) {
    const U = transposed(lowerFactor(n, 2300 + n)), Y = randomMat(n, n, 2400 + n);
    const run = (threads: number) => {
      const before = setGemmThreads(threads);
      try {
        const mem = arena(2 * n * n) as Float64Array;
        mem.set(U.data, 0);
        mem.set(Y.data, n * n);
        solveUpperLowerPart(mem, n, 0, n * n);
        return Float64Array.from({ length: n * n }, (_, q) => (q % n <= Math.floor(q / n) ? mem[n * n + q] : 0));
      } finally {
        setGemmThreads(before);
      }
    };
    const two = run(2), one = run(1);
    for (let q = 0; q < two.length; q++) if (!Object.is(two[q], one[q])) assert.fail(`n ${n}: entry ${q} differs between two threads and one`);
    assertLowerClose(two, substituteUpper(transposed(U), triangle(Y, true)), 1e-12, `solveUpperLowerPart n ${n}`);
  }
});
