// The data moves of the dense routines in WebAssembly: transposes between
// arena blocks (lib/algorithms/transposeStrip.ts, through transpose.ts) and
// the exact MLL's gradient weights W = s (v v^T - A^{-1}) mirrored in place
// (lib/algorithms/rankOneMirrorStrip.ts, through the Cholesky inverse).
// Pure copies and the same arithmetic as the JS loops: checked bit for bit
// against loops written here, for odd and even sizes, padded strides and
// odd offsets (rows not 16-byte aligned), with nothing written outside the
// destination; and the weights against s (v v^T - A^{-1}) from the plain
// (dot-product) inverse at n = 1, 7, 100, 354, 800.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { choleskyWithJitter } from "../lib/algorithms/cholesky";
import { mat } from "../lib/algorithms/matrix";
import { transposeInto, transposeLower } from "../lib/algorithms/transpose";
import { arena } from "../lib/algorithms/wasmGemm";
import { choleskyInverse, choleskyInversePlain } from "../lib/mlls/choleskyInverse";
import { centredRng, rbfSpd } from "./helpers/denseReference";
import { relErr } from "./helpers/reference";

/** Index of the first entry where a and b differ as bits (Object.is), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

test("transposeInto between arena blocks equals the textbook loop bit for bit and writes nothing else", () => {
  let seed = 17_001;
  for (const [rows, cols] of [[1, 1], [1, 7], [7, 1], [2, 2], [3, 5], [16, 16], [17, 33], [33, 17], [100, 37], [355, 354]]) {
    const lds = cols + 3, ldd = rows + 5;
    const s = 11, d = s + rows * lds + 7; // odd offsets
    const size = d + cols * ldd + 9;
    const mem = arena(size)!;
    assert.ok(mem, "the WebAssembly arena is available here");
    const r = centredRng(seed++);
    const before = Float64Array.from({ length: size }, r);
    mem.set(before, 0);
    const want = before.slice();
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[d + j * ldd + i] = before[s + i * lds + j];
    transposeInto(mem, s, lds, mem, d, ldd, rows, cols);
    const at = firstDifference(mem.subarray(0, size), want);
    assert.equal(at, -1, `${rows} x ${cols}: first difference at element ${at}`);
  }
});

test("transposeLower in the arena, to another block and in place (the mirror), equals the textbook loop bit for bit", () => {
  let seed = 17_101;
  for (const n of [1, 2, 3, 7, 16, 17, 33, 100, 354]) {
    for (const inPlace of [false, true]) {
      const ld = n + (n % 2) + 5, s = 3, d = inPlace ? s : s + n * ld + 1;
      const size = d + n * ld + 4;
      const mem = arena(size)!;
      const before = Float64Array.from({ length: size }, centredRng(seed++));
      mem.set(before, 0);
      const want = before.slice();
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) want[d + j * ld + i] = before[s + i * ld + j];
      transposeLower(mem, s, ld, mem, d, ld, n);
      const at = firstDifference(mem.subarray(0, size), want);
      assert.equal(at, -1, `n = ${n}${inPlace ? " in place" : ""}: first difference at element ${at}`);
    }
  }
});

/** A seeded SPD matrix (helpers' rbfSpd) and a right-hand side from the same stream. */
function spdSystem(n: number, seed: number): { A: Float64Array; v: Float64Array } {
  const r = centredRng(seed);
  const A = rbfSpd(n, r);
  return { A, v: Float64Array.from({ length: n }, r) };
}

test("the gradient weights s (v v^T - A^{-1}) are symmetric bit for bit and match the plain inverse at n = 1, 7, 100, 354, 800", () => {
  for (const n of [1, 7, 100, 354, 800]) {
    const { A, v } = spdSystem(n, 17_200 + n);
    const { L } = choleskyWithJitter(mat(n, n, A));
    const s = 1 / (2 * n);
    const W = choleskyInverse(L, new Float64Array(n * n + 3), { v, s }).data;
    const inverse = choleskyInverse(L).data;
    const plain = choleskyInversePlain(L).data;
    const want = new Float64Array(n * n), exact = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        want[a * n + b] = s * (v[a] * v[b] - plain[a * n + b]);
        // The formula itself, entry by entry, on the lower triangle of the same (blocked) inverse.
        const lo = a >= b ? inverse[a * n + b] : inverse[b * n + a];
        const va = a >= b ? v[a] : v[b], vb = a >= b ? v[b] : v[a];
        exact[a * n + b] = s * (va * vb - lo);
      }
    }
    let asymmetric = 0;
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) if (!Object.is(W[a * n + b], W[b * n + a])) asymmetric++;
    assert.equal(asymmetric, 0, `n = ${n}: W is not exactly symmetric`);
    assert.equal(firstDifference(W, exact), -1, `n = ${n}: W differs from s (v_a v_b - inverse_ab) as computed here`);
    const err = relErr(W, want);
    assert.ok(err < 1e-10, `n = ${n}: relative error ${err} against the plain inverse`);
  }
});
