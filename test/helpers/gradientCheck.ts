// Central finite differences of an MLL against its analytic gradient, for
// every raw parameter of a model.

import * as assert from "node:assert/strict";
import type * as gp from "../../lib";

/**
 * Evaluates the analytic gradient once, then perturbs each raw value by +-h.
 * Passes when |analytic - differences| <= relTol * max(floor, |differences|).
 */
export async function assertGradientMatchesDifferences(
  model: gp.models.ExactGP,
  mll: gp.mlls.ExactMarginalLogLikelihood,
  options: { relTol: number; floor: number; label: string; h?: number },
): Promise<void> {
  const h = options.h ?? 1e-5;
  model.zeroGrad();
  await mll.evaluateWithGradient();
  for (const [name, p] of model.namedParameters()) {
    for (let i = 0; i < p.size; i++) {
      const r0 = p.raw[i];
      p.raw[i] = r0 + h;
      const a = await mll.evaluate();
      p.raw[i] = r0 - h;
      const b = await mll.evaluate();
      p.raw[i] = r0;
      const fd = (a - b) / (2 * h);
      assert.ok(
        Math.abs(p.grad[i] - fd) <= options.relTol * Math.max(options.floor, Math.abs(fd)),
        `${options.label} ${name}[${i}]: analytic ${p.grad[i]} vs differences ${fd}`,
      );
    }
  }
}
