// The prior term of GPyTorch's MLLs: sum over every attached prior of
// log p(constrained value), with its derivative pushed into the raw
// parameters (d value / d raw from the constraint; no Jacobian term).

import type { Module } from "../module/Module";
import type { Parameter } from "../module/Parameter";
import type { Prior } from "./Prior";

/**
 * sum of log p over the priors attached anywhere in `modules` (each
 * prior-parameter pair once). With `gradScale`, adds gradScale * d(sum)/d(raw)
 * to each parameter's grad.
 */
export function priorLogProb(modules: readonly Module[], gradScale: number | null = null): number {
  const seen = new Map<Parameter, Set<Prior>>();
  let total = 0;
  for (const m of modules) {
    for (const [, prior, param] of m.namedPriors()) {
      const priors = seen.get(param) ?? new Set<Prior>();
      if (priors.has(prior)) continue;
      priors.add(prior);
      seen.set(param, priors);
      const { value, grad } = prior.logProbSum(param.value());
      total += value;
      if (gradScale !== null) for (let i = 0; i < param.size; i++) param.addValueGrad(i, gradScale * grad[i]);
    }
  }
  return total;
}
