// The fast dense f64 kernels (WebAssembly GEMM with strip packing and k
// chunks, blocked triangular solves and products, the Mat-level products
// built on them, choleskyBackward) against plain triple loops, at sizes that
// take the WebAssembly path and at odd sizes that exercise every fringe:
// row counts not a multiple of the 4-row tile, column counts not a multiple
// of 4, k above the 256-term chunk, panels that straddle the 32-row blocks,
// padded and unpadded row strides. The blocked Cholesky must give the plain
// one's factor and fail at the same pivot.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { choleskyWithJitter, solveLower, solveLowerTransposed } from "../lib/algorithms/cholesky";
import { choleskyBackward } from "../lib/algorithms/choleskyBackward";
import { type Mat, mat, matmulMat, matmulTransposedLeft, matmulTransposedRight, triangularMatmul, weightedGramLower } from "../lib/algorithms/matrix";
import { lowerProductInto, solveLowerInPlace, solveUpperInPlace, triangularMatmulInto } from "../lib/algorithms/triangularKernels";
import { WASM_MIN_WORK, arena, gemm, paddedStride } from "../lib/algorithms/wasmGemm";
import { product as naiveMatmul, randomMat as random, substituteLower, substituteUpper, transposed as transpose, triangle } from "./helpers/denseReference";



/** A well-conditioned lower-triangular factor with junk above the diagonal (never to be read). */
function lowerFactor(n: number, seed: number): Mat {
  const L = random(n, n, seed);
  for (let i = 0; i < n; i++) L.data[i * n + i] = 1 + Math.abs(L.data[i * n + i]);
  return L;
}

/** max |a - b| / (1 + max |b|) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / (1 + s);
}

test("the WebAssembly GEMM kernel compiles on this Node (else every fast path below is the JS fallback)", () => {
  assert.ok(arena(16) !== null);
});

test("gemm: C += alpha A B on strided blocks, arena and plain array, odd sizes and k above one chunk", () => {
  const sizes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 4, 4], [5, 9, 3], [8, 3, 5], [9, 8, 1], [13, 17, 300], [37, 130, 260], [64, 64, 513]];
  let seed = 1;
  for (const [n, m, k] of sizes) {
    const a = random(n, k, seed++), b = random(k, m, seed++), c0 = random(n, m, seed++);
    const alpha = -0.75;
    const want = naiveMatmul(a, b);
    for (let i = 0; i < want.data.length; i++) want.data[i] = c0.data[i] + alpha * want.data[i];
    // Strides wider than the rows and a gap before each block: the kernel must honour both.
    const lda = k + 3, ldb = m + 5, ldc = m + 2;
    const offA = 7, offB = offA + n * lda + 11, offC = offB + k * ldb + 13, size = offC + n * ldc;
    for (const where of ["arena", "plain"]) {
      const mem = where === "arena" ? (arena(size) as Float64Array) : new Float64Array(size);
      mem.fill(Number.NaN, 0, size); // padding must never be read
      for (let i = 0; i < n; i++) mem.set(a.data.subarray(i * k, (i + 1) * k), offA + i * lda);
      for (let p = 0; p < k; p++) mem.set(b.data.subarray(p * m, (p + 1) * m), offB + p * ldb);
      for (let i = 0; i < n; i++) mem.set(c0.data.subarray(i * m, (i + 1) * m), offC + i * ldc);
      gemm(mem, n, m, k, offA, lda, offB, ldb, offC, ldc, alpha);
      const got = new Float64Array(n * m);
      for (let i = 0; i < n; i++) got.set(mem.subarray(offC + i * ldc, offC + i * ldc + m), i * m);
      assert.ok(relErr(got, want.data) < 1e-13, `${where} ${n}x${m}x${k}: ${relErr(got, want.data)}`);
    }
  }
});

test("matmulMat, matmulTransposedLeft/Right and weightedGramLower match a triple loop, below and above the WebAssembly threshold", () => {
  const sizes: [number, number, number][] = [[2, 3, 4], [5, 7, 9], [37, 41, 53], [64, 130, 70], [130, 33, 257]];
  let seed = 100;
  for (const [n, k, m] of sizes) {
    const a = random(n, k, seed++), b = random(k, m, seed++);
    const want = naiveMatmul(a, b);
    assert.ok(relErr(matmulMat(a, b).data, want.data) < 1e-13, `matmulMat ${n}x${k}x${m}`);
    assert.ok(relErr(matmulTransposedLeft(transpose(a), b).data, want.data) < 1e-13, `a^T b ${n}x${k}x${m}`);
    assert.ok(relErr(matmulTransposedRight(a, transpose(b)).data, want.data) < 1e-13, `a b^T ${n}x${k}x${m}`);
    // Lower triangle of a square a c^T, zeros above.
    const c = random(n, k, seed++);
    const full = naiveMatmul(a, transpose(c));
    const lower = matmulTransposedRight(a, c, { lower: true });
    assert.ok(relErr(lower.data, triangle(full, true).data) < 1e-13, `lower a c^T ${n}x${k}`);
    // Lower triangle of a diag(w) a^T.
    const w = random(1, k, seed++).data;
    const aw = mat(n, k, a.data.map((v, q) => v * w[q % k]));
    const gram = weightedGramLower(a, w);
    assert.ok(relErr(gram.data, triangle(naiveMatmul(aw, transpose(a)), true).data) < 1e-13, `a diag(w) a^T ${n}x${k}`);
  }
  assert.ok(37 * 41 * 53 >= WASM_MIN_WORK && 5 * 7 * 9 < WASM_MIN_WORK);
});

test("triangularMatmul: lower/upper, plain/transposed, reads only its triangle", () => {
  let seed = 200;
  for (const [n, m] of [[1, 1], [3, 5], [31, 9], [33, 64], [70, 130], [97, 257]]) {
    const t = random(n, n, seed++), b = random(n, m, seed++);
    for (const lower of [true, false]) {
      for (const transposeT of [false, true]) {
        const tri = triangle(t, lower);
        const want = naiveMatmul(transposeT ? transpose(tri) : tri, b);
        const got = triangularMatmul(t, b, { lower, transpose: transposeT });
        assert.ok(relErr(got.data, want.data) < 1e-13, `n ${n} m ${m} lower ${lower} transpose ${transposeT}: ${relErr(got.data, want.data)}`);
      }
    }
  }
});

test("solveLower and solveLowerTransposed match substitution and solve L X = B", () => {
  let seed = 300;
  for (const [n, t] of [[1, 1], [7, 5], [32, 33], [33, 130], [70, 1024], [97, 3]]) {
    const L = lowerFactor(n, seed++), B = random(n, t, seed++);
    const want = substituteLower(L, B);
    const X = solveLower(L, B);
    assert.ok(relErr(X.data, want.data) < 1e-12, `solveLower ${n}x${t}: ${relErr(X.data, want.data)}`);
    assert.ok(relErr(naiveMatmul(triangle(L, true), X).data, B.data) < 1e-12);
    // L^T Y = B: substitution on the explicit upper factor.
    const U = transpose(triangle(L, true));
    const Y = solveLowerTransposed(L, B);
    assert.ok(relErr(naiveMatmul(U, Y).data, B.data) < 1e-12, `solveLowerTransposed ${n}x${t}`);
    const rev = (m: Mat) => mat(m.rows, m.cols, Float64Array.from({ length: m.data.length }, (_, q) => m.data[(m.rows - 1 - Math.floor(q / m.cols)) * m.cols + (q % m.cols)]));
    // Reversing rows and columns turns the upper solve into a lower one: an independent reference.
    const Ur = mat(n, n, Float64Array.from({ length: n * n }, (_, q) => U.data[(n - 1 - Math.floor(q / n)) * n + (n - 1 - (q % n))]));
    assert.ok(relErr(Y.data, rev(substituteLower(Ur, rev(B))).data) < 1e-12);
  }
});

test("blocked triangular kernels on a plain array with padded strides (the JS kernel) agree with the arena", () => {
  const n = 45, t = 19, ld = paddedStride(t);
  const L = lowerFactor(n, 400), X = random(n, t, 401);
  const U = transpose(triangle(L, true));
  const run = (mem: Float64Array) => {
    const l = 0, u = n * n, x = 2 * n * n, y = x + n * ld, o = y + n * ld, p = o + n * ld;
    mem.set(triangle(L, true).data, l);
    mem.set(U.data, u);
    for (let i = 0; i < n; i++) {
      mem.set(X.data.subarray(i * t, (i + 1) * t), x + i * ld);
      mem.set(X.data.subarray(i * t, (i + 1) * t), y + i * ld);
    }
    mem.fill(0, o, o + n * ld);
    mem.fill(0, p, p + n * n);
    solveLowerInPlace(mem, n, t, l, x, ld);
    solveUpperInPlace(mem, n, t, u, y, ld);
    triangularMatmulInto(mem, n, t, u, false, y, o, ld); // U (U^{-1} X) = X
    lowerProductInto(mem, n, n, l, u, p); // lower blocks of L L^T
    const take = (off: number) => Float64Array.from({ length: n * t }, (_, q) => mem[off + Math.floor(q / t) * ld + (q % t)]);
    return { lowerSolved: take(x), back: take(o), gram: mem.slice(p, p + n * n) };
  };
  const size = 2 * n * n + 3 * n * ld + n * n;
  const plain = run(new Float64Array(size));
  const mem = arena(size) as Float64Array;
  mem.fill(0, 0, size);
  const fast = run(mem);
  assert.ok(relErr(plain.lowerSolved, substituteLower(L, X).data) < 1e-12);
  assert.ok(relErr(fast.lowerSolved, plain.lowerSolved) < 1e-12);
  assert.ok(relErr(plain.back, X.data) < 1e-12 && relErr(fast.back, X.data) < 1e-12);
  const gram = naiveMatmul(triangle(L, true), U);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      assert.ok(Math.abs(plain.gram[i * n + j] - gram.data[i * n + j]) < 1e-12);
      assert.ok(Math.abs(fast.gram[i * n + j] - gram.data[i * n + j]) < 1e-12);
    }
  }
});

test("paddedStride: at least the columns, an odd number of 64-byte lines", () => {
  for (const c of [1, 7, 8, 9, 16, 100, 256, 1024, 1025]) {
    const ld = paddedStride(c);
    assert.ok(ld >= c && ld % 8 === 0 && (ld / 8) % 2 === 1, `${c} -> ${ld}`);
  }
});

test("choleskyBackward at blocked sizes equals L^{-T} Phi(L^T tril(Lbar)) L^{-1} by plain loops", () => {
  for (const n of [5, 40, 75]) {
    const L = lowerFactor(n, 500 + n);
    for (let i = 0; i < n; i++) L.data.fill(0, i * n + i + 1, (i + 1) * n);
    const Lbar = random(n, n, 600 + n); // its upper triangle must be ignored
    const P = naiveMatmul(transpose(L), triangle(Lbar, true));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P.data[i * n + j] = j > i ? 0 : i === j ? P.data[i * n + j] / 2 : P.data[i * n + j];
    // L^{-T} P L^{-1} = (L^{-T} (L^{-T} P)^T)^T, each L^{-T} by backward substitution.
    const A = transpose(substituteUpper(L, transpose(substituteUpper(L, P))));
    const want = mat(n, n, Float64Array.from({ length: n * n }, (_, q) => 0.5 * (A.data[q] + A.data[(q % n) * n + Math.floor(q / n)])));
    const got = choleskyBackward(L, Lbar);
    assert.ok(relErr(got.data, want.data) < 1e-11, `n ${n}: ${relErr(got.data, want.data)}`);
  }
});

test("blocked Cholesky (n >= 58) equals the textbook loop and reports the same failing pivot", () => {
  for (const n of [58, 100, 131]) {
    const G = random(n, n + 3, 700 + n);
    const A = naiveMatmul(G, transpose(G));
    for (let i = 0; i < n; i++) A.data[i * n + i] += 0.1;
    const want = mat(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A.data[i * n + j];
        for (let k = 0; k < j; k++) s -= want.data[i * n + k] * want.data[j * n + k];
        want.data[i * n + j] = i === j ? Math.sqrt(s) : s / want.data[j * n + j];
      }
    }
    const { L, jitter } = choleskyWithJitter(A);
    assert.equal(jitter, 0);
    assert.ok(relErr(L.data, want.data) < 1e-12, `n ${n}: ${relErr(L.data, want.data)}`);
  }
  // Row/column 70 repeats 69 with the diagonal lowered by 1: the pivot at 70 is exactly -1 (up to rounding).
  const n = 100, G = random(n, n + 3, 800);
  const A = naiveMatmul(G, transpose(G));
  for (let i = 0; i < n; i++) A.data[i * n + i] += 0.1;
  for (let j = 0; j < n; j++) {
    A.data[70 * n + j] = A.data[69 * n + j];
    A.data[j * n + 70] = A.data[j * n + 69];
  }
  A.data[70 * n + 70] = A.data[69 * n + 69] - 1;
  const warn = process.emitWarning;
  process.emitWarning = () => {}; // the jitter ladder warns on each retry
  try {
    assert.throws(() => choleskyWithJitter(A, "test matrix"), /pivot 70 = -1\.00e\+0/);
  } finally {
    process.emitWarning = warn;
  }
});
