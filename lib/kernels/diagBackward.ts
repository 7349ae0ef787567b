// Gradient of a weighted kernel diagonal, sum_i w_i dk(x_i, x_i)/dtheta,
// without the n x n matrix (the variational objectives need it for the
// data-point variances k(x_i, x_i)).
//
// When every factor of the formula reads a distance (sqdist, sinsq: the
// stationary kernels and their sums and products), the statistic of every
// pair (x_i, x_i) is exactly 0 (both sides are the same features), so the
// diagonal is one value and its gradient comes from the single pair
// (x_0, x_0) with weight sum_i w_i. Otherwise the bilinear-derivative
// reduction runs on diagonal blocks of CHUNK x CHUNK pairs with weights
// diag(w): O(n * CHUNK) pair evaluations and O(CHUNK^2) memory.

import type { Mat } from "../algorithms/matrix";
import { ShapeError } from "../errors";
import { type ReductionOptions, pairwiseBilinear } from "../reductions/engine";
import { type Factor, type Formula, diagonalIsConstant, gradientLayout } from "../reductions/formula";
import type { Kernel } from "./Kernel";

const CHUNK = 64;

/** Rows [r0, r1) of both sides of a formula on (x, x). */
function diagonalBlock(f: Formula, r0: number, r1: number): Formula {
  const factors: Factor[] = f.factors.map((fa) => ({
    ...fa,
    x: fa.x.subarray(r0 * fa.dims, r1 * fa.dims),
    y: fa.y.subarray(r0 * fa.dims, r1 * fa.dims),
    scaledFrom: undefined,
  }));
  return { ...f, n: r1 - r0, m: r1 - r0, factors };
}

/** Adds sum_i w[i] * d k(x_i, x_i) / d raw to the kernel's parameter grads. shapes: x [n, d], w [n] */
export function diagBackward(kernel: Kernel, x: Mat, w: Float64Array, reduction: ReductionOptions = {}): void {
  if (w.length !== x.rows) throw new ShapeError(`diagBackward: ${w.length} weights for ${x.rows} points`);
  const kf = kernel.buildFormula(x, x);
  const formula = kf.toFormula(`diag(${kernel.shortName()})`);
  const layout = gradientLayout(formula);
  if (x.rows > 0 && diagonalIsConstant(formula)) {
    let total = 0;
    for (let i = 0; i < w.length; i++) total += w[i];
    kf.backward(pairwiseBilinear(diagonalBlock(formula, 0, 1), { kind: "dense", M: Float64Array.of(total) }, reduction), layout);
    return;
  }
  const acc = new Float64Array(layout.size);
  for (let r0 = 0; r0 < x.rows; r0 += CHUNK) {
    const r1 = Math.min(x.rows, r0 + CHUNK);
    const c = r1 - r0;
    const M = new Float64Array(c * c);
    for (let i = 0; i < c; i++) M[i * c + i] = w[r0 + i];
    const part = pairwiseBilinear(diagonalBlock(formula, r0, r1), { kind: "dense", M }, reduction);
    for (let k = 0; k < acc.length; k++) acc[k] += part[k];
  }
  kf.backward(acc, layout);
}
