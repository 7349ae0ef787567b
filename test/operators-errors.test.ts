// Bad input gets a clear error that names the problem and the fix.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { rbfOperator } from "./helpers/kernelOperators";

const ops = gp.operators;

describe("operator errors name the problem and the fix", () => {
  it("mismatched shapes in matmul, add and addDiagonal", () => {
    const A = new ops.DenseLinearOperator([[1, 2], [3, 4], [5, 6]]);
    assert.throws(() => A.matmul([[1], [2], [3]]), (e: Error) => e.name === "ShapeError" && /3 x 2 but the right-hand side has 3 rows; it needs 2 rows/.test(e.message));
    assert.throws(() => A.add(new ops.IdentityLinearOperator(3)), /cannot add 3 x 2 and 3 x 3 operators/);
    assert.throws(() => new ops.DiagLinearOperator([1, 2]).addDiagonal([1, 2, 3]), /operator is 2 x 2 but the diagonal has 3 entries/);
    assert.throws(() => A.solveF64(gp.algorithms.mat(3, 1)), /solve needs a square operator, this one is 3 x 2/);
    assert.throws(() => new ops.DenseLinearOperator([[1, 2], [3]]), /row 1 has 1 columns, expected 2 like row 0/);
  });
  it("NaN and Infinity are refused where they enter, with their position", () => {
    assert.throws(() => new ops.DenseLinearOperator([[1, NaN], [0, 1]]), (e: Error) => e.name === "NonFiniteError" && /NaN at row 0, column 1/.test(e.message));
    assert.throws(() => new ops.DiagLinearOperator([1, Infinity]), /Infinity at index 1/);
    assert.throws(() => new ops.IdentityLinearOperator(2).matmul([[1], [NaN]]), /right-hand side contains NaN/);
    assert.throws(() => new ops.IdentityLinearOperator(2).mul(NaN), /cannot scale an operator by NaN/);
  });
  it("a non-PSD matrix climbs the jitter ladder with warnings, then throws NotPSDError", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    const indefinite = new ops.DenseLinearOperator([[1, 2], [2, 1]]);
    assert.throws(() => indefinite.solveF64(gp.algorithms.mat(2, 1, Float64Array.of(1, 1))), (e: Error) =>
      e.name === "NotPSDError" && /not positive definite even with jitter 0.0001/.test(e.message) && /raise the likelihood noise/.test(e.message));
    // process warnings are delivered on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", onWarning);
    assert.equal(warnings.filter((w) => /retrying with/.test(w)).length, 3);
  });
  it("a matrix that is PSD only up to rounding succeeds on the first rung and says so", () => {
    // Rank-1 matrix: singular, needs jitter 1e-6 to factor.
    const op = new ops.DenseLinearOperator([[1, 1], [1, 1]]);
    const warned: string[] = [];
    const onWarning = (w: Error) => warned.push(w.message);
    process.on("warning", onWarning);
    try {
      op.logdetF64();
      assert.deepEqual(op.lastSolveReport, { method: "cholesky", size: 2, jitter: 1e-6 });
    } finally {
      process.off("warning", onWarning);
    }
  });
  it("toDense above its budget says how much memory and what to call instead", () => {
    const x = Array.from({ length: 2000 }, (_, i) => [i / 2000]);
    const K = rbfOperator(x, null, 0.1);
    assert.throws(() => K.toDense({ maxBytes: 1e6 }), (e: Error & { bytesNeeded?: number }) =>
      e.name === "DenseTooLargeError" && e.bytesNeeded === 2000 * 2000 * 8 &&
      /toDense would need 30.5 MiB for this 2,000 x 2,000 float64 matrix, above the 977 KiB budget/.test(e.message) &&
      /Use matmul\(v\), diagonal\(\), rows\(idx\) or getIndices\(i, j\)/.test(e.message));
    // A 1,000,000-point operator: the default budget refuses, naming TiB.
    const big = rbfOperator([[0], [1]], null, 1);
    const huge = new ops.KernelLinearOperator({ ...big.formula, n: 1_000_000, m: 1_000_000 });
    assert.throws(() => huge.toDenseF64(), /would need 7.3 TiB/);
  });
  it("indices out of range and negative diagonals for solves", () => {
    const D = new ops.DiagLinearOperator([1, -2]);
    assert.throws(() => D.getIndices([0, 2], [0, 0]), /row index 2 is not an integer in \[0, 2\)/);
    assert.throws(() => D.logdetF64(), (e: Error) => e.name === "NotPSDError" && /diagonal entry 1 is -2/.test(e.message));
  });
});
