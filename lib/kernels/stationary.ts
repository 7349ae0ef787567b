// The shared shape of stationary kernels: features u = x / lengthscale, the
// squared distance of u, a profile of it. Derivative: with A_k the "perDim"
// accumulator (sum M g dk/ds du_k^2) and du_k^2 ~ 1 / l_k^2,
// d/dl_k = -2 A_k / l_k (summed over k for a shared lengthscale).

import type { Mat } from "../algorithms/matrix";
import type { Parameter } from "../module/Parameter";
import type { Profile } from "../reductions/formula";
import { KernelFormula } from "./KernelFormula";
import { scaledFeatures } from "./Kernel";

/** Adds d/dl of a factor whose features were divided by `lengthscale` (perDim slots at `offset`). */
export function lengthscaleBackward(lengthscale: Parameter, acc: Float64Array, offset: number, dims: number): void {
  for (let k = 0; k < dims; k++) {
    const idx = lengthscale.size === 1 ? 0 : k;
    lengthscale.addValueGrad(idx, (-2 * acc[offset + k]) / lengthscale.valueAt(idx));
  }
}

/**
 * k(x1, x2) = profile(|| (x1 - x2) / l ||^2; params). shapes: x1 [n, d], x2 [m, d]
 * `paramsBackward` receives the profile-parameter accumulators.
 */
export function stationaryFormula(
  x1: Mat,
  x2: Mat,
  lengthscale: Parameter,
  profile: Profile,
  params: Float64Array = new Float64Array(0),
  paramsBackward: (acc: Float64Array, offset: number) => void = () => {},
): KernelFormula {
  const l = lengthscale.value();
  const factor = {
    statistic: "sqdist" as const,
    dims: x1.cols,
    x: scaledFeatures(x1, l),
    y: x1 === x2 ? undefined : scaledFeatures(x2, l),
    profile,
    params,
    // One lengthscale: the features are the inputs times 1 / l, so a sum or
    // product of such kernels on the same inputs has proportional distances.
    scaledFrom: l.length === 1 ? { x: x1.data, y: x2.data, scale: 1 / l[0] } : undefined,
  };
  return KernelFormula.of(x1.rows, x2.rows, { ...factor, y: factor.y ?? factor.x }, (acc, slots) => {
    lengthscaleBackward(lengthscale, acc, slots.perDim, x1.cols);
    if (slots.params >= 0) paramsBackward(acc, slots.params);
  });
}
