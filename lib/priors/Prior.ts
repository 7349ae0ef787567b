// Priors on hyperparameters, GPyTorch's (torch distributions over the
// constrained value). Each prior gives log p(x) and d log p / dx per point;
// the MLLs add the sum over every attached prior and push its derivative
// into the raw parameter through the constraint (no Jacobian term, as in
// GPyTorch). Out of support each prior does what GPyTorch 1.12 does: a NaN
// or -Infinity where torch skips validation, a PriorSupportError where it raises.

import { ArgumentError, PriorSupportError } from "../errors";

/** Values a prior reads: a scalar, a flat array or nested rows. */
export type PriorInput = number | ArrayLike<number> | number[][];

/** sum_i log p(x_i) and its derivative per value: what the MLLs add. */
export interface PriorLogProbSum {
  /** sum_i log p(x_i) */
  value: number;
  /** d value / d x_i. shape: [values.length] */
  grad: Float64Array;
}

/**
 * A prior on a hyperparameter's constrained value, GPyTorch's Prior: attach it
 * through a kernel, likelihood or mean option (lengthscalePrior, noisePrior, ...).
 */
export abstract class Prior {
  /** e.g. "GammaPrior(concentration=3, rate=6)". */
  abstract toString(): string;

  /** log p(x) at one point (may throw PriorSupportError, or return NaN / -Infinity, as GPyTorch). */
  abstract logDensity(x: number): number;

  /** d log p / dx at one point inside the support. */
  abstract dLogDensity(x: number): number;

  /** GPyTorch's prior.log_prob: elementwise (number[]) for the torch-distribution priors, one sum for SmoothedBox. */
  abstract logProb(x: PriorInput): number | number[];

  /** sum_i log p(x_i) and d/dx_i of it: what the MLLs add. shape of grad: [values.length] */
  logProbSum(values: ArrayLike<number>): PriorLogProbSum {
    let value = 0;
    const grad = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      value += this.logDensity(values[i]);
      grad[i] = this.dLogDensity(values[i]);
    }
    return { value, grad };
  }

  /** Throws the PriorSupportError for x outside `support` (where GPyTorch raises). */
  protected outside(x: number, support: string): never {
    throw new PriorSupportError(
      `${this.toString()} is defined for ${support}, got ${x} (GPyTorch raises here too); keep the parameter inside the support with its constraint (e.g. Positive()) or choose a prior whose support covers it`,
    );
  }
}

/** A prior whose logProb is elementwise, like torch's distributions. */
export abstract class ElementwisePrior extends Prior {
  /** Elementwise log densities, like GPyTorch's prior.log_prob. A number gives a number. */
  logProb(x: number): number;
  logProb(x: ArrayLike<number> | number[][]): number[];
  logProb(x: PriorInput): number | number[];
  logProb(x: PriorInput): number | number[] {
    if (typeof x === "number") return this.logDensity(x);
    return flatValues(x).map((v) => this.logDensity(v));
  }
}

export function flatValues(x: PriorInput): number[] {
  if (typeof x === "number") return [x];
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number | number[];
    if (typeof v === "number") out.push(v);
    else out.push(...v);
  }
  return out;
}

export function requirePositive(owner: string, name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new ArgumentError(`${owner}: ${name} must be a positive finite number, got ${v}`);
}

export function requireFinite(owner: string, name: string, v: number): void {
  if (!Number.isFinite(v)) throw new ArgumentError(`${owner}: ${name} must be a finite number, got ${v}`);
}

/** Short form of a parameter for toString. */
export function fmt(v: number): string {
  return String(+v.toPrecision(6));
}

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log |Gamma(x)| (Lanczos, g = 7; relative error ~1e-15), with reflection below 1/2. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}
