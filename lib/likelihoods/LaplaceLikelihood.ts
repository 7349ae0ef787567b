// GPyTorch's LaplaceLikelihood for robust regression:
//   y | f ~ Laplace(loc = f, scale = sqrt(noise)),  noise = softplus(rawNoise).
// ("noise" is the squared scale, as in GPyTorch's code.) State key: rawNoise
// [1] (GPyTorch: raw_noise). ELBO: 20-point Gauss–Hermite like GPyTorch.
// Predictive mean and variance are exact (GPyTorch samples): mu and
// var + 2 noise.

import { type Constraint, Positive } from "../constraints/Interval";
import { ArgumentError } from "../errors";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { type LatentMarginalsLike, type ObservationMarginal, OneDimensionalLikelihood, readMarginals } from "./VariationalLikelihood";

/** Options of LaplaceLikelihood (GPyTorch's noise_constraint, noise_prior). */
export interface LaplaceLikelihoodOptions {
  /** Initial noise (the squared scale; default softplus(0) = 0.693, like GPyTorch). */
  noise?: number;
  /** Default Positive(). */
  noiseConstraint?: Constraint;
  /** Prior on the noise (GPyTorch's noise_prior). */
  noisePrior?: Prior;
  /** Gauss–Hermite locations for the expected log likelihood (default 20). */
  numGaussHermiteLocs?: number;
}

/** Laplace (double-exponential) observation noise with scale sqrt(noise). */
export class LaplaceLikelihood extends OneDimensionalLikelihood {
  /** shape: [1] */
  readonly rawNoise: Parameter;

  constructor(options: LaplaceLikelihoodOptions = {}) {
    super(1, options.numGaussHermiteLocs);
    this.rawNoise = this.registerParameter("rawNoise", new Parameter([1], options.noiseConstraint ?? new Positive(), options.noise));
    this.registerPrior("noisePrior", options.noisePrior, this.rawNoise);
  }

  /** The squared scale of the noise (scale = sqrt(noise)). */
  get noise(): number {
    return this.rawNoise.valueAt(0);
  }
  /** Sets the noise (the squared scale). */
  set noise(v: number) {
    this.rawNoise.setValue(v);
  }

  // log p = -log(2 b) - |y - f| / b with b = sqrt(noise).
  protected logProbTerms(y: number, f: number, out: Float64Array): void {
    const s2 = this.noise, b = Math.sqrt(s2);
    const r = y - f, a = Math.abs(r);
    out[0] = -Math.log(2 * b) - a / b;
    out[1] = Math.sign(r) / b;
    // d/ds2 with db/ds2 = 1 / (2 b): -1/(2 s2) + |r| / (2 b s2).
    out[2] = -0.5 / s2 + a / (2 * b * s2);
  }

  protected addParameterGradients(d: Float64Array): void {
    this.rawNoise.addValueGrad(0, d[0]);
  }

  protected override checkTarget(y: number, index: number): void {
    if (!Number.isFinite(y)) throw new ArgumentError(`LaplaceLikelihood needs finite targets, but y[${index}] = ${y}; drop or impute the missing values`);
  }

  /** Exact predictive moments: mean mu, variance var + 2 noise. */
  marginal(f: LatentMarginalsLike): ObservationMarginal {
    const { mean, variance } = readMarginals(f);
    const extra = 2 * this.noise;
    return { mean: mean.slice(), variance: variance.map((v) => v + extra), method: "exact" };
  }
}
