// Builds lazy kernel operators straight from formulas (the foundation layer),
// without the kernels module, for the foundation tests.

import * as gp from "../../lib";
import { sharedF64 } from "../../lib/reductions/fusedExecutor";
import type { Dense } from "./reference";

/** Lazy outputscale * RBF(lengthscale) on x [n, d], y [m, d]. */
export function rbfOperator(x: Dense, y: Dense | null, lengthscale: number, outputscale = 1, reduction: gp.reductions.ReductionOptions = {}) {
  const d = x[0].length;
  const scaled = (rows: Dense) => {
    const out = sharedF64(rows.length * d);
    rows.forEach((r, i) => r.forEach((v, k) => (out[i * d + k] = v / lengthscale)));
    return out;
  };
  const xs = scaled(x);
  const ys = y ? scaled(y) : xs;
  return new gp.operators.KernelLinearOperator(
    {
      name: "RBF",
      n: x.length,
      m: (y ?? x).length,
      factors: [{ statistic: "sqdist", dims: d, x: xs, y: ys, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: outputscale, factors: [0] }],
    },
    { symmetric: y === null, reduction },
  );
}
