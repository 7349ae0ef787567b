// A^{-1} b with one right-hand side on the factor the blocked Cholesky
// left in the arena (lib/algorithms/vectorSubstitution.ts, through
// choleskySolve): the same bits as the JS loops (solveLower, then
// solveLowerTransposed) and textbook substitution to rounding, at sizes
// around the blocked Cholesky's threshold and at n = 100, 354, 800; with
// exact zeros in the solution (the backward loop skips their updates); and
// the same once the arena has been reused (then the JS loops run).

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { choleskySolve, choleskyWithJitter, solveLower, solveLowerTransposed } from "../lib/algorithms/cholesky";
import { mat } from "../lib/algorithms/matrix";
import { arena } from "../lib/algorithms/wasmGemm";
import { centredRng, rbfSpd, substituteLower, substituteUpper } from "./helpers/denseReference";
import { relErr } from "./helpers/reference";

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]}, the JS loops give ${b[i]}`);
}

test("choleskySolve with one column on the arena's factor equals the JS loops bit for bit and textbook substitution to rounding", () => {
  for (const n of [1, 7, 58, 59, 60, 61, 100, 354, 800]) {
    const A = mat(n, n, rbfSpd(n, centredRng(17_300 + n)));
    const bs = [
      Float64Array.from({ length: n }, centredRng(17_400 + n)),
      // The last unit vector: L^{-1} e_n is zero above its last entry, so the backward loop meets exact zeros.
      Float64Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0)),
    ];
    for (const [which, b] of bs.entries()) {
      const { L } = choleskyWithJitter(A);
      const x = choleskySolve(L, mat(n, 1, b)).data;
      const js = solveLowerTransposed(L, solveLower(L, mat(n, 1, b))).data;
      sameBits(x, js, `n = ${n}, right-hand side ${which}`);
      const textbook = substituteUpper(L, substituteLower(L, mat(n, 1, b))).data;
      const err = relErr(x, textbook);
      assert.ok(err < 1e-10, `n = ${n}, right-hand side ${which}: relative error ${err} against textbook substitution`);
      // Once the arena holds something else, the JS loops run: the same bits again.
      arena(4 * n * n + 64)!.fill(Number.NaN);
      sameBits(choleskySolve(L, mat(n, 1, b)).data, js, `n = ${n}, right-hand side ${which}, arena reused`);
    }
  }
});
